//! Refunds through the admin API: none of an unpaid or closed order, partial refunds add up
//! to the total and no further, refused ones change nothing, and six refunds at once
//! never pass the total. Each test runs against SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::payments::{
    assert_fields, assert_refused, assert_same_set, counts, create_merchant, create_order,
    move_order, msg_src_id, order_in, refund, show, Product, Setup, BILL, MID_A, TRADE,
};
use crate::common::platform::{at, Counter};
use crate::common::{TestApp, TestDb};
use ums_notify::clock::Clock;

both_backends!(
    refunds_are_limited_to_what_is_left_none_of_an_unpaid_or_closed_order,
    refunds_are_limited_to_what_is_left_refused_refunds_change_nothing,
    refunds_are_limited_to_what_is_left_the_rest_and_nothing_after_it,
    concurrent_refunds_never_exceed_the_total,
);

/// The app, a row counter, and the source number of merchant A (3194).
async fn with_merchant(db: &TestDb) -> (TestApp, Counter, String) {
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(db).await;
    let merchant = create_merchant(&app, MID_A, json!({"msg_src_id": "3194"})).await;
    let src = msg_src_id(&merchant);
    (app, counter, src)
}

/// A paid order of 1000 fen with two partial refunds, 300 under a generated number and
/// 250 under `{src}R0002`, checked as they are made; the order as it was paid.
async fn partly_refunded(app: &TestApp, product: Product, src: &str) -> Value {
    let order = order_in(app, product, Setup::Paid).await;
    let (status, first) = refund(app, &order, json!({"amount": 300})).await;
    assert_eq!(status, 201, "{first}");
    assert_fields(
        &first["order"],
        json!({"status": product.refunded(), "refunded_amount": 300, "refundable_amount": 700}),
    );
    assert_eq!(first["refund"]["amount"], 300);
    let generated = first["refund"]["refund_order_id"].as_str().unwrap();
    assert!(generated.starts_with(src), "{generated} starts with {src}");
    assert_eq!(first["notification_ids"].as_array().map(Vec::len), Some(1));

    let second = json!({"amount": 250, "refund_order_id": format!("{src}R0002")});
    let (status, second) = refund(app, &order, second).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(
        second["order"]["refunded_amount"], 550,
        "partial refunds add up"
    );
    assert_eq!(second["order"]["refundable_amount"], 450);
    order
}

async fn refunds_are_limited_to_what_is_left_none_of_an_unpaid_or_closed_order(db: TestDb) {
    let (app, counter, _) = with_merchant(&db).await;
    for product in [TRADE, BILL] {
        let unpaid = order_in(&app, product, Setup::Unpaid).await;
        let closed = order_in(&app, product, Setup::Closed).await;
        let before = counts(&counter).await;
        for (order, what) in [(&unpaid, "an unpaid order"), (&closed, "a closed order")] {
            let answer = refund(&app, order, json!({"amount": 1})).await;
            assert_refused(&answer, 409, "illegal_transition", &what);
        }
        assert_eq!(show(&app, unpaid["id"].as_i64().unwrap()).await, unpaid);
        assert_eq!(show(&app, closed["id"].as_i64().unwrap()).await, closed);
        assert_eq!(counts(&counter).await, before);
    }
}

