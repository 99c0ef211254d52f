//! Storage behaviours of the platform simulation that the API alone cannot show: changes
//! of one contract racing each other apply once, and expired tokens and nonces are
//! forgotten (and an expired nonce record does not block its nonce). Each test runs
//! against SQLite and PostgreSQL with the same code.

mod common;

use std::time::Duration;

use common::platform::{at, url_safe, Counter, MID};
use common::{eventually, Backend, Receiver, Reply, TestDb};
use serde_json::json;
use ums_notify::platform::auth::AppKey;
use ums_notify::platform::store::{self, NewMerchant, NewToken, NonceUse};

both_backends!(
    concurrent_changes_of_one_contract_apply_once,
    expired_tokens_and_nonces_are_forgotten,
);

async fn concurrent_changes_of_one_contract_apply_once(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = db.spawn(|_| {}).await;
    let receiver = Receiver::start(Reply::Status(200)).await;
    app.create_merchant(MID, json!({"notify_url": receiver.url("/n")}))
        .await;
    let (_, created) = app
        .post(
            "/admin/v1/contracts",
            json!({"mid": MID, "contract_no": "CN00000001", "plan_id": "P"}),
        )
        .await;
    let id = created["contract_id"].as_str().unwrap().to_owned();
    let url = app.url(&format!(
        "/admin/v1/contracts/{}/transitions",
        url_safe(&id)
    ));
    let mut tries = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let request = app
            .http
            .post(&url)
            .bearer_auth(common::ADMIN_TOKEN)
            .json(&json!({"to": "SIGNED"}));
        tries.spawn(async move { request.send().await.expect("request").status().as_u16() });
    }
    let statuses: Vec<u16> = tries.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(app.notifications_of(&id).await.len(), 1);
    receiver.wait_for(1, Duration::from_secs(10)).await;
    let more = eventually(Duration::from_millis(300), || async {
        receiver.count() > 1
    });
    assert!(!more.await, "one change, one notification");
}

async fn expired_tokens_and_nonces_are_forgotten(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let counter = Counter::new(&db).await;
    counter
        .database()
        .outbox()
        .migrate()
        .await
        .expect("migrate");
    let store = store::open(counter.database());
    let t0 = at("2024-07-01T00:00:00Z");
    let minutes = chrono::Duration::minutes;
    let merchant = NewMerchant {
        mid: MID.into(),
        name: "Shop".into(),
        notify_url: None,
        app_id: "A".repeat(32),
        app_key: AppKey::new("K".repeat(32)),
        auto_consent_after: Some(Duration::from_secs(5)),
        extra_copies: 0,
    };
    store
        .create_merchant(merchant, t0)
        .await
        .unwrap()
        .expect("created");
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
