//! Contract notices end to end over HTTP, with a real receiver standing in for the
//! merchant: token, sign, consent, the signed notification with its ten fields, query,
//! rescission, the merchant's default notify URL, and retries that resend the same bytes
//! with fresh signatures. The clock is fixed where time fields are checked, so they are
//! checked exactly. Each test runs against SQLite and PostgreSQL.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::common::contracts::{ten_fields, TEN_FIELDS};
use crate::common::platform::{
    at, compact, cst, sign_body, url_safe, verify_notification, Counter, Merchant, MID, QUERY, SIGN,
};
use crate::common::{Receiver, Reply, TestApp, TestDb};
use serde_json::{json, Value};
use ums_notify::clock::Clock;
use ums_notify::policy::RetrySchedule;

both_backends!(
    sign_consent_query_and_rescind_consent_sends_the_signed_notice,
    sign_consent_query_and_rescind_the_query_tells_the_same,
    sign_consent_query_and_rescind_rescission_is_notified_and_terminal,
    notify_url_falls_back_to_the_merchant_default,
    retries_resend_identical_bytes_with_fresh_signatures,
);

const WAIT: Duration = Duration::from_secs(10);

/// A contract signed with an access token, then consented to.
struct Consented {
    receiver: Receiver,
    app: TestApp,
    merchant: Merchant,
    /// The access-token `Authorization` it was signed with.
    auth: String,
    contract_id: String,
    /// When the user consented.
    t1: DateTime<Utc>,
    expiry: DateTime<Utc>,
    /// The ten fields of its SIGNED notice.
    expected: Value,
}

/// Signs a contract with an access token and a notifyUrl of its own, and consents five
/// minutes later; checks the SIGNED notification arrives with its ten fields, signed.
async fn consented(db: &TestDb) -> Consented {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let t0 = at("2024-06-30T16:00:00Z");
    let app = db.spawn_with_clock(Clock::fixed(t0), |_| {}).await;
    let merchant = app
        .create_merchant(MID, json!({"notify_url": receiver.url("/default")}))
        .await;
    assert_eq!(merchant.app_id.len(), 32);
    assert_eq!(merchant.app_key.len(), 32);
    assert!(merchant.app_key.bytes().all(|b| b.is_ascii_alphanumeric()));
    let token = merchant.token(&app).await;

    // Sign with the access token and a notifyUrl of this contract's own.
    let body = sign_body(
        MID,
        "CN2024070100000001",
        Some(&receiver.url("/contract")),
        t0,
    );
    let bytes = serde_json::to_vec(&body).unwrap();
    let auth = format!("OPEN-ACCESS-TOKEN AccessToken={token}");
    let (status, signed) = app.platform(SIGN, Some(&auth), &bytes).await;
    assert_eq!(
        (status, &signed["errCode"]),
        (200, &json!("0000")),
        "{signed}"
    );
    assert_eq!(signed["contractState"], "UNSIGNED");
    assert_eq!(signed["contractSignedTime"], "");
    let contract_id = signed["contractId"].as_str().unwrap().to_owned();
    assert_eq!(contract_id.len(), 44);
    assert!(app.notifications_of(&contract_id).await.is_empty());

    // The user consents five minutes later: the SIGNED notification arrives, signed.
    let t1 = t0 + chrono::Duration::minutes(5);
    app.clock.advance(chrono::Duration::minutes(5));
    let (status, moved) = app.transition(&contract_id, "SIGNED").await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["contract"]["state"], "SIGNED");
    let ids = moved["notification_ids"].as_array().unwrap().clone();
    assert_eq!(ids.len(), 1);
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].path, "/contract");
    assert_eq!(got[0].headers["content-type"], "application/json");
    let fields = ten_fields(&got[0].body);
    let expiry = t1 + chrono::Duration::days(365);
    let expected = json!({
        "requestTimestamp": cst(t1), "mid": MID, "contractNo": "CN2024070100000001",
        "contractId": contract_id, "contractState": "SIGNED",
        "contractSignedTime": "2024-07-01 00:05:00", "contractExpiredTime": cst(expiry),
        "singleLimitAmt": "500.00", "avlNum": "30", "planId": "PLAN0001",
    });
    assert_eq!(Value::Object(fields), expected);
    let (ts, _) = verify_notification(
        &merchant.app_id,
        &merchant.app_key,
        &got[0].headers,
        &got[0].body,
    );
    assert_eq!(ts, compact(t1));
    let id = ids[0].as_i64().unwrap();
    let delivered = app.wait_for_status(id, "delivered", WAIT).await;
    assert_eq!(delivered["kind"], "contract_state");
    assert_eq!(delivered["tenant"], MID);
    Consented {
        receiver,
        app,
        merchant,
        auth,
        contract_id,
        t1,
        expiry,
        expected,
    }
}

