//! Guarantee bills (担保交易, netpay spec §3.4, §10, §11, §17): a QR bill made with
//! `secureTransaction=true` whose payment is held. It owns the hold's states
//! (`secureStatus`), the rules of completing and cancelling it, the refusals of those
//! rules, and the fields a notice of such a bill carries.
//!
//! # States
//!
//! | secureStatus | when | moves to |
//! |---|---|---|
//! | (none) | the bill is unpaid, or closed unpaid: nothing is held | `UNCOMPLETED` when paid |
//! | `UNCOMPLETED` | paid, held | `ALL_COMPLETED`, `PARTLY_COMPLETED`, `CANCELED` |
//! | `ALL_COMPLETED` | `secureComplete` of the whole amount | nothing |
//! | `PARTLY_COMPLETED` | `secureComplete` of part; the rest went back to the buyer | nothing |
//! | `CANCELED` | `secureCancel`, or [`HOLD`] after the payment; all went back | nothing |
//!
//! What goes back to the buyer is recorded as a refund of the bill, so the bill's
//! `billStatus` becomes `REFUND` and its refunded amount is right. A hold that is
//! `UNCOMPLETED` cannot be refunded directly (spec §17); once completed, what was
//! completed may be refunded as any paid bill.

use chrono::{DateTime, Utc};

use crate::platform::payments::fields::{generate_order_no, source_number};
use crate::platform::payments::order::{Order, OrderRefusal, OrderState, Refund};

/// How long a hold waits for its completion: neither completed nor cancelled within
/// 30 days of the payment, it is cancelled (spec §3.4).
pub const HOLD: chrono::Duration = chrono::Duration::days(30);

/// The state of a guarantee bill's hold (`secureStatus`, spec §17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecureStatus {
    Uncompleted,
    PartlyCompleted,
    AllCompleted,
    Canceled,
}

impl SecureStatus {
    pub const ALL: [SecureStatus; 4] = [
        Self::Uncompleted,
        Self::PartlyCompleted,
        Self::AllCompleted,
        Self::Canceled,
    ];

    /// The name on the wire, which storage keeps too.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Uncompleted => "UNCOMPLETED",
            Self::PartlyCompleted => "PARTLY_COMPLETED",
            Self::AllCompleted => "ALL_COMPLETED",
            Self::Canceled => "CANCELED",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// The hold of a guarantee bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Guarantee {
    /// `None` until the bill is paid: nothing is held before.
    pub status: Option<SecureStatus>,
    /// In fen: what the merchant completed (what is settled to it); 0 until then.
    pub completed_amount: i64,
}

/// What the merchant does with a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// `secureComplete`: `completed_amount` fen are settled, the rest goes back.
    Complete { completed_amount: i64 },
    /// `secureCancel`: all of it goes back.
    Cancel,
}

impl Settlement {
    /// The operation's `msgType`, for the words of a refusal.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Complete { .. } => "secureComplete",
            Self::Cancel => "secureCancel",
        }
    }
}

/// Why a hold is not completed or cancelled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuaranteeRefusal {
    #[error("{op} applies to a guarantee bill (made with secureTransaction=true); bill {order_no} was made without it")]
    NotGuarantee { op: &'static str, order_no: String },
    #[error("{op} needs a paid guarantee bill (billStatus PAID, secureStatus UNCOMPLETED); bill {order_no} is {status}, nothing is held")]
    NotPaid {
        op: &'static str,
        order_no: String,
        status: &'static str,
    },
    #[error("{op} needs a guarantee whose secureStatus is UNCOMPLETED; the guarantee of bill {order_no} is {secure} already, and a guarantee is completed or cancelled once")]
    Settled {
        op: &'static str,
        order_no: String,
        secure: &'static str,
    },
    #[error("completedAmount must be 1 to the bill's totalAmount {total} fen; received {asked}")]
    CompletedOutOfRange { asked: i64, total: i64 },
}

