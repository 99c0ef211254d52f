//! A busy host's next batch, claimed ahead: it waits leased (not tried) while the host
//! is at its cap and starts as slots free; it goes back at shutdown; and a waiting claim
//! whose lease ran out by the service clock is never tried under it. Each test runs
//! against SQLite and PostgreSQL.

use std::time::Duration;

use serde_json::json;

use crate::common::{Receiver, Reply, TestDb};

both_backends!(
    a_busy_host_s_next_batch_waits_claimed_and_starts_as_slots_free,
    shutdown_hands_back_waiting_claims,
    a_waiting_claim_whose_lease_ran_out_by_the_clock_is_not_tried,
);

fn ids_of(answer: &serde_json::Value) -> Vec<i64> {
    answer["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_i64().unwrap())
        .collect()
}

async fn statuses(app: &crate::common::TestApp, ids: &[i64]) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        out.push(
            app.notification(*id).await["status"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    out
}

/// a host at its cap gets its next batch claimed ahead (leased, not tried) and it starts
/// when a slot frees, long before it would come back by itself (lease - timeout = 50 s).
async fn a_busy_host_s_next_batch_waits_claimed_and_starts_as_slots_free(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    receiver.then([
        Reply::Slow(200, Duration::from_secs(3)),
        Reply::Slow(200, Duration::from_secs(3)),
    ]);
    let app = db
        .spawn(|s| {
            s.concurrency = 8;
            s.per_host_concurrency = 2;
            s.request_timeout = Duration::from_secs(10);
            s.lease = Duration::from_secs(60);
            s.poll_interval = Duration::from_secs(60);
        })
        .await;
    let items = (0..4)
        .map(|i| json!({"url": receiver.url("/n"), "body": {"i": i}}))
        .collect();
    let ids = ids_of(&app.enqueue_batch(items).await); // one commit: one claim sees all four
    receiver.wait_for(2, Duration::from_secs(5)).await;
    let claimed_ahead = crate::common::eventually(Duration::from_secs(2), || async {
        statuses(&app, &ids).await.iter().all(|s| s == "delivering")
    })
    .await;
    assert!(
        claimed_ahead,
        "all four leased: {:?}",
        statuses(&app, &ids).await
    );
    assert_eq!(receiver.count(), 2, "no more than the host's cap in flight");
    for id in &ids {
        let done = app
            .wait_for_status(*id, "delivered", Duration::from_secs(10))
            .await;
        assert_eq!(done["attempts"], 1, "{done}");
    }
    let got = receiver.received();
    assert_eq!(got.len(), 4, "each tried once");
    for later in &got[2..] {
        assert!(
            later.at.duration_since(got[0].at) >= Duration::from_secs(3),
            "a waiting claim started only once a slot was free"
        );
    }
}

/// at shutdown, claims waiting for a slot go back at once (pending, due now, no try
/// counted), and none of them is started on the way out.
async fn shutdown_hands_back_waiting_claims(db: TestDb) {
    let receiver = Receiver::start(Reply::Hang).await;
    let app = db
        .spawn(|s| {
            s.concurrency = 8;
            s.per_host_concurrency = 2;
            s.shutdown_grace = Duration::from_millis(300);
            s.request_timeout = Duration::from_secs(30);
            s.lease = Duration::from_secs(600);
        })
        .await;
    let items = (0..4)
        .map(|i| json!({"url": receiver.url("/n"), "body": {"i": i}}))
        .collect();
    let ids = ids_of(&app.enqueue_batch(items).await);
    receiver.wait_for(2, Duration::from_secs(5)).await;
    let claimed_ahead = crate::common::eventually(Duration::from_secs(5), || async {
        statuses(&app, &ids).await.iter().all(|s| s == "delivering")
    })
    .await;
    assert!(claimed_ahead, "{:?}", statuses(&app, &ids).await);
    let store = app.store.clone();
    app.stop().await;
    for id in ids {
        let n = store.get(id).await.unwrap().unwrap();
        assert_eq!(n.status.as_str(), "pending", "{id}");
        assert_eq!(n.attempts, 0);
        assert!(n.due_at.unwrap() <= chrono::Utc::now(), "not left leased");
    }
    assert_eq!(receiver.count(), 2, "the waiting claims were never tried");
}

/// a waiting claim whose lease ran out by the application's clock may already be
/// another claimer's: it must not be tried under the old lease.
async fn a_waiting_claim_whose_lease_ran_out_by_the_clock_is_not_tried(db: TestDb) {
    use ums_notify::clock::Clock;
    use ums_notify::outbox::ClaimRequest;
    let receiver = Receiver::start(Reply::Status(200)).await;
    receiver.then([Reply::Slow(200, Duration::from_secs(2))]);
    let app = db
        .spawn_with_clock(Clock::fixed(chrono::Utc::now()), |s| {
            s.concurrency = 8;
            s.per_host_concurrency = 1;
            s.request_timeout = Duration::from_secs(5);
            s.lease = Duration::from_secs(30);
        })
        .await;
    let items = (0..2)
        .map(|i| json!({"url": receiver.url("/n"), "body": {"i": i}}))
        .collect();
    let ids = ids_of(&app.enqueue_batch(items).await);
    receiver.wait_for(1, Duration::from_secs(5)).await;
    assert!(
        crate::common::eventually(Duration::from_secs(2), || async {
            statuses(&app, &ids).await.iter().all(|s| s == "delivering")
        })
        .await
    );
    // Both leases run out by the clock; another claimer takes the rows.
    app.clock.advance(chrono::Duration::seconds(60));
    let other = app
        .store
        .claim(&ClaimRequest {
            now: app.clock.now(),
            limit: 10,
            lease: Duration::from_secs(30),
            exclude_hosts: vec![],
            exclude_tenants: vec![],
            per_host: 10,
        })
        .await
        .unwrap();
    assert_eq!(other.len(), 2);
    // A marker on the same host (cap 1): by the time it is delivered, the waiting claim
    // has either been tried (it held the only slot first) or dropped.
    let marker = app
        .enqueue(json!({"url": receiver.url("/marker"), "body": {"m": 1}}))
        .await;
    app.wait_for_status(marker, "delivered", Duration::from_secs(20))
        .await;
    let bodies: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(
        bodies.len(),
        2,
        "only the first try and the marker: {bodies:?}"
    );
}