async fn sign_consent_query_and_rescind_consent_sends_the_signed_notice(db: TestDb) {
    consented(&db).await;
}

/// The query API tells the same, by contractNo (body-signed) or contractId (token).
async fn sign_consent_query_and_rescind_the_query_tells_the_same(db: TestDb) {
    let Consented {
        app,
        merchant,
        auth,
        contract_id,
        t1,
        expected,
        ..
    } = consented(&db).await;
    let by_no = merchant
        .call(&app, QUERY, &json!({"mid": MID, "requestTimestamp": cst(t1), "planId": "PLAN0001", "contractNo": "CN2024070100000001"}))
        .await;
    let query = json!({"mid": MID, "requestTimestamp": cst(t1), "contractId": contract_id});
    let (_, by_id) = app
        .platform(QUERY, Some(&auth), &serde_json::to_vec(&query).unwrap())
        .await;
    for answer in [&by_no, &by_id] {
        assert_eq!(answer["errCode"], "0000", "{answer}");
        for field in TEN_FIELDS.iter().filter(|f| **f != "requestTimestamp") {
            assert_eq!(answer[*field], expected[*field], "{field}");
        }
    }
}

async fn sign_consent_query_and_rescind_rescission_is_notified_and_terminal(db: TestDb) {
    let Consented {
        receiver,
        app,
        merchant,
        contract_id,
        t1,
        expiry,
        ..
    } = consented(&db).await;
    // Rescission: DELETING_CONTRACT, then RESCISSION, each notified with the signed times.
    // (Each is delivered before the clock jumps again: a jump past a try's lease would
    // hand the try to another worker.)
    for (minutes, state) in [(10, "DELETING_CONTRACT"), (20, "RESCISSION")] {
        app.clock.advance(chrono::Duration::minutes(minutes));
        let (status, moved) = app.transition(&contract_id, state).await;
        assert_eq!(status, 200, "{moved}");
        let id = moved["notification_ids"][0].as_i64().unwrap();
        app.wait_for_status(id, "delivered", WAIT).await;
    }
    let got = receiver.wait_for(3, WAIT).await;
    let states: Vec<Value> = got
        .iter()
        .map(|r| Value::Object(ten_fields(&r.body)))
        .collect();
    let deleting = states
        .iter()
        .find(|f| f["contractState"] == "DELETING_CONTRACT")
        .unwrap();
    let rescinded = states
        .iter()
        .find(|f| f["contractState"] == "RESCISSION")
        .unwrap();
    assert_eq!(
        deleting["requestTimestamp"],
        cst(t1 + chrono::Duration::minutes(10))
    );
    assert_eq!(
        rescinded["requestTimestamp"],
        cst(t1 + chrono::Duration::minutes(30))
    );
    for fields in [deleting, rescinded] {
        assert_eq!(fields["contractSignedTime"], "2024-07-01 00:05:00");
        assert_eq!(fields["contractExpiredTime"], cst(expiry));
    }
    for request in &got {
        verify_notification(
            &merchant.app_id,
            &merchant.app_key,
            &request.headers,
            &request.body,
        );
    }

    // Notifications are linked to their merchant and contract.
    let other = app
        .create_merchant(
            "898310048169999",
            json!({"notify_url": receiver.url("/other")}),
        )
        .await;
    let other_id = app.create_contract(&other.mid, "OTHER0001", "P").await;
    assert_eq!(app.notifications_of(&contract_id).await.len(), 3);
    let (_, by_mid) = app
        .get(&format!("/admin/v1/notifications?tenant={MID}"))
        .await;
    assert_eq!(by_mid["notifications"].as_array().unwrap().len(), 3);

    // RESCISSION is terminal: 409, nothing changes, nothing is sent.
    let counter = Counter::new(&db).await;
    let before = counter.counts().await;
    let (status, refused) = app.transition(&contract_id, "SIGNED").await;
    assert_eq!(status, 409);
    assert_eq!(refused["error"]["code"], "illegal_transition");
    assert_eq!(counter.counts().await, before);
    let (_, shown) = app
        .get(&format!("/admin/v1/contracts/{}", url_safe(&contract_id)))
        .await;
    assert_eq!(shown["state"], "RESCISSION");
    assert_eq!(shown["allowed_transitions"], json!([]));
    // A sentinel enqueued after the refusal: once it is delivered, anything the refusal
    // had sent would have been sent too. Only the sentinel came.
    let (status, moved) = app.transition(&other_id, "SIGNED").await;
    assert_eq!(status, 200, "{moved}");
    let sentinel = moved["notification_ids"][0].as_i64().unwrap();
    app.wait_for_status(sentinel, "delivered", WAIT).await;
    let paths: Vec<String> = receiver.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/contract", "/contract", "/contract", "/other"]);
    assert_eq!(app.notifications_of(&contract_id).await.len(), 3);
}

