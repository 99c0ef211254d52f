//! Field validation of the contract APIs, sign and sign-query: every documented limit,
//! each violation answered with its errCode and leaving every table as it was; a repeated
//! contractNo is a duplicate; valid queries name the contract either way. Each test runs
//! against SQLite and PostgreSQL.

use crate::common::platform::{cst, sign_body, Counter, Merchant, MID, QUERY, SIGN};
use crate::common::{Receiver, Reply, TestApp, TestDb};
use serde_json::{json, Value};

both_backends!(
    sign_field_violations,
    sign_field_violations_a_repeated_contract_no_is_a_duplicate,
    query_field_violations,
    query_field_violations_the_valid_queries_answer,
);

/// `body` with `field` set to `value`, or removed when `value` is null.
fn with(body: &Value, field: &str, value: Value) -> Value {
    let mut body = body.clone();
    match value {
        Value::Null => {
            body.as_object_mut().unwrap().remove(field);
        }
        value => body[field] = value,
    }
    body
}

/// A receiver, the app, a row counter, a merchant without a notify URL, and a valid sign
/// request notified at the receiver.
async fn sign_request(db: &TestDb) -> (Receiver, TestApp, Counter, Merchant, Value) {
    let receiver = Receiver::start(Reply::Status(200)).await;
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(db).await;
    let m = app.create_merchant(MID, json!({})).await;
    let url = receiver.url("/n");
    let base = sign_body(MID, "CN00000001", Some(&url), app.clock.now());
    (receiver, app, counter, m, base)
}

async fn sign_field_violations(db: TestDb) {
    let (receiver, app, counter, m, base) = sign_request(&db).await;
    let s = |v: &str| json!(v);
    let cases = [
        ("requestTimestamp", Value::Null, "1001"),
        ("requestTimestamp", s(""), "1001"),
        ("requestTimestamp", s("2024-07-01T10:00:00"), "1004"),
        ("requestTimestamp", s("20240701100000"), "1004"),
        ("requestTimestamp", s("2024-02-30 10:00:00"), "1004"),
        ("mid", Value::Null, "1001"),
        ("mid", s("89831004816123"), "1002"),
        ("mid", s("8983100481612345"), "1002"),
        ("mid", s("89831004816 234"), "1003"),
        ("mid", json!(898310048161234u64), "1003"),
        ("contractNo", Value::Null, "1001"),
        ("contractNo", s("CN00001"), "1002"),
        ("contractNo", s(&"9".repeat(41)), "1002"),
        ("contractNo", s("CN 000001"), "1003"),
        ("planId", Value::Null, "1001"),
        ("planId", s(&"P".repeat(33)), "1002"),
        ("planId", s("PLAN\t1"), "1003"),
        ("notifyUrl", s("ftp://shop.example/n"), "1005"),
        ("notifyUrl", s("/notify"), "1005"),
        ("notifyUrl", s("https://"), "1005"),
        (
            "notifyUrl",
            s(&format!("https://shop.example/{}", "a".repeat(1024))),
            "1002",
        ),
        ("singleLimitAmt", s("500.001"), "1003"),
        ("singleLimitAmt", s(&"9".repeat(19)), "1002"),
        ("avlNum", s("thirty"), "1003"),
        ("avlNum", s(&"9".repeat(19)), "1002"),
        ("mid", s("898310048169999"), "2001"),
    ];
    let mut bodies: Vec<(Vec<u8>, String)> = cases
        .iter()
        .map(|(field, value, code)| {
            let body = with(&base, field, value.clone());
            (serde_json::to_vec(&body).unwrap(), (*code).to_owned())
        })
        .collect();
    bodies.push((b"not json".to_vec(), "1003".into()));
    bodies.push((b"[]".to_vec(), "1003".into()));
    for (bytes, code) in bodies {
        let before = counter.counts().await;
        let (status, answer) = app.platform(SIGN, Some(&m.sig(&app, &bytes)), &bytes).await;
        let shown = String::from_utf8_lossy(&bytes);
        assert_eq!(status, 200, "{shown}: {answer}");
        assert_eq!(answer["errCode"], code.as_str(), "{shown}: {answer}");
        assert!(!answer["errInfo"].as_str().unwrap().is_empty());
        assert_eq!(counter.counts().await, before, "{shown}");
    }
    assert_eq!(receiver.count(), 0);
}

