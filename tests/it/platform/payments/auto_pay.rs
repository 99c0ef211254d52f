//! The simulated buyer and the expiry of unpaid orders: a buyer pays on its own after the
//! merchant's delay (never twice, never an order paid by hand), unpaid orders close when
//! they expire, and an order that expires before its buyer would pay closes unpaid, even
//! when the worker looks late. Each test runs against SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::payment_notices::{
    assert_order_fields, assert_payment_fields, delivered, notices_of,
};
use crate::common::payments::{
    assert_same_set, create_merchant, create_order, pay, show, time, wait_for_order, Product, BILL,
    MID_A, TRADE, WAIT,
};
use crate::common::platform::at;
use crate::common::{eventually, Receiver, Reply, TestApp, TestDb};
use ums_notify::clock::Clock;

both_backends!(
    buyers_pay_on_their_own_after_the_merchant_delay,
    unpaid_orders_close_when_they_expire,
    an_order_expiring_before_its_buyer_pays_closes_unpaid,
);

/// A receiver that answers `SUCCESS`, and the app on a clock fixed at 10:00 on 1 July in
/// China, its worker looking for due payments and expiries every 20 ms.
async fn fixed_at_ten(db: &TestDb) -> (Receiver, TestApp, chrono::DateTime<chrono::Utc>) {
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let t0 = at("2024-07-01T02:00:00Z");
    let app = db
        .spawn_with_clock(Clock::fixed(t0), |s| {
            s.platform.consent_poll = std::time::Duration::from_millis(20);
        })
        .await;
    (receiver, app, t0)
}

async fn buyers_pay_on_their_own_after_the_merchant_delay(db: TestDb) {
    let (receiver, app, t0) = fixed_at_ten(&db).await;
    let merchant = create_merchant(
        &app,
        MID_A,
        json!({"notify_url": receiver.url("/n"), "auto_pay_after": "30s"}),
    )
    .await;
    assert_eq!(merchant["auto_pay_after"], "30s");
    let order = create_order(&app, json!({"mid": MID_A, "total_amount": 800})).await;
    let id = order["id"].as_i64().unwrap();
    assert_eq!(
        time(&order["pay_due_at"]),
        t0 + chrono::Duration::seconds(30)
    );
    // A sentinel that expires a second before the buyer pays: once it is closed, the
    // worker has looked for due payments at that time. Closed, it is never paid.
    let sentinel = create_order(
        &app,
        json!({"mid": MID_A, "total_amount": 1, "product": "bill", "expire_after": "29s"}),
    )
    .await;
    // An order paid by hand first is not paid again.
    let by_hand = create_order(&app, json!({"mid": MID_A, "total_amount": 2})).await;
    let paid = pay(&app, &by_hand, TRADE, "Alipay").await;
    delivered(
        &app,
        &receiver,
        &paid["notification_ids"][0],
        &paid["order"],
    )
    .await;
    assert_eq!(paid["order"]["pay_due_at"], Value::Null);

    app.clock.advance(chrono::Duration::seconds(29));
    wait_for_order(&app, sentinel["id"].as_i64().unwrap(), "CLOSED").await;
    let shown = show(&app, id).await;
    assert_eq!(
        shown["status"], "WAIT_BUYER_PAY",
        "not paid before its time"
    );
    let closing = notices_of(&app, &sentinel, 1).await;
    app.wait_for_status(closing[0]["id"].as_i64().unwrap(), "delivered", WAIT)
        .await;

    app.clock.advance(chrono::Duration::seconds(1));
    let shown = wait_for_order(&app, id, "TRADE_SUCCESS").await;
    assert_eq!(shown["payment"]["target_sys"], "WXPay", "{shown}");
    assert_eq!(
        time(&shown["payment"]["paid_at"]),
        t0 + chrono::Duration::seconds(30)
    );
    assert_eq!(shown["pay_due_at"], Value::Null);
    let sent = notices_of(&app, &shown, 1).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let notice = delivered(&app, &receiver, &sent[0]["id"], &shown).await;
    notice.verify(&merchant);
    assert_order_fields(&notice, &shown, TRADE, "TRADE_SUCCESS");
    assert_payment_fields(&notice, &shown, TRADE);

    // Well past every due time: the sentinel stays closed, nothing is paid twice.
    let later = create_order(
        &app,
        json!({"mid": MID_A, "total_amount": 3, "expire_after": "1m"}),
    )
    .await;
    app.clock.advance(chrono::Duration::seconds(60));
    wait_for_order(&app, later["id"].as_i64().unwrap(), "TRADE_SUCCESS").await;
    assert_eq!(
        show(&app, sentinel["id"].as_i64().unwrap()).await["status"],
        "CLOSED"
    );
    assert_eq!(
        show(&app, by_hand["id"].as_i64().unwrap()).await["payment"],
        paid["order"]["payment"]
    );
    assert_eq!(notices_of(&app, &by_hand, 1).await.len(), 1, "paid once");
    assert_eq!(notices_of(&app, &shown, 1).await.len(), 1, "paid once");
}

