//! The admin side of netpay orders: merchants' payment settings (communication key,
//! signType, source number), creating orders of both products, every state transition
//! legal and illegal, refund limits, and listing. Every refused request is checked to
//! change nothing. The helpers at the end are shared with `payment_notices`. Each test
//! runs against SQLite and PostgreSQL.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::common::platform::{at, Counter, Counts};
use crate::common::{eventually, TestApp, TestDb};
use ums_notify::clock::Clock;
use ums_notify::db::Sql;

both_backends!(
    merchants_carry_payment_signing_settings,
    creating_orders_of_both_products,
    every_state_pair_follows_the_order_state_machine,
    unknown_state_names_and_bad_transition_requests_are_refused,
    refunds_are_limited_to_what_is_left,
    listing_filters_and_pages,
    a_status_filter_lists_only_orders_showing_that_status,
    expired_orders_cannot_be_paid_and_concurrent_refunds_never_exceed_the_total,
);

pub const MID_A: &str = "898310048161234";
pub const MID_B: &str = "898310048165678";
/// A notify URL nothing listens on, for tests that do not look at the notices.
const NOWHERE: &str = "http://127.0.0.1:1/n";
pub const WAIT: Duration = Duration::from_secs(15);

/// The products, and the wire names of their four states (unpaid, paid, refunded,
/// closed), written out independently of the crate.
pub const TRADE: Product = Product {
    name: "trade",
    states: [
        "WAIT_BUYER_PAY",
        "TRADE_SUCCESS",
        "TRADE_REFUND",
        "TRADE_CLOSED",
    ],
};
pub const BILL: Product = Product {
    name: "bill",
    states: ["UNPAID", "PAID", "REFUND", "CLOSED"],
};

#[derive(Debug, Clone, Copy)]
pub struct Product {
    pub name: &'static str,
    pub states: [&'static str; 4],
}

impl Product {
    pub fn unpaid(self) -> &'static str {
        self.states[0]
    }
    pub fn paid(self) -> &'static str {
        self.states[1]
    }
    pub fn refunded(self) -> &'static str {
        self.states[2]
    }
    pub fn closed(self) -> &'static str {
        self.states[3]
    }
}

async fn merchants_carry_payment_signing_settings(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(&db).await;

    let generated = create_merchant(&app, MID_A, json!({})).await;
    let key = generated["md5_key"].as_str().expect("md5_key is a string");
    assert_eq!(
        key.len(),
        32,
        "a generated md5_key has 32 characters: {key}"
    );
    assert!(key.bytes().all(|b| b.is_ascii_graphic()), "{key}");
    assert_ne!(generated["md5_key"], generated["app_key"], "two keys");
    assert_eq!(generated["sign_type"], "SHA256", "the default signType");
    let src = msg_src_id(&generated);
    assert!(
        src.len() == 4 && src.bytes().all(|b| b.is_ascii_alphanumeric()),
        "a generated msg_src_id is 4 letters or digits: {src:?}"
    );
    assert_eq!(generated["auto_pay_after"], Value::Null);
    let (status, shown) = app.get(&format!("/admin/v1/merchants/{MID_A}")).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(
        (&shown["md5_key"], &shown["sign_type"], &shown["msg_src_id"]),
        (
            &generated["md5_key"],
            &generated["sign_type"],
            &generated["msg_src_id"]
        ),
        "the merchant shows what it was created with"
    );

    let chosen_key = "my-own-Key_0123456789";
    let chosen = create_merchant(
        &app,
        MID_B,
        json!({"sign_type": "MD5", "md5_key": chosen_key, "msg_src_id": "31A4",
               "auto_pay_after": "90s"}),
    )
    .await;
    assert_eq!(chosen["sign_type"], "MD5");
    assert_eq!(chosen["md5_key"], chosen_key);
    assert_eq!(chosen["msg_src_id"], "31A4");
    assert_eq!(chosen["auto_pay_after"], "90s");
    assert_ne!(
        generated["md5_key"],
        create_merchant(&app, "898310048160003", json!({})).await["md5_key"],
        "generated keys are random"
    );

    let before = counter.counts().await;
    let fresh = "898310048160009";
    let bad = [
        (json!({"md5_key": "short12"}), "invalid_md5_key"),
        (json!({"md5_key": ""}), "invalid_md5_key"),
        (json!({"md5_key": "has a space inside"}), "invalid_md5_key"),
        (json!({"md5_key": "k".repeat(65)}), "invalid_md5_key"),
        (json!({"md5_key": "密钥密钥密钥密钥"}), "invalid_md5_key"),
        (json!({"sign_type": "RSA"}), "invalid_sign_type"),
        (json!({"sign_type": "SHA1"}), "invalid_sign_type"),
        (json!({"sign_type": ""}), "invalid_sign_type"),
        (json!({"msg_src_id": "123"}), "invalid_msg_src_id"),
        (json!({"msg_src_id": "12345"}), "invalid_msg_src_id"),
        (json!({"msg_src_id": "12-4"}), "invalid_msg_src_id"),
        (json!({"msg_src_id": ""}), "invalid_msg_src_id"),
        (json!({"msg_src_id": "一二三四"}), "invalid_msg_src_id"),
        (json!({"auto_pay_after": "soon"}), "invalid_auto_pay_after"),
    ];
    let base = json!({"mid": fresh, "name": "Refused", "notify_url": NOWHERE});
    for (extra, code) in bad {
        let body = with(&base, extra);
        let answer = app.post("/admin/v1/merchants", body.clone()).await;
        assert_refused(&answer, 422, code, &body);
    }
    assert_eq!(
        counter.counts().await,
        before,
        "no refused merchant was stored"
    );
    assert_eq!(
        app.get(&format!("/admin/v1/merchants/{fresh}")).await.0,
        404
    );
}

