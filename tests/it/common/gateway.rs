//! A client of the netpay bill gateway written from the spec (V3.5 §14, the reference's
//! §2), not from the crate: it writes the JSON body itself, field by field in the order
//! given, signs the sorted fields with the source's key, and checks the sign of every
//! answer the same way; and the merchant's signed answer to a payment-element query.

use md5::{Digest as _, Md5};
use serde_json::{json, Value};
use sha2::Sha256;

use super::platform::cst;
use super::TestApp;

pub const PATH: &str = "/netpay-route-server/api/";
/// The spec's test parameters (the acceptance report §4).
pub const TEST_MID: &str = "898340149000005";
pub const TEST_TID: &str = "88880001";
pub const TEST_SRC: &str = "WWW.TEST.COM";
pub const TEST_SRC_ID: &str = "3194";
pub const TEST_KEY: &str = "fcAmtnx7MwismjWNhNKdHC44mNXtnEQeJkRrhKJwyrW2ysRR";

/// A field's value: a string, or JSON written as it is (a nested array or object, a
/// number).
#[derive(Debug, Clone)]
pub enum F {
    S(String),
    Raw(String),
}

pub fn s(value: impl Into<String>) -> F {
    F::S(value.into())
}

pub fn raw(json: impl Into<String>) -> F {
    F::Raw(json.into())
}

/// The gateway's client as one message source.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub msg_src: String,
    pub key: String,
    /// `None` sends no `signType` (MD5); `Some("SHA256")` signs with SHA-256.
    pub sign_type: Option<&'static str>,
    /// The Content-Type header sent, if any: the official demo sends a form type over its
    /// JSON body.
    pub content_type: Option<&'static str>,
}

impl Gateway {
    pub fn new(msg_src: &str, key: &str) -> Self {
        Self {
            msg_src: msg_src.to_owned(),
            key: key.to_owned(),
            sign_type: None,
            content_type: Some("application/x-www-form-urlencoded"),
        }
    }

    /// The fields of a call of `msg_type` for merchant `mid` on terminal `TEST_TID`, now
    /// on the app's clock, then `extra`.
    pub fn fields(
        &self,
        app: &TestApp,
        msg_type: &str,
        mid: &str,
        extra: Vec<(&str, F)>,
    ) -> Vec<(String, F)> {
        let mut fields = vec![
            ("msgSrc".to_owned(), s(&self.msg_src)),
            ("msgType".to_owned(), s(msg_type)),
            ("requestTimestamp".to_owned(), s(cst(app.clock.now()))),
            ("mid".to_owned(), s(mid)),
            ("tid".to_owned(), s(TEST_TID)),
            ("instMid".to_owned(), s("QRPAYDEFAULT")),
        ];
        if let Some(sign_type) = self.sign_type {
            fields.push(("signType".to_owned(), s(sign_type)));
        }
        for (name, value) in extra {
            fields.retain(|(n, _)| n != name);
            fields.push((name.to_owned(), value));
        }
        fields
    }

    /// `fields` signed and written as a JSON object in their order.
    pub fn body(&self, fields: &[(String, F)]) -> String {
        let pairs: Vec<(String, String)> = fields
            .iter()
            .map(|(name, value)| match value {
                F::S(text) | F::Raw(text) => (name.clone(), text.clone()),
            })
            .collect();
        let sign = sign(&pairs, &self.key, self.sign_type.unwrap_or("MD5"));
        let mut members: Vec<String> = fields
            .iter()
            .map(|(name, value)| {
                let written = match value {
                    F::S(text) => Value::String(text.clone()).to_string(),
                    F::Raw(json) => json.clone(),
                };
                format!("{}:{written}", Value::String(name.clone()))
            })
            .collect();
        members.push(format!("\"sign\":\"{sign}\""));
        format!("{{{}}}", members.join(","))
    }

    /// Posts `body` as it is; the answer's JSON.
    pub async fn post(&self, app: &TestApp, body: String) -> Value {
        let mut request = app.http.post(app.url(PATH)).body(body);
        if let Some(content_type) = self.content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.expect("the gateway answers");
        assert_eq!(response.status(), 200, "the gateway answers HTTP 200");
        response.json().await.expect("a JSON answer")
    }

    /// Calls `msg_type` for `mid` with `extra` fields; the answer, its sign checked.
    pub async fn call(
        &self,
        app: &TestApp,
        msg_type: &str,
        mid: &str,
        extra: Vec<(&str, F)>,
    ) -> Value {
        let body = self.body(&self.fields(app, msg_type, mid, extra));
        let answer = self.post(app, body).await;
        self.assert_signed(&answer);
        answer
    }

    /// The answer carries a right sign for the key, by the algorithm asked for.
    pub fn assert_signed(&self, answer: &Value) {
        let Some(map) = answer.as_object() else {
            panic!("not an object: {answer}")
        };
        let given = map
            .get("sign")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("the answer is unsigned: {answer}"));
        let pairs: Vec<(String, String)> = map
            .iter()
            .map(|(name, value)| {
                let text = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (name.clone(), text)
            })
            .collect();
        let expected = sign(&pairs, &self.key, self.sign_type.unwrap_or("MD5"));
        assert!(
            given.eq_ignore_ascii_case(&expected),
            "the answer's sign {given} is not {expected}: {answer}"
        );
    }
}

