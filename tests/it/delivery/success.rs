//! A notification's success rule: HTTP 200 alone by default, or HTTP 200 with the body
//! the rule asks for (the payment-result notices want `SUCCESS`). Stored and applied the
//! same on both backends.

use std::time::Duration;

use serde_json::json;

use crate::common::{Receiver, Reply, TestDb};

both_backends!(
    a_200_without_the_body_asked_for_is_retried_and_the_body_ends_it,
    a_containing_rule_takes_any_answer_with_the_body_inside,
    without_a_rule_http_200_alone_is_success_and_bad_rules_are_refused
);

async fn a_200_without_the_body_asked_for_is_retried_and_the_body_ends_it(db: TestDb) {
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS\n")).await;
    receiver.then([Reply::Body(200, "OK"), Reply::Body(200, "")]);
    let app = db.spawn(|_| {}).await;
    let (status, created) = app
        .post(
            "/admin/v1/notifications",
            json!({"url": receiver.url("/pay"), "body_text": "a=1&b=2",
                   "content_type": "application/x-www-form-urlencoded",
                   "retry_schedule": ["100ms"], "success": {"status": 200, "body": "SUCCESS"}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["success"],
        json!({"status": 200, "body": "SUCCESS", "match": "exact"})
    );
    let id = created["id"].as_i64().unwrap();
    let done = app
        .wait_for_status(id, "delivered", Duration::from_secs(15))
        .await;
    assert_eq!(done["attempts"], 3, "{done}");
    let log = done["attempt_log"].as_array().unwrap();
    for failed in &log[..2] {
        assert_eq!(failed["status_code"], 200);
        assert_eq!(failed["failure_kind"], "unexpected_body");
        assert!(
            failed["message"]
                .as_str()
                .unwrap()
                .contains("not \"SUCCESS\""),
            "{failed}"
        );
    }
    assert_eq!(
        log[0]["response_body"], "OK",
        "the attempt log keeps what the body was"
    );
    assert_eq!(log[2]["failure_kind"], serde_json::Value::Null);
    let bodies: Vec<_> = receiver.received().iter().map(|r| r.body.clone()).collect();
    assert!(
        bodies.iter().all(|b| b == &bodies[0]),
        "every try carries the same bytes"
    );
    app.stop().await;
}

async fn a_containing_rule_takes_any_answer_with_the_body_inside(db: TestDb) {
    let receiver = Receiver::start(Reply::Body(200, "{\"return\":\"SUCCESS\"}")).await;
    receiver.then([Reply::Body(200, "success"), Reply::Body(200, "FAILED")]);
    let app = db.spawn(|_| {}).await;
    let (status, created) = app
        .post(
            "/admin/v1/notifications",
            json!({"url": receiver.url("/pay"), "body_text": "a=1",
                   "content_type": "application/x-www-form-urlencoded",
                   "retry_schedule": ["100ms"],
                   "success": {"body": "SUCCESS", "match": "contains"}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["success"]["match"], "contains");
    let id = created["id"].as_i64().unwrap();
    let done = app
        .wait_for_status(id, "delivered", Duration::from_secs(15))
        .await;
    assert_eq!(done["attempts"], 3, "{done}");
    let log = done["attempt_log"].as_array().unwrap();
    for failed in &log[..2] {
        assert_eq!(failed["failure_kind"], "unexpected_body", "{failed}");
        let message = failed["message"].as_str().unwrap();
        assert!(
            message.contains("which does not contain \"SUCCESS\""),
            "{message}"
        );
    }
    assert_eq!(log[2]["response_body"], "{\"return\":\"SUCCESS\"}");
    app.stop().await;
}

async fn without_a_rule_http_200_alone_is_success_and_bad_rules_are_refused(db: TestDb) {
    let receiver = Receiver::start(Reply::Body(200, "FAILED")).await;
    let app = db.spawn(|_| {}).await;
    let id = app
        .enqueue(json!({"url": receiver.url("/n"), "body": {"a": 1}}))
        .await;
    let done = app
        .wait_for_status(id, "delivered", Duration::from_secs(10))
        .await;
    assert_eq!(
        done["success"],
        json!({"status": 200, "body": null, "match": "exact"})
    );
    for (rule, why) in [
        (json!({"status": 204}), "may only be 200"),
        (json!({"body": ""}), "`success.body`"),
        (json!({"body": "A\nB"}), "control characters"),
        (json!({"body": "x".repeat(257)}), "`success.body`"),
        (json!({"code": 1}), "unknown field"),
        (json!({"match": "contains"}), "no `success.body`"),
        (json!({"body": "OK", "match": "prefix"}), "unknown variant"),
    ] {
        let (status, answer) = app
            .post(
                "/admin/v1/notifications",
                json!({"url": receiver.url("/n"), "body": {}, "success": rule}),
            )
            .await;
        assert_eq!(status, 422, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(why), "{message}");
    }
    let (_, list) = app.get("/admin/v1/notifications").await;
    assert_eq!(
        list["notifications"].as_array().unwrap().len(),
        1,
        "nothing else was stored"
    );
    app.stop().await;
}
