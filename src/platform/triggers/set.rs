//! The fields a trigger's `set` gives its order or contract (`--set field=value`): each
//! named field checked by the rule the admin API applies to it, before anything is
//! written; a field the fixture does not take is refused by name.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Fixture, Step, Subject};
use crate::platform::payments::fields as order_fields;
use crate::platform::payments::payment::{channel_named, CHANNELS};
use crate::platform::wire::fields;

/// Why a `set` cannot be used; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetRefused {
    #[error("fixture {fixture} has no field {got:?}; expected one of {}", .expected.join(", "))]
    UnknownField {
        fixture: &'static str,
        got: String,
        expected: Vec<&'static str>,
    },
    #[error("`{field}`: {message}")]
    Invalid { field: String, message: String },
}

/// An order fixture's fields, checked.
#[derive(Debug, Clone, Default)]
pub struct OrderSet {
    pub total_amount: i64,
    pub description: String,
    pub order_no: Option<String>,
    pub notify_url: Option<String>,
    pub tid: Option<String>,
    pub inst_mid: Option<String>,
    pub target_sys: Option<String>,
    /// A partial refund's amount.
    pub refund_amount: Option<i64>,
    pub refund_order_id: Option<String>,
}

/// A contract fixture's fields, checked.
#[derive(Debug, Clone, Default)]
pub struct ContractSet {
    pub contract_no: Option<String>,
    pub plan_id: String,
    pub notify_url: Option<String>,
    pub single_limit_amt: String,
    pub avl_num: String,
}

/// What a fixture will create.
#[derive(Debug, Clone)]
pub enum Settings {
    Order(OrderSet),
    Contract(ContractSet),
}

/// The amount of an order fixture that names none, in fen.
pub const DEFAULT_AMOUNT: i64 = 100;
/// The plan of a contract fixture that names none.
pub const DEFAULT_PLAN_ID: &str = "TRIGGER-PLAN";

fn invalid(field: &str, message: impl Into<String>) -> SetRefused {
    SetRefused::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// A value as text: `set` values are strings (numbers are read as their digits).
fn text(field: &str, value: &Value) -> Result<String, SetRefused> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(invalid(
            field,
            format!("expected a string or a number; got {other}"),
        )),
    }
}

/// Reads `set` for `fixture`, every field checked.
pub fn read(fixture: &Fixture, set: &BTreeMap<String, Value>) -> Result<Settings, SetRefused> {
    let allowed = fixture.fields();
    let mut given: BTreeMap<&'static str, (String, String)> = BTreeMap::new();
    for (name, value) in set {
        // `amount` is the order's own `total_amount`.
        let canonical = if name == "amount" && fixture.subject != Subject::Contract {
            "total_amount"
        } else {
            name.as_str()
        };
        let Some(field) = allowed.iter().copied().find(|f| *f == canonical) else {
            return Err(SetRefused::UnknownField {
                fixture: fixture.name,
                got: name.clone(),
                expected: allowed,
            });
        };
        given.insert(field, (name.clone(), text(name, value)?));
    }
    let mut take = |field: &str| given.remove(field);
    match fixture.subject {
        Subject::Contract => {
            let contract_no = take("contract_no").map(|(_, v)| v);
            if let Some(no) = &contract_no {
                fields::validate_contract_no(no).map_err(|e| invalid("contract_no", e.message))?;
            }
            let plan_id = take("plan_id").map_or_else(|| DEFAULT_PLAN_ID.to_owned(), |(_, v)| v);
            fields::validate_plan_id(&plan_id).map_err(|e| invalid("plan_id", e.message))?;
            let notify_url = notify(take("notify_url"))?;
            let single_limit_amt = take("single_limit_amt").map(|(_, v)| v).unwrap_or_default();
            fields::validate_single_limit_amt(Some(&single_limit_amt))
                .map_err(|e| invalid("single_limit_amt", e.message))?;
            let avl_num = take("avl_num").map(|(_, v)| v).unwrap_or_default();
            fields::validate_avl_num(Some(&avl_num)).map_err(|e| invalid("avl_num", e.message))?;
            Ok(Settings::Contract(ContractSet {
                contract_no,
                plan_id,
                notify_url,
                single_limit_amt,
                avl_num,
            }))
        }
        Subject::Order(_) => {
            let total_amount = match take("total_amount") {
                None => DEFAULT_AMOUNT,
                Some((name, v)) => order_fields::amount(&format!("`{name}`"), &Value::String(v))
                    .map_err(|m| invalid(&name, m))?,
            };
            let description = take("description").map_or_else(
                || format!("ums-notify trigger {}", fixture.name),
                |(_, v)| v,
            );
            order_fields::description("`description`", &description)
                .map_err(|m| invalid("description", m))?;
            let tid = take("tid").map(|(_, v)| v);
            if let Some(tid) = &tid {
                order_fields::tid("`tid`", tid).map_err(|m| invalid("tid", m))?;
            }
            let inst_mid = take("inst_mid").map(|(_, v)| v);
            if let Some(inst_mid) = &inst_mid {
                order_fields::inst_mid("`inst_mid`", inst_mid)
                    .map_err(|m| invalid("inst_mid", m))?;
            }
            let target_sys = take("target_sys").map(|(_, v)| v);
            if target_sys.is_some() && channel_named(target_sys.clone()).is_none() {
                return Err(invalid(
                    "target_sys",
                    format!(
                        "expected one of {}; got {:?}",
                        CHANNELS.join(", "),
                        target_sys.unwrap_or_default()
                    ),
                ));
            }
            let refund_amount = refund_amount(fixture, total_amount, take("refund_amount"))?;
            Ok(Settings::Order(OrderSet {
                total_amount,
                description,
                order_no: take("order_no").map(|(_, v)| v),
                notify_url: notify(take("notify_url"))?,
                tid,
                inst_mid,
                target_sys,
                refund_amount,
                refund_order_id: take("refund_order_id").map(|(_, v)| v),
            }))
        }
    }
}

/// A notify URL given, checked as a URL (the egress guard judges it when it is used).
fn notify(given: Option<(String, String)>) -> Result<Option<String>, SetRefused> {
    let Some((_, url)) = given else {
        return Ok(None);
    };
    fields::notify_target(&url).map_err(|e| {
        invalid(
            "notify_url",
            e.message.replace("notifyUrl", "expected an http(s) URL:"),
        )
    })?;
    Ok(Some(url))
}

/// A partial refund's amount: the one given, or half the order; below the order's total
/// either way, so the order is refunded in part.
fn refund_amount(
    fixture: &Fixture,
    total: i64,
    given: Option<(String, String)>,
) -> Result<Option<i64>, SetRefused> {
    if !fixture.steps.contains(&Step::RefundPart) {
        return Ok(None);
    }
    let amount = match given {
        None if total < 2 => {
            return Err(invalid(
                "total_amount",
                format!("a partial refund needs an order of at least 2 fen; got {total}"),
            ))
        }
        None => total / 2,
        Some((_, v)) => order_fields::amount("`refund_amount`", &Value::String(v))
            .map_err(|m| invalid("refund_amount", m))?,
    };
    if amount >= total {
        return Err(invalid(
            "refund_amount",
            format!(
                "expected fewer fen than the order's total_amount ({total}) for a partial \
                 refund; got {amount} (use payment.refunded to refund all of it)"
            ),
        ));
    }
    Ok(Some(amount))
}
