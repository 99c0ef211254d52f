//! C-scans-B QR bills (C扫B 动态码): `POST /v1/netpay/bills/get-qrcode` (create a bill
//! and its QR code, the platform's or the merchant's own `qrCodeId`), `…/bills/query`
//! (its state, and a refund's with `refundOrderId`), `…/bills/refund` and
//! `…/bills/close-qrcode` (the bill the code holds now).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{json, Map, Value};

use crate::platform::http::open::netpay::bill_terms::{bill_terms, check_bill_date};
use crate::platform::http::open::netpay::guarantee::put_guarantee;
use crate::platform::http::open::netpay::{
    answer, put, put_refund, NetpayCode, NetpayError, NetpayErrors, NetpayResult, Request,
};
use crate::platform::payments::fields::order_no_max;
use crate::platform::payments::notice::{payment_order_id, BillPayment};
use crate::platform::payments::order::{Order, Product, Refund};
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::time::format_cst;

/// The fields every bill answer carries.
pub fn bill_fields(order: &Order) -> Map<String, Value> {
    let mut fields = Map::new();
    put(&mut fields, "mid", order.mid.as_str());
    put(&mut fields, "tid", order.tid.as_str());
    put(&mut fields, "instMid", order.inst_mid.as_str());
    put(&mut fields, "billNo", order.order_no.as_str());
    put(&mut fields, "billDate", order.bill_date.as_str());
    put(
        &mut fields,
        "qrCodeId",
        order.qr_code_id().unwrap_or_default(),
    );
    put(
        &mut fields,
        "billQRCode",
        order.bill_qr_code().unwrap_or_default(),
    );
    fields
}

/// The fields a bill echoes (`memberId`, `counterNo`), where it has them.
pub fn put_echoed(fields: &mut Map<String, Value>, order: &Order) {
    let Some(bill) = &order.bill else { return };
    for (name, value) in [
        ("memberId", &bill.member_id),
        ("counterNo", &bill.counter_no),
    ] {
        if let Some(value) = value {
            put(fields, name, value.as_str());
        }
    }
}

/// The bill `billNo` of `billDate`. The spec lets `billNo` be the payment's
/// `merOrderId` too (SPEC §3.7, §3.8): the bill number and an attempt digit `0`, as the
/// notice's `billPayment` carries it, so a number no bill has is tried without it.
async fn bill(request: &Request, sandbox: &Sandbox) -> Result<Order, NetpayError> {
    let bill_no = request.order_no("billNo", order_no_max(Product::Bill) + 1)?;
    let bill_date = request.required("billDate")?;
    check_bill_date(bill_date)?;
    let order = match request.order(sandbox, Product::Bill, bill_no).await {
        Err(NetpayError::Refused {
            code: NetpayCode::NoOrder,
            message,
        }) => {
            let no_such = || NetpayError::new(NetpayCode::NoOrder, message.clone());
            let number = bill_no
                .strip_suffix('0')
                .filter(|n| !n.is_empty())
                .ok_or_else(no_such)?;
            request
                .order(sandbox, Product::Bill, number)
                .await
                .map_err(|_| no_such())?
        }
        other => other?,
    };
    if order.bill_date != bill_date {
        return Err(NetpayError::new(
            NetpayCode::NoOrder,
            format!("bill {bill_no} is not of billDate {bill_date}"),
        ));
    }
    Ok(order)
}

/// Create a QR bill: its `billQRCode` for the buyer to scan.
#[utoipa::path(post, path = "/v1/netpay/bills/get-qrcode", tag = "netpay",
    responses(
        (status = 200, description = "Read `errCode`: `SUCCESS` with `billQRCode`, or an error name"),
        NetpayErrors,
    ),
    security(("open_access_token" = []), ("open_body_sig" = [])))]
pub async fn get_qrcode(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> NetpayResult {
    let mut request = Request::read(&sandbox, &headers, &body).await?;
    let order = create(&sandbox, &mut request).await?;
    let mut fields = bill_fields(&order);
    request.echo(&mut fields);
    answer(&sandbox, "QR code created", fields)
}

/// Creates the bill a `get-qrcode` request (or the gateway's `bills.getQRCode`) asks for,
/// on the merchant's own `qrCodeId` if it sends one.
pub async fn create(sandbox: &Sandbox, request: &mut Request) -> Result<Order, NetpayError> {
    let terms = bill_terms(sandbox, request, true)?;
    request
        .create(sandbox, terms, sandbox.now(), |no| {
            format!("账单号重复: billNo {no} was already used; query it with bills/query")
        })
        .await
}

/// The `billPayment` object of a paid bill: the same fields as in its notice.
fn bill_payment(order: &Order) -> Option<Value> {
    let payment = order.payment.as_ref()?;
    serde_json::to_value(BillPayment::of(order, payment)).ok()
}

/// The `refundBillPayment` object of one refund.
fn refund_bill_payment(order: &Order, refund: &Refund) -> Value {
    json!({
        "merOrderId": refund.refund_order_id,
        "totalAmount": refund.amount,
        "payTime": format_cst(refund.created_at),
        "targetOrderId": refund.target_order_id,
        "targetSys": order.payment.as_ref().map(|p| p.target_sys.as_str()).unwrap_or_default(),
        "status": "TRADE_SUCCESS",
        "billBizType": "bills",
    })
}

/// Query a bill: its `billStatus` and payment, and with `refundOrderId` that refund.
#[utoipa::path(post, path = "/v1/netpay/bills/query", tag = "netpay",
    responses(
        (status = 200, description = "Read `errCode`, then `billStatus`"),
        NetpayErrors,
    ),
    security(("open_access_token" = []), ("open_body_sig" = [])))]
