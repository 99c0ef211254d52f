//! Guarantee bills (`secureTransaction=true`) through the gateway, called by the client
//! written from the spec: a bill paid (admin API) is held (`secureStatus` UNCOMPLETED in
//! its notice and its query), completed in part (the rest refunded), then refunded as any
//! bill; another cancelled (all refunded) and another completed in full, their notices
//! sent only when the merchant asks for every change; a hold cancelled by itself 30 days
//! after its payment; and the flag read by the open-platform bills API too. The refusals
//! are in [`refusals`]. Each test runs on SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::gateway::{
    assert_refused, s, sign, test_merchant, Gateway, F, TEST_KEY, TEST_MID, TEST_SRC,
};
use crate::common::netpay::{self, BILL_QUERY, GET_QRCODE};
use crate::common::payment_notices::Notice;
use crate::common::payments::{order_count, show, wait_for_order, NOWHERE, WAIT};
use crate::common::receiver::{Receiver, Reply};
use crate::common::{TestApp, TestDb};

both_backends!(
    a_guarantee_bill_is_completed_in_part_and_the_rest_refunded,
    a_guarantee_is_cancelled_or_completed_in_full,
    a_hold_is_cancelled_30_days_after_its_payment,
    the_open_platform_bills_api_reads_the_flag,
);

mod refusals;

