//! Crashes: a process killed with SIGKILL in the middle of a try loses nothing; SIGTERM
//! drains and exits 0.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::common::process::ServiceProcess;
use crate::common::{eventually, Receiver, Reply, TestDb, ADMIN_TOKEN};
use serde_json::{json, Value};

both_backends!(
    killed_during_a_try_is_delivered_after_restart,
    killed_during_group_commits_loses_no_accepted_notification,
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

/// Sends single creates and batches from many connections at once, so group commits are
/// in flight, and kills the process with SIGKILL in the middle of them. Every notification
/// that was answered 201 must be delivered after a restart.
async fn killed_during_group_commits_loses_no_accepted_notification(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    // What the killed instance had leased comes back when its lease expires: a short
    // lease keeps that well inside the wait below (the default is 60 s, the wait's own
    // length).
    let args = ["--lease", "15s", "--request-timeout", "5s"];
    let service = ServiceProcess::start(&db.url, &args);
    let single = service.url("/admin/v1/notifications");
    let batch = service.url("/admin/v1/notifications/batch");
    let accepted = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = CancellationToken::new();
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..16 {
        let (single, batch, accepted, stop) = (
            single.clone(),
            batch.clone(),
            accepted.clone(),
            stop.clone(),
        );
        let target = receiver.url("/n");
        senders.spawn(async move {
            let client = reqwest::Client::new();
            for round in 0.. {
                if stop.is_cancelled() {
                    return;
                }
                let tag = |i: u32| format!("s{sender}-r{round}-i{i}");
                let (url, body, tags) = if round % 4 == 3 {
                    let tags: Vec<String> = (0..20).map(tag).collect();
                    let items: Vec<Value> = tags
                        .iter()
                        .map(|t| json!({"url": target, "body": {"tag": t}}))
                        .collect();
                    (&batch, json!({ "notifications": items }), tags)
                } else {
                    let t = tag(0);
                    (&single, json!({"url": target, "body": {"tag": t}}), vec![t])
                };
                // A request cut off by the kill has no answer: it may or may not have
                // committed, and the test does not count it either way.
                let Ok(response) = client
                    .post(url)
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&body)
                    .send()
                    .await
                else {
                    return;
                };
                if response.status() == 201 {
                    accepted.lock().unwrap().extend(tags);
                } else if response.status().is_server_error() {
                    return;
                } else {
                    panic!("unexpected answer {}", response.status());
                }
            }
        });
    }
    let enough = eventually(Duration::from_secs(30), || async {
        accepted.lock().unwrap().len() >= 600
    })
    .await;
    assert!(enough, "the senders got 600 notifications accepted");
    service.kill();
    stop.cancel();
    while senders.join_next().await.is_some() {}
    let accepted: Vec<String> = accepted.lock().unwrap().clone();

    let service = ServiceProcess::start(&db.url, &args);
    let arrived = || {
        receiver
            .received()
            .iter()
            .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .filter_map(|v| v["tag"].as_str().map(str::to_owned))
            .collect::<HashSet<String>>()
    };
    let all_arrived = eventually(Duration::from_secs(60), || async {
        let arrived = arrived();
        accepted.iter().all(|tag| arrived.contains(tag))
    })
    .await;
    let arrived = arrived();
    let missing: Vec<&String> = accepted.iter().filter(|t| !arrived.contains(*t)).collect();
    assert!(
        all_arrived,
        "{} of {} accepted notifications never arrived, such as {:?}",
        missing.len(),
        accepted.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
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
        .list(&ums_notify::outbox::ListFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(n[0].status.as_str(), "delivered");
}
