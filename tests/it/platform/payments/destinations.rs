//! A payment-result notice goes to every address configured (netpay spec §13): the
//! order's own `notifyUrl` and the merchant's notify URL, each its own notification with
//! its own tries and the same bytes. An order without its own follows the merchant's
//! current URL. Each test runs against SQLite and PostgreSQL.

use serde_json::json;

use crate::common::payments::{create_merchant, create_order, pay, MID_A, TRADE, WAIT};
use crate::common::{Receiver, Reply, TestDb};
use ums_notify::policy::RetrySchedule;

both_backends!(
    a_notice_goes_to_the_order_s_address_and_the_merchant_s,
    an_order_without_its_own_address_follows_the_merchant_s_current_one,
);

async fn a_notice_goes_to_the_order_s_address_and_the_merchant_s(db: TestDb) {
    let merchant_side = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let order_side = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    // The order's own address fails once: its tries are its own.
    order_side.then([Reply::Status(503)]);
    let app = db
        .spawn(|s| {
            s.retry_schedule = RetrySchedule::parse("100ms").unwrap();
            // The console is read below without signing in.
            s.admin_token = None;
        })
        .await;
    create_merchant(
        &app,
        MID_A,
        json!({"notify_url": merchant_side.url("/merchant")}),
    )
    .await;
    let order = create_order(
        &app,
        json!({"mid": MID_A, "total_amount": 500, "notify_url": order_side.url("/order")}),
    )
    .await;
    assert_eq!(order["own_notify"], true, "{order}");
    let paid = pay(&app, &order, TRADE, "WXPay").await;
    let ids = paid["notification_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 2, "one notification per address: {paid}");
    let mut urls = Vec::new();
    let mut attempts = Vec::new();
    for id in ids {
        let done = app
            .wait_for_status(id.as_i64().unwrap(), "delivered", WAIT)
            .await;
        urls.push(done["url"].as_str().unwrap().to_owned());
        attempts.push(done["attempts"].as_i64().unwrap());
    }
    urls.sort();
    let mut expected = vec![merchant_side.url("/merchant"), order_side.url("/order")];
    expected.sort();
    assert_eq!(urls, expected);
    attempts.sort();
    assert_eq!(
        attempts,
        [1, 2],
        "the failing address was tried again alone"
    );
    let to_merchant = merchant_side.wait_for(1, WAIT).await;
    let to_order = order_side.wait_for(2, WAIT).await;
    assert_eq!(
        to_merchant[0].body, to_order[1].body,
        "one notice: the same bytes (and notifyId) to both"
    );

    // The console's order page names both addresses and lists a notice to each.
    let page = app
        .http
        .get(app.url(&format!("/console/orders/{}", order["id"])))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (url, whose) in [
        (order_side.url("/order"), "(the order's notifyUrl)"),
        (
            merchant_side.url("/merchant"),
            "(the merchant's notify URL)",
        ),
    ] {
        let at = page
            .find(&format!("{url} "))
            .unwrap_or_else(|| panic!("{url} on {page}"));
        assert!(
            page[at..].starts_with(&format!("{url} <span class=\"muted\">{whose}")),
            "{url}"
        );
        assert!(
            page.contains(&format!("<td class=\"mono\">{url}</td>")),
            "a notice row to {url}"
        );
    }

    // An order naming the merchant's own address gets one notification, not two.
    let same = create_order(
        &app,
        json!({"mid": MID_A, "total_amount": 500, "notify_url": merchant_side.url("/merchant")}),
    )
    .await;
    let paid = pay(&app, &same, TRADE, "WXPay").await;
    assert_eq!(
        paid["notification_ids"].as_array().unwrap().len(),
        1,
        "{paid}"
    );
    app.stop().await;
}

async fn an_order_without_its_own_address_follows_the_merchant_s_current_one(db: TestDb) {
    let old = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let new = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let app = db.spawn(|_| {}).await;
    create_merchant(&app, MID_A, json!({"notify_url": old.url("/old")})).await;
    let order = create_order(&app, json!({"mid": MID_A, "total_amount": 700})).await;
    assert_eq!(order["own_notify"], false, "{order}");
    assert_eq!(order["notify_url"], old.url("/old"));
    let (status, patched) = app
        .patch(
            &format!("/admin/v1/merchants/{MID_A}"),
            json!({"notify_url": new.url("/new")}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let paid = pay(&app, &order, TRADE, "Alipay").await;
    let ids = paid["notification_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 1, "{paid}");
    let done = app
        .wait_for_status(ids[0].as_i64().unwrap(), "delivered", WAIT)
        .await;
    assert_eq!(done["url"], new.url("/new"), "the merchant's address now");
    assert_eq!(old.count(), 0, "the address the merchant left gets nothing");
    app.stop().await;
}
