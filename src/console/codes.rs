//! The fixed QR code pages: one code with its facts, a "Scan and pay" form that plays the
//! buyer (through the same scan as the admin API, [`scans::scan`]) and the
//! payment-element queries its scans made, each shown like a delivery try; and the table
//! of a merchant's codes on the merchant page.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{form_token, message, page, pre, time, Page, Tone};
use super::orders::yuan;
use super::session::{check_form_token, Ctx};
use super::states;
use super::{back, internal, Console};
use crate::platform::http::admin::scans::{self, ScanRequest};
use crate::platform::payments::fixed::{FixedCode, PayInfoQuery};
use crate::platform::payments::order::{Order, CHANNELS};

/// The most payment-element queries a code's page shows.
const QUERIES_SHOWN: u32 = 20;

/// The page of fixed code `id`, for a link or a redirect: an id is letters and digits,
/// and any other byte is percent-encoded.
pub fn href(id: &str) -> String {
    let mut path = String::from("/console/codes/");
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            path.push(char::from(byte));
        } else {
            path.push_str(&format!("%{byte:02X}"));
        }
    }
    path
}

/// What every scan of `code` pays, in words.
fn amount(code: &FixedCode) -> Markup {
    match (code.total_amount, &code.pay_info_query_addr) {
        (Some(fen), _) => html! { (yuan(fen)) " yuan (" (fen) " fen)" },
        (None, Some(_)) => html! { "asked of the merchant's payInfoQueryAddr at each scan" },
        (None, None) => html! { "typed by the buyer at each scan" },
    }
}

