//! Who may use the console and which forms count: sign-in with the admin token or a
//! merchant access key, the session cookie, and the form token that every
//! state-changing request must carry.
//!
//! - The operator's session cookie holds `HMAC-SHA256(admin token, "console session")`,
//!   never the token itself. A merchant's holds its key's id and an HMAC of it under the
//!   console's secret, never the key; it is checked against the live keys on every
//!   request, so revoking the key ends the session at once. Both are HttpOnly,
//!   SameSite=Strict and scoped to `/console`.
//! - Every form carries a token derived from the console's secret (from the admin
//!   token, or, when none is configured, drawn at start-up) and the session's principal.
//!   A POST without the right one is refused, as is any POST a browser marks as
//!   cross-site (`Sec-Fetch-Site`) or whose `Origin` is another host.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use hmac::{Hmac, Mac};
use maud::html;
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::layout::{page, Page};
use super::Console;
use crate::access::keys::{AccessKeys, KEY_PREFIX};
use crate::access::Principal;

const COOKIE: &str = "ums_console";

/// A merchant's session cookie starts with this, then the key's id, a dot and the MAC.
const MERCHANT_SESSION: &str = "k.";

/// The console's secrets and the keys merchants sign in with. Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    /// The admin token, when one is configured: signing in is then required.
    token: Option<Arc<String>>,
    /// The key form tokens and merchant sessions are derived from.
    form_key: Arc<Vec<u8>>,
    keys: AccessKeys,
    /// Refused sign-ins (`ums_notify_auth_failures_total{surface="console"}`).
    failures: prometheus::IntCounter,
}

/// What a page needs to know about its request.
#[derive(Clone)]
pub struct Ctx {
    /// The token every form of this page carries.
    pub form_token: String,
    /// Whether signing out means anything (a session was needed to get here).
    pub signed_in: bool,
    /// Who the page is shown to: a merchant sees only its own merchant.
    pub principal: Principal,
}

fn mac(key: &[u8], message: &str) -> String {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

impl Sessions {
    pub fn new(token: Option<String>, keys: AccessKeys, failures: prometheus::IntCounter) -> Self {
        let form_key = match &token {
            Some(token) => mac(token.as_bytes(), "console form key").into_bytes(),
            None => rand::random::<[u8; 32]>().to_vec(),
        };
        Self {
            token: token.map(Arc::new),
            form_key: Arc::new(form_key),
            keys,
            failures,
        }
    }

    fn session_value(token: &str) -> String {
        mac(token.as_bytes(), "console session")
    }

    fn merchant_session_value(&self, key_id: &str) -> String {
        let tag = mac(&self.form_key, &format!("console session {key_id}"));
        format!("{MERCHANT_SESSION}{key_id}.{tag}")
    }

    /// Who the request's session is, if it may see the console.
    async fn admitted(&self, headers: &HeaderMap) -> anyhow::Result<Option<Principal>> {
        let given = cookie(headers, COOKIE);
        if let Some(key_id) = given
            .as_deref()
            .and_then(|value| value.strip_prefix(MERCHANT_SESSION))
            .and_then(|rest| rest.split_once('.'))
            .map(|(key_id, _)| key_id.to_owned())
        {
            let expected = self.merchant_session_value(&key_id);
            if !given.as_deref().is_some_and(|given| same(given, &expected)) {
                return Ok(None);
            }
            return Ok(self
                .keys
                .owner_of(&key_id)
                .await?
                .map(|mid| Principal::Merchant { mid, key_id }));
        }
        let Some(token) = &self.token else {
            return Ok(Some(Principal::Operator));
        };
        let expected = Self::session_value(token);
        Ok(given
            .is_some_and(|given| same(&given, &expected))
            .then_some(Principal::Operator))
    }

    /// The form token of `principal`'s pages.
    pub fn form_token(&self, principal: &Principal) -> String {
        match principal {
            Principal::Operator => mac(&self.form_key, "console form"),
            Principal::Merchant { key_id, .. } => {
                mac(&self.form_key, &format!("console form {key_id}"))
            }
        }
    }

    /// What the pages shown to `principal` need.
    pub fn ctx(&self, principal: Principal) -> Ctx {
        Ctx {
            form_token: self.form_token(&principal),
            signed_in: self.token.is_some() || !principal.is_operator(),
            principal,
        }
    }
}

/// The value of cookie `name`, if the request carries it.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A POST that a browser says came from another site, or whose `Origin` is not this host.
fn cross_site(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(fetch_site, Some("cross-site" | "same-site")) {
        return true;
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            origin_host != host
        }
        _ => false,
    }
}