fn today(app: &TestApp) -> String {
    (app.clock.now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string()
}

fn bill(no: &str, date: &str) -> Vec<(&'static str, F)> {
    vec![("billNo", s(no)), ("billDate", s(date))]
}

/// What a refused call must leave as it was: the orders and the outbox.
use crate::common::gateway::written;

/// The console's page of order `id`.
async fn console_page(app: &TestApp, id: i64) -> String {
    let response = app
        .http
        .get(app.url(&format!("/console/orders/{id}")))
        .send()
        .await
        .expect("the console answers");
    assert_eq!(response.status(), 200);
    response.text().await.expect("a page")
}

/// Which changes of the test merchant's orders send a notice: `product` or `all`.
async fn notices(app: &TestApp, payment_notices: &str) {
    let (status, patched) = app
        .patch(
            &format!("/admin/v1/merchants/{TEST_MID}"),
            json!({ "payment_notices": payment_notices }),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
}

/// Creates bill `no` of 10 yuan through the gateway, a guarantee bill when `secure`;
/// its admin id.
async fn create(gw: &Gateway, app: &TestApp, no: &str, secure: bool) -> i64 {
    let mut fields = bill(no, &today(app));
    fields.push(("totalAmount", s("1000")));
    if secure {
        fields.push(("secureTransaction", s("true")));
    }
    let created = gw.call(app, "bills.getQRCode", TEST_MID, fields).await;
    assert_eq!(created["errCode"], "SUCCESS", "{created}");
    netpay_admin_id(app, no).await
}

async fn netpay_admin_id(app: &TestApp, no: &str) -> i64 {
    let (status, list) = app.get(&format!("/admin/v1/orders?mid={TEST_MID}")).await;
    assert_eq!(status, 200, "{list}");
    list["orders"]
        .as_array()
        .and_then(|orders| orders.iter().find(|o| o["order_no"] == no))
        .and_then(|o| o["id"].as_i64())
        .unwrap_or_else(|| panic!("no bill {no} in {list}"))
}

/// Pays order `id` through the admin API, as the buyer.
async fn pay(app: &TestApp, id: i64) {
    let (status, paid) = app
        .post(
            &format!("/admin/v1/orders/{id}/transitions"),
            json!({"to": "PAID"}),
        )
        .await;
    assert_eq!(status, 200, "{paid}");
}

async fn query(gw: &Gateway, app: &TestApp, no: &str) -> Value {
    let answer = gw
        .call(app, "bills.query", TEST_MID, bill(no, &today(app)))
        .await;
    assert_eq!(answer["errCode"], "SUCCESS", "{answer}");
    answer
}

/// `secureComplete` of `amount` fen, or `secureCancel` without one, of `mer_order_id`.
async fn settle(gw: &Gateway, app: &TestApp, mer_order_id: &str, amount: Option<&str>) -> Value {
    let mut fields = vec![("merOrderId", s(mer_order_id))];
    let msg_type = match amount {
        Some(amount) => {
            fields.push(("completedAmount", s(amount)));
            "secureComplete"
        }
        None => "secureCancel",
    };
    gw.call(app, msg_type, TEST_MID, fields).await
}

async fn a_guarantee_bill_is_completed_in_part_and_the_rest_refunded(db: TestDb) {
    // No admin token: the console's pages open without signing in, on loopback.
    let app = db.spawn(|s| s.admin_token = None).await;
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    test_merchant(&app, &receiver.url("/notify")).await;
    notices(&app, "product").await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let no = "3194202612035001";
    let id = create(&gw, &app, no, true).await;

    let unpaid = query(&gw, &app, no).await;
    assert_eq!(unpaid["billStatus"], "UNPAID");
    assert!(
        unpaid.get("secureStatus").is_none(),
        "nothing held: {unpaid}"
    );
    assert!(show(&app, id).await["guarantee"]["secure_status"].is_null());

    pay(&app, id).await;
    let got = receiver.wait_for(1, WAIT).await;
    let notice = Notice::parse(&got[0].path, &got[0].headers, &got[0].body);
    assert_eq!(notice.field("billStatus"), "PAID");
    assert_eq!(notice.field("secureStatus"), "UNCOMPLETED");
    assert_eq!(notice.field("completeAmount"), "0");
    assert_eq!(sign(&notice.fields, TEST_KEY, "MD5"), notice.field("sign"));

    let held = query(&gw, &app, no).await;
    assert_eq!(held["billStatus"], "PAID", "{held}");
    assert_eq!(held["secureStatus"], "UNCOMPLETED");
    assert_eq!(held["completeAmount"], 0);
    let mer_order_id = held["billPayment"]["merOrderId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(mer_order_id, format!("{no}0"));
    let shown = show(&app, id).await;
    assert_eq!(
        shown["guarantee"]["secure_status"], "UNCOMPLETED",
        "{shown}"
    );
    assert!(shown["guarantee"]["cancels_at"].is_string(), "{shown}");
    assert_eq!(
        shown["refundable_amount"], 0,
        "not refunded directly: {shown}"
    );
    assert_eq!(shown["allowed_transitions"], json!([]), "{shown}");
    let page = console_page(&app, id).await;
    let at = page.find("<dt>Guarantee</dt>");
    let guarantee = &page[at.unwrap_or_else(|| panic!("the hold is shown: {page}"))..];
    assert!(guarantee.contains(">UNCOMPLETED<"), "{page}");
    assert!(guarantee.contains("cancelled by itself at"), "{page}");
    assert!(
        !page.contains("Refund part of it"),
        "no refund form: {page}"
    );

    let outbox = app.stored_total().await;
    let completed = settle(&gw, &app, &mer_order_id, Some("600")).await;
    assert_eq!(completed["errCode"], "SUCCESS", "{completed}");
    for (field, value) in [
        ("merOrderId", json!(mer_order_id)),
        ("secureStatus", json!("PARTLY_COMPLETED")),
        ("completedAmount", json!(600)),
        ("totalAmount", json!(1000)),
        ("msgType", json!("secureComplete")),
        ("mid", json!(TEST_MID)),
    ] {
        assert_eq!(completed[field], value, "{field}: {completed}");
    }
    assert_eq!(
        app.stored_total().await,
        outbox,
        "under `product` a bill notifies its payment alone"
    );

    let queried = query(&gw, &app, no).await;
    assert_eq!(
        queried["billStatus"], "REFUND",
        "the rest went back: {queried}"
    );
    assert_eq!(queried["secureStatus"], "PARTLY_COMPLETED");
    assert_eq!(queried["completeAmount"], 600);
    let shown = show(&app, id).await;
    assert_eq!(shown["refunded_amount"], 400, "{shown}");
    assert_eq!(shown["refunds"][0]["amount"], 400, "{shown}");
    assert_eq!(shown["guarantee"]["completed_amount"], 600);
    assert!(shown["guarantee"]["cancels_at"].is_null(), "{shown}");
    let page = console_page(&app, id).await;
    assert!(page.contains(">PARTLY_COMPLETED<"), "{page}");
    assert!(page.contains("completed 6.00 yuan"), "{page}");

    for again in [Some("1"), None] {
        let answer = settle(&gw, &app, &mer_order_id, again).await;
        assert_refused(&answer, "OPERATION_NOT_ALLOWED", "PARTLY_COMPLETED");
    }
    // Completed, what was completed is refunded as any bill's payment.
    let mut refund = bill(no, &today(&app));
    refund.extend([
        ("refundOrderId", s("3194R2026120350")),
        ("refundAmount", s("600")),
    ]);
    let refunded = gw.call(&app, "bills.refund", TEST_MID, refund).await;
    assert_eq!(refunded["errCode"], "SUCCESS", "{refunded}");
    assert_eq!(show(&app, id).await["refunded_amount"], 1000);
    app.stop().await;
}

async fn a_guarantee_is_cancelled_or_completed_in_full(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    test_merchant(&app, &receiver.url("/notify")).await;
    notices(&app, "all").await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);

    let cancelled = "3194202612035101";
    let id = create(&gw, &app, cancelled, true).await;
    pay(&app, id).await;
    let answer = settle(&gw, &app, &format!("{cancelled}0"), None).await;
    assert_eq!(answer["errCode"], "SUCCESS", "{answer}");
    assert_eq!(answer["secureStatus"], "CANCELED");
    assert_eq!(answer["completedAmount"], 0);
    assert_eq!(answer["totalAmount"], 1000);
    let got = receiver.wait_for(2, WAIT).await;
    let notice = Notice::parse(&got[1].path, &got[1].headers, &got[1].body);
    assert_eq!(notice.field("billStatus"), "REFUND");
    assert_eq!(notice.field("secureStatus"), "CANCELED");
    assert_eq!(notice.field("completeAmount"), "0");
    assert_eq!(notice.field("refundAmount"), "1000");
    let queried = query(&gw, &app, cancelled).await;
    assert_eq!(queried["secureStatus"], "CANCELED", "{queried}");
    assert_eq!(queried["completeAmount"], 0);
    assert_eq!(show(&app, id).await["refunded_amount"], 1000);
    let twice = settle(&gw, &app, &format!("{cancelled}0"), None).await;
    assert_refused(&twice, "OPERATION_NOT_ALLOWED", "CANCELED");

    let whole = "3194202612035102";
    let id = create(&gw, &app, whole, true).await;
    pay(&app, id).await;
    let answer = settle(&gw, &app, &format!("{whole}0"), Some("1000")).await;
    assert_eq!(answer["secureStatus"], "ALL_COMPLETED", "{answer}");
    assert_eq!(answer["completedAmount"], 1000);
    let got = receiver.wait_for(4, WAIT).await;
    let notice = Notice::parse(&got[3].path, &got[3].headers, &got[3].body);
    assert_eq!(notice.field("billStatus"), "PAID");
    assert_eq!(notice.field("secureStatus"), "ALL_COMPLETED");
    assert_eq!(notice.field("completeAmount"), "1000");
    assert_eq!(notice.get("refundAmount"), None, "nothing went back");
    let queried = query(&gw, &app, whole).await;
    assert_eq!(queried["billStatus"], "PAID", "{queried}");
    assert_eq!(queried["completeAmount"], 1000);
    let shown = show(&app, id).await;
    assert_eq!(shown["refunded_amount"], 0, "{shown}");
    assert_eq!(
        shown["refundable_amount"], 1000,
        "settled: refundable: {shown}"
    );
    let later = settle(&gw, &app, &format!("{whole}0"), None).await;
    assert_refused(&later, "OPERATION_NOT_ALLOWED", "ALL_COMPLETED");
    app.stop().await;
}

async fn a_hold_is_cancelled_30_days_after_its_payment(db: TestDb) {
    let app = db
        .spawn(|s| s.platform.consent_poll = std::time::Duration::from_millis(20))
        .await;
    test_merchant(&app, NOWHERE).await;
    notices(&app, "product").await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let no = "3194202612035201";
    let date = today(&app);
    let id = create(&gw, &app, no, true).await;
    pay(&app, id).await;
    let outbox = app.stored_total().await;
    app.clock
        .advance(chrono::Duration::days(30) - chrono::Duration::minutes(1));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let shown = show(&app, id).await;
    assert_eq!(
        shown["guarantee"]["secure_status"], "UNCOMPLETED",
        "{shown}"
    );

    app.clock.advance(chrono::Duration::minutes(1));
    let shown = wait_for_order(&app, id, "REFUND").await;
    assert_eq!(shown["guarantee"]["secure_status"], "CANCELED", "{shown}");
    assert_eq!(shown["refunded_amount"], 1000);
    assert_eq!(
        app.stored_total().await,
        outbox,
        "no notice under `product`"
    );
    let queried = gw
        .call(&app, "bills.query", TEST_MID, bill(no, &date))
        .await;
    assert_eq!(queried["secureStatus"], "CANCELED", "{queried}");
    app.stop().await;
}

async fn the_open_platform_bills_api_reads_the_flag(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let shop = netpay::merchant(&app).await;
    let date = app.clock.now().format("%Y-%m-%d").to_string();
    let fields = |no: &str, flag: Value| {
        netpay::body(
            &app,
            "QRPAYDEFAULT",
            json!({"billNo": no, "billDate": date, "totalAmount": 500, "secureTransaction": flag}),
        )
    };
    let created = shop
        .call(&app, GET_QRCODE, &fields("3194G0001", json!("true")))
        .await;
    netpay::assert_success(&created);
    let id = netpay::admin_id(&app, "3194G0001").await;
    pay(&app, id).await;
    let queried = shop
        .call(
            &app,
            BILL_QUERY,
            &netpay::body(
                &app,
                "QRPAYDEFAULT",
                json!({"billNo": "3194G0001", "billDate": date}),
            ),
        )
        .await;
    assert_eq!(queried["secureStatus"], "UNCOMPLETED", "{queried}");
    assert_eq!(queried["completeAmount"], 0);

    let plain = shop
        .call(&app, GET_QRCODE, &fields("3194G0002", json!("false")))
        .await;
    netpay::assert_success(&plain);
    let id = netpay::admin_id(&app, "3194G0002").await;
    assert!(show(&app, id).await.get("guarantee").is_none());
    let before = order_count(&app).await;
    let refused = shop
        .call(&app, GET_QRCODE, &fields("3194G0003", json!("TRUE")))
        .await;
    netpay::assert_error(&refused, "BAD_REQUEST", "secureTransaction");
    assert_eq!(order_count(&app).await, before);
    app.stop().await;
}
