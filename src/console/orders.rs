//! The order pages: the list with filters, and one order with its payment, refunds,
//! guarantee hold and notices (and, for a bill a scan made, its fixed code), a button
//! for every legal move (pay, close, refund the rest) and a form for a partial refund.
//! The buttons call the order service, as the admin API does, and show the API's own
//! message when it refuses.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::layout::{form_token, message, page, time, MessageQuery, Page};
use super::session::{check_form_token, Ctx};
use super::states;
use super::{answered, back, internal, Console};
use crate::outbox::ListFilter;
use crate::platform::http::admin::orders::{refused, visible};
use crate::platform::payments::guarantee::{hold_ends_at, SecureStatus};
use crate::platform::payments::order::{OrderState, Product};
use crate::platform::payments::requests::{OrderTransition, RefundRequest};
use crate::platform::payments::store::OrderFilter;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    mid: Option<String>,
    product: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

/// Yuan with two decimals, for people; the wire and the API say fen.
pub fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

pub async fn list(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<ListQuery>,
) -> Result<Response, Response> {
    let mid = query
        .mid
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let product = query
        .product
        .as_deref()
        .and_then(|p| p.parse::<Product>().ok());
    // A merchant asking for another merchant's orders is shown none.
    let (confined, nothing) = match ctx.principal.list_filter(mid.map(str::to_owned)) {
        Ok(confined) => (confined, false),
        Err(_) => (None, true),
    };
    let filter = OrderFilter {
        mid: confined,
        product,
        limit: if nothing { 0 } else { 100 },
        ..OrderFilter::default()
    };
    let orders = console
        .sandbox
        .orders
        .store
        .orders(&filter)
        .await
        .map_err(internal)?;
    let content = html! {
        form.filters method="get" action="/console/orders" {
            label { "Merchant (mid)" input name="mid" value=[mid]; }
            label { "Product"
                select name="product" {
                    option value="" { "any" }
                    @for p in Product::ALL {
                        option value=(p.as_str()) selected[product == Some(p)] { (p.as_str()) }
                    }
                }
            }
            button type="submit" { "Filter" }
            a href="/console/orders" { "Clear" }
        }
        @if orders.is_empty() {
            div.card { p.muted { "No orders match. A merchant's client creates them with the netpay API ("
                code { "/v1/netpay/bills/get-qrcode" } ", " code { "/v1/netpay/wx/unified-order" } "), or "
                code { "POST /admin/v1/orders" } " does." } }
        } @else {
            div.table-wrap { table {
                thead { tr { th { "Order number" } th { "Status" } th { "Amount (yuan)" } th { "Merchant" } th.hide-narrow { "Updated" } } }
                tbody { @for o in &orders { tr {
                    td { a href={ "/console/orders/" (o.id) } { (o.order_no) } }
                    td { (states::order(o)) @if let Some(secure) = o.guarantee.and_then(|g| g.status) { " " (states::secure(secure)) } }
                    td { (yuan(o.total_amount)) }
                    td { (o.mid) }
                    td.hide-narrow { (time(Some(o.updated_at))) }
                } } }
            } }
        }
    };
    let message = message(query.notice, query.error);
    Ok(page(&ctx, Page::Orders, "Orders", message, content).into_response())
}