/// Too much, a repeated refund order number (same amount or another): refused, nothing
/// refunded twice, no notice.
async fn refunds_are_limited_to_what_is_left_refused_refunds_change_nothing(db: TestDb) {
    let (app, counter, src) = with_merchant(&db).await;
    for product in [TRADE, BILL] {
        let order = partly_refunded(&app, product, &src).await;
        let id = order["id"].as_i64().unwrap();
        let partly = show(&app, id).await;
        let before = counts(&counter).await;
        let used = format!("{src}R0002");
        let (exceeds, duplicate) = ("refund_exceeds_amount", "duplicate_refund_order_id");
        let refused = [
            (json!({"amount": 451}), 409, exceeds),
            (json!({"amount": 100_000}), 409, exceeds),
            (
                json!({"amount": 250, "refund_order_id": used}),
                409,
                duplicate,
            ),
            (
                json!({"amount": 100, "refund_order_id": used}),
                409,
                duplicate,
            ),
            (json!({"amount": 0}), 422, "invalid_field"),
            (json!({"amount": -5}), 422, "invalid_field"),
            (json!({"amount": 1.5}), 422, "invalid_field"),
            (json!({"amount": "x"}), 422, "invalid_field"),
            (json!({}), 422, "invalid_field"),
            (
                json!({"amount": 1, "refund_order_id": "NOPE000001"}),
                422,
                "invalid_field",
            ),
            (json!({"amount": 1, "reason": "x"}), 422, "unknown_field"),
        ];
        for (body, status, code) in refused {
            let answer = refund(&app, &order, body.clone()).await;
            assert_refused(&answer, status, code, &format!("{} {body}", product.name));
        }
        assert_eq!(
            show(&app, id).await,
            partly,
            "the refused refunds changed the order"
        );
        assert_eq!(
            counts(&counter).await,
            before,
            "the refused refunds changed something"
        );
    }
}

async fn refunds_are_limited_to_what_is_left_the_rest_and_nothing_after_it(db: TestDb) {
    let (app, counter, src) = with_merchant(&db).await;
    for product in [TRADE, BILL] {
        let order = partly_refunded(&app, product, &src).await;
        let id = order["id"].as_i64().unwrap();
        let used = format!("{src}R0002");
        let duplicate = "duplicate_refund_order_id";
        let (status, last) = refund(&app, &order, json!({"amount": 450})).await;
        assert_eq!(status, 201, "exactly what is left: {last}");
        let done = &last["order"];
        assert_eq!(done["refunded_amount"], 1000);
        assert_eq!(done["refundable_amount"], 0);
        assert_same_set(&done["allowed_transitions"], &[]);
        let refunds = done["refunds"].as_array().unwrap();
        let amounts: Vec<i64> = refunds
            .iter()
            .map(|r| r["amount"].as_i64().unwrap())
            .collect();
        assert_eq!(amounts, [300, 250, 450], "oldest first");
        assert_eq!(refunds[1]["refund_order_id"], format!("{src}R0002"));
        let before = counts(&counter).await;
        let answer = refund(&app, &order, json!({"amount": 1})).await;
        assert_refused(
            &answer,
            409,
            "illegal_transition",
            &"a refund after the full one",
        );
        assert_eq!(move_order(&app, id, product.refunded()).await.0, 409);
        let again = json!({"amount": 250, "refund_order_id": used});
        let answer = refund(&app, &order, again).await;
        assert_refused(&answer, 409, duplicate, &"a repeat after the full refund");
        assert_eq!(counts(&counter).await, before);
        assert_eq!(show(&app, id).await["refunded_amount"], 1000);
    }
}

/// Six refunds at once, half of them "the rest": the refunded sum never passes the total,
/// and every refund that was answered 201 or 200 is on the order.
async fn concurrent_refunds_never_exceed_the_total(db: TestDb) {
    let app = db
        .spawn_with_clock(Clock::fixed(at("2024-07-01T00:00:00Z")), |_| {})
        .await;
    create_merchant(&app, MID_A, json!({})).await;
    let paid = create_order(&app, json!({"mid": MID_A, "total_amount": 600})).await;
    let paid_id = paid["id"].as_i64().unwrap();
    assert_eq!(move_order(&app, paid_id, "TRADE_SUCCESS").await.0, 200);
    let attempts = (0..6).map(|i| {
        let app = &app;
        let paid = &paid;
        async move {
            if i % 2 == 0 {
                refund(app, paid, json!({"amount": 150})).await
            } else {
                move_order(app, paid_id, "TRADE_REFUND").await
            }
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let done: i64 = answers
        .iter()
        .filter(|(status, _)| *status == 200 || *status == 201)
        .map(|(_, body)| body["refund"]["amount"].as_i64().unwrap())
        .sum();
    for (status, body) in &answers {
        assert!([200, 201, 409].contains(status), "{status}: {body}");
    }
    let after = show(&app, paid_id).await;
    assert_eq!(after["refunded_amount"], done, "{after}");
    assert!(done <= 600 && done > 0, "{done}");
    let listed: i64 = after["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(listed, done);
    app.stop().await;
}
