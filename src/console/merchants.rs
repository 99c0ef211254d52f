//! The merchant pages: the list and the create form (the new appKey is shown once, with
//! a copy button), one merchant's settings, key rotation ([`super::rotation`]), access
//! keys ([`super::access_keys`]), fixed QR codes ([`super::codes`]) and its conformance
//! check runs ([`super::checks`]).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{form_token, page, page_with, time, MessageQuery, Page};
use super::session::{check_form_token, Ctx};
use super::{access_keys, checks, codes, relay, rotation};
use super::{answered, back, internal, Console};
use crate::admin::ApiError;
use crate::duration::format_duration;
use crate::platform::http::admin::merchants::{refused, visible};
use crate::platform::merchants::merchant::PaymentNotices;
use crate::platform::merchants::requests::{CreateMerchant, PatchMerchant};

/// The most fixed codes a merchant's page lists.
const CODES_SHOWN: u32 = 50;

fn create_form(ctx: &Ctx) -> Markup {
    html! {
        div.card {
            h2 style="margin-top:0" { "Create a merchant" }
            form method="post" action="/console/merchants" class="filters" {
                (form_token(ctx))
                label { "Merchant number (mid)" input name="mid" required pattern="[0-9A-Za-z]{1,15}" placeholder="898310048161234"; }
                label { "Name" input name="name" required; }
                label { "Notify URL" input name="notify_url" type="url" placeholder="http://127.0.0.1:9000/notify"; }
                label title="The bill gateway's msgSrc; the merchant's mid when left empty. Merchants of one source share its key." {
                    "Message source (msgSrc)" input name="msg_src" maxlength="20" placeholder="WWW.TEST.COM"; }
                button type="submit" { "Create" }
            }
        }
    }
}

pub async fn list(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<MessageQuery>,
) -> Result<Response, Response> {
    let merchants = console
        .sandbox
        .merchants
        .merchants()
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|m| ctx.principal.sees(Some(&m.mid)))
        .collect::<Vec<_>>();
    let content = html! {
        @if ctx.principal.is_operator() {
            (create_form(&ctx))
        }
        @if merchants.is_empty() {
            div.card { p.muted { "No merchants yet." } }
        } @else {
            div.table-wrap { table {
                thead { tr { th { "mid" } th { "Name" } th { "Notify URL" } th.hide-narrow { "appId" } } }
                tbody { @for m in &merchants { tr {
                    td { a href={ "/console/merchants/" (m.mid) } { (m.mid) } }
                    td { (m.name) }
                    td.mono { (m.notify_url.as_deref().unwrap_or("—")) }
                    td.mono.hide-narrow { (m.app_id) }
                } } }
            } }
        }
    };
    Ok(page(&ctx, Page::Merchants, "Merchants", query.message(), content).into_response())
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    form_token: String,
    mid: String,
    name: String,
    #[serde(default)]
    notify_url: String,
    #[serde(default)]
    msg_src: String,
}

/// Creates through the merchant service, as the admin API does, and shows the
/// credentials once.
pub async fn create(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<CreateForm>,
) -> Response {
    if let Some(refused) = check_form_token(&ctx, &form.form_token) {
        return refused;
    }
    if let Err(refused) = ctx.principal.require_operator("create merchants") {
        return (StatusCode::FORBIDDEN, refused.message).into_response();
    }
    let notify_url = form.notify_url.trim();
    let request = CreateMerchant {
        mid: Some(form.mid.trim().to_owned()),
        name: Some(form.name),
        notify_url: (!notify_url.is_empty()).then(|| notify_url.to_owned()),
        msg_src: Some(form.msg_src.trim().to_owned()).filter(|s| !s.is_empty()),
        ..CreateMerchant::default()
    };
    let merchant = match console.sandbox.merchant_service.create(request).await {
        Ok(Ok(merchant)) => merchant,
        Ok(Err(refusal)) => return back("/console/merchants", Err(refused(refusal).message)),
        Err(error) => return back("/console/merchants", Err(ApiError::internal(error).message)),
    };
    let mid = &merchant.mid;
    let content = html! {
        div.card.stack {
            p { "Merchant " strong { (mid) } " is ready. Give these to its client code; "
                strong { "the keys are shown only now" } " (they stay readable in the admin API)." }
            div.secret { span { "appId" } code #app-id { (merchant.app_id) }
                button.secondary type="button" data-copy="app-id" { "Copy" } }
            div.secret { span { "appKey" } code #app-key { (merchant.app_key.expose()) }
                button.secondary type="button" data-copy="app-key" { "Copy" } }
            div.secret { span { "md5Key" } code #md5-key { (merchant.md5_key.expose()) }
                button.secondary type="button" data-copy="md5-key" { "Copy" } }
            p { "The md5Key (通讯密钥) signs payment-result notices ("
                (merchant.sign_type.as_str()) "); order numbers start with the source number "
                strong { (merchant.msg_src_id) } "." }
            p { a href={ "/console/merchants/" (mid) } { "Go to the merchant" } }
        }
    };
    let title = format!("Merchant {mid} created");
    page(&ctx, Page::Merchants, &title, None, content).into_response()
}

