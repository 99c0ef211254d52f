//! What a contract state change does: who may ask for it, the contract's new fields and
//! the notifications the change sends. Pure; the store runs it inside the transaction
//! that writes its result.

use chrono::{DateTime, SubsecRound, Utc};

use crate::outbox::NewNotification;
use crate::platform::contracts::contract::{
    transition, Contract, ContractState, IllegalTransition,
};
use crate::platform::contracts::notice;
use crate::policy::RetryPolicy;

/// The rules a state change follows.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    /// How long a contract is valid from its signature (`contractExpiredTime`).
    pub contract_term: chrono::Duration,
    /// How the platform's notifications are retried.
    pub delivery: RetryPolicy,
}

/// Who asks for a state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The admin API: any move the state machine allows.
    Admin,
    /// The simulated user's automatic consent: `UNSIGNED → SIGNED`, once it is due.
    Consent,
}

/// A state change asked for at `now`.
#[derive(Debug, Clone, Copy)]
pub struct Change {
    pub to: ContractState,
    pub cause: Cause,
    pub now: DateTime<Utc>,
}

/// Why a change does not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The state machine does not allow it.
    Illegal(IllegalTransition),
    /// An automatic consent that is no longer due (the contract moved meanwhile).
    NotDue,
}

/// A change's result: the contract after it and the notifications it sends.
pub type Planned = (Contract, Vec<NewNotification>);

/// The `requestTimestamp` of a contract's next notification, given the one of its
/// previous notification: `now` in whole seconds (the wire format has no fraction), but at
/// least one second after the previous one. Merchants recognise repeats by
/// `(contractNo, requestTimestamp)`, so two changes of one contract within one second
/// must not share it; every copy and re-send of one notification does share it.
pub fn request_time(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    let now = now.trunc_subsecs(0);
    match last {
        Some(last) => now.max(last.trunc_subsecs(0) + chrono::Duration::seconds(1)),
        None => now,
    }
}

impl Lifecycle {
    /// What `change` does to `current`, a merchant with `extra_copies`, or why it does not
    /// happen. A consent applies only to an `UNSIGNED` contract whose consent is due.
    pub fn apply(
        &self,
        current: &Contract,
        extra_copies: u32,
        change: &Change,
    ) -> Result<Planned, Refused> {
        if change.cause == Cause::Consent {
            let due = current.consent_due_at.is_some_and(|at| at <= change.now);
            if current.state != ContractState::Unsigned || !due {
                return Err(Refused::NotDue);
            }
        }
        self.plan(current, change.to, extra_copies, change.now)
            .map_err(Refused::Illegal)
    }

