//! What the platform store guarantees for contracts beyond what one request shows: changes
//! of one contract racing each other apply once, and a stored notify URL is not validated
//! again (it cannot turn a state change into an error or stall the automatic consent).
//! Each test runs against SQLite and PostgreSQL with the same code.

use std::time::Duration;

use crate::common::contracts::state_of;
use crate::common::platform::{at, url_safe, Counter, MID};
use crate::common::{eventually, Receiver, Reply, TestDb};
use serde_json::json;
use ums_notify::clock::Clock;

both_backends!(
    concurrent_changes_of_one_contract_apply_once,
    a_stored_notify_url_is_not_validated_again,
);

const WAIT: Duration = Duration::from_secs(10);

async fn concurrent_changes_of_one_contract_apply_once(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let receiver = Receiver::start(Reply::Status(200)).await;
    app.create_merchant(MID, json!({"notify_url": receiver.url("/n")}))
        .await;
    let id = app.create_contract(MID, "CN00000001", "P").await;
    let url = app.url(&format!(
        "/admin/v1/contracts/{}/transitions",
        url_safe(&id)
    ));
    let mut tries = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let request = app
            .http
            .post(&url)
            .bearer_auth(crate::common::ADMIN_TOKEN)
            .json(&json!({"to": "SIGNED"}));
        tries.spawn(async move { request.send().await.expect("request").status().as_u16() });
    }
    let statuses: Vec<u16> = tries.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(app.notifications_of(&id).await.len(), 1);
    receiver.wait_for(1, WAIT).await;
    // A sentinel: one more change, enqueued after the race. Once it is delivered, a stray
    // notification of the race would have been delivered too; none was.
    let (status, moved) = app.transition(&id, "DELETING_CONTRACT").await;
    assert_eq!(status, 200, "{moved}");
    let sentinel = moved["notification_ids"][0].as_i64().unwrap();
    app.wait_for_status(sentinel, "delivered", WAIT).await;
    let states: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| state_of(&r.body))
        .collect();
    assert_eq!(
        states,
        ["SIGNED", "DELETING_CONTRACT"],
        "one change, one notification"
    );
    assert_eq!(app.notifications_of(&id).await.len(), 2);
}

/// A contract's notify URL is validated once, when it is accepted, and its delivery host
/// kept with it. Even a URL the validator would refuse today (here written straight into
/// the table, as a changed validator or a contract from before hosts were stored would
/// leave it) cannot turn a state change into an error or stall the automatic consent: the
/// change is made and its notification enqueued; its tries fail like any unreachable URL's.
async fn a_stored_notify_url_is_not_validated_again(db: TestDb) {
    let t0 = at("2024-07-01T00:00:00Z");
    let app = db
        .spawn_with_clock(Clock::fixed(t0), |s| {
            s.platform.consent_poll = Duration::from_millis(10);
        })
        .await;
    let counter = Counter::new(&db).await;
    app.create_merchant(
        MID,
        json!({"notify_url": "http://127.0.0.1:1/n", "auto_consent_after": "30s"}),
    )
    .await;
    let mut ids = Vec::new();
    for no in ["CN00000001", "CN00000002", "CN00000003"] {
        ids.push(app.create_contract(MID, no, "P").await);
    }
    // The first keeps the host it was accepted with; the others lost it, as contracts
    // stored before migration 0003 have none.
    let broken = counter
        .execute("UPDATE contracts SET notify_url = 'mailto:shop@example.com'")
        .await;
    assert_eq!(broken, 3);
    let forgotten = counter
        .execute("UPDATE contracts SET notify_host = NULL WHERE contract_no <> 'CN00000001'")
        .await;
    assert_eq!(forgotten, 2);

    for id in &ids[..2] {
        let (status, moved) = app.transition(id, "UNKNOWN").await;
        assert_eq!(status, 200, "{moved}");
        let sent = app
            .notification(moved["notification_ids"][0].as_i64().unwrap())
            .await;
        assert_eq!(sent["url"], "mailto:shop@example.com");
    }
    // The third signs itself when due, on the first round.
    app.clock.advance(chrono::Duration::seconds(30));
    let path = format!("/admin/v1/contracts/{}", url_safe(&ids[2]));
    let signed = eventually(WAIT, || async {
        app.get(&path).await.1["state"] == "SIGNED"
    });
    assert!(signed.await, "{}", app.get(&path).await.1);
    assert_eq!(app.notifications_of(&ids[2]).await.len(), 1);
}
