//! Cross-cutting layers: the admin token check, and the HTTP metrics and request span.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{HeaderName, HeaderValue, AUTHORIZATION};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tracing::Instrument as _;

use super::ApiError;
use crate::metrics::Metrics;

/// The admin token, kept only as its digest so comparisons take the same time whatever
/// the input's length or content.
#[derive(Clone)]
pub struct AdminToken(Option<Arc<[u8; 32]>>);

impl AdminToken {
    pub fn new(token: Option<String>) -> Self {
        Self(token.map(|t| Arc::new(Sha256::digest(t.as_bytes()).into())))
    }

    fn accepts(&self, header: Option<&str>) -> bool {
        let Some(expected) = &self.0 else {
            return true;
        };
        let Some(given) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(given.trim().as_bytes()).into();
        digest.ct_eq(expected.as_ref()).into()
    }
}

pub async fn require_admin(
    State(token): State<AdminToken>,
    request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    if token.accepts(header) {
        next.run(request).await
    } else {
        ApiError::unauthorized().into_response()
    }
}

/// The header that carries a request's id: taken from the client when it sends a usable
/// one, made up otherwise, and always returned on the answer.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Counts and times every request by method and matched route template, inside a span
/// that carries the method, the route and the request id, so every log line of the
/// request names them.
pub async fn track_http(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_owned();
    let method = request.method().as_str().to_owned();
    let request_id = request_id(request.headers().get(&REQUEST_ID));
    let span = tracing::info_span!("request", %method, %route, request_id = %request_id);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span).await;
    metrics
        .http_requests
        .with_label_values(&[&method, &route, response.status().as_str()])
        .inc();
    metrics
        .http_duration
        .with_label_values(&[&method, &route])
        .observe(started.elapsed().as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The client's request id if it is short printable ASCII, else a fresh random one.
fn request_id(given: Option<&HeaderValue>) -> String {
    given
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| format!("{:016x}", rand::random::<u64>()), str::to_owned)
}
