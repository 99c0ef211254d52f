//! QR bills through the netpay APIs, called as a merchant's client code calls them
//! (`OPEN-BODY-SIG`): created and queried unpaid, queried paid with the payment, refunded
//! (a repeated refund number answers the refund made, a replay is refused) and queried
//! again, and a refunded bill cannot be closed. Each test runs against SQLite and
//! PostgreSQL.

use serde_json::{json, Value};

use crate::common::netpay::{
    admin_id, assert_error, assert_success, body, extended, merchant, BILL_CLOSE, BILL_QUERY,
    BILL_REFUND, GET_QRCODE, SRC,
};
use crate::common::platform::Merchant;
use crate::common::{TestApp, TestDb};

both_backends!(
    a_bill_is_created_and_queried_unpaid,
    a_bill_paid_is_queried_with_its_payment,
    a_bill_is_refunded_queried_again_and_cannot_be_closed,
);

/// Today's date on the app's clock, taken once a test: the bill's date.
fn today(app: &TestApp) -> String {
    app.clock.now().format("%Y-%m-%d").to_string()
}

/// The bill of 10 yuan the tests create, of `date`.
fn bill(date: &str) -> Value {
    json!({"billNo": "3194B0001", "billDate": date})
}

/// A query of the bill of `date` with `extra` fields.
fn query(app: &TestApp, date: &str, extra: Value) -> Value {
    body(app, "QRPAYDEFAULT", extended(bill(date), extra))
}

/// Creates the bill of `date` through get-qrcode; returns the answer.
async fn create_bill(app: &TestApp, shop: &Merchant, date: &str) -> Value {
    let fields = extended(
        bill(date),
        json!({"totalAmount": 1000, "billDesc": "测试账单", "msgId": "m-1"}),
    );
    shop.call(app, GET_QRCODE, &body(app, "QRPAYDEFAULT", fields))
        .await
}

/// Creates the bill and pays it by Alipay through the admin API; its admin id and
/// qrCodeId.
async fn paid_bill(app: &TestApp, shop: &Merchant, date: &str) -> (i64, String) {
    let created = create_bill(app, shop, date).await;
    assert_success(&created);
    let qr_code_id = created["qrCodeId"].as_str().unwrap().to_owned();
    let id = admin_id(app, "3194B0001").await;
    let (status, paid) = app
        .post(
            &format!("/admin/v1/orders/{id}/transitions"),
            json!({"to": "PAID", "target_sys": "Alipay"}),
        )
        .await;
    assert_eq!(status, 200, "{paid}");
    (id, qr_code_id)
}

async fn a_bill_is_created_and_queried_unpaid(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let shop = merchant(&app).await;
    let date = today(&app);
    let created = create_bill(&app, &shop, &date).await;
    assert_success(&created);
    assert_eq!(created["billNo"], "3194B0001");
    assert_eq!(created["msgId"], "m-1", "msgId is echoed");
    let qr_code_id = created["qrCodeId"].as_str().unwrap().to_owned();
    assert!(qr_code_id.starts_with(SRC), "{created}");
    assert!(created["billQRCode"]
        .as_str()
        .unwrap()
        .ends_with(&qr_code_id));
    let unpaid = shop
        .call(&app, BILL_QUERY, &query(&app, &date, json!({})))
        .await;
    assert_success(&unpaid);
    assert_eq!(unpaid["billStatus"], "UNPAID");
    assert_eq!(unpaid["totalAmount"], 1000);
    assert_eq!(unpaid["billDesc"], "测试账单");
    assert!(unpaid.get("billPayment").is_none(), "{unpaid}");
    app.stop().await;
}

