//! Fixed QR codes in the console over plain HTTP: the merchant page lists them, a code's
//! page shows its facts and plays the buyer with its "Scan and pay" form (an amount field
//! only when the buyer types it), the payment-element queries show like delivery tries
//! (a right answer with its amount, a wrong one with each problem, both bodies escaped),
//! a refusal is the admin API's message, and the bill a scan made links back to its
//! code. Each test runs on SQLite and PostgreSQL; the last step is also taken in a real
//! browser.

use reqwest::StatusCode;
use serde_json::Value;
use ums_notify::clock::Clock;

use crate::common::auth::t0;
use crate::common::browser::Browser;
use crate::common::console::{form_token, signed_in};
use crate::common::gateway::{
    s, signed_answer, test_merchant, Gateway, F, TEST_KEY, TEST_MID, TEST_SRC,
};
use crate::common::payments::{order_count, NOWHERE};
use crate::common::platform::cst;
use crate::common::{Backend, Receiver, Reply, TestApp, TestDb};

both_backends!(a_code_page_scans_and_shows_its_queries);

/// Makes a fixed code through the bill gateway with `extra` fields; its qrCodeId.
async fn make_code(app: &TestApp, extra: Vec<(&str, F)>) -> String {
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let made = gw.call(app, "bills.getQRCode", TEST_MID, extra).await;
    assert_eq!(made["errCode"], "SUCCESS", "{made}");
    made["qrCodeId"].as_str().unwrap().to_owned()
}

/// A page and the client that reads it, signed in.
struct Console<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    cookie: String,
}

impl Console<'_> {
    async fn page(&self, path: &str) -> String {
        let response = self
            .http
            .get(self.app.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.text().await.unwrap()
    }

    /// Posts the scan form of code `code` with `fields`; where it sends the browser.
    async fn scan(&self, code: &str, fields: &[(&str, &str)]) -> String {
        let response = self
            .http
            .post(self.app.url(&format!("/console/codes/{code}/scans")))
            .header("cookie", &self.cookie)
            .form(fields)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        response.headers()["location"].to_str().unwrap().to_owned()
    }
}

