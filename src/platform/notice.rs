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

/// The notification of `contract`'s current state, stamped `request_time`, plus
/// `extra_copies` identical copies (duplicate testing).
///
/// `requestTimestamp` is `request_time`, fixed here: every try of every copy sends these
/// bytes. The destination is the contract's notify URL and the host derived from it when
/// the URL was accepted: nothing is validated here, so nothing can fail.
pub fn contract_state(
    contract: &Contract,
    extra_copies: u32,
    policy: &DeliveryPolicy,
    request_time: DateTime<Utc>,
) -> Vec<NewNotification> {
    let body = ContractNotification::from_snapshot(&contract.snapshot(), request_time).to_body();
    let one = NewNotification {
        url: contract.notify_url.clone(),
        host: contract.notify_host.clone(),
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
    vec![one; extra_copies as usize + 1]
}
