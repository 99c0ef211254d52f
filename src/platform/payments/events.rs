//! What happens to an order: a buyer pays, the order is closed or expires, a refund is
//! made (of a split bill's shares too, [`super::split`]), a guarantee bill's hold is
//! completed or cancelled. Each event is checked against
//! the state machine ([`super::order`], [`super::guarantee`]) and planned with its
//! payment-result notices; pure, the store runs it inside the transaction that writes
//! its result.

use chrono::{DateTime, Utc};

use crate::outbox::NewNotification;
use crate::platform::merchants::merchant::Merchant;
use crate::platform::payments::guarantee::{self, Settlement};
use crate::platform::payments::notice::{self, Event};
use crate::platform::payments::order::{Order, OrderRefusal, OrderState, Payment, Refund};
use crate::platform::payments::split::{self, ShareRefund};
use crate::policy::RetryPolicy;

/// What happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEvent {
    /// The buyer pays through `target_sys`.
    Pay { target_sys: String },
    /// The order is closed unpaid.
    Close,
    /// `amount` fen (all that is left when `None`, as of the change) are refunded under
    /// `refund_order_id`: the merchant's, or one the platform `generated` because the
    /// merchant's request named none. Only a first refund may go without one: a further
    /// refund of the order needs the merchant's own number.
    Refund {
        refund_order_id: String,
        amount: Option<i64>,
        generated: bool,
    },
    /// A guarantee bill's hold is completed or cancelled ([`guarantee::settle`]); what
    /// goes back to the buyer is a refund the platform numbers.
    Guarantee(Settlement),
    /// A partial refund of a split bill ([`split`]): one sub-merchant's part and the
    /// platform's, `share.total()` fen, under `refund_order_id` as for [`Self::Refund`].
    SplitRefund {
        refund_order_id: String,
        share: ShareRefund,
        generated: bool,
    },
}

/// Who makes it happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The admin API: any event the state machine allows.
    Admin,
    /// The merchant, through the platform API (close, refund).
    Merchant,
    /// The simulated buyer's automatic payment, once due.
    Buyer,
    /// A buyer paying on an H5 order's cashier page, now.
    Cashier,
    /// The order's expiry, once due.
    Expiry,
    /// The end of a guarantee bill's hold ([`guarantee::HOLD`] after its payment), once
    /// due: the hold is cancelled.
    HoldExpiry,
}

/// An event asked for at `now`.
#[derive(Debug, Clone)]
pub struct OrderChange {
    pub event: OrderEvent,
    pub cause: Cause,
    pub now: DateTime<Utc>,
}

impl OrderChange {
    /// The refund order number the event names, if it is a refund.
    pub fn refund_order_id(&self) -> Option<&str> {
        match &self.event {
            OrderEvent::Refund {
                refund_order_id, ..
            }
            | OrderEvent::SplitRefund {
                refund_order_id, ..
            } => Some(refund_order_id),
            _ => None,
        }
    }
}

/// Why an event does not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The state machine or the refund limits do not allow it.
    Rule(OrderRefusal),
    /// An automatic payment or expiry that is no longer due (the order moved meanwhile).
    NotDue,
    /// The refund was already made under this refund order number, for this amount: it is
    /// not made twice.
    Repeated(Refund),
}

/// An event's result: the order after it, the refund it made, and its notices.
#[derive(Debug)]
pub struct Planned {
    pub order: Order,
    pub refund: Option<Refund>,
    pub notifications: Vec<NewNotification>,
}

/// A random channel refund number.
pub(crate) fn refund_target_order_id() -> String {
    let digits: String = (0..24)
        .map(|_| char::from(b'0' + rand::random_range(0..10u8)))
        .collect();
    format!("5030{digits}")
}

/// A refund asked for: `amount` fen under `refund_order_id` (which the platform
/// `generated`), naming a split bill's `share` or none.
struct Asked<'a> {
    refund_order_id: &'a str,
    amount: i64,
    generated: bool,
    share: Option<&'a ShareRefund>,
}

