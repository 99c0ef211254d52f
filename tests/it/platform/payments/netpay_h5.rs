//! H5 orders through the netpay APIs: a browser opens the signed `OPEN-FORM-PARAM` URL
//! (once: a replay, a forged or an unsigned URL creates nothing), is sent to the sandbox
//! cashier, pays there and is sent back to the merchant's returnUrl, and the merchant is
//! notified. Each test runs against SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::netpay::{admin_id, body, SRC};
use crate::common::platform::{body_signature, compact, nonce, percent, Merchant, MID};
use crate::common::{Receiver, Reply, TestApp, TestDb};

both_backends!(
    an_h5_order_is_created_once_by_its_signed_url,
    an_h5_order_goes_through_the_cashier_and_back,
);

/// The `OPEN-FORM-PARAM` URL of an H5 request, signed here without the crate's code.
fn h5_url(app: &TestApp, shop: &Merchant, path: &str, content: &Value, key: &str) -> String {
    let content = content.to_string();
    let (ts, nonce) = (compact(app.clock.now()), nonce());
    let signature = body_signature(&shop.app_id, key, &ts, &nonce, content.as_bytes());
    app.url(&format!(
        "{path}?authorization=OPEN-FORM-PARAM&appId={}&timestamp={ts}&nonce={nonce}&content={}&signature={}",
        shop.app_id,
        percent(&content),
        percent(&signature)
    ))
}

/// An H5 order opened by a browser that does not follow redirects.
struct H5Order {
    receiver: Receiver,
    app: TestApp,
    shop: Merchant,
    browser: reqwest::Client,
    /// The request's content.
    content: Value,
    /// The signed URL that created it.
    url: String,
    /// The cashier page it was sent to.
    cashier: String,
}

/// Opens a signed H5 order URL for 25 yuan: it answers with a redirect to the cashier.
async fn h5_order(db: &TestDb) -> H5Order {
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let app = db.spawn(|_| {}).await;
    let shop = app
        .create_merchant(
            MID,
            json!({"notify_url": receiver.url("/pay"), "msg_src_id": SRC}),
        )
        .await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let content = body(
        &app,
        "H5DEFAULT",
        json!({"merOrderId": "3194H0001", "totalAmount": 2500, "orderDesc": "电影票",
               "returnUrl": "https://shop.example/paid?o=3194H0001"}),
    );
    let url = h5_url(
        &app,
        &shop,
        "/v1/netpay/trade/h5-pay",
        &content,
        &shop.app_key,
    );
    let created = browser.get(&url).send().await.unwrap();
    assert_eq!(created.status(), 302);
    let cashier = created.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        cashier.starts_with("/netpay/cashier/") && cashier.ends_with("?via=Alipay"),
        "{cashier}"
    );
    H5Order {
        receiver,
        app,
        shop,
        browser,
        content,
        url,
        cashier,
    }
}

/// The same signed URL again is a replay; a forged one is refused; neither creates.
async fn an_h5_order_is_created_once_by_its_signed_url(db: TestDb) {
    let H5Order {
        app,
        shop,
        browser,
        content,
        url,
        ..
    } = h5_order(&db).await;
    let again = browser.get(&url).send().await.unwrap();
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["errCode"], "3005", "{again}");
    let forged = h5_url(
        &app,
        &shop,
        "/v1/netpay/wxpay/h5-pay",
        &content,
        "not-the-key",
    );
    let forged: Value = browser
        .get(&forged)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(forged["errCode"], "3006", "{forged}");
    let unsigned: Value = browser
        .get(app.url("/v1/netpay/uac/order?content=%7B%7D"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unsigned["errCode"], "3001", "{unsigned}");
    app.stop().await;
}

async fn an_h5_order_goes_through_the_cashier_and_back(db: TestDb) {
    let H5Order {
        receiver,
        app,
        browser,
        cashier,
        ..
    } = h5_order(&db).await;
    let page = browser
        .get(app.url(&cashier))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("¥25.00") && page.contains("电影票") && page.contains("id=\"pay\""),
        "{page}"
    );
    let pay_path = cashier.replace("?via=", "/pay?via=");
    let paid = browser
        .post(app.url(&pay_path))
        .form(&[("", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    assert_eq!(
        paid.headers()["location"],
        "https://shop.example/paid?o=3194H0001",
        "back to the merchant's returnUrl"
    );
    let id = admin_id(&app, "3194H0001").await;
    let (_, order) = app.get(&format!("/admin/v1/orders/{id}")).await;
    assert_eq!(order["status"], "TRADE_SUCCESS", "{order}");
    assert_eq!(order["inst_mid"], "H5DEFAULT");
    assert_eq!(order["payment"]["target_sys"], "Alipay");
    let got = receiver
        .wait_for(1, std::time::Duration::from_secs(10))
        .await;
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&got[0].body)
        .into_owned()
        .collect();
    assert!(params.contains(&("merOrderId".to_owned(), "3194H0001".to_owned())));
    assert!(params.contains(&("status".to_owned(), "TRADE_SUCCESS".to_owned())));
    // Paid: the page offers nothing more, and an unknown token finds no page.
    let page = browser
        .get(app.url(&cashier))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("id=\"pay\""), "{page}");
    let missing = browser
        .get(app.url("/netpay/cashier/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    app.stop().await;
}
