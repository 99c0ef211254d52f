//! A QR bill's page on the sandbox: `GET /bills/qrCode.do?id={qrCodeId}`, the path of
//! every `billQRCode` the sandbox hands out, where a simulated buyer who scanned the code
//! sees the bill the code holds now and pays it (the page the platform builds after a
//! scan, spec V3.5 §19.3, in the frame of the H5 [`super::cashier`]).
//!
//! - `POST /bills/qrCode.do?id=…` (form `billNo`, `via` = `WXPay`, `Alipay` or
//!   `UnionPay`): the buyer pays bill `billNo` of the code through `via`; the payment
//!   sends its notice like any other. The browser goes back to the page (`303`), which
//!   now shows the result.
//! - `GET /bills/qrCode.do/return?id=…&billNo=…`: "return to merchant", offered by the
//!   page when the bill has a `returnUrl` (spec §12): a `303` to the `returnUrl` with the
//!   bill's signed result appended ([`crate::platform::payments::front`]). The page offers
//!   it before paying too, where the result says `UNPAID`: a redirect is no proof of
//!   payment.
//!
//! A code's id is printed in the code, so anyone who has it reaches the page, as anyone
//! who scans a real code reaches the platform's.

use axum::extract::{Query, State};
use axum::http::{header::LOCATION, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::cashier::{channel, frame};
use crate::platform::payments::bill::CODE_PATH;
use crate::platform::payments::events::{Cause, OrderEvent};
use crate::platform::payments::front::return_location;
use crate::platform::payments::order::{Order, OrderState, CHANNELS};
use crate::platform::payments::store::OrderChangeOutcome;
use crate::platform::sandbox::Sandbox;

/// The query of the page and of its way back: the code, and for the way back the bill.
#[derive(Debug, Deserialize)]
pub struct Code {
    id: Option<String>,
    #[serde(rename = "billNo")]
    bill_no: Option<String>,
}

/// The buyer's payment: the bill they saw and the channel they chose.
#[derive(Debug, Deserialize)]
pub struct PayForm {
    #[serde(rename = "billNo")]
    bill_no: String,
    via: Option<String>,
}

/// How the page names a channel on its buttons.
fn channel_name(channel: &str) -> &str {
    match channel {
        "WXPay" => "WeChat Pay",
        other => other,
    }
}

fn not_found(id: &str) -> Response {
    let text = format!(
        "no QR code {id:?} in the sandbox: a bill's billQRCode (bills.getQRCode) leads to its page"
    );
    (StatusCode::NOT_FOUND, text).into_response()
}

fn failed(error: anyhow::Error) -> Response {
    tracing::error!(error = format!("{error:#}"), "a bill page failed");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

fn to_page(id: &str) -> Response {
    let page = format!("{CODE_PATH}?id={}", encoded(id));
    (StatusCode::SEE_OTHER, [(LOCATION, page)]).into_response()
}

fn encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `GET /bills/qrCode.do?id=…`: the bill the code holds now, the buttons to pay it while
/// it is payable, and the way back to the merchant when it has a `returnUrl`.
pub async fn page(State(sandbox): State<Sandbox>, Query(code): Query<Code>) -> Response {
    let id = code.id.unwrap_or_default();
    let order = match sandbox.orders.store.bill_of_code(&id).await {
        Ok(Some((_, order))) => order,
        Ok(None) => return not_found(&id),
        Err(error) => return failed(error),
    };
    let payable = order.state == OrderState::Unpaid && sandbox.now() < order.expires_at;
    let back = order.return_url().is_some().then(|| {
        format!(
            "{CODE_PATH}/return?id={}&billNo={}",
            encoded(&id),
            encoded(&order.order_no)
        )
    });
    let paid_by = order.payment.as_ref().map(|p| p.target_sys.as_str());
    let actions = html! {
        @if payable {
            @for via in CHANNELS {
                form method="post" action={ (CODE_PATH) "?id=" (encoded(&id)) } style="display:inline" {
                    input type="hidden" name="billNo" value=(order.order_no);
                    button id={ "pay-" (via) } name="via" value=(via) type="submit" {
                        "Pay with " (channel_name(via))
                    }
                }
            }
        } @else if let Some(via) = paid_by {
            p #result { "Paid with " (channel_name(via)) "." }
        } @else {
            p #result { "This bill cannot be paid any more." }
        }
        @if let Some(back) = back {
            p { a #return href=(back) { "Return to merchant" } }
            p.muted { "The merchant learns of a payment from its notice or a query, not from this return." }
        }
    };
    frame(&order, "QR bill", actions).into_response()
}

/// `POST /bills/qrCode.do?id=…`: the buyer pays bill `billNo` of the code through `via`,
/// and is sent back to the page.
pub async fn pay(
    State(sandbox): State<Sandbox>,
    Query(code): Query<Code>,
    Form(form): Form<PayForm>,
) -> Response {
    let id = code.id.unwrap_or_default();
    let order = match bill(&sandbox, &id, &form.bill_no).await {
        Ok(order) => order,
        Err(response) => return response,
    };
    let via = channel(form.via.as_deref());
    let event = OrderEvent::Pay {
        target_sys: via.to_owned(),
    };
    match sandbox
        .orders
        .apply(order.id, event, Cause::Cashier, None)
        .await
    {
        Ok(OrderChangeOutcome::Done { order, .. }) => {
            tracing::info!(mid = %order.mid, bill_no = %order.order_no, via, "paid on the bill page");
        }
        Ok(outcome) => tracing::info!(?outcome, "a payment on a bill page was refused"),
        Err(error) => return failed(error),
    }
    to_page(&id)
}

/// `GET /bills/qrCode.do/return?id=…&billNo=…`: to the bill's `returnUrl` with its signed
/// result; to its page when it has none.
pub async fn back(State(sandbox): State<Sandbox>, Query(code): Query<Code>) -> Response {
    let id = code.id.unwrap_or_default();
    let order = match bill(&sandbox, &id, code.bill_no.as_deref().unwrap_or_default()).await {
        Ok(order) => order,
        Err(response) => return response,
    };
    let merchant = match sandbox.merchants.merchant(&order.mid).await {
        Ok(Some(merchant)) => merchant,
        Ok(None) => return failed(anyhow::anyhow!("bill {} without its merchant", order.id)),
        Err(error) => return failed(error),
    };
    match return_location(&order, &merchant) {
        Some(location) => (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response(),
        None => to_page(&id),
    }
}

/// Bill `bill_no` made on code `id`, or the page's 404.
async fn bill(sandbox: &Sandbox, id: &str, bill_no: &str) -> Result<Order, Response> {
    match sandbox.orders.store.bill_on_code(id, bill_no).await {
        Ok(Some(order)) => Ok(order),
        Ok(None) => Err(not_found(id)),
        Err(error) => Err(failed(error)),
    }
}
