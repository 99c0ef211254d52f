//! The password-free (免密支付) contract: its record, its states and the state machine
//! between them, contract ids, and the China Standard Time format of its times.
//!
//! # States
//!
//! | wire value | meaning |
//! |---|---|
//! | `UNSIGNED` | not signed (yet) |
//! | `SIGNED` | signed, in force |
//! | `DELETING_CONTRACT` | rescission in progress |
//! | `RESCISSION` | rescinded (terminal) |
//! | `UNKNOWN` | the channel's state is unknown |
//!
//! # State machine
//!
//! A transition is legal only if listed here (see [`TRANSITIONS`]); a
//! transition to the same state is never legal, and `RESCISSION` is terminal.
//!
//! | from | allowed targets | why |
//! |---|---|---|
//! | `UNSIGNED` | `SIGNED` | the user consents |
//! |  | `RESCISSION` | the user declines / the request is cancelled |
//! |  | `UNKNOWN` | the channel lost track |
//! | `SIGNED` | `DELETING_CONTRACT` | rescission requested |
//! |  | `RESCISSION` | rescinded at once |
//! |  | `UNKNOWN` | the channel lost track |
//! | `DELETING_CONTRACT` | `RESCISSION` | rescission completed |
//! |  | `SIGNED` | rescission withdrawn or failed |
//! |  | `UNKNOWN` | the channel lost track |
//! | `RESCISSION` | — | terminal |
//! | `UNKNOWN` | `UNSIGNED`, `SIGNED`, `DELETING_CONTRACT`, `RESCISSION` | the channel's state is recovered |
//!
//! The notification sent on every state change is [`crate::platform::contracts::notice`]'s.

use std::{fmt, str::FromStr};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::policy::Destination;

/// The state of a password-free contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContractState {
    Unsigned,
    Signed,
    DeletingContract,
    Rescission,
    Unknown,
}

impl ContractState {
    /// Every state, in documentation order.
    pub const ALL: [ContractState; 5] = [
        Self::Unsigned,
        Self::Signed,
        Self::DeletingContract,
        Self::Rescission,
        Self::Unknown,
    ];

    /// The wire value, e.g. `DELETING_CONTRACT`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unsigned => "UNSIGNED",
            Self::Signed => "SIGNED",
            Self::DeletingContract => "DELETING_CONTRACT",
            Self::Rescission => "RESCISSION",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// The states this one may move to (empty for the terminal `RESCISSION`).
    pub fn allowed_targets(self) -> &'static [ContractState] {
        TRANSITIONS
            .iter()
            .find(|(from, _)| *from == self)
            .map_or(&[], |(_, targets)| targets)
    }

    /// Whether no transition leaves this state.
    pub fn is_terminal(self) -> bool {
        self.allowed_targets().is_empty()
    }
}

impl fmt::Display for ContractState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not a contract state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown contract state {0:?}; valid states are UNSIGNED, SIGNED, DELETING_CONTRACT, RESCISSION, UNKNOWN")]
pub struct ParseContractStateError(pub String);

impl FromStr for ContractState {
    type Err = ParseContractStateError;

    /// Exact, case-sensitive wire values only.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| ParseContractStateError(s.chars().take(32).collect()))
    }
}

/// The legal transitions: each state with the states it may move to.
pub const TRANSITIONS: &[(ContractState, &[ContractState])] = {
    use ContractState::{DeletingContract, Rescission, Signed, Unknown, Unsigned};
    &[
        (Unsigned, &[Signed, Rescission, Unknown]),
        (Signed, &[DeletingContract, Rescission, Unknown]),
        (DeletingContract, &[Rescission, Signed, Unknown]),
        (Rescission, &[]),
        (Unknown, &[Unsigned, Signed, DeletingContract, Rescission]),
    ]
};

/// Whether `from → to` is a legal transition.
pub fn can_transition(from: ContractState, to: ContractState) -> bool {
    from.allowed_targets().contains(&to)
}

/// Checks `from → to` and returns the new state.
pub fn transition(
    from: ContractState,
    to: ContractState,
) -> Result<ContractState, IllegalTransition> {
    if can_transition(from, to) {
        Ok(to)
    } else {
        Err(IllegalTransition { from, to })
    }
}

/// A transition the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", illegal_transition_message(*from, *to))]
pub struct IllegalTransition {
    pub from: ContractState,
    pub to: ContractState,
}

fn illegal_transition_message(from: ContractState, to: ContractState) -> String {
    let head = format!("illegal contract state transition {from} -> {to}");
    if from == to {
        return format!("{head}: the contract is already {from}");
    }
    let targets = from.allowed_targets();
    if targets.is_empty() {
        return format!("{head}: {from} is terminal");
    }
    let list: Vec<&str> = targets.iter().map(|s| s.as_str()).collect();
    format!(
        "{head}: from {from} the allowed targets are {}",
        list.join(", ")
    )
}