/// Admits signed-in requests (redirecting others to the sign-in page) and refuses
/// cross-site state changes. Form tokens are checked where forms are read.
pub async fn guard(State(console): State<Console>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let public = path == "/console/sign-in" || path.starts_with("/console/assets/");
    if request.method() == Method::POST && cross_site(request.headers()) {
        return (
            StatusCode::FORBIDDEN,
            "cross-site requests cannot change anything here",
        )
            .into_response();
    }
    let admitted = match console.session.admitted(request.headers()).await {
        Ok(admitted) => admitted,
        Err(error) => return super::internal(error),
    };
    let Some(principal) = admitted.or_else(|| public.then_some(Principal::Operator)) else {
        if request.method() == Method::GET {
            let next_page = request
                .uri()
                .path_and_query()
                .map_or("/console", |p| p.as_str());
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", next_page)
                .finish();
            return Redirect::to(&format!("/console/sign-in?{query}")).into_response();
        }
        return (StatusCode::UNAUTHORIZED, "sign in first").into_response();
    };
    let ctx = if public {
        console.session.ctx(Principal::Operator)
    } else {
        console.session.ctx(principal)
    };
    request.extensions_mut().insert(ctx.principal.clone());
    request.extensions_mut().insert(ctx);
    next.run(request).await
}

/// The refusal of a form without its page's form token; `None` when it has it.
pub fn check_form_token(ctx: &Ctx, given: &str) -> Option<Response> {
    if same(given, &ctx.form_token) {
        return None;
    }
    Some(
        (
            StatusCode::FORBIDDEN,
            "this form is stale or did not come from the console; reload the page and try again",
        )
            .into_response(),
    )
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    error: Option<String>,
}

/// Only a console page may be the target after signing in.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(next) if next.starts_with("/console") && !next.starts_with("//") => next,
        _ => "/console/notifications",
    }
}

pub async fn sign_in_page(
    State(console): State<Console>,
    axum::extract::Query(query): axum::extract::Query<NextQuery>,
) -> Response {
    let ctx = console.session.ctx(Principal::Operator);
    let next = safe_next(query.next.as_deref()).to_owned();
    page(
        &ctx,
        Page::SignIn,
        "Sign in",
        query.error.as_deref().map(|e| Err(e.to_owned())),
        html! {
            div.card style="max-width: 28rem" {
                p { "Sign in with the service's admin token (" code { "UMS_NOTIFY_ADMIN_TOKEN" } "), or with a merchant access key (" code { "umsk_…" } ") to see that merchant only." }
                form method="post" action="/console/sign-in" class="stack" {
                    input type="hidden" name="next" value=(next);
                    label { "Admin token or access key"
                        input type="password" name="token" autocomplete="current-password" required autofocus style="width: 100%";
                    }
                    button type="submit" { "Sign in" }
                }
            }
        },
    )
    .into_response()
}

#[derive(Deserialize)]
pub struct SignInForm {
    token: String,
    next: Option<String>,
}

pub async fn sign_in(State(console): State<Console>, Form(form): Form<SignInForm>) -> Response {
    let sessions = &console.session;
    let next = safe_next(form.next.as_deref()).to_owned();
    let given = form.token.trim();
    let value = if given.starts_with(KEY_PREFIX) {
        match sessions.keys.holder(given).await {
            Ok(Some(holder)) => Some(sessions.merchant_session_value(&holder.key_id)),
            Ok(None) => None,
            Err(error) => return super::internal(error),
        }
    } else {
        match &sessions.token {
            None => return Redirect::to(&next).into_response(),
            Some(token) => same(given, token).then(|| Sessions::session_value(token)),
        }
    };
    let Some(value) = value else {
        sessions.failures.inc();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &next)
            .append_pair(
                "error",
                "That is neither the admin token nor a live merchant access key.",
            )
            .finish();
        return Redirect::to(&format!("/console/sign-in?{query}")).into_response();
    };
    let cookie = format!("{COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict");
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub form_token: String,
}

pub async fn sign_out(
    axum::Extension(ctx): axum::Extension<Ctx>,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Some(refused) = check_form_token(&ctx, &form.form_token) {
        return refused;
    }
    let cookie = format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/console/sign-in"),
    )
        .into_response()
}