async fn creating_orders_of_both_products(db: TestDb) {
    // 00:30:00.250 on 1 July in China: still 30 June in UTC.
    let t0 = at("2024-06-30T16:30:00.250Z");
    let app = db.spawn_with_clock(Clock::fixed(t0), |_| {}).await;
    let counter = Counter::new(&db).await;
    let merchant = create_merchant(&app, MID_A, json!({})).await;
    let src = msg_src_id(&merchant);

    let trade = create_order(
        &app,
        json!({"mid": MID_A, "total_amount": 12345, "description": "一杯咖啡"}),
    )
    .await;
    // Trade is the default product; payable for 30 minutes by default; notified at the
    // merchant's URL; no simulated buyer.
    assert_fields(
        &trade,
        json!({"product": "trade", "mid": MID_A, "status": "WAIT_BUYER_PAY",
               "total_amount": 12345, "refunded_amount": 0, "refundable_amount": 0,
               "description": "一杯咖啡", "notify_url": NOWHERE, "inst_mid": "MINIDEFAULT",
               "tid": "88880001", "payment": null, "refunds": [], "closed_at": null,
               "pay_due_at": null, "created_at": "2024-06-30T16:30:00.250Z",
               "expires_at": "2024-06-30T17:00:00.250Z"}),
    );
    assert_same_set(
        &trade["allowed_transitions"],
        &["TRADE_SUCCESS", "TRADE_CLOSED"],
    );
    assert!(trade.get("bill_date").is_none(), "{trade}");
    // The source number, the China Standard Time to the millisecond, 7 digits.
    let no = trade["order_no"].as_str().unwrap();
    assert_eq!(no.len(), 28, "{no}");
    assert!(
        no.starts_with(&format!("{src}20240701003000250")),
        "{no} starts with the source number {src} and the time in China"
    );
    assert!(no[21..].bytes().all(|b| b.is_ascii_digit()), "{no}");
    let (status, shown) = app.get(&format!("/admin/v1/orders/{}", trade["id"])).await;
    assert_eq!((status, &shown), (200, &trade), "shown as created");

    let bill = create_order(
        &app,
        json!({"mid": MID_A, "total_amount": "500", "product": "bill",
               "notify_url": "https://shop.example/bills", "tid": "T0001",
               "expire_after": "2h"}),
    )
    .await;
    // A string of digits is read as an amount; the bill date is the date in China.
    assert_fields(
        &bill,
        json!({"product": "bill", "status": "UNPAID", "total_amount": 500,
               "notify_url": "https://shop.example/bills", "tid": "T0001",
               "inst_mid": "QRPAYDEFAULT", "bill_date": "2024-07-01",
               "expires_at": "2024-06-30T18:30:00.250Z"}),
    );
    assert_same_set(&bill["allowed_transitions"], &["PAID", "CLOSED"]);
    let bill_no = bill["order_no"].as_str().unwrap();
    assert!(
        bill_no.starts_with(&src) && bill_no.len() == 28,
        "{bill_no}"
    );
    let qr = bill["qr_code_id"]
        .as_str()
        .expect("a bill has a qr_code_id");
    assert!(qr.starts_with(&src), "{qr}");
    assert!(
        bill["bill_qr_code"].as_str().unwrap().contains(qr),
        "{bill}"
    );

    let given = format!("{src}ORDER-0001");
    let chosen = create_order(
        &app,
        json!({"mid": MID_A, "total_amount": 1, "order_no": given}),
    )
    .await;
    assert_eq!(chosen["order_no"], given.as_str());

    // The same number is refused for the merchant, whatever the product; another
    // merchant with the same source number may use it.
    let before = counts(&counter).await;
    let again = json!({"mid": MID_A, "total_amount": 2, "product": "bill", "order_no": given});
    let answer = app.post("/admin/v1/orders", again.clone()).await;
    assert_refused(&answer, 409, "duplicate_order_no", &again);
    assert_eq!(counts(&counter).await, before);
    create_merchant(&app, MID_B, json!({"msg_src_id": src})).await;
    let other = create_order(
        &app,
        json!({"mid": MID_B, "total_amount": 3, "order_no": given}),
    )
    .await;
    assert_eq!(
        (other["mid"].as_str(), other["order_no"].as_str()),
        (Some(MID_B), Some(given.as_str()))
    );

    let before = counts(&counter).await;
    let other_src = if src == "ZZZZ" { "YYYY" } else { "ZZZZ" };
    let unknown_mid = "898310048169999";
    let field = "invalid_field";
    // Each is {"mid": MID_A, "total_amount": 1} changed as given (null leaves a field out),
    // refused with 422, the code, and a message naming the last element.
    let bad = [
        (
            json!({"order_no": format!("{other_src}0001")}),
            field,
            src.as_str(),
        ),
        (json!({"order_no": format!("{src}X")}), field, "order_no"),
        (
            json!({"order_no": format!("{src}has space")}),
            field,
            "order_no",
        ),
        (json!({"mid": unknown_mid}), "unknown_merchant", unknown_mid),
        (json!({"mid": "12345"}), field, "mid"),
        (json!({"mid": null}), field, "mid"),
        (json!({"total_amount": null}), field, "total_amount"),
        (json!({"total_amount": 0}), field, "total_amount"),
        (json!({"total_amount": -1}), field, "total_amount"),
        (json!({"total_amount": 1.5}), field, "total_amount"),
        (json!({"total_amount": "abc"}), field, "total_amount"),
        (json!({"total_amount": "1.00"}), field, "total_amount"),
        (json!({"product": "card"}), field, "card"),
        (json!({"expire_after": "soon"}), field, "expire_after"),
        (json!({"expire_after": "0s"}), field, "expire_after"),
        (json!({"expire_after": "31d"}), field, "expire_after"),
        // Far beyond any date: refused, not an overflow.
        (
            json!({"expire_after": "1000000000000000s"}),
            field,
            "expire_after",
        ),
        (
            json!({"notify_url": "ftp://x/y"}),
            "invalid_notify_url",
            "notify_url",
        ),
        (json!({"status": "PAID"}), "unknown_field", "status"),
    ];
    let base = json!({"mid": MID_A, "total_amount": 1});
    for (change, code, named) in bad {
        let body = with(&base, change);
        let answer = app.post("/admin/v1/orders", body.clone()).await;
        assert_refused(&answer, 422, code, &body);
        let message = answer.1["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(named),
            "{body}: {message:?} should name {named}"
        );
    }
    assert_eq!(
        counts(&counter).await,
        before,
        "a refused order creates nothing"
    );
    assert_eq!(order_count(&app).await, 4);
    assert_eq!(app.get("/admin/v1/orders/999999").await.0, 404);
    assert_eq!(app.get("/admin/v1/orders/abc").await.0, 404);
}

