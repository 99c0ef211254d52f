//! The admin API's contract: bad input gets a stable error code and changes nothing, the
//! token is enforced, listing pages newest first, idempotency keys deduplicate.

use std::time::Duration;

use crate::common::{Backend, Receiver, Reply, TestApp, TestDb, ADMIN_TOKEN};
use serde_json::{json, Value};

both_backends!(
    bad_input_is_rejected_and_stores_nothing,
    bad_input_is_rejected_and_stores_nothing_raw_bodies,
    bad_input_is_rejected_and_stores_nothing_lookups_and_queries,
    admin_token_is_enforced,
    listing_is_newest_first_and_paginated,
    idempotency_key_returns_the_existing_notification,
    concurrent_repeats_of_one_key_store_one_notification,
    stats_count_by_status,
);

/// Sends a raw body with a content type and returns status and JSON.
async fn raw(app: &TestApp, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let response = app
        .admin(reqwest::Method::POST, "/admin/v1/notifications")
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// An application that takes request bodies of up to 1 KiB.
async fn with_small_bodies(db: &TestDb) -> TestApp {
    db.spawn(|s| {
        s.max_body_bytes = 1024;
    })
    .await
}

async fn bad_input_is_rejected_and_stores_nothing(db: TestDb) {
    let app = with_small_bodies(&db).await;
    let url = "http://127.0.0.1:9/n";
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"body": {}}), 422, "missing_url"),
        (json!({"url": "not a url", "body": {}}), 422, "invalid_url"),
        (
            json!({"url": "ftp://example.com/x", "body": {}}),
            422,
            "invalid_url",
        ),
        (
            json!({"url": "file:///etc/passwd", "body": {}}),
            422,
            "invalid_url",
        ),
        (json!({"url": url}), 422, "missing_body"),
        (
            json!({"url": url, "body": {}, "body_text": "x"}),
            422,
            "conflicting_body",
        ),
        (
            json!({"url": url, "body_text": "x"}),
            422,
            "missing_content_type",
        ),
        (
            json!({"url": url, "body_text": "x", "content_type": "nonsense"}),
            422,
            "invalid_content_type",
        ),
        (
            json!({"url": url, "body": {}, "surprise": 1}),
            422,
            "unknown_field",
        ),
        (json!({"url": 42, "body": {}}), 422, "invalid_request"),
        (
            json!({"url": url, "body": {}, "max_attempts": 0}),
            422,
            "invalid_max_attempts",
        ),
        (
            json!({"url": url, "body": {}, "max_attempts": 1000}),
            422,
            "invalid_max_attempts",
        ),
        (
            json!({"url": url, "body": {}, "retry_schedule": ["soon"]}),
            422,
            "invalid_retry_schedule",
        ),
        (
            json!({"url": url, "body": {}, "retry_schedule": []}),
            422,
            "invalid_retry_schedule",
        ),
        (
            json!({"url": url, "body": {}, "retry_schedule": ["0s"]}),
            422,
            "invalid_retry_schedule",
        ),
        (
            json!({"url": url, "body": {}, "headers": {"Content-Length": "1"}}),
            422,
            "invalid_header",
        ),
        (
            json!({"url": url, "body": {}, "headers": {"bad name": "x"}}),
            422,
            "invalid_header",
        ),
        (
            json!({"url": url, "body": {}, "idempotency_key": ""}),
            422,
            "invalid_idempotency_key",
        ),
        (
            json!({"url": url, "body": {"big": "x".repeat(2000)}}),
            413,
            "body_too_large",
        ),
    ];
    for (body, status, code) in cases {
        let (got, answer) = app.post("/admin/v1/notifications", body.clone()).await;
        assert_eq!(got, status, "{body} -> {answer}");
        assert_eq!(answer["error"]["code"], code, "{body} -> {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
    }
    assert_eq!(
        app.stored_total().await,
        0,
        "no rejected request may store anything"
    );
}

async fn bad_input_is_rejected_and_stores_nothing_raw_bodies(db: TestDb) {
    let app = with_small_bodies(&db).await;
    let url = "http://127.0.0.1:9/n";
    let (status, answer) = raw(&app, "application/json", b"{\"url\": ".to_vec()).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("malformed_json"))
    );
    let (status, answer) = raw(&app, "text/plain", b"{}".to_vec()).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let huge = format!(
        r#"{{"url": "{url}", "body_text": "{}", "content_type": "text/plain"}}"#,
        "x".repeat(10_000)
    );
    let (status, answer) = raw(&app, "application/json", huge.into_bytes()).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );
    assert_eq!(
        app.stored_total().await,
        0,
        "no rejected request may store anything"
    );
}

async fn bad_input_is_rejected_and_stores_nothing_lookups_and_queries(db: TestDb) {
    let app = with_small_bodies(&db).await;
    for path in [
        "/admin/v1/notifications/12345",
        "/admin/v1/notifications/abc",
    ] {
        let (status, answer) = app.get(path).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    for query in [
        "status=lost",
        "limit=0",
        "limit=501",
        "cursor=zz",
        "colour=red",
    ] {
        let (status, answer) = app.get(&format!("/admin/v1/notifications?{query}")).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some("invalid_query")),
            "{query}: {answer}"
        );
    }
    let (status, answer) = app.get("/admin/v1/nothing-here").await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    assert_eq!(
        app.stored_total().await,
        0,
        "no rejected request may store anything"
    );
}

