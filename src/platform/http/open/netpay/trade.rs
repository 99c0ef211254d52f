//! H5 / mini-program trade orders (`merOrderId`): `POST /v1/netpay/wx/unified-order`
//! and `…/wx/mini-pre-order` (create a mini-program or JSAPI order), `…/query`,
//! `…/close`, `…/refund` and `…/refund-query`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{json, Map, Value};

use crate::platform::auth::generate_credential;
use crate::platform::http::open::netpay::{
    answer, put, put_refund, NetpayCode, NetpayError, NetpayErrors, NetpayResult, Request,
};
use crate::platform::payments::fields::order_no_max;
use crate::platform::payments::order::{Order, Product};
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::time::format_cst;

/// The `tradeType`s of a unified order.
const TRADE_TYPES: [&str; 2] = ["MINI", "JSAPI"];

/// The fields every trade answer carries.
fn trade_fields(order: &Order) -> Map<String, Value> {
    let mut fields = Map::new();
    put(&mut fields, "mid", order.mid.as_str());
    put(&mut fields, "tid", order.tid.as_str());
    put(&mut fields, "instMid", order.inst_mid.as_str());
    put(&mut fields, "merOrderId", order.order_no.as_str());
    put(&mut fields, "status", order.status());
    put(&mut fields, "totalAmount", order.total_amount);
    fields
}

/// The payment fields of a paid order. The sandbox has no coupons or discounts: the
/// buyer pays the total and the merchant receives it (`receiptAmount`, as in the
/// notice, refunds not deducted).
fn payment_fields(order: &Order, fields: &mut Map<String, Value>) {
    if let Some(payment) = &order.payment {
        put(fields, "buyerPayAmount", order.total_amount);
        put(fields, "invoiceAmount", order.total_amount);
        put(fields, "receiptAmount", order.total_amount);
        put(fields, "couponAmount", 0);
        put(fields, "payTime", format_cst(payment.paid_at));
        put(
            fields,
            "settleDate",
            crate::platform::wire::time::format_wall_clock(payment.paid_at, "%Y-%m-%d"),
        );
        put(fields, "seqId", payment.seq_id.as_str());
        put(fields, "buyerId", payment.buyer_id.as_str());
        put(fields, "targetOrderId", payment.target_order_id.as_str());
        put(fields, "targetSys", payment.target_sys.as_str());
    }
}

async fn trade_order(request: &Request, sandbox: &Sandbox) -> Result<Order, NetpayError> {
    let no = request.order_no("merOrderId", order_no_max(Product::Trade))?;
    request.order(sandbox, Product::Trade, no).await
}

/// Create a WeChat mini-program (`tradeType` `MINI`) or JSAPI order.
#[utoipa::path(post, path = "/v1/netpay/wx/unified-order", tag = "netpay",
    responses(
        (status = 200, description = "Read `errCode`: `SUCCESS` with `miniPayRequest`, or an error name"),
        NetpayErrors,
    ),
    security(("open_access_token" = []), ("open_body_sig" = [])))]
pub async fn unified_order(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> NetpayResult {
    mini_order(&sandbox, &headers, &body).await
}

/// Create a WeChat mini-program order: the same request and answer as
/// `wx/unified-order`, under the path some clients call.
#[utoipa::path(post, path = "/v1/netpay/wx/mini-pre-order", tag = "netpay",
    responses(
        (status = 200, description = "Read `errCode`: `SUCCESS` with `miniPayRequest`, or an error name"),
        NetpayErrors,
    ),
    security(("open_access_token" = []), ("open_body_sig" = [])))]