async fn a_bill_paid_is_queried_with_its_payment(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let shop = merchant(&app).await;
    let date = today(&app);
    paid_bill(&app, &shop, &date).await;
    let paid = shop
        .call(&app, BILL_QUERY, &query(&app, &date, json!({})))
        .await;
    assert_eq!(paid["billStatus"], "PAID", "{paid}");
    let payment = &paid["billPayment"];
    assert_eq!(payment["targetSys"], "Alipay", "{paid}");
    assert_eq!(payment["totalAmount"], 1000);
    assert!(payment["payTime"].is_string() && payment["buyerId"].is_string());
    // The payment's merOrderId (the bill number and an attempt digit) names the bill
    // too, as the spec allows.
    assert_eq!(payment["merOrderId"], "3194B00010", "{paid}");
    let by_mer_order_id = shop
        .call(
            &app,
            BILL_QUERY,
            &body(
                &app,
                "QRPAYDEFAULT",
                json!({"billNo": "3194B00010", "billDate": date}),
            ),
        )
        .await;
    assert_eq!(by_mer_order_id["billStatus"], "PAID", "{by_mer_order_id}");
    assert_eq!(by_mer_order_id["billNo"], "3194B0001");
    let unknown = shop
        .call(
            &app,
            BILL_QUERY,
            &body(
                &app,
                "QRPAYDEFAULT",
                json!({"billNo": "3194B00020", "billDate": date}),
            ),
        )
        .await;
    assert_error(&unknown, "NO_ORDER", "3194B00020");
    app.stop().await;
}

async fn a_bill_is_refunded_queried_again_and_cannot_be_closed(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let shop = merchant(&app).await;
    let date = today(&app);
    let (id, qr_code_id) = paid_bill(&app, &shop, &date).await;
    let refund = |amount: i64, refund_id: &str| {
        let fields = extended(
            bill(&date),
            json!({"refundAmount": amount, "refundOrderId": refund_id}),
        );
        body(&app, "QRPAYDEFAULT", fields)
    };
    let first = shop
        .call(&app, BILL_REFUND, &refund(300, "3194R0001"))
        .await;
    assert_success(&first);
    assert_eq!(
        (
            &first["refundStatus"],
            &first["billStatus"],
            &first["refundAmount"]
        ),
        (&json!("SUCCESS"), &json!("REFUND"), &json!(300)),
        "{first}"
    );
    let again = shop
        .call(&app, BILL_REFUND, &refund(300, "3194R0001"))
        .await;
    assert_success(&again);
    assert_eq!(
        again["refundTargetOrderId"], first["refundTargetOrderId"],
        "a repeated refundOrderId answers the refund already made"
    );
    let over = shop
        .call(&app, BILL_REFUND, &refund(701, "3194R0002"))
        .await;
    assert_error(&over, "OPERATION_NOT_ALLOWED", "700 fen left");
    // The same signed request again, nonce and all: a replay, even of a repeated refund.
    let bytes = serde_json::to_vec(&refund(300, "3194R0001")).unwrap();
    let header = shop.sig(&app, &bytes);
    let (_, once) = app.platform(BILL_REFUND, Some(&header), &bytes).await;
    assert_success(&once);
    let (_, replayed) = app.platform(BILL_REFUND, Some(&header), &bytes).await;
    assert_eq!(replayed["errCode"], "3005", "{replayed}");
    let reused = shop.call(&app, BILL_REFUND, &refund(5, "3194R0001")).await;
    assert_error(&reused, "DUP_ORDER", "3194R0001");
    let (_, order) = app.get(&format!("/admin/v1/orders/{id}")).await;
    assert_eq!(order["refunded_amount"], 300, "refunded once: {order}");

    let refunded = shop
        .call(
            &app,
            BILL_QUERY,
            &query(&app, &date, json!({"refundOrderId": "3194R0001"})),
        )
        .await;
    assert_eq!(refunded["billStatus"], "REFUND", "{refunded}");
    assert_eq!(refunded["refundBillPayment"]["merOrderId"], "3194R0001");
    assert_eq!(refunded["refundBillPayment"]["totalAmount"], 300);
    let unknown = shop
        .call(
            &app,
            BILL_QUERY,
            &query(&app, &date, json!({"refundOrderId": "3194R0404"})),
        )
        .await;
    assert_error(&unknown, "NO_ORDER", "3194R0404");

    let close = shop
        .call(
            &app,
            BILL_CLOSE,
            &body(&app, "QRPAYDEFAULT", json!({"qrCodeId": qr_code_id})),
        )
        .await;
    assert_error(
        &close,
        "OPERATION_NOT_ALLOWED",
        "illegal order state transition",
    );
    app.stop().await;
}
