//! Order transitions through the admin API: every pair of states of both products follows
//! the documented state machine (a legal move answered with its notice, an illegal one
//! refused changing nothing), unknown state names and bad requests are refused, a channel
//! given is kept, and an expired order cannot be paid. Each test runs against SQLite and
//! PostgreSQL.

use serde_json::{json, Value};

use crate::common::payments::{
    assert_refused, assert_same_set, counts, create_merchant, create_order, millis, move_order,
    msg_src_id, order_in, show, Product, Setup, BILL, MID_A, TRADE,
};
use crate::common::platform::{at, Counter};
use crate::common::TestDb;
use ums_notify::clock::Clock;

both_backends!(
    every_state_pair_follows_the_order_state_machine_of_trade_orders,
    every_state_pair_follows_the_order_state_machine_of_bills,
    unknown_state_names_and_bad_transition_requests_are_refused,
    unknown_state_names_and_bad_transition_requests_are_refused_but_a_channel_given_is_kept,
    expired_orders_cannot_be_paid,
);

async fn every_state_pair_follows_the_order_state_machine_of_trade_orders(db: TestDb) {
    every_state_pair_follows_the_order_state_machine(db, TRADE).await;
}

async fn every_state_pair_follows_the_order_state_machine_of_bills(db: TestDb) {
    every_state_pair_follows_the_order_state_machine(db, BILL).await;
}

/// Every state an order of `product` can be set up in, moved to each of its states.
async fn every_state_pair_follows_the_order_state_machine(db: TestDb, product: Product) {
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(&db).await;
    create_merchant(&app, MID_A, json!({})).await;
    let setups = [
        Setup::Unpaid,
        Setup::Paid,
        Setup::PartlyRefunded,
        Setup::Refunded,
        Setup::Closed,
    ];
    // The documented machine: pay or close an unpaid order, refund a paid one (again
    // while some of it is left). Nothing leaves CLOSED; nothing returns to unpaid.
    let legal = |setup: Setup, to: &str| {
        matches!(
            (setup, to),
            (Setup::Unpaid, t) if t == product.paid() || t == product.closed()
        ) || matches!(
            (setup, to),
            (Setup::Paid | Setup::PartlyRefunded, t) if t == product.refunded()
        )
    };
    for setup in setups {
        for to in product.states {
            let order = order_in(&app, product, setup).await;
            let id = order["id"].as_i64().unwrap();
            let before = counts(&counter).await;
            let (status, answer) = move_order(&app, id, to).await;
            let what = format!("{} {setup:?} -> {to}", product.name);
            if !legal(setup, to) {
                assert_refused(&(status, answer), 409, "illegal_transition", &what);
                assert_eq!(show(&app, id).await, order, "{what} changed the order");
                assert_eq!(counts(&counter).await, before, "{what} changed something");
                continue;
            }
            assert_eq!(status, 200, "{what}: {answer}");
            let moved = &answer["order"];
            assert_eq!(moved["status"], to, "{what}: {answer}");
            assert_eq!(
                answer["notification_ids"].as_array().map(Vec::len),
                Some(1),
                "{what}"
            );
            assert_eq!(
                millis(&show(&app, id).await),
                millis(moved),
                "{what}: shown as answered (to the millisecond it is stored with)"
            );
            if to == product.paid() {
                assert_eq!(
                    moved["payment"]["target_sys"], "WXPay",
                    "the default channel"
                );
                assert!(moved["payment"]["target_order_id"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()));
                assert_eq!(moved["refundable_amount"], 1000);
                assert_same_set(&moved["allowed_transitions"], &[product.refunded()]);
            } else if to == product.closed() {
                assert!(moved["closed_at"].is_string(), "{what}: {moved}");
                assert_eq!(moved["payment"], Value::Null);
                assert_same_set(&moved["allowed_transitions"], &[]);
            } else {
                // A refund transition refunds whatever is left.
                assert_eq!(moved["refunded_amount"], 1000, "{what}: {moved}");
                assert_eq!(moved["refundable_amount"], 0);
                assert_same_set(&moved["allowed_transitions"], &[]);
                let left = order["refundable_amount"].as_i64().unwrap();
                assert_eq!(answer["refund"]["amount"], left, "{what}: {answer}");
                assert_eq!(moved["payment"], order["payment"], "the payment is kept");
            }
            let after = counts(&counter).await;
            assert_eq!(
                after.notifications,
                before.notifications + 1,
                "{what}: one notice"
            );
        }
    }
}

