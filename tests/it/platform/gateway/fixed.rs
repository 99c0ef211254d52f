//! Fixed QR codes (spec §3.4): made by bills.getQRCode without billNo, scanned again and
//! again (admin API), each scan a bill of its own carrying the code's URL; a code without
//! an amount asks the merchant's payInfoQueryAddr (spec §9), signed with SHA-256, and a
//! wrong answer pays nothing and is shown; closed, a code takes no scan. Each test runs
//! on SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::gateway::{
    assert_refused, s, sign, signed_answer, test_merchant, Gateway, TEST_KEY, TEST_MID, TEST_SRC,
};
use crate::common::payment_notices::Notice;
use crate::common::payments::{order_count, NOWHERE, WAIT};
use crate::common::platform::cst;
use crate::common::receiver::{Receiver, Reply};
use crate::common::{TestApp, TestDb};

both_backends!(
    an_answer_signed_with_a_key_in_its_grace_is_right_until_the_grace_ends,
    a_code_closed_while_its_merchant_is_asked_pays_nothing,
    a_code_with_an_amount_is_paid_scan_after_scan,
    a_code_without_an_amount_asks_the_merchant,
    a_code_without_an_amount_or_query_address_takes_the_buyers,
);

/// A fixed code without an amount of the spec's test merchant whose payment-element
/// queries a merchant stub answers with `reply`: the stub, and the code's id.
async fn code_asking(app: &TestApp, reply: Reply) -> (Receiver, String) {
    let merchant = Receiver::start(reply).await;
    let made = Gateway::new(TEST_SRC, TEST_KEY)
        .call(
            app,
            "bills.getQRCode",
            TEST_MID,
            vec![("payInfoQueryAddr", s(merchant.url("/pay-info")))],
        )
        .await;
    assert_eq!(made["errCode"], "SUCCESS", "{made}");
    let code = made["qrCodeId"].as_str().unwrap().to_owned();
    (merchant, code)
}

async fn scan(app: &TestApp, code: &str, body: Value) -> (u16, Value) {
    app.post(&format!("/admin/v1/codes/{code}/scans"), body)
        .await
}

async fn a_code_with_an_amount_is_paid_scan_after_scan(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    test_merchant(&app, &receiver.url("/notify")).await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let made = gw
        .call(
            &app,
            "bills.getQRCode",
            TEST_MID,
            vec![("totalAmount", s("500")), ("billDesc", s("固定码"))],
        )
        .await;
    assert_eq!(made["errCode"], "SUCCESS", "{made}");
    assert!(made.get("billNo").is_none(), "{made}");
    let code = made["qrCodeId"].as_str().unwrap().to_owned();
    let url = made["billQRCode"].as_str().unwrap().to_owned();
    assert!(url.ends_with(&code), "{made}");

    let info_fields = vec![
        ("msgSrc".to_owned(), s(TEST_SRC)),
        ("msgType".to_owned(), s("bills.queryQRCodeInfo")),
        ("requestTimestamp".to_owned(), s(cst(app.clock.now()))),
        ("qrCodeId".to_owned(), s(&code)),
    ];
    let info = gw.post(&app, gw.body(&info_fields)).await;
    gw.assert_signed(&info);
    assert_eq!(info["totalAmount"], 500, "{info}");
    assert_eq!(info["qrCodeUrl"], url.as_str());
    assert!(info.get("billNo").is_none(), "{info}");

    let mut bills = Vec::new();
    for _ in 0..2 {
        let (status, paid) = scan(&app, &code, json!({})).await;
        assert_eq!(status, 201, "{paid}");
        assert_eq!(paid["order"]["status"], "PAID", "{paid}");
        assert_eq!(paid["order"]["total_amount"], 500);
        bills.push(paid["order"]["order_no"].as_str().unwrap().to_owned());
    }
    assert_ne!(bills[0], bills[1], "each scan is a bill of its own");
    let got = receiver.wait_for(2, WAIT).await;
    for request in &got {
        let notice = Notice::parse(&request.path, &request.headers, &request.body);
        assert_eq!(
            notice.field("billQRCode"),
            url,
            "the bill carries the code's URL"
        );
        assert_eq!(notice.field("totalAmount"), "500");
        assert_eq!(sign(&notice.fields, TEST_KEY, "MD5"), notice.field("sign"));
    }
    let (status, refused) = scan(&app, &code, json!({"amount": 1})).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (422, &json!("invalid_amount")),
        "{refused}"
    );

    let update = gw
        .call(
            &app,
            "bills.updateQRCode",
            TEST_MID,
            vec![
                ("qrCodeId", s(&code)),
                ("billNo", s("3194202612034444")),
                ("billDate", s("2026-12-03")),
                ("totalAmount", s("1")),
            ],
        )
        .await;
    assert_refused(&update, "OPERATION_NOT_ALLOWED", "fixed code");
    let close = vec![("qrCodeId", s(&code))];
    let closed = gw
        .call(&app, "bills.closeQRCode", TEST_MID, close.clone())
        .await;
    assert_eq!(closed["errCode"], "SUCCESS", "{closed}");
    let twice = gw.call(&app, "bills.closeQRCode", TEST_MID, close).await;
    assert_refused(&twice, "OPERATION_NOT_ALLOWED", "closed already");
    let before = order_count(&app).await;
    let (status, refused) = scan(&app, &code, json!({})).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (409, &json!("code_closed")),
        "{refused}"
    );
    assert_eq!(
        order_count(&app).await,
        before,
        "a closed code makes no bill"
    );
    app.stop().await;
}

