//! A relay-mode merchant's notices go down its `listen` session byte for byte, are judged
//! by their own success rule, fail `relay_offline` while no session is connected and are
//! delivered once one is again; a newer session replaces the older, which exits. Each
//! test runs on SQLite and PostgreSQL.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::listen::ListenProcess;
use crate::common::payments::{create_merchant, MID_A};
use crate::common::{eventually, metric_value, Receiver, Reply, TestApp, TestDb, ADMIN_TOKEN};

both_backends!(
    notices_are_relayed_byte_for_byte_and_judged,
    a_session_needs_a_merchant_key_and_a_newer_one_replaces_it,
);

const WAIT: Duration = Duration::from_secs(20);

async fn issue_key(app: &TestApp, mid: &str) -> String {
    let (status, issued) = app
        .post(
            &format!("/admin/v1/merchants/{mid}/access-keys"),
            json!({"name": "relay"}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    issued["key"].as_str().unwrap().to_owned()
}

async fn as_key(app: &TestApp, key: &str, path: &str, body: Value) -> Value {
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{answer}");
    answer
}

async fn relay_status(app: &TestApp) -> Value {
    let (status, body) = app.get(&format!("/admin/v1/merchants/{MID_A}/relay")).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn wait_live(app: &TestApp, live: bool) {
    let reached = eventually(WAIT, || async { relay_status(app).await["live"] == live }).await;
    assert!(
        reached,
        "relay live never became {live}: {}",
        relay_status(app).await
    );
}

fn listen(app: &TestApp, key: &str, receiver: &Receiver) -> ListenProcess {
    ListenProcess::start(&[
        "--sandbox",
        &app.base,
        "--key",
        key,
        "--forward-to",
        &receiver.url("/local"),
        "--take-over",
        "--format",
        "json",
    ])
}

fn attempts(notification: &Value) -> Vec<Value> {
    notification["attempt_log"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn notices_are_relayed_byte_for_byte_and_judged(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    create_merchant(&app, MID_A, json!({})).await;
    let key = issue_key(&app, MID_A).await;
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let mut first = listen(&app, &key, &receiver);
    first.wait_for_stderr("Ready", WAIT).await;
    wait_live(&app, true).await;
    let status = relay_status(&app).await;
    assert_eq!(status["delivery"], "relay", "{status}");
    assert!(
        status["session"]["from"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "{status}"
    );

    // A form body with `+`, `%` and Chinese text, and a JSON body: byte for byte.
    let form = "amount=1+2&rate=5%25&raw=%&name=商户+测试&memo=支付成功";
    let success = json!({"body": "SUCCESS"});
    let made = as_key(
        &app,
        &key,
        "/admin/v1/notifications",
        json!({
            "url": "http://127.0.0.1:1/unreachable", "body_text": form,
            "content_type": "application/x-www-form-urlencoded; charset=UTF-8",
            "headers": {"X-Trace": "t-1"}, "success": success,
        }),
    )
    .await;
    let form_id = made["id"].as_i64().unwrap();
    let made = as_key(&app, &key, "/admin/v1/notifications", json!({
        "url": "http://127.0.0.1:1/unreachable", "body": {"订单": "42", "amount": 1.50, "note": "a+b%c"},
        "success": success,
    }))
    .await;
    let json_id = made["id"].as_i64().unwrap();
    app.wait_for_status(form_id, "delivered", WAIT).await;
    app.wait_for_status(json_id, "delivered", WAIT).await;
    let got = receiver.wait_for(2, WAIT).await;
    for id in [form_id, json_id] {
        let stored = app.store.get(id).await.unwrap().expect("stored");
        let matching: Vec<_> = got
            .iter()
            .filter(|r| r.body.as_ref() == stored.body.as_slice())
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "notification {id}'s bytes reached the handler unchanged"
        );
        assert_eq!(matching[0].path, "/local");
        assert_eq!(
            matching[0].headers["content-type"].to_str().unwrap(),
            stored.content_type,
        );
    }
    let form_got = got
        .iter()
        .find(|r| r.body.as_ref() == form.as_bytes())
        .expect("form body");
    assert_eq!(form_got.headers["x-trace"], "t-1");
    let lines = first.wait_for_lines(2, WAIT).await;
    let line: Value = serde_json::from_str(&lines[0]).expect("a JSON line");
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(line["kind"], "generic", "{line}");

    // An answer that is not SUCCESS is judged by the notice's rule: a failed try.
    receiver.then([Reply::Body(200, "FAIL")]);
    let made = as_key(&app, &key, "/admin/v1/notifications", json!({
        "url": "http://127.0.0.1:1/unreachable", "body_text": "x=1", "content_type": "text/plain", "success": success,
        "retry_schedule": ["1s"],
    }))
    .await;
    let judged_id = made["id"].as_i64().unwrap();
    let judged = app.wait_for_status(judged_id, "delivered", WAIT).await;
    let tries = attempts(&judged);
    assert_eq!(tries.len(), 2, "{judged:#}");
    assert_eq!(
        tries
            .iter()
            .filter(|t| t["failure_kind"] == "unexpected_body")
            .count(),
        1,
        "{judged:#}"
    );

    // No session: the try fails relay_offline and waits for the schedule.
    first.child.kill().await.unwrap();
    wait_live(&app, false).await;
    let made = as_key(&app, &key, "/admin/v1/notifications", json!({
        "url": "http://127.0.0.1:1/unreachable", "body_text": "y=2", "content_type": "text/plain", "retry_schedule": ["1s"],
        "max_attempts": 10,
    }))
    .await;
    let offline_id = made["id"].as_i64().unwrap();
    let offline = app.wait_for_retry(offline_id, 1, WAIT).await;
    assert_eq!(
        attempts(&offline)[0]["failure_kind"],
        "relay_offline",
        "{offline:#}"
    );
    let metrics = app.metrics().await;
    assert!(
        metric_value(
            &metrics,
            "ums_notify_attempts_total{outcome=\"relay_offline\"}"
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{metrics}"
    );

    // A new session delivers it.
    let second = listen(&app, &key, &receiver);
    second.wait_for_stderr("Ready", WAIT).await;
    let delivered = app.wait_for_status(offline_id, "delivered", WAIT).await;
    assert_eq!(
        attempts(&delivered).last().unwrap()["status_code"],
        200,
        "{delivered:#}"
    );
    app.stop().await;
}

async fn a_session_needs_a_merchant_key_and_a_newer_one_replaces_it(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    create_merchant(&app, MID_A, json!({})).await;
    let key = issue_key(&app, MID_A).await;
    let receiver = Receiver::start(Reply::Status(200)).await;

    // The operator's token names no merchant: refused, and listen says why.
    let mut operator = listen(&app, ADMIN_TOKEN, &receiver);
    let status = tokio::time::timeout(WAIT, operator.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    operator
        .wait_for_stderr("merchant_key_required", WAIT)
        .await;
    // Not a WebSocket: a JSON error.
    let (code, body) = app.get("/admin/v1/relay/session").await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (403, Some("merchant_key_required"))
    );
    let plain = app
        .http
        .get(app.url("/admin/v1/relay/session"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);
    let plain: Value = plain.json().await.unwrap();
    assert_eq!(plain["error"]["code"], "websocket_required");

    let mut older = listen(&app, &key, &receiver);
    older.wait_for_stderr("Ready", WAIT).await;
    let newer = listen(&app, &key, &receiver);
    newer.wait_for_stderr("Ready", WAIT).await;
    let status = tokio::time::timeout(WAIT, older.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    older.wait_for_stderr("replaced", WAIT).await;
    wait_live(&app, true).await;

    // The delivery setting through the API, with a stable code for a bad value.
    let (code, body) = app
        .patch(
            &format!("/admin/v1/merchants/{MID_A}"),
            json!({"delivery": "pigeon"}),
        )
        .await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (422, Some("invalid_delivery")),
        "{body}"
    );
    let (code, body) = app
        .patch(
            &format!("/admin/v1/merchants/{MID_A}"),
            json!({"delivery": "http"}),
        )
        .await;
    assert_eq!(
        (code, body["delivery"].as_str()),
        (200, Some("http")),
        "{body}"
    );
    drop(newer);
    app.stop().await;
}
