//! Crashes: a process killed with SIGKILL in the middle of a try loses nothing; SIGTERM
//! drains and exits 0.

use std::time::Duration;

use crate::common::process::ServiceProcess;
use crate::common::{eventually, Receiver, Reply, TestDb, ADMIN_TOKEN};
use serde_json::{json, Value};

both_backends!(
    killed_during_a_try_is_delivered_after_restart,
    sigterm_exits_zero
);

async fn get(client: &reqwest::Client, url: String) -> Value {
    client
        .get(url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn killed_during_a_try_is_delivered_after_restart(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    receiver.then([Reply::Hang]);
    let args = ["--lease", "2s", "--request-timeout", "1500ms"];
    let service = ServiceProcess::start(&db.url, &args);
    let client = reqwest::Client::new();
    let created: Value = client
        .post(service.url("/admin/v1/notifications"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"url": receiver.url("/n"), "body": {"survive": true}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap();
    receiver.wait_for(1, Duration::from_secs(10)).await;
    service.kill();

    let service = ServiceProcess::start(&db.url, &args);
    let url = service.url(&format!("/admin/v1/notifications/{id}"));
    let delivered = eventually(Duration::from_secs(15), || async {
        get(&client, url.clone()).await["status"] == "delivered"
    })
    .await;
    assert!(delivered, "{}", get(&client, url.clone()).await);
    let got = receiver.received();
    assert_eq!(got.len(), 2, "the interrupted try ran again, once");
    assert_eq!(got[0].body, got[1].body);
    assert_eq!(service.terminate().code(), Some(0));
}

async fn sigterm_exits_zero(db: TestDb) {
    let receiver = Receiver::start(Reply::Slow(200, Duration::from_millis(300))).await;
    let service = ServiceProcess::start(&db.url, &[]);
    let client = reqwest::Client::new();
    let response = client
        .post(service.url("/admin/v1/notifications"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"url": receiver.url("/n"), "body": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    receiver.wait_for(1, Duration::from_secs(10)).await;
    // The try in flight finishes within the grace period; then the process exits 0.
    assert_eq!(service.terminate().code(), Some(0));
    let store = db.store().await;
    let n = store
        .list(&ums_notify::store::ListFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(n[0].status.as_str(), "delivered");
}
