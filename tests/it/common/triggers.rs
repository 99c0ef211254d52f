//! Helpers of the trigger and replay tests: a merchant notified at a receiver that
//! answers `SUCCESS`, firing a fixture, and the `ums-notify` binary as a client.

use serde_json::{json, Value};

use super::payments::create_merchant;
use super::{Receiver, Reply, TestApp};

/// A receiver that accepts every notice of both families, and merchant `mid` notified
/// at it (every payment change notifies unless `extra` says otherwise).
pub async fn merchant_at_receiver(app: &TestApp, mid: &str, extra: Value) -> (Receiver, Value) {
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let mut settings = json!({"notify_url": receiver.url("/notify")});
    settings
        .as_object_mut()
        .expect("an object")
        .extend(extra.as_object().expect("extra is an object").clone());
    let merchant = create_merchant(app, mid, settings).await;
    (receiver, merchant)
}

/// `POST /admin/v1/merchants/{mid}/triggers`: status and answer.
pub async fn fire(app: &TestApp, mid: &str, fixture: &str, set: Value) -> (u16, Value) {
    app.post(
        &format!("/admin/v1/merchants/{mid}/triggers"),
        json!({"fixture": fixture, "set": set}),
    )
    .await
}

/// The ids of an answer's `notification_ids`.
pub fn ids(answer: &Value) -> Vec<i64> {
    answer["notification_ids"]
        .as_array()
        .unwrap_or_else(|| panic!("no notification_ids: {answer}"))
        .iter()
        .map(|id| id.as_i64().expect("an id"))
        .collect()
}

/// The `ums-notify` binary with `args` and no sandbox or key from the environment: exit
/// code, stdout, stderr.
pub async fn ums(args: &[&str]) -> (i32, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_ums-notify"))
        .args(args)
        .env("UMS_NOTIFY_LOG", "warn")
        .env_remove("UMS_NOTIFY_SANDBOX")
        .env_remove("UMS_NOTIFY_KEY")
        .output()
        .await
        .expect("run ums-notify");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
