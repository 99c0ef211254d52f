//! The gateway's operations, by `msgType`: each reads its call into the netpay
//! [`Request`] and hands it to the same bill code the open-platform bills API runs
//! ([`crate::platform::http::open::netpay::bills`]), so a bill is one bill whichever
//! door it came through.

use serde_json::{Map, Value};

use crate::platform::http::gateway::Call;
use crate::platform::http::open::authn::Caller;
use crate::platform::http::open::netpay::bills::{
    self, bill_fields, bill_of_qr_code, put_echoed, refund_fields,
};
use crate::platform::http::open::netpay::{put, put_refund, NetpayCode, NetpayError, Request};
use crate::platform::payments::fields as order_fields;
use crate::platform::payments::order::{Order, OrderState};
use crate::platform::wire::time::format_cst;

/// An operation of the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    GetQrCode,
    UpdateQrCode,
    Query,
    Refund,
    CloseQrCode,
    QueryQrCodeInfo,
    QueryLastQrCode,
    SecureCancel,
    SecureComplete,
}

/// Every operation under its `msgType`.
const TABLE: [(&str, Operation); 9] = [
    ("bills.getQRCode", Operation::GetQrCode),
    ("bills.updateQRCode", Operation::UpdateQrCode),
    ("bills.query", Operation::Query),
    ("bills.refund", Operation::Refund),
    ("bills.closeQRCode", Operation::CloseQrCode),
    ("bills.queryQRCodeInfo", Operation::QueryQrCodeInfo),
    ("bills.queryLastQRCode", Operation::QueryLastQrCode),
    ("secureCancel", Operation::SecureCancel),
    ("secureComplete", Operation::SecureComplete),
];

/// An answer's message and fields.
pub(super) type Answered = (&'static str, Map<String, Value>);

impl Operation {
    /// The operation of `msg_type`; exact and case-sensitive, as the spec writes them.
    pub fn of(msg_type: &str) -> Option<Self> {
        TABLE
            .iter()
            .find(|(name, _)| *name == msg_type)
            .map(|(_, operation)| *operation)
    }

    /// Every `msgType` served.
    pub fn names() -> Vec<&'static str> {
        TABLE.iter().map(|(name, _)| *name).collect()
    }

    pub async fn run(self, call: &Call<'_>) -> Result<Answered, NetpayError> {
        match self {
            Self::GetQrCode => get_qr_code(call).await,
            Self::UpdateQrCode => super::update::update_qr_code(call).await,
            Self::Query => {
                let mut request = request(call)?;
                let fields = bills::query_fields(call.sandbox, &mut request).await?;
                Ok(("查询成功 (query succeeded)", fields))
            }
            Self::Refund => {
                let mut request = request(call)?;
                let fields = refund_fields(call.sandbox, &mut request).await?;
                Ok(("退款成功 (refund succeeded)", fields))
            }
            Self::CloseQrCode => close_qr_code(call).await,
            Self::QueryQrCodeInfo => query_qr_code_info(call).await,
            Self::QueryLastQrCode => query_last_qr_code(call).await,
            Self::SecureCancel => super::secure::secure_cancel(call).await,
            Self::SecureComplete => super::secure::secure_complete(call).await,
        }
    }
}

/// The call as a netpay request of the merchant its `mid` names, with the checks every
/// netpay request has (`requestTimestamp`, `tid`, `instMid`).
pub(super) fn request(call: &Call<'_>) -> Result<Request, NetpayError> {
    let caller = caller(call, required(call, "mid")?)?;
    Request::of_fields(call.sandbox, caller, call.message.fields.clone())
}

/// The merchant `mid` of the call's source, as a caller without a nonce: the gateway's
/// calls carry none.
fn caller(call: &Call<'_>, mid: &str) -> Result<Caller, NetpayError> {
    Ok(Caller {
        merchant: call.merchant(mid)?.clone(),
        nonce: None,
    })
}

fn required<'c>(call: &'c Call<'_>, name: &str) -> Result<&'c str, NetpayError> {
    call.message
        .text(name)
        .ok_or_else(|| NetpayError::bad(format!("{name} is required")))
}

/// `bills.getQRCode` (spec §3): a one-time code, the bill of `billNo`, `billDate` and
/// `totalAmount`; or without `billNo` a fixed code ([`super::fixed`]).
async fn get_qr_code(call: &Call<'_>) -> Result<Answered, NetpayError> {
    let mut request = request(call)?;
    if request.optional("billNo")?.is_none() {
        return super::fixed::create(call.sandbox, &request).await;
    }
    let order = bills::create(call.sandbox, &mut request).await?;
    // The platform's own wording, as its genuine answer has it.
    Ok(("查询二维码成功", bill_fields(&order)))
}