async fn a_code_without_an_amount_asks_the_merchant(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    test_merchant(&app, NOWHERE).await;
    let (merchant, code) = code_asking(&app, Reply::Status(500)).await;
    let right = signed_answer(
        &[
            ("errCode", "SUCCESS"),
            ("errMsg", "ok"),
            ("responseTimestamp", "2026-12-03 12:00:00"),
            ("totalAmount", "1234"),
            ("billDesc", "拿铁"),
            ("memberId", "VIP-7"),
        ],
        TEST_KEY,
    );
    merchant.set_default(Reply::Body(200, right));

    let (status, paid) = scan(&app, &code, json!({"target_sys": "Alipay"})).await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["order"]["total_amount"], 1234, "{paid}");
    assert_eq!(paid["order"]["description"], "拿铁");
    assert_eq!(paid["pay_info_query"]["problems"], json!([]), "{paid}");
    // The query, as the merchant got it: JSON, SHA-256 signed with the source's key.
    let got = merchant.received();
    let query: serde_json::Map<String, Value> = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(query["qrCodeId"], code.as_str());
    assert_eq!(query["mid"], TEST_MID);
    assert_eq!(query["msgSrc"], TEST_SRC);
    assert!(query.get("msgType").is_none() && query.get("signType").is_none());
    let pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        query["sign"].as_str().unwrap().to_ascii_lowercase(),
        sign(&pairs, TEST_KEY, "SHA256")
    );

    // A wrong sign: nothing is paid, and the query shows why.
    let forged = signed_answer(
        &[
            ("errCode", "SUCCESS"),
            ("errMsg", "ok"),
            ("responseTimestamp", "2026-12-03 12:00:00"),
            ("totalAmount", "1234"),
        ],
        "not-the-key",
    );
    merchant.set_default(Reply::Body(200, forged));
    let before = order_count(&app).await;
    let (status, refused) = scan(&app, &code, json!({})).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (409, &json!("pay_info_refused")),
        "{refused}"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sign does not match"),
        "{refused}"
    );
    assert_eq!(order_count(&app).await, before, "nothing was paid");
    let (_, shown) = app.get(&format!("/admin/v1/codes/{code}")).await;
    let queries = shown["pay_info_queries"].as_array().unwrap();
    assert_eq!(queries.len(), 2, "{shown}");
    assert!(queries[0]["problems"][0]
        .as_str()
        .unwrap()
        .contains("sign does not match"));
    assert_eq!(queries[1]["amount"], 1234);
    let (status, refused) = scan(&app, &code, json!({"amount": 5})).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (422, &json!("invalid_amount")),
        "{refused}"
    );
    app.stop().await;
}

