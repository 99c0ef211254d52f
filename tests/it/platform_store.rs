//! Storage behaviours of the platform simulation that the API alone cannot show: changes
//! of one contract racing each other (or the simulated user's consent) apply once, and
//! expired tokens and nonces are forgotten, by the store and by the background worker (and
//! an expired nonce record does not block its nonce). Each test runs
//! against SQLite and PostgreSQL with the same code.

use std::time::Duration;

use crate::common::platform::{at, cst, url_safe, Counter, MID, QUERY};
use crate::common::{eventually, Receiver, Reply, TestDb};
use serde_json::{json, Value};
use ums_notify::clock::Clock;
use ums_notify::platform::auth::store::{AuthStore, NewToken, NonceUse};
use ums_notify::platform::auth::AppKey;
use ums_notify::platform::merchants::merchant::NewMerchant;
use ums_notify::platform::merchants::MerchantStore;

both_backends!(
    concurrent_changes_of_one_contract_apply_once,
    expired_tokens_and_nonces_are_forgotten,
    consent_racing_an_admin_change_applies_one_order,
    the_worker_prunes_expired_tokens_and_nonces,
    a_stored_notify_url_is_not_validated_again,
);

const WAIT: Duration = Duration::from_secs(10);

async fn concurrent_changes_of_one_contract_apply_once(db: TestDb) {
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
            .bearer_auth(crate::common::ADMIN_TOKEN)
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
    receiver.wait_for(1, WAIT).await;
    // A sentinel: one more change, enqueued after the race. Once it is delivered, a stray
    // notification of the race would have been delivered too; none was.
    let (status, moved) = app.transition(&id, "DELETING_CONTRACT").await;
    assert_eq!(status, 200, "{moved}");
    let sentinel = moved["notification_ids"][0].as_i64().unwrap();
    app.wait_for_status(sentinel, "delivered", WAIT).await;
    let states: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| state_of(&r.body))
        .collect();
    assert_eq!(
        states,
        ["SIGNED", "DELETING_CONTRACT"],
        "one change, one notification"
    );
    assert_eq!(app.notifications_of(&id).await.len(), 2);
}

fn state_of(body: &[u8]) -> String {
    let body: Value = serde_json::from_slice(body).expect("JSON body");
    body["contractState"]
        .as_str()
        .expect("contractState")
        .to_owned()
}

/// The simulated user's consent and an admin change of the same contract, at the instant
/// the consent is due: each contract ends in the outcome of one order or the other, with
/// exactly that order's notifications. Half the contracts are moved to `SIGNED` (the same
/// outcome either way: one `SIGNED` notification), half to `UNKNOWN` (after the consent
/// or instead of it).
async fn consent_racing_an_admin_change_applies_one_order(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let t0 = at("2024-07-01T00:00:00Z");
    let app = db
        .spawn_with_clock(Clock::fixed(t0), |s| {
            s.platform.consent_poll = Duration::from_millis(1);
        })
        .await;
    app.create_merchant(
        MID,
        json!({"notify_url": receiver.url("/n"), "auto_consent_after": "30s"}),
    )
    .await;
    app.create_merchant(
        "898310048169999",
        json!({"notify_url": receiver.url("/sentinel"), "auto_consent_after": "31s"}),
    )
    .await;
    let create = |mid: &'static str, no: String| {
        let app = &app;
        async move {
            let (status, created) = app
                .post(
                    "/admin/v1/contracts",
                    json!({"mid": mid, "contract_no": no, "plan_id": "P"}),
                )
                .await;
            assert_eq!(status, 201, "{created}");
            created["contract_id"].as_str().unwrap().to_owned()
        }
    };
    const RACES: usize = 16;
    let mut ids = Vec::new();
    for n in 0..RACES {
        ids.push(create(MID, format!("CN{n:08}")).await);
    }
    let sentinel = create("898310048169999", "SENTINEL01".to_owned()).await;

    // The due instant: the worker (polling every millisecond) consents from the oldest
    // contract on while the admin API moves them from the newest back, so the two meet
    // somewhere in between and race on the contracts there.
    app.clock.advance(chrono::Duration::seconds(30));
    let mut answers = Vec::new();
    for (n, id) in ids.iter().enumerate().rev() {
        let to = if n % 2 == 0 { "SIGNED" } else { "UNKNOWN" };
        let path = format!("/admin/v1/contracts/{}/transitions", url_safe(id));
        let (status, answer) = app.post(&path, json!({"to": to})).await;
        answers.push((id.clone(), to, status, answer));
    }

    // Sentinel: due a second later, so once it has consented the worker has finished every
    // round that could still hold one of the raced contracts.
    app.clock.advance(chrono::Duration::seconds(1));
    let sentinel_sent = eventually(WAIT, || async {
        !app.notifications_of(&sentinel).await.is_empty()
    });
    assert!(sentinel_sent.await, "the sentinel consents");

    let due = at("2024-07-01T00:00:30Z");
    let (mut consent_first, mut admin_first) = (0, 0);
    let mut expected_sends = 1; // the sentinel's
    for (id, to, status, answer) in answers {
        let (_, shown) = app
            .get(&format!("/admin/v1/contracts/{}", url_safe(&id)))
            .await;
        assert_eq!(shown["consent_due_at"], Value::Null, "{shown}");
        let sent = app.notifications_of(&id).await;
        // Oldest first.
        let states: Vec<String> = sent
            .iter()
            .rev()
            .map(|n| state_of(n["body"].as_str().unwrap().as_bytes()))
            .collect();
        let consent_won = match (to, status) {
            // Admin first (the consent is skipped) or consent first (the admin move is
            // refused as a move to the state it is in): one SIGNED either way.
            ("SIGNED", 200) => false,
            ("SIGNED", 409) => {
                assert_eq!(answer["error"]["code"], "illegal_transition", "{answer}");
                true
            }
            // Allowed from UNSIGNED and from SIGNED: whether it came second shows in the
            // contract it answers.
            ("UNKNOWN", 200) => !answer["contract"]["signed_at"].is_null(),
            _ => panic!("{id} -> {to}: {status} {answer}"),
        };
        let expected: &[&str] = match (to, consent_won) {
            ("SIGNED", _) => &["SIGNED"],
            (_, true) => &["SIGNED", "UNKNOWN"],
            (_, false) => &["UNKNOWN"],
        };
        assert_eq!(
            states, expected,
            "{id} -> {to} (consent first: {consent_won})"
        );
        assert_eq!(shown["state"], to);
        if to == "SIGNED" || consent_won {
            let signed_at =
                chrono::DateTime::parse_from_rfc3339(shown["signed_at"].as_str().unwrap()).unwrap();
            assert_eq!(signed_at, due, "signed at the due instant");
        } else {
            assert_eq!(shown["signed_at"], Value::Null);
        }
        if consent_won {
            consent_first += 1;
        } else {
            admin_first += 1;
        }
        expected_sends += states.len();
    }
    eprintln!("consent first: {consent_first}, admin first: {admin_first}");
    // Everything enqueued is sent once, and nothing else.
    let counter = Counter::new(&db).await;
    assert_eq!(counter.counts().await.notifications, expected_sends as i64);
    receiver.wait_for(expected_sends, WAIT).await;
    for notification in app.notifications_of(&sentinel).await {
        app.wait_for_status(notification["id"].as_i64().unwrap(), "delivered", WAIT)
            .await;
    }
    for id in &ids {
        for notification in app.notifications_of(id).await {
            app.wait_for_status(notification["id"].as_i64().unwrap(), "delivered", WAIT)
                .await;
        }
    }
    assert_eq!(receiver.count(), expected_sends);
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
        md5_key: AppKey::new("M".repeat(32)),
        sign_type: Default::default(),
        msg_src_id: "3194".into(),
        auto_consent_after: Some(Duration::from_secs(5)),
        auto_pay_after: None,
        extra_copies: 0,
    };
    merchants
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

