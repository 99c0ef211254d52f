//! Batch enqueue and the group commit under it: order, all-or-nothing validation that
//! names bad items, idempotency inside a batch, the size limits, and a failing unit that
//! does not take its group down.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};

use ums_notify::db::{Db, Sql, StoreOptions, Tx};
use ums_notify::outbox::committer::{commit_together, Unit, Written};

use crate::common::{Receiver, Reply, TestDb};

both_backends!(
    a_batch_is_accepted_in_request_order_and_delivered,
    a_bad_item_is_named_by_index_and_nothing_is_written,
    idempotency_keys_repeat_inside_a_batch_as_across_batches,
    a_reused_key_with_another_body_fails_the_whole_batch,
    the_size_limits_hold,
    a_failing_unit_fails_alone_in_its_group,
    concurrent_single_enqueues_all_commit,
    a_key_sent_concurrently_creates_one,
);

fn item(receiver: &Receiver, n: usize) -> Value {
    json!({"url": receiver.url("/batch"), "body": {"n": n}})
}

async fn a_batch_is_accepted_in_request_order_and_delivered(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    let items: Vec<Value> = (0..20).map(|n| item(&receiver, n)).collect();
    let answer = app.enqueue_batch(items).await;
    assert_eq!(answer["created"], 20);
    let listed = answer["notifications"].as_array().unwrap();
    assert_eq!(listed.len(), 20);
    for (n, notification) in listed.iter().enumerate() {
        assert_eq!(notification["body"], format!("{{\"n\":{n}}}"));
        assert_eq!(notification["status"], "pending");
    }
    let ids: Vec<i64> = listed.iter().map(|n| n["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids rise in request order"
    );
    for id in &ids {
        app.wait_for_status(*id, "delivered", Duration::from_secs(20))
            .await;
    }
    assert_eq!(receiver.count(), 20);
}

async fn a_bad_item_is_named_by_index_and_nothing_is_written(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    let mut items: Vec<Value> = (0..5).map(|n| item(&receiver, n)).collect();
    items[1] = json!({"url": "ftp://example.com/", "body": {}});
    items[3] = json!({"url": receiver.url("/x"), "body": {}, "max_attempts": 0});
    let (status, answer) = app
        .post(
            "/admin/v1/notifications/batch",
            json!({ "notifications": items }),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_items");
    let bad = answer["error"]["items"].as_array().unwrap();
    let named: Vec<(u64, &str)> = bad
        .iter()
        .map(|i| (i["index"].as_u64().unwrap(), i["code"].as_str().unwrap()))
        .collect();
    assert_eq!(named, vec![(1, "invalid_url"), (3, "invalid_max_attempts")]);
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("item 1") && message.contains("item 3"),
        "{message}"
    );
    assert_eq!(
        app.stored_total().await,
        0,
        "nothing of a rejected batch is written"
    );

    // A malformed item (a field of the wrong type) is a 422 too, before anything else.
    let (status, answer) = app
        .post(
            "/admin/v1/notifications/batch",
            json!({"notifications": [{"url": 5, "body": {}}]}),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(app.stored_total().await, 0);
}

async fn idempotency_keys_repeat_inside_a_batch_as_across_batches(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    let keyed = json!({"url": receiver.url("/k"), "body": {"k": 1}, "idempotency_key": "k-1"});
    let (status, answer) = app
        .post(
            "/admin/v1/notifications/batch",
            json!({"notifications": [keyed, item(&receiver, 7), keyed]}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["created"], 2);
    let listed = answer["notifications"].as_array().unwrap();
    assert_eq!(
        listed[0]["id"], listed[2]["id"],
        "the repeat names the first"
    );
    assert_ne!(listed[0]["id"], listed[1]["id"]);

    // Across batches and single creates, the key names the same notification.
    let (status, again) = app
        .post(
            "/admin/v1/notifications/batch",
            json!({"notifications": [keyed]}),
        )
        .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["created"], 0);
    assert_eq!(again["notifications"][0]["id"], listed[0]["id"]);
    let (status, single) = app.post("/admin/v1/notifications", keyed).await;
    assert_eq!(status, 200, "{single}");
    assert_eq!(single["id"], listed[0]["id"]);

    let id = listed[0]["id"].as_i64().unwrap();
    app.wait_for_status(id, "delivered", Duration::from_secs(20))
        .await;
    assert!(
        crate::common::eventually(Duration::from_secs(10), || async { receiver.count() == 2 })
            .await
    );
    assert_eq!(app.stored_total().await, 2);
}

async fn a_reused_key_with_another_body_fails_the_whole_batch(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    let first = json!({"url": receiver.url("/k"), "body": {"k": 1}, "idempotency_key": "k-2"});
    let clash = json!({"url": receiver.url("/k"), "body": {"k": 2}, "idempotency_key": "k-2"});
    let (status, answer) = app
        .post(
            "/admin/v1/notifications/batch",
            json!({"notifications": [item(&receiver, 0), first, item(&receiver, 2), clash]}),
        )
        .await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "idempotency_key_reused");
    assert_eq!(answer["error"]["items"][0]["index"], 3);
    assert_eq!(
        app.stored_total().await,
        0,
        "none of the batch was accepted"
    );
    assert_eq!(receiver.count(), 0);
}

async fn the_size_limits_hold(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    let (status, answer) = app
        .post(
            "/admin/v1/notifications/batch",
            json!({"notifications": []}),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("empty_batch"))
    );

    let too_many: Vec<Value> = (0..1001).map(|n| item(&receiver, n)).collect();
    let (status, answer) = app
        .post(
            "/admin/v1/notifications/batch",
            json!({ "notifications": too_many }),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("batch_too_large"))
    );
    assert_eq!(app.stored_total().await, 0);

    // A full batch whose request is larger than a single create may be is accepted.
    let padding = "x".repeat(3_000);
    let full: Vec<Value> = (0..1000)
        .map(|n| json!({"url": receiver.url("/big"), "body": {"n": n, "pad": padding}}))
        .collect();
    let (status, answer) = app
        .post(
            "/admin/v1/notifications/batch",
            json!({ "notifications": full }),
        )
        .await;
    assert_eq!(status, 201, "{}", answer["error"]);
    assert_eq!(answer["created"], 1000);
    receiver.wait_for(1000, Duration::from_secs(60)).await;
}

