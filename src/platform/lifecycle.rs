//! What a contract state change does: the contract's new fields and the notifications the
//! change sends. Pure; the stores run it inside the transaction that writes its result.

use chrono::{DateTime, Utc};

use super::contract::{transition, ContractState, IllegalTransition};
use super::notice;
use super::store::Contract;
use crate::delivery::schedule::RetrySchedule;
use crate::store::NewNotification;

/// How notifications of the platform are retried.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    pub max_attempts: u32,
    pub retry_schedule: RetrySchedule,
}

/// The rules a state change follows.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    /// How long a contract is valid from its signature (`contractExpiredTime`).
    pub contract_term: chrono::Duration,
    pub delivery: DeliveryPolicy,
}

impl Lifecycle {
    /// The contract after moving to `to` at `now`, and its notification with the
    /// merchant's extra copies; or the state machine's refusal.
    ///
    /// The first move to `SIGNED` sets the signature and expiry times; they are kept
    /// through every later state, as the notification body needs them. Any move cancels a
    /// pending simulated consent.
    pub fn plan(
        &self,
        current: &Contract,
        to: ContractState,
        extra_copies: u32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Result<(Contract, Vec<NewNotification>), IllegalTransition>> {
        let state = match transition(current.state, to) {
            Ok(state) => state,
            Err(illegal) => return Ok(Err(illegal)),
        };
        let mut next = current.clone();
        next.state = state;
        next.updated_at = now;
        next.consent_due_at = None;
        if state == ContractState::Signed && next.signed_at.is_none() {
            next.signed_at = Some(now);
            next.expires_at = Some(now + self.contract_term);
        }
        let notifications = notice::contract_state(&next, extra_copies, &self.delivery, now)?;
        Ok(Ok((next, notifications)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use ContractState::*;

    fn contract(state: ContractState) -> Contract {
        let at = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        Contract {
            seq: 1,
            contract_id: crate::platform::contract::contract_id(),
            mid: "898310048161234".into(),
            contract_no: "CN000001".into(),
            plan_id: "P1".into(),
            state,
            notify_url: "http://127.0.0.1:9/n".into(),
            single_limit_amt: String::new(),
            avl_num: String::new(),
            signed_at: None,
            expires_at: None,
            consent_due_at: Some(at),
            created_at: at,
            updated_at: at,
        }
    }

    fn lifecycle() -> Lifecycle {
        Lifecycle {
            contract_term: chrono::Duration::days(365),
            delivery: DeliveryPolicy {
                max_attempts: 10,
                retry_schedule: RetrySchedule::parse("1s").unwrap(),
            },
        }
    }

    #[test]
    fn first_signature_sets_times_and_later_moves_keep_them() {
        let now = Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap();
        let (signed, sent) = lifecycle()
            .plan(&contract(Unsigned), Signed, 2, now)
            .unwrap()
            .unwrap();
        assert_eq!(signed.signed_at, Some(now));
        assert_eq!(signed.expires_at, Some(now + chrono::Duration::days(365)));
        assert_eq!(signed.consent_due_at, None);
        assert_eq!(sent.len(), 3, "one notification and two extra copies");
        assert!(sent.iter().all(|n| n.body == sent[0].body));
        let later = now + chrono::Duration::days(3);
        let (deleting, _) = lifecycle()
            .plan(&signed, DeletingContract, 0, later)
            .unwrap()
            .unwrap();
        let (back, _) = lifecycle()
            .plan(&deleting, Signed, 0, later)
            .unwrap()
            .unwrap();
        assert_eq!(back.signed_at, Some(now), "the first signature is kept");
    }

    #[test]
    fn illegal_moves_are_refused() {
        let now = Utc::now();
        let refused = lifecycle()
            .plan(&contract(Rescission), Signed, 0, now)
            .unwrap();
        assert!(refused.is_err());
    }
}
