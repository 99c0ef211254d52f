//! Fixed QR codes through the gateway (spec §3.4): `bills.getQRCode` without `billNo`
//! and `billDate` makes one, with `totalAmount` (带金额) or without (不带金额, the amount
//! then comes from the merchant's `payInfoQueryAddr` or the buyer); `bills.closeQRCode`
//! closes it and `bills.queryQRCodeInfo` reads it. The rules of a scan are in
//! [`crate::platform::payments::fixed`].

use serde_json::Map;

use crate::platform::http::gateway::operations::Answered;
use crate::platform::http::open::netpay::bill_terms::bill_data;
use crate::platform::http::open::netpay::{put, NetpayCode, NetpayError, Request};
use crate::platform::payments::bill::{code_url, platform_code_id};
use crate::platform::payments::fixed::FixedCode;
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::fields;
use crate::platform::wire::time::format_cst;

/// Makes the fixed code `request` asks for: it has no `billNo`, and so no `billDate`.
pub async fn create(sandbox: &Sandbox, request: &Request) -> Result<Answered, NetpayError> {
    if request.optional("billDate")?.is_some() {
        return Err(NetpayError::bad(
            "billDate goes with billNo: a one-time code has both, a fixed code neither; \
             received a billDate without a billNo",
        ));
    }
    if request.optional("secureTransaction")? == Some("true") {
        return Err(NetpayError::bad(
            "secureTransaction true is for one-time codes here: the sandbox does not simulate \
             guarantee fixed codes; send a billNo, billDate and totalAmount",
        ));
    }
    let total_amount = request.optional_amount("totalAmount")?;
    let description = request.description("billDesc")?;
    let pay_info_query_addr = match request.optional("payInfoQueryAddr")? {
        None => None,
        Some(url) => {
            if url.chars().count() > 255 {
                return Err(NetpayError::bad(
                    "payInfoQueryAddr has at most 255 characters",
                ));
            }
            fields::notify_target(url).map_err(|e| {
                NetpayError::bad(e.message.replace("notifyUrl", "payInfoQueryAddr"))
            })?;
            sandbox
                .producer
                .egress
                .admit_url(url)
                .map_err(|refused| NetpayError::bad(format!("payInfoQueryAddr: {refused}")))?;
            Some(url.to_owned())
        }
    };
    request.no_split("a fixed code")?;
    let bill = bill_data(request, true)?;
    let now = sandbox.now();
    let merchant = &request.caller.merchant;
    let qr_code_id = bill
        .qr_code_id
        .unwrap_or_else(|| platform_code_id(&merchant.msg_src_id, now));
    let code = FixedCode {
        qr_code_url: code_url(sandbox.orders.code_base(), &qr_code_id),
        qr_code_id,
        mid: merchant.mid.clone(),
        tid: request.required("tid")?.to_owned(),
        inst_mid: request.required("instMid")?.to_owned(),
        msg_src: merchant.msg_src.clone(),
        total_amount,
        description,
        notify: request.notify(sandbox)?,
        own_notify: request.optional("notifyUrl")?.is_some(),
        pay_info_query_addr,
        member_id: bill.member_id,
        counter_no: bill.counter_no,
        return_url: bill.return_url,
        system_id: request.optional("systemId")?.map(str::to_owned),
        src_reserve: request.optional("srcReserve")?.map(str::to_owned),
        expires_at: request.expiry(now)?,
        closed_at: None,
        created_at: now,
    };
    if !sandbox.orders.store.create_fixed_code(&code).await? {
        return Err(NetpayError::new(
            NetpayCode::DupOrder,
            format!("qrCodeId {} is already a code", code.qr_code_id),
        ));
    }
    tracing::info!(mid = %code.mid, qr_code_id = %code.qr_code_id, amount = ?code.total_amount, "fixed code made through the gateway");
    Ok(("查询二维码成功", code_fields(&code)))
}

/// The fields every answer about a fixed code carries.
fn code_fields(code: &FixedCode) -> Map<String, serde_json::Value> {
    let mut fields = Map::new();
    put(&mut fields, "mid", code.mid.as_str());
    put(&mut fields, "tid", code.tid.as_str());
    put(&mut fields, "instMid", code.inst_mid.as_str());
    put(&mut fields, "qrCodeId", code.qr_code_id.as_str());
    put(&mut fields, "billQRCode", code.qr_code_url.as_str());
    fields
}

/// Closes fixed code `code`: no scan pays it any more.
pub async fn close(sandbox: &Sandbox, code: &FixedCode) -> Result<Answered, NetpayError> {
    let closed = sandbox
        .orders
        .store
        .close_fixed_code(&code.qr_code_id, sandbox.now())
        .await?
        .ok_or_else(|| {
            NetpayError::new(
                NetpayCode::OperationNotAllowed,
                format!("fixed code {} is closed already", code.qr_code_id),
            )
        })?;
    Ok(("关闭二维码成功 (QR code closed)", code_fields(&closed)))
}

/// The static data of fixed code `code` (`bills.queryQRCodeInfo`): no `billNo` or
/// `billDate`, and `totalAmount` only when the code has one.
pub fn info(code: &FixedCode, merchant_name: &str) -> Answered {
    let mut fields = code_fields(code);
    let url = fields.remove("billQRCode").unwrap_or_default();
    put(&mut fields, "qrCodeUrl", url);
    put(&mut fields, "merName", merchant_name);
    if let Some(amount) = code.total_amount {
        put(&mut fields, "totalAmount", amount);
    }
    if !code.description.is_empty() {
        put(&mut fields, "billDesc", code.description.as_str());
    }
    if let Some(at) = code.expires_at {
        put(&mut fields, "expireTime", format_cst(at));
    }
    if code.own_notify {
        put(&mut fields, "notifyUrl", code.notify.url.as_str());
    }
    for (name, value) in [
        ("returnUrl", &code.return_url),
        ("memberId", &code.member_id),
        ("counterNo", &code.counter_no),
    ] {
        if let Some(value) = value {
            put(&mut fields, name, value.as_str());
        }
    }
    ("查询二维码信息成功 (QR code found)", fields)
}

/// Whether `request`'s call is about fixed code `qr_code`, of a merchant the source
/// serves: the code, if so.
pub async fn of_source(
    sandbox: &Sandbox,
    source: &[crate::platform::merchants::Merchant],
    qr_code: &str,
) -> Result<Option<FixedCode>, NetpayError> {
    Ok(sandbox
        .orders
        .store
        .fixed_code(qr_code)
        .await?
        .filter(|code| source.iter().any(|m| m.mid == code.mid)))
}
