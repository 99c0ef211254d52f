//! PostgreSQL's wake-ups between instances: work one instance commits wakes another's
//! wait, also when a burst of commits shares one coalesced signal. (A single SQLite
//! process has no other instance to wake.)

use std::time::Duration;

use chrono::Utc;

use crate::common::outbox::new_notification;
use crate::common::{Backend, TestDb};

const WITHIN: Duration = Duration::from_secs(5);

#[tokio::test]
async fn postgres_commits_wake_another_instance() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let listening = db.store().await;
    let other = db.store().await;
    // The first wait opens the LISTEN connection and reports a wake-up at once: work
    // signalled before it listened was not heard.
    tokio::time::timeout(WITHIN, listening.wait_for_remote_wakeup())
        .await
        .expect("the first wait returns at once")
        .expect("listening");

    // One commit, one wake-up.
    let waiter = {
        let listening = listening.clone();
        tokio::spawn(async move { listening.wait_for_remote_wakeup().await })
    };
    other
        .enqueue(new_notification("http://127.0.0.1:9/one", 0), Utc::now())
        .await
        .unwrap();
    tokio::time::timeout(WITHIN, waiter)
        .await
        .expect("woken by the other instance's commit")
        .unwrap()
        .unwrap();

    // A burst of commits within the coalescing interval still wakes the listener, and
    // every enqueue of it is answered only once committed.
    let waiter = {
        let listening = listening.clone();
        tokio::spawn(async move { listening.wait_for_remote_wakeup().await })
    };
    let burst = (1..=20).map(|i| {
        let other = other.clone();
        async move {
            other
                .enqueue(new_notification("http://127.0.0.1:9/burst", i), Utc::now())
                .await
        }
    });
    for enqueued in futures_util::future::join_all(burst).await {
        enqueued.unwrap();
    }
    tokio::time::timeout(WITHIN, waiter)
        .await
        .expect("woken by the burst")
        .unwrap()
        .unwrap();
    let stats = listening.stats(Utc::now()).await.unwrap();
    assert_eq!(stats.pending, 21, "every answered enqueue is committed");
}
