//! What an admin asks of the order service (create an order, move it, refund part of it),
//! as the admin API's JSON bodies and the console's forms give it, and what the service
//! answers: the order moved, or why it refused (the field and a message for people).

use serde::Deserialize;

use crate::platform::merchants::merchant::NoDefaultNotify;
use crate::platform::payments::order::{Order, OrderRefusal, Product, Refund, CHANNELS};

/// An order to create as if the merchant had created it through the platform API.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    pub mid: Option<String>,
    /// In fen.
    #[schema(value_type = i64)]
    pub total_amount: Option<serde_json::Value>,
    /// The merchant's default when left out.
    pub notify_url: Option<String>,
    /// `trade` (an H5 / mini-program order, the default) or `bill` (a QR bill).
    #[schema(value_type = Option<Product>)]
    pub product: Option<String>,
    /// The `merOrderId` or `billNo`; generated from the merchant's source number when
    /// left out.
    pub order_no: Option<String>,
    pub description: Option<String>,
    pub tid: Option<String>,
    pub inst_mid: Option<String>,
    /// How long it stays payable, such as `30m` (the default) or `2h`.
    pub expire_after: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderTransition {
    /// The state to move to, as the order's product names it.
    pub to: String,
    /// For a payment: the channel (`WXPay`, the default, `Alipay` or `UnionPay`).
    pub target_sys: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// In fen: a JSON number, or a string of digits.
    #[schema(value_type = i64)]
    pub amount: Option<serde_json::Value>,
    /// Generated from the merchant's source number when left out.
    pub refund_order_id: Option<String>,
}

/// An order moved (paid, closed or refunded), with its notices enqueued.
#[derive(Debug)]
pub struct OrderMoved {
    pub order: Box<Order>,
    /// The refund the move made, if it was one.
    pub refund: Option<Refund>,
    /// The notifications enqueued with the move.
    pub notifications: Vec<i64>,
}

/// Why the order service refused a request; nothing was changed. Its `Display` is the
/// message for people, naming fields as the request names them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderRefused {
    /// A field is missing or breaks its rule.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// `to` names no state of the order's product.
    #[error("{0}")]
    InvalidState(String),
    /// `target_sys` names no channel.
    #[error("`target_sys` must be one of {}", CHANNELS.join(", "))]
    InvalidTargetSys,
    /// `notify_url` is not a URL notices can go to.
    #[error("{0}")]
    InvalidNotifyUrl(String),
    /// `notify_url` names an address the egress guard refuses.
    #[error("{0}")]
    DestinationNotAllowed(String),
    /// No `notify_url`, and the merchant's default cannot stand in for it.
    #[error(transparent)]
    NoDefaultNotify(NoDefaultNotify),
    #[error("merchant {0} does not exist")]
    UnknownMerchant(String),
    /// No order has this id (as the caller wrote it).
    #[error("order {0:?} does not exist")]
    NotFound(String),
    #[error("merchant {mid} already has order {id} with order_no {order_no}")]
    DuplicateOrderNo {
        mid: String,
        id: i64,
        order_no: String,
    },
    /// The state machine or the refund limits do not allow it.
    #[error(transparent)]
    Rule(OrderRefusal),
    /// That refund was already made (same refund order number and amount).
    #[error(
        "refund {} of {} fen was already made; nothing was refunded again",
        .0.refund_order_id,
        .0.amount
    )]
    RefundRepeated(Refund),
}

impl OrderRefused {
    /// The field of the request the refusal is about, if it is about one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::Invalid { field, .. } => Some(*field),
            Self::InvalidState(_) => Some("to"),
            Self::InvalidTargetSys => Some("target_sys"),
            Self::InvalidNotifyUrl(_)
            | Self::DestinationNotAllowed(_)
            | Self::NoDefaultNotify(_) => Some("notify_url"),
            Self::UnknownMerchant(_) => Some("mid"),
            Self::DuplicateOrderNo { .. } => Some("order_no"),
            Self::RefundRepeated(_) => Some("refund_order_id"),
            Self::NotFound(_) | Self::Rule(_) => None,
        }
    }

    /// `field` is missing or breaks its rule, as `message` says.
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}
