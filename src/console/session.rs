//! Who may use the console and which forms count: sign-in with the admin token, the
//! session cookie, and the form token that every state-changing request must carry.
//!
//! - The session cookie holds `HMAC-SHA256(admin token, "console session")`, never the
//!   token itself; it is HttpOnly, SameSite=Strict and scoped to `/console`.
//! - Every form carries a token derived from the same secret (or, when no admin token is
//!   configured, from a secret drawn at start-up). A POST without the right one is
//!   refused, as is any POST a browser marks as cross-site (`Sec-Fetch-Site`) or whose
//!   `Origin` is another host.

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

const COOKIE: &str = "ums_console";

/// The console's secrets. Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    /// The admin token, when one is configured: signing in is then required.
    token: Option<Arc<String>>,
    /// The key form tokens are derived from.
    form_key: Arc<Vec<u8>>,
}

/// What a page needs to know about its request.
#[derive(Clone)]
pub struct Ctx {
    /// The token every form of this page carries.
    pub form_token: String,
    /// Whether signing out means anything (an admin token is configured).
    pub signed_in: bool,
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
    pub fn new(token: Option<String>) -> Self {
        let form_key = match &token {
            Some(token) => mac(token.as_bytes(), "console form key").into_bytes(),
            None => rand::random::<[u8; 32]>().to_vec(),
        };
        Self {
            token: token.map(Arc::new),
            form_key: Arc::new(form_key),
        }
    }

    fn session_value(token: &str) -> String {
        mac(token.as_bytes(), "console session")
    }

    /// Whether the request may see the console.
    fn admitted(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let expected = Self::session_value(token);
        cookie(headers, COOKIE).is_some_and(|given| same(&given, &expected))
    }

    pub fn form_token(&self) -> String {
        mac(&self.form_key, "console form")
    }

    pub fn ctx(&self) -> Ctx {
        Ctx {
            form_token: self.form_token(),
            signed_in: self.token.is_some(),
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
    if !public && !console.session.admitted(request.headers()) {
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
    }
    request.extensions_mut().insert(console.session.ctx());
    next.run(request).await
}

/// The refusal of a form without this console's form token; `None` when it has it.
pub fn check_form_token(console: &Console, given: &str) -> Option<Response> {
    if same(given, &console.session.form_token()) {
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
    let ctx = console.session.ctx();
    let next = safe_next(query.next.as_deref()).to_owned();
    page(
        &ctx,
        Page::SignIn,
        "Sign in",
        query.error.as_deref().map(|e| Err(e.to_owned())),
        html! {
            div.card style="max-width: 28rem" {
                p { "Sign in with the service's admin token (" code { "UMS_NOTIFY_ADMIN_TOKEN" } ")." }
                form method="post" action="/console/sign-in" class="stack" {
                    input type="hidden" name="next" value=(next);
                    label { "Admin token"
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
    let next = safe_next(form.next.as_deref()).to_owned();
    let Some(token) = &console.session.token else {
        return Redirect::to(&next).into_response();
    };
    if !same(&form.token, token) {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &next)
            .append_pair("error", "That is not the admin token.")
            .finish();
        return Redirect::to(&format!("/console/sign-in?{query}")).into_response();
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/console; HttpOnly; SameSite=Strict",
        Sessions::session_value(token)
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub form_token: String,
}

pub async fn sign_out(State(console): State<Console>, Form(form): Form<TokenForm>) -> Response {
    if let Some(refused) = check_form_token(&console, &form.form_token) {
        return refused;
    }
    let cookie = format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/console/sign-in"),
    )
        .into_response()
}
