//! The platform simulation end to end over HTTP, with a real receiver standing in for
//! the merchant: merchant, token, sign, consent, the signed notification with its ten
//! fields, query, rescission, retries, automatic consent and duplicates. The clock is
//! fixed where time fields are checked, so they are checked exactly. Each test runs
//! against SQLite and PostgreSQL.

use std::time::Duration;

use crate::common::platform::{
    at, compact, cst, sign_body, verify_notification, Counter, MID, QUERY, SIGN,
};
use crate::common::{eventually, Receiver, Reply, TestApp, TestDb};
use serde_json::{json, Value};
use ums_notify::clock::Clock;
use ums_notify::policy::RetrySchedule;

both_backends!(
    sign_consent_query_and_rescind,
    notify_url_falls_back_to_the_merchant_default,
    retries_resend_identical_bytes_with_fresh_signatures,
    automatic_consent_after_the_merchant_delay,
    duplicates_send_identical_copies,
    changes_within_one_second_get_distinct_request_timestamps,
);

const WAIT: Duration = Duration::from_secs(10);
const TEN_FIELDS: [&str; 10] = [
    "requestTimestamp",
    "mid",
    "contractNo",
    "contractId",
    "contractState",
    "contractSignedTime",
    "contractExpiredTime",
    "singleLimitAmt",
    "avlNum",
    "planId",
];

/// The notification body as a JSON object with exactly the ten fields, all strings.
fn ten_fields(body: &[u8]) -> serde_json::Map<String, Value> {
    let value: Value = serde_json::from_slice(body).expect("JSON body");
    let object = value.as_object().expect("a JSON object").clone();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut expected = TEN_FIELDS.to_vec();
    keys.sort_unstable();
    expected.sort_unstable();
    assert_eq!(keys, expected, "exactly the ten documented fields");
    assert!(
        object.values().all(Value::is_string),
        "all strings: {value}"
    );
    object
}