/// A fresh ChinaUMS contract id: standard Base64 of 32 random bytes (44
/// characters, ending in one `=`).
pub fn contract_id() -> String {
    STANDARD.encode(rand::random::<[u8; 32]>())
}

/// A password-free contract as the simulation keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// Insertion order, the cursor of listings.
    pub seq: i64,
    pub contract_id: String,
    pub mid: String,
    pub contract_no: String,
    pub plan_id: String,
    pub state: ContractState,
    /// Where this contract's notifications go, with the host key derived when the URL was
    /// accepted.
    pub notify: Destination,
    pub single_limit_amt: String,
    pub avl_num: String,
    /// When the contract was first signed; kept through later states.
    pub signed_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When the simulated user consents, while that is still to come.
    pub consent_due_at: Option<DateTime<Utc>>,
    /// The `requestTimestamp` of the contract's last notification; the next one is later.
    pub last_notified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A contract to create, in state `UNSIGNED`.
#[derive(Debug, Clone)]
pub struct NewContract {
    pub contract_id: String,
    pub mid: String,
    pub contract_no: String,
    pub plan_id: String,
    /// From [`crate::platform::wire::fields::notify_target`].
    pub notify: Destination,
    pub single_limit_amt: String,
    pub avl_num: String,
    pub consent_due_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContractState::*;

    #[test]
    fn states_round_trip_through_every_representation() {
        for state in ContractState::ALL {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(serde_json::from_str::<ContractState>(&json).unwrap(), state);
            assert_eq!(state.as_str().parse::<ContractState>(), Ok(state));
            assert_eq!(state.to_string(), state.as_str());
        }
        assert_eq!(DeletingContract.as_str(), "DELETING_CONTRACT");
        let err = "signed".parse::<ContractState>().unwrap_err().to_string();
        assert!(
            err.contains("\"signed\"") && err.contains("DELETING_CONTRACT"),
            "{err}"
        );
    }

    #[test]
    fn transition_table_covers_each_state_once() {
        for state in ContractState::ALL {
            assert_eq!(
                TRANSITIONS.iter().filter(|(s, _)| *s == state).count(),
                1,
                "{state}"
            );
        }
        assert_eq!(TRANSITIONS.len(), ContractState::ALL.len());
    }

    #[test]
    fn legal_transitions_are_exactly_the_documented_ones() {
        let legal = [
            (Unsigned, Signed),
            (Unsigned, Rescission),
            (Unsigned, Unknown),
            (Signed, DeletingContract),
            (Signed, Rescission),
            (Signed, Unknown),
            (DeletingContract, Rescission),
            (DeletingContract, Signed),
            (DeletingContract, Unknown),
            (Unknown, Unsigned),
            (Unknown, Signed),
            (Unknown, DeletingContract),
            (Unknown, Rescission),
        ];
        for from in ContractState::ALL {
            for to in ContractState::ALL {
                let expected = legal.contains(&(from, to));
                assert_eq!(can_transition(from, to), expected, "{from} -> {to}");
                assert_eq!(transition(from, to).is_ok(), expected, "{from} -> {to}");
            }
        }
        assert!(Rescission.is_terminal());
        assert!(ContractState::ALL
            .iter()
            .filter(|s| s.is_terminal())
            .eq([&Rescission]));
    }

    #[test]
    fn illegal_transition_messages_explain_themselves() {
        let err = transition(Unsigned, DeletingContract).unwrap_err();
        assert_eq!(
            err,
            IllegalTransition {
                from: Unsigned,
                to: DeletingContract
            }
        );
        assert_eq!(
            err.to_string(),
            "illegal contract state transition UNSIGNED -> DELETING_CONTRACT: \
             from UNSIGNED the allowed targets are SIGNED, RESCISSION, UNKNOWN"
        );
        assert!(transition(Rescission, Signed)
            .unwrap_err()
            .to_string()
            .ends_with("RESCISSION is terminal"));
        assert!(transition(Signed, Signed)
            .unwrap_err()
            .to_string()
            .ends_with("already SIGNED"));
    }

    #[test]
    fn contract_ids_are_44_char_base64_of_32_bytes() {
        let id = contract_id();
        assert_eq!(id.len(), 44);
        assert!(id.ends_with('=') && !id.ends_with("=="));
        assert_eq!(STANDARD.decode(&id).unwrap().len(), 32);
        assert_ne!(id, contract_id());
    }
}
