//! The web console at `/console`: server-rendered pages over the same services as the
//! admin API (and with its messages), with its assets compiled into the binary (no CDN,
//! no build step).
//!
//! - [`session`] — sign-in with the admin token or a merchant access key (an HttpOnly,
//!   SameSite=Strict cookie) and the per-form token that guards every state change
//!   against cross-site requests. A merchant's session shows only its own merchant:
//!   each page confines itself to the principal in [`session::Ctx`];
//! - [`layout`] — the page shell, the stylesheet and the small script;
//! - [`states`] — every state shown by its name and a colour, one way for all;
//! - [`notifications`], [`merchants`] (with the [`rotation`] of their keys and their
//!   [`access_keys`]),
//!   [`contracts`], [`orders`], [`codes`] (fixed QR codes, scanned from the page) — the
//!   pages, with [`triggers`] (a merchant's trigger form, a list's bulk redeliver).
//!
//! With no admin token configured (allowed on loopback only), the console is open, like
//! the API.

pub mod access_keys;
pub mod checks;
pub mod codes;
pub mod contracts;
pub mod layout;
pub mod merchants;
pub mod notifications;
pub mod orders;
pub mod relay;
pub mod rotation;
pub mod session;
pub mod states;
pub mod triggers;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::admin::{ApiError, AppState};
use crate::check::admin::Checks;
use crate::platform::Sandbox;

/// What every console handler reaches.
#[derive(Clone)]
pub struct Console {
    pub app: AppState,
    pub sandbox: Sandbox,
    pub checks: Checks,
    pub session: session::Sessions,
}

/// The console's routes, mounted at the root (they all start with `/console`).
pub fn router(
    app: AppState,
    checks: Checks,
    admin_token: Option<String>,
    gate: crate::access::gate::Gate,
) -> Router {
    let failures = gate
        .failures
        .with_label_values(&["console", "unknown_credentials"]);
    let console = Console {
        app,
        sandbox: checks.sandbox.clone(),
        checks,
        session: session::Sessions::new(admin_token, gate.keys, failures),
    };
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::to("/console/notifications") }),
        )
        .route("/console/assets/console.css", get(stylesheet))
        .route("/console/assets/console.js", get(script))
        .route(
            "/console/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/notifications", get(notifications::list))
        .route("/console/notifications/redeliver", post(triggers::replay))
        .route("/console/notifications/{id}", get(notifications::show))
        .route(
            "/console/notifications/{id}/{action}",
            post(notifications::act),
        )
        .route(
            "/console/merchants",
            get(merchants::list).post(merchants::create),
        )
        .route(
            "/console/merchants/{mid}",
            get(merchants::show).post(merchants::update),
        )
        .route("/console/merchants/{mid}/checks", post(checks::start_check))
        .route("/console/merchants/{mid}/rotate", post(rotation::rotate))
        .route(
            "/console/merchants/{mid}/access-keys",
            post(access_keys::issue),
        )
        .route(
            "/console/merchants/{mid}/access-keys/{id}/revoke",
            post(access_keys::revoke),
        )
        .route("/console/merchants/{mid}/triggers", post(triggers::trigger))
        .route("/console/checks/{id}", get(checks::check_run))
        .route("/console/contracts", get(contracts::list))
        .route("/console/contracts/{id}", get(contracts::show))
        .route(
            "/console/contracts/{id}/transitions",
            post(contracts::transition),
        )
        .route("/console/orders", get(orders::list))
        .route("/console/orders/{id}", get(orders::show))
        .route("/console/orders/{id}/transitions", post(orders::transition))
        .route("/console/orders/{id}/refunds", post(orders::refund))
        .route("/console/codes/{qr_code_id}", get(codes::show))
        .route("/console/codes/{qr_code_id}/scans", post(codes::scan))
        .layer(axum::middleware::from_fn_with_state(
            console.clone(),
            session::guard,
        ))
        .with_state(console)
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", layout::STYLESHEET)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", layout::SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// A page that failed on our side: the cause goes to the log, not to the page.
pub fn internal(error: anyhow::Error) -> Response {
    tracing::error!(error = format!("{error:#}"), "console page failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; the service log has the details",
    )
        .into_response()
}

/// Back to `to` after a form's service call, saying what happened: `done` on success,
/// otherwise the admin API's own message for the same refusal (`as_api` gives the API's
/// error) or failure.
pub fn answered<T, R>(
    to: &str,
    outcome: anyhow::Result<Result<T, R>>,
    as_api: impl FnOnce(R) -> ApiError,
    done: String,
) -> Response {
    let outcome = match outcome {
        Ok(Ok(_)) => Ok(done),
        Ok(Err(refused)) => Err(as_api(refused).message),
        Err(error) => Err(ApiError::internal(error).message),
    };
    back(to, outcome)
}

/// Where to go after a form: back to `to`, with a message for the next page.
pub fn back(to: &str, outcome: Result<String, String>) -> Response {
    let (key, text) = match outcome {
        Ok(text) => ("notice", text),
        Err(text) => ("error", text),
    };
    let separator = if to.contains('?') { '&' } else { '?' };
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(key, &text)
        .finish();
    Redirect::to(&format!("{to}{separator}{query}")).into_response()
}
