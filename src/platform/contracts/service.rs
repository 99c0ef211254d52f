//! The contract service: drafting new contracts and moving them through their states,
//! with the state change and its notifications committed together; and an admin's move
//! ([`TransitionRequest`]), for the admin API and the console alike, answered with the
//! contract moved or why not ([`ContractRefused`]).

use std::sync::Arc;

use serde::Deserialize;

use crate::platform::contracts::contract::{
    self, Contract, ContractState, IllegalTransition, NewContract, ParseContractStateError,
};
use crate::platform::contracts::events::{Cause, Change, Lifecycle, Refused};
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

/// An admin's move of a contract.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// The state to move to.
    #[schema(value_type = ContractState)]
    pub to: String,
}

/// A contract moved, with its notifications enqueued.
#[derive(Debug)]
pub struct ContractMoved {
    pub contract: Box<Contract>,
    /// The notifications the move enqueued (one, plus the merchant's extra copies).
    pub notifications: Vec<i64>,
}

/// Why an admin's move was refused; nothing changed. Its `Display` is the message for
/// people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractRefused {
    /// `to` names no contract state.
    #[error(transparent)]
    InvalidState(ParseContractStateError),
    /// No contract has this contractId.
    #[error("contract {0:?} does not exist")]
    NotFound(String),
    /// The state machine does not allow the move.
    #[error(transparent)]
    Illegal(IllegalTransition),
}

impl ContractRefused {
    /// The field of the request the refusal is about, if it is about one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidState(_) | Self::Illegal(_) => Some("to"),
            Self::NotFound(_) => None,
        }
    }
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

    /// Moves contract `contract_id` as an admin asks; the move and its notifications are
    /// one transaction. An illegal move changes nothing.
    pub async fn transition(
        &self,
        contract_id: &str,
        request: TransitionRequest,
    ) -> anyhow::Result<Result<ContractMoved, ContractRefused>> {
        let to = match request.to.parse::<ContractState>() {
            Ok(to) => to,
            Err(error) => return Ok(Err(ContractRefused::InvalidState(error))),
        };
        Ok(match self.change(contract_id, to, Cause::Admin).await? {
            TransitionOutcome::Done {
                contract,
                notifications,
            } => {
                tracing::info!(mid = %contract.mid, contract_no = %contract.contract_no, state = %contract.state, "contract moved by an admin");
                Ok(ContractMoved {
                    contract,
                    notifications,
                })
            }
            TransitionOutcome::NotFound => Err(ContractRefused::NotFound(contract_id.to_owned())),
            TransitionOutcome::Refused(Refused::Illegal(illegal)) => {
                Err(ContractRefused::Illegal(illegal))
            }
            TransitionOutcome::Refused(Refused::NotDue) => {
                anyhow::bail!("an admin change was refused as a consent")
            }
        })
    }
}
