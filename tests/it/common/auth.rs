//! Helpers of the authentication tests: their fixed start time, token requests signed
//! here, and a check that a refused request was answered with its errCode and changed
//! nothing.

use serde_json::{json, Value};

use super::platform::{at, nonce, token_signature, Counter};
use super::TestApp;

/// The fixed time the authentication tests start at.
pub fn t0() -> chrono::DateTime<chrono::Utc> {
    at("2024-07-01T02:00:00Z")
}

pub fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// A token request at `ts` with a new nonce, signed with `key`.
pub fn token_request(app_id: &str, ts: &str, key: &str) -> Value {
    let nonce = nonce();
    json!({
        "appId": app_id, "timestamp": ts, "nonce": nonce, "signMethod": "SHA256",
        "signature": token_signature(app_id, ts, &nonce, key),
    })
}

/// Sends a request that must be refused with `code` and change nothing.
pub async fn refused(
    app: &TestApp,
    counter: &Counter,
    path: &str,
    auth: Option<&str>,
    body: &[u8],
    code: &str,
) {
    let before = counter.counts().await;
    let (status, answer) = app.platform(path, auth, body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["errCode"],
        code,
        "{auth:?} {}: {answer}",
        String::from_utf8_lossy(body)
    );
    assert!(!answer["errInfo"].as_str().unwrap_or_default().is_empty());
    assert_eq!(counter.counts().await, before, "{auth:?}: {answer}");
}