/// The spec's sign: every field but `sign` whose value is not empty or whitespace, in
/// ASCII order of the names, `name=value` joined by `&`, the key appended, UTF-8, hashed;
/// MD5 in upper-case hex, SHA-256 in lower case as the spec prints it.
pub fn sign(fields: &[(String, String)], key: &str, sign_type: &str) -> String {
    let mut kept: Vec<&(String, String)> = fields
        .iter()
        .filter(|(name, value)| name != "sign" && !value.trim().is_empty())
        .collect();
    kept.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let text = kept
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
        + key;
    match sign_type {
        "MD5" => hex::encode_upper(Md5::digest(text.as_bytes())),
        "SHA256" => hex::encode(Sha256::digest(text.as_bytes())),
        other => panic!("unknown signType {other}"),
    }
}

/// Creates the spec's test merchant (mid, message source, source number and key), with
/// its notices sent to `notify_url`.
pub async fn test_merchant(app: &TestApp, notify_url: &str) -> Value {
    super::payments::create_merchant(
        app,
        TEST_MID,
        json!({
            "msg_src": TEST_SRC,
            "msg_src_id": TEST_SRC_ID,
            "md5_key": TEST_KEY,
            "sign_type": "MD5",
            "notify_url": notify_url,
        }),
    )
    .await
}

/// The merchant's answer to a payment-element query: `fields`, signed with `key` by MD5
/// as the spec's example answer (no signType), written here without the crate.
pub fn signed_answer(fields: &[(&str, &str)], key: &str) -> &'static str {
    let pairs: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut object = serde_json::Map::new();
    for (k, v) in fields {
        object.insert((*k).to_owned(), Value::String((*v).to_owned()));
    }
    object.insert("sign".into(), Value::String(sign(&pairs, key, "MD5")));
    Box::leak(Value::Object(object).to_string().into_boxed_str())
}

/// The answer's `errCode` and `errMsg`, for a refusal's assertion.
pub fn assert_refused(answer: &Value, code: &str, says: &str) {
    assert_eq!(answer["errCode"], code, "{answer}");
    let message = answer["errMsg"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{says:?} not in {answer}");
}

impl Gateway {
    /// `fields` written as a JSON object as they are, with no sign added.
    pub fn body_unsigned(&self, fields: &[(String, F)]) -> String {
        let members: Vec<String> = fields
            .iter()
            .map(|(name, value)| {
                let written = match value {
                    F::S(text) => Value::String(text.clone()).to_string(),
                    F::Raw(json) => json.clone(),
                };
                format!("{}:{written}", Value::String(name.clone()))
            })
            .collect();
        format!("{{{}}}", members.join(","))
    }

    /// Calls `msg_type` for the spec's test merchant without checking the answer's sign.
    pub async fn call_unsigned(&self, app: &TestApp, msg_type: &str) -> Value {
        self.call_unsigned_for(app, msg_type, TEST_MID).await
    }

    /// Calls `msg_type` for `mid` without checking the answer's sign.
    pub async fn call_unsigned_for(&self, app: &TestApp, msg_type: &str, mid: &str) -> Value {
        let body = self.body(&self.fields(app, msg_type, mid, vec![]));
        self.post(app, body).await
    }
}

/// Today in China Standard Time on the app's clock: a bill's `billDate`.
pub fn today(app: &TestApp) -> String {
    (app.clock.now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string()
}

/// The admin id of the test merchant's bill `bill_no`.
pub async fn admin_id(app: &TestApp, bill_no: &str) -> i64 {
    let (status, list) = app.get(&format!("/admin/v1/orders?mid={TEST_MID}")).await;
    assert_eq!(status, 200, "{list}");
    list["orders"]
        .as_array()
        .and_then(|orders| orders.iter().find(|o| o["order_no"] == bill_no))
        .and_then(|o| o["id"].as_i64())
        .unwrap_or_else(|| panic!("no bill {bill_no} in {list}"))
}

/// Pays the test merchant's bill `bill_no` through `target_sys`, as the admin API plays
/// the buyer.
pub async fn pay(app: &TestApp, bill_no: &str, target_sys: &str) {
    let id = admin_id(app, bill_no).await;
    let (status, paid) = app
        .post(
            &format!("/admin/v1/orders/{id}/transitions"),
            json!({"to": "PAID", "target_sys": target_sys}),
        )
        .await;
    assert_eq!(status, 200, "{paid}");
}

/// What a refused call must leave as it was: every order as the admin API lists it
/// (its state, amounts refunded, guarantee, split plan and last change), and the number
/// of notifications.
pub async fn written(app: &TestApp) -> Value {
    json!({
        "orders": super::payments::list_all(app, "", 500).await,
        "notifications": app.stored_total().await,
    })
}

impl Gateway {
    /// `bills.queryQRCodeInfo` of `qr_code` as the spec's example sends it (no `mid`,
    /// `tid` or `instMid`); the answer, its sign checked.
    pub async fn code_info(&self, app: &TestApp, qr_code: &str) -> Value {
        let fields = vec![
            ("msgSrc".to_owned(), s(&self.msg_src)),
            ("msgType".to_owned(), s("bills.queryQRCodeInfo")),
            ("requestTimestamp".to_owned(), s(cst(app.clock.now()))),
            ("qrCodeId".to_owned(), s(qr_code)),
        ];
        let answer = self.post(app, self.body(&fields)).await;
        self.assert_signed(&answer);
        answer
    }

    /// `bills.query` of the test merchant's bill `bill_no` of `date`.
    pub async fn query(&self, app: &TestApp, bill_no: &str, date: &str) -> Value {
        let fields = vec![("billNo", s(bill_no)), ("billDate", s(date))];
        self.call(app, "bills.query", TEST_MID, fields).await
    }
}
