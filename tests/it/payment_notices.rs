//! Payment-result notices end to end, with a real receiver: the signed form body of a
//! paid, refunded or closed order of both products (the `sign` checked here with the
//! hash crates directly, not with the crate's code), Chinese text on the wire, the
//! SUCCESS rule and its retries, extra copies, and the simulated buyer's automatic
//! payment and the expiry of unpaid orders. Each test runs against SQLite and PostgreSQL.

use std::collections::HashSet;

use axum::http::HeaderMap;
use md5::Md5;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::platform::{at, percent};
use crate::common::{eventually, Receiver, Reply, TestApp, TestDb};
use crate::orders::{
    assert_same_set, create_merchant, create_order, move_order, msg_src_id, refund, show, time,
    wait_for_order, Product, BILL, MID_A, MID_B, TRADE, WAIT,
};
use ums_notify::clock::Clock;
use ums_notify::policy::RetrySchedule;

both_backends!(
    paid_notices_are_signed_forms_with_chinese_text_decoded,
    a_200_without_success_is_retried_and_success_ends_it,
    refund_and_close_notices_carry_their_state,
    extra_copies_send_identical_notices,
    buyers_pay_on_their_own_after_the_merchant_delay,
    unpaid_orders_close_when_they_expire,
    an_order_expiring_before_its_buyer_pays_closes_unpaid,
);

const DESCRIPTION: &str = "测试商品 一号";

/// Every field name a notice may carry, from the platform's documentation; a notice
/// carries exactly one more, with a random two-letter name.
const DOCUMENTED: &str = "mid tid instMid billNo billQRCode qrCodeId billDate createTime \
    billStatus billDesc totalAmount merName notifyId seqId receiptAmount billPayment merOrderId \
    status buyerPayAmount invoiceAmount payTime settleDate targetSys targetOrderId buyerId \
    orderDesc refundOrderId refundAmount refundPayTime refundTargetOrderId sign signType";

/// A notice as the receiver got it.
#[derive(Debug, Clone)]
struct Notice {
    path: String,
    headers: HeaderMap,
    raw: Vec<u8>,
    fields: Vec<(String, String)>,
}

impl Notice {
    fn parse(path: &str, headers: &HeaderMap, raw: &[u8]) -> Self {
        Self {
            path: path.to_owned(),
            headers: headers.clone(),
            raw: raw.to_vec(),
            fields: url::form_urlencoded::parse(raw).into_owned().collect(),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A field that must be there.
    fn field(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| panic!("the notice has no {name}: {:?}", self.fields))
    }

    /// Checks the form and its `sign` as a merchant holding `merchant`'s key would.
    fn verify(&self, merchant: &Value) {
        let content_type = self.headers["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("application/x-www-form-urlencoded"),
            "{content_type}"
        );
        let names: HashSet<&str> = self.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names.len(),
            self.fields.len(),
            "a field twice: {:?}",
            self.fields
        );
        assert!(
            self.fields.iter().all(|(_, v)| !v.is_empty()),
            "empty fields are left out: {:?}",
            self.fields
        );
        let sign_type = merchant["sign_type"].as_str().unwrap();
        assert_eq!(self.field("signType"), sign_type);
        let key = merchant["md5_key"].as_str().unwrap();
        let sign = self.field("sign");
        assert_eq!(
            sign,
            expected_sign(&self.fields, key, sign_type),
            "the sign does not verify with the merchant's key; fields {:?}",
            self.fields
        );
        assert_eq!(sign.len(), if sign_type == "MD5" { 32 } else { 64 });
        let extra: Vec<&str> = names
            .iter()
            .copied()
            .filter(|name| !DOCUMENTED.split_whitespace().any(|known| known == *name))
            .collect();
        assert_eq!(extra.len(), 1, "one undocumented field: {extra:?}");
        assert!(
            extra[0].len() == 2 && extra[0].bytes().all(|b| b.is_ascii_alphabetic()),
            "{extra:?}"
        );
        let without: Vec<(String, String)> = self
            .fields
            .iter()
            .filter(|(k, _)| k != extra[0])
            .cloned()
            .collect();
        assert_ne!(
            sign,
            expected_sign(&without, key, sign_type),
            "the random field takes part in the sign"
        );
    }
}

