//! Mini-program orders through the netpay APIs, called as a merchant's client code calls
//! them (`OPEN-BODY-SIG`): created, paid, refunded and queried, closed orders stay closed,
//! and every refusal in netpay's own style, which changes nothing and spends no nonce.
//! Each test runs against SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::netpay::{
    admin_id, assert_error, assert_success, body, extended, merchant, BILL_CLOSE, BILL_QUERY,
    CLOSE, QUERY, REFUND, REFUND_QUERY, SRC, UNIFIED_ORDER,
};
use crate::common::platform::{cst, Counter, Merchant};
use crate::common::{TestApp, TestDb};
use ums_notify::db::Sql;

both_backends!(
    a_mini_program_order_is_created_unpaid,
    a_mini_program_order_is_paid_refunded_and_queried,
    closed_orders_stay_closed,
    refused_requests_answer_netpay_errors_and_change_nothing,
    refused_requests_answer_netpay_errors_and_change_nothing_unknown_orders,
    refused_requests_answer_netpay_errors_and_change_nothing_unsigned_or_replayed,
);

/// A mini-program order of 2.50 yuan numbered `no`.
fn mini_order(app: &TestApp, no: &str) -> Value {
    body(
        app,
        "MINIDEFAULT",
        json!({"merOrderId": no, "totalAmount": "250", "tradeType": "MINI",
               "subOpenId": "o-buyer", "orderDesc": "咖啡"}),
    )
}

/// A request about order 3194M0001 with `extra` fields.
fn by_no(app: &TestApp, extra: Value) -> Value {
    body(
        app,
        "MINIDEFAULT",
        extended(json!({"merOrderId": "3194M0001"}), extra),
    )
}

async fn a_mini_program_order_is_created_unpaid(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let shop = merchant(&app).await;
    let created = shop
        .call(&app, UNIFIED_ORDER, &mini_order(&app, "3194M0001"))
        .await;
    assert_success(&created);
    assert_eq!(created["status"], "WAIT_BUYER_PAY", "{created}");
    assert_eq!(
        created["totalAmount"], 250,
        "a string amount is read as fen"
    );
    assert!(created["miniPayRequest"]["package"]
        .as_str()
        .unwrap()
        .starts_with("prepay_id="));
    let unpaid = shop.call(&app, QUERY, &by_no(&app, json!({}))).await;
    assert_eq!(unpaid["status"], "WAIT_BUYER_PAY", "{unpaid}");
    let none = shop.call(&app, REFUND_QUERY, &by_no(&app, json!({}))).await;
    assert_error(&none, "NO_ORDER", "has no refund");
    let early = shop
        .call(&app, REFUND, &by_no(&app, json!({"refundAmount": 1})))
        .await;
    assert_error(&early, "OPERATION_NOT_ALLOWED", "WAIT_BUYER_PAY");
    app.stop().await;
}

async fn a_mini_program_order_is_paid_refunded_and_queried(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let shop = merchant(&app).await;
    shop.call(&app, UNIFIED_ORDER, &mini_order(&app, "3194M0001"))
        .await;
    let id = admin_id(&app, "3194M0001").await;
    let (status, _) = app
        .post(
            &format!("/admin/v1/orders/{id}/transitions"),
            json!({"to": "TRADE_SUCCESS"}),
        )
        .await;
    assert_eq!(status, 200);
    let paid = shop.call(&app, QUERY, &by_no(&app, json!({}))).await;
    assert_eq!(paid["status"], "TRADE_SUCCESS", "{paid}");
    assert_eq!(paid["targetSys"], "WXPay");
    assert!(paid["targetOrderId"].is_string() && paid["payTime"].is_string());
    assert_eq!(
        (&paid["receiptAmount"], &paid["couponAmount"]),
        (&json!(250), &json!(0)),
        "what the merchant receives, and no coupon: {paid}"
    );

    let refund = shop
        .call(&app, REFUND, &by_no(&app, json!({"refundAmount": 250})))
        .await;
    assert_success(&refund);
    assert_eq!(refund["status"], "TRADE_REFUND", "{refund}");
    assert!(paid["seqId"].is_string(), "{paid}");
    assert_eq!(
        (&refund["seqId"], &refund["targetSys"]),
        (&paid["seqId"], &json!("WXPay")),
        "{refund}"
    );
    let generated = refund["refundOrderId"].as_str().unwrap().to_owned();
    assert!(generated.starts_with(SRC), "{refund}");
    let found = shop.call(&app, REFUND_QUERY, &by_no(&app, json!({}))).await;
    assert_eq!(
        (
            &found["refundOrderId"],
            &found["refundStatus"],
            &found["refundAmount"]
        ),
        (&json!(generated), &json!("SUCCESS"), &json!(250)),
        "{found}"
    );
    let more = shop
        .call(&app, REFUND, &by_no(&app, json!({"refundAmount": 1})))
        .await;
    assert_error(&more, "OPERATION_NOT_ALLOWED", "in full");
    app.stop().await;
}

