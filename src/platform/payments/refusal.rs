//! Why an order does not move: the refusals of the state machine and the refund rules
//! ([`OrderRefusal`], with a guarantee bill's and a split bill's own), each with the words a merchant or an
//! admin reads.

use crate::platform::payments::guarantee::GuaranteeRefusal;
use crate::platform::payments::order::Product;
use crate::platform::payments::split::SplitRefusal;

/// A move the state machine does not allow, or a refund it cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderRefusal {
    #[error("illegal order state transition {from} -> {to}: {why}")]
    Illegal {
        from: &'static str,
        to: &'static str,
        why: String,
    },
    #[error("refund amount {asked} is more than the {left} fen left to refund (total {total}, refunded {refunded})")]
    RefundTooLarge {
        asked: i64,
        left: i64,
        total: i64,
        refunded: i64,
    },
    #[error("refund amount must be at least 1 fen")]
    RefundNotPositive,
    /// An unpaid order past its expiry: the buyer can no longer pay it.
    #[error("the order expired unpaid ({0}); it is closed at the next expiry round")]
    Expired(&'static str),
    /// The refund order number was used for this order with another amount.
    #[error("refundOrderId {0} was already used for this order with another amount")]
    RefundIdReused(String),
    /// A further refund of an order whose request named no refund order number: only a
    /// first refund may leave it to the platform.
    #[error(
        "a further refund of {noun} (after the first) needs its own refundOrderId: expected one (6 to 32 characters, starting with your source number, different on each refund), received none; {refunded} fen were already refunded",
        noun = product_noun(.product)
    )]
    RefundOrderIdRequired { product: Product, refunded: i64 },
    /// A guarantee bill's hold is not completed or cancelled.
    #[error(transparent)]
    Guarantee(#[from] GuaranteeRefusal),
    /// A refund of a split bill breaks the split's rules.
    #[error(transparent)]
    Split(#[from] SplitRefusal),
}

/// What a refusal calls an order of `product`.
fn product_noun(product: &Product) -> &'static str {
    match product {
        Product::Bill => "a bill",
        Product::Trade => "an order",
    }
}