/// Whether `order` may move `to` a refund directly: not while its hold is
/// `UNCOMPLETED` (spec §17), and the reason why.
pub fn check_direct_refund(order: &Order, to: OrderState) -> Result<(), String> {
    let held = order
        .guarantee
        .is_some_and(|g| g.status == Some(SecureStatus::Uncompleted));
    if to == OrderState::Refunded && held {
        return Err(
            "a guarantee bill whose secureStatus is UNCOMPLETED cannot be refunded \
             directly: complete it (secureComplete; what is not completed goes back to the \
             buyer) or cancel it (secureCancel; all goes back)"
                .to_owned(),
        );
    }
    Ok(())
}

/// A guarantee bill that is paid now holds its payment.
pub fn on_payment(next: &mut Order) {
    if let Some(guarantee) = next.guarantee.as_mut() {
        guarantee.status = Some(SecureStatus::Uncompleted);
    }
}

/// When the hold of `order` is cancelled by itself, while it is `UNCOMPLETED`.
pub fn hold_ends_at(order: &Order) -> Option<DateTime<Utc>> {
    let held = order.guarantee?.status == Some(SecureStatus::Uncompleted);
    let payment = order.payment.as_ref().filter(|_| held)?;
    payment.paid_at.checked_add_signed(HOLD)
}

/// Whether the hold of `order` is due for its automatic cancel at `now`.
pub fn hold_due(order: &Order, now: DateTime<Utc>) -> bool {
    order.state == OrderState::Paid && hold_ends_at(order).is_some_and(|at| at <= now)
}

/// What `settlement` does to the hold of `current` at `now`: `next` (a copy of
/// `current`) takes the new hold, and what goes back to the buyer is the refund returned,
/// numbered by the platform.
pub fn settle(
    current: &Order,
    next: &mut Order,
    settlement: Settlement,
    now: DateTime<Utc>,
) -> Result<Option<Refund>, OrderRefusal> {
    let op = settlement.name();
    let order_no = || current.order_no.clone();
    let Some(guarantee) = current.guarantee else {
        return Err(GuaranteeRefusal::NotGuarantee {
            op,
            order_no: order_no(),
        }
        .into());
    };
    match guarantee.status {
        Some(SecureStatus::Uncompleted) if current.state == OrderState::Paid => {}
        Some(status) if status != SecureStatus::Uncompleted => {
            return Err(GuaranteeRefusal::Settled {
                op,
                order_no: order_no(),
                secure: status.as_str(),
            }
            .into())
        }
        _ => {
            return Err(GuaranteeRefusal::NotPaid {
                op,
                order_no: order_no(),
                status: current.status(),
            }
            .into())
        }
    }
    let left = current.total_amount - current.refunded_amount;
    let (status, completed_amount) = match settlement {
        Settlement::Complete { completed_amount } => {
            if !(1..=left).contains(&completed_amount) {
                return Err(GuaranteeRefusal::CompletedOutOfRange {
                    asked: completed_amount,
                    total: left,
                }
                .into());
            }
            let status = if completed_amount == left {
                SecureStatus::AllCompleted
            } else {
                SecureStatus::PartlyCompleted
            };
            (status, completed_amount)
        }
        Settlement::Cancel => (SecureStatus::Canceled, 0),
    };
    next.guarantee = Some(Guarantee {
        status: Some(status),
        completed_amount,
    });
    let back = left - completed_amount;
    if back == 0 {
        return Ok(None);
    }
    next.state = OrderState::Refunded;
    next.refunded_amount += back;
    Ok(Some(Refund {
        refund_order_id: generate_order_no(&source_number(&current.order_no), now),
        amount: back,
        target_order_id: super::events::refund_target_order_id(),
        created_at: now,
    }))
}

/// The fields a notice (and a query) of a guarantee bill carries once it is paid:
/// `secureStatus` and `completeAmount` (so spelled there, spec §13; the secure
/// operations answer `completedAmount`).
pub fn notice_fields(order: &Order) -> Vec<(&'static str, String)> {
    match order.guarantee {
        Some(Guarantee {
            status: Some(status),
            completed_amount,
        }) => vec![
            ("secureStatus", status.as_str().to_owned()),
            ("completeAmount", completed_amount.to_string()),
        ],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
