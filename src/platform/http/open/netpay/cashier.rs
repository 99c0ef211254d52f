//! The sandbox's cashier for H5 orders: the page a buyer's browser lands on after an H5
//! request (`GET /netpay/cashier/{token}`), standing in for the channel's own. The buyer
//! pays (`POST …/pay`) or cancels (`POST …/cancel`) and is sent back to the order's
//! `returnUrl`. Paying sends the payment-result notice like any other payment; cancelling
//! changes nothing (the unpaid order closes when it expires).
//!
//! The page's address holds a random token that only the redirect handed out, so nobody
//! else can pay the order from it.
//!
//! The page itself ([`frame`]) is also the frame of a QR bill's page
//! ([`super::bill_page`]), which anyone holding the code reaches.

use axum::extract::{Path, Query, State};
use axum::http::{header::LOCATION, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use crate::platform::payments::events::{Cause, OrderEvent};
use crate::platform::payments::order::{Order, OrderState, Product, CHANNELS};
use crate::platform::payments::store::OrderChangeOutcome;
use crate::platform::sandbox::Sandbox;

#[derive(Debug, Deserialize)]
pub struct Via {
    via: Option<String>,
}

/// The channel named, if it is one the sandbox simulates; the first one otherwise.
pub(super) fn channel(via: Option<&str>) -> &'static str {
    CHANNELS
        .into_iter()
        .find(|c| Some(*c) == via)
        .unwrap_or(CHANNELS[0])
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "no such cashier page: it is reached only through an H5 order's redirect",
    )
        .into_response()
}

async fn order_of(sandbox: &Sandbox, token: &str) -> Result<Order, Response> {
    match sandbox.orders.store.order_by_cashier(token).await {
        Ok(Some(order)) => Ok(order),
        Ok(None) => Err(not_found()),
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "reading a cashier's order failed"
            );
            Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

/// Back to the merchant's `returnUrl`, or to this page when the order has none.
fn leave(order: &Order, token: &str, via: &str) -> Response {
    let to = order
        .h5
        .as_ref()
        .and_then(|h5| h5.return_url.clone())
        .unwrap_or_else(|| format!("/netpay/cashier/{token}?via={via}"));
    (StatusCode::SEE_OTHER, [(LOCATION, to)]).into_response()
}

/// `GET /netpay/cashier/{token}`: the order, and the buttons to pay or cancel.
pub async fn page(
    State(sandbox): State<Sandbox>,
    Path(token): Path<String>,
    Query(via): Query<Via>,
) -> Response {
    let order = match order_of(&sandbox, &token).await {
        Ok(order) => order,
        Err(response) => return response,
    };
    let via = channel(via.via.as_deref());
    let payable = order.state == OrderState::Unpaid && sandbox.now() < order.expires_at;
    let actions = html! {
        @if payable {
            form method="post" action={ "/netpay/cashier/" (token) "/pay?via=" (via) } style="display:inline" {
                button #pay type="submit" { "Pay" }
            }
            form method="post" action={ "/netpay/cashier/" (token) "/cancel?via=" (via) } style="display:inline" {
                button #cancel type="submit" { "Cancel" }
            }
        } @else {
            p { "This order cannot be paid here any more." }
        }
    };
    frame(&order, via, actions).into_response()
}

/// A cashier page of `order`: its description, amount, number and status, then
/// `actions`; `note` names the channel or the page.
pub(super) fn frame(order: &Order, note: &str, actions: Markup) -> Markup {
    let label = match order.product {
        Product::Bill => "Bill",
        Product::Trade => "Order",
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sandbox cashier" }
                style { "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}\
                    .amount{font-size:2rem;margin:.5rem 0}button{font-size:1rem;padding:.6rem 1.2rem;margin:0 .5rem .5rem 0}\
                    .muted{color:#666}" }
            }
            body {
                p.muted { "ums-notify sandbox cashier · " (note) " · nothing is really paid" }
                h1 { (order.description.as_str()) }
                p.amount { "¥" (order.total_amount / 100) "." (format!("{:02}", order.total_amount % 100)) }
                p.muted { (label) " " (order.order_no) " · status " strong #status { (order.status()) } }
                (actions)
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct NoFields {}

/// `POST /netpay/cashier/{token}/pay`: the buyer pays through the channel.
pub async fn pay(
    State(sandbox): State<Sandbox>,
    Path(token): Path<String>,
    Query(via): Query<Via>,
    Form(_): Form<NoFields>,
) -> Response {
    let order = match order_of(&sandbox, &token).await {
        Ok(order) => order,
        Err(response) => return response,
    };
    let via = channel(via.via.as_deref());
    let event = OrderEvent::Pay {
        target_sys: via.to_owned(),
    };
    match sandbox
        .orders
        .apply(order.id, event, Cause::Cashier, None)
        .await
    {
        Ok(OrderChangeOutcome::Done { order, .. }) => {
            tracing::info!(mid = %order.mid, mer_order_id = %order.order_no, via, "paid at the cashier");
            leave(&order, &token, via)
        }
        Ok(outcome) => {
            tracing::info!(?outcome, "a cashier payment was refused");
            leave(&order, &token, via)
        }
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "a cashier payment failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `POST /netpay/cashier/{token}/cancel`: the buyer leaves without paying.
pub async fn cancel(
    State(sandbox): State<Sandbox>,
    Path(token): Path<String>,
    Query(via): Query<Via>,
    Form(_): Form<NoFields>,
) -> Response {
    match order_of(&sandbox, &token).await {
        Ok(order) => leave(&order, &token, channel(via.via.as_deref())),
        Err(response) => response,
    }
}
