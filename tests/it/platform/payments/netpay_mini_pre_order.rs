//! `POST /v1/netpay/wx/mini-pre-order`, the mini-program order some clients call instead
//! of `wx/unified-order`: the same request and answer (`miniPayRequest` for the wallet,
//! with the request's `subAppId` as its `appId`), the same orders (one number space,
//! queried and refused alike), and it is in the API description. Each test runs against
//! SQLite and PostgreSQL.

use serde_json::{json, Value};

use crate::common::netpay::{
    assert_error, assert_success, body, merchant, QUERY, SRC, UNIFIED_ORDER,
};
use crate::common::TestDb;

const MINI_PRE_ORDER: &str = "/v1/netpay/wx/mini-pre-order";

both_backends!(a_mini_pre_order_is_a_mini_program_order);

async fn a_mini_pre_order_is_a_mini_program_order(db: TestDb) {
    let app = db.spawn(|_| {}).await;
    let shop = merchant(&app).await;
    let order = |no: &str, extra: Value| {
        let mut fields = json!({"merOrderId": no, "totalAmount": 199, "tradeType": "MINI",
                                "subAppId": "wx0123456789abcdef", "subOpenId": "o-buyer"});
        if let (Some(map), Value::Object(extra)) = (fields.as_object_mut(), extra) {
            map.extend(extra);
        }
        body(&app, "MINIDEFAULT", fields)
    };
    let created = shop
        .call(&app, MINI_PRE_ORDER, &order("3194P0001", json!({})))
        .await;
    assert_success(&created);
    assert_eq!(
        (
            &created["merOrderId"],
            &created["status"],
            &created["totalAmount"],
            &created["targetSys"],
        ),
        (
            &json!("3194P0001"),
            &json!("WAIT_BUYER_PAY"),
            &json!(199),
            &json!("WXPay")
        ),
        "{created}"
    );
    let wallet = &created["miniPayRequest"];
    assert!(
        wallet["package"]
            .as_str()
            .is_some_and(|p| p.starts_with("prepay_id=")),
        "{created}"
    );
    assert_eq!(wallet["appId"], "wx0123456789abcdef", "{created}");
    for field in ["timeStamp", "nonceStr", "signType", "paySign"] {
        assert!(wallet[field].is_string(), "{field}: {created}");
    }
    assert!(created["prepayId"].is_string() && created["merName"].is_string());

    let queried = shop
        .call(
            &app,
            QUERY,
            &body(&app, "MINIDEFAULT", json!({"merOrderId": "3194P0001"})),
        )
        .await;
    assert_eq!(queried["status"], "WAIT_BUYER_PAY", "{queried}");
    let taken = shop
        .call(&app, UNIFIED_ORDER, &order("3194P0001", json!({})))
        .await;
    assert_error(&taken, "DUP_ORDER", "3194P0001");
    let bad = shop
        .call(
            &app,
            MINI_PRE_ORDER,
            &order("1017P0002", json!({"tradeType": "MINI"})),
        )
        .await;
    assert_error(&bad, "BAD_REQUEST", SRC);

    let (status, description) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(
        description["paths"][MINI_PRE_ORDER]["post"].is_object(),
        "mini-pre-order is described"
    );
    app.stop().await;
}
