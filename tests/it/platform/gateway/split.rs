//! Split bills (分账, spec §3.4 divisionFlag, §3.8 refunds) through the gateway, called by
//! the spec-written client: a bill split by subOrders refunded one sub-merchant at a
//! time, a share asked for more than it has left refused with nothing changed, and the
//! rest refunded in full without the split fields; a bill split by goods (sent as JSON
//! text, as a Python client sends it) shared in proportion; the refusals of each creation
//! rule in [`refusals`]. Each test runs on SQLite and PostgreSQL.

mod refusals;

use serde_json::Value;

use crate::common::gateway::{
    admin_id, assert_refused, pay, raw, s, test_merchant, today, Gateway, F, TEST_KEY, TEST_MID,
    TEST_SRC,
};
use crate::common::payments::{order_count, show, NOWHERE};
use crate::common::{TestApp, TestDb};

both_backends!(
    a_bill_split_by_sub_orders_is_refunded_share_by_share,
    a_bill_split_by_goods_shares_the_rest_in_proportion,
);

pub(super) const SUB_1: &str = "898340149000101";
pub(super) const SUB_2: &str = "898340149000102";

pub(super) fn bill(no: &str, date: &str, more: Vec<(&'static str, F)>) -> Vec<(&'static str, F)> {
    let mut fields = vec![("billNo", s(no)), ("billDate", s(date))];
    fields.extend(more);
    fields
}

/// The one sub-merchant of a partial refund, as the spec's `subOrders` array.
fn one_sub(mid: &str, amount: i64) -> F {
    raw(format!(r#"[{{"mid":"{mid}","totalAmount":"{amount}"}}]"#))
}

/// A refused refund: its fields, and the errCode and the words answered.
type Case<'a> = (Vec<(&'static str, F)>, &'a str, &'a str);

/// What a refused call must leave as it was: the orders, the bill's refunds and plan,
/// and the outbox.
pub(super) async fn unchanged(app: &TestApp, id: i64) -> (usize, Value, Value, u64) {
    let order = show(app, id).await;
    (
        order_count(app).await,
        order["refunds"].clone(),
        order["split"].clone(),
        app.stored_total().await,
    )
}

/// The `(mid, amount, refunded, left)` of each share of bill `id`, the platform's first
/// (its mid empty).
async fn shares(app: &TestApp, id: i64) -> Vec<(String, i64, i64, i64)> {
    let order = show(app, id).await;
    let split = &order["split"];
    let row = |share: &Value| {
        (
            share["mid"].as_str().unwrap_or_default().to_owned(),
            share["amount"].as_i64().unwrap_or(-1),
            share["refunded"].as_i64().unwrap_or(-1),
            share["left"].as_i64().unwrap_or(-1),
        )
    };
    let mut rows = vec![row(&split["platform"])];
    let subs = split["sub_orders"].as_array().cloned().unwrap_or_default();
    rows.extend(subs.iter().map(row));
    rows
}

async fn a_bill_split_by_sub_orders_is_refunded_share_by_share(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    test_merchant(&app, NOWHERE).await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let date = today(&app);
    let no = "3194202612035001";
    let plan = format!(
        r#"[{{"mid":"{SUB_1}","totalAmount":"600"}},{{"mid":"{SUB_2}","totalAmount":300}}]"#
    );
    let created = gw
        .call(
            &app,
            "bills.getQRCode",
            TEST_MID,
            bill(
                no,
                &date,
                vec![
                    ("totalAmount", s("1000")),
                    ("divisionFlag", s("true")),
                    ("platformAmount", s("100")),
                    ("subOrders", raw(plan)),
                ],
            ),
        )
        .await;
    assert_eq!(created["errCode"], "SUCCESS", "{created}");
    let id = admin_id(&app, no).await;
    assert_eq!(show(&app, id).await["split"]["by"], "subOrders");
    assert_eq!(
        shares(&app, id).await,
        [
            (String::new(), 100, 0, 100),
            (SUB_1.to_owned(), 600, 0, 600),
            (SUB_2.to_owned(), 300, 0, 300),
        ]
    );
    pay(&app, no, "WXPay").await;
    let query = gw.query(&app, no, &date).await;
    assert_eq!(query["billStatus"], "PAID", "{query}");
    for name in ["subOrders", "platformAmount", "divisionFlag"] {
        assert!(
            query.get(name).is_none(),
            "the query lists no plan: {query}"
        );
    }

    let refund = |refund_no: &str, amount: i64, mid: &str, sub: i64, platform: i64| {
        bill(
            no,
            &date,
            vec![
                ("refundOrderId", s(refund_no)),
                ("refundAmount", s(amount.to_string())),
                ("platformAmount", s(platform.to_string())),
                ("subOrders", one_sub(mid, sub)),
            ],
        )
    };
    let first = gw
        .call(
            &app,
            "bills.refund",
            TEST_MID,
            refund("3194R5001", 450, SUB_1, 400, 50),
        )
        .await;
    assert_eq!(first["errCode"], "SUCCESS", "{first}");
    assert_eq!(first["refundAmount"], 450, "{first}");
    assert_eq!(first["billStatus"], "REFUND");
    let second = gw
        .call(
            &app,
            "bills.refund",
            TEST_MID,
            refund("3194R5002", 300, SUB_2, 300, 0),
        )
        .await;
    assert_eq!(second["errCode"], "SUCCESS", "{second}");
    assert_eq!(
        shares(&app, id).await,
        [
            (String::new(), 100, 50, 50),
            (SUB_1.to_owned(), 600, 400, 200),
            (SUB_2.to_owned(), 300, 300, 0),
        ]
    );

    let before = unchanged(&app, id).await;
    let two =
        format!(r#"[{{"mid":"{SUB_1}","totalAmount":"1"}},{{"mid":"{SUB_2}","totalAmount":"1"}}]"#);
    let cases: Vec<Case> = vec![
        (
            refund("3194R5003", 201, SUB_1, 201, 0),
            "OPERATION_NOT_ALLOWED",
            "more than the 200 fen left of sub-merchant 898340149000101",
        ),
        (
            refund("3194R5003", 1, SUB_2, 1, 0),
            "OPERATION_NOT_ALLOWED",
            "0 fen left of sub-merchant 898340149000102",
        ),
        (
            refund("3194R5003", 51, SUB_1, 0, 51),
            "OPERATION_NOT_ALLOWED",
            "more than the 50 fen left of the platform's share",
        ),
        (
            refund("3194R5003", 60, SUB_1, 50, 0),
            "BAD_REQUEST",
            "expected 50 (50 + 0) fen, received 60",
        ),
        (
            refund("3194R5003", 10, "898340149000999", 10, 0),
            "BAD_REQUEST",
            "898340149000999 is no sub-merchant",
        ),
        (
            bill(
                no,
                &date,
                vec![
                    ("refundOrderId", s("3194R5003")),
                    ("refundAmount", s("2")),
                    ("platformAmount", s("0")),
                    ("subOrders", raw(two)),
                ],
            ),
            "BAD_REQUEST",
            "exactly one sub-merchant",
        ),
        (
            bill(
                no,
                &date,
                vec![
                    ("refundOrderId", s("3194R5003")),
                    ("refundAmount", s("100")),
                ],
            ),
            "BAD_REQUEST",
            "a full refund (refundAmount 250) sends neither",
        ),
        (
            bill(
                no,
                &date,
                vec![
                    ("refundOrderId", s("3194R5003")),
                    ("refundAmount", s("10")),
                    ("subOrders", one_sub(SUB_1, 10)),
                ],
            ),
            "BAD_REQUEST",
            "platformAmount is required with subOrders",
        ),
        (
            bill(
                no,
                &date,
                vec![
                    ("refundOrderId", s("3194R5003")),
                    ("refundAmount", s("10")),
                    ("platformAmount", s("10")),
                    (
                        "subOrders",
                        s("[{\"mid\":\"short\",\"totalAmount\":\"0\"}]"),
                    ),
                ],
            ),
            "BAD_REQUEST",
            "subOrders[0].mid must be 8 to 32",
        ),
    ];
    for (fields, code, says) in cases {
        let answer = gw.call(&app, "bills.refund", TEST_MID, fields).await;
        assert_refused(&answer, code, says);
        assert_eq!(
            unchanged(&app, id).await,
            before,
            "{code} {says} changed something"
        );
    }

    // The rest, in full: neither platformAmount nor subOrders (spec V3.4).
    let rest = gw
        .call(
            &app,
            "bills.refund",
            TEST_MID,
            bill(
                no,
                &date,
                vec![
                    ("refundOrderId", s("3194R5004")),
                    ("refundAmount", s("250")),
                ],
            ),
        )
        .await;
    assert_eq!(rest["errCode"], "SUCCESS", "{rest}");
    let order = show(&app, id).await;
    assert_eq!(order["refunded_amount"], 1000, "{order}");
    assert_eq!(
        order["refunds"].as_array().map(Vec::len),
        Some(3),
        "{order}"
    );
    assert!(
        shares(&app, id)
            .await
            .iter()
            .all(|(_, _, _, left)| *left == 0),
        "{order}"
    );
    app.stop().await;
}

async fn a_bill_split_by_goods_shares_the_rest_in_proportion(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    test_merchant(&app, NOWHERE).await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let date = today(&app);
    let no = "3194202612035101";
    // As JSON text, as a Python client sends a list; the two items of SUB_1 add up.
    let goods = format!(
        r#"[{{"goodsId":"1","goodsName":"茶","quantity":"1","price":"700","subMerchantId":"{SUB_1}","subOrderAmount":"700"}},{{"goodsId":"2","subMerchantId":"{SUB_2}","subOrderAmount":200}},{{"goodsId":"3","subMerchantId":"{SUB_1}","subOrderAmount":"100"}}]"#
    );
    let created = gw
        .call(
            &app,
            "bills.getQRCode",
            TEST_MID,
            bill(
                no,
                &date,
                vec![
                    ("totalAmount", s("1000")),
                    ("divisionFlag", s("true")),
                    ("platformAmount", s("100")),
                    ("goods", s(goods)),
                ],
            ),
        )
        .await;
    assert_eq!(created["errCode"], "SUCCESS", "{created}");
    let id = admin_id(&app, no).await;
    assert_eq!(show(&app, id).await["split"]["by"], "goods");
    // 900 fen after the platform's 100, as 800 : 200.
    assert_eq!(
        shares(&app, id).await,
        [
            (String::new(), 100, 0, 100),
            (SUB_1.to_owned(), 720, 0, 720),
            (SUB_2.to_owned(), 180, 0, 180),
        ]
    );
    pay(&app, no, "Alipay").await;
    let partial = gw
        .call(
            &app,
            "bills.refund",
            TEST_MID,
            bill(
                no,
                &date,
                vec![
                    ("refundOrderId", s("3194R5101")),
                    ("refundAmount", s("180")),
                    ("platformAmount", s("0")),
                    (
                        "subOrders",
                        s(format!(r#"[{{"mid":"{SUB_2}","totalAmount":180}}]"#)),
                    ),
                ],
            ),
        )
        .await;
    assert_eq!(partial["errCode"], "SUCCESS", "{partial}");
    assert_eq!(shares(&app, id).await[2], (SUB_2.to_owned(), 180, 180, 0));

    // A bill that is not split takes no share in a refund.
    let plain = "3194202612035102";
    let made = gw
        .call(
            &app,
            "bills.getQRCode",
            TEST_MID,
            bill(plain, &date, vec![("totalAmount", s("500"))]),
        )
        .await;
    assert_eq!(made["errCode"], "SUCCESS", "{made}");
    pay(&app, plain, "WXPay").await;
    let plain_id = admin_id(&app, plain).await;
    assert!(show(&app, plain_id).await.get("split").is_none());
    let before = unchanged(&app, plain_id).await;
    let refused = gw
        .call(
            &app,
            "bills.refund",
            TEST_MID,
            bill(
                plain,
                &date,
                vec![
                    ("refundAmount", s("100")),
                    ("platformAmount", s("0")),
                    ("subOrders", one_sub(SUB_1, 100)),
                ],
            ),
        )
        .await;
    assert_refused(&refused, "BAD_REQUEST", "is not split");
    assert_eq!(unchanged(&app, plain_id).await, before);
    app.stop().await;
}