/// Inserts one row into a scratch table; a `bad` unit names a table that does not exist.
struct Put {
    value: i64,
    bad: bool,
}

#[async_trait]
impl Unit for Put {
    type Output = i64;

    async fn write(&mut self, tx: &mut Tx) -> anyhow::Result<Written<i64>> {
        let table = if self.bad { "no_such_table" } else { "scratch" };
        let sql = Sql::new(format!("INSERT INTO {table} (v) VALUES ($1)")).bind(self.value);
        tx.execute(&sql).await?;
        Ok(Written {
            output: self.value,
            due: false,
        })
    }
}

async fn a_failing_unit_fails_alone_in_its_group(db: TestDb) {
    let db = Db::connect(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    db.write(&Sql::new("CREATE TABLE scratch (v BIGINT NOT NULL)"))
        .await
        .unwrap();
    let units = vec![
        Put {
            value: 1,
            bad: false,
        },
        Put {
            value: 2,
            bad: true,
        },
        Put {
            value: 3,
            bad: false,
        },
    ];
    let results = commit_together(&db, units).await;
    assert_eq!(results[0].as_ref().ok(), Some(&1));
    assert!(results[1].is_err());
    assert_eq!(results[2].as_ref().ok(), Some(&3));
    let rows: Vec<(i64,)> = db
        .read_all(&Sql::new("SELECT v FROM scratch ORDER BY v"))
        .await
        .unwrap();
    assert_eq!(rows, vec![(1,), (3,)]);
}

/// Many creates at once: every 201 names a stored notification, and each is delivered
/// exactly once.
async fn concurrent_single_enqueues_all_commit(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = std::sync::Arc::new(db.spawn(|_| {}).await);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..200 {
        let app = app.clone();
        let body = item(&receiver, n);
        tasks.spawn(async move { app.post("/admin/v1/notifications", body).await });
    }
    let mut ids = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let (status, answer) = result.unwrap();
        assert_eq!(status, 201, "{answer}");
        ids.push(answer["id"].as_i64().unwrap());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 200);
    let received = receiver.wait_for(200, Duration::from_secs(60)).await;
    let mut seen: Vec<String> = received
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 200, "each notification arrived once");
}

/// The same key from many connections at once (so within one group commit, too): one
/// create, and every other answer names it.
async fn a_key_sent_concurrently_creates_one(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = std::sync::Arc::new(db.spawn(|_| {}).await);
    let body =
        json!({"url": receiver.url("/same"), "body": {"same": 1}, "idempotency_key": "same"});
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let (app, body) = (app.clone(), body.clone());
        tasks.spawn(async move { app.post("/admin/v1/notifications", body).await });
    }
    let mut statuses = Vec::new();
    let mut ids = std::collections::HashSet::new();
    while let Some(result) = tasks.join_next().await {
        let (status, answer) = result.unwrap();
        statuses.push(status);
        ids.insert(answer["id"].as_i64().unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 39);
    assert_eq!(ids.len(), 1);
    receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(app.stored_total().await, 1);
}
