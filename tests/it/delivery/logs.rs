//! Logs an operator can follow: with `--log-format json`, a failing try's log line
//! carries the notification's id, kind and attempt number in its span, and an admin
//! request's carries its request id, which the answer returns.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::process::ServiceProcess;
use crate::common::{Receiver, Reply, TestDb, ADMIN_TOKEN};

both_backends!(a_failing_try_logs_its_notification_id);

async fn a_failing_try_logs_its_notification_id(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(503)).await;
    let service = ServiceProcess::start(&db.url, &[]);
    let answer = reqwest::Client::new()
        .post(service.url("/admin/v1/notifications"))
        .bearer_auth(ADMIN_TOKEN)
        .header("x-request-id", "trace-me-42")
        .json(&json!({"url": receiver.url("/n"), "body": {"logged": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["x-request-id"], "trace-me-42");
    let created: Value = answer.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    receiver.wait_for(1, Duration::from_secs(10)).await;

    let line = service
        .wait_for_log(Duration::from_secs(10), |line| {
            line["fields"]["message"] == "try failed" && line["span"]["notification_id"] == id
        })
        .await
        .expect("a `try failed` line with the notification id in its span");
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["span"]["name"], "try", "{line}");
    assert_eq!(line["span"]["kind"], "generic", "{line}");
    assert_eq!(line["span"]["attempt"], 1, "{line}");
    assert_eq!(line["fields"]["status"], 503, "{line}");
    assert_eq!(line["fields"]["failure"], "http_status", "{line}");
}