    /// The contract after moving to `to` at `now`, and its notification with the
    /// merchant's extra copies; or the state machine's refusal.
    ///
    /// The first move to `SIGNED` sets the signature and expiry times; they are kept
    /// through every later state, as the notification body needs them. Any move cancels a
    /// pending simulated consent. The notification is stamped by [`request_time`] and the
    /// stamp is kept as the contract's `last_notified_at`.
    pub fn plan(
        &self,
        current: &Contract,
        to: ContractState,
        extra_copies: u32,
        now: DateTime<Utc>,
    ) -> Result<Planned, IllegalTransition> {
        let state = transition(current.state, to)?;
        let mut next = current.clone();
        next.state = state;
        next.updated_at = now;
        next.consent_due_at = None;
        if state == ContractState::Signed && next.signed_at.is_none() {
            next.signed_at = Some(now);
            next.expires_at = Some(now + self.contract_term);
        }
        let stamp = request_time(current.last_notified_at, now);
        next.last_notified_at = Some(stamp);
        let notifications = notice::contract_state(&next, extra_copies, &self.delivery, stamp);
        Ok((next, notifications))
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
            contract_id: crate::platform::contracts::contract::contract_id(),
            mid: "898310048161234".into(),
            contract_no: "CN000001".into(),
            plan_id: "P1".into(),
            state,
            notify: crate::policy::Destination::parse("http://127.0.0.1:9/n").unwrap(),
            single_limit_amt: String::new(),
            avl_num: String::new(),
            signed_at: None,
            expires_at: None,
            consent_due_at: Some(at),
            last_notified_at: None,
            created_at: at,
            updated_at: at,
        }
    }

    fn lifecycle() -> Lifecycle {
        Lifecycle {
            contract_term: chrono::Duration::days(365),
            delivery: RetryPolicy {
                max_attempts: 10,
                schedule: crate::policy::RetrySchedule::parse("1s").unwrap(),
            },
        }
    }

    #[test]
    fn first_signature_sets_times_and_later_moves_keep_them() {
        let now = Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap();
        let (signed, sent) = lifecycle()
            .plan(&contract(Unsigned), Signed, 2, now)
            .unwrap();
        assert_eq!(signed.signed_at, Some(now));
        assert_eq!(signed.expires_at, Some(now + chrono::Duration::days(365)));
        assert_eq!(signed.consent_due_at, None);
        assert_eq!(sent.len(), 3, "one notification and two extra copies");
        assert!(sent.iter().all(|n| n.body == sent[0].body));
        let later = now + chrono::Duration::days(3);
        let (deleting, _) = lifecycle()
            .plan(&signed, DeletingContract, 0, later)
            .unwrap();
        let (back, _) = lifecycle().plan(&deleting, Signed, 0, later).unwrap();
        assert_eq!(back.signed_at, Some(now), "the first signature is kept");
    }

    #[test]
    fn illegal_moves_are_refused() {
        let now = Utc::now();
        let refused = lifecycle().plan(&contract(Rescission), Signed, 0, now);
        assert!(refused.is_err());
    }

    #[test]
    fn a_consent_applies_only_when_due_and_unsigned() {
        let due = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let consent = |now| Change {
            to: Signed,
            cause: Cause::Consent,
            now,
        };
        let early = due - chrono::Duration::seconds(1);
        assert_eq!(
            lifecycle()
                .apply(&contract(Unsigned), 0, &consent(early))
                .err(),
            Some(Refused::NotDue)
        );
        assert!(lifecycle()
            .apply(&contract(Unsigned), 0, &consent(due))
            .is_ok());
        assert_eq!(
            lifecycle().apply(&contract(Signed), 0, &consent(due)).err(),
            Some(Refused::NotDue)
        );
        let admin = Change {
            cause: Cause::Admin,
            ..consent(early)
        };
        assert!(lifecycle().apply(&contract(Unsigned), 0, &admin).is_ok());
    }

    fn stamp_of(notification: &NewNotification) -> String {
        let body: serde_json::Value = serde_json::from_slice(&notification.body).unwrap();
        body["requestTimestamp"].as_str().unwrap().to_owned()
    }

    #[test]
    fn changes_within_one_second_get_increasing_request_times() {
        let t0 = Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap();
        let ms = chrono::Duration::milliseconds;
        let (signed, first) = lifecycle()
            .plan(&contract(Unsigned), Signed, 1, t0 + ms(100))
            .unwrap();
        assert_eq!(signed.last_notified_at, Some(t0), "whole seconds");
        assert_eq!(signed.updated_at, t0 + ms(100));
        let (deleting, second) = lifecycle()
            .plan(&signed, DeletingContract, 1, t0 + ms(500))
            .unwrap();
        let (back, third) = lifecycle()
            .plan(&deleting, Signed, 0, t0 + ms(900))
            .unwrap();
        assert_eq!(deleting.last_notified_at, Some(t0 + ms(1000)));
        assert_eq!(
            back.last_notified_at,
            Some(t0 + ms(2000)),
            "ahead of the clock"
        );
        let stamps = [&first[0], &second[0], &third[0]].map(stamp_of);
        assert_eq!(
            stamps,
            [
                "2024-02-01 08:00:00",
                "2024-02-01 08:00:01",
                "2024-02-01 08:00:02"
            ]
        );
        // The copies of one notification keep its bytes.
        assert_eq!(first[0].body, first[1].body);
        assert_eq!(second[0].body, second[1].body);
        // Once the clock is past the last stamp, the stamp is the clock again.
        let later = t0 + chrono::Duration::seconds(10) + ms(700);
        let (_, fourth) = lifecycle().plan(&back, Unknown, 0, later).unwrap();
        assert_eq!(stamp_of(&fourth[0]), "2024-02-01 08:00:10");
    }

    #[test]
    fn request_time_is_the_clock_or_a_second_after_the_last() {
        let t0 = Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap();
        let ms = chrono::Duration::milliseconds;
        assert_eq!(request_time(None, t0 + ms(999)), t0);
        assert_eq!(
            request_time(Some(t0 + ms(999)), t0 + ms(999)),
            t0 + ms(1000)
        );
        assert_eq!(request_time(Some(t0), t0 + ms(1000)), t0 + ms(1000));
        assert_eq!(request_time(Some(t0), t0 + ms(5500)), t0 + ms(5000));
        // A clock set back never repeats or goes back on an earlier stamp.
        assert_eq!(request_time(Some(t0), t0 - ms(5000)), t0 + ms(1000));
    }
}
