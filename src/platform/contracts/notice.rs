//! The contract state notice family (解约通知): the body the notification center POSTs
//! when a contract changes state, the outbox entries that carry it, and how its tries are
//! signed. It plugs into the generic outbox like any producer: its notifications are of
//! kind [`KIND`], their tenant is the merchant's `mid` and their subject the contractId.
//!
//! The body is a flat JSON object of ten string fields. Times are China Standard Time
//! `yyyy-MM-dd HH:mm:ss`. `contractSignedTime` and `contractExpiredTime` are empty
//! strings until the contract has ever been signed; from then on they are sent in every
//! notification of that contract, including later `DELETING_CONTRACT`, `RESCISSION` and
//! `UNKNOWN` ones.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::outbox::NewNotification;
use crate::platform::contracts::contract::Contract;
use crate::platform::wire::time::format_cst;
use crate::policy::RetryPolicy;

/// The outbox `kind` of contract state notifications.
pub const KIND: &str = "contract_state";

/// The contract state notification body, field for field and in the order of the
/// platform's documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractNotification {
    pub request_timestamp: String,
    pub mid: String,
    pub contract_no: String,
    pub contract_id: String,
    pub contract_state: String,
    pub contract_signed_time: String,
    pub contract_expired_time: String,
    pub single_limit_amt: String,
    pub avl_num: String,
    pub plan_id: String,
}

impl ContractNotification {
    /// The notification of `contract`'s current state, stamped `request_time` (its
    /// `requestTimestamp`; see [`crate::platform::contracts::events::request_time`]).
    pub fn of(contract: &Contract, request_time: DateTime<Utc>) -> Self {
        let (signed, expired) = match contract.signed_at {
            Some(signed_at) => (
                format_cst(signed_at),
                contract.expires_at.map(format_cst).unwrap_or_default(),
            ),
            None => (String::new(), String::new()),
        };
        Self {
            request_timestamp: format_cst(request_time),
            mid: contract.mid.clone(),
            contract_no: contract.contract_no.clone(),
            contract_id: contract.contract_id.clone(),
            contract_state: contract.state.as_str().to_owned(),
            contract_signed_time: signed,
            contract_expired_time: expired,
            single_limit_amt: contract.single_limit_amt.clone(),
            avl_num: contract.avl_num.clone(),
            plan_id: contract.plan_id.clone(),
        }
    }

    /// The compact JSON body, exactly as POSTed (and signed).
    pub fn to_body(&self) -> Vec<u8> {
        // Serializing a struct of plain `String` fields cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The notification of `contract`'s current state, stamped `request_time`, plus
/// `extra_copies` identical copies (duplicate testing).
///
/// `requestTimestamp` is `request_time`, fixed here: every try of every copy sends these
/// bytes. The destination is the contract's, accepted and keyed when it was stored:
/// nothing is validated here, so nothing can fail.
pub fn contract_state(
    contract: &Contract,
    extra_copies: u32,
    policy: &RetryPolicy,
    request_time: DateTime<Utc>,
) -> Vec<NewNotification> {
    let one = NewNotification {
        destination: contract.notify.clone(),
        success: Default::default(),
        body: ContractNotification::of(contract, request_time).to_body(),
        content_type: "application/json".to_owned(),
        headers: Vec::new(),
        policy: policy.clone(),
        idempotency_key: None,
        tenant: Some(contract.mid.clone()),
        subject: Some(contract.contract_id.clone()),
        kind: KIND.to_owned(),
    };
    vec![one; extra_copies as usize + 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::contracts::contract::ContractState::{self, *};
    use crate::policy::Destination;
    use chrono::TimeZone;

    fn contract(state: ContractState, signed: bool) -> Contract {
        let at = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        Contract {
            seq: 1,
            contract_id: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
            mid: "898310048161234".into(),
            contract_no: "CN20240101000001".into(),
            plan_id: "PLAN01".into(),
            state,
            notify: Destination::parse("http://127.0.0.1:9/n").unwrap(),
            single_limit_amt: "500.00".into(),
            avl_num: "99".into(),
            signed_at: signed.then(|| Utc.with_ymd_and_hms(2024, 1, 1, 2, 3, 4).unwrap()),
            expires_at: signed.then(|| Utc.with_ymd_and_hms(2025, 1, 1, 2, 3, 4).unwrap()),
            consent_due_at: None,
            last_notified_at: None,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn notification_body_is_byte_exact() {
        let now = Utc.with_ymd_and_hms(2024, 6, 30, 16, 0, 0).unwrap();
        let body = ContractNotification::of(&contract(Signed, true), now).to_body();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"requestTimestamp":"2024-07-01 00:00:00","mid":"898310048161234","contractNo":"CN20240101000001","contractId":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","contractState":"SIGNED","contractSignedTime":"2024-01-01 10:03:04","contractExpiredTime":"2025-01-01 10:03:04","singleLimitAmt":"500.00","avlNum":"99","planId":"PLAN01"}"#
        );
    }

    #[test]
    fn signed_times_are_empty_until_signed_and_kept_afterwards() {
        let now = Utc.with_ymd_and_hms(2024, 6, 30, 16, 0, 0).unwrap();
        let unsigned = ContractNotification::of(&contract(Unsigned, false), now);
        assert_eq!(
            (
                unsigned.contract_signed_time.as_str(),
                unsigned.contract_expired_time.as_str()
            ),
            ("", "")
        );
        let rescinded = ContractNotification::of(&contract(Rescission, true), now);
        assert_eq!(rescinded.contract_state, "RESCISSION");
        assert_eq!(rescinded.contract_signed_time, "2024-01-01 10:03:04");
        assert_eq!(rescinded.contract_expired_time, "2025-01-01 10:03:04");
        let back: ContractNotification = serde_json::from_slice(&rescinded.to_body()).unwrap();
        assert_eq!(back, rescinded);
    }

    #[test]
    fn entries_belong_to_the_merchant_and_name_the_contract() {
        let c = contract(Signed, true);
        let entries = contract_state(&c, 2, &RetryPolicy::default(), Utc::now());
        assert_eq!(entries.len(), 3);
        assert!(entries
            .iter()
            .all(|n| n.body == entries[0].body && n.kind == KIND));
        assert_eq!(entries[0].tenant.as_deref(), Some(c.mid.as_str()));
        assert_eq!(entries[0].subject.as_deref(), Some(c.contract_id.as_str()));
    }
}
