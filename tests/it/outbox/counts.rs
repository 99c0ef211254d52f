//! The status counts behind `GET /admin/v1/stats` are kept by the database as rows change
//! (migration 0005); they must equal a full count after any mix of changes, before and
//! after PostgreSQL's appended changes are folded in.

use std::time::Duration;

use serde_json::json;

use ums_notify::db::{Db, Sql, StoreOptions};

use crate::common::{eventually, Receiver, Reply, TestDb};

both_backends!(stats_match_a_full_count_after_every_kind_of_change);

async fn full_count(db: &Db) -> Vec<(String, i64)> {
    db.read_all(&Sql::new(
        "SELECT status, COUNT(*) FROM notifications GROUP BY status ORDER BY status",
    ))
    .await
    .unwrap()
}

async fn stats_as_rows(app: &crate::common::TestApp) -> Vec<(String, i64)> {
    let (_, stats) = app.get("/admin/v1/stats").await;
    let mut rows: Vec<(String, i64)> =
        ["cancelled", "delivered", "delivering", "failed", "pending"]
            .iter()
            .map(|s| (s.to_string(), stats[s].as_i64().unwrap()))
            .filter(|(_, n)| *n > 0)
            .collect();
    rows.sort();
    rows
}

async fn stats_match_a_full_count_after_every_kind_of_change(db: TestDb) {
    let ok = Receiver::start(Reply::Status(200)).await;
    let failing = Receiver::start(Reply::Status(500)).await;
    let app = db.spawn(|_| {}).await;
    let direct = Db::connect(&db.url, &StoreOptions::default())
        .await
        .unwrap();

    // Inserts (a batch, with a repeated key that inserts nothing), deliveries, failures
    // that retry and that give up, a cancel and a redelivery.
    let mut items = Vec::new();
    for n in 0..10 {
        items.push(json!({"url": ok.url("/ok"), "body": {"n": n}}));
    }
    for n in 0..3 {
        items.push(json!({"url": failing.url("/fail"), "body": {"f": n}, "max_attempts": 1}));
    }
    items.push(json!({"url": failing.url("/retry"), "body": {}, "retry_schedule": ["1h"]}));
    let keyed = json!({"url": ok.url("/k"), "body": {}, "idempotency_key": "counted"});
    items.push(keyed.clone());
    items.push(keyed);
    let answer = app.enqueue_batch(items).await;
    let retry_id = answer["notifications"][13]["id"].as_i64().unwrap();
    let later = app
        .enqueue(json!({"url": ok.url("/later"), "body": {}, "retry_schedule": ["1h"]}))
        .await;
    let (status, _) = app
        .post(
            &format!("/admin/v1/notifications/{retry_id}/cancel"),
            json!({}),
        )
        .await;
    // The retrying one is cancelled once its first try failed and it waits an hour.
    if status != 200 {
        app.wait_for_retry(retry_id, 1, Duration::from_secs(10))
            .await;
        let (status, _) = app
            .post(
                &format!("/admin/v1/notifications/{retry_id}/cancel"),
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
    }
    app.wait_for_status(later, "delivered", Duration::from_secs(10))
        .await;
    let settled = eventually(Duration::from_secs(20), || async {
        let stats = stats_as_rows(&app).await;
        let delivered = stats.iter().find(|(s, _)| s == "delivered").map(|r| r.1);
        let failed = stats.iter().find(|(s, _)| s == "failed").map(|r| r.1);
        delivered == Some(12) && failed == Some(3)
    })
    .await;
    assert!(settled, "stats: {:?}", stats_as_rows(&app).await);
    let (status, _) = app
        .post(
            &format!("/admin/v1/notifications/{later}/redeliver"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    app.wait_for_status(later, "delivered", Duration::from_secs(10))
        .await;
    let quiet = eventually(Duration::from_secs(10), || async {
        stats_as_rows(&app).await == full_count(&direct).await
    })
    .await;
    assert!(
        quiet,
        "stats {:?} != full count {:?}",
        stats_as_rows(&app).await,
        full_count(&direct).await
    );

    // Deletes (retention) count too, and folding changes nothing that stats show.
    let deleted = app
        .store
        .purge_finished(chrono::Utc::now() + chrono::Duration::hours(1), 1000)
        .await
        .unwrap();
    assert_eq!(deleted, 16);
    app.store.fold_counts().await.unwrap();
    assert_eq!(stats_as_rows(&app).await, full_count(&direct).await);
    assert_eq!(stats_as_rows(&app).await, Vec::<(String, i64)>::new());
}
