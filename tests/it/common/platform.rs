//! Helpers of the platform tests: a merchant that calls the platform API as the
//! platform's SDKs do, signatures computed here independently of the crate's own code,
//! and row counts that show a refused request changed nothing.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use ums_notify::db::{Db, Sql, StoreOptions};

use super::{TestApp, TestDb};

pub const MID: &str = "898310048161234";
pub const SIGN: &str = "/v1/inip/sign/uac/entrust-pay/sign";
pub const QUERY: &str = "/v1/inip/sign/uac/entrust-pay/sign-query";
pub const TOKEN: &str = "/v1/token/access";

/// China Standard Time `yyyy-MM-dd HH:mm:ss`, computed without the crate.
pub fn cst(t: DateTime<Utc>) -> String {
    (t + chrono::Duration::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// China Standard Time `yyyyMMddHHmmss`.
pub fn compact(t: DateTime<Utc>) -> String {
    (t + chrono::Duration::hours(8))
        .format("%Y%m%d%H%M%S")
        .to_string()
}

pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("RFC 3339 time")
        .with_timezone(&Utc)
}

pub fn nonce() -> String {
    super::uuid_like() + &super::uuid_like()
}

/// `Base64(HMAC-SHA256(appKey, appId + timestamp + nonce + hex(SHA-256(body))))`.
pub fn body_signature(app_id: &str, app_key: &str, ts: &str, nonce: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_key.as_bytes()).expect("any key length");
    mac.update(format!("{app_id}{ts}{nonce}{}", hex::encode(Sha256::digest(body))).as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Lowercase hex SHA-256 of `appId + timestamp + nonce + appKey`.
pub fn token_signature(app_id: &str, ts: &str, nonce: &str, app_key: &str) -> String {
    hex::encode(Sha256::digest(format!("{app_id}{ts}{nonce}{app_key}")))
}

/// The parameters of an `OPEN-BODY-SIG` header, read here without the crate's parser.
pub fn body_sig_params(header: &str) -> std::collections::HashMap<String, String> {
    let rest = header
        .strip_prefix("OPEN-BODY-SIG ")
        .unwrap_or_else(|| panic!("not an OPEN-BODY-SIG header: {header}"));
    rest.split(',')
        .map(|param| {
            let (name, value) = param.trim().split_once('=').expect("Name=value");
            (name.to_owned(), value.trim_matches('"').to_owned())
        })
        .collect()
}

/// Checks a received notification's signature the way a merchant would; returns its
/// Timestamp and Nonce.
pub fn verify_notification(
    app_id: &str,
    app_key: &str,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> (String, String) {
    let header = headers["authorization"].to_str().expect("ASCII header");
    let params = body_sig_params(header);
    assert_eq!(params["AppId"], app_id, "{header}");
    let (ts, nonce) = (params["Timestamp"].clone(), params["Nonce"].clone());
    assert_eq!(
        params["Signature"],
        body_signature(app_id, app_key, &ts, &nonce, body),
        "the signature of {header} does not verify"
    );
    (ts, nonce)
}

/// A merchant as the admin API created it.
#[derive(Debug, Clone)]
pub struct Merchant {
    pub mid: String,
    pub app_id: String,
    pub app_key: String,
}

impl Merchant {
    /// Sends `request` signed to `path` twice with one nonce and returns the first
    /// answer; both must carry errCode `code`: a refusal spends no nonce, so the second
    /// is refused the same way, not as a replay.
    pub async fn refused_twice(
        &self,
        app: &TestApp,
        path: &str,
        request: &Value,
        code: &str,
    ) -> Value {
        let bytes = serde_json::to_vec(request).unwrap();
        let header = self.sig(app, &bytes);
        let (_, first) = app.platform(path, Some(&header), &bytes).await;
        assert_eq!(first["errCode"], code, "{first}");
        let (_, again) = app.platform(path, Some(&header), &bytes).await;
        assert_eq!(again["errCode"], code, "the nonce was spent: {again}");
        first
    }

    /// An `OPEN-BODY-SIG` header for `body`, at the app's current time, with a new nonce.
    pub fn sig(&self, app: &TestApp, body: &[u8]) -> String {
        self.sig_with(&compact(app.clock.now()), &nonce(), body)
    }

    pub fn sig_with(&self, ts: &str, nonce: &str, body: &[u8]) -> String {
        let signature = body_signature(&self.app_id, &self.app_key, ts, nonce, body);
        format!(
            r#"OPEN-BODY-SIG AppId="{}", Timestamp="{ts}", Nonce="{nonce}", Signature="{signature}""#,
            self.app_id
        )
    }

    /// A valid access-token request at the app's current time.
    pub fn token_request(&self, app: &TestApp) -> Value {
        let (ts, nonce) = (compact(app.clock.now()), nonce());
        json!({
            "appId": self.app_id,
            "timestamp": ts,
            "nonce": nonce,
            "signMethod": "SHA256",
            "signature": token_signature(&self.app_id, &ts, &nonce, &self.app_key),
        })
    }

    /// A fresh access token.
    pub async fn token(&self, app: &TestApp) -> String {
        let body = serde_json::to_vec(&self.token_request(app)).unwrap();
        let (status, answer) = app.platform(TOKEN, None, &body).await;
        assert_eq!(
            (status, &answer["errCode"]),
            (200, &json!("0000")),
            "{answer}"
        );
        answer["accessToken"]
            .as_str()
            .expect("accessToken")
            .to_owned()
    }

    /// Calls a platform API with a body signature; returns the answer.
    pub async fn call(&self, app: &TestApp, path: &str, body: &Value) -> Value {
        let bytes = serde_json::to_vec(body).unwrap();
        let (status, answer) = app
            .platform(path, Some(&self.sig(app, &bytes)), &bytes)
            .await;
        assert_eq!(status, 200, "{answer}");
        answer
    }
}

/// A sign request's body at `now`.
pub fn sign_body(
    mid: &str,
    contract_no: &str,
    notify_url: Option<&str>,
    now: DateTime<Utc>,
) -> Value {
    let mut body = json!({
        "requestTimestamp": cst(now),
        "mid": mid,
        "contractNo": contract_no,
        "planId": "PLAN0001",
        "singleLimitAmt": "500.00",
        "avlNum": "30",
    });
    if let Some(url) = notify_url {
        body["notifyUrl"] = json!(url);
    }
    body
}

impl TestApp {
    /// Creates a merchant through the admin API with `extra` fields.
    pub async fn create_merchant(&self, mid: &str, extra: Value) -> Merchant {
        let mut body = json!({"mid": mid, "name": "Test shop"});
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        let (status, created) = self.post("/admin/v1/merchants", body).await;
        assert_eq!(status, 201, "{created}");
        Merchant {
            mid: mid.to_owned(),
            app_id: created["app_id"].as_str().expect("app_id").to_owned(),
            app_key: created["app_key"].as_str().expect("app_key").to_owned(),
        }
    }

    /// POSTs raw bytes to a platform API with an optional `Authorization`.
    pub async fn platform(
        &self,
        path: &str,
        authorization: Option<&str>,
        body: &[u8],
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Creates a contract through the admin API, which must accept it; returns its
    /// contractId.
    pub async fn create_contract(&self, mid: &str, contract_no: &str, plan_id: &str) -> String {
        let (status, created) = self
            .post(
                "/admin/v1/contracts",
                json!({"mid": mid, "contract_no": contract_no, "plan_id": plan_id}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        created["contract_id"]
            .as_str()
            .expect("contract_id")
            .to_owned()
    }

    /// Moves a contract through the admin API; returns status and body.
    pub async fn transition(&self, contract_id: &str, to: &str) -> (u16, Value) {
        let path = format!("/admin/v1/contracts/{}/transitions", url_safe(contract_id));
        self.post(&path, json!({"to": to})).await
    }

    /// The notifications of a contract, newest first.
    pub async fn notifications_of(&self, contract_id: &str) -> Vec<Value> {
        let (status, list) = self
            .get(&format!(
                "/admin/v1/notifications?subject={}",
                percent(contract_id)
            ))
            .await;
        assert_eq!(status, 200, "{list}");
        list["notifications"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// A contractId in the URL-safe alphabet the admin paths accept.
pub fn url_safe(contract_id: &str) -> String {
    contract_id.replace('+', "-").replace('/', "_")
}

/// Percent-encodes a query or path value.
pub fn percent(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Row counts of every table a request could change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub merchants: i64,
    pub contracts: i64,
    pub notifications: i64,
    pub tokens: i64,
    pub nonces: i64,
}

pub struct Counter {
    database: Db,
}

impl Counter {
    pub async fn new(db: &TestDb) -> Self {
        let database = Db::connect(&db.url, &StoreOptions::default())
            .await
            .expect("open database");
        Self { database }
    }

    pub fn database(&self) -> &Db {
        &self.database
    }

    /// Runs one SQL statement (the same text on both backends), for states the API cannot
    /// make; returns the rows it changed.
    pub async fn execute(&self, sql: &str) -> u64 {
        self.database
            .write(&Sql::new(sql.to_owned()))
            .await
            .expect("statement runs")
    }

    pub async fn counts(&self) -> Counts {
        let tables = [
            "merchants",
            "contracts",
            "notifications",
            "access_tokens",
            "used_nonces",
        ];
        let mut n = [0i64; 5];
        for (slot, table) in n.iter_mut().zip(tables) {
            let sql = Sql::new(format!("SELECT COUNT(*) FROM {table}"));
            let (count,): (i64,) = self.database.read_one(&sql).await.expect("count rows");
            *slot = count;
        }
        Counts {
            merchants: n[0],
            contracts: n[1],
            notifications: n[2],
            tokens: n[3],
            nonces: n[4],
        }
    }
}