async fn unknown_state_names_and_bad_transition_requests_are_refused(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(&db).await;
    create_merchant(&app, MID_A, json!({})).await;
    let bill = order_in(&app, BILL, Setup::Unpaid).await;
    let trade = order_in(&app, TRADE, Setup::Unpaid).await;
    let before = counts(&counter).await;
    let state = "invalid_state";
    let cases = [
        (&bill, json!({"to": "TRADE_SUCCESS"}), state),
        (&bill, json!({"to": "TRADE_CLOSED"}), state),
        (&bill, json!({"to": "paid"}), state),
        (&bill, json!({"to": "REFUNDED"}), state),
        (&bill, json!({"to": ""}), state),
        (&trade, json!({"to": "PAID"}), state),
        (&trade, json!({"to": "CLOSED"}), state),
        (&trade, json!({"to": "UNPAID"}), state),
        (
            &trade,
            json!({"to": "TRADE_SUCCESS", "target_sys": "Bitcoin"}),
            "invalid_target_sys",
        ),
        (
            &trade,
            json!({"to": "TRADE_SUCCESS", "amount": 1}),
            "unknown_field",
        ),
        (&trade, json!({}), "invalid_request"),
    ];
    for (order, body, code) in cases {
        let id = order["id"].as_i64().unwrap();
        let path = format!("/admin/v1/orders/{id}/transitions");
        let answer = app.post(&path, body.clone()).await;
        assert_refused(&answer, 422, code, &format!("{} {body}", order["product"]));
        assert_eq!(&show(&app, id).await, order, "{body} changed the order");
    }
    assert_eq!(
        counts(&counter).await,
        before,
        "a refused transition changes nothing"
    );
    let message = app
        .post(
            &format!("/admin/v1/orders/{}/transitions", bill["id"]),
            json!({"to": "TRADE_SUCCESS"}),
        )
        .await
        .1["error"]["message"]
        .to_string();
    assert!(
        message.contains("PAID"),
        "the valid bill states are named: {message}"
    );
    assert_eq!(move_order(&app, 999_999, "PAID").await.0, 404);
}

async fn unknown_state_names_and_bad_transition_requests_are_refused_but_a_channel_given_is_kept(
    db: TestDb,
) {
    let app = db.spawn(|_| {}).await;
    create_merchant(&app, MID_A, json!({})).await;
    let trade = order_in(&app, TRADE, Setup::Unpaid).await;
    let (status, paid) = app
        .post(
            &format!("/admin/v1/orders/{}/transitions", trade["id"]),
            json!({"to": "TRADE_SUCCESS", "target_sys": "Alipay"}),
        )
        .await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["order"]["payment"]["target_sys"], "Alipay");
}

async fn expired_orders_cannot_be_paid(db: TestDb) {
    let t0 = at("2024-07-01T00:00:00Z");
    let clock = Clock::fixed(t0);
    let app = db.spawn_with_clock(clock.clone(), |_| {}).await;
    let merchant = create_merchant(&app, MID_A, json!({})).await;
    // A new source number through PATCH: later orders take it.
    let (status, patched) = app
        .patch(
            &format!("/admin/v1/merchants/{MID_A}"),
            json!({"msg_src_id": "77AB"}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_ne!(msg_src_id(&merchant), "77AB");
    let order = create_order(
        &app,
        json!({"mid": MID_A, "total_amount": 600, "expire_after": "10m"}),
    )
    .await;
    assert!(order["order_no"].as_str().unwrap().starts_with("77AB"));
    let id = order["id"].as_i64().unwrap();
    clock.advance(chrono::Duration::minutes(10));
    let (status, refused) = move_order(&app, id, "TRADE_SUCCESS").await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{refused}"
    );
    assert_eq!(show(&app, id).await["status"], "WAIT_BUYER_PAY");
    app.stop().await;
}