pub async fn show(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path(mid): Path<String>,
    Query(query): Query<MessageQuery>,
) -> Result<Response, Response> {
    let merchant = console
        .sandbox
        .merchants
        .merchant(&mid)
        .await
        .map_err(internal)?
        .filter(|m| ctx.principal.sees(Some(&m.mid)))
        .ok_or_else(|| (StatusCode::NOT_FOUND, format!("no merchant {mid}")).into_response())?;
    let keys = console
        .sandbox
        .access_keys
        .list(&mid)
        .await
        .map_err(internal)?;
    let runs = console
        .checks
        .runs
        .of_merchant(&mid)
        .await
        .map_err(internal)?;
    let running = runs.iter().any(|run| run.status == "running");
    let codes = console
        .sandbox
        .orders
        .store
        .fixed_codes_of(&mid, CODES_SHOWN)
        .await
        .map_err(internal)?;
    let consent = merchant
        .auto_consent_after
        .map(format_duration)
        .unwrap_or_default();
    let content = html! {
        div.grid2 {
            div.card {
                dl.facts {
                    dt { "Name" } dd { (merchant.name) }
                    dt { "appId" } dd.mono { (merchant.app_id) }
                    dt { "Source number" } dd.mono { (merchant.msg_src_id) }
                    dt { "Message source" } dd.mono { (merchant.msg_src) }
                    dt { "signType" } dd.mono { (merchant.sign_type.as_str()) }
                    dt { "Created" } dd { (time(Some(merchant.created_at))) }
                }
                p { a href={ "/console/contracts?mid=" (mid) } { "Contracts" } " · "
                    a href={ "/console/notifications?mid=" (mid) } { "Notifications" } }
            }
            div.card {
                h2 style="margin-top:0" { "Settings" }
                form method="post" action={ "/console/merchants/" (mid) } class="stack" {
                    (form_token(&ctx))
                    label { "Notify URL (empty: none)"
                        input name="notify_url" type="url" style="width:100%" value=[merchant.notify_url.as_deref()]; }
                    label { "Automatic consent after (such as 30s; empty: never)"
                        input name="auto_consent_after" value=(consent); }
                    label { "Extra copies of every notification (0 to 10)"
                        input name="extra_copies" type="number" min="0" max="10" value=(merchant.extra_copies); }
                    label { "Payment notices"
                        select name="payment_notices" {
                            option value="product" selected[merchant.payment_notices == PaymentNotices::Product] {
                                "as each product sends them (a QR bill: its payment only)" }
                            option value="all" selected[merchant.payment_notices == PaymentNotices::All] {
                                "every change of every product (rehearsal)" }
                        } }
                    (relay::delivery_field(merchant.delivery))
                    button type="submit" { "Save" }
                }
            }
        }
        (relay::card(&crate::relay::session::status_of(&console.sandbox.relay, &mid, merchant.delivery)))
        (rotation::card(&ctx, &merchant, console.sandbox.now()))
        (access_keys::card(&ctx, &mid, &keys))
        h2 { "Fixed QR codes" }
        (codes::table(&codes, console.sandbox.now()))
        @if codes.len() == CODES_SHOWN as usize {
            p.muted { "The newest " (CODES_SHOWN) " are shown." }
        }
        (super::triggers::form(&ctx, &mid))
        h2 { "Conformance checks" }
        div.card {
            p { "Sends real, signed notices to the notify URL and judges the answers." }
            form method="post" action={ "/console/merchants/" (mid) "/checks" } {
                (form_token(&ctx))
                @if merchant.notify_url.is_some() {
                    button type="submit" { "Run the check" }
                } @else {
                    button type="submit" disabled title="set a notify URL first" { "Run the check" }
                }
            }
        }
        (checks::runs_table(&runs))
    };
    let title = format!("Merchant {mid}");
    let message = query.message();
    Ok(page_with(
        &ctx,
        Page::Merchants,
        &title,
        message,
        content,
        running.then_some(3),
    )
    .into_response())
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    notify_url: String,
    #[serde(default)]
    auto_consent_after: String,
    #[serde(default)]
    extra_copies: String,
    /// `product` or `all`; absent leaves it as it is.
    payment_notices: Option<String>,
    /// `http` or `relay`; absent leaves it as it is.
    delivery: Option<String>,
}

pub async fn update(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path(mid): Path<String>,
    Form(form): Form<SettingsForm>,
) -> Response {
    if let Some(refused) = check_form_token(&ctx, &form.form_token) {
        return refused;
    }
    let to = format!("/console/merchants/{mid}");
    if let Err(refused) = visible(&console.sandbox, &ctx.principal, &mid).await {
        return back(&to, Err(refused.message));
    }
    let blank_is_none = |text: &str| Some(Some(text.trim().to_owned()).filter(|t| !t.is_empty()));
    let copies = match form.extra_copies.trim() {
        "" => None,
        text => match text.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                return back(
                    &to,
                    Err("Extra copies must be a whole number from 0 to 10.".into()),
                )
            }
        },
    };
    let patch = PatchMerchant {
        notify_url: blank_is_none(&form.notify_url),
        auto_consent_after: blank_is_none(&form.auto_consent_after),
        extra_copies: Some(copies),
        payment_notices: form.payment_notices.map(Some),
        delivery: form.delivery.map(Some),
        ..PatchMerchant::default()
    };
    let outcome = console.sandbox.merchant_service.update(&mid, patch).await;
    console.sandbox.relay.forget_mode(&mid);
    answered(&to, outcome, refused, "Saved.".to_owned())
}
