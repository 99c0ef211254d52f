//! The netpay order APIs merchants call (`/v1/netpay/...`): C-scans-B QR bills
//! ([`bills`]) and H5 / mini-program trade orders ([`trade`]), answered in netpay's own
//! style.
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

pub mod bills;
pub mod cashier;
pub mod h5;
pub mod trade;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::authn::{authenticate, replayed, Caller};
use super::error::PlatformError;
use crate::platform::contract::{format_cst, parse_cst};
use crate::platform::fields;
use crate::platform::order::{Order, OrderRefusal, Product, Refund};
use crate::platform::order_events::{Cause, OrderEvent, Refused};
use crate::platform::order_fields;
use crate::platform::sandbox::Sandbox;
use crate::platform::store::{NonceUse, OrderChangeOutcome};
use crate::policy::Destination;

/// The `errCode`s of the netpay APIs, as the platform names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetpayCode {
    /// The request was taken.
    Success,
    /// A field is missing or malformed.
    BadRequest,
    /// The `mid` is not the caller's.
    NoMerchant,
    /// No such order (or refund) of the merchant.
    NoOrder,
    /// The order number is taken.
    DupOrder,
    /// The order's state does not allow the operation (closing a paid order, refunding
    /// more than is left, …).
    OperationNotAllowed,
    InternalError,
}