/// The table of a merchant's fixed codes, newest first.
pub fn table(codes: &[FixedCode], now: DateTime<Utc>) -> Markup {
    html! {
        @if codes.is_empty() {
            div.card { p.muted { "None yet: the merchant makes one with " code { "bills.getQRCode" }
                " without " code { "billNo" } " through the bill gateway." } }
        } @else {
            div.table-wrap { table {
                thead { tr { th { "qrCodeId" } th { "Status" } th { "Amount" } th.hide-narrow { "Description" } th.hide-narrow { "Made" } } }
                tbody { @for c in codes { tr {
                    td.mono { a href=(href(&c.qr_code_id)) { (c.qr_code_id) } }
                    td { (states::fixed_code(c, now)) }
                    td { @match c.total_amount {
                        Some(fen) => { (yuan(fen)) " yuan" },
                        None if c.pay_info_query_addr.is_some() => span.muted { "asked" },
                        None => span.muted { "typed by the buyer" },
                    } }
                    td.hide-narrow { (c.description) }
                    td.hide-narrow { (time(Some(c.created_at))) }
                } } }
            } }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    notice: Option<String>,
    error: Option<String>,
    /// The bill the last scan from this page made.
    bill: Option<i64>,
}

pub async fn show(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, Response> {
    let store = &console.sandbox.orders.store;
    let code = store
        .fixed_code(&id)
        .await
        .map_err(internal)?
        .filter(|code| ctx.principal.sees(Some(&code.mid)))
        .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no fixed code {id}")).into_response())?;
    let queries = store
        .pay_info_queries(&id, QUERIES_SHOWN)
        .await
        .map_err(internal)?;
    // Only a bill of this code is shown as the last scan's.
    let bill = match query.bill {
        Some(bill) => store
            .order(bill)
            .await
            .map_err(internal)?
            .filter(|order| order.qr_code_id() == Some(code.qr_code_id.as_str())),
        None => None,
    };
    let now = console.sandbox.now();
    let content = html! {
        div.grid2 {
            div.card {
                dl.facts {
                    dt { "Status" } dd { (states::fixed_code(&code, now)) }
                    dt { "qrCodeId" } dd.mono { (code.qr_code_id) }
                    dt { "URL (billQRCode)" } dd.mono { (code.qr_code_url) }
                    dt { "Merchant" } dd { a href={ "/console/merchants/" (code.mid) } { (code.mid) } }
                    dt { "Terminal (tid)" } dd.mono { (code.tid) " · " (code.inst_mid) }
                    dt { "Amount" } dd { (amount(&code)) }
                    dt { "Description" } dd { @if code.description.is_empty() { span.muted { "—" } } @else { (code.description) } }
                    dt { "payInfoQueryAddr" } dd.mono { (code.pay_info_query_addr.as_deref().unwrap_or("—")) }
                    dt { "Notices go to" } dd.mono { (code.notify.url) }
                    dt { "Made" } dd { (time(Some(code.created_at))) }
                    dt { "Expires" } dd { (time(code.expires_at)) }
                    @if code.closed_at.is_some() { dt { "Closed" } dd { (time(code.closed_at)) } }
                }
            }
            (scan_card(&ctx, &code, now, bill.as_ref()))
        }
        h2 { "Payment-element queries (newest first)" }
        (timeline(&code, &queries))
    };
    let title = format!("Fixed code {}", code.qr_code_id);
    let message = message(query.notice, query.error);
    Ok(page(&ctx, Page::Orders, &title, message, content).into_response())
}

/// The card that plays the buyer: the form, and the bill the last scan made.
fn scan_card(ctx: &Ctx, code: &FixedCode, now: DateTime<Utc>, bill: Option<&Order>) -> Markup {
    let typed = code.total_amount.is_none() && code.pay_info_query_addr.is_none();
    let open = code.open_at(now);
    html! {
        div.card {
            h2 style="margin-top:0" { "Scan and pay" }
            p.muted { "Play the buyer: each scan makes a bill of its own on the code and pays it at once; its payment-result notice goes out like any bill's." }
            @if let Some(url) = &code.pay_info_query_addr {
                p.muted { "The scan first asks " span.mono { (url) } " for the amount (the payment-element query); a wrong answer pays nothing, and the query shows why below." }
            }
            form.stack method="post" action={ (href(&code.qr_code_id)) "/scans" } {
                (form_token(ctx))
                @if typed {
                    label { "Amount the buyer types (fen)"
                        input name="amount" type="number" min="1" required; }
                }
                label { "Channel"
                    select name="target_sys" {
                        @for channel in CHANNELS { option value=(channel) { (channel) } }
                    } }
                @if open {
                    button type="submit" { "Scan and pay" }
                } @else {
                    button type="submit" disabled title="a closed or expired code takes no scan" { "Scan and pay" }
                }
            }
            @if let Some(order) = bill {
                div.next #last-scan {
                    "The scan made bill " a href={ "/console/orders/" (order.id) } { (order.order_no) }
                    ": " (yuan(order.total_amount)) " yuan, " (states::order(order))
                    @if let Some(payment) = &order.payment { " via " (payment.target_sys) }
                    "."
                }
            }
        }
    }
}

/// The queries of `code`'s scans, each like a delivery try: when, where, the answer's
/// status or why none came, how long it took, the verdict, and both bodies.
fn timeline(code: &FixedCode, queries: &[PayInfoQuery]) -> Markup {
    html! {
        @if queries.is_empty() {
            div.card { p.muted { @if code.pay_info_query_addr.is_some() {
                "None yet: each scan asks the merchant for the amount first."
            } @else {
                "None: a code with its own amount, or one whose buyer types it, asks nothing."
            } } }
        } @else {
            div.card { ol.timeline {
                @for q in queries {
                    @let right = q.amount.is_some() && q.problems.is_empty();
                    li class=(if right { "ok" } else { "bad" }) data-query=(q.id) {
                        strong { "Query " (q.id) }
                        " · " (time(Some(q.created_at)))
                        " · " (q.duration_ms) " ms"
                        " · " @match q.status {
                            Some(code) => span class={ "badge " (if right { Tone::Ok } else { Tone::Bad }.class()) } { "HTTP " (code) },
                            None => span class={ "badge " (Tone::Bad.class()) } { "no answer" },
                        }
                        @if let Some(error) = &q.error { " · " span.muted { (error) } }
                        div.mono { "POST " (q.url) }
                        @match q.amount.filter(|_| right) {
                            Some(fen) => div { span class={ "badge " (Tone::Ok.class()) } { "right" }
                                " the buyer pays " (yuan(fen)) " yuan (" (fen) " fen)" },
                            None => div {
                                span class={ "badge " (Tone::Bad.class()) } { "refused" } " nothing was paid:"
                                ul.problems { @for problem in &q.problems { li { (problem) } } }
                            },
                        }
                        details {
                            summary { "The query sent" }
                            (pre(&q.request))
                        }
                        @if !q.answer.is_empty() {
                            details {
                                summary { "The merchant's answer" }
                                (pre(&q.answer))
                            }
                        }
                    }
                }
            } }
        }
    }
}

#[derive(Deserialize)]
pub struct ScanForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    target_sys: String,
}

/// The buyer's scan from the form, through the admin API's own scan; back to the code's
/// page with the bill it made, or with the API's message of the refusal.
pub async fn scan(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<ScanForm>,
) -> Response {
    if let Some(refused) = check_form_token(&ctx, &form.form_token) {
        return refused;
    }
    let to = href(&id);
    let given = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
    let request = ScanRequest {
        // The service reads the typed text and refuses what is no amount.
        amount: given(&form.amount).map(serde_json::Value::String),
        target_sys: given(&form.target_sys),
    };
    match scans::scan(&console.sandbox, &ctx.principal, &id, request).await {
        Ok(paid) => {
            let order = &paid.order;
            let via = order.payment.as_ref().map_or("", |p| p.target_sys.as_str());
            let done = format!(
                "Scanned and paid: bill {} of {} yuan via {via}; its payment-result notice is on its way.",
                order.order_no,
                yuan(order.total_amount)
            );
            back(&format!("{to}?bill={}", order.id), Ok(done))
        }
        Err(refused) => back(&to, Err(refused.message)),
    }
}