/// The source's communication key is rotated with a grace: the merchant's answer to the
/// payment-element query, still signed with the replaced key, is right during the grace
/// and refused after it.
async fn an_answer_signed_with_a_key_in_its_grace_is_right_until_the_grace_ends(db: TestDb) {
    let app = db
        .spawn_with_clock(ums_notify::clock::Clock::fixed(chrono::Utc::now()), |_| {})
        .await;
    test_merchant(&app, NOWHERE).await;
    let answer = signed_answer(
        &[
            ("errCode", "SUCCESS"),
            ("errMsg", "ok"),
            ("responseTimestamp", "2026-12-03 12:00:00"),
            ("totalAmount", "321"),
        ],
        TEST_KEY,
    );
    let (_merchant, code) = code_asking(&app, Reply::Body(200, answer)).await;
    let (status, rotated) = app
        .post(
            &format!("/admin/v1/merchants/{TEST_MID}/rotate"),
            json!({"credential": "md5_key", "grace": "1h"}),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let (status, paid) = scan(&app, &code, json!({})).await;
    assert_eq!(
        status, 201,
        "the replaced key is right in its grace: {paid}"
    );
    assert_eq!(paid["order"]["total_amount"], 321);
    app.clock.advance(chrono::Duration::minutes(61));
    let before = order_count(&app).await;
    let (status, refused) = scan(&app, &code, json!({})).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (409, &json!("pay_info_refused")),
        "{refused}"
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sign does not match"),
        "{refused}"
    );
    assert_eq!(order_count(&app).await, before);
    app.stop().await;
}

/// A scan asks the merchant for the amount; the code is closed before the answer comes:
/// the scan pays nothing.
async fn a_code_closed_while_its_merchant_is_asked_pays_nothing(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    test_merchant(&app, NOWHERE).await;
    let gate = std::sync::Arc::new(tokio::sync::Notify::new());
    let answer = signed_answer(
        &[
            ("errCode", "SUCCESS"),
            ("errMsg", "ok"),
            ("responseTimestamp", "2026-12-03 12:00:00"),
            ("totalAmount", "123"),
        ],
        TEST_KEY,
    );
    let (merchant, code) = code_asking(&app, Reply::Held(200, answer, gate.clone())).await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let scanning = {
        let (url, http) = (
            app.url(&format!("/admin/v1/codes/{code}/scans")),
            app.http.clone(),
        );
        tokio::spawn(async move {
            let response = http
                .post(url)
                .bearer_auth(crate::common::ADMIN_TOKEN)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        })
    };
    merchant.wait_for(1, WAIT).await;
    let closed = gw
        .call(
            &app,
            "bills.closeQRCode",
            TEST_MID,
            vec![("qrCodeId", s(&code))],
        )
        .await;
    assert_eq!(closed["errCode"], "SUCCESS", "{closed}");
    gate.notify_one();
    let (status, refused) = scanning.await.unwrap();
    assert_eq!(
        (status, &refused["error"]["code"]),
        (409, &json!("code_closed")),
        "{refused}"
    );
    assert_eq!(order_count(&app).await, 0, "no bill was made");
    app.stop().await;
}

async fn a_code_without_an_amount_or_query_address_takes_the_buyers(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    test_merchant(&app, NOWHERE).await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let made = gw.call(&app, "bills.getQRCode", TEST_MID, vec![]).await;
    assert_eq!(made["errCode"], "SUCCESS", "{made}");
    let code = made["qrCodeId"].as_str().unwrap().to_owned();
    let (status, refused) = scan(&app, &code, json!({})).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (422, &json!("amount_required")),
        "{refused}"
    );
    let (status, refused) = scan(&app, &code, json!({"amount": 0})).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (422, &json!("invalid_amount")),
        "{refused}"
    );
    assert_eq!(order_count(&app).await, 0);
    let (status, paid) = scan(&app, &code, json!({"amount": 77})).await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["order"]["total_amount"], 77);
    let (status, _) = app.get("/admin/v1/codes/31940000000000000000000404").await;
    assert_eq!(status, 404);
    app.stop().await;
}
