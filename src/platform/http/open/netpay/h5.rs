//! H5 orders, created by a browser redirect: `GET /v1/netpay/trade/h5-pay` (Alipay),
//! `GET /v1/netpay/wxpay/h5-pay` (WeChat Pay) and `GET /v1/netpay/uac/order` (UnionPay).
//!
//! The merchant's page sends the buyer's browser to one of these URLs with the request in
//! the query, signed `OPEN-FORM-PARAM`: `authorization=OPEN-FORM-PARAM`, `appId`,
//! `timestamp` (`yyyyMMddHHmmss`), `nonce`, `content` (the JSON request) and `signature`,
//! which is the `OPEN-BODY-SIG` signature with `content` as the body. The answer is a
//! `302` to the channel's cashier, here the sandbox's own ([`super::cashier`]), where the
//! buyer pays or cancels and is sent back to `returnUrl`. A refused request is answered
//! in netpay's style (JSON), as the browser would show it.

use axum::extract::{Query, State};
use axum::http::{header::LOCATION, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::platform::auth::generate_credential;
use crate::platform::http::open::authn::BodySignature;
use crate::platform::http::open::error::PlatformError;
use crate::platform::http::open::netpay::{NetpayError, NetpayErrors, Request};
use crate::platform::payments::fields::order_no_max;
use crate::platform::payments::order::{H5Cashier, Product};
use crate::platform::payments::service::OrderTerms;
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::errcode::ErrCode;
use crate::platform::wire::fields;

/// The query of an `OPEN-FORM-PARAM` request.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct FormParams {
    /// `OPEN-FORM-PARAM`.
    authorization: Option<String>,
    app_id: Option<String>,
    /// `yyyyMMddHHmmss`, China Standard Time.
    timestamp: Option<String>,
    nonce: Option<String>,
    /// The request, a JSON object.
    content: Option<String>,
    /// Base64(HMAC-SHA256(appKey, appId + timestamp + nonce + hex(SHA-256(content)))).
    signature: Option<String>,
}

fn malformed(info: impl Into<String>) -> NetpayError {
    PlatformError::new(ErrCode::AuthHeaderMalformed, info).into()
}

/// Creates the order and sends the browser to the cashier of `channel`.
async fn h5_pay(
    sandbox: Sandbox,
    params: FormParams,
    channel: &str,
) -> Result<Response, NetpayError> {
    if params.authorization.as_deref() != Some("OPEN-FORM-PARAM") {
        return Err(PlatformError::new(
            ErrCode::AuthHeaderMissing,
            "send authorization=OPEN-FORM-PARAM with appId, timestamp, nonce, content and signature in the query",
        )
        .into());
    }
    let part = |value: &Option<String>, name: &str| {
        value
            .clone()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| malformed(format!("the query has no {name}")))
    };
    let app_id = part(&params.app_id, "appId")?;
    let timestamp = part(&params.timestamp, "timestamp")?;
    let nonce = part(&params.nonce, "nonce")?;
    let content = part(&params.content, "content")?;
    let signature = part(&params.signature, "signature")?;
    let signed = BodySignature {
        app_id: &app_id,
        timestamp: &timestamp,
        nonce: &nonce,
        signature: &signature,
    };
    let caller = signed
        .caller(&sandbox, content.as_bytes(), ErrCode::AuthHeaderMalformed)
        .await?;
    let mut request = Request::checked(&sandbox, caller, content.as_bytes())?;
    let order_no = request
        .order_no("merOrderId", order_no_max(Product::Trade))?
        .to_owned();
    let total_amount = request.amount("totalAmount")?;
    let description = request.description("orderDesc")?;
    let return_url = match request.optional("returnUrl")? {
        Some(url) => {
            fields::notify_target(url)
                .map_err(|e| NetpayError::bad(e.message.replace("notifyUrl", "returnUrl")))?;
            Some(url.to_owned())
        }
        None => None,
    };
    let now = sandbox.now();
    let token = generate_credential(32);
    let terms = OrderTerms {
        h5: Some(H5Cashier {
            token: token.clone(),
            return_url,
        }),
        ..request.terms(Product::Trade, &order_no, total_amount, description, now)?
    };
    request
        .create(&sandbox, terms, now, |no| {
            format!("merOrderId {no} was already used; query it with /v1/netpay/query")
        })
        .await?;
    let location = format!("/netpay/cashier/{token}?via={channel}");
    Ok((StatusCode::FOUND, [(LOCATION, location)]).into_response())
}

/// Create an Alipay H5 order: a browser redirect to the cashier.
#[utoipa::path(get, path = "/v1/netpay/trade/h5-pay", tag = "netpay", params(FormParams),
    responses(
        (status = 302, description = "Created: to the cashier"),
        (status = 200, description = "Refused: read `errCode`"),
        NetpayErrors,
    ))]
pub async fn alipay(
    State(sandbox): State<Sandbox>,
    Query(params): Query<FormParams>,
) -> Result<Response, NetpayError> {
    h5_pay(sandbox, params, "Alipay").await
}

/// Create a WeChat Pay H5 order: a browser redirect to the cashier.
#[utoipa::path(get, path = "/v1/netpay/wxpay/h5-pay", tag = "netpay", params(FormParams),
    responses(
        (status = 302, description = "Created: to the cashier"),
        (status = 200, description = "Refused: read `errCode`"),
        NetpayErrors,
    ))]
pub async fn wxpay(
    State(sandbox): State<Sandbox>,
    Query(params): Query<FormParams>,
) -> Result<Response, NetpayError> {
    h5_pay(sandbox, params, "WXPay").await
}

/// Create a UnionPay (云闪付) H5 order: a browser redirect to the cashier.
#[utoipa::path(get, path = "/v1/netpay/uac/order", tag = "netpay", params(FormParams),
    responses(
        (status = 302, description = "Created: to the cashier"),
        (status = 200, description = "Refused: read `errCode`"),
        NetpayErrors,
    ))]
pub async fn unionpay(
    State(sandbox): State<Sandbox>,
    Query(params): Query<FormParams>,
) -> Result<Response, NetpayError> {
    h5_pay(sandbox, params, "UnionPay").await
}
