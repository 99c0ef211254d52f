//! Self-made QR codes and bills.updateQRCode (spec V3.5 §3.4, §4): a merchant's own
//! `qrCodeId` made with bills.getQRCode, its URL on the sandbox, lookups by it
//! (queryQRCodeInfo, the bill page, closeQRCode); updates that close the code's unpaid
//! bill and bind a new one, or bind one after the code's bill was paid or closed; and
//! every refusal, each with nothing changed. Each test runs on SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::gateway::{
    assert_refused, pay, s, test_merchant, today, written, Gateway, F, TEST_KEY, TEST_MID, TEST_SRC,
};
use crate::common::payment_notices::Notice;
use crate::common::payments::{create_merchant, MID_A, MID_B, NOWHERE, WAIT};
use crate::common::receiver::{Receiver, Reply};
use crate::common::{TestApp, TestDb};

both_backends!(
    a_self_made_code_takes_one_bill_after_another,
    an_update_or_a_code_outside_the_rules_changes_nothing,
);

/// A refused update: its mid, code and bill fields, and the errCode and words answered.
type Case<'a> = (&'a str, &'a str, Vec<(&'static str, F)>, &'a str, &'a str);

/// A code as the spec tells merchants to make them: the msgSrcId, a 17-digit time and 7
/// random digits.
const CODE: &str = "3194202612031200000001234567";

