//! Credential rotation in the console: the card on a merchant's page (the rotations in
//! their grace and the form that starts one) and the page that shows the new key once.
//! Rotations go through the merchant service, as the admin API's do.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{form_token, page, time, Page};
use super::session::{check_form_token, Ctx};
use super::{back, Console};
use crate::admin::ApiError;
use crate::duration::format_duration;
use crate::platform::http::admin::merchants::{own_source_key, refused, visible};
use crate::platform::merchants::rotation::{Credential, RotateCredential, DEFAULT_GRACE};
use crate::platform::merchants::Merchant;

/// What a credential is called on the page.
fn label(credential: Credential) -> &'static str {
    match credential {
        Credential::AppKey => "appKey",
        Credential::Md5Key => "md5Key",
    }
}

/// The rotation card of a merchant's page at `now`.
pub fn card(ctx: &Ctx, merchant: &Merchant, now: DateTime<Utc>) -> Markup {
    let graces = merchant.graces(now);
    html! {
        div.card #rotation {
            h2 style="margin-top:0" { "Rotate a key" }
            p { "A new random key replaces the old one at once: every notice is signed with the new
                key from now on. For the grace period, requests signed with the old key are still
                accepted, so the merchant can deploy the new one without a failed call." }
            @for (credential, until) in &graces {
                p.grace data-credential=(credential.as_str()) {
                    strong { (label(*credential)) } " is in its grace period: the replaced key is accepted until "
                    (time(Some(*until))) "."
                }
            }
            form method="post" action={ "/console/merchants/" (merchant.mid) "/rotate" } class="filters" {
                (form_token(ctx))
                label { "Key"
                    select name="credential" {
                        option value="app_key" { "appKey (platform API calls, contract notices)" }
                        option value="md5_key" {
                            "md5Key of message source " (merchant.msg_src) " (payment notices, bill gateway)" }
                    } }
                label title="How long the old key is still accepted: such as 30m, 1h or 0s; at most 7d" {
                    "Grace" input name="grace" value=(format_duration(DEFAULT_GRACE)) size="6"; }
                button type="submit" { "Rotate" }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    grace: String,
}

/// Rotates through the merchant service and shows the new key once.
pub async fn rotate(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path(mid): Path<String>,
    Form(form): Form<RotateForm>,
) -> Response {
    if let Some(refused) = check_form_token(&ctx, &form.form_token) {
        return refused;
    }
    let to = format!("/console/merchants/{mid}");
    let own = match visible(&console.sandbox, &ctx.principal, &mid).await {
        Ok(own) => own,
        Err(refused) => return back(&to, Err(refused.message)),
    };
    if form.credential.trim() == "md5_key" {
        if let Err(refused) = own_source_key(&console.sandbox, &ctx.principal, &own).await {
            return back(&to, Err(refused.message));
        }
    }
    let grace = form.grace.trim();
    let request = RotateCredential {
        credential: Some(form.credential.trim().to_owned()),
        grace: (!grace.is_empty()).then(|| grace.to_owned()),
    };
    let rotation = match console.sandbox.merchant_service.rotate(&mid, request).await {
        Ok(Ok(rotation)) => rotation,
        Ok(Err(refusal)) => return back(&to, Err(refused(refusal).message)),
        Err(error) => return back(&to, Err(ApiError::internal(error).message)),
    };
    let name = label(rotation.credential);
    let content = html! {
        div.card.stack {
            p { "The " strong { (name) } " of merchant " strong { (mid) } " was replaced. "
                strong { "The new key is shown only now" } ": deploy it to the merchant's code." }
            div.secret { span { (name) } code #new-key { (rotation.key.expose()) }
                button.secondary type="button" data-copy="new-key" { "Copy" } }
            p { "Notices are signed with the new key from now on. Requests signed with the old key
                are accepted until " (time(Some(rotation.grace_until)))
                " (a grace of " (format_duration(rotation.grace)) "); after that only the new key works." }
            @if rotation.credential == Credential::Md5Key {
                p { "The md5Key belongs to message source " strong { (rotation.merchant.msg_src) }
                    ": every merchant of it took the new key ("
                    (rotation.merchants.join(", ")) ")." }
            }
            p { a href=(to) { "Back to the merchant" } }
        }
    };
    let title = format!("Merchant {mid}: new {name}");
    page(&ctx, Page::Merchants, &title, None, content).into_response()
}
