//! The dispatcher's delivery semantics, end to end: only 200 is success, retries follow the
//! schedule and stop at max_attempts, every try carries the same bytes, failures are
//! classified, redeliver, deliver-now and cancel, and nothing is lost across restarts or
//! shutdowns. Each test runs against SQLite and PostgreSQL.

use std::time::Duration;

use crate::common::{Receiver, Reply, TestDb};
use serde_json::json;

both_backends!(
    delivered_after_one_try_on_200,
    non_200_successes_and_redirects_are_failures,
    timeout_is_recorded_as_timeout,
    refused_connection_is_recorded_as_connect,
    every_try_sends_identical_bytes,
    restart_mid_schedule_keeps_the_schedule,
    hanging_host_does_not_delay_other_hosts,
    redeliver_a_delivered_notification,
    deliver_now_and_cancel_a_waiting_notification,
    shutdown_hands_back_unfinished_tries,
    a_running_try_cannot_be_cancelled_or_redelivered,
    one_worker_never_stalls,
);

async fn delivered_after_one_try_on_200(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    // The body is sent exactly as given, whitespace included.
    let request = format!(
        r#"{{"url": "{}", "body": {{"hello":  "world"}}}}"#,
        receiver.url("/notify")
    );
    let response = app
        .admin(reqwest::Method::POST, "/admin/v1/notifications")
        .header("content-type", "application/json")
        .body(request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let id = response.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let done = app
        .wait_for_status(id, "delivered", Duration::from_secs(10))
        .await;
    assert_eq!(done["attempts"], 1);
    let log = done["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status_code"], 200);
    assert_eq!(log[0]["failure_kind"], json!(null));
    assert_eq!(log[0]["response_body"], "answer");
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/notify");
    assert_eq!(&got[0].body[..], br#"{"hello":  "world"}"#);
    assert_eq!(got[0].headers["content-type"], "application/json");
}

async fn non_200_successes_and_redirects_are_failures(db: TestDb) {
    let target = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    for reply in [
        Reply::Status(201),
        Reply::Status(204),
        Reply::Redirect(target.url("/elsewhere")),
        Reply::Status(404),
    ] {
        let receiver = Receiver::start(reply.clone()).await;
        let id = app
            .enqueue(json!({"url": receiver.url("/n"), "body": {}, "max_attempts": 1}))
            .await;
        let done = app
            .wait_for_status(id, "failed", Duration::from_secs(10))
            .await;
        assert_eq!(
            done["attempt_log"][0]["failure_kind"], "http_status",
            "{reply:?}"
        );
        assert_eq!(receiver.count(), 1);
    }
    assert_eq!(target.count(), 0, "the redirect must not be followed");
}

async fn timeout_is_recorded_as_timeout(db: TestDb) {
    let receiver = Receiver::start(Reply::Hang).await;
    let app = db
        .spawn(|s| {
            s.request_timeout = Duration::from_millis(300);
        })
        .await;
    let id = app
        .enqueue(json!({"url": receiver.url("/n"), "body": {}, "max_attempts": 1}))
        .await;
    let done = app
        .wait_for_status(id, "failed", Duration::from_secs(10))
        .await;
    let attempt = &done["attempt_log"][0];
    assert_eq!(attempt["failure_kind"], "timeout", "{attempt}");
    assert_eq!(attempt["status_code"], json!(null));
    assert!(attempt["duration_ms"].as_i64().unwrap() >= 300);
}

async fn refused_connection_is_recorded_as_connect(db: TestDb) {
    // A port that was just free: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let app = db.spawn(|_| {}).await;
    let id = app
        .enqueue(json!({
            "url": format!("http://127.0.0.1:{port}/n"),
            "body": {},
            "max_attempts": 2,
            "retry_schedule": ["100ms"],
        }))
        .await;
    let done = app
        .wait_for_status(id, "failed", Duration::from_secs(10))
        .await;
    let log = done["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    for attempt in log {
        assert_eq!(attempt["failure_kind"], "connect", "{attempt}");
    }
    assert!(done["last_error"].as_str().unwrap().starts_with("connect"));
}

async fn every_try_sends_identical_bytes(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    receiver.then([Reply::Status(500), Reply::Status(503), Reply::Status(502)]);
    let app = db.spawn(|_| {}).await;
    let text = "mid=123&note=\u{94f6}\u{8054}  spaced\n";
    let id = app
        .enqueue(json!({
            "url": receiver.url("/form"),
            "body_text": text,
            "content_type": "application/x-www-form-urlencoded; charset=utf-8",
            "headers": {"X-Custom": "kept"},
            "retry_schedule": ["50ms"],
        }))
        .await;
    let done = app
        .wait_for_status(id, "delivered", Duration::from_secs(10))
        .await;
    assert_eq!(done["attempts"], 4);
    let got = receiver.received();
    assert_eq!(got.len(), 4);
    for request in &got {
        assert_eq!(&request.body[..], text.as_bytes());
        assert_eq!(
            request.headers["content-type"],
            "application/x-www-form-urlencoded; charset=utf-8"
        );
        assert_eq!(request.headers["x-custom"], "kept");
    }
}

async fn restart_mid_schedule_keeps_the_schedule(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(500)).await;
    let app = db.spawn(|_| {}).await;
    let id = app
        .enqueue(json!({
            "url": receiver.url("/n"),
            "body": {"keep": true},
            "max_attempts": 3,
            "retry_schedule": ["2s"],
        }))
        .await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    let pending = app.wait_for_retry(id, 1, Duration::from_secs(5)).await;
    let planned = pending["next_attempt_at"].as_str().unwrap().to_owned();
    app.stop().await;

    receiver.set_default(Reply::Status(200));
    let app = db.spawn(|_| {}).await;
    let after_restart = app.notification(id).await;
    assert_eq!(after_restart["status"], "pending");
    assert_eq!(after_restart["attempts"], 1);
    assert_eq!(after_restart["next_attempt_at"], planned.as_str());
    let done = app
        .wait_for_status(id, "delivered", Duration::from_secs(10))
        .await;
    assert_eq!(done["attempts"], 2);
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert!(
        got[1].at - got[0].at >= Duration::from_secs(2),
        "the schedule was kept"
    );
    assert_eq!(got[0].body, got[1].body);
}

