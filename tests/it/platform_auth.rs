//! Authentication of the platform API: the access-token request, both `Authorization`
//! schemes in the forms clients send, and every way they fail — each failure answered
//! with its errCode and leaving every table as it was. The clock is fixed, so the
//! timestamp window and token expiry are checked to the second. Each test runs against
//! SQLite and PostgreSQL.

use crate::common::platform::{
    at, compact, cst, nonce, sign_body, token_signature, Counter, Merchant, MID, QUERY, SIGN, TOKEN,
};
use crate::common::{Receiver, Reply, TestApp, TestDb};
use serde_json::{json, Value};
use ums_notify::clock::Clock;

both_backends!(
    access_token_requests,
    access_token_header,
    body_signature_header,
    a_nonce_is_spent_up_to_the_edge_of_the_window,
);

fn t0() -> chrono::DateTime<chrono::Utc> {
    at("2024-07-01T02:00:00Z")
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// A token request at `ts` with a new nonce, signed with `key`.
fn token_request(app_id: &str, ts: &str, key: &str) -> Value {
    let nonce = nonce();
    json!({
        "appId": app_id, "timestamp": ts, "nonce": nonce, "signMethod": "SHA256",
        "signature": token_signature(app_id, ts, &nonce, key),
    })
}

/// Sends a request that must be refused with `code` and change nothing.
async fn refused(
    app: &TestApp,
    counter: &Counter,
    path: &str,
    auth: Option<&str>,
    body: &[u8],
    code: &str,
) {
    let before = counter.counts().await;
    let (status, answer) = app.platform(path, auth, body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["errCode"],
        code,
        "{auth:?} {}: {answer}",
        String::from_utf8_lossy(body)
    );
    assert!(!answer["errInfo"].as_str().unwrap_or_default().is_empty());
    assert_eq!(counter.counts().await, before, "{auth:?}: {answer}");
}

async fn access_token_requests(db: TestDb) {
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    let counter = Counter::new(&db).await;
    let m = app.create_merchant(MID, json!({})).await;
    let (id, key) = (m.app_id.clone(), m.app_key.clone());

    // Accepted up to the edges of the 10-minute window.
    for offset in [-600, 600] {
        let body = token_request(&id, &compact(t0() + secs(offset)), &key);
        let (_, answer) = app
            .platform(TOKEN, None, &serde_json::to_vec(&body).unwrap())
            .await;
        assert_eq!(answer["errCode"], "0000", "{answer}");
        assert_eq!(answer["expiresIn"], 3600);
        assert_eq!(answer["accessToken"].as_str().unwrap().len(), 32);
    }

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

    // A replayed request gets no second token.
    let bytes = serde_json::to_vec(&token_request(&id, &now, &key)).unwrap();
    let (_, first) = app.platform(TOKEN, None, &bytes).await;
    assert_eq!(first["errCode"], "0000");
    refused(&app, &counter, TOKEN, None, &bytes, "3005").await;
}

async fn access_token_header(db: TestDb) {
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    let counter = Counter::new(&db).await;
    let m = app
        .create_merchant(MID, json!({"notify_url": "http://127.0.0.1:1/n"}))
        .await;
    let other = app
        .create_merchant(
            "898310048160000",
            json!({"notify_url": "http://127.0.0.1:1/n"}),
        )
        .await;
    let (status, _) = app
        .post(
            "/admin/v1/contracts",
            json!({"mid": MID, "contract_no": "CN00000001", "plan_id": "P"}),
        )
        .await;
    assert_eq!(status, 201);
    let token = m.token(&app).await;
    let query = serde_json::to_vec(
        &json!({"mid": MID, "requestTimestamp": cst(t0()), "contractNo": "CN00000001"}),
    )
    .unwrap();
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

    // Failures, on a sign request that would otherwise create a contract.
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

    // Valid until its expiry, to the second.
    let header = format!("OPEN-ACCESS-TOKEN AccessToken={token}");
    app.clock.advance(secs(3599));
    let (_, answer) = app.platform(QUERY, Some(&header), &query).await;
    assert_eq!(answer["errCode"], "0000", "{answer}");
    app.clock.advance(secs(1));
    refused(&app, &counter, SIGN, Some(&header), &sign, "3007").await;
    refused(&app, &counter, QUERY, Some(&header), &query, "3007").await;
}

async fn body_signature_header(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    let counter = Counter::new(&db).await;
    let m = app
        .create_merchant(MID, json!({"notify_url": receiver.url("/n")}))
        .await;
    app.post(
        "/admin/v1/contracts",
        json!({"mid": MID, "contract_no": "CN00000001", "plan_id": "P"}),
    )
    .await;
    let query = serde_json::to_vec(
        &json!({"mid": MID, "requestTimestamp": cst(t0()), "contractNo": "CN00000001"}),
    )
    .unwrap();

    // The forms clients send: with or without spaces, key names in any case, any order.
    let ts = compact(t0());
    let forms = [
        r#"OPEN-BODY-SIG AppId="{a}", Timestamp="{t}", Nonce="{n}", Signature="{s}""#,
        r#"OPEN-BODY-SIG AppId="{a}",Timestamp="{t}",Nonce="{n}",Signature="{s}""#,
        r#"OPEN-BODY-SIG appid="{a}", timestamp="{t}", nonce="{n}", signature="{s}""#,
        r#"OPEN-BODY-SIG Signature="{s}", Nonce={n}, Timestamp={t}, AppId={a}"#,
    ];
    for form in forms {
        let n = nonce();
        let signature =
            crate::common::platform::body_signature(&m.app_id, &m.app_key, &ts, &n, &query);
        let header = form
            .replace("{a}", &m.app_id)
            .replace("{t}", &ts)
            .replace("{n}", &n)
            .replace("{s}", &signature);
        let before = counter.counts().await;
        let (_, answer) = app.platform(QUERY, Some(&header), &query).await;
        assert_eq!(answer["errCode"], "0000", "{header}: {answer}");
        assert_eq!(
            counter.counts().await.nonces,
            before.nonces + 1,
            "the nonce is spent"
        );
    }

    let sign = serde_json::to_vec(&sign_body(MID, "CN00000002", None, t0())).unwrap();
    let other_body = serde_json::to_vec(&sign_body(MID, "CN00000003", None, t0())).unwrap();
    let stranger = Merchant {
        mid: MID.into(),
        app_id: "C".repeat(32),
        app_key: m.app_key.clone(),
    };
    let wrong_key = Merchant {
        app_key: "k".repeat(32),
        ..m.clone()
    };
    let cases = [
        (m.sig(&app, &other_body), "3006"),
        (wrong_key.sig(&app, &sign), "3006"),
        (stranger.sig(&app, &sign), "3003"),
        (
            m.sig_with(&compact(t0() - secs(601)), &nonce(), &sign),
            "3004",
        ),
        (
            m.sig_with(&compact(t0() + secs(601)), &nonce(), &sign),
            "3004",
        ),
        (m.sig_with("2024-07-01", &nonce(), &sign), "3002"),
        // The header is read completely before its appId is looked up: an unknown appId
        // with a malformed Timestamp or Nonce is a malformed header.
        (stranger.sig_with("2024-07-01", &nonce(), &sign), "3002"),
        (stranger.sig_with(&ts, &"n".repeat(129), &sign), "3002"),
        (
            format!(
                r#"OPEN-BODY-SIG AppId="{}", Timestamp="{ts}", Nonce="n1""#,
                m.app_id
            ),
            "3002",
        ),
        (m.sig_with(&ts, &"n".repeat(129), &sign), "3002"),
    ];
    for (header, code) in cases {
        refused(&app, &counter, SIGN, Some(&header), &sign, code).await;
    }

    // A replay, as it is or with the nonce reused on another body, is refused.
    let n = nonce();
    let header = m.sig_with(&ts, &n, &sign);
    let (_, answer) = app.platform(SIGN, Some(&header), &sign).await;
    assert_eq!(answer["errCode"], "0000", "{answer}");
    refused(&app, &counter, SIGN, Some(&header), &sign, "3005").await;
    let reused = m.sig_with(&ts, &n, &other_body);
    refused(&app, &counter, SIGN, Some(&reused), &other_body, "3005").await;
    // Once no request with it can pass the window, the nonce may come back.
    app.clock.advance(secs(601));
    let later = m.sig_with(&compact(app.clock.now()), &n, &other_body);
    let (_, answer) = app.platform(SIGN, Some(&later), &other_body).await;
    assert_eq!(answer["errCode"], "0000", "{answer}");
    assert_eq!(receiver.count(), 0, "signing a contract sends nothing");
}

/// A timestamp exactly at the edge of the window still passes, so its nonce must still be
/// remembered then: a replay at exactly +600s is a replay, for both kinds of request.
async fn a_nonce_is_spent_up_to_the_edge_of_the_window(db: TestDb) {
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    let counter = Counter::new(&db).await;
    let m = app
        .create_merchant(MID, json!({"notify_url": "http://127.0.0.1:1/n"}))
        .await;
    let (status, _) = app
        .post(
            "/admin/v1/contracts",
            json!({"mid": MID, "contract_no": "CN00000001", "plan_id": "P"}),
        )
        .await;
    assert_eq!(status, 201);
    let ts = compact(t0());
    let token = serde_json::to_vec(&token_request(&m.app_id, &ts, &m.app_key)).unwrap();
    let query = serde_json::to_vec(
        &json!({"mid": MID, "requestTimestamp": cst(t0()), "contractNo": "CN00000001"}),
    )
    .unwrap();
    let sig = m.sig_with(&ts, &nonce(), &query);
    let (_, answer) = app.platform(TOKEN, None, &token).await;
    assert_eq!(answer["errCode"], "0000", "{answer}");
    let (_, answer) = app.platform(QUERY, Some(&sig), &query).await;
    assert_eq!(answer["errCode"], "0000", "{answer}");

    app.clock.advance(secs(600));
    // The timestamp still passes (a new nonce with it is accepted) ...
    let fresh = serde_json::to_vec(&token_request(&m.app_id, &ts, &m.app_key)).unwrap();
    let (_, answer) = app.platform(TOKEN, None, &fresh).await;
    assert_eq!(answer["errCode"], "0000", "{answer}");
    let fresh_sig = m.sig_with(&ts, &nonce(), &query);
    let (_, answer) = app.platform(QUERY, Some(&fresh_sig), &query).await;
    assert_eq!(answer["errCode"], "0000", "{answer}");
    // ... so the replays are refused as replays.
    refused(&app, &counter, TOKEN, None, &token, "3005").await;
    refused(&app, &counter, QUERY, Some(&sig), &query, "3005").await;

    // A second later the timestamp itself is too old.
    app.clock.advance(secs(1));
    refused(&app, &counter, TOKEN, None, &token, "3004").await;
    refused(&app, &counter, QUERY, Some(&sig), &query, "3004").await;
}