async fn unpaid_orders_close_when_they_expire(db: TestDb) {
    let (receiver, app, t0) = fixed_at_ten(&db).await;
    let merchant = create_merchant(
        &app,
        MID_A,
        json!({"notify_url": receiver.url("/n"), "sign_type": "MD5"}),
    )
    .await;
    let create = |product: Product, expire: &str| {
        create_order(
            &app,
            json!({"mid": MID_A, "product": product.name, "total_amount": 10,
                   "expire_after": expire}),
        )
    };
    let trade = create(TRADE, "10m").await;
    let bill = create(BILL, "10m").await;
    let paid = create(TRADE, "10m").await;
    let sentinel = create(TRADE, "9m").await;
    assert_eq!(
        time(&trade["expires_at"]),
        t0 + chrono::Duration::minutes(10)
    );
    let moved = pay(&app, &paid, TRADE, "WXPay").await;
    delivered(
        &app,
        &receiver,
        &moved["notification_ids"][0],
        &moved["order"],
    )
    .await;

    // The sentinel closes a minute early; the others are still open then.
    app.clock.advance(chrono::Duration::minutes(9));
    wait_for_order(&app, sentinel["id"].as_i64().unwrap(), "TRADE_CLOSED").await;
    assert_eq!(
        show(&app, trade["id"].as_i64().unwrap()).await["status"],
        "WAIT_BUYER_PAY"
    );
    assert_eq!(
        show(&app, bill["id"].as_i64().unwrap()).await["status"],
        "UNPAID"
    );
    let closing = notices_of(&app, &sentinel, 1).await;
    app.wait_for_status(closing[0]["id"].as_i64().unwrap(), "delivered", WAIT)
        .await;

    app.clock.advance(chrono::Duration::minutes(1));
    for (order, product) in [(&trade, TRADE), (&bill, BILL)] {
        let closed = wait_for_order(&app, order["id"].as_i64().unwrap(), product.closed()).await;
        assert_eq!(
            time(&closed["closed_at"]),
            t0 + chrono::Duration::minutes(10)
        );
        assert_same_set(&closed["allowed_transitions"], &[]);
        let sent = notices_of(&app, &closed, 1).await;
        assert_eq!(sent.len(), 1, "{sent:?}");
        let notice = delivered(&app, &receiver, &sent[0]["id"], &closed).await;
        notice.verify(&merchant);
        assert_order_fields(&notice, &closed, product, product.closed());
        assert_eq!(notice.get("billPayment"), None);
        assert_eq!(notice.get("targetSys"), None);
    }
    let still = show(&app, paid["id"].as_i64().unwrap()).await;
    assert_eq!(
        still["status"], "TRADE_SUCCESS",
        "a paid order does not expire"
    );
    assert_eq!(still["closed_at"], Value::Null);
    assert_eq!(
        notices_of(&app, &paid, 1).await.len(),
        1,
        "only its payment"
    );
}

/// A buyer who would pay after the order expired never pays it: the order closes, even
/// when the worker first looks after both times have passed (a clock jump here; a worker
/// that was stopped or slow in production).
async fn an_order_expiring_before_its_buyer_pays_closes_unpaid(db: TestDb) {
    let (receiver, app, _) = fixed_at_ten(&db).await;
    create_merchant(
        &app,
        MID_A,
        json!({"notify_url": receiver.url("/n"), "auto_pay_after": "30s"}),
    )
    .await;
    let order = create_order(
        &app,
        json!({"mid": MID_A, "total_amount": 10, "expire_after": "10s"}),
    )
    .await;
    let id = order["id"].as_i64().unwrap();
    assert!(
        time(&order["expires_at"]) < time(&order["pay_due_at"]),
        "{order}"
    );

    app.clock.advance(chrono::Duration::seconds(60));
    let moved = eventually(WAIT, || async {
        show(&app, id).await["status"] != "WAIT_BUYER_PAY"
    })
    .await;
    assert!(moved, "order {id} neither expired nor was paid");
    let settled = show(&app, id).await;
    assert_eq!(
        settled["status"], "TRADE_CLOSED",
        "the order expired 20s before its buyer would pay, but: {settled}"
    );
    assert_eq!(settled["payment"], Value::Null);
    let sent = notices_of(&app, &settled, 1).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let notice = delivered(&app, &receiver, &sent[0]["id"], &settled).await;
    assert_eq!(notice.field("status"), "TRADE_CLOSED");
}
