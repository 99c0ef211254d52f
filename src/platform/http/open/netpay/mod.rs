//! The netpay order APIs merchants call (`/v1/netpay/...`): C-scans-B QR bills
//! ([`bills`], their terms read by [`bill_terms`], a split bill's by [`split`], each bill's page at its code's URL in
//! [`bill_page`]), mini-program orders ([`trade`]) and H5 orders by browser redirect
//! ([`h5`], with the sandbox's [`cashier`] page), answered in netpay's own style. A
//! handler reads its call as a [`Request`].
//!
//! A netpay answer is always HTTP 200 with `errCode` (`SUCCESS` or an error name, see
//! [`NetpayCode`]), `errMsg` and `responseTimestamp`, plus the operation's fields.
//! `errCode` `SUCCESS` says the request was taken; the order's state is in its own field
//! (`billStatus`, `status`). Authentication is checked first, by the same gateway as the
//! other platform APIs, and its failures keep the gateway's answer (a numeric `errCode`
//! with `errInfo`, see [`super::error`]). An internal error is HTTP 500 `INTERNAL_ERROR`.
//!
//! Requests are JSON objects. Amounts are whole fen, as JSON numbers (strings of digits
//! are read too); times are China Standard Time `yyyy-MM-dd HH:mm:ss`. Fields are checked
//! before anything is written, and a refused request spends no nonce.

pub mod bill_page;
pub mod bill_terms;
pub mod bills;
pub mod cashier;
pub mod guarantee;
pub mod h5;
mod request;
pub mod split;
pub mod trade;

pub use request::Request;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::{Map, Value};

use crate::platform::http::open::authn::replayed;
use crate::platform::http::open::error::PlatformError;
use crate::platform::payments::events::Refused;
use crate::platform::payments::order::{OrderRefusal, Refund};
use crate::platform::payments::store::OrderChangeOutcome;
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::time::format_cst;

/// The `errCode`s of the netpay APIs, as the platform names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetpayCode {
    /// The request was taken.
    Success,
    /// A field is missing or malformed.
    BadRequest,
    /// `requestTimestamp` is too far from the platform's clock (the auth window).
    AbnormalRequestTime,
    /// The `mid` is not the caller's.
    NoMerchant,
    /// No such order (or refund) of the merchant.
    NoOrder,
    /// The order number is taken.
    DupOrder,
    /// The order's state does not allow the operation (closing a paid order, refunding
    /// more than is left, …).
    OperationNotAllowed,
    /// The bill gateway: `msgSrc` names no message source, or one that does not serve
    /// the `mid`.
    InvalidMsgSrc,
    /// The bill gateway: the `sign` is wrong.
    BadSign,
    /// The bill gateway: no operation has the `msgType`.
    NoService,
    InternalError,
}

impl NetpayCode {
    pub const ALL: [NetpayCode; 11] = [
        Self::Success,
        Self::BadRequest,
        Self::AbnormalRequestTime,
        Self::NoMerchant,
        Self::NoOrder,
        Self::DupOrder,
        Self::OperationNotAllowed,
        Self::InvalidMsgSrc,
        Self::BadSign,
        Self::NoService,
        Self::InternalError,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::BadRequest => "BAD_REQUEST",
            Self::AbnormalRequestTime => "ABNORMAL_REQUEST_TIME",
            Self::NoMerchant => "NO_MERCHANT",
            Self::NoOrder => "NO_ORDER",
            Self::DupOrder => "DUP_ORDER",
            Self::OperationNotAllowed => "OPERATION_NOT_ALLOWED",
            Self::InvalidMsgSrc => "INVALID_MSGSRC",
            Self::BadSign => "BAD_SIGN",
            Self::NoService => "NO_SERVICE",
            Self::InternalError => "INTERNAL_ERROR",
        }
    }
}

/// A refused netpay request, or a gateway (authentication) failure.
#[derive(Debug)]
pub enum NetpayError {
    Gateway(PlatformError),
    Refused { code: NetpayCode, message: String },
}

