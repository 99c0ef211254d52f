//! Playing a fixture: its order or contract created and moved through the same services
//! the admin API uses (so every notice is the one the platform would send), every input
//! checked before the first write, and each notice it sent marked with its name.

use std::collections::BTreeMap;

use serde_json::Value;

use super::set::{self, ContractSet, OrderSet, SetRefused, Settings};
use super::{Fixture, Step, Subject};
use crate::platform::contracts::contract::Contract;
use crate::platform::contracts::service::{ContractRefused, ContractTerms, TransitionRequest};
use crate::platform::contracts::store::CreateOutcome;
use crate::platform::merchants::merchant::{Merchant, NoDefaultNotify};
use crate::platform::payments::fields as order_fields;
use crate::platform::payments::order::{OrderState, Product};
use crate::platform::payments::requests::{
    CreateOrder, OrderMoved, OrderRefused, OrderTransition, RefundRequest,
};
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::fields;

/// Why a fixture was not played; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum TriggerRefused {
    #[error("unknown fixture {got:?}; expected one of {}", Fixture::names().join(", "))]
    UnknownFixture { got: String },
    #[error("merchant {0} does not exist")]
    UnknownMerchant(String),
    #[error(transparent)]
    Set(SetRefused),
    /// The merchant's settings say the platform would not send one of the notices.
    #[error("{0}")]
    NoticeNotSent(String),
    #[error(transparent)]
    NoDefaultNotify(NoDefaultNotify),
    #[error("`notify_url`: {0}")]
    DestinationNotAllowed(String),
    /// The order service refused to create the order (a taken order number, say).
    #[error(transparent)]
    Order(OrderRefused),
    #[error("merchant {mid} already has a contract with contract_no {contract_no}")]
    DuplicateContractNo { mid: String, contract_no: String },
}

/// One move a fixture made, with the notices it sent.
#[derive(Debug, Clone)]
pub struct StepDone {
    /// The state the order or contract moved to, by its wire name.
    pub state: String,
    pub notification_ids: Vec<i64>,
}

/// What a fixture created and sent.
#[derive(Debug, Clone)]
pub struct Triggered {
    pub fixture: &'static Fixture,
    pub order_id: Option<i64>,
    pub order_no: Option<String>,
    pub contract_id: Option<String>,
    pub steps: Vec<StepDone>,
}

impl Triggered {
    /// Every notice sent, in order.
    pub fn notification_ids(&self) -> Vec<i64> {
        self.steps
            .iter()
            .flat_map(|s| s.notification_ids.iter().copied())
            .collect()
    }
}

/// Plays fixture `name` for merchant `mid` with the fields of `set`.
pub async fn trigger(
    sandbox: &Sandbox,
    mid: &str,
    name: &str,
    set: &BTreeMap<String, Value>,
) -> anyhow::Result<Result<Triggered, TriggerRefused>> {
    let Some(fixture) = Fixture::named(name) else {
        return Ok(Err(TriggerRefused::UnknownFixture {
            got: name.to_owned(),
        }));
    };
    let settings = match set::read(fixture, set) {
        Ok(settings) => settings,
        Err(refused) => return Ok(Err(TriggerRefused::Set(refused))),
    };
    let Some(merchant) = sandbox.merchants.merchant(mid).await? else {
        return Ok(Err(TriggerRefused::UnknownMerchant(mid.to_owned())));
    };
    let played = match (settings, fixture.subject) {
        (Settings::Order(order), Subject::Order(product)) => {
            play_order(sandbox, &merchant, fixture, product, order).await?
        }
        (Settings::Contract(contract), Subject::Contract) => {
            play_contract(sandbox, &merchant, fixture, contract).await?
        }
        _ => anyhow::bail!("fixture {} read settings of another subject", fixture.name),
    };
    if let Ok(triggered) = &played {
        tracing::info!(mid, fixture = fixture.name, notifications = ?triggered.notification_ids(), "fixture triggered");
    }
    Ok(played)
}

/// The state an order moves to in `step`.
fn order_state(step: Step) -> OrderState {
    match step {
        Step::Pay => OrderState::Paid,
        Step::Close => OrderState::Closed,
        Step::RefundPart | Step::RefundAll => OrderState::Refunded,
        Step::Contract(_) => OrderState::Unpaid,
    }
}

