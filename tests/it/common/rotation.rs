//! Helpers of the rotation tests: rotating a key through the admin API, a merchant
//! signing with a given key, and a snapshot of everything a refused rotation must leave
//! as it was.

use serde_json::{json, Value};
use ums_notify::db::{Sql, Ts};

use super::platform::{Counter, Counts, Merchant};
use super::TestApp;

/// `POST /admin/v1/merchants/{mid}/rotate` with `body`: status and answer.
pub async fn rotate(app: &TestApp, mid: &str, body: Value) -> (u16, Value) {
    app.post(&format!("/admin/v1/merchants/{mid}/rotate"), body)
        .await
}

/// Rotates `credential` of `mid` with `grace`, which must be accepted; the answer.
pub async fn rotated(app: &TestApp, mid: &str, credential: &str, grace: &str) -> Value {
    let (status, answer) =
        rotate(app, mid, json!({"credential": credential, "grace": grace})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["credential"], credential, "{answer}");
    answer
}

/// The answer's new key.
pub fn new_key(answer: &Value) -> String {
    answer["key"]
        .as_str()
        .unwrap_or_else(|| panic!("no key in {answer}"))
        .to_owned()
}

/// `merchant` signing with `key` instead of its own.
pub fn with_key(merchant: &Merchant, key: &str) -> Merchant {
    Merchant {
        app_key: key.to_owned(),
        ..merchant.clone()
    }
}

/// The rotations a merchant view shows in their grace, as `(credential, grace_until)`.
pub fn graces(view: &Value) -> Vec<(String, String)> {
    view["rotations"]
        .as_array()
        .unwrap_or_else(|| panic!("no rotations in {view}"))
        .iter()
        .map(|r| {
            (
                r["credential"].as_str().expect("credential").to_owned(),
                r["grace_until"].as_str().expect("grace_until").to_owned(),
            )
        })
        .collect()
}

/// Everything a rotation could change: every merchant as the admin API shows it (keys,
/// graces, `updated_at`), the row counts, and every access token's expiry.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    merchants: Value,
    counts: Counts,
    tokens: Vec<(String, Ts)>,
}

pub async fn snapshot(app: &TestApp, counter: &Counter) -> Snapshot {
    let (status, merchants) = app.get("/admin/v1/merchants").await;
    assert_eq!(status, 200, "{merchants}");
    let sql = Sql::new("SELECT token_hash, expires_at FROM access_tokens ORDER BY token_hash");
    let tokens: Vec<(String, Ts)> = counter
        .database()
        .read_all(&sql)
        .await
        .expect("read tokens");
    Snapshot {
        merchants,
        counts: counter.counts().await,
        tokens,
    }
}
