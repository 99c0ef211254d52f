//! The returnUrl front channel (spec V3.5 §12): a bill made with `returnUrl`, through the
//! gateway or the open-platform get-qrcode, is paid by a simulated buyer on its page at
//! `billQRCode`, and "return to merchant" sends the browser to `returnUrl` with the
//! signed result appended. A verifier written here from the spec (every parameter but
//! `sign`, sorted, the key appended, MD5) checks it; a changed parameter fails it; before
//! paying it says `UNPAID`; the notice, which the redirect is not, carries the same
//! payment. Driven over HTTP by a client that does not follow redirects. Each test runs
//! on SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::gateway::{
    raw, s, sign, test_merchant, today, Gateway, TEST_KEY, TEST_MID, TEST_SRC,
};
use crate::common::netpay::{body, merchant, GET_QRCODE};
use crate::common::payment_notices::Notice;
use crate::common::payments::WAIT;
use crate::common::platform::MID;
use crate::common::receiver::{Receiver, Reply};
use crate::common::{TestApp, TestDb};

both_backends!(
    the_bill_page_pays_and_sends_the_buyer_back_with_the_signed_result,
    an_open_platform_bill_goes_back_too_signed_md5,
);

const RETURN_URL: &str = "https://shop.example/paid?table=12";

/// A browser that shows each redirect instead of following it.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// The page at `url`, as HTML.
async fn page(browser: &reqwest::Client, url: &str) -> String {
    let answer = browser.get(url).send().await.expect("the page answers");
    assert_eq!(answer.status(), 200, "{url}");
    answer.text().await.expect("HTML")
}