async fn play_order(
    sandbox: &Sandbox,
    merchant: &Merchant,
    fixture: &'static Fixture,
    product: Product,
    set: OrderSet,
) -> anyhow::Result<Result<Triggered, TriggerRefused>> {
    if let Some(step) = fixture
        .steps
        .iter()
        .find(|s| !merchant.payment_notices.sends(product, order_state(**s)))
    {
        let state = order_state(*step).wire(product);
        return Ok(Err(TriggerRefused::NoticeNotSent(format!(
            "merchant {}'s payment_notices is `{}`, so an order of this product moved to {state} \
             sends no notice; set payment_notices to `all` to trigger {}",
            merchant.mid,
            merchant.payment_notices.as_str(),
            fixture.name
        ))));
    }
    // Checked before the order is written: a refund refused after the payment would
    // leave the order half played.
    if let Some(no) = &set.refund_order_id {
        let prefix = merchant.msg_src_id.as_str();
        if let Err(message) = order_fields::order_no("`refund_order_id`", no, 32, prefix) {
            return Ok(Err(TriggerRefused::Set(SetRefused::Invalid {
                field: "refund_order_id".to_owned(),
                message,
            })));
        }
    }
    let request = CreateOrder {
        mid: Some(merchant.mid.clone()),
        total_amount: Some(Value::from(set.total_amount)),
        notify_url: set.notify_url,
        product: Some(product.as_str().to_owned()),
        order_no: set.order_no,
        description: Some(set.description),
        tid: set.tid,
        inst_mid: set.inst_mid,
        expire_after: None,
    };
    let order = match sandbox.orders.create(request).await? {
        Ok(order) => order,
        Err(refused) => return Ok(Err(TriggerRefused::Order(refused))),
    };
    let id = order.id.to_string();
    let mut triggered = Triggered {
        fixture,
        order_id: Some(order.id),
        order_no: Some(order.order_no.clone()),
        contract_id: None,
        steps: Vec::new(),
    };
    for step in fixture.steps {
        let moved = match step {
            // A full refund under the merchant's own number goes through the refund API
            // (all that is left); without one, the channel's transition numbers it.
            Step::RefundAll if set.refund_order_id.is_some() => {
                let amount = set.total_amount - set.refund_amount.unwrap_or(0);
                refund(sandbox, &id, amount, set.refund_order_id.clone()).await?
            }
            Step::Pay | Step::Close | Step::RefundAll => {
                let request = OrderTransition {
                    to: order_state(*step).wire(product).to_owned(),
                    target_sys: set.target_sys.clone().filter(|_| *step == Step::Pay),
                };
                sandbox.orders.transition(&id, request).await?
            }
            Step::RefundPart => {
                let amount = set.refund_amount.unwrap_or(1);
                refund(sandbox, &id, amount, set.refund_order_id.clone()).await?
            }
            Step::Contract(_) => anyhow::bail!("an order fixture has a contract step"),
        };
        // The fields were checked and the moves are legal in this order: a refusal now
        // is a fault of the fixture, not of the request.
        let moved = moved.map_err(|r| anyhow::anyhow!("fixture {}: {r}", fixture.name))?;
        record(sandbox, &mut triggered, moved.order.status(), &moved).await?;
    }
    Ok(Ok(triggered))
}

async fn refund(
    sandbox: &Sandbox,
    id: &str,
    amount: i64,
    refund_order_id: Option<String>,
) -> anyhow::Result<Result<OrderMoved, OrderRefused>> {
    let request = RefundRequest {
        amount: Some(Value::from(amount)),
        refund_order_id,
    };
    sandbox.orders.refund(id, request).await
}

/// Marks the notices of a step and keeps it.
async fn record(
    sandbox: &Sandbox,
    triggered: &mut Triggered,
    state: &str,
    moved: &OrderMoved,
) -> anyhow::Result<()> {
    mark(sandbox, triggered.fixture, &moved.notifications).await?;
    triggered.steps.push(StepDone {
        state: state.to_owned(),
        notification_ids: moved.notifications.clone(),
    });
    Ok(())
}

async fn mark(sandbox: &Sandbox, fixture: &Fixture, ids: &[i64]) -> anyhow::Result<()> {
    sandbox
        .producer
        .store
        .mark_triggered(ids, fixture.name)
        .await
        .map(drop)
}

/// A contract number no earlier trigger took: the time and a random tail.
fn contract_no(sandbox: &Sandbox) -> String {
    let tail: String = (0..6)
        .map(|_| char::from(b'0' + rand::random_range(0..10u8)))
        .collect();
    format!("TRG{}{tail}", sandbox.now().format("%Y%m%d%H%M%S"))
}

async fn play_contract(
    sandbox: &Sandbox,
    merchant: &Merchant,
    fixture: &'static Fixture,
    set: ContractSet,
) -> anyhow::Result<Result<Triggered, TriggerRefused>> {
    let notify = match set.notify_url.as_deref() {
        Some(url) => {
            if let Err(refused) = sandbox.producer.egress.admit_url(url) {
                return Ok(Err(TriggerRefused::DestinationNotAllowed(
                    refused.to_string(),
                )));
            }
            fields::notify_target(url).map_err(|e| anyhow::anyhow!(e.message))?
        }
        None => match merchant.default_notify_target() {
            Ok(notify) => notify,
            Err(refused) => return Ok(Err(TriggerRefused::NoDefaultNotify(refused))),
        },
    };
    let contract_no = set.contract_no.unwrap_or_else(|| contract_no(sandbox));
    let terms = ContractTerms {
        contract_no: &contract_no,
        plan_id: &set.plan_id,
        single_limit_amt: &set.single_limit_amt,
        avl_num: &set.avl_num,
    };
    let new = sandbox.contracts.draft(merchant, terms, notify);
    let contract: Contract = match sandbox
        .contracts
        .store
        .create_contract(new, None, sandbox.now())
        .await?
    {
        CreateOutcome::Created(contract) => contract,
        CreateOutcome::DuplicateContractNo(_) => {
            return Ok(Err(TriggerRefused::DuplicateContractNo {
                mid: merchant.mid.clone(),
                contract_no,
            }))
        }
        CreateOutcome::NonceReplayed => anyhow::bail!("no nonce was given"),
    };
    let mut triggered = Triggered {
        fixture,
        order_id: None,
        order_no: None,
        contract_id: Some(contract.contract_id.clone()),
        steps: Vec::new(),
    };
    for step in fixture.steps {
        let Step::Contract(to) = step else {
            anyhow::bail!("a contract fixture has an order step");
        };
        let request = TransitionRequest {
            to: to.as_str().to_owned(),
        };
        let moved = sandbox
            .contracts
            .transition(&contract.contract_id, request)
            .await?
            .map_err(|r: ContractRefused| anyhow::anyhow!("fixture {}: {r}", fixture.name))?;
        mark(sandbox, fixture, &moved.notifications).await?;
        triggered.steps.push(StepDone {
            state: moved.contract.state.as_str().to_owned(),
            notification_ids: moved.notifications,
        });
    }
    Ok(Ok(triggered))
}
