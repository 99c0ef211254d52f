//! Several instances sharing one PostgreSQL outbox: work is split without running a try
//! twice, a killed instance's work is finished by the others, a dropped database
//! connection loses nothing, readiness follows the database, and an idle instance hears
//! another's enqueue.

use std::collections::HashMap;
use std::time::Duration;

use crate::common::outbox::new_notification;
use crate::common::process::ServiceProcess;
use crate::common::{eventually, metric_value, postgres_server, Backend, Receiver, Reply, TestDb};
use chrono::Utc;
use ums_notify::outbox::Store;

async fn load(store: &dyn Store, url: &str, count: usize) {
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let batch = chunk.iter().map(|i| new_notification(url, *i)).collect();
        store.enqueue_batch(batch, Utc::now()).await.unwrap();
    }
}

/// Every request's notification index, checking each arrived exactly once.
fn assert_each_once(receiver: &Receiver, count: usize) {
    let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
    for request in receiver.received() {
        *seen.entry(request.body.to_vec()).or_default() += 1;
    }
    assert_eq!(seen.len(), count, "every notification arrived");
    let repeated: Vec<_> = seen.values().filter(|n| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "{} notifications arrived more than once",
        repeated.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_split_the_work_without_running_a_try_twice() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let receiver = Receiver::start(Reply::Status(200)).await;
    let a = db.spawn(|s| s.concurrency = 16).await;
    let b = db.spawn(|s| s.concurrency = 16).await;
    // Loaded by a third party, as another process would: both instances hear of it by
    // NOTIFY (an instance skips its own signals; it wakes its dispatcher directly).
    let store = db.store().await;
    load(store.as_ref(), &receiver.url("/n"), 2000).await;
    receiver.wait_for(2000, Duration::from_secs(60)).await;
    let settled = eventually(Duration::from_secs(20), || async {
        store.stats(Utc::now()).await.unwrap().delivered == 2000
    })
    .await;
    assert!(settled, "{:?}", store.stats(Utc::now()).await.unwrap());
    assert_each_once(&receiver, 2000);
    let series = r#"ums_notify_attempts_total{outcome="success"}"#;
    let by_a = metric_value(&a.metrics().await, series).unwrap();
    let by_b = metric_value(&b.metrics().await, series).unwrap();
    assert_eq!(by_a + by_b, 2000.0);
    assert!(
        by_a > 0.0 && by_b > 0.0,
        "both instances worked: {by_a} + {by_b}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_instance_s_work_is_finished_by_the_other() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let receiver = Receiver::start(Reply::Slow(200, Duration::from_millis(20))).await;
    let args = [
        "--lease",
        "3s",
        "--request-timeout",
        "2s",
        "--concurrency",
        "8",
    ];
    let first = ServiceProcess::start(&db.url, &args);
    let second = ServiceProcess::start(&db.url, &args);
    let store = db.store().await;
    load(store.as_ref(), &receiver.url("/n"), 600).await;
    receiver.wait_for(100, Duration::from_secs(30)).await;
    first.kill();
    let done = eventually(Duration::from_secs(60), || async {
        store.stats(Utc::now()).await.unwrap().delivered == 600
    })
    .await;
    assert!(done, "{:?}", store.stats(Utc::now()).await.unwrap());
    // Tries cut off by the kill may run again (at least once), but none is lost.
    let distinct: std::collections::HashSet<_> =
        receiver.received().into_iter().map(|r| r.body).collect();
    assert_eq!(distinct.len(), 600);
    assert_eq!(second.terminate().code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dropped_database_connections_lose_nothing() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let receiver = Receiver::start(Reply::Slow(200, Duration::from_millis(5))).await;
    let app = db.spawn(|s| s.concurrency = 8).await;
    load(app.store.as_ref(), &receiver.url("/n"), 1000).await;
    let database = db.database_name();
    let admin = postgres_server().await;
    for round in 1..=3 {
        receiver
            .wait_for(round * 200, Duration::from_secs(30))
            .await;
        let killed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
        )
        .bind(&database)
        .fetch_all(&admin)
        .await
        .unwrap();
        assert!(!killed.is_empty(), "there were connections to kill");
    }
    let store = db.store().await;
    let done = eventually(Duration::from_secs(60), || async {
        store
            .stats(Utc::now())
            .await
            .is_ok_and(|stats| stats.delivered == 1000)
    })
    .await;
    assert!(done, "{:?}", store.stats(Utc::now()).await);
    let distinct: std::collections::HashSet<_> =
        receiver.received().into_iter().map(|r| r.body).collect();
    assert_eq!(distinct.len(), 1000);
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_database_and_work_resumes() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    let name = db.database_name();
    let admin = postgres_server().await;
    let ready = || async {
        app.http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(ready().await, 200);

    sqlx::query(&format!(
        "ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS false"
    ))
    .execute(&admin)
    .await
    .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&admin)
        .await
        .unwrap();
    assert!(eventually(Duration::from_secs(15), || async { ready().await == 503 }).await);
    let metrics = app.metrics().await;
    assert_eq!(
        metric_value(&metrics, "ums_notify_database_ready"),
        Some(0.0)
    );

    sqlx::query(&format!(
        "ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS true"
    ))
    .execute(&admin)
    .await
    .unwrap();
    assert!(eventually(Duration::from_secs(15), || async { ready().await == 200 }).await);
    let id = app
        .enqueue(serde_json::json!({"url": receiver.url("/n"), "body": {"after": "outage"}}))
        .await;
    app.wait_for_status(id, "delivered", Duration::from_secs(15))
        .await;
}

/// An enqueue through a busy instance is delivered at once by an idle one: the idle one
/// polls only once a minute here, so only the `LISTEN/NOTIFY` wake-up can explain it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_instance_hears_another_instance_s_enqueue() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let hanging = Receiver::start(Reply::Hang).await;
    let healthy = Receiver::start(Reply::Status(200)).await;
    let busy = db
        .spawn(|s| {
            s.concurrency = 1;
            s.request_timeout = Duration::from_secs(30);
            s.lease = Duration::from_secs(60);
            s.poll_interval = Duration::from_secs(60);
        })
        .await;
    busy.enqueue(serde_json::json!({"url": hanging.url("/"), "body": {}}))
        .await;
    hanging.wait_for(1, Duration::from_secs(5)).await;
    let idle = db
        .spawn(|s| s.poll_interval = Duration::from_secs(60))
        .await;
    // Let the idle instance finish its start-up look at the outbox and go to sleep.
    assert!(
        eventually(Duration::from_secs(5), || async {
            idle.http.get(idle.url("/readyz")).send().await.is_ok()
        })
        .await
    );
    let started = std::time::Instant::now();
    let id = busy
        .enqueue(serde_json::json!({"url": healthy.url("/"), "body": {"via": "busy"}}))
        .await;
    busy.wait_for_status(id, "delivered", Duration::from_secs(10))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "delivered by the idle instance well before any poll or lease expiry"
    );
    let series = r#"ums_notify_attempts_total{outcome="success"}"#;
    assert_eq!(metric_value(&idle.metrics().await, series), Some(1.0));
}
