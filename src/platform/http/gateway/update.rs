//! `bills.updateQRCode` (spec V3.5 §4, reference §3.5): binds new bill data to a QR code
//! that is already a code, made by `bills.getQRCode` with the platform's or the
//! merchant's own `qrCodeId`; a printed code serves one bill after another.
//!
//! The new bill is the request's data alone (`billNo`, `billDate`, `totalAmount`,
//! `billDesc`, `memberId`, `counterNo`, `goods`, `expireTime`, `notifyUrl`, `returnUrl`),
//! checked as `bills.getQRCode` checks them; the code keeps its id and URL. The code's
//! bill, if still unpaid, is closed, and the code holds the new one, all in one
//! transaction (see [`crate::platform::payments::codes`]). Refused, with nothing
//! changed:
//!
//! - `NO_ORDER`: no such code among the source's merchants' codes;
//! - `OPERATION_NOT_ALLOWED`: the call's `mid`, `instMid` or `msgSrc` is not the code's
//!   (the spec's rule: they must match the code's original data);
//! - `DUP_ORDER`: the `billNo` is the code's own bill's (the spec: a new `billNo` must
//!   differ from the code's), or any other bill's of the merchant;
//! - `BAD_REQUEST`: a field is missing or malformed, as for `bills.getQRCode`. The spec's
//!   request also lists `billStatus`, without saying what it does: it is read (one of
//!   `PAID`, `UNPAID`, `REFUND`, `CLOSED`) and otherwise ignored, as a new bill is
//!   unpaid.

use crate::platform::http::gateway::operations::{request, Answered};
use crate::platform::http::gateway::Call;
use crate::platform::http::open::netpay::bill_terms::bill_terms;
use crate::platform::http::open::netpay::bills::bill_fields;
use crate::platform::http::open::netpay::{NetpayCode, NetpayError};
use crate::platform::payments::codes::Rebound;
use crate::platform::payments::order::{OrderState, Product};

pub(super) async fn update_qr_code(call: &Call<'_>) -> Result<Answered, NetpayError> {
    let request = request(call)?;
    let qr_code = request.required("qrCodeId")?.to_owned();
    let msg_src = call.message.text("msgSrc").unwrap_or_default();
    let no_such = || {
        NetpayError::new(
            NetpayCode::NoOrder,
            format!("no QR code {qr_code} of message source {msg_src}"),
        )
    };
    if super::fixed::of_source(call.sandbox, call.source, &qr_code)
        .await?
        .is_some()
    {
        return Err(NetpayError::new(
            NetpayCode::OperationNotAllowed,
            format!(
                "QR code {qr_code} is a fixed code: every scan makes its own bill, so no bill \
                 is bound to it; close it and make another to change it"
            ),
        ));
    }
    let code = call
        .sandbox
        .orders
        .store
        .code(&qr_code)
        .await?
        .filter(|code| call.source.iter().any(|m| m.mid == code.mid))
        .ok_or_else(no_such)?;
    let merchant = &request.caller.merchant;
    let sent = [
        ("mid", &code.mid, merchant.mid.as_str()),
        ("instMid", &code.inst_mid, request.required("instMid")?),
        ("msgSrc", &code.msg_src, msg_src),
    ];
    if let Some((name, its, received)) = sent.into_iter().find(|(_, its, got)| its != got) {
        return Err(NetpayError::new(
            NetpayCode::OperationNotAllowed,
            format!(
                "QR code {qr_code} was made for {name} {its}; received {name} {received}: a \
                 code takes new bills only with its own mid, instMid and msgSrc"
            ),
        ));
    }
    if let Some(status) = request.optional("billStatus")? {
        OrderState::from_wire(Product::Bill, status)
            .map_err(|e| NetpayError::bad(format!("billStatus: {e}")))?;
    }
    if request.optional("billNo")?.is_none() {
        return Err(NetpayError::bad(
            "billNo is required: bills.updateQRCode binds a one-time bill (billNo, billDate \
             and totalAmount) to a code",
        ));
    }
    let terms = bill_terms(call.sandbox, &request, false)?;
    let notify = request.notify(call.sandbox)?;
    let own_notify = request.optional("notifyUrl")?.is_some();
    let outcome = call
        .sandbox
        .orders
        .rebind_code(&qr_code, merchant, terms, notify, own_notify)
        .await?;
    match outcome {
        Rebound::Done {
            order,
            previous,
            closed,
            ..
        } => {
            tracing::info!(mid = %order.mid, qr_code_id = %qr_code, bill_no = %order.order_no,
                previous = %previous.order_no, previous_status = previous.status(),
                "a QR code took a new bill");
            let text = if closed {
                "更新二维码成功 (QR code updated; the unpaid bill it held is closed)"
            } else {
                "更新二维码成功 (QR code updated)"
            };
            Ok((text, bill_fields(&order)))
        }
        Rebound::NoCode => Err(no_such()),
        Rebound::DuplicateOrderNo(existing) => {
            let message = if existing.id == code.order_id {
                format!(
                    "账单号重复: billNo {} is the bill QR code {qr_code} holds now; \
                     updateQRCode binds a new bill, with a billNo of its own",
                    existing.order_no
                )
            } else {
                format!(
                    "账单号重复: billNo {} was already used; query it with bills.query",
                    existing.order_no
                )
            };
            Err(NetpayError::new(NetpayCode::DupOrder, message))
        }
    }
}