pub async fn show(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Query(query): Query<MessageQuery>,
) -> Result<Response, Response> {
    let order = console
        .sandbox
        .orders
        .store
        .order(id)
        .await
        .map_err(internal)?
        .filter(|order| ctx.principal.sees(Some(&order.mid)))
        .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no order {id}")).into_response())?;
    let refunds = console
        .sandbox
        .orders
        .store
        .refunds(order.id)
        .await
        .map_err(internal)?;
    let merchant = console
        .sandbox
        .merchants
        .merchant(&order.mid)
        .await
        .map_err(internal)?;
    // A bill made by a scan links back to its fixed code.
    let fixed_code = match order.qr_code_id() {
        Some(qr_code_id) => console
            .sandbox
            .orders
            .store
            .fixed_code(qr_code_id)
            .await
            .map_err(internal)?,
        None => None,
    };
    let addresses = merchant
        .as_ref()
        .map(|m| crate::platform::payments::notice::destinations(&order, m))
        .unwrap_or_else(|| vec![order.notify.clone()]);
    let notices = console
        .app
        .store
        .list(&ListFilter {
            subject: Some(order.order_no.clone()),
            tenant: Some(order.mid.clone()),
            limit: 100,
            ..ListFilter::default()
        })
        .await
        .map_err(internal)?;
    let targets: Vec<OrderState> = order
        .state
        .allowed_targets()
        .iter()
        .copied()
        .filter(|to| order.check_move(*to).is_ok())
        .collect();
    let refundable = if targets.contains(&OrderState::Refunded) {
        order.refundable()
    } else {
        0
    };
    let guarantee = order.guarantee;
    let held = guarantee.is_some_and(|g| g.status == Some(SecureStatus::Uncompleted));
    let content = html! {
        div.grid2 {
            div.card {
                dl.facts {
                    dt { "Status" } dd { (states::order(&order)) }
                    dt { (order.product.order_no_field()) } dd.mono { (order.order_no) }
                    dt { "Merchant" } dd { a href={ "/console/merchants/" (order.mid) } { (order.mid) } }
                    @if let Some(code) = &fixed_code {
                        dt { "Fixed code" } dd.mono { a href=(super::codes::href(&code.qr_code_id)) { (code.qr_code_id) } }
                    }
                    dt { "Amount" } dd { (yuan(order.total_amount)) " yuan (" (order.total_amount) " fen)" }
                    dt { "Refunded" } dd { (yuan(order.refunded_amount)) " yuan" }
                    dt { "Description" } dd { (order.description) }
                    dt { "Notices go to" } dd {
                        @for address in &addresses { div.mono { (address.url) " "
                            span.muted { @if order.own_notify && address.url == order.notify.url { "(the order's notifyUrl)" } @else { "(the merchant's notify URL)" } }
                        } }
                    }
                    @if let Some(payment) = &order.payment {
                        dt { "Paid" } dd { (time(Some(payment.paid_at))) " via " (payment.target_sys) }
                    }
                    @if let Some(g) = guarantee {
                        dt { "Guarantee" } dd {
                            @if let Some(status) = g.status { (states::secure(status)) } @else { span.muted { "nothing held until it is paid" } }
                            @if g.completed_amount > 0 { " completed " (yuan(g.completed_amount)) " yuan" }
                            @if let Some(at) = hold_ends_at(&order) { div.muted { "cancelled by itself at " (time(Some(at))) } }
                        }
                    }
                    dt { "Expires" } dd { (time(Some(order.expires_at))) }
                    dt { "Buyer pays" } dd { (time(order.pay_due_at)) }
                }
            }
            div.card {
                h2 style="margin-top:0" { "Play the buyer and the channel" }
                @if held {
                    p.muted { "A guarantee bill: its hold is UNCOMPLETED, so it is not refunded directly. The merchant completes it (secureComplete) or cancels it (secureCancel) through the bill gateway." }
                }
                @if targets.is_empty() {
                    p.muted { (order.status()) ": no move is legal." }
                } @else {
                    p.muted { "Each move sends the payment-result notice." }
                    div.actions { @for target in &targets {
                        form method="post" action={ "/console/orders/" (id) "/transitions" } {
                            (form_token(&ctx))
                            input type="hidden" name="to" value=(target.wire(order.product));
                            button type="submit" { "→ " (target.wire(order.product)) }
                        }
                    } }
                }
                @if refundable > 0 {
                    form.stack method="post" action={ "/console/orders/" (id) "/refunds" } {
                        (form_token(&ctx))
                        label { "Refund part of it (fen, at most " (refundable) ")"
                            input name="amount" type="number" min="1" max=(refundable) required; }
                        button.secondary type="submit" { "Refund" }
                    }
                }
            }
        }
        @if !refunds.is_empty() {
            h2 { "Refunds" }
            div.table-wrap { table {
                thead { tr { th { "refundOrderId" } th { "Amount (fen)" } th { "When" } } }
                tbody { @for r in &refunds { tr {
                    td.mono { (r.refund_order_id) } td { (r.amount) } td { (time(Some(r.created_at))) }
                } } }
            } }
        }
        h2 { "Notices sent (newest first)" }
        @if notices.is_empty() {
            div.card { p.muted { "None yet: an order sends its first notice when it is paid, closed or refunded." } }
        } @else {
            div.table-wrap { table {
                thead { tr { th { "#" } th { "Status" } th { "To" } th { "Tries" } th.hide-narrow { "Created" } } }
                tbody { @for n in &notices { tr {
                    td { a href={ "/console/notifications/" (n.id) } { (n.id) } }
                    td { (states::notification(n.status)) }
                    td.mono { (n.destination.url) }
                    td { (n.attempts) }
                    td.hide-narrow { (time(Some(n.created_at))) }
                } } }
            } }
        }
    };
    let title = format!("Order {}", order.order_no);
    Ok(page(&ctx, Page::Orders, &title, query.message(), content).into_response())
}

#[derive(Deserialize)]
pub struct TransitionForm {
    #[serde(default)]
    form_token: String,
    to: String,
}

pub async fn transition(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<TransitionForm>,
) -> Response {
    if let Some(refused) = check_form_token(&ctx, &form.form_token) {
        return refused;
    }
    if let Err(refused) = visible(&console.sandbox, &ctx.principal, &id).await {
        return back(&format!("/console/orders/{id}"), Err(refused.message));
    }
    let done = format!("Moved to {}; its notice is on its way.", form.to);
    let request = OrderTransition {
        to: form.to,
        target_sys: None,
    };
    let outcome = console.sandbox.orders.transition(&id, request).await;
    answered(&format!("/console/orders/{id}"), outcome, refused, done)
}

#[derive(Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    form_token: String,
    amount: String,
}

pub async fn refund(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<RefundForm>,
) -> Response {
    if let Some(refused) = check_form_token(&ctx, &form.form_token) {
        return refused;
    }
    if let Err(refused) = visible(&console.sandbox, &ctx.principal, &id).await {
        return back(&format!("/console/orders/{id}"), Err(refused.message));
    }
    // A whole number goes as one; anything else as the text, for the service to refuse.
    let amount = form
        .amount
        .trim()
        .parse::<i64>()
        .map_or_else(|_| json!(form.amount), |fen| json!(fen));
    let done = format!(
        "Refunded {} fen; its notice is on its way.",
        form.amount.trim()
    );
    let request = RefundRequest {
        amount: Some(amount),
        refund_order_id: None,
    };
    let outcome = console.sandbox.orders.refund(&id, request).await;
    answered(&format!("/console/orders/{id}"), outcome, refused, done)
}
