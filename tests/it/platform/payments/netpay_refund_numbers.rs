//! Refund order numbers through the netpay refund APIs (`bills/refund` and `refund`): a
//! first refund may leave `refundOrderId` out and gets one made up (starting with the
//! source number of the order number), a further refund without one is refused with
//! `BAD_REQUEST`, writes nothing and spends no nonce, and a further refund with its own
//! number goes through. Each test runs against SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::netpay::{
    admin_id, assert_error, assert_success, body, extended, merchant, BILL_QUERY, BILL_REFUND,
    GET_QRCODE, REFUND, REFUND_QUERY, SRC, UNIFIED_ORDER,
};
use crate::common::platform::Counter;
use crate::common::{TestApp, TestDb};
use ums_notify::db::Sql;

both_backends!(
    a_bill_refund_without_a_number_gets_one_only_the_first_time,
    a_trade_refund_without_a_number_gets_one_only_the_first_time,
);

/// Rows of the tables a refund writes: refunds, notifications, spent nonces.
async fn refund_rows(counter: &Counter) -> [i64; 3] {
    let mut n = [0i64; 3];
    for (slot, table) in n
        .iter_mut()
        .zip(["order_refunds", "notifications", "used_nonces"])
    {
        let sql = Sql::new(format!("SELECT COUNT(*) FROM {table}"));
        let (count,): (i64,) = counter.database().read_one(&sql).await.unwrap();
        *slot = count;
    }
    n
}

/// Pays order `no` through the admin API.
async fn pay(app: &TestApp, no: &str) {
    let id = admin_id(app, no).await;
    let (status, paid) = app
        .post(
            &format!("/admin/v1/orders/{id}/transitions"),
            json!({"to": if no.contains('B') { "PAID" } else { "TRADE_SUCCESS" }}),
        )
        .await;
    assert_eq!(status, 200, "{paid}");
}

async fn a_bill_refund_without_a_number_gets_one_only_the_first_time(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(&db).await;
    let shop = merchant(&app).await;
    let date = app.clock.now().format("%Y-%m-%d").to_string();
    let bill = json!({"billNo": "3194B0007", "billDate": date});
    let created = shop
        .call(
            &app,
            GET_QRCODE,
            &body(
                &app,
                "QRPAYDEFAULT",
                extended(bill.clone(), json!({"totalAmount": 1000})),
            ),
        )
        .await;
    assert_success(&created);
    pay(&app, "3194B0007").await;
    let refund = |extra: Value| body(&app, "QRPAYDEFAULT", extended(bill.clone(), extra));

    let first = shop
        .call(&app, BILL_REFUND, &refund(json!({"refundAmount": 300})))
        .await;
    assert_success(&first);
    let generated = first["refundOrderId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        generated.starts_with(SRC) && (6..=32).contains(&generated.len()),
        "a generated refundOrderId starts with the source number: {first}"
    );
    let found = shop
        .call(
            &app,
            BILL_QUERY,
            &refund(json!({"refundOrderId": generated})),
        )
        .await;
    assert_eq!(found["refundBillPayment"]["totalAmount"], 300, "{found}");

    let before = refund_rows(&counter).await;
    let second = shop
        .refused_twice(
            &app,
            BILL_REFUND,
            &refund(json!({"refundAmount": 200})),
            "BAD_REQUEST",
        )
        .await;
    assert_error(
        &second,
        "BAD_REQUEST",
        "a further refund of a bill (after the first) needs its own refundOrderId",
    );
    assert_eq!(refund_rows(&counter).await, before, "nothing was written");

    let own = shop
        .call(
            &app,
            BILL_REFUND,
            &refund(json!({"refundAmount": 200, "refundOrderId": "3194R0002"})),
        )
        .await;
    assert_success(&own);
    assert_eq!(own["refundOrderId"], "3194R0002", "{own}");
    let id = admin_id(&app, "3194B0007").await;
    let (_, order) = app.get(&format!("/admin/v1/orders/{id}")).await;
    assert_eq!(order["refunded_amount"], 500, "{order}");
    app.stop().await;
}

async fn a_trade_refund_without_a_number_gets_one_only_the_first_time(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(&db).await;
    let shop = merchant(&app).await;
    let order = json!({"merOrderId": "3194M0007"});
    let created = shop
        .call(
            &app,
            UNIFIED_ORDER,
            &body(
                &app,
                "MINIDEFAULT",
                extended(
                    order.clone(),
                    json!({"totalAmount": 500, "tradeType": "MINI"}),
                ),
            ),
        )
        .await;
    assert_success(&created);
    pay(&app, "3194M0007").await;
    let request = |extra: Value| body(&app, "MINIDEFAULT", extended(order.clone(), extra));

    let first = shop
        .call(&app, REFUND, &request(json!({"refundAmount": 100})))
        .await;
    assert_success(&first);
    assert!(
        first["refundOrderId"]
            .as_str()
            .is_some_and(|id| id.starts_with(SRC)),
        "{first}"
    );
    let before = refund_rows(&counter).await;
    let second = shop
        .refused_twice(
            &app,
            REFUND,
            &request(json!({"refundAmount": 100})),
            "BAD_REQUEST",
        )
        .await;
    assert_error(
        &second,
        "BAD_REQUEST",
        "a further refund of an order (after the first) needs its own refundOrderId",
    );
    assert_eq!(refund_rows(&counter).await, before, "nothing was written");
    let own = shop
        .call(
            &app,
            REFUND,
            &request(json!({"refundAmount": 100, "refundOrderId": "3194R0009"})),
        )
        .await;
    assert_success(&own);
    let latest = shop.call(&app, REFUND_QUERY, &request(json!({}))).await;
    assert_eq!(latest["refundOrderId"], "3194R0009", "{latest}");
    app.stop().await;
}
