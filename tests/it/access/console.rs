//! The console signed in with a merchant access key: merchant B's pages show B only;
//! A's merchant page, notification, contract, order and check run answer 404; lists
//! leave A out even when asked for A; A's forms refuse B; revoking B's key ends the
//! session. Over plain HTTP on SQLite and PostgreSQL, and in a real browser.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::issue_key;
use crate::common::browser::Browser;
use crate::common::console::{form_token, signed_in_with};
use crate::common::payments::{create_merchant, create_order, MID_A, MID_B, NOWHERE};
use crate::common::{eventually, Backend, TestDb};

both_backends!(merchant_bs_console_shows_b_only);

async fn merchant_bs_console_shows_b_only(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    create_merchant(&app, MID_A, json!({})).await;
    create_merchant(&app, MID_B, json!({"name": "乙商户"})).await;
    let (_, a_key) = issue_key(&app, MID_A).await;
    let (status, _, a_note) = super::with_key(
        &app,
        &a_key,
        reqwest::Method::POST,
        "/admin/v1/notifications",
        Some(json!({"url": NOWHERE, "body": "a", "content_type": "text/plain"})),
    )
    .await;
    assert_eq!(status, 201, "{a_note}");
    let a_order = create_order(&app, json!({"mid": MID_A, "total_amount": 100})).await;
    let (status, a_contract) = app
        .post(
            "/admin/v1/contracts",
            json!({"mid": MID_A, "contract_no": "A0000001", "plan_id": "PLAN0001"}),
        )
        .await;
    assert_eq!(status, 201, "{a_contract}");
    let b_order = create_order(&app, json!({"mid": MID_B, "total_amount": 200})).await;
    let (b_key_id, b_key) = issue_key(&app, MID_B).await;

    let (http, cookie) = signed_in_with(&app, &b_key).await;
    let get = |path: String| {
        let http = http.clone();
        let cookie = cookie.clone();
        let url = app.url(&path);
        async move {
            let response = http.get(url).header("cookie", cookie).send().await.unwrap();
            let status = response.status();
            (status, response.text().await.unwrap())
        }
    };
    for path in [
        "/console/notifications".to_owned(),
        format!("/console/notifications?mid={MID_A}"),
        "/console/merchants".to_owned(),
        "/console/contracts".to_owned(),
        format!("/console/contracts?mid={MID_A}"),
        "/console/orders".to_owned(),
        format!("/console/orders?mid={MID_A}"),
    ] {
        let (status, html) = get(path.clone()).await;
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        let shown = html.replace(&format!("value=\"{MID_A}\""), "");
        assert!(!shown.contains(MID_A), "{path} shows merchant A: {html}");
    }
    let (_, orders) = get("/console/orders".to_owned()).await;
    assert!(
        orders.contains(&format!("/console/orders/{}", b_order["id"])),
        "{orders}"
    );
    let (_, merchants) = get("/console/merchants".to_owned()).await;
    assert!(
        merchants.contains(MID_B) && merchants.contains("乙商户"),
        "{merchants}"
    );
    assert!(
        !merchants.contains("action=\"/console/merchants\""),
        "a merchant is not offered to create merchants"
    );
    let (status, _) = get(format!("/console/merchants/{MID_B}")).await;
    assert_eq!(status, StatusCode::OK);
    let contract = a_contract["contract_id"].as_str().unwrap();
    let contract: String = url::form_urlencoded::byte_serialize(contract.as_bytes()).collect();
    for path in [
        format!("/console/merchants/{MID_A}"),
        format!("/console/notifications/{}", a_note["id"]),
        format!("/console/orders/{}", a_order["id"]),
        format!("/console/contracts/{contract}"),
    ] {
        let (status, html) = get(path.clone()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {html}");
    }

    // A's forms refuse B and change nothing, even with B's own form token.
    let (_, page) = get(format!("/console/merchants/{MID_B}")).await;
    let token = form_token(&page);
    let before = app
        .get(&format!("/admin/v1/orders/{}", a_order["id"]))
        .await
        .1;
    let response = http
        .post(app.url(&format!("/console/orders/{}/transitions", a_order["id"])))
        .header("cookie", &cookie)
        .form(&[("form_token", token.as_str()), ("to", "TRADE_CLOSED")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("error="), "{location}");
    assert_eq!(
        app.get(&format!("/admin/v1/orders/{}", a_order["id"]))
            .await
            .1,
        before
    );
    let merchants_before = app.get("/admin/v1/merchants").await.1;
    let response = http
        .post(app.url("/console/merchants"))
        .header("cookie", &cookie)
        .form(&[
            ("form_token", token.as_str()),
            ("mid", "898310048169999"),
            ("name", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get("/admin/v1/merchants").await.1, merchants_before);

    // B issues itself a key on its page, shown once; A's card refuses B.
    let response = http
        .post(app.url(&format!("/console/merchants/{MID_B}/access-keys")))
        .header("cookie", &cookie)
        .form(&[("form_token", token.as_str()), ("name", "laptop")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let shown = response.text().await.unwrap();
    assert!(shown.contains("umsk_"), "{shown}");
    let (_, page) = get(format!("/console/merchants/{MID_B}")).await;
    assert!(page.contains("laptop") && !page.contains("umsk_"), "{page}");
    let a_keys = format!("/admin/v1/merchants/{MID_A}/access-keys");
    let keys_before = app.get(&a_keys).await.1;
    let response = http
        .post(app.url(&format!("/console/merchants/{MID_A}/access-keys")))
        .header("cookie", &cookie)
        .form(&[("form_token", token.as_str()), ("name", "mine now")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get(&a_keys).await.1, keys_before);

    // Revoking the key ends the session at once.
    let response = app
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/v1/merchants/{MID_B}/access-keys/{b_key_id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, _) = get("/console/orders".to_owned()).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "back to the sign-in page");

    // A wrong key does not sign in, and is counted.
    let response = http
        .post(app.url("/console/sign-in"))
        .form(&[("token", b_key.as_str())])
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/console/sign-in?"), "{location}");
    assert!(response.headers().get("set-cookie").is_none());
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(
            r#"ums_notify_auth_failures_total{reason="unknown_credentials",surface="console"} 1"#
        ),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_key_signs_into_the_console_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let db = TestDb::new(Backend::Sqlite).await.expect("SQLite");
    let app = db.spawn(|_| {}).await;
    create_merchant(&app, MID_A, json!({"name": "甲商户"})).await;
    create_merchant(&app, MID_B, json!({"name": "乙商户"})).await;
    create_order(&app, json!({"mid": MID_A, "total_amount": 100})).await;
    let b_order = create_order(&app, json!({"mid": MID_B, "total_amount": 200})).await;
    let (_, b_key) = issue_key(&app, MID_B).await;

    browser.open(&app, "/console").await;
    browser.fill("input[name=token]", &b_key).await;
    browser
        .click("form[action='/console/sign-in'] button")
        .await;
    assert!(
        browser.shows("Merchants").await,
        "signed in: {}",
        browser.page().await
    );
    browser.open(&app, "/console/orders").await;
    let b_link = format!("/console/orders/{}", b_order["id"]);
    assert!(
        eventually(Duration::from_secs(10), || async {
            browser.page().await.contains(&b_link)
        })
        .await,
        "B's order is listed"
    );
    let page = browser.page().await;
    assert!(!page.contains(MID_A), "B's orders page shows A: {page}");
    browser.shot("merchant-orders").await;
    browser.open(&app, "/console/merchants").await;
    let page = browser.page().await;
    assert!(
        page.contains("乙商户") && !page.contains("甲商户"),
        "{page}"
    );
    browser
        .open(&app, &format!("/console/merchants/{MID_A}"))
        .await;
    let page = browser.page().await;
    assert!(page.contains("no merchant"), "{page}");
    browser.stop().await;
    app.stop().await;
}
