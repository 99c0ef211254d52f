//! The access-token request and the `OPEN-ACCESS-TOKEN` header: accepted in the forms
//! clients send and up to the edges of the timestamp window, and every way they fail —
//! each failure answered with its errCode and leaving every table as it was. The clock is
//! fixed, so the window and the token's expiry are checked to the second. Each test runs
//! against SQLite and PostgreSQL.

use crate::common::auth::{refused, secs, t0, token_request};
use crate::common::platform::{
    compact, cst, sign_body, Counter, Merchant, MID, QUERY, SIGN, TOKEN,
};
use crate::common::{TestApp, TestDb};
use serde_json::{json, Value};
use ums_notify::clock::Clock;

both_backends!(
    access_token_requests_at_the_edges_of_the_window,
    access_token_requests_refused_with_their_errcode,
    access_token_requests_replayed_get_no_second_token,
    access_token_header_in_the_forms_clients_send,
    access_token_header_failures_are_refused,
    access_token_header_valid_until_its_expiry_to_the_second,
);

/// The app on the fixed clock, a counter of its rows, and a merchant without a notify URL.
async fn with_merchant(db: &TestDb) -> (TestApp, Counter, Merchant) {
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    let counter = Counter::new(db).await;
    let m = app.create_merchant(MID, json!({})).await;
    (app, counter, m)
}

/// Accepted up to the edges of the 10-minute window.
async fn access_token_requests_at_the_edges_of_the_window(db: TestDb) {
    let (app, _, m) = with_merchant(&db).await;
    let (id, key) = (m.app_id.clone(), m.app_key.clone());
    for offset in [-600, 600] {
        let body = token_request(&id, &compact(t0() + secs(offset)), &key);
        let (_, answer) = app
            .platform(TOKEN, None, &serde_json::to_vec(&body).unwrap())
            .await;
        assert_eq!(answer["errCode"], "0000", "{answer}");
        assert_eq!(answer["expiresIn"], 3600);
        assert_eq!(answer["accessToken"].as_str().unwrap().len(), 32);
    }
}