pub async fn query(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> NetpayResult {
    let mut request = Request::read(&sandbox, &headers, &body).await?;
    let mut fields = query_fields(&sandbox, &mut request).await?;
    request.echo(&mut fields);
    answer(&sandbox, "query succeeded", fields)
}

/// What a bill query answers: the bill named by `billNo` and `billDate`, its payment, and
/// with `refundOrderId` that refund.
pub async fn query_fields(
    sandbox: &Sandbox,
    request: &mut Request,
) -> Result<Map<String, Value>, NetpayError> {
    let order = bill(request, sandbox).await?;
    let refund_order_id = request.optional("refundOrderId")?.map(str::to_owned);
    let mut fields = bill_fields(&order);
    put(&mut fields, "billStatus", order.status());
    // An empty value is not sent (spec V3.4).
    if !order.description.is_empty() {
        put(&mut fields, "billDesc", order.description.as_str());
    }
    put(&mut fields, "totalAmount", order.total_amount);
    put(&mut fields, "createTime", format_cst(order.created_at));
    put_echoed(&mut fields, &order);
    put(
        &mut fields,
        "merName",
        request.caller.merchant.name.as_str(),
    );
    if let Some(payment) = bill_payment(&order) {
        put(&mut fields, "billPayment", payment);
    }
    put_guarantee(&mut fields, &order);
    if let Some(refund_order_id) = refund_order_id {
        let refunds = sandbox.orders.store.refunds(order.id).await?;
        let refund = refunds
            .iter()
            .find(|r| r.refund_order_id == refund_order_id)
            .ok_or_else(|| {
                NetpayError::new(
                    NetpayCode::NoOrder,
                    format!("bill {} has no refund {refund_order_id}", order.order_no),
                )
            })?;
        put(
            &mut fields,
            "refundBillPayment",
            refund_bill_payment(&order, refund),
        );
    }
    request.spend_nonce(sandbox).await?;
    Ok(fields)
}

/// Refund part or all of a paid bill. `refundOrderId` is generated when left out, which
/// only a first refund may do; a repeated one answers the refund already made.
#[utoipa::path(post, path = "/v1/netpay/bills/refund", tag = "netpay",
    responses(
        (status = 200, description = "Read `errCode`, then `refundStatus`"),
        NetpayErrors,
    ),
    security(("open_access_token" = []), ("open_body_sig" = [])))]
pub async fn refund(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> NetpayResult {
    let mut request = Request::read(&sandbox, &headers, &body).await?;
    let mut fields = refund_fields(&sandbox, &mut request).await?;
    request.echo(&mut fields);
    answer(&sandbox, "refund succeeded", fields)
}

/// Refunds the bill named by `billNo` and `billDate` as a refund request asks (of a split
/// bill: in full, or one sub-merchant's part and the platform's); what it answers.
pub async fn refund_fields(
    sandbox: &Sandbox,
    request: &mut Request,
) -> Result<Map<String, Value>, NetpayError> {
    let order = bill(request, sandbox).await?;
    let amount = request.amount("refundAmount")?;
    let refund_order_id = request.refund_order_id()?;
    let share = request.share_refund(amount)?;
    let (order, refund) = request
        .refund(sandbox, &order, refund_order_id, amount, share)
        .await?;
    let mut fields = bill_fields(&order);
    put(&mut fields, "billStatus", order.status());
    put(&mut fields, "totalAmount", order.total_amount);
    if order.payment.is_some() {
        put(&mut fields, "merOrderId", payment_order_id(&order));
    }
    put_refund(&mut fields, &refund);
    Ok(fields)
}

/// Close an unpaid bill's QR code, by `qrCodeId`.
#[utoipa::path(post, path = "/v1/netpay/bills/close-qrcode", tag = "netpay",
    responses(
        (status = 200, description = "Read `errCode`"),
        NetpayErrors,
    ),
    security(("open_access_token" = []), ("open_body_sig" = [])))]
pub async fn close_qrcode(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> NetpayResult {
    let mut request = Request::read(&sandbox, &headers, &body).await?;
    let qr_code = request.required("qrCodeId")?.to_owned();
    let order = bill_of_qr_code(&sandbox, &request.caller.merchant.mid, &qr_code).await?;
    let order = request.close(&sandbox, &order).await?;
    let mut fields = bill_fields(&order);
    put(&mut fields, "billStatus", order.status());
    request.echo(&mut fields);
    answer(&sandbox, "QR code closed", fields)
}

/// The bill QR code `qr_code` of merchant `mid` holds now, or `NO_ORDER`.
pub async fn bill_of_qr_code(
    sandbox: &Sandbox,
    mid: &str,
    qr_code: &str,
) -> Result<Order, NetpayError> {
    sandbox
        .orders
        .store
        .bill_of_code(qr_code)
        .await?
        .map(|(_, order)| order)
        .filter(|o| o.mid == mid)
        .ok_or_else(|| {
            NetpayError::new(
                NetpayCode::NoOrder,
                format!("no QR code {qr_code} of merchant {mid}"),
            )
        })
}