async fn hanging_host_does_not_delay_other_hosts(db: TestDb) {
    let hanging = Receiver::start(Reply::Hang).await;
    let healthy = Receiver::start(Reply::Status(200)).await;
    let app = db
        .spawn(|s| {
            s.concurrency = 4;
            s.per_host_concurrency = 2;
            s.request_timeout = Duration::from_secs(20);
            s.lease = Duration::from_secs(60);
        })
        .await;
    for i in 0..6 {
        app.enqueue(json!({"url": hanging.url("/slow"), "body": {"i": i}}))
            .await;
    }
    hanging.wait_for(2, Duration::from_secs(5)).await;
    let started = std::time::Instant::now();
    let ids: Vec<i64> = {
        let mut ids = Vec::new();
        for i in 0..3 {
            ids.push(
                app.enqueue(json!({"url": healthy.url("/fast"), "body": {"i": i}}))
                    .await,
            );
        }
        ids
    };
    for id in ids {
        app.wait_for_status(id, "delivered", Duration::from_secs(5))
            .await;
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        hanging.count(),
        2,
        "the hanging host is capped at 2 in flight"
    );
}

/// Redeliver a delivered notification: a new round with the same bytes.
async fn redeliver_a_delivered_notification(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    let id = app
        .enqueue(json!({"url": receiver.url("/r"), "body": {"again": 1}}))
        .await;
    app.wait_for_status(id, "delivered", Duration::from_secs(10))
        .await;
    let (status, body) = app
        .post(
            &format!("/admin/v1/notifications/{id}/redeliver"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let again = app
        .wait_for_status(id, "delivered", Duration::from_secs(10))
        .await;
    assert_eq!(again["attempts"], 2);
    assert_eq!(again["round_attempts"], 1);
    let got = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(got[0].body, got[1].body);
    let (status, body) = app
        .post("/admin/v1/notifications/999999/redeliver", json!({}))
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
}

/// A failing notification waiting an hour is tried at once with deliver-now; cancelled,
/// it stays cancelled, and a second cancel or a deliver-now is a conflict.
async fn deliver_now_and_cancel_a_waiting_notification(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(500)).await;
    let app = db.spawn(|_| {}).await;
    let id = app
        .enqueue(json!({"url": receiver.url("/d"), "body": {}, "retry_schedule": ["1h"]}))
        .await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    app.wait_for_status(id, "pending", Duration::from_secs(5))
        .await;
    let (status, _) = app
        .post(
            &format!("/admin/v1/notifications/{id}/deliver-now"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    receiver.wait_for(2, Duration::from_secs(5)).await;

    app.wait_for_status(id, "pending", Duration::from_secs(5))
        .await;
    let (status, body) = app
        .post(&format!("/admin/v1/notifications/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "cancelled");
    let (status, body) = app
        .post(&format!("/admin/v1/notifications/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "invalid_state");
    let (status, body) = app
        .post(
            &format!("/admin/v1/notifications/{id}/deliver-now"),
            json!({}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
}

async fn shutdown_hands_back_unfinished_tries(db: TestDb) {
    let receiver = Receiver::start(Reply::Hang).await;
    let app = db
        .spawn(|s| {
            s.shutdown_grace = Duration::from_millis(300);
            s.request_timeout = Duration::from_secs(30);
            s.lease = Duration::from_secs(600);
        })
        .await;
    let id = app
        .enqueue(json!({"url": receiver.url("/n"), "body": {}}))
        .await;
    receiver.wait_for(1, Duration::from_secs(5)).await;
    let store = app.store.clone();
    app.stop().await;
    // Handed back: pending and due now, not leased for ten minutes; no try counted.
    let n = store.get(id).await.unwrap().unwrap();
    assert_eq!(n.status.as_str(), "pending");
    assert_eq!(n.attempts, 0);
    assert!(n.due_at.unwrap() <= chrono::Utc::now());
}

async fn a_running_try_cannot_be_cancelled_or_redelivered(db: TestDb) {
    let receiver = Receiver::start(Reply::Slow(200, Duration::from_millis(1500))).await;
    let app = db.spawn(|_| {}).await;
    let id = app
        .enqueue(json!({"url": receiver.url("/n"), "body": {}}))
        .await;
    receiver.wait_for(1, Duration::from_secs(5)).await;
    for action in ["cancel", "redeliver"] {
        let (status, body) = app
            .post(&format!("/admin/v1/notifications/{id}/{action}"), json!({}))
            .await;
        assert_eq!(status, 409, "{action}: {body}");
        assert_eq!(body["error"]["code"], "invalid_state");
    }
    let done = app
        .wait_for_status(id, "delivered", Duration::from_secs(10))
        .await;
    assert_eq!(done["attempts"], 1);
    assert_eq!(receiver.count(), 1, "never two tries at once");
}

async fn one_worker_never_stalls(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db
        .spawn(|s| {
            s.concurrency = 1;
            s.per_host_concurrency = 1;
            s.poll_interval = Duration::from_secs(60);
        })
        .await;
    let mut last = 0;
    for i in 0..300 {
        last = app
            .enqueue(json!({"url": receiver.url("/n"), "body": {"i": i}}))
            .await;
    }
    receiver.wait_for(300, Duration::from_secs(60)).await;
    app.wait_for_status(last, "delivered", Duration::from_secs(10))
        .await;
}