async fn a_code_page_scans_and_shows_its_queries(db: TestDb) {
    let app = db.spawn_with_clock(Clock::fixed(t0()), |_| {}).await;
    test_merchant(&app, NOWHERE).await;
    let merchant = Receiver::start(Reply::Status(500)).await;
    merchant.set_default(Reply::Body(
        200,
        signed_answer(
            &[
                ("errCode", "SUCCESS"),
                ("errMsg", "ok"),
                ("responseTimestamp", "2024-07-01 10:00:00"),
                ("totalAmount", "1234"),
                ("billDesc", "拿铁"),
            ],
            TEST_KEY,
        ),
    ));
    let query_addr = merchant.url("/pay-info");
    let asked = make_code(&app, vec![("payInfoQueryAddr", s(&query_addr))]).await;
    let priced = make_code(
        &app,
        vec![("totalAmount", s("500")), ("billDesc", s("固定码"))],
    )
    .await;
    let typed = make_code(&app, vec![]).await;
    let (http, cookie) = signed_in(&app).await;
    let console = Console {
        app: &app,
        http,
        cookie,
    };

    // The merchant page lists the three, each linked to its page.
    let html = console
        .page(&format!("/console/merchants/{TEST_MID}"))
        .await;
    for code in [&asked, &priced, &typed] {
        assert!(
            html.contains(&format!("href=\"/console/codes/{code}\"")),
            "{code} in {html}"
        );
    }

    // A code whose amount is asked: its facts, no amount field, every channel.
    let page = format!("/console/codes/{asked}");
    let html = console.page(&page).await;
    assert!(html.contains("payInfoQueryAddr at each scan"), "{html}");
    assert!(html.contains(&query_addr), "{html}");
    assert!(
        html.contains(&format!("/bills/qrCode.do?id={asked}")),
        "its URL: {html}"
    );
    assert!(html.contains(&format!("href=\"/console/merchants/{TEST_MID}\"")));
    assert!(
        html.contains(&cst(t0())),
        "made, in China Standard Time: {html}"
    );
    assert!(html.contains("s-open\">open"), "{html}");
    assert!(
        !html.contains("name=\"amount\""),
        "the merchant gives the amount"
    );
    for channel in ["WXPay", "Alipay", "UnionPay"] {
        assert!(
            html.contains(&format!("<option value=\"{channel}\">")),
            "{html}"
        );
    }
    assert!(html.contains("None yet"), "no query yet: {html}");
    let token = form_token(&html);

    // Without the form token nothing is asked or paid.
    let refused = console
        .http
        .post(app.url(&format!("{page}/scans")))
        .header("cookie", &console.cookie)
        .form(&[("target_sys", "Alipay")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(merchant.count(), 0);

    // Scan and pay: the merchant's amount, the bill linked, the query right.
    let location = console
        .scan(&asked, &[("form_token", &token), ("target_sys", "Alipay")])
        .await;
    assert!(location.starts_with(&format!("{page}?bill=")), "{location}");
    let html = console.page(&location).await;
    assert!(html.contains("Scanned and paid"), "{html}");
    assert!(html.contains("12.34 yuan"), "{html}");
    let (_, listed) = app.get(&format!("/admin/v1/orders?mid={TEST_MID}")).await;
    let bill = &listed["orders"][0];
    assert_eq!(bill["total_amount"], 1234, "{listed}");
    assert_eq!(bill["description"], "拿铁");
    let bill_page = format!("/console/orders/{}", bill["id"]);
    assert!(html.contains(&format!("href=\"{bill_page}\"")), "{html}");
    assert!(html.contains("via Alipay"), "{html}");
    assert!(
        html.contains("HTTP 200") && html.contains(">right<"),
        "{html}"
    );
    assert!(
        html.contains("The query sent") && html.contains("<details>"),
        "{html}"
    );
    assert!(
        html.contains("&quot;qrCodeId&quot;"),
        "the query's body, escaped: {html}"
    );

    // The bill's page links back to its code.
    let html = console.page(&bill_page).await;
    assert!(html.contains(&format!("href=\"{page}\"")), "{html}");

    // A refusal with a wrong sign and markup in errMsg: nothing paid, each problem shown,
    // the answer escaped, the API's message as the page's error.
    merchant.set_default(Reply::Body(
        200,
        signed_answer(
            &[
                ("errCode", "FAIL"),
                ("errMsg", "售罄<b>"),
                ("responseTimestamp", "2024-07-01 10:00:00"),
                ("totalAmount", "1234"),
            ],
            "not-the-key",
        ),
    ));
    let before = order_count(&app).await;
    let location = console.scan(&asked, &[("form_token", &token)]).await;
    assert!(
        location.starts_with(&format!("{page}?error=")),
        "{location}"
    );
    assert_eq!(order_count(&app).await, before, "nothing was paid");
    let html = console.page(&location).await;
    assert!(html.contains("gave no amount"), "the API's message: {html}");
    assert!(
        html.contains("errCode is &quot;FAIL&quot;, not SUCCESS"),
        "{html}"
    );
    assert!(html.contains("sign does not match"), "{html}");
    assert!(
        html.contains("售罄&lt;b&gt;") && !html.contains("售罄<b>"),
        "escaped: {html}"
    );
    let refused_at = html.find(">refused<").expect("the refused query");
    let right_at = html.find(">right<").expect("the right query");
    assert!(refused_at < right_at, "newest first");
    let (_, shown) = app.get(&format!("/admin/v1/codes/{asked}")).await;
    assert_eq!(shown["pay_info_queries"].as_array().map(Vec::len), Some(2));

    // A code whose buyer types the amount: the field, and the API's refusal of a bad one.
    let page = format!("/console/codes/{typed}");
    let html = console.page(&page).await;
    assert!(html.contains("typed by the buyer"), "{html}");
    assert!(html.contains("name=\"amount\""), "{html}");
    assert!(html.contains("None: a code with its own amount"), "{html}");
    let location = console
        .scan(&typed, &[("form_token", &token), ("amount", "0")])
        .await;
    assert!(location.contains("error="), "{location}");
    let html = console.page(&location).await;
    assert!(html.contains("must be a whole number of fen"), "{html}");
    let location = console
        .scan(
            &typed,
            &[
                ("form_token", &token),
                ("amount", "77"),
                ("target_sys", "UnionPay"),
            ],
        )
        .await;
    let html = console.page(&location).await;
    assert!(
        html.contains("0.77 yuan") && html.contains("via UnionPay"),
        "{html}"
    );

    // A code with its amount, closed: no field, the button disabled, a scan refused.
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let closed = gw
        .call(
            &app,
            "bills.closeQRCode",
            TEST_MID,
            vec![("qrCodeId", s(&priced))],
        )
        .await;
    assert_eq!(closed["errCode"], "SUCCESS", "{closed}");
    let page = format!("/console/codes/{priced}");
    let html = console.page(&page).await;
    assert!(
        html.contains("5.00 yuan (500 fen)") && html.contains("固定码"),
        "{html}"
    );
    assert!(
        html.contains("s-closed\">closed") && html.contains(" disabled"),
        "{html}"
    );
    assert!(!html.contains("name=\"amount\""));
    let location = console.scan(&priced, &[("form_token", &token)]).await;
    let html = console.page(&location).await;
    assert!(html.contains("is closed: a scan pays nothing"), "{html}");

    let (status, _) = app.get("/admin/v1/codes/31940000000000000000000404").await;
    assert_eq!(status, 404);
    let missing = console
        .http
        .get(app.url("/console/codes/31940000000000000000000404"))
        .header("cookie", &console.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

/// The typed-amount code in a real browser: type it, pick a channel, pay, follow the bill
/// back to the code; and the code's page at phone width.
#[tokio::test]
async fn a_code_is_scanned_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let db = TestDb::new(Backend::Sqlite).await.expect("SQLite");
    let app = db.spawn(|settings| settings.admin_token = None).await;
    test_merchant(&app, NOWHERE).await;
    let code = make_code(&app, vec![("billDesc", s("自助付款"))]).await;
    let page = format!("/console/codes/{code}");
    browser.open(&app, &page).await;
    browser.fill("input[name=amount]", "250").await;
    browser
        .client
        .find(fantoccini::Locator::Css("select[name=target_sys]"))
        .await
        .unwrap()
        .select_by_value("UnionPay")
        .await
        .unwrap();
    browser.click("form[action$='/scans'] button").await;
    assert!(
        browser.shows("Scanned and paid").await,
        "{}",
        browser.page().await
    );
    assert!(browser.page().await.contains("2.50 yuan"));
    browser.shot("10-fixed-code-scanned").await;
    browser.click("#last-scan a").await;
    assert!(browser.shows("UnionPay").await, "{}", browser.page().await);
    let html = browser.page().await;
    assert!(html.contains(&format!("href=\"{page}\"")), "{html}");
    let (_, shown): (u16, Value) = app.get(&format!("/admin/v1/codes/{code}")).await;
    assert_eq!(shown["open"], true);

    // At phone width the code's page fits: its long id and URL wrap.
    browser.client.set_window_size(390, 844).await.unwrap();
    browser.open(&app, &page).await;
    let fits = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        fits,
        serde_json::json!(true),
        "{page} is wider than a phone"
    );
    browser.stop().await;
    app.stop().await;
}
