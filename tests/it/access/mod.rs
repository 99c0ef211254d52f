//! Merchant access keys and the scope they give: keys issued, listed and revoked; two
//! merchants on one sandbox walked through every admin route; the console signed in
//! with a key.

mod console;
mod keys;
mod scope;

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::TestApp;

/// Issues an access key for merchant `mid` as the operator: its id and secret.
pub async fn issue_key(app: &TestApp, mid: &str) -> (String, String) {
    let (status, issued) = app
        .post(
            &format!("/admin/v1/merchants/{mid}/access-keys"),
            json!({"name": "test"}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    (
        issued["id"].as_str().unwrap().to_owned(),
        issued["key"].as_str().unwrap().to_owned(),
    )
}

/// A request with `key` as the bearer: status, `Retry-After` and body.
pub async fn with_key(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Option<String>, Value) {
    let mut request = app.http.request(method, app.url(path)).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, retry_after, body)
}
