//! Per-try headers that cannot be prepared spend no try: the notification is handed back
//! and sent, signed, once its merchant's key can be read.

use std::time::Duration;

use crate::common::{Receiver, Reply, TestDb};
use chrono::Utc;
use serde_json::json;
use ums_notify::outbox::NewNotification;
use ums_notify::policy::{Destination, RetryPolicy, RetrySchedule};

both_backends!(a_try_that_cannot_be_signed_is_handed_back_not_spent);

async fn a_try_that_cannot_be_signed_is_handed_back_not_spent(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    // A merchant notification whose merchant does not exist (yet): no key to sign with.
    let mid = "898310048169999";
    let enqueued = app
        .store
        .enqueue(
            NewNotification {
                success: Default::default(),
                destination: Destination::parse(&receiver.url("/notify")).unwrap(),
                body: br#"{"contractState":"SIGNED"}"#.to_vec(),
                content_type: "application/json".to_owned(),
                headers: vec![],
                policy: RetryPolicy {
                    max_attempts: 1,
                    schedule: RetrySchedule::default(),
                },
                idempotency_key: None,
                tenant: Some(mid.to_owned()),
                subject: None,
                kind: "contract_state".to_owned(),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let id = enqueued.notification.id;
    // Handed back: pending again, due a few seconds out, with no try spent.
    let handed_back = crate::common::eventually(Duration::from_secs(10), || async {
        let n = app.notification(id).await;
        n["status"] == "pending" && n["attempts"] == 0 && n["updated_at"] != n["created_at"]
    })
    .await;
    assert!(handed_back, "{}", app.notification(id).await);
    assert_eq!(receiver.count(), 0, "nothing unsigned was sent");

    let (status, merchant) = app
        .post(
            "/admin/v1/merchants",
            json!({"mid": mid, "name": "Late shop", "notify_url": receiver.url("/notify")}),
        )
        .await;
    assert_eq!(status, 201, "{merchant}");
    // max_attempts is 1: the one try is still there to be spent, and it is signed.
    let done = app
        .wait_for_status(id, "delivered", Duration::from_secs(15))
        .await;
    assert_eq!(done["attempts"], 1);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let authorization = got[0].headers["authorization"].to_str().unwrap();
    assert!(
        authorization.starts_with("OPEN-BODY-SIG "),
        "{authorization}"
    );
    assert!(
        authorization.contains(merchant["app_id"].as_str().unwrap()),
        "{authorization}"
    );
}
