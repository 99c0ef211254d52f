//! What the platform's API answers a request it cannot route: a path under `/v1/` that
//! names no API (HTTP 404, `4004`) and an API called with a method it does not take
//! (HTTP 405, `4005`, with `Allow`).
//!
//! Both are answered in the gateway's shape, `{"errCode", "errInfo"}`, not netpay's
//! `{"errCode", "errMsg"}` nor the admin API's `{"error": …}`. Routing is the gateway's
//! work, done before any product sees the request, and the gateway answers its own
//! refusals this way (authentication failures, which the netpay APIs also keep). Every
//! platform client reads `errCode` first, and the clients that read netpay answers fall
//! back from `errMsg` to `errInfo` for exactly these gateway answers; a client that only
//! knows the admin API's shape would find no `errCode` at all.

use axum::http::{Method, Uri};
use utoipa_axum::router::UtoipaMethodRouter;

use crate::platform::http::open::error::PlatformError;
use crate::platform::wire::errcode::ErrCode;

/// A path under `/v1/` that names no platform API.
pub async fn no_such_api(method: Method, uri: Uri) -> PlatformError {
    PlatformError::new(
        ErrCode::NoSuchApi,
        format!(
            "no platform API at {method} {}; /openapi.json lists the APIs",
            truncate(uri.path())
        ),
    )
}

/// `routes` (one path of the API) with its wrong-method answer in the gateway's shape,
/// naming the methods the path takes.
pub fn gateway_answers<S>(routes: UtoipaMethodRouter<S>) -> UtoipaMethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    let (schemas, paths, router) = routes;
    let mut expected: Vec<&str> = Vec::new();
    for item in paths.paths.values() {
        for (method, operation) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ] {
            if operation.is_some() && !expected.contains(&method) {
                expected.push(method);
            }
        }
    }
    let expected = expected.join(", ");
    let router = router.fallback(move |method: Method, uri: Uri| {
        let expected = expected.clone();
        async move {
            PlatformError::new(
                ErrCode::MethodNotAllowed,
                format!("{} takes {expected}, not {method}", truncate(uri.path())),
            )
        }
    });
    (schemas, paths, router)
}

fn truncate(path: &str) -> String {
    path.chars().take(200).collect()
}