/// What an order is set up as before a transition is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    Unpaid,
    Paid,
    PartlyRefunded,
    Refunded,
    Closed,
}

/// An order of merchant A of 1000 fen in the state `setup` names; checks it got there.
async fn order_in(app: &TestApp, product: Product, setup: Setup) -> Value {
    let order = create_order(
        app,
        json!({"mid": MID_A, "total_amount": 1000, "product": product.name}),
    )
    .await;
    let id = order["id"].as_i64().unwrap();
    let moves: &[&str] = match setup {
        Setup::Unpaid => &[],
        Setup::Paid | Setup::PartlyRefunded => &[product.paid()],
        Setup::Refunded => &[product.paid(), product.refunded()],
        Setup::Closed => &[product.closed()],
    };
    for to in moves {
        let (status, moved) = move_order(app, id, to).await;
        assert_eq!(status, 200, "setting up {setup:?}: {moved}");
    }
    if setup == Setup::PartlyRefunded {
        let (status, refunded) = app
            .post(
                &format!("/admin/v1/orders/{id}/refunds"),
                json!({"amount": 100}),
            )
            .await;
        assert_eq!(status, 201, "{refunded}");
    }
    let shown = show(app, id).await;
    let (status, allowed): (&str, &[&str]) = match setup {
        Setup::Unpaid => (product.unpaid(), &[product.paid(), product.closed()]),
        Setup::Paid => (product.paid(), &[product.refunded()]),
        Setup::PartlyRefunded => (product.refunded(), &[product.refunded()]),
        Setup::Refunded | Setup::Closed => (
            if setup == Setup::Refunded {
                product.refunded()
            } else {
                product.closed()
            },
            &[],
        ),
    };
    assert_eq!(shown["status"], status, "{setup:?}: {shown}");
    assert_same_set(&shown["allowed_transitions"], allowed);
    shown
}

