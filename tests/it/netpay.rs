//! The netpay order APIs over HTTP, called as a merchant's client code calls them
//! (`OPEN-BODY-SIG`): QR bills and mini-program orders from creation through payment,
//! query, refund and close, and every refusal in netpay's own style, which changes
//! nothing and spends no nonce. Each test runs against SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::platform::{
    body_signature, compact, cst, nonce, percent, Counter, Merchant, MID,
};
use crate::common::{TestApp, TestDb};
use ums_notify::db::Sql;

both_backends!(
    a_bill_is_created_queried_paid_refunded_and_queried_again,
    a_mini_program_order_is_created_paid_refunded_and_closed_orders_stay_closed,
    refused_requests_answer_netpay_errors_and_change_nothing,
    an_h5_order_goes_through_the_cashier_and_back,
);

const GET_QRCODE: &str = "/v1/netpay/bills/get-qrcode";
const BILL_QUERY: &str = "/v1/netpay/bills/query";
const BILL_REFUND: &str = "/v1/netpay/bills/refund";
const BILL_CLOSE: &str = "/v1/netpay/bills/close-qrcode";
const UNIFIED_ORDER: &str = "/v1/netpay/wx/unified-order";
const QUERY: &str = "/v1/netpay/query";
const CLOSE: &str = "/v1/netpay/close";
const REFUND: &str = "/v1/netpay/refund";
const REFUND_QUERY: &str = "/v1/netpay/refund-query";
const SRC: &str = "3194";

async fn merchant(app: &TestApp) -> Merchant {
    app.create_merchant(
        MID,
        json!({"notify_url": "http://127.0.0.1:9/notify", "msg_src_id": SRC}),
    )
    .await
}

/// A request body with the fields every netpay request carries, plus `extra`.
fn body(app: &TestApp, inst_mid: &str, extra: Value) -> Value {
    let mut body = json!({
        "requestTimestamp": cst(app.clock.now()),
        "mid": MID,
        "tid": "88880001",
        "instMid": inst_mid,
    });
    if let (Some(map), Value::Object(extra)) = (body.as_object_mut(), extra) {
        map.extend(extra);
    }
    body
}

fn assert_success(answer: &Value) {
    assert_eq!(answer["errCode"], "SUCCESS", "{answer}");
    assert!(answer["responseTimestamp"].is_string(), "{answer}");
}

