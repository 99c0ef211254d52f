//! Split bills on the netpay bill APIs (spec §3.4 `divisionFlag`, §3.8 refunds): reading
//! a new bill's split (`divisionFlag`, `platformAmount`, and `goods` with `subMerchantId`
//! and `subOrderAmount` or `subOrders`) and a refund's share (`subOrders` with one
//! sub-merchant, `platformAmount`). Both doors (the open-platform bills API and the bill
//! gateway) read them here; the rules of the plan are [`crate::platform::payments::split`]'s.

use serde_json::Value;

use crate::platform::http::open::netpay::{NetpayError, Request};
use crate::platform::payments::split::{ShareRefund, SplitPlan};

/// The most fen of one share (`platformAmount`, `subOrderAmount`, `subOrders.totalAmount`).
pub const MAX_SHARE: i64 = 100_000_000;

impl Request {
    /// The split plan of a new bill of `total` fen: `None` unless `divisionFlag` is true.
    /// `platformAmount` and `subOrders` go with a split only. The rule that a split bill is
    /// no guarantee bill is [`Request::secure_transaction`]'s.
    pub fn split_plan(&self, total: i64) -> Result<Option<SplitPlan>, NetpayError> {
        if !self.flag("divisionFlag")? {
            return self.no_split_fields().map(|()| None);
        }
        let platform = self.share_amount("platformAmount")?.ok_or_else(|| {
            NetpayError::bad("platformAmount is required when divisionFlag is true: expected 0 to 100000000 fen, received none")
        })?;
        if let Some(sub_orders) = self.array("subOrders")? {
            if self.goods_items()?.iter().any(|item| {
                item.get("subMerchantId").is_some() || item.get("subOrderAmount").is_some()
            }) {
                return Err(NetpayError::bad(
                    "a split is made from goods (subMerchantId, subOrderAmount) or from \
                     subOrders, not both: received subOrders and goods with subMerchantId",
                ));
            }
            let subs = sub_orders
                .iter()
                .enumerate()
                .map(|(i, sub)| {
                    let name = format!("subOrders[{i}]");
                    Ok((
                        mid_of(&name, "mid", sub)?,
                        amount_of(&name, "totalAmount", sub)?,
                    ))
                })
                .collect::<Result<Vec<_>, NetpayError>>()?;
            return SplitPlan::by_sub_orders(total, platform, subs)
                .map(Some)
                .map_err(NetpayError::bad);
        }
        let goods = self.goods_items()?;
        if goods.is_empty() {
            return Err(NetpayError::bad(
                "a split bill (divisionFlag true) needs goods whose items carry subMerchantId \
                 and subOrderAmount, or subOrders: received neither",
            ));
        }
        let items = goods
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let name = format!("goods[{i}]");
                Ok((
                    mid_of(&name, "subMerchantId", item)?,
                    amount_of(&name, "subOrderAmount", item)?,
                ))
            })
            .collect::<Result<Vec<_>, NetpayError>>()?;
        SplitPlan::by_goods(total, platform, items)
            .map(Some)
            .map_err(NetpayError::bad)
    }

    /// Refuses a split where `what` takes none (`divisionFlag` true, `platformAmount`,
    /// `subOrders`).
    pub fn no_split(&self, what: &str) -> Result<(), NetpayError> {
        if self.flag("divisionFlag")? {
            return Err(NetpayError::bad(format!(
                "divisionFlag must be false or absent for {what}: split bills are one-time \
                 bills made by getQRCode; received divisionFlag true"
            )));
        }
        self.no_split_fields()
    }

    /// The share a refund names: `None` when it sends neither `subOrders` nor
    /// `platformAmount` (a refund of a bill that is not split, or a full refund of a split
    /// one); else exactly one sub-merchant and the platform's part, adding up to
    /// `refund_amount`.
    pub fn share_refund(&self, refund_amount: i64) -> Result<Option<ShareRefund>, NetpayError> {
        let sub_orders = self.array("subOrders")?;
        let platform = self.share_amount("platformAmount")?;
        let (sub_orders, platform_amount) = match (sub_orders, platform) {
            (None, None) => return Ok(None),
            (Some(subs), Some(platform)) => (subs, platform),
            (Some(_), None) => {
                return Err(NetpayError::bad(
                    "platformAmount is required with subOrders (a partial refund of a split \
                     bill): expected 0 to 100000000 fen, received none",
                ))
            }
            (None, Some(_)) => {
                return Err(NetpayError::bad(
                    "subOrders is required with platformAmount (a partial refund of a split \
                     bill): expected one sub-merchant's mid and totalAmount, received none",
                ))
            }
        };
        let [sub] = sub_orders.as_slice() else {
            return Err(NetpayError::bad(format!(
                "subOrders of a refund must name exactly one sub-merchant (one per refund, \
                 spec V3.4); received {}",
                sub_orders.len()
            )));
        };
        let share = ShareRefund {
            mid: mid_of("subOrders[0]", "mid", sub)?,
            amount: amount_of("subOrders[0]", "totalAmount", sub)?,
            platform_amount,
        };
        if share.total() != refund_amount {
            return Err(NetpayError::bad(format!(
                "refundAmount must be subOrders.totalAmount + platformAmount: expected {} ({} \
                 + {platform_amount}) fen, received {refund_amount}",
                share.total(),
                share.amount
            )));
        }
        Ok(Some(share))
    }

    /// `platformAmount` and `subOrders` are refused without `divisionFlag` true.
    fn no_split_fields(&self) -> Result<(), NetpayError> {
        for name in ["platformAmount", "subOrders"] {
            if self.fields.get(name).is_some_and(|v| !is_empty(v)) {
                return Err(NetpayError::bad(format!(
                    "{name} goes with a split bill: expected divisionFlag true with it, \
                     received divisionFlag false or absent"
                )));
            }
        }
        Ok(())
    }

    /// The items of `goods` (an array or its JSON text); none when absent.
    fn goods_items(&self) -> Result<Vec<Value>, NetpayError> {
        Ok(self.array("goods")?.unwrap_or_default())
    }

    /// An array field of objects, sent as a JSON array or as its JSON text (a Python
    /// client sends the text); `None` when absent or empty text.
    fn array(&self, name: &str) -> Result<Option<Vec<Value>>, NetpayError> {
        let value = match self.fields.get(name) {
            None => return Ok(None),
            Some(value) if is_empty(value) => return Ok(None),
            Some(Value::String(text)) => serde_json::from_str::<Value>(text).map_err(|e| {
                NetpayError::bad(format!(
                    "{name} must be a JSON array of objects, or its JSON text; its text does \
                     not parse: {e}"
                ))
            })?,
            Some(value) => value.clone(),
        };
        match value {
            Value::Array(items) if items.iter().all(Value::is_object) => Ok(Some(items)),
            other => Err(NetpayError::bad(format!(
                "{name} must be a JSON array of objects; received {}",
                short(&other)
            ))),
        }
    }

    /// An optional share amount, 0 to [`MAX_SHARE`] fen.
    fn share_amount(&self, name: &str) -> Result<Option<i64>, NetpayError> {
        match self.fields.get(name) {
            None => Ok(None),
            Some(value) if is_empty(value) => Ok(None),
            Some(value) => fen(name, value).map(Some),
        }
    }
}

