//! Helpers of the netpay tests: the API paths, the merchant they call as, request bodies
//! with the fields every netpay request carries, netpay's answers, and the admin id of an
//! order the merchant made.

use serde_json::{json, Value};

use super::platform::{cst, Merchant, MID};
use super::TestApp;

pub const GET_QRCODE: &str = "/v1/netpay/bills/get-qrcode";
pub const BILL_QUERY: &str = "/v1/netpay/bills/query";
pub const BILL_REFUND: &str = "/v1/netpay/bills/refund";
pub const BILL_CLOSE: &str = "/v1/netpay/bills/close-qrcode";
pub const UNIFIED_ORDER: &str = "/v1/netpay/wx/unified-order";
pub const QUERY: &str = "/v1/netpay/query";
pub const CLOSE: &str = "/v1/netpay/close";
pub const REFUND: &str = "/v1/netpay/refund";
pub const REFUND_QUERY: &str = "/v1/netpay/refund-query";
pub const SRC: &str = "3194";

/// The merchant `MID` with the source number `SRC`, notified nowhere that listens.
pub async fn merchant(app: &TestApp) -> Merchant {
    app.create_merchant(
        MID,
        json!({"notify_url": "http://127.0.0.1:9/notify", "msg_src_id": SRC}),
    )
    .await
}

/// A request body with the fields every netpay request carries, plus `extra`.
pub fn body(app: &TestApp, inst_mid: &str, extra: Value) -> Value {
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

pub fn assert_success(answer: &Value) {
    assert_eq!(answer["errCode"], "SUCCESS", "{answer}");
    assert!(answer["responseTimestamp"].is_string(), "{answer}");
}

pub fn assert_error(answer: &Value, code: &str, says: &str) {
    assert_eq!(answer["errCode"], code, "{answer}");
    let message = answer["errMsg"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{says:?} not in {answer}");
}

/// The admin id of the merchant's order `order_no`.
pub async fn admin_id(app: &TestApp, order_no: &str) -> i64 {
    let (status, list) = app.get(&format!("/admin/v1/orders?mid={MID}")).await;
    assert_eq!(status, 200, "{list}");
    list["orders"]
        .as_array()
        .and_then(|orders| orders.iter().find(|o| o["order_no"] == order_no))
        .and_then(|o| o["id"].as_i64())
        .unwrap_or_else(|| panic!("no order {order_no} in {list}"))
}

/// `fields` with the fields of `extra` added (or replaced).
pub fn extended(mut fields: Value, extra: Value) -> Value {
    if let (Some(map), Value::Object(extra)) = (fields.as_object_mut(), extra) {
        map.extend(extra);
    }
    fields
}
