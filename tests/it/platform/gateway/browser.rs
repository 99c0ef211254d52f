//! A buyer in a real browser (`common::browser`): opens a bill's `billQRCode`, pays on
//! the sandbox's bill page, and "return to merchant" lands on the merchant's `returnUrl`
//! with the signed result, which a verifier written from the spec accepts. Saves a
//! screenshot of each page. SQLite only: the backends are covered by `front`.

use std::time::Duration;

use crate::common::browser::Browser;
use crate::common::gateway::{
    s, sign, test_merchant, today, Gateway, TEST_KEY, TEST_MID, TEST_SRC,
};
use crate::common::payments::WAIT;
use crate::common::{eventually, Backend, Receiver, Reply, TestDb};

#[tokio::test]
async fn a_buyer_pays_a_bill_in_a_browser_and_returns_to_the_merchant() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let db = TestDb::new(Backend::Sqlite).await.expect("SQLite");
    let app = db.spawn(|_| {}).await;
    let shop = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    test_merchant(&app, &shop.url("/notify")).await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let return_url = shop.url("/paid?table=12");
    let created = gw
        .call(
            &app,
            "bills.getQRCode",
            TEST_MID,
            vec![
                ("billNo", s("3194202612036001")),
                ("billDate", s(today(&app))),
                ("totalAmount", s("2500")),
                ("billDesc", s("电影票 两张")),
                ("returnUrl", s(&return_url)),
            ],
        )
        .await;
    assert_eq!(created["errCode"], "SUCCESS", "{created}");
    let code_url = created["billQRCode"].as_str().unwrap();

    browser.client.goto(code_url).await.expect("the bill page");
    assert!(browser.shows("¥25.00").await, "{}", browser.page().await);
    assert!(browser.page().await.contains("电影票 两张"));
    browser.shot("bill-01-unpaid").await;
    browser.click("#pay-WXPay").await;
    assert!(
        browser.shows("Paid with WeChat Pay").await,
        "{}",
        browser.page().await
    );
    browser.shot("bill-02-paid").await;
    browser.click("#return").await;
    let arrived = eventually(Duration::from_secs(10), || async {
        browser
            .client
            .current_url()
            .await
            .is_ok_and(|url| url.as_str().starts_with(&return_url))
    })
    .await;
    let landed = browser.client.current_url().await.unwrap();
    assert!(arrived, "at the merchant's returnUrl: {landed}");
    browser.shot("bill-03-back-at-the-merchant").await;
    let result: Vec<(String, String)> = landed.query_pairs().into_owned().collect();
    let get = |name: &str| {
        result
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("table"), Some("12"), "{result:?}");
    assert_eq!(get("billStatus"), Some("PAID"), "{result:?}");
    assert_eq!(get("billDesc"), Some("电影票 两张"), "{result:?}");
    let given = get("sign").unwrap_or_default();
    assert!(
        sign(&result, TEST_KEY, "MD5").eq_ignore_ascii_case(given),
        "the result verifies: {result:?}"
    );
    shop.wait_for(2, WAIT).await;
    let paths: Vec<String> = shop.received().into_iter().map(|r| r.path).collect();
    assert!(
        paths.contains(&"/notify".to_owned()) && paths.contains(&"/paid".to_owned()),
        "the notice and the browser each reached the shop: {paths:?}"
    );
    browser.stop().await;
    app.stop().await;
}