/// The `sign` written out: every field but `sign` with a value, sorted by name (bytes),
/// `k=v` joined with `&`, the key appended, hashed, UPPERCASE hex.
fn expected_sign(fields: &[(String, String)], key: &str, sign_type: &str) -> String {
    let mut kept: Vec<&(String, String)> = fields
        .iter()
        .filter(|(k, v)| k != "sign" && !v.is_empty())
        .collect();
    kept.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let text = kept
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
        + key;
    let digest: Vec<u8> = match sign_type {
        "MD5" => Md5::digest(text.as_bytes()).to_vec(),
        "SHA256" => Sha256::digest(text.as_bytes()).to_vec(),
        other => panic!("unknown signType {other}"),
    };
    digest.iter().map(|b| format!("{b:02X}")).collect()
}

/// Form encoding written out: UTF-8 bytes as `%XX`, a space as `+`.
fn form_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b' ' => "+".to_owned(),
            b if b.is_ascii_alphanumeric() => char::from(b).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// Waits until notification `id` is delivered; checks it is a payment-result notice of
/// the order, and returns what the receiver got for it (matched by its bytes).
async fn delivered(app: &TestApp, receiver: &Receiver, id: &Value, order: &Value) -> Notice {
    let id = id.as_i64().unwrap_or_else(|| panic!("not an id: {id}"));
    let done = app.wait_for_status(id, "delivered", WAIT).await;
    assert_eq!(done["kind"], "payment_result", "{done}");
    assert_eq!(done["tenant"], order["mid"]);
    assert_eq!(done["subject"], order["order_no"]);
    assert_eq!(done["success"], json!({"status": 200, "body": "SUCCESS"}));
    assert_eq!(done["url"], order["notify_url"]);
    let body = done["body"].as_str().unwrap().as_bytes();
    let got = receiver.received();
    let request = got
        .iter()
        .find(|r| r.body == body)
        .unwrap_or_else(|| panic!("the receiver never got notification {id}: {done}"));
    Notice::parse(&request.path, &request.headers, &request.body)
}

/// Asserts the fields every notice of `order` carries.
fn assert_order_fields(notice: &Notice, order: &Value, product: Product, status: &str) {
    assert_eq!(notice.field("mid"), order["mid"]);
    assert_eq!(notice.field("tid"), order["tid"]);
    assert_eq!(notice.field("instMid"), order["inst_mid"]);
    assert_eq!(
        notice.field("totalAmount"),
        order["total_amount"].to_string()
    );
    assert_eq!(notice.field("merName"), "测试商户");
    let notify_id = notice.field("notifyId");
    assert!(!notify_id.is_empty());
    if product.name == "bill" {
        assert_eq!(notice.field("billNo"), order["order_no"]);
        assert_eq!(notice.field("billStatus"), status);
        assert_eq!(notice.field("billDate"), order["bill_date"]);
        assert_eq!(notice.field("billQRCode"), order["bill_qr_code"]);
        assert_eq!(notice.get("merOrderId"), None);
        assert_eq!(notice.get("status"), None);
    } else {
        assert_eq!(notice.field("merOrderId"), order["order_no"]);
        assert_eq!(notice.field("status"), status);
        assert_eq!(notice.get("billNo"), None);
        assert_eq!(notice.get("billStatus"), None);
    }
}