pub async fn mini_pre_order(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> NetpayResult {
    mini_order(&sandbox, &headers, &body).await
}

/// A mini-program or JSAPI order, created: the answer carries what the mini-program
/// hands to the wallet (`miniPayRequest`, with `appId` when the request names its
/// `subAppId`).
async fn mini_order(sandbox: &Sandbox, headers: &HeaderMap, body: &[u8]) -> NetpayResult {
    let sandbox = sandbox.clone();
    let mut request = Request::read(&sandbox, headers, body).await?;
    let order_no = request
        .order_no("merOrderId", order_no_max(Product::Trade))?
        .to_owned();
    let total_amount = request.amount("totalAmount")?;
    let app_id = request.optional("subAppId")?.map(str::to_owned);
    let trade_type = request.required("tradeType")?.to_owned();
    if !TRADE_TYPES.contains(&trade_type.as_str()) {
        return Err(NetpayError::bad(format!(
            "tradeType must be one of {}",
            TRADE_TYPES.join(", ")
        )));
    }
    let description = request.description("orderDesc")?;
    let now = sandbox.now();
    let terms = request.terms(Product::Trade, &order_no, total_amount, description, now)?;
    let order = request
        .create(&sandbox, terms, now, |no| {
            format!("merOrderId {no} was already used; query it with /v1/netpay/query")
        })
        .await?;
    let mut fields = trade_fields(&order);
    put(
        &mut fields,
        "merName",
        request.caller.merchant.name.as_str(),
    );
    put(&mut fields, "targetSys", "WXPay");
    let prepay_id = format!("wx{}", generate_credential(30));
    put(&mut fields, "prepayId", prepay_id.as_str());
    // What the mini-program hands to the wallet; the sandbox's is not payable.
    let mut wallet = json!({
        "package": format!("prepay_id={prepay_id}"),
        "timeStamp": sandbox.now().timestamp().to_string(),
        "nonceStr": generate_credential(32),
        "signType": "RSA",
        "paySign": "SANDBOX",
    });
    if let Some(app_id) = app_id {
        wallet["appId"] = app_id.into();
    }
    put(&mut fields, "miniPayRequest", wallet);
    request.echo(&mut fields);
    answer(&sandbox, "order created", fields)
}

/// Query an order: its `status` and payment. The merchant's source of truth.
#[utoipa::path(post, path = "/v1/netpay/query", tag = "netpay",
    responses(
        (status = 200, description = "Read `errCode`, then `status`"),
        NetpayErrors,
    ),
    security(("open_access_token" = []), ("open_body_sig" = [])))]
pub async fn query(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> NetpayResult {
    let mut request = Request::read(&sandbox, &headers, &body).await?;
    let order = trade_order(&request, &sandbox).await?;
    let mut fields = trade_fields(&order);
    put(
        &mut fields,
        "merName",
        request.caller.merchant.name.as_str(),
    );
    put(&mut fields, "refundAmount", order.refunded_amount);
    payment_fields(&order, &mut fields);
    request.spend_nonce(&sandbox).await?;
    request.echo(&mut fields);
    answer(&sandbox, "query succeeded", fields)
}

/// Close an unpaid order.
#[utoipa::path(post, path = "/v1/netpay/close", tag = "netpay",
    responses(
        (status = 200, description = "Read `errCode`, then `status`"),
        NetpayErrors,
    ),
    security(("open_access_token" = []), ("open_body_sig" = [])))]
pub async fn close(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> NetpayResult {
    let mut request = Request::read(&sandbox, &headers, &body).await?;
    let order = trade_order(&request, &sandbox).await?;
    let order = request.close(&sandbox, &order).await?;
    let mut fields = trade_fields(&order);
    request.echo(&mut fields);
    answer(&sandbox, "order closed", fields)
}

/// Refund part or all of a paid order. `refundOrderId` is generated when left out, which
/// only a first refund may do; a repeated one answers the refund already made.
#[utoipa::path(post, path = "/v1/netpay/refund", tag = "netpay",
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
    let order = trade_order(&request, &sandbox).await?;
    let amount = request.amount("refundAmount")?;
    let refund_order_id = request.refund_order_id()?;
    let (order, refund) = request
        .refund(&sandbox, &order, refund_order_id, amount, None)
        .await?;
    let mut fields = trade_fields(&order);
    put_refund(&mut fields, &refund);
    // The platform's serial number and the channel of the payment refunded.
    if let Some(payment) = &order.payment {
        put(&mut fields, "seqId", payment.seq_id.as_str());
        put(&mut fields, "targetSys", payment.target_sys.as_str());
    }
    request.echo(&mut fields);
    answer(&sandbox, "refund succeeded", fields)
}

/// Query a refund of an order: by `refundOrderId`, or its latest refund.
#[utoipa::path(post, path = "/v1/netpay/refund-query", tag = "netpay",
    responses(
        (status = 200, description = "Read `errCode`, then `refundStatus`"),
        NetpayErrors,
    ),
    security(("open_access_token" = []), ("open_body_sig" = [])))]
pub async fn refund_query(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> NetpayResult {
    let mut request = Request::read(&sandbox, &headers, &body).await?;
    let order = trade_order(&request, &sandbox).await?;
    let wanted = request.optional("refundOrderId")?.map(str::to_owned);
    let refunds = sandbox.orders.store.refunds(order.id).await?;
    let refund = match &wanted {
        Some(id) => refunds.iter().find(|r| &r.refund_order_id == id),
        None => refunds.last(),
    }
    .ok_or_else(|| {
        NetpayError::new(
            NetpayCode::NoOrder,
            match &wanted {
                Some(id) => format!("order {} has no refund {id}", order.order_no),
                None => format!("order {} has no refund", order.order_no),
            },
        )
    })?;
    let mut fields = trade_fields(&order);
    put_refund(&mut fields, refund);
    payment_fields(&order, &mut fields);
    request.spend_nonce(&sandbox).await?;
    request.echo(&mut fields);
    answer(&sandbox, "query succeeded", fields)
}
