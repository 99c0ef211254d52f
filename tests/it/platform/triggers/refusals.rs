//! Triggers refused: an unknown fixture, a field the fixture does not take or breaks its
//! rule, an unknown merchant, a notice the merchant's settings would not send. Each is a
//! JSON error with a stable code naming what was expected and what was got, and writes
//! nothing. Each test runs against SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::payments::{create_merchant, order_count, MID_A};
use crate::common::triggers::fire;
use crate::common::{TestApp, TestDb};

both_backends!(
    bad_triggers_are_refused_and_write_nothing,
    a_notice_the_merchant_would_not_get_is_not_triggered,
);

/// A fixture, its `set`, the status and code expected, and words the message names.
type Case = (&'static str, Value, (u16, &'static str), Vec<&'static str>);

/// Nothing was written: no order, no contract, no notification.
async fn assert_nothing_written(app: &TestApp) {
    assert_eq!(order_count(app).await, 0, "no order");
    let (_, contracts) = app.get("/admin/v1/contracts").await;
    assert_eq!(contracts["contracts"], json!([]), "no contract");
    assert_eq!(app.stored_total().await, 0, "no notification");
}

fn assert_error(status: u16, answer: &Value, expected: (u16, &str), mentions: &[&str]) {
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (expected.0, Some(expected.1)),
        "{answer}"
    );
    let message = answer["error"]["message"].as_str().unwrap();
    for word in mentions {
        assert!(message.contains(word), "{message:?} names {word:?}");
    }
}

async fn bad_triggers_are_refused_and_write_nothing(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    create_merchant(&app, MID_A, json!({})).await;
    let cases: Vec<Case> = vec![
        (
            "payment.pending",
            json!({}),
            (422, "unknown_fixture"),
            vec!["payment.pending", "payment.paid", "contract.deleting"],
        ),
        (
            "payment.paid",
            json!({"colour": "red"}),
            (422, "unknown_set_field"),
            vec!["colour", "total_amount", "description"],
        ),
        // A partial refund's field is not a payment's.
        (
            "payment.paid",
            json!({"refund_amount": "1"}),
            (422, "unknown_set_field"),
            vec!["refund_amount"],
        ),
        (
            "contract.signed",
            json!({"amount": "1"}),
            (422, "unknown_set_field"),
            vec!["amount", "contract_no"],
        ),
        (
            "payment.paid",
            json!({"amount": "12.50"}),
            (422, "invalid_set_field"),
            vec!["amount", "whole number"],
        ),
        (
            "payment.paid",
            json!({"amount": true}),
            (422, "invalid_set_field"),
            vec!["amount", "expected a string"],
        ),
        (
            "payment.paid",
            json!({"target_sys": "Cash"}),
            (422, "invalid_set_field"),
            vec!["Cash", "WXPay"],
        ),
        (
            "payment.refunded.partial",
            json!({"amount": "100", "refund_amount": "100"}),
            (422, "invalid_set_field"),
            vec!["refund_amount", "100"],
        ),
        (
            "payment.refunded",
            json!({"refund_order_id": "XXXX123456"}),
            (422, "invalid_set_field"),
            vec!["refund_order_id", "source number"],
        ),
        (
            "payment.paid",
            json!({"notify_url": "not a url"}),
            (422, "invalid_set_field"),
            vec!["notify_url"],
        ),
        (
            "payment.paid",
            json!({"order_no": "ZZZZ0001"}),
            (422, "invalid_set_field"),
            vec!["order_no", "source number"],
        ),
        (
            "contract.signed",
            json!({"contract_no": "short"}),
            (422, "invalid_set_field"),
            vec!["contract_no"],
        ),
        (
            "contract.signed",
            json!({"avl_num": "three"}),
            (422, "invalid_set_field"),
            vec!["avl_num"],
        ),
    ];
    for (fixture, set, expected, mentions) in cases {
        let (status, answer) = fire(&app, MID_A, fixture, set.clone()).await;
        assert_error(status, &answer, expected, &mentions);
        assert_nothing_written(&app).await;
    }
    let (status, answer) = fire(&app, "898310048169999", "payment.paid", json!({})).await;
    assert_error(status, &answer, (404, "not_found"), &["898310048169999"]);
    let (status, answer) = app
        .post(
            &format!("/admin/v1/merchants/{MID_A}/triggers"),
            json!({"fixture": "payment.paid", "colour": "red"}),
        )
        .await;
    assert_error(status, &answer, (422, "unknown_field"), &["colour"]);
    assert_nothing_written(&app).await;
    app.stop().await;
}

async fn a_notice_the_merchant_would_not_get_is_not_triggered(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    // By default a QR bill notifies its payment only.
    create_merchant(&app, MID_A, json!({"payment_notices": "product"})).await;
    let (status, answer) = fire(&app, MID_A, "bill.refunded", json!({})).await;
    assert_error(
        status,
        &answer,
        (409, "notice_not_sent"),
        &["payment_notices", "REFUND", "all"],
    );
    assert_nothing_written(&app).await;
    // A bill's payment it does notify.
    let (status, answer) = fire(&app, MID_A, "bill.paid", json!({})).await;
    assert_eq!(status, 201, "{answer}");
    app.stop().await;
}