/// Asserts the payment fields of a paid (or refunded) order's notice.
fn assert_payment_fields(notice: &Notice, order: &Value, product: Product) {
    let payment = &order["payment"];
    if product.name == "bill" {
        let json: Value = serde_json::from_str(notice.field("billPayment"))
            .unwrap_or_else(|e| panic!("billPayment is not JSON: {e}"));
        let pay_time = json["payTime"].as_str().expect("payTime");
        assert!(
            chrono::NaiveDateTime::parse_from_str(pay_time, "%Y-%m-%d %H:%M:%S").is_ok(),
            "payTime {pay_time:?}"
        );
        assert_eq!(json["buyerId"], payment["buyer_id"], "{json}");
        assert_eq!(json["targetSys"], payment["target_sys"], "{json}");
        assert_eq!(json["targetOrderId"], payment["target_order_id"], "{json}");
    } else {
        assert_eq!(notice.field("targetSys"), payment["target_sys"]);
        assert_eq!(notice.field("targetOrderId"), payment["target_order_id"]);
        assert_eq!(notice.field("buyerId"), payment["buyer_id"]);
        assert!(!notice.field("payTime").is_empty());
    }
}

fn description_field(product: Product) -> &'static str {
    if product.name == "bill" {
        "billDesc"
    } else {
        "orderDesc"
    }
}

