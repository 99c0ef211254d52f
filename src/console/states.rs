//! How the console tells each state it shows: by its own name and by a colour
//! ([`Tone`]), the same way for notifications, contracts, orders, fixed codes and check
//! runs.

use maud::Markup;

use super::layout::{badge, Tone};
use crate::check::Outcome;
use crate::outbox::Status;
use crate::platform::contracts::contract::ContractState;
use crate::platform::payments::fixed::FixedCode;
use crate::platform::payments::guarantee::SecureStatus;
use crate::platform::payments::order::{Order, OrderState};

/// A notification's status.
pub fn notification(status: Status) -> Markup {
    let tone = match status {
        Status::Pending => Tone::Warn,
        Status::Delivering => Tone::Info,
        Status::Delivered => Tone::Ok,
        Status::Failed => Tone::Bad,
        Status::Cancelled => Tone::Idle,
    };
    badge(status.as_str(), tone)
}

/// A contract's state, as the contract notice names it.
pub fn contract(state: ContractState) -> Markup {
    let tone = match state {
        ContractState::Unsigned => Tone::Info,
        ContractState::Signed => Tone::Ok,
        ContractState::DeletingContract => Tone::Warn,
        ContractState::Rescission => Tone::Bad,
        ContractState::Unknown => Tone::Idle,
    };
    badge(state.as_str(), tone)
}

/// The tone of an order's state, whatever its product.
pub const fn order_tone(state: OrderState) -> Tone {
    match state {
        OrderState::Unpaid => Tone::Info,
        OrderState::Paid => Tone::Ok,
        OrderState::Refunded => Tone::Warn,
        OrderState::Closed => Tone::Idle,
    }
}

/// An order's state, as its product names it on the wire (`billStatus` or `status`).
pub fn order(order: &Order) -> Markup {
    badge(order.status(), order_tone(order.state))
}

/// A fixed QR code at `now`: `open` (a scan pays), `closed` (by the merchant) or
/// `expired`.
pub fn fixed_code(code: &FixedCode, now: chrono::DateTime<chrono::Utc>) -> Markup {
    if code.open_at(now) {
        badge("open", Tone::Ok)
    } else if code.closed_at.is_some() {
        badge("closed", Tone::Idle)
    } else {
        badge("expired", Tone::Idle)
    }
}

/// A guarantee bill's hold (`secureStatus`).
pub fn secure(status: SecureStatus) -> Markup {
    let tone = match status {
        SecureStatus::Uncompleted => Tone::Info,
        SecureStatus::PartlyCompleted | SecureStatus::AllCompleted => Tone::Ok,
        SecureStatus::Canceled => Tone::Idle,
    };
    badge(status.as_str(), tone)
}

/// A check run's status (`running`, `finished`, `interrupted`).
pub fn run(status: &str) -> Markup {
    let tone = match status {
        "finished" => Tone::Ok,
        "running" => Tone::Warn,
        "interrupted" => Tone::Bad,
        _ => Tone::Idle,
    };
    badge(status, tone)
}

/// A check's outcome, or a whole run's (`pass` when no `must` check failed).
pub fn outcome(outcome: Outcome) -> Markup {
    let tone = match outcome {
        Outcome::Pass => Tone::Ok,
        Outcome::Fail => Tone::Bad,
        Outcome::Warn => Tone::Warn,
    };
    badge(outcome.as_str(), tone)
}
