//! The HTTP surface: admin API, health and metrics, plus the routes other modules (the
//! platform simulation) mount beside them.

pub mod actions;
pub mod create_request;
pub mod duplicates;
pub mod error;
pub mod extract;
pub mod health;
pub mod listing;
pub mod middleware;
pub mod notifications;
pub mod openapi;
pub mod page;
pub mod replay;
pub mod scoped;
pub mod views;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::{Extension, Router};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::Clock;
use crate::delivery::Wakeup;
use crate::egress::EgressGuard;
use crate::metrics::Metrics;
use crate::outbox::Store;
use crate::policy::RetryPolicy;

pub use error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub metrics: Metrics,
    pub clock: Clock,
    pub wakeup: Wakeup,
    pub defaults: Arc<NotificationDefaults>,
    /// Which destinations may be given and sent to.
    pub egress: EgressGuard,
}

impl AppState {
    /// The outbox door of the admin API's own enqueues and of other producers.
    pub fn producer(&self) -> crate::producer::Producer {
        crate::producer::Producer {
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            wakeup: self.wakeup.clone(),
            clock: self.clock.clone(),
            egress: self.egress.clone(),
        }
    }
}

/// The policy a notification gets when its request does not set one.
#[derive(Debug, Clone)]
pub struct NotificationDefaults {
    pub policy: RetryPolicy,
    pub max_body_bytes: usize,
}

/// The largest batch request body, whatever the single-notification limit.
pub const BATCH_REQUEST_LIMIT: usize = 16 * 1024 * 1024;

/// The whole router and its OpenAPI description, built from the same route list:
/// every route is registered from its handler's `#[utoipa::path]`, so the two cannot
/// disagree. `gate` guards everything under `/admin`.
pub fn router(
    state: AppState,
    gate: crate::access::gate::Gate,
    admin_extra: OpenApiRouter<AppState>,
    public_extra: OpenApiRouter<AppState>,
) -> Router {
    // JSON escaping can double a body; leave room for it and the envelope.
    let request_limit = state.defaults.max_body_bytes * 2 + 64 * 1024;
    let (schemas, paths, batch) = routes!(notifications::create_batch);
    let batch = batch.layer(DefaultBodyLimit::max(
        request_limit.max(BATCH_REQUEST_LIMIT),
    ));
    let admin = OpenApiRouter::new()
        .routes(routes!(notifications::create, listing::list))
        .routes((schemas, paths, batch))
        .routes(routes!(notifications::show))
        .routes(routes!(actions::redeliver))
        .routes(routes!(replay::redeliver_matching))
        .routes(routes!(actions::deliver_now))
        .routes(routes!(actions::cancel))
        .routes(routes!(notifications::stats))
        .routes(routes!(duplicates::duplicate))
        .merge(admin_extra)
        .layer(axum::middleware::from_fn_with_state(
            gate,
            crate::access::gate::admit,
        ));
    let (router, description) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/admin/v1", admin)
        .merge(public_extra)
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(openapi::openapi_json))
        .split_for_parts();
    router
        .layer(Extension(openapi::Description::new(description)))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(request_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            middleware::track_http,
        ))
        .with_state(state)
}

async fn fallback() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that method",
    )
}
