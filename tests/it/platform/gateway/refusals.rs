//! Every refusal of the gateway, each answered with its errCode and a message that names
//! what was expected, signed whenever the source is known, and with nothing written.
//! Each test runs on SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::gateway::{
    assert_refused, s, test_merchant, Gateway, F, TEST_KEY, TEST_MID, TEST_SRC,
};
use crate::common::payments::{create_merchant, MID_A, NOWHERE};
use crate::common::platform::cst;
use crate::common::{TestApp, TestDb};

both_backends!(
    an_unreadable_or_unsigned_call_is_refused,
    a_call_outside_the_rules_changes_nothing,
);

fn today(app: &TestApp) -> String {
    (app.clock.now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string()
}

/// A refused call: its msgType, mid and fields, and the errCode and the words answered.
type Case<'a> = (&'a str, &'a str, Vec<(&'static str, F)>, &'a str, &'a str);

/// What a refused call must leave as it was: the orders and the outbox.
use crate::common::gateway::written;

async fn an_unreadable_or_unsigned_call_is_refused(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    test_merchant(&app, NOWHERE).await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let before = written(&app).await;

    let broken = gw.post(&app, r#"{"msgSrc":"#.to_owned()).await;
    assert_refused(&broken, "BAD_REQUEST", "JSON object");
    assert!(broken.get("sign").is_none(), "no source, no key: {broken}");

    let nobody = Gateway::new("NO.SUCH.SRC", TEST_KEY)
        .call_unsigned(&app, "bills.query")
        .await;
    assert_refused(&nobody, "INVALID_MSGSRC", "NO.SUCH.SRC");
    assert!(nobody.get("sign").is_none(), "{nobody}");

    // A wrong key: refused, and the answer is signed with the source's own key.
    let forger = Gateway::new(TEST_SRC, "not-the-key");
    let body = forger.body(&forger.fields(&app, "bills.query", TEST_MID, vec![]));
    let forged = gw.post(&app, body).await;
    gw.assert_signed(&forged);
    assert_refused(&forged, "BAD_SIGN", "sign does not match");
    assert_eq!(
        forged["msgType"], "bills.query",
        "the call is echoed: {forged}"
    );

    let rsa = Gateway {
        sign_type: Some("RSA"),
        ..gw.clone()
    };
    let fields = rsa.fields(&app, "bills.query", TEST_MID, vec![]);
    let mut pairs = fields.clone();
    pairs.push(("sign".to_owned(), s("00")));
    let answer = gw.post(&app, gw.body_unsigned(&pairs)).await;
    assert_refused(&answer, "BAD_REQUEST", "MD5 or SHA256");

    let unknown = gw
        .call(&app, "bills.getQRCodeByMer", TEST_MID, vec![])
        .await;
    assert_refused(&unknown, "NO_SERVICE", "bills.getQRCode");
    assert_eq!(written(&app).await, before);
    app.stop().await;
}

async fn a_call_outside_the_rules_changes_nothing(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    test_merchant(&app, NOWHERE).await;
    create_merchant(
        &app,
        MID_A,
        json!({"msg_src": "OTHER.SRC", "msg_src_id": "3194"}),
    )
    .await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let date = today(&app);
    let bill = |no: &str, more: Vec<(&'static str, F)>| {
        let mut fields = vec![("billNo", s(no)), ("billDate", s(&date))];
        fields.extend(more);
        fields
    };
    let made = gw
        .call(
            &app,
            "bills.getQRCode",
            TEST_MID,
            bill("3194202612039999", vec![("totalAmount", s("5"))]),
        )
        .await;
    assert_eq!(made["errCode"], "SUCCESS", "{made}");
    let before = written(&app).await;
    let hour_ago = cst(app.clock.now() - chrono::Duration::hours(1));
    let cases: Vec<Case> = vec![
        (
            "bills.getQRCode",
            MID_A,
            bill("3194202612030001", vec![("totalAmount", s("5"))]),
            "INVALID_MSGSRC",
            "不允许该交易来源系统进行此商户交易",
        ),
        (
            "bills.getQRCode",
            TEST_MID,
            bill(
                "3194202612030001",
                vec![("totalAmount", s("5")), ("requestTimestamp", s(&hour_ago))],
            ),
            "ABNORMAL_REQUEST_TIME",
            "requestTimestamp",
        ),
        (
            "bills.getQRCode",
            TEST_MID,
            bill("9999202612030001", vec![("totalAmount", s("5"))]),
            "BAD_REQUEST",
            "3194",
        ),
        (
            "bills.getQRCode",
            TEST_MID,
            bill("3194202612030001", vec![("totalAmount", s("five"))]),
            "BAD_REQUEST",
            "totalAmount",
        ),
        (
            "bills.getQRCode",
            TEST_MID,
            vec![("totalAmount", s("5")), ("billDate", s(&date))],
            "BAD_REQUEST",
            "billDate goes with billNo",
        ),
        (
            "bills.getQRCode",
            TEST_MID,
            vec![("totalAmount", s("5")), ("secureTransaction", s("true"))],
            "BAD_REQUEST",
            "guarantee fixed codes",
        ),
        (
            "bills.getQRCode",
            TEST_MID,
            bill("3194202612039999", vec![("totalAmount", s("5"))]),
            "DUP_ORDER",
            "3194202612039999",
        ),
        (
            "bills.query",
            TEST_MID,
            bill("3194202612030404", vec![]),
            "NO_ORDER",
            "3194202612030404",
        ),
        (
            "bills.refund",
            TEST_MID,
            bill("3194202612039999", vec![("refundAmount", s("1"))]),
            "OPERATION_NOT_ALLOWED",
            "UNPAID",
        ),
        (
            "bills.closeQRCode",
            TEST_MID,
            vec![("qrCodeId", s("31940000000000000000000404"))],
            "NO_ORDER",
            "no QR code",
        ),
        (
            "bills.closeQRCode",
            TEST_MID,
            vec![
                ("qrCodeId", s(made["qrCodeId"].as_str().unwrap())),
                ("attachRefund", s("yes")),
            ],
            "BAD_REQUEST",
            "attachRefund",
        ),
        (
            "bills.queryLastQRCode",
            TEST_MID,
            vec![("tid", s("77770001"))],
            "NO_ORDER",
            "77770001",
        ),
    ];
    for (msg_type, mid, extra, code, says) in cases {
        let answer: Value = gw.call(&app, msg_type, mid, extra).await;
        assert_refused(&answer, code, says);
        assert_eq!(
            written(&app).await,
            before,
            "{msg_type} {code} wrote something"
        );
    }
    app.stop().await;
}
