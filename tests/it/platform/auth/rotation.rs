//! A rotated appKey: during the grace both the replaced key and the new one sign
//! `OPEN-BODY-SIG` calls, `OPEN-FORM-PARAM` (H5) redirects and access-token requests;
//! when the grace ends only the new one does, and every access token obtained before the
//! rotation or with the replaced key has expired with it. Each refusal changes nothing.
//! The clock is fixed and stepped to the edge of the grace. Each test runs on SQLite and
//! PostgreSQL.

use serde_json::{json, Value};
use ums_notify::clock::Clock;

use crate::common::auth::{refused, secs, t0};
use crate::common::netpay::{self, body};
use crate::common::payments::counts;
use crate::common::platform::{body_signature, compact, cst, nonce, percent};
use crate::common::platform::{Counter, Merchant, MID, QUERY, TOKEN};
use crate::common::rotation::{new_key, rotated, with_key};
use crate::common::{TestApp, TestDb};

both_backends!(
    both_app_keys_work_during_the_grace_and_only_the_new_one_after,
    a_second_rotation_ends_the_first_grace,
);

const CONTRACT_NO: &str = "CN2024070100000001";

fn query_body(app: &TestApp) -> Value {
    json!({"mid": MID, "requestTimestamp": cst(app.clock.now()), "contractNo": CONTRACT_NO})
}

/// The sign-query called with a body signature by `merchant`'s key: its errCode.
async fn query_code(app: &TestApp, merchant: &Merchant) -> Value {
    let answer = merchant.call(app, QUERY, &query_body(app)).await;
    answer["errCode"].clone()
}

/// The sign-query called with an access token: its errCode.
async fn query_with_token(app: &TestApp, token: &str) -> Value {
    let bytes = serde_json::to_vec(&query_body(app)).unwrap();
    let auth = format!("OPEN-ACCESS-TOKEN AccessToken={token}");
    let (_, answer) = app.platform(QUERY, Some(&auth), &bytes).await;
    answer["errCode"].clone()
}

/// An access token for `merchant`'s key, and the `expiresIn` it was given.
async fn token(app: &TestApp, merchant: &Merchant) -> (String, i64) {
    let body = serde_json::to_vec(&merchant.token_request(app)).unwrap();
    let (_, answer) = app.platform(TOKEN, None, &body).await;
    assert_eq!(answer["errCode"], "0000", "{answer}");
    (
        answer["accessToken"].as_str().unwrap().to_owned(),
        answer["expiresIn"].as_i64().unwrap(),
    )
}