/// An order closed by the merchant stays closed.
async fn closed_orders_stay_closed(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let shop = merchant(&app).await;
    shop.call(&app, UNIFIED_ORDER, &mini_order(&app, "3194M0002"))
        .await;
    // A trade order is no QR bill: its qrCodeId-like number closes nothing.
    let id2 = admin_id(&app, "3194M0002").await;
    let (_, trade_view) = app.get(&format!("/admin/v1/orders/{id2}")).await;
    assert!(trade_view.get("qr_code_id").is_none(), "{trade_view}");
    let fake_qr = format!("{SRC}{id2:022}");
    let not_a_bill = shop
        .call(
            &app,
            BILL_CLOSE,
            &body(&app, "QRPAYDEFAULT", json!({"qrCodeId": fake_qr})),
        )
        .await;
    assert_error(&not_a_bill, "NO_ORDER", &fake_qr);
    let second = json!({"merOrderId": "3194M0002"});
    let closed = shop
        .call(&app, CLOSE, &body(&app, "MINIDEFAULT", second.clone()))
        .await;
    assert_success(&closed);
    assert_eq!(closed["status"], "TRADE_CLOSED", "{closed}");
    let again = shop
        .call(&app, CLOSE, &body(&app, "MINIDEFAULT", second))
        .await;
    assert_error(&again, "OPERATION_NOT_ALLOWED", "TRADE_CLOSED is terminal");
    app.stop().await;
}

async fn order_rows(counter: &Counter) -> (i64, i64, i64, i64) {
    let count = |table: &str| Sql::new(format!("SELECT COUNT(*) FROM {table}"));
    let mut n = [0i64; 4];
    for (slot, table) in
        n.iter_mut()
            .zip(["orders", "order_refunds", "notifications", "used_nonces"])
    {
        let (c,): (i64,) = counter.database().read_one(&count(table)).await.unwrap();
        *slot = c;
    }
    (n[0], n[1], n[2], n[3])
}

/// The mini-program order 3194X0001 of one yuan, with `extra` fields changed or added.
fn mini_order_x(app: &TestApp, extra: Value) -> Value {
    let fields = json!({"merOrderId": "3194X0001", "totalAmount": 100, "tradeType": "MINI"});
    body(app, "MINIDEFAULT", extended(fields, extra))
}

/// The app, a row counter, the merchant with its order 3194X0000, and another merchant
/// (source number 1017).
async fn with_an_order(db: &TestDb) -> (TestApp, Counter, Merchant, Merchant) {
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(db).await;
    let shop = merchant(&app).await;
    let other = app
        .create_merchant("898310048169999", json!({"msg_src_id": "1017"}))
        .await;
    shop.call(
        &app,
        UNIFIED_ORDER,
        &mini_order_x(&app, json!({"merOrderId": "3194X0000"})),
    )
    .await;
    (app, counter, shop, other)
}