/// The base request is valid; using its contractNo again is a duplicate.
async fn sign_field_violations_a_repeated_contract_no_is_a_duplicate(db: TestDb) {
    let (receiver, app, counter, m, base) = sign_request(&db).await;
    let s = |v: &str| json!(v);
    let answer = m.call(&app, SIGN, &base).await;
    assert_eq!(answer["errCode"], "0000", "{answer}");
    let before = counter.counts().await;
    let again = m.call(&app, SIGN, &with(&base, "planId", s("OTHER"))).await;
    assert_eq!(again["errCode"], "2003", "{again}");
    assert!(again["errInfo"]
        .as_str()
        .unwrap()
        .contains(answer["contractId"].as_str().unwrap()));
    assert_eq!(counter.counts().await, before);
    assert_eq!(receiver.count(), 0);
}

/// A merchant's contract and another merchant's; the app, a row counter, the merchant, a
/// valid query of its contract, and the other's contractId.
async fn two_contracts(db: &TestDb) -> (TestApp, Counter, Merchant, Value, Value) {
    let app = db.spawn(|_| {}).await;
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
    let now = app.clock.now();
    let signed = m
        .call(&app, SIGN, &sign_body(MID, "CN00000001", None, now))
        .await;
    let id = signed["contractId"].as_str().unwrap().to_owned();
    let theirs = other
        .call(&app, SIGN, &sign_body(&other.mid, "CN00000002", None, now))
        .await;
    let base = json!({"mid": MID, "requestTimestamp": cst(now), "planId": "PLAN0001",
                      "contractNo": "CN00000001", "contractId": id});
    (app, counter, m, base, theirs["contractId"].clone())
}

async fn query_field_violations(db: TestDb) {
    let (app, counter, m, base, theirs) = two_contracts(&db).await;
    let id = base["contractId"].as_str().unwrap().to_owned();
    let s = |v: &str| json!(v);
    let cases = [
        ("mid", Value::Null, "1001"),
        ("mid", s("8983100481612"), "1002"),
        ("requestTimestamp", Value::Null, "1001"),
        ("requestTimestamp", s("2024/07/01 10:00:00"), "1004"),
        ("planId", s(&"P".repeat(33)), "1002"),
        ("contractNo", s("short"), "1002"),
        ("contractId", s(&id[..43]), "1002"),
        ("contractId", s(&format!("{}!", &id[..43])), "1003"),
        ("mid", s("898310048160000"), "2001"),
        ("planId", s("OTHERPLAN"), "2002"),
        ("contractNo", s("CN99999999"), "2002"),
        ("contractId", theirs.clone(), "2002"),
    ];
    let mut bodies: Vec<Value> = cases
        .iter()
        .map(|(field, value, _)| with(&base, field, value.clone()))
        .collect();
    let mut codes: Vec<&str> = cases.iter().map(|(_, _, code)| *code).collect();
    bodies.push(with(
        &with(&base, "contractNo", Value::Null),
        "contractId",
        Value::Null,
    ));
    codes.push("1001");
    for (body, code) in bodies.iter().zip(codes) {
        let before = counter.counts().await;
        let answer = m.call(&app, QUERY, body).await;
        assert_eq!(answer["errCode"], code, "{body}: {answer}");
        assert_eq!(counter.counts().await, before, "{body}");
    }
}

async fn query_field_violations_the_valid_queries_answer(db: TestDb) {
    let (app, _, m, base, _) = two_contracts(&db).await;
    for body in [
        base.clone(),
        with(&base, "contractId", Value::Null),
        with(&base, "contractNo", Value::Null),
    ] {
        let answer = m.call(&app, QUERY, &body).await;
        assert_eq!(answer["errCode"], "0000", "{body}: {answer}");
        assert_eq!(answer["contractState"], "UNSIGNED");
    }
}
