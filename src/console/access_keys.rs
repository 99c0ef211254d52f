//! Access keys in the console: the card on a merchant's page (its keys, a form to issue
//! one, a button to revoke each) and the page that shows a new key once. Keys go
//! through the same store as the admin API's, confined to the merchant the session sees.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{form_token, page, time, Page};
use super::session::{check_form_token, Ctx};
use super::{back, internal, Console};
use crate::access::keys::{IssueRefused, KeyInfo, MAX_NAME_CHARS};
use crate::platform::http::admin::merchants::visible;

/// The access-key card of merchant `mid`'s page.
pub fn card(ctx: &Ctx, mid: &str, keys: &[KeyInfo]) -> Markup {
    html! {
        div.card #access-keys {
            h2 style="margin-top:0" { "Access keys" }
            p { "A key signs in to this console and the admin API as this merchant only: its
                developers see and change nothing of any other merchant. A new key is shown once." }
            @if keys.is_empty() {
                p.muted { "No keys yet." }
            } @else {
                table {
                    thead { tr { th { "Key" } th { "Name" } th { "Issued" } th {} } }
                    tbody {
                        @for key in keys {
                            tr {
                                td.mono { (key.id) }
                                td { (key.name.as_deref().unwrap_or("—")) }
                                td { (time(Some(key.created_at))) }
                                td {
                                    form method="post" action={ "/console/merchants/" (mid) "/access-keys/" (key.id) "/revoke" } {
                                        (form_token(ctx))
                                        button.secondary type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form method="post" action={ "/console/merchants/" (mid) "/access-keys" } class="filters" {
                (form_token(ctx))
                label { "Name" input name="name" placeholder="laptop" maxlength=(MAX_NAME_CHARS); }
                button type="submit" { "Issue a key" }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    name: String,
}

/// Issues a key and shows it once.
pub async fn issue(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path(mid): Path<String>,
    Form(form): Form<IssueForm>,
) -> Response {
    if let Some(refused) = check_form_token(&ctx, &form.form_token) {
        return refused;
    }
    let to = format!("/console/merchants/{mid}");
    if let Err(refused) = visible(&console.sandbox, &ctx.principal, &mid).await {
        return back(&to, Err(refused.message));
    }
    // An empty field is no name.
    let name = Some(form.name).filter(|name| !name.trim().is_empty());
    let sandbox = &console.sandbox;
    let issued = match sandbox.access_keys.issue(&mid, name, sandbox.now()).await {
        Ok(Ok(issued)) => issued,
        Ok(Err(IssueRefused::NoMerchant)) => {
            return back(&to, Err(format!("merchant {mid:?} does not exist")))
        }
        Ok(Err(refused)) => return back(&to, Err(refused.to_string())),
        Err(error) => return internal(error),
    };
    let content = html! {
        div.card.stack {
            p { "A new access key of merchant " strong { (mid) } ". "
                strong { "It is shown only now" } ": only its digest is kept." }
            div.secret { span { (issued.info.id) } code #new-access-key { (issued.key) }
                button.secondary type="button" data-copy="new-access-key" { "Copy" } }
            p { "Send it as " code { "Authorization: Bearer <key>" } " to the admin API, or sign in
                to this console with it: either way it sees this merchant only." }
            p { a href=(to) { "Back to the merchant" } }
        }
    };
    let title = format!("Merchant {mid}: new access key");
    page(&ctx, Page::Merchants, &title, None, content).into_response()
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    form_token: String,
}

/// Revokes a key at once.
pub async fn revoke(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path((mid, id)): Path<(String, String)>,
    Form(form): Form<RevokeForm>,
) -> Response {
    if let Some(refused) = check_form_token(&ctx, &form.form_token) {
        return refused;
    }
    let to = format!("/console/merchants/{mid}");
    if let Err(refused) = visible(&console.sandbox, &ctx.principal, &mid).await {
        return back(&to, Err(refused.message));
    }
    match console.sandbox.access_keys.revoke(&mid, &id).await {
        Ok(true) => back(&to, Ok(format!("Access key {id} is revoked."))),
        Ok(false) => back(&to, Err(format!("access key {id:?} does not exist"))),
        Err(error) => internal(error),
    }
}
