//! Refused when connecting: a name that resolves to a refused address is refused when a
//! try connects, recorded as `destination_not_allowed` and retried on the schedule; the
//! connection goes only to addresses the guard admitted; a literal address stored before
//! the guard was on is refused before sending; the allowlist lets a local receiver
//! through; and checks started from the sandbox are guarded the same way.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::common::egress::{names, public};
use crate::common::outbox::new_notification;
use crate::common::{eventually, metric_value, Receiver, Reply, TestDb};
use ums_notify::policy::RetrySchedule;

both_backends!(
    a_name_resolving_to_a_refused_address_is_refused_when_connecting_and_retried,
    a_stored_literal_address_is_refused_before_sending,
    the_allowlist_lets_a_local_receiver_through,
    a_connection_goes_only_to_an_admitted_address,
    a_check_run_cannot_reach_a_name_resolving_to_a_refused_address,
);

const WITHIN: Duration = Duration::from_secs(20);

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().expect("a time").parse().expect("RFC 3339")
}

/// Every try of the notification was refused by the guard, naming `host`.
fn all_refused(notification: &Value, host: &str) {
    for attempt in notification["attempt_log"].as_array().unwrap() {
        assert_eq!(
            attempt["failure_kind"], "destination_not_allowed",
            "{attempt}"
        );
        assert_eq!(attempt["status_code"], Value::Null, "{attempt}");
        let message = attempt["message"].as_str().unwrap();
        assert!(message.starts_with(host), "{message}");
    }
}

async fn a_name_resolving_to_a_refused_address_is_refused_when_connecting_and_retried(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let names = names(&[("merchant.test", &["127.0.0.1"])]);
    let app = db.spawn_resolving(names, |s| public(s, &[])).await;
    let url = format!("http://merchant.test:{}/notify", receiver.addr.port());
    // A name passes when given: only its addresses can say where it goes.
    let id = app
        .enqueue(
            json!({"url": url, "body": {"orderId": "42"}, "max_attempts": 3,
                        "retry_schedule": ["1s", "100ms"]}),
        )
        .await;

    let retried = app.wait_for_retry(id, 1, WITHIN).await;
    all_refused(&retried, "merchant.test resolves only to");
    let message = retried["attempt_log"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("127.0.0.1 (a loopback address)"),
        "{message}"
    );
    // The next try is due on the schedule, a second after the first.
    let first = time(&retried["attempt_log"][0]["started_at"]);
    let due = time(&retried["next_attempt_at"]);
    assert!(
        due - first >= chrono::Duration::milliseconds(900),
        "{retried}"
    );

    let failed = app.wait_for_status(id, "failed", WITHIN).await;
    assert_eq!(failed["attempts"], 3, "{failed}");
    all_refused(&failed, "merchant.test resolves only to");
    assert_eq!(receiver.count(), 0, "nothing reached the address");

    let metrics = app.metrics().await;
    let series = r#"ums_notify_attempts_total{outcome="destination_not_allowed"}"#;
    assert_eq!(metric_value(&metrics, series), Some(3.0), "{metrics}");
    assert!(
        !metrics.contains("merchant.test"),
        "no metric names a destination"
    );
    app.stop().await;
}

async fn a_stored_literal_address_is_refused_before_sending(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    // Accepted while the guard was off, then the sandbox restarts in `public` mode.
    let store = db.store().await;
    let mut new = new_notification(&receiver.url("/notify"), 1);
    new.policy.schedule = RetrySchedule::parse("1s").unwrap();
    let id = store
        .enqueue(new, Utc::now())
        .await
        .expect("enqueue")
        .notification
        .id;
    let app = db.spawn(|s| public(s, &[])).await;
    let retried = app.wait_for_retry(id, 1, WITHIN).await;
    all_refused(&retried, "127.0.0.1 is a loopback address");
    assert_eq!(receiver.count(), 0);
    app.stop().await;
}

async fn the_allowlist_lets_a_local_receiver_through(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let port = receiver.addr.port();
    let names = names(&[
        ("merchant.test", &["127.0.0.1"]),
        ("localhost", &["127.0.0.1"]),
    ]);
    let app = db
        .spawn_resolving(names, |s| public(s, &["127.0.0.0/8"]))
        .await;
    let urls = [
        receiver.url("/literal"),
        format!("http://localhost:{port}/localhost"),
        format!("http://merchant.test:{port}/named"),
    ];
    for url in &urls {
        let id = app.enqueue(json!({"url": url, "body": {}})).await;
        let done = app.wait_for_status(id, "delivered", WITHIN).await;
        assert_eq!(done["attempts"], 1, "{done}");
    }
    let paths: Vec<String> = receiver.received().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/literal", "/localhost", "/named"]);
    app.stop().await;
}

async fn a_connection_goes_only_to_an_admitted_address(db: TestDb) {
    // Two receivers on one port: 127.0.0.1 is allowed, 127.0.0.2 is not.
    let allowed = Receiver::start(Reply::Status(200)).await;
    let port = allowed.addr.port();
    let decoy_addr: SocketAddr = format!("127.0.0.2:{port}").parse().unwrap();
    let decoy = Receiver::start_at(decoy_addr, Reply::Status(200)).await;
    // The refused address comes first, as a rebinding answer would put it.
    let names = names(&[("both.test", &["127.0.0.2", "127.0.0.1"])]);
    let url = format!("http://both.test:{port}/notify");

    // With the guard off the name's first address is used: the decoy answers.
    let app = db.spawn_resolving(names.clone(), |_| {}).await;
    let id = app.enqueue(json!({"url": url, "body": {}})).await;
    app.wait_for_status(id, "delivered", WITHIN).await;
    assert_eq!((decoy.count(), allowed.count()), (1, 0));
    app.stop().await;

    let app = db
        .spawn_resolving(names, |s| public(s, &["127.0.0.1/32"]))
        .await;
    for _ in 0..3 {
        let id = app.enqueue(json!({"url": url, "body": {}})).await;
        app.wait_for_status(id, "delivered", WITHIN).await;
    }
    assert_eq!((decoy.count(), allowed.count()), (1, 3));
    app.stop().await;
}

async fn a_check_run_cannot_reach_a_name_resolving_to_a_refused_address(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let names = names(&[("merchant.test", &["127.0.0.1"])]);
    let app = db.spawn_resolving(names, |s| public(s, &[])).await;
    let mid = "898310048160001";
    let url = format!("http://merchant.test:{}/notify", receiver.addr.port());
    let (status, created) = app
        .post(
            "/admin/v1/merchants",
            json!({"mid": mid, "name": "Shop", "notify_url": url}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (status, started) = app
        .post(
            &format!("/admin/v1/merchants/{mid}/checks"),
            json!({"only": ["accepts-signed-notice"]}),
        )
        .await;
    assert_eq!(status, 202, "{started}");
    let run = format!("/admin/v1/checks/{}", started["id"]);
    let finished = eventually(WITHIN, || async {
        app.get(&run).await.1["status"] != "running"
    })
    .await;
    let (_, run) = app.get(&run).await;
    assert!(finished, "{run}");
    assert_eq!(run["passed"], false, "{run}");
    let text = run.to_string();
    assert!(
        text.contains("not sent: merchant.test resolves only to"),
        "{run}"
    );
    assert_eq!(receiver.count(), 0);
    app.stop().await;
}