impl NetpayError {
    pub fn new(code: NetpayCode, message: impl Into<String>) -> Self {
        Self::Refused {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad(message: impl Into<String>) -> Self {
        Self::new(NetpayCode::BadRequest, message)
    }
}

impl From<PlatformError> for NetpayError {
    fn from(error: PlatformError) -> Self {
        Self::Gateway(error)
    }
}

impl From<anyhow::Error> for NetpayError {
    fn from(error: anyhow::Error) -> Self {
        tracing::error!(error = format!("{error:#}"), "netpay request failed");
        Self::new(
            NetpayCode::InternalError,
            "internal error; the service log has the details",
        )
    }
}

impl IntoResponse for NetpayError {
    fn into_response(self) -> Response {
        match self {
            Self::Gateway(error) => error.into_response(),
            Self::Refused { code, message } => {
                let status = if code == NetpayCode::InternalError {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                };
                let mut answer = Map::new();
                answer.insert("errCode".into(), code.as_str().into());
                answer.insert("errMsg".into(), message.into());
                // A refusal is made where no sandbox is at hand, so it is stamped with the
                // wall clock rather than the sandbox's (which tests may set).
                answer.insert("responseTimestamp".into(), format_cst(Utc::now()).into());
                (status, Json(Value::Object(answer))).into_response()
            }
        }
    }
}

pub type NetpayResult = Result<Json<Value>, NetpayError>;

/// The error every netpay operation may answer besides its own, for the API description.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum NetpayErrors {
    /// `INTERNAL_ERROR`: the sandbox failed; its log has the details.
    #[response(status = 500)]
    Internal,
}

/// A successful answer: `SUCCESS`, `errMsg`, `responseTimestamp` and `fields`.
pub fn answer(sandbox: &Sandbox, message: &str, fields: Map<String, Value>) -> NetpayResult {
    let mut answer = Map::new();
    answer.insert("errCode".into(), NetpayCode::Success.as_str().into());
    answer.insert("errMsg".into(), message.into());
    answer.insert("responseTimestamp".into(), format_cst(sandbox.now()).into());
    answer.extend(fields);
    Ok(Json(Value::Object(answer)))
}

/// The answer to an order event's refusal, with the nonce text for a replay.
pub fn refused(outcome: OrderChangeOutcome, nonce: &str) -> NetpayError {
    match outcome {
        OrderChangeOutcome::NonceReplayed => replayed(nonce).into(),
        OrderChangeOutcome::NotFound => NetpayError::new(NetpayCode::NoOrder, "no such order"),
        OrderChangeOutcome::Refused(Refused::Rule(refusal)) => match refusal {
            OrderRefusal::RefundIdReused(_) => {
                NetpayError::new(NetpayCode::DupOrder, refusal.to_string())
            }
            // A field the request lacks, as the platform says of any missing field.
            OrderRefusal::RefundOrderIdRequired { .. } => {
                NetpayError::new(NetpayCode::BadRequest, refusal.to_string())
            }
            // A split refund's field missing or not of the bill; more than a share has
            // left is not allowed, as more than the bill has left is not.
            OrderRefusal::Split(ref split) if split.is_malformed() => {
                NetpayError::new(NetpayCode::BadRequest, refusal.to_string())
            }
            _ => NetpayError::new(NetpayCode::OperationNotAllowed, refusal.to_string()),
        },
        OrderChangeOutcome::Refused(other) => {
            anyhow::anyhow!("a merchant's order event was refused as {other:?}").into()
        }
        OrderChangeOutcome::Done { .. } => anyhow::anyhow!("a done event is no refusal").into(),
    }
}

/// The fields of a refund's answer.
pub fn put_refund(fields: &mut Map<String, Value>, refund: &Refund) {
    put(fields, "refundOrderId", refund.refund_order_id.as_str());
    put(
        fields,
        "refundTargetOrderId",
        refund.target_order_id.as_str(),
    );
    put(fields, "refundAmount", refund.amount);
    put(fields, "refundStatus", "SUCCESS");
    put(fields, "refundPayTime", format_cst(refund.created_at));
}

/// Inserts `name: value` into `map`.
pub fn put(map: &mut Map<String, Value>, name: &str, value: impl Into<Value>) {
    map.insert(name.to_owned(), value.into());
}