/// No value: `null` or `""`.
fn is_empty(value: &Value) -> bool {
    value.is_null() || value.as_str().is_some_and(str::is_empty)
}

/// 0 to [`MAX_SHARE`] fen, as a JSON number or a string of digits.
fn fen(name: &str, value: &Value) -> Result<i64, NetpayError> {
    let fen = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    };
    fen.filter(|f| (0..=MAX_SHARE).contains(f)).ok_or_else(|| {
        NetpayError::bad(format!(
            "{name} must be a whole number of fen from 0 to {MAX_SHARE}; received {}",
            short(value)
        ))
    })
}

/// The amount `field` of the object `item` (named `name`), required.
fn amount_of(name: &str, field: &str, item: &Value) -> Result<i64, NetpayError> {
    let what = format!("{name}.{field}");
    match item.get(field) {
        Some(value) if !is_empty(value) => fen(&what, value),
        _ => Err(NetpayError::bad(format!(
            "{what} is required in a split: expected 0 to {MAX_SHARE} fen, received none"
        ))),
    }
}

/// The sub-merchant `field` of the object `item` (named `name`): 8 to 32 ASCII letters
/// or digits, required.
fn mid_of(name: &str, field: &str, item: &Value) -> Result<String, NetpayError> {
    let what = format!("{name}.{field}");
    let Some(mid) = item
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return Err(NetpayError::bad(format!(
            "{what} is required in a split: expected a sub-merchant's mid (a string of 8 to \
             32 ASCII letters or digits), received {}",
            item.get(field).map_or_else(|| "none".to_owned(), short)
        )));
    };
    if !(8..=32).contains(&mid.len()) || !mid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(NetpayError::bad(format!(
            "{what} must be 8 to 32 ASCII letters or digits; received {:?}",
            mid.chars().take(40).collect::<String>()
        )));
    }
    Ok(mid.to_owned())
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    let mut short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}