/// `bills.closeQRCode` (spec §5): an unpaid code is closed; with `attachRefund` true a
/// paid one is refunded in full instead, as closing a one-time code that was paid means.
async fn close_qr_code(call: &Call<'_>) -> Result<Answered, NetpayError> {
    let mut request = request(call)?;
    let qr_code = request.required("qrCodeId")?.to_owned();
    let attach_refund = match request.optional("attachRefund")? {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(NetpayError::bad(format!(
                "attachRefund must be true or false; received {other:?}"
            )))
        }
    };
    let mid = request.caller.merchant.mid.clone();
    if let Some(code) = super::fixed::of_source(call.sandbox, call.source, &qr_code).await? {
        if code.mid == mid {
            return super::fixed::close(call.sandbox, &code).await;
        }
    }
    let order = bill_of_qr_code(call.sandbox, &mid, &qr_code).await?;
    let refundable = order.refundable();
    if attach_refund && refundable > 0 {
        // The refund is the platform's own, part of the close: numbered by the platform,
        // it is no merchant's first refund without a number.
        let number = order_fields::generate_order_no(
            &order_fields::source_number(&order.order_no),
            call.sandbox.now(),
        );
        let (order, refund) = request
            .refund(call.sandbox, &order, Some(number), refundable, None)
            .await?;
        let mut fields = bill_fields(&order);
        put(&mut fields, "billStatus", order.status());
        put_refund(&mut fields, &refund);
        return Ok(("关闭二维码成功, 已退款 (closed and refunded)", fields));
    }
    let order = request.close(call.sandbox, &order).await?;
    let mut fields = bill_fields(&order);
    put(&mut fields, "billStatus", order.status());
    Ok(("关闭二维码成功 (QR code closed)", fields))
}

/// The fields of a code's static data (`bills.queryQRCodeInfo`, `bills.queryLastQRCode`):
/// the code's address is `qrCodeUrl` here, not `billQRCode`.
fn code_info(order: &Order, merchant_name: &str) -> Map<String, Value> {
    let mut fields = bill_fields(order);
    let url = fields.remove("billQRCode").unwrap_or_default();
    put(&mut fields, "qrCodeUrl", url);
    put(&mut fields, "totalAmount", order.total_amount);
    put(&mut fields, "billStatus", order.status());
    put(&mut fields, "merName", merchant_name);
    if !order.description.is_empty() {
        put(&mut fields, "billDesc", order.description.as_str());
    }
    if order.state == OrderState::Unpaid {
        put(&mut fields, "expireTime", format_cst(order.expires_at));
    }
    if order.own_notify {
        put(&mut fields, "notifyUrl", order.notify.url.as_str());
    }
    if let Some(url) = order.return_url() {
        put(&mut fields, "returnUrl", url);
    }
    put_echoed(&mut fields, order);
    let goods = order.bill.as_ref().and_then(|b| b.goods.as_deref());
    if let Some(goods) = goods.and_then(|text| serde_json::from_str::<Value>(text).ok()) {
        put(&mut fields, "goods", goods);
    }
    fields
}

/// `bills.queryQRCodeInfo` (spec §8): a code's static data, by `qrCodeId`. The call has
/// no `tid` and no `instMid`, and `mid` is optional: the code names its merchant, which
/// must be one the source serves.
async fn query_qr_code_info(call: &Call<'_>) -> Result<Answered, NetpayError> {
    let qr_code = required(call, "qrCodeId")?;
    let no_such = || NetpayError::new(NetpayCode::NoOrder, format!("no QR code {qr_code}"));
    if let Some(code) = super::fixed::of_source(call.sandbox, call.source, qr_code).await? {
        if call.message.text("mid").is_some_and(|mid| mid != code.mid) {
            return Err(no_such());
        }
        let request = Request {
            caller: caller(call, &code.mid)?,
            fields: call.message.fields.clone(),
        };
        request.check_time(call.sandbox)?;
        return Ok(super::fixed::info(&code, &request.caller.merchant.name));
    }
    let order = call.sandbox.orders.store.bill_of_code(qr_code).await?;
    let (_, order) = order
        .filter(|(code, _)| call.source.iter().any(|m| m.mid == code.mid))
        .ok_or_else(no_such)?;
    if let Some(mid) = call.message.text("mid") {
        if mid != order.mid {
            return Err(no_such());
        }
    }
    let request = Request {
        caller: caller(call, &order.mid)?,
        fields: call.message.fields.clone(),
    };
    request.check_time(call.sandbox)?;
    let fields = code_info(&order, &request.caller.merchant.name);
    Ok(("查询二维码信息成功 (QR code found)", fields))
}

/// `bills.queryLastQRCode` (the official demo's; not in spec V3.5): the newest bill of
/// `mid` on terminal `tid`.
async fn query_last_qr_code(call: &Call<'_>) -> Result<Answered, NetpayError> {
    let mid = required(call, "mid")?;
    let request = Request {
        caller: caller(call, mid)?,
        fields: call.message.fields.clone(),
    };
    request.check_time(call.sandbox)?;
    let tid = request.required("tid")?;
    order_fields::tid("tid", tid).map_err(NetpayError::bad)?;
    let order = call
        .sandbox
        .orders
        .store
        .last_bill(mid, tid)
        .await?
        .ok_or_else(|| {
            NetpayError::new(
                NetpayCode::NoOrder,
                format!("terminal {tid} of merchant {mid} has made no bill"),
            )
        })?;
    let fields = code_info(&order, &request.caller.merchant.name);
    Ok(("查询成功 (query succeeded)", fields))
}