async fn notify_url_falls_back_to_the_merchant_default(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    let merchant = app
        .create_merchant(MID, json!({"notify_url": receiver.url("/default")}))
        .await;
    let now = app.clock.now();
    let signed = merchant
        .call(&app, SIGN, &sign_body(MID, "CN00000001", None, now))
        .await;
    assert_eq!(signed["errCode"], "0000", "{signed}");
    let contract_id = signed["contractId"].as_str().unwrap();
    let (status, _) = app.transition(contract_id, "SIGNED").await;
    assert_eq!(status, 200);
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].path, "/default");

    // Without a default and without a notifyUrl there is nowhere to send: refused.
    let bare = app.create_merchant("898310048160000", json!({})).await;
    let counter = Counter::new(&db).await;
    let before = counter.counts().await;
    let refused = bare
        .call(&app, SIGN, &sign_body(&bare.mid, "CN00000002", None, now))
        .await;
    assert_eq!(refused["errCode"], "1001", "{refused}");
    assert!(refused["errInfo"].as_str().unwrap().contains("notifyUrl"));
    assert_eq!(counter.counts().await, before);
}

async fn retries_resend_identical_bytes_with_fresh_signatures(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    receiver.then([Reply::Status(500), Reply::Status(201)]);
    let app = db
        .spawn(|s| s.retry_schedule = RetrySchedule::parse("100ms").unwrap())
        .await;
    let merchant = app
        .create_merchant(MID, json!({"notify_url": receiver.url("/n")}))
        .await;
    let contract_id = app.create_contract(MID, "CN00000003", "P1").await;
    let (_, moved) = app.transition(&contract_id, "SIGNED").await;
    let id = moved["notification_ids"][0].as_i64().unwrap();
    let done = app.wait_for_status(id, "delivered", WAIT).await;
    assert_eq!(
        done["attempts"], 3,
        "500 and 201 are failures; 200 is success"
    );
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    let mut nonces = Vec::new();
    for request in &got {
        assert_eq!(request.body, got[0].body, "every try sends the same bytes");
        let (_, nonce) = verify_notification(
            &merchant.app_id,
            &merchant.app_key,
            &request.headers,
            &request.body,
        );
        nonces.push(nonce);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "each try is signed with a fresh nonce");
}
