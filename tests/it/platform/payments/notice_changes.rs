//! Which order changes send a payment-result notice: by default as each product's
//! sources say (a QR bill its payment only; H5 and mini-program orders payment, refund
//! and close), or every change when the merchant asks for `"payment_notices": "all"`.
//! Each test runs against SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::payments::{
    create_merchant, create_order, move_order, pay, refund, Product, BILL, MID_A, TRADE,
};
use crate::common::TestDb;

both_backends!(
    each_product_notifies_what_its_sources_say_and_all_is_a_merchant_setting,
    the_console_s_merchant_settings_choose_which_changes_notify,
);

fn notified(answer: &Value) -> usize {
    answer["notification_ids"]
        .as_array()
        .unwrap_or_else(|| panic!("no notification_ids: {answer}"))
        .len()
}

/// The notices of pay, refund, and pay-less-close of `product`.
async fn counts(app: &crate::common::TestApp, product: Product) -> [usize; 3] {
    let body = json!({"mid": MID_A, "product": product.name, "total_amount": 300});
    let order = create_order(app, body.clone()).await;
    let paid = pay(app, &order, product, "WXPay").await;
    let (status, refunded) = refund(app, &order, json!({"amount": 300})).await;
    assert_eq!(status, 201, "{refunded}");
    let other = create_order(app, body).await;
    let (status, closed) = move_order(app, other["id"].as_i64().unwrap(), product.closed()).await;
    assert_eq!(status, 200, "{closed}");
    [notified(&paid), notified(&refunded), notified(&closed)]
}

async fn each_product_notifies_what_its_sources_say_and_all_is_a_merchant_setting(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let merchant = create_merchant(&app, MID_A, json!({"payment_notices": "product"})).await;
    assert_eq!(merchant["payment_notices"], "product");
    assert_eq!(
        counts(&app, BILL).await,
        [1, 0, 0],
        "a QR bill: its payment only"
    );
    assert_eq!(
        counts(&app, TRADE).await,
        [1, 1, 1],
        "a trade order: every change"
    );

    let path = format!("/admin/v1/merchants/{MID_A}");
    let (status, refused) = app.patch(&path, json!({"payment_notices": "some"})).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_payment_notices");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("\"product\"") && message.contains("\"some\""),
        "{message}"
    );
    let (_, unchanged) = app.get(&path).await;
    assert_eq!(
        unchanged["payment_notices"], "product",
        "a refused patch changes nothing"
    );

    let (status, patched) = app.patch(&path, json!({"payment_notices": "all"})).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        counts(&app, BILL).await,
        [1, 1, 1],
        "rehearsing every change"
    );
    app.stop().await;
}

async fn the_console_s_merchant_settings_choose_which_changes_notify(db: TestDb) {
    let app = db.spawn(|s| s.admin_token = None).await;
    create_merchant(&app, MID_A, json!({"payment_notices": "product"})).await;
    let page_url = app.url(&format!("/console/merchants/{MID_A}"));
    let page = app
        .http
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<option value=\"product\" selected>"),
        "the current choice is selected"
    );
    let at = page
        .find("name=\"form_token\" value=\"")
        .expect("a form token")
        + 25;
    let token = &page[at..at + page[at..].find('"').unwrap()];
    let response = app
        .http
        .post(&page_url)
        .header("origin", app.base.as_str())
        .form(&[
            ("form_token", token),
            ("notify_url", "http://127.0.0.1:9/n"),
            ("auto_consent_after", ""),
            ("extra_copies", "0"),
            ("payment_notices", "all"),
        ])
        .send()
        .await
        .unwrap();
    // Answered with a redirect back to the page, which the client follows.
    assert_eq!(response.status(), 200, "{}", response.url());
    let (_, merchant) = app.get(&format!("/admin/v1/merchants/{MID_A}")).await;
    assert_eq!(merchant["payment_notices"], "all", "{merchant}");
    app.stop().await;
}