async fn every_state_pair_follows_the_order_state_machine(db: TestDb) {
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
    for product in [TRADE, BILL] {
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

    // A channel given is kept.
    let (status, paid) = app
        .post(
            &format!("/admin/v1/orders/{}/transitions", trade["id"]),
            json!({"to": "TRADE_SUCCESS", "target_sys": "Alipay"}),
        )
        .await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["order"]["payment"]["target_sys"], "Alipay");
}

async fn refunds_are_limited_to_what_is_left(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(&db).await;
    let merchant = create_merchant(&app, MID_A, json!({"msg_src_id": "3194"})).await;
    let src = msg_src_id(&merchant);
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

        let order = order_in(&app, product, Setup::Paid).await;
        let id = order["id"].as_i64().unwrap();
        let (status, first) = refund(&app, &order, json!({"amount": 300})).await;
        assert_eq!(status, 201, "{first}");
        assert_fields(
            &first["order"],
            json!({"status": product.refunded(), "refunded_amount": 300, "refundable_amount": 700}),
        );
        assert_eq!(first["refund"]["amount"], 300);
        let generated = first["refund"]["refund_order_id"].as_str().unwrap();
        assert!(generated.starts_with(&src), "{generated} starts with {src}");
        assert_eq!(first["notification_ids"].as_array().map(Vec::len), Some(1));

        let second = json!({"amount": 250, "refund_order_id": format!("{src}R0002")});
        let (status, second) = refund(&app, &order, second).await;
        assert_eq!(status, 201, "{second}");
        assert_eq!(
            second["order"]["refunded_amount"], 550,
            "partial refunds add up"
        );
        assert_eq!(second["order"]["refundable_amount"], 450);
        let partly = show(&app, id).await;

        // Too much, a repeated refund order number (same amount or another): refused,
        // nothing refunded twice, no notice.
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

/// Seven orders: three trade and two bill orders of merchant A, two trade orders of
/// merchant B; the first paid, the fourth (a bill) paid, the sixth closed. Their ids.
async fn seven_orders(app: &TestApp) -> Vec<i64> {
    create_merchant(app, MID_A, json!({})).await;
    create_merchant(app, MID_B, json!({})).await;
    let mut ids = Vec::new();
    for (mid, product) in [
        (MID_A, TRADE),
        (MID_A, TRADE),
        (MID_A, TRADE),
        (MID_A, BILL),
        (MID_A, BILL),
        (MID_B, TRADE),
        (MID_B, TRADE),
    ] {
        let order = create_order(
            app,
            json!({"mid": mid, "total_amount": 100, "product": product.name}),
        )
        .await;
        ids.push(order["id"].as_i64().unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    assert_eq!(move_order(app, ids[0], "TRADE_SUCCESS").await.0, 200);
    assert_eq!(move_order(app, ids[3], "PAID").await.0, 200);
    assert_eq!(move_order(app, ids[5], "TRADE_CLOSED").await.0, 200);
    ids
}

/// Checks each listing query gives exactly the expected ids, newest first, and that every
/// order listed has the `mid`, `product` and `status` the query names.
async fn assert_listings(app: &TestApp, cases: Vec<(String, Vec<i64>)>) {
    for (query, expected) in cases {
        let query = query.as_str();
        let orders = list_all(app, query, 500).await;
        let got: Vec<i64> = orders.iter().map(|o| o["id"].as_i64().unwrap()).collect();
        for order in &orders {
            for name in ["mid", "product", "status"] {
                if let Some(wanted) = query_value(query, name) {
                    assert_eq!(
                        order[name], wanted,
                        "GET /admin/v1/orders{query} listed {order}"
                    );
                }
            }
            assert!(
                order.get("refunds").is_none(),
                "a listing leaves refunds out"
            );
        }
        assert_eq!(got, expected, "GET /admin/v1/orders{query}");
    }
}

async fn listing_filters_and_pages(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let ids = seven_orders(&app).await;
    let newest_first =
        |picked: &[usize]| -> Vec<i64> { picked.iter().rev().map(|&i| ids[i]).collect() };
    let cases: Vec<(String, Vec<i64>)> = vec![
        (String::new(), newest_first(&[0, 1, 2, 3, 4, 5, 6])),
        (format!("?mid={MID_A}"), newest_first(&[0, 1, 2, 3, 4])),
        (format!("?mid={MID_B}"), newest_first(&[5, 6])),
        ("?mid=898310048160000".into(), vec![]),
        ("?product=bill".into(), newest_first(&[3, 4])),
        (
            format!("?mid={MID_A}&product=trade"),
            newest_first(&[0, 1, 2]),
        ),
        (
            "?product=trade&status=TRADE_SUCCESS".into(),
            newest_first(&[0]),
        ),
        ("?product=bill&status=PAID".into(), newest_first(&[3])),
        ("?product=bill&status=UNPAID".into(), newest_first(&[4])),
        (
            format!("?mid={MID_A}&product=trade&status=WAIT_BUYER_PAY"),
            newest_first(&[1, 2]),
        ),
        (
            format!("?mid={MID_B}&product=trade&status=TRADE_CLOSED"),
            newest_first(&[5]),
        ),
    ];
    assert_listings(&app, cases).await;
    // Pages: newest first, no order twice, no cursor after the last.
    for (query, size, sizes, expected) in [
        (
            String::new(),
            3,
            vec![3, 3, 1],
            newest_first(&[0, 1, 2, 3, 4, 5, 6]),
        ),
        (
            format!("?mid={MID_A}"),
            2,
            vec![2, 2, 1],
            newest_first(&[0, 1, 2, 3, 4]),
        ),
    ] {
        let pages = list_pages(&app, &query, size).await;
        let got_sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(got_sizes, sizes, "{query} in pages of {size}");
        let ids: Vec<i64> = pages
            .iter()
            .flatten()
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, expected, "{query} in pages of {size}");
    }

    for query in [
        "?status=BOGUS",
        "?product=bill&status=TRADE_SUCCESS",
        "?product=card",
        "?limit=0",
        "?limit=501",
        "?cursor=abc",
        "?colour=red",
    ] {
        let (status, answer) = app.get(&format!("/admin/v1/orders{query}")).await;
        assert_eq!(status, 400, "{query}: {answer}");
    }
}

/// A status names one product's state: a status filter alone lists the orders showing
/// that status, of that product only.
async fn a_status_filter_lists_only_orders_showing_that_status(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let ids = seven_orders(&app).await;
    let newest_first =
        |picked: &[usize]| -> Vec<i64> { picked.iter().rev().map(|&i| ids[i]).collect() };
    let cases: Vec<(String, Vec<i64>)> = vec![
        ("?status=TRADE_SUCCESS".into(), newest_first(&[0])),
        ("?status=PAID".into(), newest_first(&[3])),
        ("?status=UNPAID".into(), newest_first(&[4])),
        ("?status=WAIT_BUYER_PAY".into(), newest_first(&[1, 2, 6])),
        ("?status=TRADE_CLOSED".into(), newest_first(&[5])),
        (
            format!("?mid={MID_A}&status=WAIT_BUYER_PAY"),
            newest_first(&[1, 2]),
        ),
    ];
    assert_listings(&app, cases).await;
}

/// The value of `name` in a query string such as `?mid=1&status=PAID`.
fn query_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

/// The pages a listing query gives with pages of `limit`, following its cursors.
async fn list_pages(app: &TestApp, query: &str, limit: u32) -> Vec<Vec<Value>> {
    let join = if query.is_empty() { '?' } else { '&' };
    let first = format!("/admin/v1/orders{query}{join}limit={limit}");
    let mut path = first.clone();
    let mut pages = Vec::new();
    for _ in 0..100 {
        let (status, page) = app.get(&path).await;
        assert_eq!(status, 200, "{path}: {page}");
        pages.push(page["orders"].as_array().expect("orders").clone());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{first}&cursor={cursor}"),
            None => return pages,
        }
    }
    panic!("{query}: more than 100 pages");
}

/// Every order a listing query gives.
async fn list_all(app: &TestApp, query: &str, limit: u32) -> Vec<Value> {
    list_pages(app, query, limit).await.concat()
}

// Helpers, shared with `payment_notices`.

/// Creates a merchant notified at nowhere (unless `extra` names a notify URL); returns
/// the admin API's view of it.
async fn expired_orders_cannot_be_paid_and_concurrent_refunds_never_exceed_the_total(db: TestDb) {
    let t0 = at("2024-07-01T00:00:00Z");
    let clock = Clock::fixed(t0);
    let app = db.spawn_with_clock(clock.clone(), |_| {}).await;
    let merchant = create_merchant(&app, MID_A, json!({})).await;
    // A new source number through PATCH: later orders take it.
    let patched = app
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/v1/merchants/{MID_A}"),
        )
        .json(&json!({"msg_src_id": "77AB"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
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

    // Six refunds at once, half of them "the rest": the refunded sum never passes the
    // total, and every refund that was answered 201 or 200 is on the order.
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

pub async fn create_merchant(app: &TestApp, mid: &str, extra: Value) -> Value {
    let mut body = json!({"mid": mid, "name": "测试商户", "notify_url": NOWHERE});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().expect("extra is an object").clone());
    let (status, created) = app.post("/admin/v1/merchants", body).await;
    assert_eq!(status, 201, "{created}");
    created
}

pub fn msg_src_id(merchant: &Value) -> String {
    merchant["msg_src_id"]
        .as_str()
        .expect("msg_src_id is a string")
        .to_owned()
}

pub async fn create_order(app: &TestApp, body: Value) -> Value {
    let (status, created) = app.post("/admin/v1/orders", body.clone()).await;
    assert_eq!(status, 201, "{body} was answered {created}");
    created
}

pub async fn move_order(app: &TestApp, id: i64, to: &str) -> (u16, Value) {
    app.post(
        &format!("/admin/v1/orders/{id}/transitions"),
        json!({"to": to}),
    )
    .await
}

pub async fn refund(app: &TestApp, order: &Value, body: Value) -> (u16, Value) {
    app.post(&format!("/admin/v1/orders/{}/refunds", order["id"]), body)
        .await
}

pub async fn show(app: &TestApp, id: i64) -> Value {
    let (status, order) = app.get(&format!("/admin/v1/orders/{id}")).await;
    assert_eq!(status, 200, "order {id}: {order}");
    order
}

/// Waits until the order has the status; returns it.
pub async fn wait_for_order(app: &TestApp, id: i64, status: &str) -> Value {
    let reached = eventually(WAIT, || async { show(app, id).await["status"] == status }).await;
    assert!(
        reached,
        "order {id} did not become {status} within {WAIT:?}; last seen: {}",
        show(app, id).await
    );
    show(app, id).await
}

pub async fn order_count(app: &TestApp) -> usize {
    list_all(app, "", 500).await.len()
}

pub fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a time: {value}")),
    )
    .expect("RFC 3339")
    .with_timezone(&Utc)
}

/// `base` with the fields of `change` set (null leaves a field out).
pub fn with(base: &Value, change: Value) -> Value {
    let mut body = base.clone();
    let fields = body.as_object_mut().expect("an object");
    for (name, value) in change.as_object().expect("an object") {
        if value.is_null() {
            fields.remove(name);
        } else {
            fields.insert(name.clone(), value.clone());
        }
    }
    body
}

/// Asserts `value` has the fields of `expected` (times compared to the millisecond).
#[track_caller]
pub fn assert_fields(value: &Value, expected: Value) {
    for (name, wanted) in expected.as_object().expect("an object") {
        assert_eq!(millis(&value[name]), millis(wanted), "`{name}` of {value}");
    }
}

/// Asserts an admin API answer is a refusal with this status and error code.
#[track_caller]
pub fn assert_refused(
    answer: &(u16, Value),
    status: u16,
    code: &str,
    what: &dyn std::fmt::Display,
) {
    assert_eq!(
        (answer.0, answer.1["error"]["code"].as_str()),
        (status, Some(code)),
        "{what} was answered {}",
        answer.1
    );
}

/// Asserts a JSON array holds exactly these strings, in any order.
pub fn assert_same_set(array: &Value, expected: &[&str]) {
    let mut got: Vec<&str> = array
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {array}"))
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect();
    let mut expected = expected.to_vec();
    got.sort_unstable();
    expected.sort_unstable();
    assert_eq!(got, expected, "{array}");
}

/// Rows of the tables an order request could change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderCounts {
    pub orders: i64,
    pub refunds: i64,
    pub notifications: i64,
    pub merchants: i64,
}

pub async fn counts(counter: &Counter) -> OrderCounts {
    let count = |table: &'static str| async move {
        let sql = Sql::new(format!("SELECT COUNT(*) FROM {table}"));
        let (n,): (i64,) = counter.database().read_one(&sql).await.expect("count rows");
        n
    };
    let Counts {
        merchants,
        notifications,
        ..
    } = counter.counts().await;
    OrderCounts {
        orders: count("orders").await,
        refunds: count("order_refunds").await,
        notifications,
        merchants,
    }
}

/// The JSON with every time cut to the millisecond, the precision times are stored with.
pub fn millis(value: &Value) -> Value {
    match value {
        Value::String(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(t) => {
                let t = t.with_timezone(&Utc);
                let cut = DateTime::<Utc>::from_timestamp_millis(t.timestamp_millis()).unwrap();
                Value::String(cut.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            }
            Err(_) => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(millis).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), millis(v))).collect())
        }
        other => other.clone(),
    }
}
