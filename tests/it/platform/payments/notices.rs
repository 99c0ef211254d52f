//! Payment-result notices end to end, with a real receiver: the signed form body of a
//! paid, refunded or closed order of both products (checked as a merchant would, with the
//! hash crates directly), Chinese text on the wire, the SUCCESS rule and its retries, and
//! extra copies. Each test runs against SQLite and PostgreSQL.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::common::payment_notices::{
    assert_order_fields, assert_payment_fields, delivered, description_field, expected_sign,
    form_encoded, Notice,
};
use crate::common::payments::{
    create_merchant, create_order, move_order, msg_src_id, pay, refund, BILL, MID_A, MID_B, TRADE,
    WAIT,
};
use crate::common::{Receiver, Reply, TestDb};
use ums_notify::policy::RetrySchedule;

both_backends!(
    paid_notices_are_signed_forms_with_chinese_text_decoded,
    a_200_without_success_is_retried_and_success_ends_it,
    refund_and_close_notices_carry_their_state,
    extra_copies_send_identical_notices,
);

const DESCRIPTION: &str = "测试商品 一号";

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
            // The order's own address first, then the merchant's (which goes nowhere).
            assert_eq!(ids.len(), 2, "{moved}");
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
        // An answer that contains SUCCESS ends it at once, as on the platform (spec
        // §13: it re-sends only when the answer does not contain SUCCESS).
        (TRADE, vec![Reply::Body(200, "\"SUCCESS\"")], vec![]),
        (
            BILL,
            vec![
                Reply::Body(200, "FAIL"),
                Reply::Body(200, "{\"result\":\"SUCCESS\"}"),
            ],
            vec![("unexpected_body", "FAIL")],
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
        assert_eq!(
            done["success"],
            json!({"status": 200, "body": "SUCCESS", "match": "contains"})
        );
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
