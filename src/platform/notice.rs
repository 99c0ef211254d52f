//! The contract state notification (解约通知) as an outbox entry: the product-specific
//! part of sending it. The dispatcher knows nothing of contracts; another notification
//! of the platform (such as the form-encoded payment result notice) would be one more
//! module like this one, producing [`NewNotification`]s of its own `kind`.

use chrono::{DateTime, Utc};

use super::contract::ContractNotification;
use super::lifecycle::DeliveryPolicy;
use super::store::Contract;
use crate::store::NewNotification;

/// The outbox `kind` of contract state notifications.
pub const KIND: &str = "contract_state";

/// The notification of `contract`'s current state, created at `now`, plus
/// `extra_copies` identical copies (duplicate testing).
///
/// `requestTimestamp` is `now`, fixed here: every try of every copy sends these bytes.
pub fn contract_state(
    contract: &Contract,
    extra_copies: u32,
    policy: &DeliveryPolicy,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<NewNotification>> {
    let body = ContractNotification::from_snapshot(&contract.snapshot(), now).to_body();
    let host = crate::api::notifications::validate_url(&contract.notify_url)
        .map_err(|error| anyhow::anyhow!("contract notify URL: {}", error.message))?;
    let one = NewNotification {
        url: contract.notify_url.clone(),
        host,
        body,
        content_type: "application/json".to_owned(),
        headers: Vec::new(),
        max_attempts: policy.max_attempts,
        retry_schedule: policy.retry_schedule.clone(),
        idempotency_key: None,
        mid: Some(contract.mid.clone()),
        contract_id: Some(contract.contract_id.clone()),
        kind: KIND.to_owned(),
    };
    Ok(vec![one; extra_copies as usize + 1])
}
