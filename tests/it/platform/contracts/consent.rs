//! The simulated user's automatic consent: it comes after the merchant's delay and not a
//! moment before, is applied once, and a contract moved by hand never consents on its
//! own; racing an admin change of the same contract, each contract ends in the outcome of
//! one order or the other. Each test runs against SQLite and PostgreSQL.

use std::time::Duration;

use crate::common::contracts::{state_of, ten_fields};
use crate::common::platform::{at, sign_body, url_safe, Counter, MID, SIGN};
use crate::common::{eventually, Receiver, Reply, TestApp, TestDb};
use serde_json::{json, Value};
use ums_notify::clock::Clock;

both_backends!(
    automatic_consent_after_the_merchant_delay,
    consent_racing_an_admin_change_applies_one_order,
);

const WAIT: Duration = Duration::from_secs(10);

/// Waits until a contract's (automatic) consent has been notified and delivered.
async fn consented(app: &TestApp, contract_id: &str) {
    let notified = eventually(WAIT, || async {
        !app.notifications_of(contract_id).await.is_empty()
    });
    assert!(notified.await, "contract {contract_id} consents");
    let sent = app.notifications_of(contract_id).await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0]["body"].as_str().unwrap().contains("\"SIGNED\""));
    app.wait_for_status(sent[0]["id"].as_i64().unwrap(), "delivered", WAIT)
        .await;
}

async fn automatic_consent_after_the_merchant_delay(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let t0 = at("2024-12-31T15:59:50Z");
    let app = db
        .spawn_with_clock(Clock::fixed(t0), |s| {
            s.platform.consent_poll = Duration::from_millis(20);
        })
        .await;
    let merchant = app
        .create_merchant(
            MID,
            json!({"notify_url": receiver.url("/n"), "auto_consent_after": "30s"}),
        )
        .await;
    // Sentinels: contracts of another merchant whose users consent a second earlier. Once
    // a sentinel has consented, the worker has looked at every contract due by then.
    app.create_merchant(
        "898310048169999",
        json!({"notify_url": receiver.url("/sentinel"), "auto_consent_after": "29s"}),
    )
    .await;
    let first_sentinel = app
        .create_contract("898310048169999", "SENTINEL01", "P")
        .await;

    let signed = merchant
        .call(&app, SIGN, &sign_body(MID, "CN00000004", None, t0))
        .await;
    let contract_id = signed["contractId"].as_str().unwrap().to_owned();
    // A second contract moved by hand first never consents on its own.
    let other = merchant
        .call(&app, SIGN, &sign_body(MID, "CN00000005", None, t0))
        .await;
    let other_id = other["contractId"].as_str().unwrap().to_owned();
    let (status, moved) = app.transition(&other_id, "UNKNOWN").await;
    assert_eq!(status, 200);
    // Delivered before the clock jumps, so the jump cannot outrun the try's lease.
    let id = moved["notification_ids"][0].as_i64().unwrap();
    app.wait_for_status(id, "delivered", WAIT).await;
    let path = format!("/admin/v1/contracts/{}", url_safe(&contract_id));
    let (_, shown) = app.get(&path).await;
    assert_eq!(shown["consent_due_at"], "2024-12-31T16:00:20Z");

    // A second early: the sentinel consents, our user has not yet.
    app.clock.advance(chrono::Duration::seconds(29));
    consented(&app, &first_sentinel).await;
    let (_, shown) = app.get(&path).await;
    assert_eq!(shown["state"], "UNSIGNED", "not due before its time");
    assert_eq!(shown["consent_due_at"], "2024-12-31T16:00:20Z");
    assert_eq!(receiver.count(), 2, "the UNKNOWN and the sentinel's");

    app.clock.advance(chrono::Duration::seconds(1));
    let got = receiver.wait_for(3, WAIT).await;
    let consented_fields: Vec<Value> = got
        .iter()
        .filter(|r| r.path == "/n")
        .map(|r| Value::Object(ten_fields(&r.body)))
        .collect();
    let fields = consented_fields
        .iter()
        .find(|f| f["contractState"] == "SIGNED")
        .unwrap();
    assert_eq!(fields["contractId"], contract_id.as_str());
    assert_eq!(fields["contractSignedTime"], "2025-01-01 00:00:20");
    assert_eq!(fields["contractExpiredTime"], "2026-01-01 00:00:20");
    let (_, shown) = app.get(&path).await;
    assert_eq!(shown["state"], "SIGNED");
    assert_eq!(shown["consent_due_at"], Value::Null);
    let sent = app.notifications_of(&contract_id).await;
    assert_eq!(sent.len(), 1);
    app.wait_for_status(sent[0]["id"].as_i64().unwrap(), "delivered", WAIT)
        .await;

    // A consent is applied once: a later sentinel consents, and nothing else came.
    let second_sentinel = app
        .create_contract("898310048169999", "SENTINEL02", "P")
        .await;
    app.clock.advance(chrono::Duration::seconds(29));
    consented(&app, &second_sentinel).await;
    assert_eq!(app.notifications_of(&contract_id).await.len(), 1);
    assert_eq!(app.notifications_of(&other_id).await.len(), 1);
    let other_path = format!("/admin/v1/contracts/{}", url_safe(&other_id));
    assert_eq!(app.get(&other_path).await.1["state"], "UNKNOWN");
    assert_eq!(receiver.count(), 4, "UNKNOWN, two sentinels, one consent");
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
    const RACES: usize = 16;
    let mut ids = Vec::new();
    for n in 0..RACES {
        ids.push(app.create_contract(MID, &format!("CN{n:08}"), "P").await);
    }
    let sentinel = app
        .create_contract("898310048169999", "SENTINEL01", "P")
        .await;

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
