//! The `OPEN-BODY-SIG` header: accepted in the forms clients send, every way it fails
//! answered with its errCode and leaving every table as it was, and a nonce spent until no
//! request with it can pass the timestamp window. The clock is fixed. Each test runs
//! against SQLite and PostgreSQL.

use crate::common::auth::{refused, secs, t0};
use crate::common::platform::{
    body_signature, compact, cst, nonce, sign_body, Counter, Merchant, MID, QUERY, SIGN,
};
use crate::common::{Receiver, Reply, TestApp, TestDb};
use serde_json::json;
use ums_notify::clock::Clock;

both_backends!(
    body_signature_header_in_the_forms_clients_send,
    body_signature_header_failures_are_refused,
    body_signature_header_replays_are_refused_until_the_window_passes,
);

/// A merchant notified at a receiver, with a contract; the sign request of another one,
/// and a query for the first.
struct Signer {
    receiver: Receiver,
    app: TestApp,
    counter: Counter,
    m: Merchant,
    query: Vec<u8>,
    sign: Vec<u8>,
}

async fn signer(db: &TestDb) -> Signer {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    let counter = Counter::new(db).await;
    let m = app
        .create_merchant(MID, json!({"notify_url": receiver.url("/n")}))
        .await;
    app.create_contract(MID, "CN00000001", "P").await;
    let query = serde_json::to_vec(
        &json!({"mid": MID, "requestTimestamp": cst(t0()), "contractNo": "CN00000001"}),
    )
    .unwrap();
    let sign = serde_json::to_vec(&sign_body(MID, "CN00000002", None, t0())).unwrap();
    Signer {
        receiver,
        app,
        counter,
        m,
        query,
        sign,
    }
}

/// The forms clients send: with or without spaces, key names in any case, any order.
async fn body_signature_header_in_the_forms_clients_send(db: TestDb) {
    let Signer {
        receiver,
        app,
        counter,
        m,
        query,
        ..
    } = signer(&db).await;
    let ts = compact(t0());
    let forms = [
        r#"OPEN-BODY-SIG AppId="{a}", Timestamp="{t}", Nonce="{n}", Signature="{s}""#,
        r#"OPEN-BODY-SIG AppId="{a}",Timestamp="{t}",Nonce="{n}",Signature="{s}""#,
        r#"OPEN-BODY-SIG appid="{a}", timestamp="{t}", nonce="{n}", signature="{s}""#,
        r#"OPEN-BODY-SIG Signature="{s}", Nonce={n}, Timestamp={t}, AppId={a}"#,
    ];
    for form in forms {
        let n = nonce();
        let signature = body_signature(&m.app_id, &m.app_key, &ts, &n, &query);
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
    assert_eq!(receiver.count(), 0, "a query sends nothing");
}

async fn body_signature_header_failures_are_refused(db: TestDb) {
    let Signer {
        receiver,
        app,
        counter,
        m,
        sign,
        ..
    } = signer(&db).await;
    let ts = compact(t0());
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
    assert_eq!(receiver.count(), 0, "a refused sign sends nothing");
}

/// A replay, as it is or with the nonce reused on another body, is refused; once no
/// request with it can pass the window, the nonce may come back.
async fn body_signature_header_replays_are_refused_until_the_window_passes(db: TestDb) {
    let Signer {
        receiver,
        app,
        counter,
        m,
        sign,
        ..
    } = signer(&db).await;
    let ts = compact(t0());
    let other_body = serde_json::to_vec(&sign_body(MID, "CN00000003", None, t0())).unwrap();
    let n = nonce();
    let header = m.sig_with(&ts, &n, &sign);
    let (_, answer) = app.platform(SIGN, Some(&header), &sign).await;
    assert_eq!(answer["errCode"], "0000", "{answer}");
    refused(&app, &counter, SIGN, Some(&header), &sign, "3005").await;
    let reused = m.sig_with(&ts, &n, &other_body);
    refused(&app, &counter, SIGN, Some(&reused), &other_body, "3005").await;
    // Once no request with it can pass the window, the nonce may come back.
    app.clock.advance(secs(601));
    let other_body =
        serde_json::to_vec(&sign_body(MID, "CN00000003", None, app.clock.now())).unwrap();
    let later = m.sig_with(&compact(app.clock.now()), &n, &other_body);
    let (_, answer) = app.platform(SIGN, Some(&later), &other_body).await;
    assert_eq!(answer["errCode"], "0000", "{answer}");
    assert_eq!(receiver.count(), 0, "signing a contract sends nothing");
}
