//! Each rule of making a split bill broken once, through the gateway and the
//! open-platform `bills/get-qrcode` alike: BAD_REQUEST naming what was expected and what
//! came, and nothing written; and the open-platform `bills/refund` refunding a split bill
//! by the gateway's rules. Each test runs on SQLite and PostgreSQL.

use serde_json::json;

use super::{bill, SUB_1, SUB_2};
use crate::common::gateway::{
    assert_refused, raw, s, test_merchant, today, written, Gateway, F, TEST_KEY, TEST_MID, TEST_SRC,
};
use crate::common::netpay::{
    admin_id, assert_error, assert_success, body, extended, merchant, BILL_REFUND, GET_QRCODE,
};
use crate::common::payments::{show, NOWHERE};
use crate::common::TestDb;

both_backends!(
    each_rule_of_a_split_is_refused_with_nothing_written,
    the_open_platform_door_splits_and_refunds_by_the_same_rules,
);

fn subs(pairs: &[(&str, &str)]) -> F {
    let items: Vec<String> = pairs
        .iter()
        .map(|(mid, amount)| format!(r#"{{"mid":"{mid}","totalAmount":"{amount}"}}"#))
        .collect();
    raw(format!("[{}]", items.join(",")))
}

async fn each_rule_of_a_split_is_refused_with_nothing_written(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    test_merchant(&app, NOWHERE).await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let date = today(&app);
    let split = |more: Vec<(&'static str, F)>| {
        let mut fields = vec![("totalAmount", s("1000")), ("divisionFlag", s("true"))];
        fields.extend(more);
        bill("3194202612035201", &date, fields)
    };
    let many: Vec<String> = (0..21).map(|i| format!("8983401490{i:05}")).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|mid| (mid.as_str(), "0")).collect();
    let cases: Vec<(Vec<(&'static str, F)>, &str)> = vec![
        (split(vec![("divisionFlag", s("yes"))]), "divisionFlag must be \"true\" or \"false\"; received \"yes\""),
        (
            split(vec![("subOrders", subs(&[(SUB_1, "1000")]))]),
            "platformAmount is required when divisionFlag is true",
        ),
        (
            split(vec![("platformAmount", s("100000001")), ("subOrders", subs(&[(SUB_1, "1000")]))]),
            "platformAmount must be a whole number of fen from 0 to 100000000; received \"100000001\"",
        ),
        (split(vec![("platformAmount", s("0"))]), "received neither"),
        (
            split(vec![("platformAmount", s("100")), ("subOrders", subs(&[(SUB_1, "600"), (SUB_2, "200")]))]),
            "expected 1000 fen, received 800 + 100 = 900 fen",
        ),
        (
            split(vec![("platformAmount", s("0")), ("subOrders", subs(&[("1234567", "1000")]))]),
            "subOrders[0].mid must be 8 to 32 ASCII letters or digits; received \"1234567\"",
        ),
        (
            split(vec![("platformAmount", s("0")), ("subOrders", subs(&[(SUB_1, "500"), (SUB_1, "500")]))]),
            "received mid 898340149000101 twice",
        ),
        (
            split(vec![("platformAmount", s("0")), ("subOrders", subs(&many))]),
            "1 to 20 sub-merchants; received 21",
        ),
        (
            split(vec![("platformAmount", s("0")), ("subOrders", s("[{\"mid\":"))]),
            "subOrders must be a JSON array of objects, or its JSON text",
        ),
        (
            split(vec![("platformAmount", s("0")), ("subOrders", raw(format!(r#"[{{"mid":"{SUB_1}"}}]"#)))]),
            "subOrders[0].totalAmount is required",
        ),
        (
            split(vec![
                ("platformAmount", s("100")),
                ("goods", raw(format!(r#"[{{"goodsId":"1","subMerchantId":"{SUB_1}","subOrderAmount":"900"}}]"#))),
            ]),
            "the sum of goods.subOrderAmount must be totalAmount: expected 1000 fen, received 900 fen",
        ),
        (
            split(vec![("platformAmount", s("0")), ("goods", raw(r#"[{"goodsId":"1","subOrderAmount":"1000"}]"#))]),
            "goods[0].subMerchantId is required",
        ),
        (
            split(vec![
                ("platformAmount", s("0")),
                ("goods", raw(format!(r#"[{{"subMerchantId":"{SUB_1}","subOrderAmount":"1000"}}]"#))),
                ("subOrders", subs(&[(SUB_1, "1000")])),
            ]),
            "not both",
        ),
        (
            split(vec![
                ("platformAmount", s("1001")),
                ("goods", raw(format!(r#"[{{"subMerchantId":"{SUB_1}","subOrderAmount":"1000"}}]"#))),
            ]),
            "expected at most 1000 fen, received 1001",
        ),
        (
            split(vec![
                ("platformAmount", s("0")),
                ("subOrders", subs(&[(SUB_1, "1000")])),
                ("secureTransaction", s("true")),
            ]),
            "secureTransaction must be false or absent when divisionFlag is true",
        ),
        (
            bill("3194202612035201", &date, vec![("totalAmount", s("1000")), ("platformAmount", s("0"))]),
            "platformAmount goes with a split bill",
        ),
        (
            vec![("totalAmount", s("1000")), ("divisionFlag", s("true"))],
            "divisionFlag must be false or absent for a fixed code",
        ),
    ];
    let before = written(&app).await;
    for (fields, says) in cases {
        let answer = gw.call(&app, "bills.getQRCode", TEST_MID, fields).await;
        assert_refused(&answer, "BAD_REQUEST", says);
        assert_eq!(written(&app).await, before, "{says} wrote something");
    }
    app.stop().await;
}

async fn the_open_platform_door_splits_and_refunds_by_the_same_rules(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let shop = merchant(&app).await;
    let date = today(&app);
    let no = "3194B5301";
    let fields = json!({
        "billNo": no, "billDate": date, "totalAmount": 1000, "divisionFlag": true,
        "platformAmount": 100,
        "subOrders": [{"mid": SUB_1, "totalAmount": 600}, {"mid": SUB_2, "totalAmount": 300}],
    });
    let before = written(&app).await;
    let wrong = extended(fields.clone(), json!({"platformAmount": 0}));
    let refused = shop
        .call(&app, GET_QRCODE, &body(&app, "QRPAYDEFAULT", wrong))
        .await;
    assert_error(&refused, "BAD_REQUEST", "received 900 + 0 = 900 fen");
    assert_eq!(written(&app).await, before);
    let created = shop
        .call(&app, GET_QRCODE, &body(&app, "QRPAYDEFAULT", fields))
        .await;
    assert_success(&created);
    let id = admin_id(&app, no).await;
    let (status, paid) = app
        .post(
            &format!("/admin/v1/orders/{id}/transitions"),
            json!({"to": "PAID"}),
        )
        .await;
    assert_eq!(status, 200, "{paid}");

    let refund = |refund_no: &str, sub: i64, platform: i64| {
        json!({
            "billNo": no, "billDate": date, "refundOrderId": refund_no,
            "refundAmount": sub + platform, "platformAmount": platform,
            "subOrders": [{"mid": SUB_1, "totalAmount": sub}],
        })
    };
    let done = shop
        .call(
            &app,
            BILL_REFUND,
            &body(&app, "QRPAYDEFAULT", refund("3194R5301", 500, 100)),
        )
        .await;
    assert_success(&done);
    let order = show(&app, id).await;
    let over = shop
        .call(
            &app,
            BILL_REFUND,
            &body(&app, "QRPAYDEFAULT", refund("3194R5302", 101, 0)),
        )
        .await;
    assert_error(
        &over,
        "OPERATION_NOT_ALLOWED",
        "the 100 fen left of sub-merchant",
    );
    let partial =
        json!({"billNo": no, "billDate": date, "refundOrderId": "3194R5302", "refundAmount": 10});
    let bare = shop
        .call(&app, BILL_REFUND, &body(&app, "QRPAYDEFAULT", partial))
        .await;
    assert_error(&bare, "BAD_REQUEST", "needs subOrders");
    assert_eq!(
        show(&app, id).await,
        order,
        "a refused refund changed the bill"
    );
    // The admin API names no share: it refunds a split bill in full only.
    let (status, admin) = app
        .post(
            &format!("/admin/v1/orders/{id}/refunds"),
            json!({"amount": 10}),
        )
        .await;
    assert_eq!(status, 422, "{admin}");
    let (status, admin) = app
        .post(
            &format!("/admin/v1/orders/{id}/refunds"),
            json!({"amount": 400}),
        )
        .await;
    assert_eq!(status, 201, "{admin}");
    assert_eq!(
        admin["order"]["split"]["sub_orders"][1]["left"], 0,
        "{admin}"
    );
    app.stop().await;
}