async fn admin_token_is_enforced(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let body = json!({"url": "http://127.0.0.1:9/n", "body": {}});
    let attempts = [
        None,
        Some("Bearer wrong".to_owned()),
        Some(format!("Bearer {ADMIN_TOKEN}x")),
        Some(format!("Basic {ADMIN_TOKEN}")),
        Some(ADMIN_TOKEN.to_owned()),
    ];
    for header in attempts {
        let mut request = app
            .http
            .post(app.url("/admin/v1/notifications"))
            .json(&body);
        if let Some(header) = &header {
            request = request.header("authorization", header);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{header:?}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], "unauthorized");
        let response = app
            .http
            .get(app.url("/admin/v1/stats"))
            .header("authorization", header.clone().unwrap_or_default())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{header:?}");
    }
    assert_eq!(app.stored_total().await, 0);
    // Health and metrics stay open for probes and scrapers.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

async fn listing_is_newest_first_and_paginated(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(500)).await;
    let app = db.spawn(|_| {}).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.enqueue(
                json!({"url": receiver.url("/n"), "body": {"i": i}, "retry_schedule": ["1h"]}),
            )
            .await,
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/admin/v1/notifications?limit=2&cursor={c}"),
            None => "/admin/v1/notifications?limit=2".to_owned(),
        };
        let (status, page) = app.get(&path).await;
        assert_eq!(status, 200);
        seen.extend(
            page["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids, "newest first, each exactly once");

    for id in &ids {
        app.wait_for_retry(*id, 1, Duration::from_secs(10)).await;
    }
    let (_, page) = app.get("/admin/v1/notifications?status=pending").await;
    assert_eq!(page["notifications"].as_array().unwrap().len(), 5);
    let (_, page) = app.get("/admin/v1/notifications?status=delivered").await;
    assert_eq!(page["notifications"].as_array().unwrap().len(), 0);
}

async fn idempotency_key_returns_the_existing_notification(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    let request =
        json!({"url": receiver.url("/n"), "body": {"k": 1}, "idempotency_key": "order-42"});
    let (status, first) = app.post("/admin/v1/notifications", request.clone()).await;
    assert_eq!(status, 201);
    let (status, second) = app.post("/admin/v1/notifications", request).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(first["id"], second["id"]);
    let (status, clash) = app
        .post(
            "/admin/v1/notifications",
            json!({"url": receiver.url("/n"), "body": {"k": 2}, "idempotency_key": "order-42"}),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(clash["error"]["code"], "idempotency_key_reused");
    app.wait_for_status(
        first["id"].as_i64().unwrap(),
        "delivered",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(app.stored_total().await, 1);
    assert_eq!(receiver.count(), 1);
}

async fn stats_count_by_status(db: TestDb) {
    let ok = Receiver::start(Reply::Status(200)).await;
    let bad = Receiver::start(Reply::Status(500)).await;
    let app = db.spawn(|_| {}).await;
    let delivered = app.enqueue(json!({"url": ok.url("/"), "body": {}})).await;
    let failed = app
        .enqueue(json!({"url": bad.url("/"), "body": {}, "max_attempts": 1}))
        .await;
    let waiting = app
        .enqueue(json!({"url": bad.url("/"), "body": {}, "retry_schedule": ["1h"]}))
        .await;
    app.wait_for_status(delivered, "delivered", Duration::from_secs(10))
        .await;
    app.wait_for_status(failed, "failed", Duration::from_secs(10))
        .await;
    app.wait_for_retry(waiting, 1, Duration::from_secs(10))
        .await;
    let (_, stats) = app.get("/admin/v1/stats").await;
    assert_eq!(stats["delivered"], 1, "{stats}");
    assert_eq!(stats["failed"], 1, "{stats}");
    assert_eq!(stats["pending"], 1, "{stats}");
    // The pending one is due in an hour: nothing is overdue.
    assert_eq!(stats["oldest_due_seconds"], 0.0, "{stats}");
}

/// An open admin API is refused on a non-loopback address unless explicitly allowed.
#[tokio::test]
async fn open_admin_api_off_loopback_is_refused_at_start() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut settings = db.settings();
    settings.listen = "0.0.0.0:0".parse().unwrap();
    settings.admin_token = None;
    let refused = ums_notify::startup::Application::build(
        settings.clone(),
        ums_notify::clock::Clock::system(),
    )
    .await;
    let message = format!("{:#}", refused.err().expect("refused"));
    assert!(message.contains("UMS_NOTIFY_ADMIN_TOKEN"), "{message}");

    settings.allow_insecure_admin = true;
    assert!(
        ums_notify::startup::Application::build(settings, ums_notify::clock::Clock::system())
            .await
            .is_ok()
    );

    let mut settings = db.settings();
    settings.lease = settings.request_timeout;
    let refused =
        ums_notify::startup::Application::build(settings, ums_notify::clock::Clock::system()).await;
    assert!(format!("{:#}", refused.err().expect("refused")).contains("--lease"));
}

async fn concurrent_repeats_of_one_key_store_one_notification(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    let request = json!({"url": receiver.url("/n"), "body": {"k": 7}, "idempotency_key": "race"});
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let post = app
            .admin(reqwest::Method::POST, "/admin/v1/notifications")
            .json(&request);
        requests.spawn(async move {
            let response = post.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        });
    }
    let answers = requests.join_all().await;
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    let repeated = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!((created, repeated), (1, 7), "{answers:?}");
    let ids: std::collections::HashSet<_> =
        answers.iter().map(|(_, body)| body["id"].clone()).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.stored_total().await, 1);
}
