//! The terms of a new QR bill as a request states them, shared by the open-platform
//! `bills/get-qrcode`, the gateway's `bills.getQRCode` and its `bills.updateQRCode`: the
//! bill's number, date, amount, description and expiry, and what the bill echoes or
//! sends the buyer back to (`memberId`, `counterNo`, `goods`, `returnUrl`), with the
//! merchant's own `qrCodeId` and a split bill's plan (`divisionFlag`, [`super::split`])
//! where a new code is made.

use serde_json::Value;

use crate::platform::http::open::netpay::{NetpayError, Request};
use crate::platform::payments::bill::{self, BillTerms, ECHO_MAX_CHARS};
use crate::platform::payments::fields::order_no_max;
use crate::platform::payments::order::Product;
use crate::platform::payments::service::OrderTerms;
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::fields;

/// A bill's `billDate`: `yyyy-MM-dd`.
pub fn check_bill_date(date: &str) -> Result<(), NetpayError> {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .filter(|_| date.len() == 10)
        .map(drop)
        .ok_or_else(|| NetpayError::bad(format!("billDate {date:?} is not yyyy-MM-dd")))
}

/// The terms of the bill `request` asks for: `billNo`, `billDate`, `totalAmount`, and the
/// optional `billDesc`, `expireTime` and [`bill_data`]. With `own_code`, the request's
/// `qrCodeId` is the merchant's own code for it (`bills.getQRCode`); without, the
/// request's `qrCodeId` names the code the bill is bound to and is not read here.
pub fn bill_terms(
    sandbox: &Sandbox,
    request: &Request,
    own_code: bool,
) -> Result<OrderTerms, NetpayError> {
    let bill_no = request
        .order_no("billNo", order_no_max(Product::Bill))?
        .to_owned();
    let bill_date = request.required("billDate")?.to_owned();
    check_bill_date(&bill_date)?;
    let total_amount = request.amount("totalAmount")?;
    let description = request.description("billDesc")?;
    let guarantee = request.secure_transaction()?;
    let mut bill = bill_data(request, own_code)?;
    if own_code {
        bill.split = request.split_plan(total_amount)?;
    } else {
        request.no_split("bills.updateQRCode (its fields have no split, spec §4)")?;
    }
    Ok(OrderTerms {
        bill_date,
        guarantee,
        bill: Some(bill),
        ..request.terms(
            Product::Bill,
            &bill_no,
            total_amount,
            description,
            sandbox.now(),
        )?
    })
}

/// The request's `memberId`, `counterNo`, `goods` and `returnUrl`, and with `own_code`
/// its `qrCodeId` (at most 32 characters, starting with the merchant's msgSrcId).
pub fn bill_data(request: &Request, own_code: bool) -> Result<BillTerms, NetpayError> {
    let qr_code_id = match request.optional("qrCodeId")? {
        Some(_) if own_code => Some(request.order_no("qrCodeId", ECHO_MAX_CHARS)?.to_owned()),
        _ => None,
    };
    let echoed = |name: &str| -> Result<Option<String>, NetpayError> {
        let Some(value) = request.optional(name)? else {
            return Ok(None);
        };
        bill::echoed(name, value).map_err(NetpayError::bad)?;
        Ok(Some(value.to_owned()))
    };
    let goods = match request.fields.get("goods") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.is_empty() => None,
        Some(value) => Some(bill::goods(value).map_err(NetpayError::bad)?),
    };
    let return_url = match request.optional("returnUrl")? {
        Some(url) => {
            fields::notify_target(url)
                .map_err(|e| NetpayError::bad(e.message.replace("notifyUrl", "returnUrl")))?;
            Some(url.to_owned())
        }
        None => None,
    };
    Ok(BillTerms {
        qr_code_id,
        member_id: echoed("memberId")?,
        counter_no: echoed("counterNo")?,
        goods,
        return_url,
        split: None,
    })
}