async fn refused_requests_answer_netpay_errors_and_change_nothing(db: TestDb) {
    let (app, counter, shop, _) = with_an_order(&db).await;
    let ok = |extra: Value| mini_order_x(&app, extra);
    let before = order_rows(&counter).await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            ok(json!({"merOrderId": "1017X0001"})),
            "BAD_REQUEST",
            "source number (来源编号) 3194",
        ),
        (ok(json!({"merOrderId": "3194"})), "BAD_REQUEST", "6 to 32"),
        (ok(json!({"totalAmount": 0})), "BAD_REQUEST", "totalAmount"),
        (
            ok(json!({"totalAmount": 1.5})),
            "BAD_REQUEST",
            "totalAmount",
        ),
        (
            ok(json!({"totalAmount": "1.00"})),
            "BAD_REQUEST",
            "totalAmount",
        ),
        (ok(json!({"tradeType": "APP"})), "BAD_REQUEST", "tradeType"),
        (
            ok(json!({"requestTimestamp": "2024-01-01T00:00:00"})),
            "BAD_REQUEST",
            "requestTimestamp",
        ),
        (
            ok(json!({"mid": "898310048169999"})),
            "NO_MERCHANT",
            "898310048169999",
        ),
        (ok(json!({"tid": null})), "BAD_REQUEST", "tid is required"),
        (
            ok(json!({"notifyUrl": "ftp://x"})),
            "BAD_REQUEST",
            "notifyUrl",
        ),
        (
            ok(json!({"expireTime": "2000-01-01 00:00:00"})),
            "BAD_REQUEST",
            "expireTime",
        ),
        (
            ok(json!({"merOrderId": "3194X0000"})),
            "DUP_ORDER",
            "3194X0000",
        ),
    ];
    for (request, code, says) in cases {
        let answer = shop.call(&app, UNIFIED_ORDER, &request).await;
        assert_error(&answer, code, says);
        assert_eq!(order_rows(&counter).await, before, "changed by {request}");
    }
    app.stop().await;
}

async fn refused_requests_answer_netpay_errors_and_change_nothing_unknown_orders(db: TestDb) {
    let (app, _, shop, other) = with_an_order(&db).await;
    let missing = shop
        .call(
            &app,
            QUERY,
            &body(&app, "MINIDEFAULT", json!({"merOrderId": "3194X0404"})),
        )
        .await;
    assert_error(&missing, "NO_ORDER", "3194X0404");
    // Another merchant's order is not found either.
    let theirs = other
        .call(
            &app,
            QUERY,
            &json!({"requestTimestamp": cst(app.clock.now()), "mid": "898310048169999",
                    "tid": "1", "instMid": "MINIDEFAULT", "merOrderId": "1017X0000"}),
        )
        .await;
    assert_error(&theirs, "NO_ORDER", "1017X0000");
    // A bill API does not find a trade order.
    let date = app.clock.now().format("%Y-%m-%d").to_string();
    let wrong_product = shop
        .call(
            &app,
            BILL_QUERY,
            &body(
                &app,
                "QRPAYDEFAULT",
                json!({"billNo": "3194X0000", "billDate": date}),
            ),
        )
        .await;
    assert_error(&wrong_product, "NO_ORDER", "billNo 3194X0000");
    app.stop().await;
}

/// The gateway answers authentication failures in its own style, before netpay; a
/// replayed nonce creates nothing the second time.
async fn refused_requests_answer_netpay_errors_and_change_nothing_unsigned_or_replayed(db: TestDb) {
    let (app, counter, shop, _) = with_an_order(&db).await;
    let before = order_rows(&counter).await;
    let bytes = serde_json::to_vec(&mini_order_x(&app, json!({}))).unwrap();
    let (status, unsigned) = app.platform(UNIFIED_ORDER, None, &bytes).await;
    assert_eq!(status, 200);
    assert_eq!(unsigned["errCode"], "3001", "{unsigned}");
    assert_eq!(order_rows(&counter).await, before);
    // A replayed nonce creates nothing the second time.
    let header = shop.sig(&app, &bytes);
    let (_, first) = app.platform(UNIFIED_ORDER, Some(&header), &bytes).await;
    assert_success(&first);
    let (_, replay) = app.platform(UNIFIED_ORDER, Some(&header), &bytes).await;
    assert_eq!(replay["errCode"], "3005", "{replay}");
    let after = order_rows(&counter).await;
    assert_eq!(
        after.0,
        before.0 + 1,
        "one order from the first request only"
    );
    app.stop().await;
}