/// The refund `asked` of `current` at `now`, given the refund already made under its
/// number: `next` (a copy of `current`) takes the refunded amount and, on a split bill,
/// what is left of each share.
fn plan_refund(
    current: &Order,
    next: &mut Order,
    existing_refund: Option<&Refund>,
    asked: &Asked<'_>,
    now: DateTime<Utc>,
) -> Result<Refund, Refused> {
    let amount = asked.amount;
    if let Some(existing) = existing_refund {
        return Err(if existing.amount == amount {
            Refused::Repeated(existing.clone())
        } else {
            Refused::Rule(OrderRefusal::RefundIdReused(
                asked.refund_order_id.to_owned(),
            ))
        });
    }
    current.check_refund(amount).map_err(Refused::Rule)?;
    if asked.generated && current.refunded_amount > 0 {
        return Err(Refused::Rule(OrderRefusal::RefundOrderIdRequired {
            product: current.product,
            refunded: current.refunded_amount,
        }));
    }
    split::on_refund(current, next, amount, asked.share)
        .map_err(|refusal| Refused::Rule(refusal.into()))?;
    next.state = OrderState::Refunded;
    next.refunded_amount += amount;
    Ok(Refund {
        refund_order_id: asked.refund_order_id.to_owned(),
        amount,
        target_order_id: refund_target_order_id(),
        created_at: now,
    })
}

/// What `change` does to `current` of `merchant`, given the refund already made under
/// the change's refund order number (if any), or why it does not happen.
pub fn plan(
    current: &Order,
    merchant: &Merchant,
    existing_refund: Option<&Refund>,
    change: &OrderChange,
    policy: &RetryPolicy,
) -> Result<Planned, Refused> {
    let now = change.now;
    let due = |at: Option<DateTime<Utc>>| at.is_some_and(|at| at <= now);
    match change.cause {
        // A buyer who comes after the order expired finds it closed, however late the
        // worker gets to either.
        Cause::Buyer
            if current.state != OrderState::Unpaid
                || !due(current.pay_due_at)
                || current
                    .pay_due_at
                    .is_some_and(|at| at >= current.expires_at) =>
        {
            return Err(Refused::NotDue)
        }
        Cause::Expiry if current.state != OrderState::Unpaid || !due(Some(current.expires_at)) => {
            return Err(Refused::NotDue)
        }
        Cause::HoldExpiry if !guarantee::hold_due(current, now) => return Err(Refused::NotDue),
        _ => {}
    }
    let mut next = current.clone();
    next.updated_at = now;
    next.pay_due_at = None;
    let mut refund = None;
    match &change.event {
        OrderEvent::Pay { target_sys } => {
            current
                .check_move(OrderState::Paid)
                .map_err(Refused::Rule)?;
            // The simulated buyer came when due, before the expiry (checked above),
            // however late the worker applies it; anyone else pays now.
            if change.cause != Cause::Buyer && now >= current.expires_at {
                return Err(Refused::Rule(OrderRefusal::Expired(current.status())));
            }
            next.state = OrderState::Paid;
            next.payment = Some(Payment::simulate(target_sys, now));
            guarantee::on_payment(&mut next);
        }
        OrderEvent::Close => {
            current
                .check_move(OrderState::Closed)
                .map_err(Refused::Rule)?;
            next.state = OrderState::Closed;
            next.closed_at = Some(now);
        }
        OrderEvent::Refund {
            refund_order_id,
            amount,
            generated,
        } => {
            // Read under the order's lock, so two refunds of "the rest" cannot both take it.
            let amount = amount.unwrap_or(current.refundable());
            let asked = Asked {
                refund_order_id,
                amount,
                generated: *generated,
                share: None,
            };
            refund = Some(plan_refund(
                current,
                &mut next,
                existing_refund,
                &asked,
                now,
            )?);
        }
        OrderEvent::SplitRefund {
            refund_order_id,
            share,
            generated,
        } => {
            let asked = Asked {
                refund_order_id,
                amount: share.total(),
                generated: *generated,
                share: Some(share),
            };
            refund = Some(plan_refund(
                current,
                &mut next,
                existing_refund,
                &asked,
                now,
            )?);
        }
        OrderEvent::Guarantee(settlement) => {
            refund =
                guarantee::settle(current, &mut next, *settlement, now).map_err(Refused::Rule)?;
        }
    }
    let event = Event {
        order: &next,
        refund: refund.as_ref(),
    };
    let sends = match change.event {
        OrderEvent::Guarantee(_) => merchant.payment_notices.sends_guarantee(),
        _ => merchant.payment_notices.sends(next.product, next.state),
    };
    let notifications = if sends {
        notice::payment_result(event, merchant, policy)
    } else {
        Vec::new()
    };
    Ok(Planned {
        order: next,
        refund,
        notifications,
    })
}
