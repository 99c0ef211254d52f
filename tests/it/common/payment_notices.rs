//! Helpers of the payment-result notice tests: a notice as the receiver got it, checked as
//! a merchant would check it (the `sign` computed here with the hash crates directly, not
//! with the crate's code), the fields every notice of an order carries, and waiting for an
//! order's notices.

use std::collections::HashSet;

use axum::http::HeaderMap;
use md5::Md5;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::payments::{Product, WAIT};
use super::{eventually, Receiver, TestApp};

/// Every field name a notice may carry, from the platform's documentation; a notice
/// carries exactly one more, with a random two-letter name.
const DOCUMENTED: &str = "mid tid instMid billNo billQRCode qrCodeId billDate createTime \
    billStatus billDesc totalAmount memberId counterNo merName notifyId seqId receiptAmount billPayment merOrderId \
    status buyerPayAmount invoiceAmount payTime settleDate targetSys targetOrderId buyerId \
    orderDesc refundOrderId refundAmount refundPayTime refundTargetOrderId sign signType";

/// A notice as the receiver got it.
#[derive(Debug, Clone)]
pub struct Notice {
    pub path: String,
    pub headers: HeaderMap,
    pub raw: Vec<u8>,
    pub fields: Vec<(String, String)>,
}

impl Notice {
    pub fn parse(path: &str, headers: &HeaderMap, raw: &[u8]) -> Self {
        Self {
            path: path.to_owned(),
            headers: headers.clone(),
            raw: raw.to_vec(),
            fields: url::form_urlencoded::parse(raw).into_owned().collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A field that must be there.
    pub fn field(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| panic!("the notice has no {name}: {:?}", self.fields))
    }

    /// Checks the form and its `sign` as a merchant holding `merchant`'s key would.
    pub fn verify(&self, merchant: &Value) {
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
        // As the platform sends them: an MD5 notice names no signType (absent means
        // MD5); a SHA-256 one says so.
        match sign_type {
            "MD5" => assert_eq!(self.get("signType"), None, "{:?}", self.fields),
            _ => assert_eq!(self.field("signType"), sign_type),
        }
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
pub fn expected_sign(fields: &[(String, String)], key: &str, sign_type: &str) -> String {
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
pub fn form_encoded(text: &str) -> String {
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
pub async fn delivered(app: &TestApp, receiver: &Receiver, id: &Value, order: &Value) -> Notice {
    let id = id.as_i64().unwrap_or_else(|| panic!("not an id: {id}"));
    let done = app.wait_for_status(id, "delivered", WAIT).await;
    assert_eq!(done["kind"], "payment_result", "{done}");
    assert_eq!(done["tenant"], order["mid"]);
    assert_eq!(done["subject"], order["order_no"]);
    assert_eq!(
        done["success"],
        json!({"status": 200, "body": "SUCCESS", "match": "contains"})
    );
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
pub fn assert_order_fields(notice: &Notice, order: &Value, product: Product, status: &str) {
    assert_eq!(notice.field("mid"), order["mid"]);
    assert_eq!(notice.field("tid"), order["tid"]);
    assert_eq!(notice.field("instMid"), order["inst_mid"]);
    assert_eq!(
        notice.field("totalAmount"),
        order["total_amount"].to_string()
    );
    assert_eq!(notice.field("merName"), "测试商户");
    let notify_id = notice.field("notifyId");
    assert!(
        is_lowercase_uuid(notify_id),
        "notifyId {notify_id:?} is not a UUID"
    );
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
pub fn assert_payment_fields(notice: &Notice, order: &Value, product: Product) {
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
        // The members the spec marks required, the genuine notice's among them.
        for member in [
            "billBizType",
            "invoiceAmount",
            "merOrderId",
            "paySeqId",
            "totalAmount",
            "couponAmount",
            "buyerId",
            "payDetail",
            "payTime",
            "settleDate",
            "status",
            "targetOrderId",
            "targetSys",
        ] {
            assert!(
                json.get(member).is_some(),
                "billPayment lacks {member}: {json}"
            );
        }
        assert_eq!(json["couponAmount"], 0, "{json}");
        let bill_no = order["order_no"].as_str().unwrap();
        assert_eq!(json["merOrderId"], format!("{bill_no}0"), "{json}");
    } else {
        assert_eq!(notice.field("targetSys"), payment["target_sys"]);
        assert_eq!(notice.field("targetOrderId"), payment["target_order_id"]);
        assert_eq!(notice.field("buyerId"), payment["buyer_id"]);
        assert!(!notice.field("payTime").is_empty());
    }
}

/// `8-4-4-4-12` lower-case hexadecimal digits, as the platform's notifyIds are written.
pub fn is_lowercase_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            g.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

pub fn description_field(product: Product) -> &'static str {
    if product.name == "bill" {
        "billDesc"
    } else {
        "orderDesc"
    }
}

/// The notifications of an order, once there are `n`; newest first.
pub async fn notices_of(app: &TestApp, order: &Value, n: usize) -> Vec<Value> {
    let subject = order["order_no"].as_str().unwrap();
    let enough = eventually(WAIT, || async {
        app.notifications_of(subject).await.len() >= n
    })
    .await;
    assert!(
        enough,
        "order {} has {} notices, not {n}",
        order["id"],
        app.notifications_of(subject).await.len()
    );
    app.notifications_of(subject).await
}