impl NetpayCode {
    pub const ALL: [NetpayCode; 7] = [
        Self::Success,
        Self::BadRequest,
        Self::NoMerchant,
        Self::NoOrder,
        Self::DupOrder,
        Self::OperationNotAllowed,
        Self::InternalError,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::BadRequest => "BAD_REQUEST",
            Self::NoMerchant => "NO_MERCHANT",
            Self::NoOrder => "NO_ORDER",
            Self::DupOrder => "DUP_ORDER",
            Self::OperationNotAllowed => "OPERATION_NOT_ALLOWED",
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

    fn bad(message: impl Into<String>) -> Self {
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

/// A successful answer: `SUCCESS`, `errMsg`, `responseTimestamp` and `fields`.
pub fn answer(sandbox: &Sandbox, message: &str, fields: Map<String, Value>) -> NetpayResult {
    let mut answer = Map::new();
    answer.insert("errCode".into(), NetpayCode::Success.as_str().into());
    answer.insert("errMsg".into(), message.into());
    answer.insert("responseTimestamp".into(), format_cst(sandbox.now()).into());
    answer.extend(fields);
    Ok(Json(Value::Object(answer)))
}

/// An authenticated request: its merchant, its nonce and its JSON fields.
pub struct Request {
    pub caller: Caller,
    pub fields: Map<String, Value>,
}

impl Request {
    /// Authenticates the call, reads the body as a JSON object, and checks the fields
    /// every netpay request has: `requestTimestamp`, `mid` (the caller's), `tid` and
    /// `instMid`.
    pub async fn read(
        sandbox: &Sandbox,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self, NetpayError> {
        let caller = authenticate(sandbox, headers, body).await?;
        Self::checked(caller, body)
    }

    /// A request of an authenticated `caller`: reads `body` as a JSON object and checks
    /// the fields every netpay request has.
    pub fn checked(caller: Caller, body: &[u8]) -> Result<Self, NetpayError> {
        let fields: Map<String, Value> = serde_json::from_slice(body).map_err(|error| {
            NetpayError::bad(format!("the body must be a JSON object: {error}"))
        })?;
        let request = Self { caller, fields };
        let timestamp = request.required("requestTimestamp")?;
        parse_cst(timestamp).map_err(|e| NetpayError::bad(format!("requestTimestamp: {e}")))?;
        let mid = request.required("mid")?;
        if mid != request.caller.merchant.mid {
            return Err(NetpayError::new(
                NetpayCode::NoMerchant,
                format!("mid {mid} is not a merchant of this appId"),
            ));
        }
        order_fields::tid("tid", request.required("tid")?).map_err(NetpayError::bad)?;
        order_fields::inst_mid("instMid", request.required("instMid")?)
            .map_err(NetpayError::bad)?;
        Ok(request)
    }

    /// A string field; absent, `null` and `""` are all no value.
    pub fn optional(&self, name: &str) -> Result<Option<&str>, NetpayError> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(NetpayError::bad(format!("{name} must be a string"))),
        }
    }

    pub fn required(&self, name: &str) -> Result<&str, NetpayError> {
        self.optional(name)?
            .ok_or_else(|| NetpayError::bad(format!("{name} is required")))
    }

    /// An amount in fen.
    pub fn amount(&self, name: &str) -> Result<i64, NetpayError> {
        let value = self
            .fields
            .get(name)
            .filter(|v| !v.is_null())
            .ok_or_else(|| NetpayError::bad(format!("{name} is required")))?;
        order_fields::amount(name, value).map_err(NetpayError::bad)
    }

    /// An order number of the caller (`billNo`, `merOrderId`, `refundOrderId`).
    pub fn order_no(&self, name: &str, max: usize) -> Result<&str, NetpayError> {
        let value = self.required(name)?;
        order_fields::order_no(name, value, max, &self.caller.merchant.msg_src_id)
            .map_err(NetpayError::bad)?;
        Ok(value)
    }

    /// An optional `expireTime`.
    pub fn expiry(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, NetpayError> {
        let Some(text) = self.optional("expireTime")? else {
            return Ok(None);
        };
        let at = parse_cst(text).map_err(|e| NetpayError::bad(format!("expireTime: {e}")))?;
        order_fields::expiry("expireTime", at, now).map_err(NetpayError::bad)?;
        Ok(Some(at))
    }

    /// An optional description field.
    pub fn description(&self, name: &str) -> Result<String, NetpayError> {
        let text = self.optional(name)?.unwrap_or_default();
        order_fields::description(name, text).map_err(NetpayError::bad)?;
        Ok(text.to_owned())
    }

    /// Where the order's notices go: `notifyUrl`, or the merchant's default.
    pub fn notify(&self) -> Result<Destination, NetpayError> {
        if let Some(url) = self.optional("notifyUrl")? {
            return fields::notify_target(url).map_err(|e| NetpayError::bad(e.message));
        }
        let url = self.caller.merchant.notify_url.as_deref().ok_or_else(|| {
            NetpayError::bad("notifyUrl is required: the merchant has no default notify URL")
        })?;
        fields::notify_target(url).map_err(|e| {
            NetpayError::bad(format!(
                "the merchant's default notify URL is refused ({}); send a notifyUrl",
                e.message
            ))
        })
    }

    /// The merchant's order of `product` with `order_no`, or `NO_ORDER`.
    pub async fn order(
        &self,
        sandbox: &Sandbox,
        product: Product,
        order_no: &str,
    ) -> Result<Order, NetpayError> {
        sandbox
            .store
            .order_by_no(&self.caller.merchant.mid, order_no)
            .await?
            .filter(|order| order.product == product)
            .ok_or_else(|| {
                NetpayError::new(
                    NetpayCode::NoOrder,
                    format!(
                        "no {} {order_no} of merchant {}",
                        product.order_no_field(),
                        self.caller.merchant.mid
                    ),
                )
            })
    }

    /// Spends the nonce of a request that writes nothing.
    pub async fn spend_nonce(&mut self, sandbox: &Sandbox) -> Result<(), NetpayError> {
        if let Some(nonce) = self.caller.nonce.take() {
            let text = nonce.nonce.clone();
            if !sandbox.store.spend_nonce(nonce, sandbox.now()).await? {
                return Err(replayed(&text).into());
            }
        }
        Ok(())
    }

    /// The nonce, for a write to spend, and its text for the answer to a replay.
    pub fn take_nonce(&mut self) -> (Option<NonceUse>, String) {
        let nonce = self.caller.nonce.take();
        let text = nonce.as_ref().map(|n| n.nonce.clone()).unwrap_or_default();
        (nonce, text)
    }

    /// Refunds `amount` fen of `order` under `refund_order_id`: the refund made now, or
    /// the one already made under that number for that amount (not made twice).
    pub async fn refund(
        &mut self,
        sandbox: &Sandbox,
        order: &Order,
        refund_order_id: String,
        amount: i64,
    ) -> Result<(Order, Refund), NetpayError> {
        let (nonce, nonce_text) = self.take_nonce();
        let event = OrderEvent::Refund {
            refund_order_id,
            amount: Some(amount),
        };
        let outcome = sandbox
            .orders
            .apply(order.id, event, Cause::Merchant, nonce)
            .await?;
        match outcome {
            OrderChangeOutcome::Done {
                order,
                refund: Some(refund),
                ..
            } => Ok((*order, refund)),
            OrderChangeOutcome::Refused(Refused::Repeated(refund)) => Ok((order.clone(), refund)),
            other => Err(refused(other, &nonce_text)),
        }
    }

    /// `msgId`, echoed in the answer when sent.
    pub fn echo(&self, fields: &mut Map<String, Value>) {
        if let Some(Value::String(msg_id)) = self.fields.get("msgId") {
            fields.insert("msgId".into(), msg_id.clone().into());
        }
    }
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
