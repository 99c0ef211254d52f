//! Notices after a rotation, received by a real receiver: a contract notice's
//! `OPEN-BODY-SIG` is made for every try, so every try from the rotation on is signed
//! with the new appKey, a notice queued before it included; a payment-result notice's
//! `sign` is part of its body, so a notice made after the rotation is signed with the new
//! communication key while one queued before keeps the bytes it was accepted with on
//! every re-send. The dispatcher is stepped on a fixed clock. Each test runs on SQLite
//! and PostgreSQL.

use serde_json::{json, Value};
use ums_notify::clock::Clock;
use ums_notify::delivery::Dispatcher;

use crate::common::auth::{secs, t0};
use crate::common::payment_notices::{expected_sign, Notice};
use crate::common::payments::{create_merchant, create_order, pay, BILL, MID_A};
use crate::common::platform::{body_sig_params, body_signature, verify_notification, MID};
use crate::common::receiver::Received;
use crate::common::rotation::{new_key, rotated, with_key};
use crate::common::{Receiver, Reply, TestApp, TestDb};

both_backends!(
    contract_notices_are_signed_with_the_new_app_key_from_the_rotation,
    payment_notices_are_signed_with_the_new_md5_key_and_queued_ones_keep_their_bytes,
);

async fn step(dispatcher: &Dispatcher) -> usize {
    dispatcher.step().await.expect("step").tried
}

/// Whether a received contract notice's `OPEN-BODY-SIG` verifies with `key`.
fn signed_with(request: &Received, app_id: &str, key: &str) -> bool {
    let header = request.headers["authorization"].to_str().unwrap();
    let params = body_sig_params(header);
    let expected = body_signature(
        app_id,
        key,
        &params["Timestamp"],
        &params["Nonce"],
        &request.body,
    );
    params["Signature"] == expected
}

/// Moves a new contract of `MID` to SIGNED; the id of its notice.
async fn signed_contract(app: &TestApp, contract_no: &str) -> i64 {
    let contract_id = app.create_contract(MID, contract_no, "PLAN0001").await;
    let (status, moved) = app.transition(&contract_id, "SIGNED").await;
    assert_eq!(status, 200, "{moved}");
    moved["notification_ids"][0].as_i64().expect("a notice")
}

async fn contract_notices_are_signed_with_the_new_app_key_from_the_rotation(db: TestDb) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    receiver.then([Reply::Status(500)]);
    let (app, dispatcher) = db.spawn_stepped(Clock::fixed(t0())).await;
    let old = app
        .create_merchant(MID, json!({"notify_url": receiver.url("/contract")}))
        .await;
    let queued = signed_contract(&app, "CN00000001").await;
    assert_eq!(step(&dispatcher).await, 1);
    let got = receiver.received();
    verify_notification(&old.app_id, &old.app_key, &got[0].headers, &got[0].body);
    assert_eq!(app.notification(queued).await["status"], "pending");

    let new = with_key(&old, &new_key(&rotated(&app, MID, "app_key", "1h").await));
    // A notice made after the rotation: signed with the new key at its first try.
    let later = signed_contract(&app, "CN00000002").await;
    assert_eq!(step(&dispatcher).await, 1, "the new notice is due at once");
    // The notice queued before the rotation, retried in the grace: the same bytes, signed
    // with the new key.
    app.clock.advance(secs(15));
    assert_eq!(step(&dispatcher).await, 1, "the retry is due 15s later");
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].body, got[0].body, "a re-send is byte-identical");
    assert_ne!(got[1].body, got[0].body);
    for request in &got[1..] {
        verify_notification(&new.app_id, &new.app_key, &request.headers, &request.body);
        assert!(
            !signed_with(request, &old.app_id, &old.app_key),
            "not with the replaced key"
        );
    }
    for id in [queued, later] {
        assert_eq!(app.notification(id).await["status"], "delivered");
    }
    app.stop().await;
}

/// The one notice a payment made: what the receiver got for it, by its bytes.
async fn paid_notice(app: &TestApp, receiver: &Receiver, moved: &Value) -> (i64, Notice) {
    let ids = moved["notification_ids"].as_array().expect("ids");
    assert_eq!(ids.len(), 1, "{moved}");
    let id = ids[0].as_i64().unwrap();
    let stored = app.notification(id).await;
    let body = stored["body"].as_str().unwrap().as_bytes().to_vec();
    let got = receiver.received();
    let request = got
        .iter()
        .find(|r| r.body == body)
        .unwrap_or_else(|| panic!("the receiver never got notification {id}"));
    (
        id,
        Notice::parse(&request.path, &request.headers, &request.body),
    )
}

/// Whether a payment-result notice's `sign` verifies with `key`.
fn sign_verifies(notice: &Notice, merchant: &Value, key: &Value) -> bool {
    let sign_type = merchant["sign_type"].as_str().unwrap();
    notice.field("sign") == expected_sign(&notice.fields, key.as_str().unwrap(), sign_type)
}

async fn payment_notices_are_signed_with_the_new_md5_key_and_queued_ones_keep_their_bytes(
    db: TestDb,
) {
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    receiver.then([Reply::Status(500)]);
    let (app, dispatcher) = db.spawn_stepped(Clock::fixed(t0())).await;
    let before = create_merchant(&app, MID_A, json!({"notify_url": receiver.url("/pay")})).await;
    let bill = json!({"mid": MID_A, "product": "bill", "total_amount": 1000});
    let first = create_order(&app, bill.clone()).await;
    let paid_first = pay(&app, &first, BILL, "WXPay").await;
    assert_eq!(step(&dispatcher).await, 1, "the first try fails (500)");

    let answer = rotated(&app, MID_A, "md5_key", "1h").await;
    let after = answer["merchant"].clone();
    assert_ne!(after["md5_key"], before["md5_key"]);
    let second = create_order(&app, bill).await;
    let paid_second = pay(&app, &second, BILL, "WXPay").await;
    assert_eq!(step(&dispatcher).await, 1, "the new notice is due at once");
    app.clock.advance(secs(15));
    assert_eq!(step(&dispatcher).await, 1, "the retry is due 15s later");
    assert_eq!(receiver.count(), 3);

    // Made after the rotation: signed with the new key, not the replaced one.
    let (id, notice) = paid_notice(&app, &receiver, &paid_second).await;
    notice.verify(&after);
    assert!(!sign_verifies(&notice, &after, &before["md5_key"]));
    assert_eq!(app.notification(id).await["status"], "delivered");
    // Queued before it: every try sent the bytes it was accepted with, signed with the
    // key of that moment.
    let (id, notice) = paid_notice(&app, &receiver, &paid_first).await;
    let tries: Vec<Received> = receiver
        .received()
        .into_iter()
        .filter(|r| r.body == notice.raw)
        .collect();
    assert_eq!(tries.len(), 2, "both tries sent the same bytes");
    notice.verify(&before);
    assert!(!sign_verifies(&notice, &before, &after["md5_key"]));
    assert_eq!(app.notification(id).await["status"], "delivered");
    app.stop().await;
}
