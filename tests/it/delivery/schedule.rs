//! The retry schedule, walked on a fixed clock: the dispatcher is stepped by hand (claim,
//! try, record once), so every try is due exactly when the schedule says, never a
//! millisecond early, and nothing sleeps. Each test runs against SQLite and PostgreSQL.

use chrono::{DateTime, Utc};
use serde_json::json;
use ums_notify::clock::Clock;
use ums_notify::delivery::Dispatcher;

use crate::common::{Receiver, Reply, TestDb};

both_backends!(
    the_platform_schedule_is_followed_to_the_millisecond,
    a_custom_schedule_repeats_its_last_delay_and_stops_at_max,
    a_success_mid_schedule_ends_the_retries,
);

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

async fn tried(dispatcher: &Dispatcher) -> usize {
    dispatcher.step().await.expect("step").tried
}

/// Moves the clock to just before `due`, checks nothing is tried, then to `due`, and
/// checks one try runs.
async fn try_exactly_at(clock: &Clock, dispatcher: &Dispatcher, due: DateTime<Utc>) {
    let now = clock.now();
    assert!(due > now, "due {due} is not after now {now}");
    clock.advance(due - now - chrono::Duration::milliseconds(1));
    assert_eq!(
        tried(dispatcher).await,
        0,
        "nothing is due 1 ms before {due}"
    );
    clock.advance(chrono::Duration::milliseconds(1));
    assert_eq!(tried(dispatcher).await, 1, "the try due at {due} runs");
}

fn due_of(notification: &serde_json::Value) -> DateTime<Utc> {
    notification["next_attempt_at"]
        .as_str()
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("no next_attempt_at in {notification:#}"))
}

async fn the_platform_schedule_is_followed_to_the_millisecond(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(500)).await;
    let clock = Clock::fixed(t0());
    let (app, dispatcher) = db.spawn_stepped(clock.clone()).await;
    let id = app
        .enqueue(json!({"url": receiver.url("/n"), "body": {"n": 1}}))
        .await;
    assert_eq!(tried(&dispatcher).await, 1, "the first try is due at once");
    // The defaults: 10 tries, waiting 15s, 30s, 1m, 2m, 5m, 10m, 30m, 1h, 2h between them.
    let waits = [15, 30, 60, 120, 300, 600, 1800, 3600, 7200];
    for (n, wait) in waits.iter().enumerate() {
        let pending = app.notification(id).await;
        assert_eq!(pending["status"], "pending");
        assert_eq!(pending["attempts"], n as u64 + 1);
        let due = due_of(&pending);
        assert_eq!(
            due - clock.now(),
            chrono::Duration::seconds(*wait),
            "wait after try {}",
            n + 1
        );
        try_exactly_at(&clock, &dispatcher, due).await;
    }
    let failed = app.notification(id).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["attempts"], 10);
    assert_eq!(failed["next_attempt_at"], json!(null));
    clock.advance(chrono::Duration::days(30));
    assert_eq!(tried(&dispatcher).await, 0, "no try after the tenth");
    let got = receiver.received();
    assert_eq!(got.len(), 10);
    assert!(
        got.iter().all(|r| r.body == got[0].body),
        "every try sends the same bytes"
    );
    app.stop().await;
}

async fn a_custom_schedule_repeats_its_last_delay_and_stops_at_max(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(503)).await;
    let clock = Clock::fixed(t0());
    let (app, dispatcher) = db.spawn_stepped(clock.clone()).await;
    let id = app
        .enqueue(json!({
            "url": receiver.url("/n"),
            "body": {"n": 2},
            "max_attempts": 5,
            "retry_schedule": ["200ms", "400ms"],
        }))
        .await;
    assert_eq!(tried(&dispatcher).await, 1);
    for wait_ms in [200, 400, 400, 400] {
        let due = due_of(&app.notification(id).await);
        assert_eq!(due - clock.now(), chrono::Duration::milliseconds(wait_ms));
        try_exactly_at(&clock, &dispatcher, due).await;
    }
    let failed = app.notification(id).await;
    assert_eq!(
        (failed["status"].as_str(), failed["attempts"].as_u64()),
        (Some("failed"), Some(5))
    );
    let log = failed["attempt_log"].as_array().expect("attempt log");
    assert!(log
        .iter()
        .all(|a| a["status_code"] == 503 && a["failure_kind"] == "http_status"));
    assert_eq!(receiver.count(), 5);
    app.stop().await;
}

async fn a_success_mid_schedule_ends_the_retries(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    receiver.then([Reply::Status(500), Reply::Status(502)]);
    let clock = Clock::fixed(t0());
    let (app, dispatcher) = db.spawn_stepped(clock.clone()).await;
    let id = app
        .enqueue(json!({"url": receiver.url("/n"), "body": {}, "retry_schedule": ["1m"]}))
        .await;
    assert_eq!(tried(&dispatcher).await, 1);
    for _ in 0..2 {
        let due = due_of(&app.notification(id).await);
        try_exactly_at(&clock, &dispatcher, due).await;
    }
    let delivered = app.notification(id).await;
    assert_eq!(delivered["status"], "delivered");
    assert_eq!(delivered["attempts"], 3);
    assert_eq!(delivered["finished_at"], json!(clock.now()));
    clock.advance(chrono::Duration::hours(1));
    assert_eq!(tried(&dispatcher).await, 0);
    app.stop().await;
}