/// Opens the `OPEN-FORM-PARAM` URL of an H5 order `order_no` signed with `key`, as a
/// browser that does not follow redirects; the status and the body.
async fn open_h5(app: &TestApp, shop: &Merchant, order_no: &str, key: &str) -> (u16, String) {
    let content = body(
        app,
        "H5DEFAULT",
        json!({"merOrderId": order_no, "totalAmount": 100, "orderDesc": "rotation"}),
    )
    .to_string();
    let (ts, nonce) = (compact(app.clock.now()), nonce());
    let signature = body_signature(&shop.app_id, key, &ts, &nonce, content.as_bytes());
    let url = app.url(&format!(
        "/v1/netpay/trade/h5-pay?authorization=OPEN-FORM-PARAM&appId={}&timestamp={ts}&nonce={nonce}&content={}&signature={}",
        shop.app_id,
        percent(&content),
        percent(&signature)
    ));
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = browser.get(url).send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

async fn both_app_keys_work_during_the_grace_and_only_the_new_one_after(db: TestDb) {
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    let counter = Counter::new(&db).await;
    let old = netpay::merchant(&app).await;
    app.create_contract(MID, CONTRACT_NO, "PLAN0001").await;
    let (token_before, _) = token(&app, &old).await;

    let answer = rotated(&app, MID, "app_key", "10m").await;
    let new = with_key(&old, &new_key(&answer));
    let grace_end = t0() + chrono::Duration::minutes(10);

    // In the grace, at its start and a second before its end: both keys sign everything.
    let mut tokens_of_old = Vec::new();
    let mut tokens_of_new = Vec::new();
    let mut order = 0;
    for at in [t0(), grace_end - secs(1)] {
        let now = app.clock.now();
        app.clock.advance(at - now);
        for merchant in [&old, &new] {
            assert_eq!(query_code(&app, merchant).await, "0000");
            order += 1;
            let (status, page) =
                open_h5(&app, &old, &format!("3194H000{order}"), &merchant.app_key).await;
            assert_eq!(status, 302, "an H5 order in the grace: {page}");
        }
        let (from_old, expires_in) = token(&app, &old).await;
        assert_eq!(
            expires_in,
            (grace_end - at).num_seconds(),
            "a token of the replaced key lasts to the end of the grace"
        );
        tokens_of_old.push(from_old);
        let (from_new, expires_in) = token(&app, &new).await;
        assert_eq!(expires_in, 3600);
        tokens_of_new.push(from_new);
        assert_eq!(query_with_token(&app, &token_before).await, "0000");
    }
    // A key that is neither is refused, saying both were tried.
    let stranger = with_key(&old, "neither-the-old-nor-the-new-key");
    let bytes = serde_json::to_vec(&query_body(&app)).unwrap();
    let header = stranger.sig(&app, &bytes);
    let (_, answer) = app.platform(QUERY, Some(&header), &bytes).await;
    assert_eq!(answer["errCode"], "3006", "{answer}");
    assert!(
        answer["errInfo"].as_str().unwrap().contains("was rotated"),
        "{answer}"
    );

    // The grace ends: only the new key works, and the tokens of the old one are gone.
    app.clock.advance(secs(1));
    assert_eq!(app.clock.now(), grace_end);
    let body = serde_json::to_vec(&query_body(&app)).unwrap();
    let header = old.sig(&app, &body);
    refused(&app, &counter, QUERY, Some(&header), &body, "3006").await;
    let token_body = serde_json::to_vec(&old.token_request(&app)).unwrap();
    refused(&app, &counter, TOKEN, None, &token_body, "3006").await;
    for token in tokens_of_old.iter().chain([&token_before]) {
        assert_eq!(query_with_token(&app, token).await, "3007", "expired");
    }
    let orders_before = counts(&counter).await;
    let auth_before = counter.counts().await;
    let (status, page) = open_h5(&app, &old, "3194H0100", &old.app_key).await;
    assert_eq!(status, 200, "{page}");
    let page: Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["errCode"], "3006", "{page}");
    assert_eq!(counts(&counter).await, orders_before, "no order was made");
    assert_eq!(counter.counts().await, auth_before, "no nonce was spent");

    assert_eq!(query_code(&app, &new).await, "0000");
    for token in &tokens_of_new {
        assert_eq!(query_with_token(&app, token).await, "0000");
    }
    let (_, expires_in) = token(&app, &new).await;
    assert_eq!(expires_in, 3600);
    let (status, page) = open_h5(&app, &old, "3194H0101", &new.app_key).await;
    assert_eq!(status, 302, "{page}");
    app.stop().await;
}

/// Rotating again during a grace replaces it: the key the first rotation kept stops
/// working at once, the key the second replaced works for the second grace.
async fn a_second_rotation_ends_the_first_grace(db: TestDb) {
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    let counter = Counter::new(&db).await;
    let first = app.create_merchant(MID, json!({})).await;
    create_contract_for_query(&app).await;
    let second = with_key(&first, &new_key(&rotated(&app, MID, "app_key", "1h").await));
    app.clock.advance(chrono::Duration::minutes(5));
    let third = with_key(&first, &new_key(&rotated(&app, MID, "app_key", "1h").await));
    let body = serde_json::to_vec(&query_body(&app)).unwrap();
    let header = first.sig(&app, &body);
    refused(&app, &counter, QUERY, Some(&header), &body, "3006").await;
    for merchant in [&second, &third] {
        assert_eq!(query_code(&app, merchant).await, "0000");
    }
    app.clock.advance(chrono::Duration::hours(1));
    let body = serde_json::to_vec(&query_body(&app)).unwrap();
    let header = second.sig(&app, &body);
    refused(&app, &counter, QUERY, Some(&header), &body, "3006").await;
    assert_eq!(query_code(&app, &third).await, "0000");
    app.stop().await;
}

/// A contract of `MID` the sign-query finds, through the admin API.
async fn create_contract_for_query(app: &TestApp) {
    let (status, created) = app
        .post(
            "/admin/v1/contracts",
            json!({"mid": MID, "contract_no": CONTRACT_NO, "plan_id": "PLAN0001",
                       "notify_url": "http://127.0.0.1:9/notify"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
}
