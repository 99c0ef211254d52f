//! Nonces and tokens over time: a nonce is spent up to the edge of the timestamp window,
//! and expired tokens and nonces are forgotten, by the store and by the background worker
//! (an expired nonce record does not block its nonce). Each test runs against SQLite and
//! PostgreSQL with the same code.

use std::time::Duration;

use crate::common::auth::{refused, secs, t0, token_request};
use crate::common::platform::{at, compact, cst, nonce, Counter, MID, QUERY, TOKEN};
use crate::common::{eventually, TestDb};
use serde_json::json;
use ums_notify::clock::Clock;
use ums_notify::platform::auth::store::{AuthStore, NewToken, NonceUse};
use ums_notify::platform::auth::AppKey;
use ums_notify::platform::merchants::merchant::NewMerchant;
use ums_notify::platform::merchants::store::MerchantCreateOutcome;
use ums_notify::platform::merchants::MerchantStore;

both_backends!(
    a_nonce_is_spent_up_to_the_edge_of_the_window,
    expired_tokens_and_nonces_are_forgotten,
    the_worker_prunes_expired_tokens_and_nonces,
);

const WAIT: Duration = Duration::from_secs(10);

/// A timestamp exactly at the edge of the window still passes, so its nonce must still be
/// remembered then: a replay at exactly +600s is a replay, for both kinds of request.
async fn a_nonce_is_spent_up_to_the_edge_of_the_window(db: TestDb) {
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    let counter = Counter::new(&db).await;
    let m = app
        .create_merchant(MID, json!({"notify_url": "http://127.0.0.1:1/n"}))
        .await;
    app.create_contract(MID, "CN00000001", "P").await;
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

/// The background worker forgets expired tokens and nonces on its own, following the
/// (injected) clock; what has not expired stays and still works.
async fn the_worker_prunes_expired_tokens_and_nonces(db: TestDb) {
    let t0 = at("2024-07-01T00:00:00Z");
    let app = db
        .spawn_with_clock(Clock::fixed(t0), |s| {
            s.platform.consent_poll = Duration::from_millis(10);
        })
        .await;
    let counter = Counter::new(&db).await;
    let merchant = app.create_merchant(MID, json!({})).await;
    let old = merchant.token(&app).await;
    let counts = counter.counts().await;
    assert_eq!((counts.tokens, counts.nonces), (1, 1));

    // Two hours on, the token (1h) and its request's nonce (about 10m) have expired.
    app.clock.advance(chrono::Duration::hours(2));
    let fresh = merchant.token(&app).await;
    let pruned = eventually(WAIT, || async {
        let counts = counter.counts().await;
        (counts.tokens, counts.nonces) == (1, 1)
    });
    assert!(pruned.await, "pruned: {:?}", counter.counts().await);

    // The one left is the fresh token.
    let query = serde_json::to_vec(
        &json!({"mid": MID, "requestTimestamp": cst(app.clock.now()), "contractNo": "CN00000001"}),
    )
    .unwrap();
    for (token, code) in [(&fresh, "2002"), (&old, "3007")] {
        let header = format!("OPEN-ACCESS-TOKEN AccessToken={token}");
        let (_, answer) = app.platform(QUERY, Some(&header), &query).await;
        assert_eq!(answer["errCode"], code, "{answer}");
    }
}

async fn expired_tokens_and_nonces_are_forgotten(db: TestDb) {
    let counter = Counter::new(&db).await;
    counter.database().migrate().await.expect("migrate");
    let store = AuthStore::new(counter.database().clone());
    let merchants = MerchantStore::new(counter.database().clone());
    let t0 = at("2024-07-01T00:00:00Z");
    let minutes = chrono::Duration::minutes;
    let merchant = NewMerchant {
        mid: MID.into(),
        name: "Shop".into(),
        notify_url: None,
        app_id: "A".repeat(32),
        app_key: AppKey::new("K".repeat(32)),
        md5_key: Some(AppKey::new("M".repeat(32))),
        sign_type: Default::default(),
        msg_src_id: "3194".into(),
        msg_src: MID.into(),
        auto_consent_after: Some(Duration::from_secs(5)),
        auto_pay_after: None,
        extra_copies: 0,
        payment_notices: Default::default(),
        rate_limit_per_second: None,
        rate_limit_burst: None,
    };
    let created = merchants.create_merchant(merchant, t0).await.unwrap();
    assert!(
        matches!(created, MerchantCreateOutcome::Created(_)),
        "{created:?}"
    );
    let nonce = |n: &str, until| NonceUse {
        app_id: "A".repeat(32),
        nonce: n.into(),
        expires_at: until,
    };
    let token = NewToken {
        token_hash: "h".repeat(64),
        app_id: "A".repeat(32),
        expires_at: t0 + minutes(60),
    };
    assert!(store
        .issue_token(token.clone(), nonce("n1", t0 + minutes(10)), t0)
        .await
        .unwrap());
    let again = NewToken {
        token_hash: "g".repeat(64),
        ..token.clone()
    };
    assert!(
        !store
            .issue_token(again, nonce("n1", t0 + minutes(10)), t0)
            .await
            .unwrap(),
        "n1 is spent"
    );
    assert_eq!(
        counter.counts().await.tokens,
        1,
        "a refused token is not stored"
    );

    let owner = |at| store.token_app_id(&token.token_hash, at);
    assert_eq!(owner(t0 + minutes(59)).await.unwrap(), Some("A".repeat(32)));
    assert_eq!(
        owner(t0 + minutes(60)).await.unwrap(),
        None,
        "expired at its expiry"
    );
    let spent = |at| store.nonce_spent(&token.app_id, "n1", at);
    assert!(spent(t0 + minutes(9)).await.unwrap());
    assert!(!spent(t0 + minutes(10)).await.unwrap());
    assert!(!store
        .spend_nonce(nonce("n1", t0 + minutes(15)), t0 + minutes(5))
        .await
        .unwrap());
    assert!(
        store
            .spend_nonce(nonce("n1", t0 + minutes(25)), t0 + minutes(15))
            .await
            .unwrap(),
        "an expired nonce record is taken over"
    );
    assert!(store
        .spend_nonce(nonce("n2", t0 + minutes(20)), t0 + minutes(15))
        .await
        .unwrap());

    assert_eq!(store.prune(t0 + minutes(20)).await.unwrap(), 1, "n2");
    let counts = counter.counts().await;
    assert_eq!((counts.tokens, counts.nonces), (1, 1));
    assert_eq!(
        store.prune(t0 + minutes(60)).await.unwrap(),
        2,
        "the token and n1"
    );
    let counts = counter.counts().await;
    assert_eq!((counts.tokens, counts.nonces), (0, 0));
}
