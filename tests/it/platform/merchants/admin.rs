//! Merchants through the admin API: created with generated credentials, shown and listed,
//! refused when malformed (changing nothing), patched field by field, and their key kept
//! out of the metrics. Each test runs against SQLite and PostgreSQL.

use crate::common::platform::{Counter, MID};
use crate::common::{TestApp, TestDb};
use serde_json::{json, Value};

both_backends!(
    merchants_admin_api_creates_shows_and_lists,
    merchants_admin_api_refuses_bad_merchants,
    merchants_admin_api_patches,
    merchants_admin_api_keeps_the_key_out_of_the_metrics,
);

/// The merchant `MID` created through the admin API with a notify URL, automatic consent
/// and an extra copy; the app, a row counter and the answer.
async fn shop(db: &TestDb) -> (TestApp, Counter, Value) {
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(db).await;
    let (status, created) = app
        .post(
            "/admin/v1/merchants",
            json!({"mid": MID, "name": " Shop ", "notify_url": "https://shop.example/n",
                   "auto_consent_after": "30s", "extra_copies": 1}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    (app, counter, created)
}

async fn merchants_admin_api_creates_shows_and_lists(db: TestDb) {
    let (app, _, created) = shop(&db).await;
    assert_eq!(created["name"], "Shop");
    assert_eq!(created["auto_consent_after"], "30s");
    assert_eq!(created["extra_copies"], 1);
    let key = created["app_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 32);
    assert_ne!(created["app_id"], created["app_key"]);
    let (_, list) = app.get("/admin/v1/merchants").await;
    assert_eq!(list["merchants"][0]["app_key"], key.as_str());
    let (status, shown) = app.get(&format!("/admin/v1/merchants/{MID}")).await;
    assert_eq!((status, &shown["app_key"]), (200, &json!(key)));
    assert_eq!(app.get("/admin/v1/merchants/898310048160000").await.0, 404);
    let anonymous = app
        .http
        .get(app.url("/admin/v1/merchants"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

async fn merchants_admin_api_refuses_bad_merchants(db: TestDb) {
    let (app, counter, _) = shop(&db).await;
    let (_, shown) = app.get(&format!("/admin/v1/merchants/{MID}")).await;
    let before = counter.counts().await;
    let bad = [
        (json!({"name": "x"}), "invalid_mid"),
        (json!({"mid": "89831004816123", "name": "x"}), "invalid_mid"),
        (
            json!({"mid": "89831004816-234", "name": "x"}),
            "invalid_mid",
        ),
        (json!({"mid": "898310048160001"}), "invalid_name"),
        (
            json!({"mid": "898310048160001", "name": "  "}),
            "invalid_name",
        ),
        (
            json!({"mid": "898310048160001", "name": "n".repeat(101)}),
            "invalid_name",
        ),
        (
            json!({"mid": "898310048160001", "name": "x", "notify_url": "ftp://x/y"}),
            "invalid_notify_url",
        ),
        (
            json!({"mid": "898310048160001", "name": "x", "auto_consent_after": "soon"}),
            "invalid_auto_consent_after",
        ),
        (
            json!({"mid": "898310048160001", "name": "x", "auto_consent_after": "31d"}),
            "invalid_auto_consent_after",
        ),
        (
            json!({"mid": "898310048160001", "name": "x", "extra_copies": 11}),
            "invalid_extra_copies",
        ),
        (
            json!({"mid": "898310048160001", "name": "x", "app_key": "mine"}),
            "unknown_field",
        ),
    ];
    for (body, code) in bad {
        let (status, refused) = app.post("/admin/v1/merchants", body.clone()).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (422, Some(code)),
            "{body}"
        );
    }
    let (status, refused) = app
        .post("/admin/v1/merchants", json!({"mid": MID, "name": "again"}))
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("merchant_exists"))
    );
    assert_eq!(counter.counts().await, before);
    assert_eq!(
        app.get(&format!("/admin/v1/merchants/{MID}")).await.1,
        shown
    );
}

async fn merchants_admin_api_patches(db: TestDb) {
    let (app, _, created) = shop(&db).await;
    let key = created["app_key"].as_str().unwrap().to_owned();
    let path = format!("/admin/v1/merchants/{MID}");
    let (status, patched) = app.patch(&path,
        json!({"name": "Renamed", "notify_url": null, "auto_consent_after": null, "extra_copies": 0}),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "Renamed");
    assert_eq!(patched["notify_url"], Value::Null);
    assert_eq!(patched["auto_consent_after"], Value::Null);
    assert_eq!(patched["extra_copies"], 0);
    assert_eq!(
        patched["app_key"],
        key.as_str(),
        "a patch keeps the credentials"
    );
    let (status, kept) = app
        .patch(&path, json!({"notify_url": "http://127.0.0.1:1/n"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(kept["name"], "Renamed", "absent fields are kept");
    for (body, status, code) in [
        (json!({}), 422, "empty_patch"),
        (json!({"extra_copies": 99}), 422, "invalid_extra_copies"),
        (json!({"mid": "898310048160001"}), 422, "unknown_field"),
        // A merchant always has a name: null does not clear it, it is refused.
        (json!({"name": null}), 422, "invalid_name"),
        (
            json!({"name": null, "extra_copies": 1}),
            422,
            "invalid_name",
        ),
    ] {
        let (got, refused) = app.patch(&path, body.clone()).await;
        assert_eq!(
            (got, refused["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {refused}"
        );
        if body["name"].is_null() && body.get("name").is_some() {
            let message = refused["error"]["message"].as_str().unwrap();
            assert!(message.contains("`name` cannot be cleared"), "{message}");
        }
    }
    assert_eq!(
        app.patch("/admin/v1/merchants/898310048160000", json!({"name": "x"}))
            .await
            .0,
        404
    );
    assert_eq!(app.get(&path).await.1, kept);

    // `"extra_copies": null` is its default, none.
    let (status, three) = app.patch(&path, json!({"extra_copies": 3})).await;
    assert_eq!((status, &three["extra_copies"]), (200, &json!(3)));
    let (status, reset) = app.patch(&path, json!({"extra_copies": null})).await;
    assert_eq!(
        (status, &reset["extra_copies"]),
        (200, &json!(0)),
        "{reset}"
    );
    assert_eq!(reset["name"], "Renamed");
}

/// The key is for the admin API only.
async fn merchants_admin_api_keeps_the_key_out_of_the_metrics(db: TestDb) {
    let (app, _, created) = shop(&db).await;
    let key = created["app_key"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&format!("/admin/v1/merchants/{MID}")).await.0, 200);
    let metrics = app.metrics().await;
    assert!(!metrics.contains(&key));
    assert!(
        metrics.contains("/admin/v1/merchants/{mid}"),
        "routes are labelled by template"
    );
}
