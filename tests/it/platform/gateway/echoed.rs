//! The fields a bill echoes (spec V3.5 §3, §6, §8, §13): `memberId` and
//! `counterNo` sent with bills.getQRCode come back in the bill's payment-result notice
//! (signed), in bills.query before and after payment, and in bills.queryQRCodeInfo with
//! `goods`; a bill without them answers without them; a malformed one is refused with
//! nothing written. Each test runs on SQLite and PostgreSQL.

use serde_json::Value;

use crate::common::gateway::{
    assert_refused, pay, raw, s, sign, test_merchant, today, written, Gateway, TEST_KEY, TEST_MID,
    TEST_SRC,
};
use crate::common::payment_notices::Notice;
use crate::common::payments::{NOWHERE, WAIT};
use crate::common::receiver::{Receiver, Reply};
use crate::common::TestDb;

both_backends!(
    member_and_counter_come_back_in_the_notice_and_the_queries,
    malformed_echoed_fields_are_refused,
);

const GOODS: &str = r#"[{"goodsId":"G1","goodsName":"拿铁","quantity":"2","price":"1500","goodsCategory":"DRINK","body":"大杯"}]"#;

async fn member_and_counter_come_back_in_the_notice_and_the_queries(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let merchant = test_merchant(&app, &receiver.url("/notify")).await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let date = today(&app);
    let no = "3194202612031001";
    let created = gw
        .call(
            &app,
            "bills.getQRCode",
            TEST_MID,
            vec![
                ("billNo", s(no)),
                ("billDate", s(&date)),
                ("totalAmount", s("3000")),
                ("memberId", s("会员-0001")),
                ("counterNo", s("A12")),
                ("goods", raw(GOODS)),
            ],
        )
        .await;
    assert_eq!(created["errCode"], "SUCCESS", "{created}");
    let qr_code = created["qrCodeId"].as_str().unwrap().to_owned();

    let unpaid = gw.query(&app, no, &date).await;
    assert_eq!(unpaid["memberId"], "会员-0001", "{unpaid}");
    assert_eq!(unpaid["counterNo"], "A12", "{unpaid}");

    let info = gw.code_info(&app, &qr_code).await;
    assert_eq!(info["errCode"], "SUCCESS", "{info}");
    assert_eq!(info["memberId"], "会员-0001", "{info}");
    assert_eq!(info["counterNo"], "A12", "{info}");
    let goods: Value = serde_json::from_str(GOODS).unwrap();
    assert_eq!(info["goods"], goods, "goods as sent: {info}");

    pay(&app, no, "WXPay").await;
    let got = receiver.wait_for(1, WAIT).await;
    let notice = Notice::parse(&got[0].path, &got[0].headers, &got[0].body);
    notice.verify(&merchant);
    assert_eq!(notice.field("memberId"), "会员-0001");
    assert_eq!(notice.field("counterNo"), "A12");
    assert_eq!(
        sign(&notice.fields, TEST_KEY, "MD5"),
        notice.field("sign"),
        "the echoed fields are signed"
    );
    let paid = gw.query(&app, no, &date).await;
    assert_eq!(paid["billStatus"], "PAID", "{paid}");
    assert_eq!(paid["memberId"], "会员-0001", "{paid}");
    assert_eq!(paid["counterNo"], "A12", "{paid}");

    // A bill made without them answers without them.
    let plain = "3194202612031002";
    let made = gw
        .call(
            &app,
            "bills.getQRCode",
            TEST_MID,
            vec![
                ("billNo", s(plain)),
                ("billDate", s(&date)),
                ("totalAmount", s("1")),
            ],
        )
        .await;
    assert_eq!(made["errCode"], "SUCCESS", "{made}");
    let answer = gw.query(&app, plain, &date).await;
    for field in ["memberId", "counterNo"] {
        assert!(answer.get(field).is_none(), "no {field}: {answer}");
    }
    let info = gw.code_info(&app, made["qrCodeId"].as_str().unwrap()).await;
    assert!(info.get("goods").is_none(), "{info}");
    app.stop().await;
}

async fn malformed_echoed_fields_are_refused(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    test_merchant(&app, NOWHERE).await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let date = today(&app);
    let before = written(&app).await;
    let cases = [
        ("memberId", s("m".repeat(33)), "received 33 characters"),
        ("counterNo", s("A\n12"), "control characters"),
        ("goods", raw(r#"{"goodsId":"G1"}"#), "array of item objects"),
        ("goods", s("[{"), "does not parse"),
        ("returnUrl", s("shop.example/paid"), "returnUrl"),
    ];
    for (field, value, says) in cases {
        let answer = gw
            .call(
                &app,
                "bills.getQRCode",
                TEST_MID,
                vec![
                    ("billNo", s("3194202612031003")),
                    ("billDate", s(&date)),
                    ("totalAmount", s("1")),
                    (field, value),
                ],
            )
            .await;
        assert_refused(&answer, "BAD_REQUEST", says);
        assert!(
            answer["errMsg"].as_str().unwrap().contains(field),
            "the message names {field}: {answer}"
        );
        assert_eq!(written(&app).await, before, "{field} wrote something");
    }
    app.stop().await;
}
