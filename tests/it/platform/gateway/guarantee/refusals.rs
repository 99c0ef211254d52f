//! Every refusal of a guarantee call, each answered with its errCode and a message that
//! names what was expected, and with nothing written: the `secureTransaction` flag, the
//! secure operations' fields, a merOrderId that names no payment (or names a bill), a
//! bill that holds nothing (unpaid, closed, not a guarantee bill, settled already), and
//! a direct refund of a hold, by the merchant or by the admin API. Each test runs on
//! SQLite and PostgreSQL.

use serde_json::json;

use super::{bill, create, pay, query, settle, today, written};
use crate::common::gateway::{
    assert_refused, s, test_merchant, Gateway, F, TEST_KEY, TEST_MID, TEST_SRC,
};
use crate::common::payments::{show, NOWHERE};
use crate::common::TestDb;

both_backends!(a_guarantee_call_outside_the_rules_changes_nothing);

/// A refused call: its msgType and fields, and the errCode and the words answered.
type Case<'a> = (&'a str, Vec<(&'static str, F)>, &'a str, &'a str);

async fn a_guarantee_call_outside_the_rules_changes_nothing(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    test_merchant(&app, NOWHERE).await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let date = today(&app);
    let unpaid = "3194202612035301";
    create(&gw, &app, unpaid, true).await;
    let held = "3194202612035302";
    let held_id = create(&gw, &app, held, true).await;
    pay(&app, held_id).await;
    let plain = "3194202612035303";
    let plain_id = create(&gw, &app, plain, false).await;
    pay(&app, plain_id).await;
    let closed = "3194202612035304";
    let closed_id = create(&gw, &app, closed, true).await;
    let (status, _) = app
        .post(
            &format!("/admin/v1/orders/{closed_id}/transitions"),
            json!({"to": "CLOSED"}),
        )
        .await;
    assert_eq!(status, 200);
    let qr_code = query(&gw, &app, held).await["qrCodeId"]
        .as_str()
        .unwrap()
        .to_owned();

    // A bill whose guarantee is settled already.
    let done = "3194202612035305";
    let done_id = create(&gw, &app, done, true).await;
    pay(&app, done_id).await;
    let completed = settle(&gw, &app, &format!("{done}0"), Some("1000")).await;
    assert_eq!(completed["errCode"], "SUCCESS", "{completed}");
    let before = written(&app).await;

    let made_with = |no: &'static str, flags: Vec<(&'static str, F)>, says: &'static str| {
        let mut fields = bill(no, &date);
        fields.push(("totalAmount", s("5")));
        fields.extend(flags);
        ("bills.getQRCode", fields, "BAD_REQUEST", says)
    };
    let held_payment = format!("{held}0");
    let cases: Vec<Case> = vec![
        made_with(
            "3194202612035390",
            vec![("secureTransaction", s("yes"))],
            "secureTransaction must be \"true\" or \"false\"; received \"yes\"",
        ),
        made_with(
            "3194202612035391",
            vec![
                ("secureTransaction", s("true")),
                ("divisionFlag", s("true")),
            ],
            "secureTransaction must be false or absent when divisionFlag is true",
        ),
        (
            "secureComplete",
            vec![("completedAmount", s("1"))],
            "BAD_REQUEST",
            "merOrderId is required",
        ),
        (
            "secureCancel",
            vec![("merOrderId", s("9999202612035302"))],
            "BAD_REQUEST",
            "3194",
        ),
        (
            "secureComplete",
            vec![("merOrderId", s(&held_payment))],
            "BAD_REQUEST",
            "completedAmount is required",
        ),
        (
            "secureComplete",
            vec![
                ("merOrderId", s(&held_payment)),
                ("completedAmount", s("0")),
            ],
            "BAD_REQUEST",
            "completedAmount",
        ),
        (
            "secureComplete",
            vec![
                ("merOrderId", s(&held_payment)),
                ("completedAmount", s("1001")),
            ],
            "OPERATION_NOT_ALLOWED",
            "completedAmount must be 1 to the bill's totalAmount 1000 fen; received 1001",
        ),
        (
            "secureCancel",
            vec![("merOrderId", s("31942026120354040"))],
            "NO_ORDER",
            "31942026120354040",
        ),
        (
            "secureCancel",
            vec![("merOrderId", s(held))],
            "NO_ORDER",
            "is a billNo",
        ),
        (
            "secureComplete",
            vec![
                ("merOrderId", s(format!("{unpaid}0"))),
                ("completedAmount", s("1")),
            ],
            "OPERATION_NOT_ALLOWED",
            "is UNPAID",
        ),
        (
            "secureCancel",
            vec![("merOrderId", s(format!("{closed}0")))],
            "OPERATION_NOT_ALLOWED",
            "is CLOSED",
        ),
        (
            "secureCancel",
            vec![("merOrderId", s(format!("{plain}0")))],
            "OPERATION_NOT_ALLOWED",
            "secureTransaction=true",
        ),
        (
            "secureCancel",
            vec![("merOrderId", s(format!("{done}0")))],
            "OPERATION_NOT_ALLOWED",
            "is ALL_COMPLETED already",
        ),
        (
            "secureComplete",
            vec![
                ("merOrderId", s(format!("{done}0"))),
                ("completedAmount", s("1")),
            ],
            "OPERATION_NOT_ALLOWED",
            "is ALL_COMPLETED already",
        ),
        (
            "bills.refund",
            {
                let mut fields = bill(held, &date);
                fields.push(("refundAmount", s("1")));
                fields
            },
            "OPERATION_NOT_ALLOWED",
            "UNCOMPLETED",
        ),
        (
            "bills.closeQRCode",
            vec![("qrCodeId", s(&qr_code)), ("attachRefund", s("true"))],
            "OPERATION_NOT_ALLOWED",
            "UNCOMPLETED",
        ),
    ];
    for (msg_type, extra, code, says) in cases {
        let answer = gw.call(&app, msg_type, TEST_MID, extra).await;
        assert_refused(&answer, code, says);
        assert_eq!(
            written(&app).await,
            before,
            "{msg_type} {code} wrote something"
        );
    }

    // The admin API plays the channel, and refunds no hold either.
    let (status, refused) = app
        .post(
            &format!("/admin/v1/orders/{held_id}/refunds"),
            json!({"amount": 1}),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "illegal_transition", "{refused}");
    let (status, refused) = app
        .post(
            &format!("/admin/v1/orders/{held_id}/transitions"),
            json!({"to": "REFUND"}),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(written(&app).await, before);
    let shown = show(&app, held_id).await;
    assert_eq!(shown["status"], "PAID", "{shown}");
    assert_eq!(shown["guarantee"]["secure_status"], "UNCOMPLETED");
    assert_eq!(shown["refunded_amount"], 0);
    app.stop().await;
}
