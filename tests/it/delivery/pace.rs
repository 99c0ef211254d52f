//! The dispatcher never waits for its poll interval while work it could claim is due:
//! with the poll interval set to an hour, a backlog for one host still drains, whether
//! the host's cap is below the total concurrency (the default) or equal to it.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{Receiver, Reply, TestDb};

both_backends!(
    a_backlog_for_one_capped_host_drains_without_polling,
    a_backlog_drains_when_the_host_cap_equals_the_concurrency,
);

async fn drain(db: TestDb, concurrency: u32, per_host: u32) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db
        .spawn(|settings| {
            settings.poll_interval = Duration::from_secs(3600);
            settings.concurrency = concurrency;
            settings.per_host_concurrency = per_host;
        })
        .await;
    for round in 0..4 {
        let items: Vec<Value> = (0..500)
            .map(|n| json!({"url": receiver.url("/one"), "body": {"round": round, "n": n}}))
            .collect();
        app.enqueue_batch(items).await;
    }
    // Far below the hour a poll would take; far above what 2,000 loopback tries need.
    let arrived = receiver.wait_for(2000, Duration::from_secs(60)).await;
    assert_eq!(arrived.len(), 2000);
}

async fn a_backlog_for_one_capped_host_drains_without_polling(db: TestDb) {
    drain(db, 64, 16).await;
}

async fn a_backlog_drains_when_the_host_cap_equals_the_concurrency(db: TestDb) {
    drain(db, 64, 64).await;
}