async fn pay(app: &TestApp, order: &Value, product: Product, target_sys: &str) -> Value {
    let (status, moved) = app
        .post(
            &format!("/admin/v1/orders/{}/transitions", order["id"]),
            json!({"to": product.paid(), "target_sys": target_sys}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    moved
}

async fn paid_notices_are_signed_forms_with_chinese_text_decoded(db: TestDb) {
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let app = db.spawn(|_| {}).await;
    let sha = create_merchant(&app, MID_A, json!({})).await;
    let md5 = create_merchant(
        &app,
        MID_B,
        json!({"sign_type": "MD5", "md5_key": "Md5-Key_of.merchant~B", "msg_src_id": "31B4"}),
    )
    .await;
    for merchant in [&sha, &md5] {
        for product in [TRADE, BILL] {
            let mid = merchant["mid"].as_str().unwrap();
            let path = format!("/pay/{mid}/{}", product.name);
            let order = create_order(
                &app,
                json!({"mid": mid, "product": product.name, "total_amount": 12345,
                       "description": DESCRIPTION, "notify_url": receiver.url(&path)}),
            )
            .await;
            let moved = pay(&app, &order, product, "Alipay").await;
            let order = &moved["order"];
            let ids = moved["notification_ids"].as_array().unwrap();
            assert_eq!(ids.len(), 1, "{moved}");
            let notice = delivered(&app, &receiver, &ids[0], order).await;
            let what = format!("{mid} {}", product.name);
            assert_eq!(notice.path, path, "{what}");
            notice.verify(merchant);
            assert_order_fields(&notice, order, product, product.paid());
            assert_payment_fields(&notice, order, product);
            assert_eq!(order["payment"]["target_sys"], "Alipay");

            let field = description_field(product);
            assert_eq!(notice.field(field), DESCRIPTION, "{what}: decoded exactly");
            assert!(notice.raw.is_ascii(), "{what}: the body is percent-encoded");
            let raw = String::from_utf8(notice.raw.clone()).unwrap();
            let encoded = form_encoded(DESCRIPTION);
            assert!(
                raw.contains(&format!("{field}={encoded}&"))
                    || raw.ends_with(&format!("{field}={encoded}"))
                    || raw.contains(&format!("{field}={}", encoded.replace('+', "%20"))),
                "{what}: {field} is not UTF-8 percent-encoded as {encoded}: {raw}"
            );

            // The test can tell a wrong key.
            let other = if merchant["mid"] == sha["mid"] {
                &md5
            } else {
                &sha
            };
            assert_ne!(
                notice.field("sign"),
                expected_sign(
                    &notice.fields,
                    other["md5_key"].as_str().unwrap(),
                    merchant["sign_type"].as_str().unwrap()
                ),
            );
        }
    }
    assert_eq!(receiver.count(), 4, "one notice per payment");
}

async fn a_200_without_success_is_retried_and_success_ends_it(db: TestDb) {
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let app = db
        .spawn(|s| s.retry_schedule = RetrySchedule::parse("100ms").unwrap())
        .await;
    let merchant = create_merchant(&app, MID_A, json!({"notify_url": receiver.url("/n")})).await;
    for (product, replies, failures) in [
        (
            TRADE,
            vec![Reply::Body(200, "OK")],
            vec![("unexpected_body", "OK")],
        ),
        (
            BILL,
            vec![Reply::Body(500, "SUCCESS"), Reply::Body(200, "success")],
            vec![("http_status", "SUCCESS"), ("unexpected_body", "success")],
        ),
    ] {
        let before = receiver.count();
        receiver.then(replies);
        let order = create_order(
            &app,
            json!({"mid": MID_A, "product": product.name, "total_amount": 100}),
        )
        .await;
        let moved = pay(&app, &order, product, "WXPay").await;
        let id = moved["notification_ids"][0].as_i64().unwrap();
        let done = app.wait_for_status(id, "delivered", WAIT).await;
        let tries = failures.len() + 1;
        assert_eq!(done["attempts"], tries, "{done}");
        let log = done["attempt_log"].as_array().unwrap();
        for (attempt, (kind, answer)) in log.iter().zip(&failures) {
            assert_eq!(attempt["failure_kind"], *kind, "{attempt}");
            assert_eq!(attempt["response_body"], *answer, "{attempt}");
        }
        assert_eq!(log[tries - 1]["failure_kind"], Value::Null, "{done}");
        assert_eq!(log[tries - 1]["status_code"], 200);

        let got: Vec<Notice> = receiver.received()[before..]
            .iter()
            .map(|r| Notice::parse(&r.path, &r.headers, &r.body))
            .collect();
        assert_eq!(got.len(), tries, "nothing after SUCCESS");
        for notice in &got {
            assert_eq!(notice.raw, got[0].raw, "every try carries the same bytes");
            assert_eq!(notice.field("notifyId"), got[0].field("notifyId"));
            notice.verify(&merchant);
        }
        assert_eq!(got[0].raw, done["body"].as_str().unwrap().as_bytes());
    }
}

async fn refund_and_close_notices_carry_their_state(db: TestDb) {
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let app = db.spawn(|_| {}).await;
    let notify = receiver.url("/n");
    let trade_merchant = create_merchant(&app, MID_A, json!({"notify_url": notify})).await;
    let bill_merchant = create_merchant(
        &app,
        MID_B,
        json!({"notify_url": notify, "sign_type": "MD5"}),
    )
    .await;
    let mut notify_ids = HashSet::new();
    for (product, merchant) in [(TRADE, &trade_merchant), (BILL, &bill_merchant)] {
        let mid = merchant["mid"].as_str().unwrap();
        let src = msg_src_id(merchant);
        // Characters with a meaning in a form, in the text: still signed and decoded right.
        let text = "Tea & cake = 2+1 (100%)";
        let order = create_order(
            &app,
            json!({"mid": mid, "product": product.name, "total_amount": 1000,
                   "description": text}),
        )
        .await;
        let paid = pay(&app, &order, product, "UnionPay").await;
        let notice = delivered(
            &app,
            &receiver,
            &paid["notification_ids"][0],
            &paid["order"],
        )
        .await;
        notify_ids.insert(notice.field("notifyId").to_owned());

        // A partial refund under a given number, then the rest under a generated one.
        let refund_no = format!("{src}REFUND01");
        let (status, first) = refund(
            &app,
            &order,
            json!({"amount": 300, "refund_order_id": refund_no}),
        )
        .await;
        assert_eq!(status, 201, "{first}");
        let (status, rest) =
            move_order(&app, order["id"].as_i64().unwrap(), product.refunded()).await;
        assert_eq!(status, 200, "{rest}");
        for (change, amount) in [(&first, "300"), (&rest, "700")] {
            let order = &change["order"];
            let notice = delivered(&app, &receiver, &change["notification_ids"][0], order).await;
            notice.verify(merchant);
            assert_order_fields(&notice, order, product, product.refunded());
            assert_payment_fields(&notice, order, product);
            assert_eq!(
                notice.field("refundOrderId"),
                change["refund"]["refund_order_id"]
            );
            assert_eq!(notice.field("refundAmount"), amount);
            assert_eq!(
                notice.field("refundTargetOrderId"),
                change["refund"]["refund_target_order_id"]
            );
            assert!(!notice.field("refundPayTime").is_empty());
            assert_eq!(notice.field(description_field(product)), text);
            assert!(
                notify_ids.insert(notice.field("notifyId").to_owned()),
                "each change has its own notifyId"
            );
        }
        assert_eq!(first["refund"]["refund_order_id"], refund_no.as_str());

        let unpaid = create_order(
            &app,
            json!({"mid": mid, "product": product.name, "total_amount": 50}),
        )
        .await;
        let (status, closed) =
            move_order(&app, unpaid["id"].as_i64().unwrap(), product.closed()).await;
        assert_eq!(status, 200, "{closed}");
        let notice = delivered(
            &app,
            &receiver,
            &closed["notification_ids"][0],
            &closed["order"],
        )
        .await;
        notice.verify(merchant);
        assert_order_fields(&notice, &closed["order"], product, product.closed());
        // No description: the field is left out, not sent empty.
        for absent in [
            description_field(product),
            "billPayment",
            "targetSys",
            "payTime",
            "buyerId",
            "refundOrderId",
            "refundAmount",
        ] {
            assert_eq!(
                notice.get(absent),
                None,
                "a closed unpaid order's notice has no {absent}"
            );
        }
        assert!(notify_ids.insert(notice.field("notifyId").to_owned()));
    }
    assert_eq!(receiver.count(), 8, "one notice per change");
}

async fn extra_copies_send_identical_notices(db: TestDb) {
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let app = db.spawn(|_| {}).await;
    let merchant = create_merchant(
        &app,
        MID_A,
        json!({"notify_url": receiver.url("/n"), "extra_copies": 1}),
    )
    .await;
    let order = create_order(&app, json!({"mid": MID_A, "total_amount": 900})).await;
    let paid = pay(&app, &order, TRADE, "WXPay").await;
    let (status, refunded) = refund(&app, &order, json!({"amount": 900})).await;
    assert_eq!(status, 201, "{refunded}");
    let mut notify_ids = Vec::new();
    for change in [&paid, &refunded] {
        let ids = change["notification_ids"].as_array().unwrap();
        assert_eq!(ids.len(), 2, "the notice and one copy: {change}");
        assert_ne!(ids[0], ids[1]);
        let mut copies = Vec::new();
        for id in ids {
            copies.push(delivered(&app, &receiver, id, &change["order"]).await);
        }
        assert_eq!(copies[0].raw, copies[1].raw, "a copy is byte-identical");
        copies[0].verify(&merchant);
        notify_ids.push(copies[0].field("notifyId").to_owned());
    }
    assert_ne!(
        notify_ids[0], notify_ids[1],
        "another change, another notifyId"
    );
    let got = receiver.wait_for(4, WAIT).await;
    assert_eq!(got.len(), 4, "two changes, two copies each");
    for request in &got {
        let same = got.iter().filter(|r| r.body == request.body).count();
        assert_eq!(same, 2, "every body arrives exactly twice");
    }
}

/// The notifications of an order, once there are `n`; newest first.
async fn notices_of(app: &TestApp, order: &Value, n: usize) -> Vec<Value> {
    let path = format!(
        "/admin/v1/notifications?subject={}",
        percent(order["order_no"].as_str().unwrap())
    );
    let list = || async {
        let (status, list) = app.get(&path).await;
        assert_eq!(status, 200, "{list}");
        list["notifications"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let enough = eventually(WAIT, || async { list().await.len() >= n }).await;
    assert!(
        enough,
        "order {} has {} notices, not {n}",
        order["id"],
        list().await.len()
    );
    list().await
}

async fn buyers_pay_on_their_own_after_the_merchant_delay(db: TestDb) {
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let t0 = at("2024-07-01T02:00:00Z");
    let app = db
        .spawn_with_clock(Clock::fixed(t0), |s| {
            s.platform.consent_poll = std::time::Duration::from_millis(20);
        })
        .await;
    let merchant = create_merchant(
        &app,
        MID_A,
        json!({"notify_url": receiver.url("/n"), "auto_pay_after": "30s"}),
    )
    .await;
    assert_eq!(merchant["auto_pay_after"], "30s");
    let order = create_order(&app, json!({"mid": MID_A, "total_amount": 800})).await;
    let id = order["id"].as_i64().unwrap();
    assert_eq!(
        time(&order["pay_due_at"]),
        t0 + chrono::Duration::seconds(30)
    );
    // A sentinel that expires a second before the buyer pays: once it is closed, the
    // worker has looked for due payments at that time. Closed, it is never paid.
    let sentinel = create_order(
        &app,
        json!({"mid": MID_A, "total_amount": 1, "product": "bill", "expire_after": "29s"}),
    )
    .await;
    // An order paid by hand first is not paid again.
    let by_hand = create_order(&app, json!({"mid": MID_A, "total_amount": 2})).await;
    let paid = pay(&app, &by_hand, TRADE, "Alipay").await;
    delivered(
        &app,
        &receiver,
        &paid["notification_ids"][0],
        &paid["order"],
    )
    .await;
    assert_eq!(paid["order"]["pay_due_at"], Value::Null);

    app.clock.advance(chrono::Duration::seconds(29));
    wait_for_order(&app, sentinel["id"].as_i64().unwrap(), "CLOSED").await;
    let shown = show(&app, id).await;
    assert_eq!(
        shown["status"], "WAIT_BUYER_PAY",
        "not paid before its time"
    );
    let closing = notices_of(&app, &sentinel, 1).await;
    app.wait_for_status(closing[0]["id"].as_i64().unwrap(), "delivered", WAIT)
        .await;

    app.clock.advance(chrono::Duration::seconds(1));
    let shown = wait_for_order(&app, id, "TRADE_SUCCESS").await;
    assert_eq!(shown["payment"]["target_sys"], "WXPay", "{shown}");
    assert_eq!(
        time(&shown["payment"]["paid_at"]),
        t0 + chrono::Duration::seconds(30)
    );
    assert_eq!(shown["pay_due_at"], Value::Null);
    let sent = notices_of(&app, &shown, 1).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let notice = delivered(&app, &receiver, &sent[0]["id"], &shown).await;
    notice.verify(&merchant);
    assert_order_fields(&notice, &shown, TRADE, "TRADE_SUCCESS");
    assert_payment_fields(&notice, &shown, TRADE);

    // Well past every due time: the sentinel stays closed, nothing is paid twice.
    let later = create_order(
        &app,
        json!({"mid": MID_A, "total_amount": 3, "expire_after": "1m"}),
    )
    .await;
    app.clock.advance(chrono::Duration::seconds(60));
    wait_for_order(&app, later["id"].as_i64().unwrap(), "TRADE_SUCCESS").await;
    assert_eq!(
        show(&app, sentinel["id"].as_i64().unwrap()).await["status"],
        "CLOSED"
    );
    assert_eq!(
        show(&app, by_hand["id"].as_i64().unwrap()).await["payment"],
        paid["order"]["payment"]
    );
    assert_eq!(notices_of(&app, &by_hand, 1).await.len(), 1, "paid once");
    assert_eq!(notices_of(&app, &shown, 1).await.len(), 1, "paid once");
}

async fn unpaid_orders_close_when_they_expire(db: TestDb) {
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let t0 = at("2024-07-01T02:00:00Z");
    let app = db
        .spawn_with_clock(Clock::fixed(t0), |s| {
            s.platform.consent_poll = std::time::Duration::from_millis(20);
        })
        .await;
    let merchant = create_merchant(
        &app,
        MID_A,
        json!({"notify_url": receiver.url("/n"), "sign_type": "MD5"}),
    )
    .await;
    let create = |product: Product, expire: &str| {
        create_order(
            &app,
            json!({"mid": MID_A, "product": product.name, "total_amount": 10,
                   "expire_after": expire}),
        )
    };
    let trade = create(TRADE, "10m").await;
    let bill = create(BILL, "10m").await;
    let paid = create(TRADE, "10m").await;
    let sentinel = create(TRADE, "9m").await;
    assert_eq!(
        time(&trade["expires_at"]),
        t0 + chrono::Duration::minutes(10)
    );
    let moved = pay(&app, &paid, TRADE, "WXPay").await;
    delivered(
        &app,
        &receiver,
        &moved["notification_ids"][0],
        &moved["order"],
    )
    .await;

    // The sentinel closes a minute early; the others are still open then.
    app.clock.advance(chrono::Duration::minutes(9));
    wait_for_order(&app, sentinel["id"].as_i64().unwrap(), "TRADE_CLOSED").await;
    assert_eq!(
        show(&app, trade["id"].as_i64().unwrap()).await["status"],
        "WAIT_BUYER_PAY"
    );
    assert_eq!(
        show(&app, bill["id"].as_i64().unwrap()).await["status"],
        "UNPAID"
    );
    let closing = notices_of(&app, &sentinel, 1).await;
    app.wait_for_status(closing[0]["id"].as_i64().unwrap(), "delivered", WAIT)
        .await;

    app.clock.advance(chrono::Duration::minutes(1));
    for (order, product) in [(&trade, TRADE), (&bill, BILL)] {
        let closed = wait_for_order(&app, order["id"].as_i64().unwrap(), product.closed()).await;
        assert_eq!(
            time(&closed["closed_at"]),
            t0 + chrono::Duration::minutes(10)
        );
        assert_same_set(&closed["allowed_transitions"], &[]);
        let sent = notices_of(&app, &closed, 1).await;
        assert_eq!(sent.len(), 1, "{sent:?}");
        let notice = delivered(&app, &receiver, &sent[0]["id"], &closed).await;
        notice.verify(&merchant);
        assert_order_fields(&notice, &closed, product, product.closed());
        assert_eq!(notice.get("billPayment"), None);
        assert_eq!(notice.get("targetSys"), None);
    }
    let still = show(&app, paid["id"].as_i64().unwrap()).await;
    assert_eq!(
        still["status"], "TRADE_SUCCESS",
        "a paid order does not expire"
    );
    assert_eq!(still["closed_at"], Value::Null);
    assert_eq!(
        notices_of(&app, &paid, 1).await.len(),
        1,
        "only its payment"
    );
}

/// A buyer who would pay after the order expired never pays it: the order closes, even
/// when the worker first looks after both times have passed (a clock jump here; a worker
/// that was stopped or slow in production).
async fn an_order_expiring_before_its_buyer_pays_closes_unpaid(db: TestDb) {
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    let t0 = at("2024-07-01T02:00:00Z");
    let app = db
        .spawn_with_clock(Clock::fixed(t0), |s| {
            s.platform.consent_poll = std::time::Duration::from_millis(20);
        })
        .await;
    create_merchant(
        &app,
        MID_A,
        json!({"notify_url": receiver.url("/n"), "auto_pay_after": "30s"}),
    )
    .await;
    let order = create_order(
        &app,
        json!({"mid": MID_A, "total_amount": 10, "expire_after": "10s"}),
    )
    .await;
    let id = order["id"].as_i64().unwrap();
    assert!(
        time(&order["expires_at"]) < time(&order["pay_due_at"]),
        "{order}"
    );

    app.clock.advance(chrono::Duration::seconds(60));
    let moved = eventually(WAIT, || async {
        show(&app, id).await["status"] != "WAIT_BUYER_PAY"
    })
    .await;
    assert!(moved, "order {id} neither expired nor was paid");
    let settled = show(&app, id).await;
    assert_eq!(
        settled["status"], "TRADE_CLOSED",
        "the order expired 20s before its buyer would pay, but: {settled}"
    );
    assert_eq!(settled["payment"], Value::Null);
    let sent = notices_of(&app, &settled, 1).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let notice = delivered(&app, &receiver, &sent[0]["id"], &settled).await;
    assert_eq!(notice.field("status"), "TRADE_CLOSED");
}