/// The fields of a bill `no` of `date` for `amount` fen, and `more`.
fn bill(
    no: &str,
    date: &str,
    amount: &str,
    more: Vec<(&'static str, F)>,
) -> Vec<(&'static str, F)> {
    let mut fields = vec![
        ("billNo", s(no)),
        ("billDate", s(date)),
        ("totalAmount", s(amount)),
    ];
    fields.extend(more);
    fields
}

/// bills.updateQRCode of `code` to bill `no` of `date` for `amount` fen, and `more`.
async fn update(
    gw: &Gateway,
    app: &TestApp,
    mid: &str,
    code: &str,
    bill_fields: Vec<(&'static str, F)>,
) -> Value {
    let mut fields = vec![("qrCodeId", s(code))];
    fields.extend(bill_fields);
    gw.call(app, "bills.updateQRCode", mid, fields).await
}

async fn a_self_made_code_takes_one_bill_after_another(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let receiver = Receiver::start(Reply::Body(200, "SUCCESS")).await;
    test_merchant(&app, &receiver.url("/notify")).await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let date = today(&app);
    let url = app.url(&format!("/bills/qrCode.do?id={CODE}"));

    let created = gw
        .call(
            &app,
            "bills.getQRCode",
            TEST_MID,
            bill(
                "3194202612032001",
                &date,
                "100",
                vec![("qrCodeId", s(CODE))],
            ),
        )
        .await;
    assert_eq!(created["errCode"], "SUCCESS", "{created}");
    assert_eq!(
        created["qrCodeId"], CODE,
        "the merchant's own code: {created}"
    );
    assert_eq!(
        created["billQRCode"], url,
        "the code's URL is the sandbox's bill page"
    );
    let info = gw.code_info(&app, CODE).await;
    assert_eq!(info["billNo"], "3194202612032001", "{info}");
    assert_eq!(info["qrCodeUrl"], url);
    let page = app.http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("3194202612032001") && page.contains("id=\"pay-WXPay\""),
        "{page}"
    );

    // The code's bill is unpaid: the update closes it and the code takes the new one.
    let updated = update(
        &gw,
        &app,
        TEST_MID,
        CODE,
        bill(
            "3194202612032002",
            &date,
            "200",
            vec![("memberId", s("M-7")), ("billStatus", s("UNPAID"))],
        ),
    )
    .await;
    assert_eq!(updated["errCode"], "SUCCESS", "{updated}");
    assert!(
        updated["errMsg"].as_str().unwrap().contains("closed"),
        "{updated}"
    );
    assert_eq!(updated["billNo"], "3194202612032002");
    assert_eq!(updated["billQRCode"], url, "the code keeps its URL");
    assert_eq!(updated["msgType"], "bills.updateQRCode");
    let first = gw.query(&app, "3194202612032001", &date).await;
    assert_eq!(first["billStatus"], "CLOSED", "{first}");
    let second = gw.query(&app, "3194202612032002", &date).await;
    assert_eq!(second["billStatus"], "UNPAID", "{second}");
    assert_eq!(second["qrCodeId"], CODE);
    assert_eq!(second["memberId"], "M-7");
    let info = gw.code_info(&app, CODE).await;
    assert_eq!(info["billNo"], "3194202612032002", "{info}");
    assert_eq!(info["totalAmount"], 200);
    let last = gw
        .call(&app, "bills.queryLastQRCode", TEST_MID, vec![])
        .await;
    assert_eq!(last["billNo"], "3194202612032002", "{last}");

    // The test merchant is notified of every change: the replaced bill's close came with
    // the update, then the payment of the new one.
    pay(&app, "3194202612032002", "Alipay").await;
    let got = receiver.wait_for(2, WAIT).await;
    let notices: Vec<Notice> = got
        .iter()
        .map(|r| Notice::parse(&r.path, &r.headers, &r.body))
        .collect();
    let of = |no: &str, status: &str| {
        notices
            .iter()
            .find(|n| n.get("billNo") == Some(no) && n.get("billStatus") == Some(status))
            .unwrap_or_else(|| panic!("no {status} notice of {no}: {notices:?}"))
    };
    assert_eq!(of("3194202612032001", "CLOSED").field("billQRCode"), url);
    let paid = of("3194202612032002", "PAID");
    assert_eq!(paid.field("billQRCode"), url);
    assert_eq!(paid.field("memberId"), "M-7");

    // Paid: the next bill takes the code, the paid one stays paid.
    let third = update(
        &gw,
        &app,
        TEST_MID,
        CODE,
        bill("3194202612032003", &date, "300", vec![]),
    )
    .await;
    assert_eq!(third["errCode"], "SUCCESS", "{third}");
    assert!(
        !third["errMsg"].as_str().unwrap().contains("closed"),
        "{third}"
    );
    assert_eq!(
        gw.query(&app, "3194202612032002", &date).await["billStatus"],
        "PAID"
    );
    let closed = gw
        .call(
            &app,
            "bills.closeQRCode",
            TEST_MID,
            vec![("qrCodeId", s(CODE))],
        )
        .await;
    assert_eq!(
        closed["billNo"], "3194202612032003",
        "closing the code closes its bill: {closed}"
    );
    assert_eq!(closed["billStatus"], "CLOSED");
    assert_eq!(
        gw.query(&app, "3194202612032002", &date).await["billStatus"],
        "PAID"
    );

    // Closed: the code takes a bill again, and its page shows that one.
    let fourth = update(
        &gw,
        &app,
        TEST_MID,
        CODE,
        bill("3194202612032004", &date, "400", vec![]),
    )
    .await;
    assert_eq!(fourth["errCode"], "SUCCESS", "{fourth}");
    let page = app
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("3194202612032004") && page.contains("¥4.00"),
        "{page}"
    );
    app.stop().await;
}

