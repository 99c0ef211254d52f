//! Merchant access keys: shown once, listed without their secret, revoked at once; a key
//! acts as its merchant (its notifications are its own, what only the operator may do
//! answers 403); a key over its merchant's budget is answered 429 with `Retry-After`
//! and writes nothing; refusals of the admin API and the platform API are counted by
//! reason. Each test runs on SQLite and PostgreSQL.

use reqwest::Method;
use serde_json::{json, Value};

use super::{issue_key, with_key};
use crate::common::payments::{create_merchant, MID_A, MID_B, NOWHERE};
use crate::common::{metric_value, TestDb};

both_backends!(
    a_key_is_shown_once_listed_without_its_secret_and_revoked_at_once,
    a_key_acts_as_its_merchant_only,
    a_key_over_its_budget_is_refused_and_writes_nothing,
    platform_refusals_are_counted_by_reason,
);

async fn a_key_is_shown_once_listed_without_its_secret_and_revoked_at_once(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    create_merchant(&app, MID_A, json!({})).await;
    let keys = format!("/admin/v1/merchants/{MID_A}/access-keys");
    let (status, issued) = app.post(&keys, json!({"name": "laptop"})).await;
    assert_eq!(status, 201, "{issued}");
    let key = issued["key"].as_str().unwrap().to_owned();
    let id = issued["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("umsk_") && key.len() == 45, "{issued}");
    assert_eq!(issued["mid"], MID_A);
    assert_eq!(issued["name"], "laptop");

    let (status, listed) = app.get(&keys).await;
    assert_eq!(status, 200, "{listed}");
    let listed = listed["access_keys"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["created_at"], issued["created_at"]);
    assert!(listed[0].get("key").is_none(), "{listed:?}");
    assert!(!Value::Array(listed).to_string().contains(&key));
    // Nothing but the digest is stored.
    let stored: Vec<(String,)> = match db.backend {
        crate::common::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query_as("SELECT digest FROM access_keys")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
        crate::common::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query_as("SELECT digest FROM access_keys")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].0, key);
    assert_eq!(stored[0].0.len(), 64);

    let own = format!("/admin/v1/merchants/{MID_A}");
    let (status, _, merchant) = with_key(&app, &key, Method::GET, &own, None).await;
    assert_eq!(status, 200, "{merchant}");

    // A bad name is refused and issues nothing.
    let (status, refused) = app.post(&keys, json!({"name": ""})).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("invalid_name"))
    );
    let (status, refused) = app.post(&keys, json!({"label": "x"})).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("unknown_field"))
    );
    assert_eq!(
        app.get(&keys).await.1["access_keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The body may be left out: a key without a name.
    let response = app.admin(Method::POST, &keys).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let unnamed: Value = response.json().await.unwrap();
    assert_eq!(unnamed["name"], Value::Null);
    let unnamed = format!("{keys}/{}", unnamed["id"].as_str().unwrap());
    let response = app.admin(Method::DELETE, &unnamed).send().await.unwrap();
    assert_eq!(response.status(), 204);

    let revoke = format!("{keys}/{id}");
    let response = app.admin(Method::DELETE, &revoke).send().await.unwrap();
    assert_eq!(response.status(), 204);
    let (status, _, refused) = with_key(&app, &key, Method::GET, &own, None).await;
    assert_eq!(status, 401, "{refused}");
    assert_eq!(refused["error"]["code"], "unauthorized");
    let response = app.admin(Method::DELETE, &revoke).send().await.unwrap();
    assert_eq!(response.status(), 404);

    let response = app.http.get(app.url(&own)).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = app
        .http
        .get(app.url(&own))
        .header("authorization", "Basic eDp5")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let metrics = app.metrics().await;
    for (reason, count) in [
        ("unknown_credentials", 1.0),
        ("missing_credentials", 1.0),
        ("malformed_credentials", 1.0),
    ] {
        let series =
            format!(r#"ums_notify_auth_failures_total{{reason="{reason}",surface="admin"}}"#);
        assert_eq!(metric_value(&metrics, &series), Some(count), "{series}");
    }
    app.stop().await;
}

async fn a_key_acts_as_its_merchant_only(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    create_merchant(&app, MID_A, json!({})).await;
    create_merchant(&app, MID_B, json!({})).await;
    let (_, a) = issue_key(&app, MID_A).await;
    let (_, b) = issue_key(&app, MID_B).await;

    // A notification a key creates is its merchant's, and its idempotency keys are its
    // own: B's same key makes B's own notification.
    let body = |_: Option<&str>| {
        json!({"url": NOWHERE, "body": "x", "content_type": "text/plain",
            "idempotency_key": "order-1"})
    };
    let (status, _, made_a) = with_key(
        &app,
        &a,
        Method::POST,
        "/admin/v1/notifications",
        Some(body(None)),
    )
    .await;
    assert_eq!(status, 201, "{made_a}");
    assert_eq!(made_a["tenant"], MID_A);
    let (status, _, made_b) = with_key(
        &app,
        &b,
        Method::POST,
        "/admin/v1/notifications",
        Some(body(None)),
    )
    .await;
    assert_eq!(status, 201, "{made_b}");
    assert_eq!(made_b["tenant"], MID_B);
    assert_ne!(made_a["id"], made_b["id"]);
    assert_eq!(
        made_a["idempotency_key"], "order-1",
        "shown as the merchant gave it"
    );
    // The operator's key that looks like A's namespaced one names nothing of A's, and A's
    // key finds nothing of the operator's.
    let (status, operators) = app
        .post(
            "/admin/v1/notifications",
            json!({"url": NOWHERE, "body": "x", "content_type": "text/plain",
                "idempotency_key": format!("{MID_A}:order-1")}),
        )
        .await;
    assert_eq!(status, 201, "{operators}");
    assert_ne!(operators["id"], made_a["id"]);
    let (status, refused) = app
        .post(
            "/admin/v1/notifications",
            json!({"url": NOWHERE, "body": "x", "content_type": "text/plain",
                "idempotency_key": format!("{MID_A}\u{1f}order-1")}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("invalid_idempotency_key")),
        "{refused}"
    );
    let (status, _, again) = with_key(
        &app,
        &a,
        Method::POST,
        "/admin/v1/notifications",
        Some(body(None)),
    )
    .await;
    assert_eq!((status, &again["id"]), (200, &made_a["id"]), "{again}");

    // Its lists hold its own only, asked or not.
    let (_, _, listed) = with_key(&app, &a, Method::GET, "/admin/v1/notifications", None).await;
    let listed = listed["notifications"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["tenant"], MID_A);
    let (_, _, merchants) = with_key(&app, &a, Method::GET, "/admin/v1/merchants", None).await;
    let merchants = merchants["merchants"].as_array().unwrap().clone();
    assert_eq!(merchants.len(), 1);
    assert_eq!(merchants[0]["mid"], MID_A);

    // Its own settings it sets; its budget and new merchants are the operator's.
    let own = format!("/admin/v1/merchants/{MID_A}");
    let (status, _, patched) =
        with_key(&app, &a, Method::PATCH, &own, Some(json!({"name": "改名"}))).await;
    assert_eq!(
        (status, &patched["name"]),
        (200, &json!("改名")),
        "{patched}"
    );
    let before = app.get(&own).await.1;
    let (status, _, refused) = with_key(
        &app,
        &a,
        Method::PATCH,
        &own,
        Some(json!({"name": "again", "rate_limit_per_second": 10000})),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{refused}"
    );
    assert_eq!(
        app.get(&own).await.1,
        before,
        "a refused patch changes nothing"
    );
    let (status, _, refused) = with_key(
        &app,
        &a,
        Method::POST,
        "/admin/v1/merchants",
        Some(json!({"mid": "898310048169999", "name": "x"})),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{refused}"
    );
    assert_eq!(
        app.get("/admin/v1/merchants").await.1["merchants"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let metrics = app.metrics().await;
    assert_eq!(
        metric_value(
            &metrics,
            r#"ums_notify_auth_failures_total{reason="forbidden",surface="admin"}"#
        ),
        Some(1.0)
    );
    app.stop().await;
}

async fn a_key_over_its_budget_is_refused_and_writes_nothing(db: TestDb) {
    let app = db
        .spawn_with_clock(ums_notify::clock::Clock::fixed(chrono::Utc::now()), |_| {})
        .await;
    create_merchant(
        &app,
        MID_A,
        json!({"rate_limit_per_second": 1, "rate_limit_burst": 2}),
    )
    .await;
    create_merchant(&app, MID_B, json!({})).await;
    let (_, a) = issue_key(&app, MID_A).await;
    let (_, b) = issue_key(&app, MID_B).await;
    let send = json!({"url": NOWHERE, "body": "x", "content_type": "text/plain"});
    for _ in 0..2 {
        let (status, _, made) = with_key(
            &app,
            &a,
            Method::POST,
            "/admin/v1/notifications",
            Some(send.clone()),
        )
        .await;
        assert_eq!(status, 201, "{made}");
    }
    let stored = app.stored_total().await;
    let (status, retry_after, refused) = with_key(
        &app,
        &a,
        Method::POST,
        "/admin/v1/notifications",
        Some(send.clone()),
    )
    .await;
    assert_eq!(status, 429, "{refused}");
    assert_eq!(refused["error"]["code"], "rate_limited");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(
        app.stored_total().await,
        stored,
        "a refused request writes nothing"
    );
    // Another merchant's key and the operator are not held back.
    let (status, _, made) = with_key(
        &app,
        &b,
        Method::POST,
        "/admin/v1/notifications",
        Some(send.clone()),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    for _ in 0..3 {
        assert_eq!(app.get("/admin/v1/stats").await.0, 200);
    }
    // Once the sandbox's time moves on, the budget is back.
    app.clock.advance(chrono::Duration::seconds(1));
    let (status, _, made) = with_key(
        &app,
        &a,
        Method::POST,
        "/admin/v1/notifications",
        Some(send),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let metrics = app.metrics().await;
    assert_eq!(
        metric_value(&metrics, r#"ums_notify_rate_limited_total{api="admin"}"#),
        Some(1.0)
    );
    app.stop().await;
}

async fn platform_refusals_are_counted_by_reason(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    create_merchant(&app, MID_A, json!({})).await;
    let sign = crate::common::platform::SIGN;
    let body = r#"{"mid":"898310048161234"}"#;
    for authorization in [
        None,
        Some("Basic eDp5"),
        Some("OPEN-ACCESS-TOKEN AccessToken=nosuchtoken"),
    ] {
        let mut request = app
            .http
            .post(app.url(sign))
            .header("content-type", "application/json")
            .body(body);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        assert_ne!(answer["errCode"], "0000", "{answer}");
    }
    let metrics = app.metrics().await;
    for reason in [
        "missing_credentials",
        "malformed_credentials",
        "unknown_credentials",
    ] {
        let series =
            format!(r#"ums_notify_auth_failures_total{{reason="{reason}",surface="platform"}}"#);
        assert_eq!(metric_value(&metrics, &series), Some(1.0), "{series}");
    }
    let series = r#"ums_notify_auth_failures_total{reason="bad_signature",surface="platform"}"#;
    assert_eq!(
        metric_value(&metrics, series),
        Some(0.0),
        "every reason shows from the start"
    );
    app.stop().await;
}
