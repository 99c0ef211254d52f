//! Copies of contract notices: one more on demand, the merchant's extra copies (and back
//! to none), all byte-identical; and changes within one second get distinct, increasing
//! request timestamps that their copies keep. Each test runs against SQLite and
//! PostgreSQL.

use std::time::Duration;

use crate::common::contracts::ten_fields;
use crate::common::platform::{at, cst, verify_notification, MID};
use crate::common::{Receiver, Reply, TestDb};
use serde_json::json;
use ums_notify::clock::Clock;

both_backends!(
    duplicates_send_identical_copies,
    changes_within_one_second_get_distinct_request_timestamps,
);

const WAIT: Duration = Duration::from_secs(10);

async fn duplicates_send_identical_copies(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    let merchant = app
        .create_merchant(MID, json!({"notify_url": receiver.url("/n")}))
        .await;
    let contract_id = app.create_contract(MID, "CN00000006", "P1").await;
    let (_, moved) = app.transition(&contract_id, "SIGNED").await;
    let id = moved["notification_ids"][0].as_i64().unwrap();
    app.wait_for_status(id, "delivered", WAIT).await;

    // One more copy on demand: a new notification with the same bytes.
    let (status, copy) = app
        .post(
            &format!("/admin/v1/notifications/{id}/duplicate"),
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{copy}");
    assert_ne!(copy["id"], id);
    assert_eq!(copy["subject"], contract_id.as_str());
    let got = receiver.wait_for(2, WAIT).await;
    assert_eq!(got[0].body, got[1].body);
    verify_notification(
        &merchant.app_id,
        &merchant.app_key,
        &got[1].headers,
        &got[1].body,
    );
    let (status, _) = app
        .post("/admin/v1/notifications/999999/duplicate", json!({}))
        .await;
    assert_eq!(status, 404);

    // Every notification of the merchant sent twice more.
    let (status, patched) = app
        .patch(
            &format!("/admin/v1/merchants/{MID}"),
            json!({"extra_copies": 2}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let (_, moved) = app.transition(&contract_id, "DELETING_CONTRACT").await;
    assert_eq!(moved["notification_ids"].as_array().unwrap().len(), 3);
    let got = receiver.wait_for(5, WAIT).await;
    let copies: Vec<_> = got[2..].iter().map(|r| r.body.clone()).collect();
    assert!(copies.iter().all(|b| *b == copies[0]));
    assert!(String::from_utf8_lossy(&copies[0]).contains("DELETING_CONTRACT"));
    assert_eq!(app.notifications_of(&contract_id).await.len(), 5);

    // `"extra_copies": null` is back to none. The next change is a sentinel: once it is
    // delivered, a stray copy of the last one would have been delivered too.
    let (status, patched) = app
        .patch(
            &format!("/admin/v1/merchants/{MID}"),
            json!({"extra_copies": null}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let (_, moved) = app.transition(&contract_id, "RESCISSION").await;
    let ids = moved["notification_ids"].as_array().unwrap().clone();
    assert_eq!(ids.len(), 1, "no extra copies any more");
    app.wait_for_status(ids[0].as_i64().unwrap(), "delivered", WAIT)
        .await;
    assert_eq!(receiver.count(), 6);
    assert_eq!(app.notifications_of(&contract_id).await.len(), 6);
}

/// Two changes of one contract within a second: the merchant tells them apart by
/// `(contractNo, requestTimestamp)`, so each gets its own, later one; the copies of one
/// notification keep its bytes.
async fn changes_within_one_second_get_distinct_request_timestamps(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let t0 = at("2024-06-30T16:00:00Z");
    let app = db.spawn_with_clock(Clock::fixed(t0), |_| {}).await;
    app.create_merchant(
        MID,
        json!({"notify_url": receiver.url("/n"), "extra_copies": 1}),
    )
    .await;
    let contract_id = app.create_contract(MID, "CN00000007", "P1").await;
    let mut stamps = Vec::new();
    let mut last_ids = Vec::new();
    for (i, state) in ["SIGNED", "DELETING_CONTRACT", "SIGNED"].iter().enumerate() {
        if i > 0 {
            app.clock.advance(chrono::Duration::milliseconds(400));
        }
        let (status, moved) = app.transition(&contract_id, state).await;
        assert_eq!(status, 200, "{moved}");
        let ids: Vec<i64> = moved["notification_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), 2, "the notification and its extra copy");
        let mut bodies = Vec::new();
        for id in &ids {
            let done = app.wait_for_status(*id, "delivered", WAIT).await;
            bodies.push(done["body"].as_str().unwrap().to_owned());
        }
        assert_eq!(
            bodies[0], bodies[1],
            "copies of one notification are identical"
        );
        let fields = ten_fields(bodies[0].as_bytes());
        assert_eq!(fields["contractState"], *state);
        stamps.push(fields["requestTimestamp"].as_str().unwrap().to_owned());
        last_ids = ids;
    }
    let second = chrono::Duration::seconds(1);
    assert_eq!(stamps, [cst(t0), cst(t0 + second), cst(t0 + second * 2)]);
    assert!(
        stamps.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing"
    );
    // What the merchant got: three distinct (contractNo, requestTimestamp) pairs, each
    // twice, and each pair always with the same bytes.
    let got = receiver.wait_for(6, WAIT).await;
    let mut pairs = std::collections::BTreeMap::<(String, String), Vec<Vec<u8>>>::new();
    for request in &got {
        let fields = ten_fields(&request.body);
        let key = (
            fields["contractNo"].as_str().unwrap().to_owned(),
            fields["requestTimestamp"].as_str().unwrap().to_owned(),
        );
        pairs.entry(key).or_default().push(request.body.to_vec());
    }
    assert_eq!(pairs.len(), 3, "{pairs:?}");
    assert!(pairs.values().all(|b| b.len() == 2 && b[0] == b[1]));
    // A copy on demand keeps the bytes, requestTimestamp included.
    let (status, copy) = app
        .post(
            &format!("/admin/v1/notifications/{}/duplicate", last_ids[0]),
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{copy}");
    let original = app.notification(last_ids[0]).await;
    assert_eq!(copy["body"], original["body"]);
}