async fn an_update_or_a_code_outside_the_rules_changes_nothing(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    test_merchant(&app, NOWHERE).await;
    // Another merchant of the same source, and one of another source.
    create_merchant(
        &app,
        MID_A,
        json!({"msg_src": TEST_SRC, "msg_src_id": "3194", "md5_key": TEST_KEY, "sign_type": "MD5"}),
    )
    .await;
    create_merchant(
        &app,
        MID_B,
        json!({"msg_src": "OTHER.SRC", "msg_src_id": "3194", "md5_key": "other-key", "sign_type": "MD5"}),
    )
    .await;
    let gw = Gateway::new(TEST_SRC, TEST_KEY);
    let other = Gateway::new("OTHER.SRC", "other-key");
    let date = today(&app);
    let made = gw
        .call(
            &app,
            "bills.getQRCode",
            TEST_MID,
            bill("3194202612033001", &date, "5", vec![("qrCodeId", s(CODE))]),
        )
        .await;
    assert_eq!(made["errCode"], "SUCCESS", "{made}");
    let platform_made = gw
        .call(
            &app,
            "bills.getQRCode",
            TEST_MID,
            bill("3194202612033002", &date, "5", vec![]),
        )
        .await;
    let platform_code = platform_made["qrCodeId"].as_str().unwrap().to_owned();
    assert_eq!(
        platform_code.len(),
        26,
        "the platform's shape of code: {platform_made}"
    );
    let others = "3194202612039999000000000001";
    let theirs = other
        .call(
            &app,
            "bills.getQRCode",
            MID_B,
            bill(
                "3194202612033003",
                &date,
                "5",
                vec![("qrCodeId", s(others))],
            ),
        )
        .await;
    assert_eq!(theirs["errCode"], "SUCCESS", "{theirs}");
    let before = written(&app).await;

    let next = |more: Vec<(&'static str, F)>| bill("3194202612033009", &date, "7", more);
    let updates: Vec<Case> = vec![
        (
            TEST_MID,
            "3194000000000000000000000404",
            next(vec![]),
            "NO_ORDER",
            "no QR code",
        ),
        (TEST_MID, others, next(vec![]), "NO_ORDER", "no QR code"),
        (
            MID_A,
            CODE,
            next(vec![]),
            "OPERATION_NOT_ALLOWED",
            "mid 898340149000005",
        ),
        (
            TEST_MID,
            CODE,
            next(vec![("instMid", s("QRPAYTEST"))]),
            "OPERATION_NOT_ALLOWED",
            "instMid QRPAYDEFAULT",
        ),
        (
            TEST_MID,
            CODE,
            bill("3194202612033001", &date, "7", vec![]),
            "DUP_ORDER",
            "holds now",
        ),
        (
            TEST_MID,
            CODE,
            bill("3194202612033002", &date, "7", vec![]),
            "DUP_ORDER",
            "already used",
        ),
        (
            TEST_MID,
            CODE,
            vec![("billDate", s(&date)), ("totalAmount", s("7"))],
            "BAD_REQUEST",
            "billNo is required",
        ),
        (
            TEST_MID,
            CODE,
            next(vec![("billStatus", s("PAYING"))]),
            "BAD_REQUEST",
            "billStatus",
        ),
        (
            TEST_MID,
            CODE,
            next(vec![("counterNo", s("c".repeat(40)))]),
            "BAD_REQUEST",
            "counterNo",
        ),
        (
            TEST_MID,
            CODE,
            next(vec![("totalAmount", s("seven"))]),
            "BAD_REQUEST",
            "totalAmount",
        ),
    ];
    for (mid, code, fields, errcode, says) in updates {
        let answer = update(&gw, &app, mid, code, fields).await;
        assert_refused(&answer, errcode, says);
        assert_eq!(
            written(&app).await,
            before,
            "{errcode} {says:?} wrote something"
        );
    }
    let unnamed = gw
        .call(&app, "bills.updateQRCode", TEST_MID, next(vec![]))
        .await;
    assert_refused(&unnamed, "BAD_REQUEST", "qrCodeId is required");

    let creates: Vec<(&str, &str, &str)> = vec![
        (CODE, "DUP_ORDER", "already a QR code"),
        (others, "DUP_ORDER", "already a QR code"),
        (
            "1017202612031200000001234567",
            "BAD_REQUEST",
            "source number",
        ),
        (
            "31942026120312000000012345678901X",
            "BAD_REQUEST",
            "qrCodeId",
        ),
    ];
    for (code, errcode, says) in creates {
        let answer = gw
            .call(
                &app,
                "bills.getQRCode",
                TEST_MID,
                next(vec![("qrCodeId", s(code))]),
            )
            .await;
        assert_refused(&answer, errcode, says);
        assert_eq!(
            written(&app).await,
            before,
            "getQRCode {code} wrote something"
        );
    }
    // The code still holds its first bill, unpaid.
    assert_eq!(gw.code_info(&app, CODE).await["billNo"], "3194202612033001");
    assert_eq!(
        gw.query(&app, "3194202612033001", &date).await["billStatus"],
        "UNPAID"
    );
    app.stop().await;
}
