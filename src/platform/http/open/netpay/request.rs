//! A netpay request as the handlers read it: authenticated, its JSON fields checked, and
//! the order operations every product shares (create, close, refund) with their nonce.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::platform::auth::store::NonceUse;
use crate::platform::http::open::authn::{auth_window, authenticate, replayed, Caller};
use crate::platform::http::open::netpay::{refused, NetpayCode, NetpayError};
use crate::platform::payments::events::{Cause, OrderEvent, Refused};
use crate::platform::payments::fields as order_fields;
use crate::platform::payments::order::{Order, Product, Refund};
use crate::platform::payments::service::OrderTerms;
use crate::platform::payments::split::ShareRefund;
use crate::platform::payments::store::{OrderChangeOutcome, OrderCreateOutcome};
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::fields;
use crate::platform::wire::time::{check_skew, parse_cst};
use crate::policy::Destination;

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
        Self::checked(sandbox, caller, body)
    }

    /// A request of an authenticated `caller`: reads `body` as a JSON object and checks
    /// the fields every netpay request has. A `requestTimestamp` farther from the
    /// sandbox's clock than the auth window is `ABNORMAL_REQUEST_TIME`.
    pub fn checked(sandbox: &Sandbox, caller: Caller, body: &[u8]) -> Result<Self, NetpayError> {
        let fields: Map<String, Value> = serde_json::from_slice(body).map_err(|error| {
            NetpayError::bad(format!("the body must be a JSON object: {error}"))
        })?;
        Self::of_fields(sandbox, caller, fields)
    }

    /// A request of `caller` with `fields`, checked as [`Request::checked`] checks them.
    pub fn of_fields(
        sandbox: &Sandbox,
        caller: Caller,
        fields: Map<String, Value>,
    ) -> Result<Self, NetpayError> {
        let request = Self { caller, fields };
        request.check_time(sandbox)?;
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

    /// `requestTimestamp`: present, `yyyy-MM-dd HH:mm:ss` China time, and within the auth
    /// window of the sandbox's clock (else `ABNORMAL_REQUEST_TIME`).
    pub fn check_time(&self, sandbox: &Sandbox) -> Result<(), NetpayError> {
        let timestamp = self.required("requestTimestamp")?;
        let at =
            parse_cst(timestamp).map_err(|e| NetpayError::bad(format!("requestTimestamp: {e}")))?;
        check_skew(
            "requestTimestamp",
            timestamp,
            at,
            sandbox.now(),
            auth_window(sandbox),
        )
        .map_err(|e| NetpayError::new(NetpayCode::AbnormalRequestTime, e.to_string()))
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

    /// An optional amount in fen; absent, `null` and `""` are none.
    pub fn optional_amount(&self, name: &str) -> Result<Option<i64>, NetpayError> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(_) => self.amount(name).map(Some),
        }
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

    /// Where the order's notices go: `notifyUrl` (one the egress guard admits), or the
    /// merchant's default.
    pub fn notify(&self, sandbox: &Sandbox) -> Result<Destination, NetpayError> {
        if let Some(url) = self.optional("notifyUrl")? {
            let target = fields::notify_target(url).map_err(|e| NetpayError::bad(e.message))?;
            sandbox
                .producer
                .egress
                .admit_url(url)
                .map_err(|refused| NetpayError::bad(format!("notifyUrl: {refused}")))?;
            return Ok(target);
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
            .orders
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
            if !sandbox.auth.spend_nonce(nonce, sandbox.now()).await? {
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

    /// The terms of a new order of `product` numbered `order_no`, with the point of sale
    /// (`tid`, `instMid`) and the expiry of this request; no bill date, no cashier, no
    /// guarantee.
    pub fn terms(
        &self,
        product: Product,
        order_no: &str,
        total_amount: i64,
        description: String,
        now: DateTime<Utc>,
    ) -> Result<OrderTerms, NetpayError> {
        Ok(OrderTerms {
            product,
            order_no: order_no.to_owned(),
            tid: self.required("tid")?.to_owned(),
            inst_mid: self.required("instMid")?.to_owned(),
            bill_date: String::new(),
            total_amount,
            description,
            expires_at: self.expiry(now)?,
            h5: None,
            guarantee: false,
            bill: None,
        })
    }

    /// Creates the caller's order of `terms` at `now`, notified at the request's
    /// `notifyUrl` (or the merchant's), spending the request's nonce with it. A number
    /// already taken is `DUP_ORDER`, said as `duplicate` says; so is a bill's own QR code
    /// id that is already a code.
    pub async fn create(
        &mut self,
        sandbox: &Sandbox,
        terms: OrderTerms,
        now: DateTime<Utc>,
        duplicate: impl FnOnce(&str) -> String,
    ) -> Result<Order, NetpayError> {
        let notify = self.notify(sandbox)?;
        let own_notify = self.optional("notifyUrl")?.is_some();
        let order_no = terms.order_no.clone();
        let new = sandbox
            .orders
            .draft(&self.caller.merchant, terms, notify, own_notify, now);
        let (nonce, nonce_text) = self.take_nonce();
        match sandbox.orders.store.create_order(new, nonce, now).await? {
            OrderCreateOutcome::Created(order) => {
                tracing::info!(mid = %order.mid, order_no = %order.order_no, product = %order.product, "order created through the platform API");
                Ok(order)
            }
            OrderCreateOutcome::DuplicateOrderNo(_) => {
                Err(NetpayError::new(NetpayCode::DupOrder, duplicate(&order_no)))
            }
            OrderCreateOutcome::DuplicateQrCode(code) => Err(NetpayError::new(
                NetpayCode::DupOrder,
                format!(
                    "qrCodeId {code} is already a QR code: bind a new bill to it with \
                     bills.updateQRCode, or send another qrCodeId"
                ),
            )),
            OrderCreateOutcome::NonceReplayed => Err(replayed(&nonce_text).into()),
        }
    }

    /// Closes the unpaid `order`, spending the request's nonce with it.
    pub async fn close(&mut self, sandbox: &Sandbox, order: &Order) -> Result<Order, NetpayError> {
        let (nonce, nonce_text) = self.take_nonce();
        let outcome = sandbox
            .orders
            .apply(order.id, OrderEvent::Close, Cause::Merchant, nonce)
            .await?;
        match outcome {
            OrderChangeOutcome::Done { order, .. } => Ok(*order),
            other => Err(refused(other, &nonce_text)),
        }
    }

    /// The request's `refundOrderId`, checked; `None` when it sends none.
    pub fn refund_order_id(&self) -> Result<Option<String>, NetpayError> {
        match self.optional("refundOrderId")? {
            Some(_) => Ok(Some(self.order_no("refundOrderId", 32)?.to_owned())),
            None => Ok(None),
        }
    }

    /// Refunds `amount` fen of `order` under `refund_order_id`: the refund made now, or
    /// the one already made under that number for that amount (not made twice). Without
    /// a number the platform makes one up (the order number's source number, the time and
    /// random digits), which only a first refund of the order may do. A partial refund
    /// of a split bill names its `share` (whose total is `amount`).
    pub async fn refund(
        &mut self,
        sandbox: &Sandbox,
        order: &Order,
        refund_order_id: Option<String>,
        amount: i64,
        share: Option<ShareRefund>,
    ) -> Result<(Order, Refund), NetpayError> {
        let generated = refund_order_id.is_none();
        let refund_order_id = refund_order_id.unwrap_or_else(|| {
            order_fields::generate_order_no(
                &order_fields::source_number(&order.order_no),
                sandbox.now(),
            )
        });
        let (nonce, nonce_text) = self.take_nonce();
        let event = match share {
            None => OrderEvent::Refund {
                refund_order_id,
                amount: Some(amount),
                generated,
            },
            Some(share) => OrderEvent::SplitRefund {
                refund_order_id,
                share,
                generated,
            },
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
