//! Refused when given: every literal form of a refused address, and `localhost`, answers
//! 422 `destination_not_allowed` on each admin route that takes a notify URL, and nothing
//! is written. The allowlist and `any` mode let the same URLs in.

use serde_json::json;

use crate::common::egress::{public, REFUSED_URLS};
use crate::common::process::ServiceProcess;
use crate::common::{Backend, TestDb};

both_backends!(
    each_refused_form_is_refused_when_given_and_nothing_is_written,
    the_allowlist_and_any_mode_accept_what_public_refuses,
);

const MID: &str = "898310048160001";

async fn each_refused_form_is_refused_when_given_and_nothing_is_written(db: TestDb) {
    let app = db.spawn(|s| public(s, &[])).await;
    let refused = |status: u16, answer: &serde_json::Value, url: &str| {
        assert_eq!(status, 422, "{url}: {answer}");
        assert_eq!(
            answer["error"]["code"], "destination_not_allowed",
            "{url}: {answer}"
        );
    };
    for url in REFUSED_URLS {
        let (status, answer) = app
            .post("/admin/v1/notifications", json!({"url": url, "body": {}}))
            .await;
        refused(status, &answer, url);
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("`url`: "), "{message}");
        assert!(message.contains("--destinations public"), "{message}");

        let batch = json!({"notifications": [
            {"url": "https://merchant.example/notify", "body": {}},
            {"url": url, "body": {}},
        ]});
        let (status, answer) = app.post("/admin/v1/notifications/batch", batch).await;
        assert_eq!(status, 422, "{url}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_items", "{answer}");
        assert_eq!(
            answer["error"]["items"],
            json!([{"index": 1, "code": "destination_not_allowed",
                    "message": answer["error"]["items"][0]["message"]}]),
            "{answer}"
        );

        let (status, answer) = app
            .post(
                "/admin/v1/merchants",
                json!({"mid": MID, "name": "Shop", "notify_url": url}),
            )
            .await;
        refused(status, &answer, url);
    }
    assert_eq!(app.stored_total().await, 0);
    let (_, merchants) = app.get("/admin/v1/merchants").await;
    assert_eq!(merchants["merchants"], json!([]), "{merchants}");

    // A merchant without a notify URL cannot be given a refused one, nor checked
    // against one.
    let (status, created) = app
        .post("/admin/v1/merchants", json!({"mid": MID, "name": "Shop"}))
        .await;
    assert_eq!(status, 201, "{created}");
    for url in REFUSED_URLS {
        let path = format!("/admin/v1/merchants/{MID}");
        let (status, answer) = app.patch(&path, json!({"notify_url": url})).await;
        refused(status, &answer, url);
        let checks = format!("/admin/v1/merchants/{MID}/checks");
        let (status, answer) = app.post(&checks, json!({"notify_url": url})).await;
        refused(status, &answer, url);
    }
    let (_, merchant) = app.get(&format!("/admin/v1/merchants/{MID}")).await;
    assert_eq!(
        merchant["notify_url"],
        serde_json::Value::Null,
        "{merchant}"
    );
    assert_eq!(merchant["updated_at"], created["updated_at"], "{merchant}");
    let (_, runs) = app.get(&format!("/admin/v1/merchants/{MID}/checks")).await;
    assert_eq!(runs["checks"], json!([]), "{runs}");
    assert_eq!(app.stored_total().await, 0);
    app.stop().await;
}

async fn the_allowlist_and_any_mode_accept_what_public_refuses(db: TestDb) {
    // Merchants only: their notify URLs are stored, and nothing is sent to them.
    let allowed = [
        "127.0.0.0/8",
        "::1",
        "0.0.0.0/32",
        "10.0.0.0/8",
        "169.254.0.0/16",
    ];
    let app = db.spawn(|s| public(s, &allowed)).await;
    for (i, url) in REFUSED_URLS.iter().enumerate() {
        let mid = format!("89831004816000{i}");
        let (status, answer) = app
            .post(
                "/admin/v1/merchants",
                json!({"mid": mid, "name": "Shop", "notify_url": url}),
            )
            .await;
        assert_eq!(status, 201, "{url}: {answer}");
    }
    app.stop().await;
    // On loopback without --destinations the guard is off (`any`).
    let app = db.spawn(|_| {}).await;
    let (status, answer) = app
        .patch(
            &format!("/admin/v1/merchants/{MID}"),
            json!({"notify_url": "http://169.254.169.254/"}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    app.stop().await;
}

/// Startup says which destinations are in force and why, in both modes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_logs_the_mode_in_force() {
    let Some(db) = TestDb::new(Backend::Sqlite).await else {
        return;
    };
    let within = std::time::Duration::from_secs(10);
    let guard_line = |line: &serde_json::Value| {
        line["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("egress guard"))
    };
    let service = ServiceProcess::start(&db.url, &[]);
    let line = service
        .wait_for_log(within, guard_line)
        .await
        .expect("a guard line");
    assert_eq!(line["fields"]["destinations"], "any", "{line}");
    let chosen = line["fields"]["chosen"].as_str().unwrap();
    assert!(chosen.contains("the default on 127.0.0.1:"), "{line}");
    service.terminate();

    let service = ServiceProcess::start(
        &db.url,
        &[
            "--destinations",
            "public",
            "--allow-destination",
            "127.0.0.0/8,fd00::/8",
        ],
    );
    let line = service
        .wait_for_log(within, guard_line)
        .await
        .expect("a guard line");
    assert_eq!(line["fields"]["destinations"], "public", "{line}");
    assert_eq!(line["fields"]["chosen"], "set by --destinations", "{line}");
    assert_eq!(line["fields"]["allowed"], "127.0.0.0/8,fd00::/8", "{line}");
    service.terminate();
}
