//! /metrics: it parses as Prometheus text, its counters match what happened, and it
//! exports every metric the dashboard and the alert rules use.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::{eventually, metric_value, Backend, Receiver, Reply, TestDb};
use serde_json::json;

both_backends!(counters_match_what_happened);

/// Checks the text exposition format line by line and returns the sample names.
fn parse_exposition(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# ") {
            assert!(
                rest.starts_with("HELP ") || rest.starts_with("TYPE "),
                "bad comment line: {line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        assert!(value.parse::<f64>().is_ok(), "bad value in {line}");
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                assert!(
                    labels.starts_with('{') && labels.ends_with('}'),
                    "bad labels in {line}"
                );
            }
        }
        names.insert(name.to_owned());
    }
    names
}

async fn counters_match_what_happened(db: TestDb) {
    let ok = Receiver::start(Reply::Status(200)).await;
    let bad = Receiver::start(Reply::Status(503)).await;
    let app = db.spawn(|_| {}).await;
    for i in 0..3 {
        app.enqueue(json!({"url": ok.url("/"), "body": {"i": i}}))
            .await;
    }
    let failing = app
        .enqueue(
            json!({"url": bad.url("/"), "body": {}, "max_attempts": 2, "retry_schedule": ["50ms"]}),
        )
        .await;
    let parked = app
        .enqueue(json!({"url": bad.url("/"), "body": {}, "retry_schedule": ["1h"]}))
        .await;
    app.wait_for_status(failing, "failed", Duration::from_secs(10))
        .await;
    app.wait_for_retry(parked, 1, Duration::from_secs(10)).await;
    ok.wait_for(3, Duration::from_secs(10)).await;
    let (_, cancelled) = app
        .post(
            &format!("/admin/v1/notifications/{parked}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(cancelled["status"], "cancelled");
    // Results are recorded, and counted, in batches: wait until all are.
    let settled = eventually(Duration::from_secs(10), || async {
        let text = app.metrics().await;
        metric_value(
            &text,
            r#"ums_notify_notifications_finished_total{status="delivered"}"#,
        ) == Some(3.0)
            && metric_value(
                &text,
                r#"ums_notify_notifications_finished_total{status="failed"}"#,
            ) == Some(1.0)
    })
    .await;
    assert!(settled, "{}", app.metrics().await);

    let text = app.metrics().await;
    parse_exposition(&text);
    let value =
        |series: &str| metric_value(&text, series).unwrap_or_else(|| panic!("{series} missing"));
    let expected = [
        ("ums_notify_notifications_enqueued_total", 5.0),
        (r#"ums_notify_attempts_total{outcome="success"}"#, 3.0),
        (r#"ums_notify_attempts_total{outcome="http_status"}"#, 3.0),
        (r#"ums_notify_attempts_total{outcome="timeout"}"#, 0.0),
        (
            r#"ums_notify_notifications_finished_total{status="delivered"}"#,
            3.0,
        ),
        (
            r#"ums_notify_notifications_finished_total{status="failed"}"#,
            1.0,
        ),
        (
            r#"ums_notify_notifications_finished_total{status="cancelled"}"#,
            1.0,
        ),
        ("ums_notify_attempt_duration_seconds_count", 6.0),
        ("ums_notify_delivery_latency_seconds_count", 3.0),
        (
            r#"ums_notify_outbox_notifications{status="delivered"}"#,
            3.0,
        ),
        (r#"ums_notify_outbox_notifications{status="failed"}"#, 1.0),
        (
            r#"ums_notify_outbox_notifications{status="cancelled"}"#,
            1.0,
        ),
        (r#"ums_notify_outbox_notifications{status="pending"}"#, 0.0),
        ("ums_notify_inflight_deliveries", 0.0),
        ("ums_notify_database_ready", 1.0),
        (r#"ums_notify_build_info{version="0.1.0"}"#, 1.0),
    ];
    for (series, want) in expected {
        assert_eq!(value(series), want, "{series}");
    }
    // Routes are labelled by template, never by raw path.
    assert_eq!(
        value(
            r#"ums_notify_http_requests_total{method="POST",route="/admin/v1/notifications",status="201"}"#
        ),
        5.0
    );
    assert!(text.contains(r#"route="/admin/v1/notifications/{id}""#));
    assert!(!text.contains(&format!("/admin/v1/notifications/{parked}")));
}

/// Every metric name the Grafana dashboard and the alert rules use is exported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_and_alerts_use_only_exported_metrics() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else {
        return;
    };
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    let id = app
        .enqueue(json!({"url": receiver.url("/"), "body": {}}))
        .await;
    app.wait_for_status(id, "delivered", Duration::from_secs(10))
        .await;
    let exported = parse_exposition(&app.metrics().await);

    let root = env!("CARGO_MANIFEST_DIR");
    let output = std::process::Command::new("python3")
        .arg(format!("{root}/deploy/check-dashboard.py"))
        .arg("--metric-names")
        .output()
        .expect("python3 runs deploy/check-dashboard.py");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let used: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert!(used.len() >= 10, "the dashboard uses {used:?}");
    for name in &used {
        let found = exported.contains(name)
            || ["_bucket", "_sum", "_count"]
                .iter()
                .any(|suffix| exported.contains(&format!("{name}{suffix}")));
        assert!(
            found,
            "{name} is used by the dashboard or alerts but not exported"
        );
    }
}