fn assert_error(answer: &Value, code: &str, says: &str) {
    assert_eq!(answer["errCode"], code, "{answer}");
    let message = answer["errMsg"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{says:?} not in {answer}");
}

/// The admin id of the merchant's order `order_no`.
async fn admin_id(app: &TestApp, order_no: &str) -> i64 {
    let (status, list) = app.get(&format!("/admin/v1/orders?mid={MID}")).await;
    assert_eq!(status, 200, "{list}");
    list["orders"]
        .as_array()
        .and_then(|orders| orders.iter().find(|o| o["order_no"] == order_no))
        .and_then(|o| o["id"].as_i64())
        .unwrap_or_else(|| panic!("no order {order_no} in {list}"))
}

async fn a_bill_is_created_queried_paid_refunded_and_queried_again(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let shop = merchant(&app).await;
    let date = app.clock.now().format("%Y-%m-%d").to_string();
    let bill = json!({"billNo": "3194B0001", "billDate": date});
    let created = shop
        .call(
            &app,
            GET_QRCODE,
            &body(
                &app,
                "QRPAYDEFAULT",
                json!({"billNo": "3194B0001", "billDate": date, "totalAmount": 1000,
                       "billDesc": "测试账单", "msgId": "m-1"}),
            ),
        )
        .await;
    assert_success(&created);
    assert_eq!(created["billNo"], "3194B0001");
    assert_eq!(created["msgId"], "m-1", "msgId is echoed");
    let qr_code_id = created["qrCodeId"].as_str().unwrap().to_owned();
    assert!(qr_code_id.starts_with(SRC), "{created}");
    assert!(created["billQRCode"]
        .as_str()
        .unwrap()
        .ends_with(&qr_code_id));

    let query = |extra: Value| {
        let mut fields = bill.clone();
        if let (Some(map), Value::Object(extra)) = (fields.as_object_mut(), extra) {
            map.extend(extra);
        }
        body(&app, "QRPAYDEFAULT", fields)
    };
    let unpaid = shop.call(&app, BILL_QUERY, &query(json!({}))).await;
    assert_success(&unpaid);
    assert_eq!(unpaid["billStatus"], "UNPAID");
    assert_eq!(unpaid["totalAmount"], 1000);
    assert_eq!(unpaid["billDesc"], "测试账单");
    assert!(unpaid.get("billPayment").is_none(), "{unpaid}");

    let id = admin_id(&app, "3194B0001").await;
    let (status, paid) = app
        .post(
            &format!("/admin/v1/orders/{id}/transitions"),
            json!({"to": "PAID", "target_sys": "Alipay"}),
        )
        .await;
    assert_eq!(status, 200, "{paid}");
    let paid = shop.call(&app, BILL_QUERY, &query(json!({}))).await;
    assert_eq!(paid["billStatus"], "PAID", "{paid}");
    let payment = &paid["billPayment"];
    assert_eq!(payment["targetSys"], "Alipay", "{paid}");
    assert_eq!(payment["totalAmount"], 1000);
    assert!(payment["payTime"].is_string() && payment["buyerId"].is_string());

    let refund = |amount: i64, refund_id: &str| {
        let mut fields = bill.clone();
        fields["refundAmount"] = json!(amount);
        fields["refundOrderId"] = json!(refund_id);
        body(&app, "QRPAYDEFAULT", fields)
    };
    let first = shop
        .call(&app, BILL_REFUND, &refund(300, "3194R0001"))
        .await;
    assert_success(&first);
    assert_eq!(
        (
            &first["refundStatus"],
            &first["billStatus"],
            &first["refundAmount"]
        ),
        (&json!("SUCCESS"), &json!("REFUND"), &json!(300)),
        "{first}"
    );
    let again = shop
        .call(&app, BILL_REFUND, &refund(300, "3194R0001"))
        .await;
    assert_success(&again);
    assert_eq!(
        again["refundTargetOrderId"], first["refundTargetOrderId"],
        "a repeated refundOrderId answers the refund already made"
    );
    let over = shop
        .call(&app, BILL_REFUND, &refund(701, "3194R0002"))
        .await;
    assert_error(&over, "OPERATION_NOT_ALLOWED", "700 fen left");
    // The same signed request again, nonce and all: a replay, even of a repeated refund.
    let bytes = serde_json::to_vec(&refund(300, "3194R0001")).unwrap();
    let header = shop.sig(&app, &bytes);
    let (_, once) = app.platform(BILL_REFUND, Some(&header), &bytes).await;
    assert_success(&once);
    let (_, replayed) = app.platform(BILL_REFUND, Some(&header), &bytes).await;
    assert_eq!(replayed["errCode"], "3005", "{replayed}");
    let reused = shop.call(&app, BILL_REFUND, &refund(5, "3194R0001")).await;
    assert_error(&reused, "DUP_ORDER", "3194R0001");
    let (_, order) = app.get(&format!("/admin/v1/orders/{id}")).await;
    assert_eq!(order["refunded_amount"], 300, "refunded once: {order}");

    let refunded = shop
        .call(
            &app,
            BILL_QUERY,
            &query(json!({"refundOrderId": "3194R0001"})),
        )
        .await;
    assert_eq!(refunded["billStatus"], "REFUND", "{refunded}");
    assert_eq!(refunded["refundBillPayment"]["merOrderId"], "3194R0001");
    assert_eq!(refunded["refundBillPayment"]["totalAmount"], 300);
    let unknown = shop
        .call(
            &app,
            BILL_QUERY,
            &query(json!({"refundOrderId": "3194R0404"})),
        )
        .await;
    assert_error(&unknown, "NO_ORDER", "3194R0404");

    let close = shop
        .call(
            &app,
            BILL_CLOSE,
            &body(&app, "QRPAYDEFAULT", json!({"qrCodeId": qr_code_id})),
        )
        .await;
    assert_error(
        &close,
        "OPERATION_NOT_ALLOWED",
        "illegal order state transition",
    );
    app.stop().await;
}

async fn a_mini_program_order_is_created_paid_refunded_and_closed_orders_stay_closed(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let shop = merchant(&app).await;
    let order = |no: &str| {
        body(
            &app,
            "MINIDEFAULT",
            json!({"merOrderId": no, "totalAmount": "250", "tradeType": "MINI",
                   "subOpenId": "o-buyer", "orderDesc": "咖啡"}),
        )
    };
    let created = shop.call(&app, UNIFIED_ORDER, &order("3194M0001")).await;
    assert_success(&created);
    assert_eq!(created["status"], "WAIT_BUYER_PAY", "{created}");
    assert_eq!(
        created["totalAmount"], 250,
        "a string amount is read as fen"
    );
    assert!(created["miniPayRequest"]["package"]
        .as_str()
        .unwrap()
        .starts_with("prepay_id="));
    let by_no = |extra: Value| {
        let mut fields = json!({"merOrderId": "3194M0001"});
        if let (Some(map), Value::Object(extra)) = (fields.as_object_mut(), extra) {
            map.extend(extra);
        }
        body(&app, "MINIDEFAULT", fields)
    };
    let unpaid = shop.call(&app, QUERY, &by_no(json!({}))).await;
    assert_eq!(unpaid["status"], "WAIT_BUYER_PAY", "{unpaid}");
    let none = shop.call(&app, REFUND_QUERY, &by_no(json!({}))).await;
    assert_error(&none, "NO_ORDER", "has no refund");
    let early = shop
        .call(&app, REFUND, &by_no(json!({"refundAmount": 1})))
        .await;
    assert_error(&early, "OPERATION_NOT_ALLOWED", "WAIT_BUYER_PAY");

    let id = admin_id(&app, "3194M0001").await;
    let (status, _) = app
        .post(
            &format!("/admin/v1/orders/{id}/transitions"),
            json!({"to": "TRADE_SUCCESS"}),
        )
        .await;
    assert_eq!(status, 200);
    let paid = shop.call(&app, QUERY, &by_no(json!({}))).await;
    assert_eq!(paid["status"], "TRADE_SUCCESS", "{paid}");
    assert_eq!(paid["targetSys"], "WXPay");
    assert!(paid["targetOrderId"].is_string() && paid["payTime"].is_string());

    let refund = shop
        .call(&app, REFUND, &by_no(json!({"refundAmount": 250})))
        .await;
    assert_success(&refund);
    assert_eq!(refund["status"], "TRADE_REFUND", "{refund}");
    let generated = refund["refundOrderId"].as_str().unwrap().to_owned();
    assert!(generated.starts_with(SRC), "{refund}");
    let found = shop.call(&app, REFUND_QUERY, &by_no(json!({}))).await;
    assert_eq!(
        (
            &found["refundOrderId"],
            &found["refundStatus"],
            &found["refundAmount"]
        ),
        (&json!(generated), &json!("SUCCESS"), &json!(250)),
        "{found}"
    );
    let more = shop
        .call(&app, REFUND, &by_no(json!({"refundAmount": 1})))
        .await;
    assert_error(&more, "OPERATION_NOT_ALLOWED", "in full");

    // A second order is closed by the merchant and stays closed.
    shop.call(&app, UNIFIED_ORDER, &order("3194M0002")).await;
    // A trade order is no QR bill: its qrCodeId-like number closes nothing.
    let id2 = admin_id(&app, "3194M0002").await;
    let (_, trade_view) = app.get(&format!("/admin/v1/orders/{id2}")).await;
    assert!(trade_view.get("qr_code_id").is_none(), "{trade_view}");
    let fake_qr = format!("{SRC}{id2:022}");
    let not_a_bill = shop
        .call(
            &app,
            BILL_CLOSE,
            &body(&app, "QRPAYDEFAULT", json!({"qrCodeId": fake_qr})),
        )
        .await;
    assert_error(&not_a_bill, "NO_ORDER", &fake_qr);
    let second = json!({"merOrderId": "3194M0002"});
    let closed = shop
        .call(&app, CLOSE, &body(&app, "MINIDEFAULT", second.clone()))
        .await;
    assert_success(&closed);
    assert_eq!(closed["status"], "TRADE_CLOSED", "{closed}");
    let again = shop
        .call(&app, CLOSE, &body(&app, "MINIDEFAULT", second))
        .await;
    assert_error(&again, "OPERATION_NOT_ALLOWED", "TRADE_CLOSED is terminal");
    app.stop().await;
}

async fn order_rows(counter: &Counter) -> (i64, i64, i64, i64) {
    let count = |table: &str| Sql::new(format!("SELECT COUNT(*) FROM {table}"));
    let mut n = [0i64; 4];
    for (slot, table) in
        n.iter_mut()
            .zip(["orders", "order_refunds", "notifications", "used_nonces"])
    {
        let (c,): (i64,) = counter.database().read_one(&count(table)).await.unwrap();
        *slot = c;
    }
    (n[0], n[1], n[2], n[3])
}

async fn refused_requests_answer_netpay_errors_and_change_nothing(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let counter = Counter::new(&db).await;
    let shop = merchant(&app).await;
    let other = app
        .create_merchant("898310048169999", json!({"msg_src_id": "1017"}))
        .await;
    let ok = |extra: Value| {
        let mut fields = json!({"merOrderId": "3194X0001", "totalAmount": 100,
                                "tradeType": "MINI"});
        if let (Some(map), Value::Object(extra)) = (fields.as_object_mut(), extra) {
            map.extend(extra);
        }
        body(&app, "MINIDEFAULT", fields)
    };
    shop.call(&app, UNIFIED_ORDER, &ok(json!({"merOrderId": "3194X0000"})))
        .await;
    let before = order_rows(&counter).await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            ok(json!({"merOrderId": "1017X0001"})),
            "BAD_REQUEST",
            "source number (来源编号) 3194",
        ),
        (ok(json!({"merOrderId": "3194"})), "BAD_REQUEST", "6 to 32"),
        (ok(json!({"totalAmount": 0})), "BAD_REQUEST", "totalAmount"),
        (
            ok(json!({"totalAmount": 1.5})),
            "BAD_REQUEST",
            "totalAmount",
        ),
        (
            ok(json!({"totalAmount": "1.00"})),
            "BAD_REQUEST",
            "totalAmount",
        ),
        (ok(json!({"tradeType": "APP"})), "BAD_REQUEST", "tradeType"),
        (
            ok(json!({"requestTimestamp": "2024-01-01T00:00:00"})),
            "BAD_REQUEST",
            "requestTimestamp",
        ),
        (
            ok(json!({"mid": "898310048169999"})),
            "NO_MERCHANT",
            "898310048169999",
        ),
        (ok(json!({"tid": null})), "BAD_REQUEST", "tid is required"),
        (
            ok(json!({"notifyUrl": "ftp://x"})),
            "BAD_REQUEST",
            "notifyUrl",
        ),
        (
            ok(json!({"expireTime": "2000-01-01 00:00:00"})),
            "BAD_REQUEST",
            "expireTime",
        ),
        (
            ok(json!({"merOrderId": "3194X0000"})),
            "DUP_ORDER",
            "3194X0000",
        ),
    ];
    for (request, code, says) in cases {
        let answer = shop.call(&app, UNIFIED_ORDER, &request).await;
        assert_error(&answer, code, says);
        assert_eq!(order_rows(&counter).await, before, "changed by {request}");
    }
    let missing = shop
        .call(
            &app,
            QUERY,
            &body(&app, "MINIDEFAULT", json!({"merOrderId": "3194X0404"})),
        )
        .await;
    assert_error(&missing, "NO_ORDER", "3194X0404");
    // Another merchant's order is not found either.
    let theirs = other
        .call(
            &app,
            QUERY,
            &json!({"requestTimestamp": cst(app.clock.now()), "mid": "898310048169999",
                    "tid": "1", "instMid": "MINIDEFAULT", "merOrderId": "1017X0000"}),
        )
        .await;
    assert_error(&theirs, "NO_ORDER", "1017X0000");
    // A bill API does not find a trade order.
    let date = app.clock.now().format("%Y-%m-%d").to_string();
    let wrong_product = shop
        .call(
            &app,
            BILL_QUERY,
            &body(
                &app,
                "QRPAYDEFAULT",
                json!({"billNo": "3194X0000", "billDate": date}),
            ),
        )
        .await;
    assert_error(&wrong_product, "NO_ORDER", "billNo 3194X0000");
    // The gateway answers authentication failures in its own style, before netpay.
    let bytes = serde_json::to_vec(&ok(json!({}))).unwrap();
    let (status, unsigned) = app.platform(UNIFIED_ORDER, None, &bytes).await;
    assert_eq!(status, 200);
    assert_eq!(unsigned["errCode"], "3001", "{unsigned}");
    assert_eq!(order_rows(&counter).await, before);
    // A replayed nonce creates nothing the second time.
    let header = shop.sig(&app, &bytes);
    let (_, first) = app.platform(UNIFIED_ORDER, Some(&header), &bytes).await;
    assert_success(&first);
    let (_, replay) = app.platform(UNIFIED_ORDER, Some(&header), &bytes).await;
    assert_eq!(replay["errCode"], "3005", "{replay}");
    let after = order_rows(&counter).await;
    assert_eq!(
        after.0,
        before.0 + 1,
        "one order from the first request only"
    );
    app.stop().await;
}

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

async fn an_h5_order_goes_through_the_cashier_and_back(db: TestDb) {
    let receiver = crate::common::Receiver::start(crate::common::Reply::Body(200, "SUCCESS")).await;
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
    // The same signed URL again is a replay; a forged one is refused; neither creates.
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
