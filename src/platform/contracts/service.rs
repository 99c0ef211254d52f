//! The contract service: drafting new contracts and moving them through their states,
//! with the state change and its notifications committed together.

use std::sync::Arc;

use crate::platform::contracts::contract::{self, ContractState, NewContract};
use crate::platform::contracts::events::{Cause, Change, Lifecycle};
use crate::platform::contracts::store::ContractStore;
use crate::platform::contracts::store::TransitionOutcome;
use crate::platform::merchants::merchant::Merchant;
use crate::policy::Destination;
use crate::producer::Producer;

/// Cheap to clone.
#[derive(Clone)]
pub struct ContractService {
    pub store: ContractStore,
    lifecycle: Arc<Lifecycle>,
    producer: Producer,
}

/// The fields of a contract a merchant asks for.
#[derive(Debug, Clone, Copy)]
pub struct ContractTerms<'a> {
    pub contract_no: &'a str,
    pub plan_id: &'a str,
    pub single_limit_amt: &'a str,
    pub avl_num: &'a str,
}

impl ContractService {
    pub fn new(store: ContractStore, lifecycle: Lifecycle, producer: Producer) -> Self {
        Self {
            store,
            lifecycle: Arc::new(lifecycle),
            producer,
        }
    }

    /// A new contract of `merchant` notified at `notify`, with a fresh contractId, and its
    /// simulated consent due after the merchant's delay if it has one.
    pub fn draft(
        &self,
        merchant: &Merchant,
        terms: ContractTerms<'_>,
        notify: Destination,
    ) -> NewContract {
        let now = self.producer.clock.now();
        NewContract {
            contract_id: contract::contract_id(),
            mid: merchant.mid.clone(),
            contract_no: terms.contract_no.to_owned(),
            plan_id: terms.plan_id.to_owned(),
            notify,
            single_limit_amt: terms.single_limit_amt.to_owned(),
            avl_num: terms.avl_num.to_owned(),
            consent_due_at: merchant
                .auto_consent_after
                .and_then(|delay| chrono::Duration::from_std(delay).ok())
                .map(|delay| now + delay),
        }
    }

    /// Moves a contract and enqueues its notifications in one transaction, then wakes the
    /// dispatcher so they are sent at once.
    pub async fn change(
        &self,
        contract_id: &str,
        to: ContractState,
        cause: Cause,
    ) -> anyhow::Result<TransitionOutcome> {
        let change = Change {
            to,
            cause,
            now: self.producer.clock.now(),
        };
        let lifecycle = &self.lifecycle;
        let outcome = self
            .store
            .transition(contract_id, change.now, |current, extra_copies| {
                lifecycle.apply(current, extra_copies, &change)
            })
            .await?;
        Ok(outcome.accepted(&self.producer))
    }
}
