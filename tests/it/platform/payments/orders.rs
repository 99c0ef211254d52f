//! Creating orders of both products through the admin API: a trade order's defaults and
//! its number (the merchant's source number and the time in China), a bill's date and QR
//! code, chosen numbers and their duplicates, and every malformed order refused without
//! creating anything. Each test runs against SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::payments::{
    assert_fields, assert_refused, assert_same_set, counts, create_merchant, create_order,
    msg_src_id, order_count, with, MID_A, MID_B, NOWHERE,
};
use crate::common::platform::{at, Counter};
use crate::common::{TestApp, TestDb};
use ums_notify::clock::Clock;

both_backends!(
    creating_orders_of_both_products_a_trade_order,
    creating_orders_of_both_products_a_bill,
    creating_orders_of_both_products_chosen_numbers_and_refusals,
);

/// Merchant A, and its first orders: a trade order with the defaults and a bill, created
/// at 00:30:00.250 on 1 July in China (still 30 June in UTC). The app, a row counter, the
/// merchant's source number, the trade order and the bill.
async fn trade_and_bill(db: &TestDb) -> (TestApp, Counter, String, Value, Value) {
    let t0 = at("2024-06-30T16:30:00.250Z");
    let app = db.spawn_with_clock(Clock::fixed(t0), |_| {}).await;
    let counter = Counter::new(db).await;
    let merchant = create_merchant(&app, MID_A, json!({})).await;
    let src = msg_src_id(&merchant);

    let trade = create_order(
        &app,
        json!({"mid": MID_A, "total_amount": 12345, "description": "一杯咖啡"}),
    )
    .await;
    let bill = create_order(
        &app,
        json!({"mid": MID_A, "total_amount": "500", "product": "bill",
               "notify_url": "https://shop.example/bills", "tid": "T0001",
               "expire_after": "2h"}),
    )
    .await;
    (app, counter, src, trade, bill)
}

async fn creating_orders_of_both_products_a_trade_order(db: TestDb) {
    let (app, _, src, trade, _) = trade_and_bill(&db).await;
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
}

async fn creating_orders_of_both_products_a_bill(db: TestDb) {
    let (_, _, src, _, bill) = trade_and_bill(&db).await;
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
}

async fn creating_orders_of_both_products_chosen_numbers_and_refusals(db: TestDb) {
    let (app, counter, src, _, _) = trade_and_bill(&db).await;
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