/// Follows the page's "return to merchant" link: where it sends the browser.
async fn go_back(browser: &reqwest::Client, app: &TestApp, html: &str) -> url::Url {
    let start = html
        .find(r#"id="return" href=""#)
        .unwrap_or_else(|| panic!("no way back on the page: {html}"))
        + r#"id="return" href=""#.len();
    let href = html[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let answer = browser.get(app.url(&href)).send().await.unwrap();
    assert_eq!(answer.status(), 303, "{href}");
    let location = answer.headers()["location"].to_str().unwrap();
    url::Url::parse(location).unwrap_or_else(|e| panic!("{location}: {e}"))
}

/// Pays the bill `bill_no` shown at `url` through `via`, as its form does.
async fn pay_on_page(browser: &reqwest::Client, url: &str, bill_no: &str, via: &str) {
    let answer = browser
        .post(url)
        .form(&[("billNo", bill_no), ("via", via)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let back = answer.headers()["location"].to_str().unwrap();
    assert!(url.ends_with(back), "back to the page: {back}");
}

/// The query parameters of `url`, decoded, in order.
fn params(url: &url::Url) -> Vec<(String, String)> {
    url.query_pairs().into_owned().collect()
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The merchant's verifier, from the spec: every parameter but `sign`, as decoded.
fn verifies(params: &[(String, String)], key: &str) -> bool {
    let given = get(params, "sign").unwrap_or_default();
    !given.is_empty() && sign(params, key, "MD5").eq_ignore_ascii_case(given)
}

async fn the_bill_page_pays_and_sends_the_buyer_back_with_the_signed_result(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    test_merchant(&app, &receiver.url("/notify")).await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let date = today(&app);
    let no = "3194202612034001";
    let created = gw
        .call(
            &app,
            "bills.getQRCode",
            TEST_MID,
            vec![
                ("billNo", s(no)),
                ("billDate", s(&date)),
                ("totalAmount", raw("1990")),
                ("billDesc", s("网关 & 账单 = 1+1")),
                ("memberId", s("会员 7")),
                ("counterNo", s("A12")),
                ("returnUrl", s(RETURN_URL)),
            ],
        )
        .await;
    assert_eq!(created["errCode"], "SUCCESS", "{created}");
    let code_url = created["billQRCode"].as_str().unwrap().to_owned();
    let info = gw
        .code_info(&app, created["qrCodeId"].as_str().unwrap())
        .await;
    assert_eq!(info["returnUrl"], RETURN_URL, "{info}");
    let browser = browser();

    // Back before paying: a signed result that says UNPAID.
    let unpaid = page(&browser, &code_url).await;
    assert!(unpaid.contains("Return to merchant"), "{unpaid}");
    let early = params(&go_back(&browser, &app, &unpaid).await);
    assert_eq!(get(&early, "billStatus"), Some("UNPAID"), "{early:?}");
    assert_eq!(get(&early, "billPayment"), None, "{early:?}");
    assert!(verifies(&early, TEST_KEY), "{early:?}");

    pay_on_page(&browser, &code_url, no, "Alipay").await;
    let paid = page(&browser, &code_url).await;
    assert!(
        paid.contains("PAID") && paid.contains("Paid with Alipay") && !paid.contains("pay-WXPay"),
        "{paid}"
    );
    let back = go_back(&browser, &app, &paid).await;
    assert!(
        back.as_str()
            .starts_with("https://shop.example/paid?table=12&"),
        "the returnUrl with the result appended: {back}"
    );
    let result = params(&back);
    let names: Vec<&str> = result.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "table",
            "mid",
            "tid",
            "instMid",
            "billNo",
            "billQRCode",
            "billDate",
            "createTime",
            "billStatus",
            "billDesc",
            "totalAmount",
            "memberId",
            "counterNo",
            "merName",
            "billPayment",
            "sign"
        ],
        "the spec's parameters; no notifyId, no signType, no random field"
    );
    let expected = [
        ("mid", TEST_MID),
        ("tid", "88880001"),
        ("instMid", "QRPAYDEFAULT"),
        ("billNo", no),
        ("billQRCode", code_url.as_str()),
        ("billDate", date.as_str()),
        ("billStatus", "PAID"),
        ("billDesc", "网关 & 账单 = 1+1"),
        ("totalAmount", "1990"),
        ("memberId", "会员 7"),
        ("counterNo", "A12"),
        ("merName", "测试商户"),
    ];
    for (name, value) in expected {
        assert_eq!(get(&result, name), Some(value), "{name}: {result:?}");
    }
    let payment_text = get(&result, "billPayment").unwrap();
    assert!(
        !payment_text.contains("\": ") && !payment_text.contains(", \""),
        "compact JSON: {payment_text}"
    );
    let payment: Value = serde_json::from_str(payment_text).unwrap();
    assert_eq!(payment["merOrderId"], format!("{no}0"));
    assert_eq!(payment["targetSys"], "Alipay");
    assert_eq!(payment["status"], "TRADE_SUCCESS");
    assert_eq!(payment["totalAmount"], 1990);
    assert!(verifies(&result, TEST_KEY), "the sign verifies: {back}");
    let mut tampered = result.clone();
    tampered
        .iter_mut()
        .filter(|(n, _)| n == "totalAmount")
        .for_each(|(_, v)| *v = "1".to_owned());
    assert!(!verifies(&tampered, TEST_KEY), "a changed amount fails");
    assert!(!verifies(&result, "another-key"));

    // The notice is what proves it: sent server to server, with a notifyId, and the same
    // payment.
    let got = receiver.wait_for(1, WAIT).await;
    let notice = Notice::parse(&got[0].path, &got[0].headers, &got[0].body);
    assert_eq!(notice.field("billStatus"), "PAID");
    assert!(!notice.field("notifyId").is_empty());
    assert_eq!(notice.field("billPayment"), payment_text);
    app.stop().await;
}

async fn an_open_platform_bill_goes_back_too_signed_md5(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let shop = merchant(&app).await;
    let (_, shown) = app.get(&format!("/admin/v1/merchants/{MID}")).await;
    assert_eq!(
        shown["sign_type"], "SHA256",
        "notices of this merchant are SHA-256"
    );
    let key = shown["md5_key"].as_str().unwrap().to_owned();
    let date = app.clock.now().format("%Y-%m-%d").to_string();
    let code = "3194OPEN000000000001";
    let request = body(
        &app,
        "QRPAYDEFAULT",
        json!({"billNo": "3194B4001", "billDate": date, "totalAmount": 500,
               "qrCodeId": code, "returnUrl": "https://shop.example/back"}),
    );
    let created = shop.call(&app, GET_QRCODE, &request).await;
    assert_eq!(created["errCode"], "SUCCESS", "{created}");
    assert_eq!(created["qrCodeId"], code);
    let code_url = created["billQRCode"].as_str().unwrap().to_owned();
    assert_eq!(code_url, app.url(&format!("/bills/qrCode.do?id={code}")));
    let browser = browser();
    pay_on_page(&browser, &code_url, "3194B4001", "WXPay").await;
    let paid = page(&browser, &code_url).await;
    assert!(paid.contains("Paid with WeChat Pay"), "{paid}");
    let back = go_back(&browser, &app, &paid).await;
    assert!(
        back.as_str().starts_with("https://shop.example/back?mid="),
        "{back}"
    );
    let result = params(&back);
    assert_eq!(get(&result, "billStatus"), Some("PAID"));
    assert_eq!(get(&result, "signType"), None);
    assert_eq!(
        get(&result, "sign").map(str::len),
        Some(32),
        "MD5: {result:?}"
    );
    assert!(
        verifies(&result, &key),
        "MD5 with the merchant's key: {result:?}"
    );

    // No such code, no such bill on the code: no page, no way back.
    for path in [
        "/bills/qrCode.do?id=3194NOTHING".to_owned(),
        "/bills/qrCode.do".to_owned(),
        format!("/bills/qrCode.do/return?id={code}&billNo=3194B4999"),
    ] {
        let answer = browser.get(app.url(&path)).send().await.unwrap();
        assert_eq!(answer.status(), 404, "{path}");
    }
    app.stop().await;
}