async fn access_token_requests_refused_with_their_errcode(db: TestDb) {
    let (app, counter, m) = with_merchant(&db).await;
    let (id, key) = (m.app_id.clone(), m.app_key.clone());
    let now = compact(t0());
    let other_id = "B".repeat(32);
    let mut cases = vec![
        (token_request(&id, &now, "wrong-key"), "3006"),
        (token_request(&other_id, &now, &key), "3003"),
        (token_request(&id, &compact(t0() - secs(601)), &key), "3004"),
        (token_request(&id, &compact(t0() + secs(601)), &key), "3004"),
        (token_request(&id, "2024-07-01 10:00:00", &key), "3008"),
        // Read completely before the appId is looked up: malformed beats unknown.
        (
            token_request(&other_id, "2024-07-01 10:00:00", &key),
            "3008",
        ),
    ];
    let mut md5 = token_request(&id, &now, &key);
    md5["signMethod"] = json!("MD5");
    cases.push((md5, "3008"));
    let mut long_nonce = token_request(&id, &now, &key);
    long_nonce["nonce"] = json!("n".repeat(129));
    cases.push((long_nonce, "3008"));
    for field in ["appId", "timestamp", "nonce", "signMethod", "signature"] {
        let mut missing = token_request(&id, &now, &key);
        missing.as_object_mut().unwrap().remove(field);
        cases.push((missing.clone(), "3008"));
        missing[field] = json!("");
        cases.push((missing, "3008"));
    }
    for (body, code) in cases {
        let bytes = serde_json::to_vec(&body).unwrap();
        refused(&app, &counter, TOKEN, None, &bytes, code).await;
    }
    refused(&app, &counter, TOKEN, None, b"appId=x", "3008").await;
    refused(&app, &counter, TOKEN, None, br#"{"appId": 7}"#, "3008").await;
}

/// A replayed request gets no second token.
async fn access_token_requests_replayed_get_no_second_token(db: TestDb) {
    let (app, counter, m) = with_merchant(&db).await;
    let (id, key) = (m.app_id.clone(), m.app_key.clone());
    let now = compact(t0());
    let bytes = serde_json::to_vec(&token_request(&id, &now, &key)).unwrap();
    let (_, first) = app.platform(TOKEN, None, &bytes).await;
    assert_eq!(first["errCode"], "0000");
    refused(&app, &counter, TOKEN, None, &bytes, "3005").await;
}

/// A merchant with a token and a contract, another merchant, and a query for the contract.
struct WithToken {
    app: TestApp,
    counter: Counter,
    m: Merchant,
    other: Merchant,
    token: String,
    query: Vec<u8>,
}

async fn with_token(db: &TestDb) -> WithToken {
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    let counter = Counter::new(db).await;
    let m = app
        .create_merchant(MID, json!({"notify_url": "http://127.0.0.1:1/n"}))
        .await;
    let other = app
        .create_merchant(
            "898310048160000",
            json!({"notify_url": "http://127.0.0.1:1/n"}),
        )
        .await;
    app.create_contract(MID, "CN00000001", "P").await;
    let token = m.token(&app).await;
    let query = serde_json::to_vec(
        &json!({"mid": MID, "requestTimestamp": cst(t0()), "contractNo": "CN00000001"}),
    )
    .unwrap();
    WithToken {
        app,
        counter,
        m,
        other,
        token,
        query,
    }
}

async fn access_token_header_in_the_forms_clients_send(db: TestDb) {
    let WithToken {
        app,
        m,
        token,
        query,
        ..
    } = with_token(&db).await;
    let id = &m.app_id;
    for header in [
        format!("OPEN-ACCESS-TOKEN AccessToken={token}"),
        format!(r#"OPEN-ACCESS-TOKEN AccessToken="{token}""#),
        format!(r#"OPEN-ACCESS-TOKEN AccessToken="{token}", AppId="{id}""#),
        format!("OPEN-ACCESS-TOKEN AccessToken={token},AppId={id}"),
        format!("open-access-token accesstoken={token}"),
    ] {
        let (_, answer) = app.platform(QUERY, Some(&header), &query).await;
        assert_eq!(answer["errCode"], "0000", "{header}: {answer}");
    }
}

/// Failures, on a sign request that would otherwise create a contract.
async fn access_token_header_failures_are_refused(db: TestDb) {
    let WithToken {
        app,
        counter,
        other,
        token,
        ..
    } = with_token(&db).await;
    let sign = serde_json::to_vec(&sign_body(MID, "CN00000002", None, t0())).unwrap();
    let other_token = other.token(&app).await;
    let cases = [
        (None, "3001"),
        (Some("Bearer abc".to_owned()), "3002"),
        (Some("OPEN-ACCESS-TOKEN".to_owned()), "3002"),
        (
            Some("OPEN-ACCESS-TOKEN AccessToken=a, Extra=1".to_owned()),
            "3002",
        ),
        (
            Some("OPEN-ACCESS-TOKEN AccessToken=unknown".to_owned()),
            "3007",
        ),
        (
            Some(format!(
                r#"OPEN-ACCESS-TOKEN AccessToken={token}, AppId="{}""#,
                other.app_id
            )),
            "3007",
        ),
        (
            Some(format!("OPEN-ACCESS-TOKEN AccessToken={other_token}")),
            "2001",
        ),
    ];
    for (header, code) in cases {
        refused(&app, &counter, SIGN, header.as_deref(), &sign, code).await;
    }
}

/// Valid until its expiry, to the second.
async fn access_token_header_valid_until_its_expiry_to_the_second(db: TestDb) {
    let WithToken {
        app,
        counter,
        token,
        query,
        ..
    } = with_token(&db).await;
    let header = format!("OPEN-ACCESS-TOKEN AccessToken={token}");
    app.clock.advance(secs(3599));
    // The bodies are written when sent: a requestTimestamp an hour old is refused too.
    let query = query_at(&query, app.clock.now());
    let (_, answer) = app.platform(QUERY, Some(&header), &query).await;
    assert_eq!(answer["errCode"], "0000", "{answer}");
    app.clock.advance(secs(1));
    let now = app.clock.now();
    let sign = serde_json::to_vec(&sign_body(MID, "CN00000002", None, now)).unwrap();
    let query = query_at(&query, now);
    refused(&app, &counter, SIGN, Some(&header), &sign, "3007").await;
    refused(&app, &counter, QUERY, Some(&header), &query, "3007").await;
}

/// The query `body` with its requestTimestamp at `now`.
fn query_at(body: &[u8], now: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    let mut query: Value = serde_json::from_slice(body).unwrap();
    query["requestTimestamp"] = json!(cst(now));
    serde_json::to_vec(&query).unwrap()
}