async fn sign_consent_query_and_rescind(db: TestDb) {
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

    // The query API tells the same, by contractNo (body-signed) or contractId (token).
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
    let (status, other_contract) = app
        .post(
            "/admin/v1/contracts",
            json!({"mid": other.mid, "contract_no": "OTHER0001", "plan_id": "P"}),
        )
        .await;
    assert_eq!(status, 201);
    let other_id = other_contract["contract_id"].as_str().unwrap().to_owned();
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
        .get(&format!(
            "/admin/v1/contracts/{}",
            crate::common::platform::url_safe(&contract_id)
        ))
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
    let (status, created) = app
        .post(
            "/admin/v1/contracts",
            json!({"mid": MID, "contract_no": "CN00000003", "plan_id": "P1"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (_, moved) = app
        .transition(created["contract_id"].as_str().unwrap(), "SIGNED")
        .await;
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

/// A contract of the sentinel merchant `898310048169999`.
async fn sentinel_contract(app: &TestApp, contract_no: &str) -> String {
    let (status, created) = app
        .post(
            "/admin/v1/contracts",
            json!({"mid": "898310048169999", "contract_no": contract_no, "plan_id": "P"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created["contract_id"].as_str().unwrap().to_owned()
}

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
    let first_sentinel = sentinel_contract(&app, "SENTINEL01").await;

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
    let path = format!(
        "/admin/v1/contracts/{}",
        crate::common::platform::url_safe(&contract_id)
    );
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
    let second_sentinel = sentinel_contract(&app, "SENTINEL02").await;
    app.clock.advance(chrono::Duration::seconds(29));
    consented(&app, &second_sentinel).await;
    assert_eq!(app.notifications_of(&contract_id).await.len(), 1);
    assert_eq!(app.notifications_of(&other_id).await.len(), 1);
    let other_path = format!(
        "/admin/v1/contracts/{}",
        crate::common::platform::url_safe(&other_id)
    );
    assert_eq!(app.get(&other_path).await.1["state"], "UNKNOWN");
    assert_eq!(receiver.count(), 4, "UNKNOWN, two sentinels, one consent");
}

async fn duplicates_send_identical_copies(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    let merchant = app
        .create_merchant(MID, json!({"notify_url": receiver.url("/n")}))
        .await;
    let (_, created) = app
        .post(
            "/admin/v1/contracts",
            json!({"mid": MID, "contract_no": "CN00000006", "plan_id": "P1"}),
        )
        .await;
    let contract_id = created["contract_id"].as_str().unwrap().to_owned();
    let (_, moved) = app.transition(&contract_id, "SIGNED").await;
    let id = moved["notification_ids"][0].as_i64().unwrap();
    app.wait_for_status(id, "delivered", WAIT).await;

    // One more copy on demand: a new notification with the same bytes.
    let (status, copy) = app
        .post(
            &format!("/admin/v1/notifications/{id}/duplicate"),
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{copy}");
    assert_ne!(copy["id"], id);
    assert_eq!(copy["subject"], contract_id.as_str());
    let got = receiver.wait_for(2, WAIT).await;
    assert_eq!(got[0].body, got[1].body);
    verify_notification(
        &merchant.app_id,
        &merchant.app_key,
        &got[1].headers,
        &got[1].body,
    );
    let (status, _) = app
        .post("/admin/v1/notifications/999999/duplicate", json!({}))
        .await;
    assert_eq!(status, 404);

    // Every notification of the merchant sent twice more.
    let (status, patched) = app
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/v1/merchants/{MID}"),
        )
        .json(&json!({"extra_copies": 2}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 200, "{:?}", patched.text().await);
    let (_, moved) = app.transition(&contract_id, "DELETING_CONTRACT").await;
    assert_eq!(moved["notification_ids"].as_array().unwrap().len(), 3);
    let got = receiver.wait_for(5, WAIT).await;
    let copies: Vec<_> = got[2..].iter().map(|r| r.body.clone()).collect();
    assert!(copies.iter().all(|b| *b == copies[0]));
    assert!(String::from_utf8_lossy(&copies[0]).contains("DELETING_CONTRACT"));
    assert_eq!(app.notifications_of(&contract_id).await.len(), 5);

    // `"extra_copies": null` is back to none. The next change is a sentinel: once it is
    // delivered, a stray copy of the last one would have been delivered too.
    let (status, patched) = app
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/v1/merchants/{MID}"),
        )
        .json(&json!({"extra_copies": null}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 200, "{:?}", patched.text().await);
    let (_, moved) = app.transition(&contract_id, "RESCISSION").await;
    let ids = moved["notification_ids"].as_array().unwrap().clone();
    assert_eq!(ids.len(), 1, "no extra copies any more");
    app.wait_for_status(ids[0].as_i64().unwrap(), "delivered", WAIT)
        .await;
    assert_eq!(receiver.count(), 6);
    assert_eq!(app.notifications_of(&contract_id).await.len(), 6);
}

/// Two changes of one contract within a second: the merchant tells them apart by
/// `(contractNo, requestTimestamp)`, so each gets its own, later one; the copies of one
/// notification keep its bytes.
async fn changes_within_one_second_get_distinct_request_timestamps(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let t0 = at("2024-06-30T16:00:00Z");
    let app = db.spawn_with_clock(Clock::fixed(t0), |_| {}).await;
    app.create_merchant(
        MID,
        json!({"notify_url": receiver.url("/n"), "extra_copies": 1}),
    )
    .await;
    let (status, created) = app
        .post(
            "/admin/v1/contracts",
            json!({"mid": MID, "contract_no": "CN00000007", "plan_id": "P1"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let contract_id = created["contract_id"].as_str().unwrap().to_owned();
    let mut stamps = Vec::new();
    let mut last_ids = Vec::new();
    for (i, state) in ["SIGNED", "DELETING_CONTRACT", "SIGNED"].iter().enumerate() {
        if i > 0 {
            app.clock.advance(chrono::Duration::milliseconds(400));
        }
        let (status, moved) = app.transition(&contract_id, state).await;
        assert_eq!(status, 200, "{moved}");
        let ids: Vec<i64> = moved["notification_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), 2, "the notification and its extra copy");
        let mut bodies = Vec::new();
        for id in &ids {
            let done = app.wait_for_status(*id, "delivered", WAIT).await;
            bodies.push(done["body"].as_str().unwrap().to_owned());
        }
        assert_eq!(
            bodies[0], bodies[1],
            "copies of one notification are identical"
        );
        let fields = ten_fields(bodies[0].as_bytes());
        assert_eq!(fields["contractState"], *state);
        stamps.push(fields["requestTimestamp"].as_str().unwrap().to_owned());
        last_ids = ids;
    }
    let second = chrono::Duration::seconds(1);
    assert_eq!(stamps, [cst(t0), cst(t0 + second), cst(t0 + second * 2)]);
    assert!(
        stamps.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing"
    );
    // What the merchant got: three distinct (contractNo, requestTimestamp) pairs, each
    // twice, and each pair always with the same bytes.
    let got = receiver.wait_for(6, WAIT).await;
    let mut pairs = std::collections::BTreeMap::<(String, String), Vec<Vec<u8>>>::new();
    for request in &got {
        let fields = ten_fields(&request.body);
        let key = (
            fields["contractNo"].as_str().unwrap().to_owned(),
            fields["requestTimestamp"].as_str().unwrap().to_owned(),
        );
        pairs.entry(key).or_default().push(request.body.to_vec());
    }
    assert_eq!(pairs.len(), 3, "{pairs:?}");
    assert!(pairs.values().all(|b| b.len() == 2 && b[0] == b[1]));
    // A copy on demand keeps the bytes, requestTimestamp included.
    let (status, copy) = app
        .post(
            &format!("/admin/v1/notifications/{}/duplicate", last_ids[0]),
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{copy}");
    let original = app.notification(last_ids[0]).await;
    assert_eq!(copy["body"], original["body"]);
}