/// A contract's notify URL is validated once, when it is accepted, and its delivery host
/// kept with it. Even a URL the validator would refuse today (here written straight into
/// the table, as a changed validator or a contract from before hosts were stored would
/// leave it) cannot turn a state change into an error or stall the automatic consent: the
/// change is made and its notification enqueued; its tries fail like any unreachable URL's.
async fn a_stored_notify_url_is_not_validated_again(db: TestDb) {
    let t0 = at("2024-07-01T00:00:00Z");
    let app = db
        .spawn_with_clock(Clock::fixed(t0), |s| {
            s.platform.consent_poll = Duration::from_millis(10);
        })
        .await;
    let counter = Counter::new(&db).await;
    app.create_merchant(
        MID,
        json!({"notify_url": "http://127.0.0.1:1/n", "auto_consent_after": "30s"}),
    )
    .await;
    let mut ids = Vec::new();
    for no in ["CN00000001", "CN00000002", "CN00000003"] {
        let (status, created) = app
            .post(
                "/admin/v1/contracts",
                json!({"mid": MID, "contract_no": no, "plan_id": "P"}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["contract_id"].as_str().unwrap().to_owned());
    }
    // The first keeps the host it was accepted with; the others lost it, as contracts
    // stored before migration 0003 have none.
    let broken = counter
        .execute("UPDATE contracts SET notify_url = 'mailto:shop@example.com'")
        .await;
    assert_eq!(broken, 3);
    let forgotten = counter
        .execute("UPDATE contracts SET notify_host = NULL WHERE contract_no <> 'CN00000001'")
        .await;
    assert_eq!(forgotten, 2);

    for id in &ids[..2] {
        let (status, moved) = app.transition(id, "UNKNOWN").await;
        assert_eq!(status, 200, "{moved}");
        let sent = app
            .notification(moved["notification_ids"][0].as_i64().unwrap())
            .await;
        assert_eq!(sent["url"], "mailto:shop@example.com");
    }
    // The third signs itself when due, on the first round.
    app.clock.advance(chrono::Duration::seconds(30));
    let path = format!("/admin/v1/contracts/{}", url_safe(&ids[2]));
    let signed = eventually(WAIT, || async {
        app.get(&path).await.1["state"] == "SIGNED"
    });
    assert!(signed.await, "{}", app.get(&path).await.1);
    assert_eq!(app.notifications_of(&ids[2]).await.len(), 1);
}
