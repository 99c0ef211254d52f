//! Check runs started from the sandbox through the admin API, stored on both backends: a
//! refused request writes nothing, runs of the contract checks are kept and listed newest
//! first, and a payment run reports the merchant's latest order paid.

use std::time::Duration;

use serde_json::json;

use crate::common::check::{
    order, payment_reference_handler, reference_handler, AMOUNT, MD5_KEY, ORDER_NO,
};
use crate::common::platform::Merchant;
use crate::common::{eventually, Receiver, Reply, TestApp, TestDb};

both_backends!(
    runs_started_from_the_sandbox_are_stored_refusals_write_nothing,
    runs_started_from_the_sandbox_are_stored,
    a_run_from_the_sandbox_reports_the_merchant_s_latest_order_paid,
);

/// A merchant with a notify URL nothing answers, and the reference handler with its
/// credentials; the merchant and the handler's URL.
async fn merchant_and_handler(app: &TestApp) -> (Merchant, String) {
    let merchant = app
        .create_merchant(
            "898310048160001",
            json!({"notify_url": "http://127.0.0.1:9/unused"}),
        )
        .await;
    let url = reference_handler(&merchant.app_id, &merchant.app_key).await;
    (merchant, url)
}

async fn runs_started_from_the_sandbox_are_stored_refusals_write_nothing(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let (merchant, url) = merchant_and_handler(&app).await;
    let path = format!("/admin/v1/merchants/{}/checks", merchant.mid);
    let (status, body) = app.post(&path, json!({"only": ["no-such-check"]})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("unknown_check")),
        "{body}"
    );
    let (status, body) = app.post(&path, json!({"notify_url": "not a url"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_notify_url")),
        "{body}"
    );
    let (status, body) = app
        .post(&path, json!({"notify_url": url, "extra": 1}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("unknown_field")),
        "{body}"
    );
    let (status, _) = app
        .post("/admin/v1/merchants/898310048169999/checks", json!({}))
        .await;
    assert_eq!(status, 404);
    let bare = app.create_merchant("898310048160002", json!({})).await;
    let (status, body) = app
        .post(
            &format!("/admin/v1/merchants/{}/checks", bare.mid),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("no_notify_url")),
        "{body}"
    );
    let (_, list) = app.get(&path).await;
    assert_eq!(list["checks"], json!([]));
    app.stop().await;
}

async fn runs_started_from_the_sandbox_are_stored(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let (merchant, url) = merchant_and_handler(&app).await;
    let path = format!("/admin/v1/merchants/{}/checks", merchant.mid);

    // A run against the reference handler with the merchant's own credentials.
    let (status, started) = app.post(&path, json!({"notify_url": url})).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["status"], "running");
    let id = started["id"].as_i64().unwrap();
    let finished = eventually(Duration::from_secs(30), || async {
        app.get(&format!("/admin/v1/checks/{id}")).await.1["status"] == "finished"
    })
    .await;
    let (_, run) = app.get(&format!("/admin/v1/checks/{id}")).await;
    assert!(finished, "{run}");
    assert_eq!(run["passed"], true, "{run}");
    assert_eq!(run["summary"], json!({"pass": 12, "fail": 0, "warn": 0}));
    assert_eq!(run["report"]["checks"].as_array().unwrap().len(), 12);
    assert_eq!(run["report"]["mid"], merchant.mid.as_str());
    assert_eq!(run["notify_url"], url.as_str());

    // A second run of two checks against a handler that answers 200 to anything.
    let receiver = Receiver::start(Reply::Status(200)).await;
    let only = json!(["rejects-tampered-body", "accepts-repeat"]);
    let (status, second) = app
        .post(
            &path,
            json!({"notify_url": receiver.url("/n"), "only": only}),
        )
        .await;
    assert_eq!(status, 202, "{second}");
    let id2 = second["id"].as_i64().unwrap();
    assert!(
        eventually(Duration::from_secs(30), || async {
            app.get(&format!("/admin/v1/checks/{id2}")).await.1["status"] == "finished"
        })
        .await
    );
    let (_, run2) = app.get(&format!("/admin/v1/checks/{id2}")).await;
    assert_eq!(run2["passed"], false, "{run2}");
    assert_eq!(run2["only"], only);
    assert_eq!(run2["summary"], json!({"pass": 1, "fail": 1, "warn": 0}));

    // Newest first, without the reports.
    let (status, list) = app.get(&path).await;
    assert_eq!(status, 200);
    let ids: Vec<i64> = list["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![id2, id]);
    assert!(list["checks"][0].get("report").is_none());
    let (status, _) = app.get("/admin/v1/checks/999999").await;
    assert_eq!(status, 404);
    app.stop().await;
}

async fn a_run_from_the_sandbox_reports_the_merchant_s_latest_order_paid(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let mid = "898310048161234";
    let (status, merchant) = app
        .post(
            "/admin/v1/merchants",
            json!({"mid": mid, "name": "Shop", "md5_key": MD5_KEY, "msg_src_id": "3194",
                   "notify_url": "http://127.0.0.1:9/unused"}),
        )
        .await;
    assert_eq!(status, 201, "{merchant}");
    let path = format!("/admin/v1/merchants/{mid}/checks");
    let (status, body) = app.post(&path, json!({"family": "payment"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("no_order")),
        "{body}"
    );
    let (status, created) = app
        .post(
            "/admin/v1/orders",
            json!({"mid": mid, "total_amount": AMOUNT, "order_no": ORDER_NO}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let url = payment_reference_handler(&[order()]).await;
    let (status, started) = app
        .post(&path, json!({"family": "payment", "notify_url": url}))
        .await;
    assert_eq!(status, 202, "{started}");
    let id = started["id"].as_i64().unwrap();
    let run_path = format!("/admin/v1/checks/{id}");
    let finished = eventually(Duration::from_secs(30), || async {
        app.get(&run_path).await.1["status"] == "finished"
    })
    .await;
    let (_, run) = app.get(&run_path).await;
    assert!(finished, "{run}");
    assert_eq!(run["passed"], true, "{run}");
    assert_eq!(run["summary"], json!({"pass": 11, "fail": 0, "warn": 0}));
    let (status, body) = app
        .post(&path, json!({"family": "payment", "order_id": 999_999}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("unknown_order")),
        "{body}"
    );
    app.stop().await;
}
