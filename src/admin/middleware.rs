//! Cross-cutting layers: the HTTP metrics and the request span (who may call what is
//! [`crate::access::gate`]'s).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::metrics::Metrics;

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
