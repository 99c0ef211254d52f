//! Two instances on one PostgreSQL database, the merchant's `listen` session on one of
//! them: every notice of the merchant reaches the session whichever instance it was
//! sent through, at the first try (the other instance leaves the merchant's notices to
//! the one holding the session, which `GET …/relay` on the other shows).

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::listen::ListenProcess;
use crate::common::payments::{create_merchant, MID_A};
use crate::common::{eventually, Backend, Receiver, Reply, TestApp, TestDb};

const WAIT: Duration = Duration::from_secs(30);

async fn send(app: &TestApp, key: &str, i: usize) -> i64 {
    let response = app
        .http
        .post(app.url("/admin/v1/notifications"))
        .bearer_auth(key)
        .json(
            &json!({"url": "http://127.0.0.1:1/unused", "body": format!("n={i}"),
            "content_type": "application/x-www-form-urlencoded"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let made: Value = response.json().await.unwrap();
    made["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_on_one_instance_receives_the_notices_sent_through_either() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let a = db.spawn(|_| {}).await;
    let b = db.spawn(|_| {}).await;
    create_merchant(&a, MID_A, json!({})).await;
    let (status, issued) = a
        .post(
            &format!("/admin/v1/merchants/{MID_A}/access-keys"),
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let key = issued["key"].as_str().unwrap().to_owned();
    let local = Receiver::start(Reply::Status(200)).await;
    let listen = ListenProcess::start(&[
        "--sandbox",
        &a.base,
        "--key",
        &key,
        "--forward-to",
        &local.url("/local"),
        "--take-over",
        "--format",
        "json",
    ]);
    let live = eventually(WAIT, || async {
        a.get(&format!("/admin/v1/merchants/{MID_A}/relay")).await.1["live"] == true
    })
    .await;
    assert!(
        live,
        "the session is live on instance a: {:?}",
        listen.stderr()
    );
    // Instance b learns of the session from the database.
    let elsewhere = eventually(WAIT, || async {
        b.get(&format!("/admin/v1/merchants/{MID_A}/relay")).await.1["held_elsewhere"] == true
    })
    .await;
    assert!(elsewhere, "instance b sees the session held by instance a");
    let mut ids = Vec::new();
    for i in 0..20 {
        let through = if i % 2 == 0 { &a } else { &b };
        ids.push(send(through, &key, i).await);
    }
    for id in &ids {
        let delivered = b.wait_for_status(*id, "delivered", WAIT).await;
        let tries = delivered["attempt_log"].as_array().unwrap();
        assert_eq!(
            tries.len(),
            1,
            "notification {id} reached the session at its first try: {delivered}"
        );
    }
    assert_eq!(
        local.count(),
        ids.len(),
        "every notice reached the local handler once"
    );
    drop(listen);
    a.stop().await;
    b.stop().await;
}
