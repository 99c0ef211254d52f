//! A bill through every gateway operation, as the spec's test merchant: created, queried
//! unpaid, its code's static data and the terminal's last code read, paid (admin API)
//! and notified, queried paid (also by its payment's merOrderId), refunded in part (a
//! repeated refund number answers the refund made), queried with its refund, and closed
//! with the rest refunded; another closed unpaid. Then the official demo's request shapes
//! and a SHA-256 source. Every answer's sign is checked by the client. Each test runs on
//! SQLite and PostgreSQL.

use serde_json::Value;

use crate::common::gateway::{
    assert_refused, raw, s, sign, test_merchant, Gateway, F, TEST_KEY, TEST_MID, TEST_SRC,
};
use crate::common::payment_notices::{is_lowercase_uuid, Notice};
use crate::common::payments::{NOWHERE, WAIT};
use crate::common::platform::cst;
use crate::common::receiver::{Receiver, Reply};
use crate::common::{TestApp, TestDb};

both_backends!(
    a_bill_goes_through_every_operation,
    the_official_demos_request_shapes_are_read,
    a_sha256_call_is_answered_in_sha256,
);

fn today(app: &TestApp) -> String {
    (app.clock.now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string()
}

/// The admin id of the test merchant's bill `bill_no`.
async fn admin_id(app: &TestApp, bill_no: &str) -> i64 {
    let (status, list) = app.get(&format!("/admin/v1/orders?mid={TEST_MID}")).await;
    assert_eq!(status, 200, "{list}");
    list["orders"]
        .as_array()
        .and_then(|orders| orders.iter().find(|o| o["order_no"] == bill_no))
        .and_then(|o| o["id"].as_i64())
        .unwrap_or_else(|| panic!("no bill {bill_no} in {list}"))
}

fn bill(no: &str, date: &str) -> Vec<(&'static str, F)> {
    vec![("billNo", s(no)), ("billDate", s(date))]
}

fn with(
    mut fields: Vec<(&'static str, F)>,
    more: Vec<(&'static str, F)>,
) -> Vec<(&'static str, F)> {
    fields.extend(more);
    fields
}

async fn a_bill_goes_through_every_operation(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    test_merchant(&app, &receiver.url("/notify")).await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let date = today(&app);
    let no = "3194202612030001";

    let created = gw
        .call(
            &app,
            "bills.getQRCode",
            TEST_MID,
            with(
                bill(no, &date),
                vec![
                    ("totalAmount", s("1000")),
                    ("billDesc", s("网关账单")),
                    ("msgId", s("m-1")),
                    ("srcReserve", s("r-1")),
                    ("systemId", s("sys-1")),
                ],
            ),
        )
        .await;
    assert_eq!(created["errCode"], "SUCCESS", "{created}");
    for (field, value) in [
        ("billNo", no),
        ("billDate", date.as_str()),
        ("msgId", "m-1"),
        ("srcReserve", "r-1"),
        ("systemId", "sys-1"),
        ("msgType", "bills.getQRCode"),
        ("msgSrc", TEST_SRC),
        ("mid", TEST_MID),
        ("instMid", "QRPAYDEFAULT"),
    ] {
        assert_eq!(created[field], value, "{field}: {created}");
    }
    let qr_code = created["qrCodeId"].as_str().unwrap().to_owned();
    assert!(created["billQRCode"].as_str().unwrap().ends_with(&qr_code));

    let unpaid = gw
        .call(&app, "bills.query", TEST_MID, bill(no, &date))
        .await;
    assert_eq!(unpaid["errCode"], "SUCCESS", "{unpaid}");
    assert_eq!(unpaid["billStatus"], "UNPAID");
    assert_eq!(unpaid["totalAmount"], 1000);
    assert!(unpaid.get("billPayment").is_none(), "{unpaid}");

    // queryQRCodeInfo carries no tid, no instMid and no mid.
    let info_fields = vec![
        ("msgSrc".to_owned(), s(TEST_SRC)),
        ("msgType".to_owned(), s("bills.queryQRCodeInfo")),
        ("requestTimestamp".to_owned(), s(cst(app.clock.now()))),
        ("qrCodeId".to_owned(), s(&qr_code)),
    ];
    let info = gw.post(&app, gw.body(&info_fields)).await;
    gw.assert_signed(&info);
    assert_eq!(info["errCode"], "SUCCESS", "{info}");
    assert_eq!(info["qrCodeUrl"], created["billQRCode"]);
    assert_eq!(info["billNo"], no);
    assert_eq!(info["totalAmount"], 1000);
    assert_eq!(info["merName"], "测试商户");
    let last = gw
        .call(&app, "bills.queryLastQRCode", TEST_MID, vec![])
        .await;
    assert_eq!(last["errCode"], "SUCCESS", "{last}");
    assert_eq!(last["billNo"], no);
    assert_eq!(last["qrCodeUrl"], created["billQRCode"]);

    let id = admin_id(&app, no).await;
    let (status, paid) = app
        .post(
            &format!("/admin/v1/orders/{id}/transitions"),
            serde_json::json!({"to": "PAID", "target_sys": "WXPay"}),
        )
        .await;
    assert_eq!(status, 200, "{paid}");
    let got = receiver.wait_for(1, WAIT).await;
    let notice = Notice::parse(&got[0].path, &got[0].headers, &got[0].body);
    assert_eq!(notice.field("billNo"), no);
    assert_eq!(notice.field("billStatus"), "PAID");
    assert_eq!(
        notice.get("signType"),
        None,
        "an MD5 notice has no signType"
    );
    assert!(is_lowercase_uuid(notice.field("notifyId")));
    assert_eq!(
        sign(&notice.fields, TEST_KEY, "MD5"),
        notice.field("sign"),
        "the notice verifies with the source's key"
    );

    let queried = gw
        .call(&app, "bills.query", TEST_MID, bill(no, &date))
        .await;
    assert_eq!(queried["billStatus"], "PAID", "{queried}");
    let payment = &queried["billPayment"];
    assert_eq!(payment["merOrderId"], format!("{no}0"));
    assert_eq!(payment["targetSys"], "WXPay");
    assert_eq!(payment["status"], "TRADE_SUCCESS");
    let by_payment = gw
        .call(
            &app,
            "bills.query",
            TEST_MID,
            bill(&format!("{no}0"), &date),
        )
        .await;
    assert_eq!(by_payment["billStatus"], "PAID", "{by_payment}");

    let refund = vec![
        ("refundOrderId", s("3194R20261203001")),
        ("refundAmount", s("300")),
    ];
    let refunded = gw
        .call(
            &app,
            "bills.refund",
            TEST_MID,
            with(bill(no, &date), refund.clone()),
        )
        .await;
    assert_eq!(refunded["errCode"], "SUCCESS", "{refunded}");
    assert_eq!(refunded["billStatus"], "REFUND");
    assert_eq!(refunded["refundStatus"], "SUCCESS");
    assert_eq!(refunded["refundOrderId"], "3194R20261203001");
    assert_eq!(refunded["merOrderId"], format!("{no}0"));
    let again = gw
        .call(
            &app,
            "bills.refund",
            TEST_MID,
            with(bill(no, &date), refund),
        )
        .await;
    assert_eq!(
        again["refundTargetOrderId"],
        refunded["refundTargetOrderId"]
    );
    let unnumbered = gw
        .call(
            &app,
            "bills.refund",
            TEST_MID,
            with(bill(no, &date), vec![("refundAmount", s("100"))]),
        )
        .await;
    assert_refused(&unnumbered, "BAD_REQUEST", "refundOrderId");

    let with_refund = gw
        .call(
            &app,
            "bills.query",
            TEST_MID,
            with(
                bill(no, &date),
                vec![("refundOrderId", s("3194R20261203001"))],
            ),
        )
        .await;
    assert_eq!(
        with_refund["refundBillPayment"]["merOrderId"],
        "3194R20261203001"
    );
    assert_eq!(with_refund["refundBillPayment"]["totalAmount"], 300);

    let closed = gw
        .call(
            &app,
            "bills.closeQRCode",
            TEST_MID,
            vec![("qrCodeId", s(&qr_code)), ("attachRefund", s("true"))],
        )
        .await;
    assert_eq!(closed["errCode"], "SUCCESS", "{closed}");
    assert_eq!(closed["qrCodeId"], qr_code.as_str());
    assert_eq!(
        closed["refundAmount"], 700,
        "the rest is refunded: {closed}"
    );
    let (_, shown) = app.get(&format!("/admin/v1/orders/{id}")).await;
    assert_eq!(shown["refunded_amount"], 1000, "{shown}");

    // Another bill, closed unpaid; closing it twice is not allowed.
    let other = "3194202612030002";
    let made = gw
        .call(
            &app,
            "bills.getQRCode",
            TEST_MID,
            with(bill(other, &date), vec![("totalAmount", raw("1"))]),
        )
        .await;
    let other_code = made["qrCodeId"].as_str().unwrap().to_owned();
    let close = vec![("qrCodeId", s(&other_code))];
    let closed = gw
        .call(&app, "bills.closeQRCode", TEST_MID, close.clone())
        .await;
    assert_eq!(closed["billStatus"], "CLOSED", "{closed}");
    let twice = gw.call(&app, "bills.closeQRCode", TEST_MID, close).await;
    assert_refused(&twice, "OPERATION_NOT_ALLOWED", "CLOSED");
    app.stop().await;
}

/// The official demo posts its JSON as `application/x-www-form-urlencoded`, every value
/// a string; a Python client posts no Content-Type, escapes non-ASCII as `\uXXXX` and
/// sends `goods` as a JSON string; others send `goods` as an array.
async fn the_official_demos_request_shapes_are_read(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    test_merchant(&app, NOWHERE).await;
    let date = today(&app);
    let goods = r#"[{"goodsId":"1","goodsName":"测试商品","quantity":"1","price":"1","goodsCategory":"TEST","body":"测试"}]"#;
    let shapes: [(Option<&'static str>, F); 3] = [
        (Some("application/x-www-form-urlencoded"), raw(goods)),
        (None, s(goods)),
        (Some("application/json"), raw(goods)),
    ];
    for (n, (content_type, goods)) in shapes.into_iter().enumerate() {
        let gw = Gateway {
            content_type,
            ..Gateway::new(TEST_SRC, TEST_KEY)
        };
        let no = format!("31942026120310{n}");
        let fields = gw.fields(
            &app,
            "bills.getQRCode",
            TEST_MID,
            with(
                bill(&no, &date),
                vec![
                    ("totalAmount", s("1")),
                    ("goods", goods),
                    ("billDesc", s("网关账单")),
                ],
            ),
        );
        // Non-ASCII as the Python client writes it: escapes, signed as the characters.
        let body = gw
            .body(&fields)
            .replace("网关账单", r"\u7f51\u5173\u8d26\u5355");
        let answer = gw.post(&app, body).await;
        gw.assert_signed(&answer);
        assert_eq!(answer["errCode"], "SUCCESS", "shape {n}: {answer}");
        let id = admin_id(&app, &no).await;
        let (_, shown) = app.get(&format!("/admin/v1/orders/{id}")).await;
        assert_eq!(shown["description"], "网关账单", "{shown}");
    }
    // The address without its trailing slash is the gateway too.
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let body = gw.body(&gw.fields(&app, "bills.queryLastQRCode", TEST_MID, vec![]));
    let answer: Value = app
        .http
        .post(app.url("/netpay-route-server/api"))
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["errCode"], "SUCCESS", "{answer}");
    app.stop().await;
}

async fn a_sha256_call_is_answered_in_sha256(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    test_merchant(&app, NOWHERE).await;
    let gw = Gateway {
        sign_type: Some("SHA256"),
        ..Gateway::new(TEST_SRC, TEST_KEY)
    };
    let date = today(&app);
    let answer = gw
        .call(
            &app,
            "bills.getQRCode",
            TEST_MID,
            with(
                bill("3194202612030300", &date),
                vec![("totalAmount", s("1"))],
            ),
        )
        .await;
    assert_eq!(answer["errCode"], "SUCCESS", "{answer}");
    assert_eq!(answer["signType"], "SHA256");
    assert_eq!(answer["sign"].as_str().unwrap().len(), 64);
    app.stop().await;
}
