//! The reference merchant handler: what a correct notify URL does with a contract state
//! notice. The catalogue's expectations are written against these rules, and the
//! reference passes every check; `ums-notify receiver --verify` serves it.
//!
//! The rules, in the order they are applied:
//! 1. the `Authorization` header is `OPEN-BODY-SIG` with the merchant's own `AppId`;
//! 2. its `Timestamp` is within [`MAX_SKEW`] of the handler's clock;
//! 3. its `Signature` is right for the exact body bytes (compared in constant time);
//! 4. its `Nonce` was not used in the last [`NONCE_MEMORY`];
//! 5. the body is a JSON object with the notice's identifying fields as strings; fields
//!    it does not know are ignored.
//!
//! A notice that passes is answered 200, also when it repeats one already handled (same
//! `contractNo` and `requestTimestamp`) or is older than the last one handled for its
//! contract: both are acknowledged and not applied again. Anything else gets a 4xx, so
//! the platform (which only ever sends signed notices) never retries a forgery.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{
    header::{AUTHORIZATION, CONTENT_TYPE},
    HeaderMap, StatusCode,
};
use axum::routing::any;
use axum::Router;
use chrono::{DateTime, Utc};

use super::reference_payment::PaymentVerifier;
use crate::clock::Clock;
use crate::platform::auth::{
    parse_authorization, parse_compact_timestamp, verify_body_signature, AppKey, Credentials,
};

/// The largest difference between a notice's `Timestamp` and the handler's clock.
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// How long a nonce is remembered: long enough that a notice whose `Timestamp` still
/// passes cannot be replayed with the same nonce.
pub const NONCE_MEMORY: Duration = Duration::from_secs(2 * 5 * 60);

/// The body fields a handler needs to identify a notice.
const IDENTIFYING_FIELDS: [&str; 5] = [
    "requestTimestamp",
    "mid",
    "contractNo",
    "contractId",
    "contractState",
];

/// Why a notice was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    MissingAuthorization,
    MalformedAuthorization(String),
    WrongAppId,
    StaleTimestamp,
    BadSignature,
    ReusedNonce,
    BadBody(String),
}

impl Rejection {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadBody(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::MissingAuthorization => "no Authorization header".to_owned(),
            Self::MalformedAuthorization(why) => format!("unreadable Authorization: {why}"),
            Self::WrongAppId => "the AppId is not this merchant's".to_owned(),
            Self::StaleTimestamp => format!(
                "the Timestamp is more than {} minutes from this handler's clock",
                MAX_SKEW.as_secs() / 60
            ),
            Self::BadSignature => "the Signature does not match the body".to_owned(),
            Self::ReusedNonce => "the Nonce was already used".to_owned(),
            Self::BadBody(why) => format!("the body is not a contract notice: {why}"),
        }
    }
}

/// What a verified notice meant to the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// A new state, applied.
    Applied,
    /// The same `contractNo` and `requestTimestamp` as one already handled.
    Repeat,
    /// Older than the last notice applied for its contract: acknowledged, not applied.
    Stale,
}

/// The merchant's side: its credentials, the nonces it has seen and the last notice it
/// applied per contract.
pub struct Verifier {
    app_id: String,
    app_key: AppKey,
    clock: Clock,
    nonces: Mutex<HashMap<String, DateTime<Utc>>>,
    /// contractNo → the `requestTimestamp` of the last notice applied.
    applied: Mutex<HashMap<String, String>>,
}

impl Verifier {
    pub fn new(app_id: impl Into<String>, app_key: AppKey, clock: Clock) -> Self {
        Self {
            app_id: app_id.into(),
            app_key,
            clock,
            nonces: Mutex::default(),
            applied: Mutex::default(),
        }
    }

    /// Applies the rules of this module to one request.
    pub fn judge(&self, authorization: Option<&str>, body: &[u8]) -> Result<Handled, Rejection> {
        let now = self.clock.now();
        let header = authorization.ok_or(Rejection::MissingAuthorization)?;
        let (app_id, timestamp, nonce, signature) = match parse_authorization(header) {
            Ok(Credentials::BodySig {
                app_id,
                timestamp,
                nonce,
                signature,
            }) => (app_id, timestamp, nonce, signature),
            Ok(Credentials::AccessToken { .. }) => {
                return Err(Rejection::MalformedAuthorization(
                    "an access token, not OPEN-BODY-SIG".to_owned(),
                ))
            }
            Err(error) => return Err(Rejection::MalformedAuthorization(error.to_string())),
        };
        if app_id != self.app_id {
            return Err(Rejection::WrongAppId);
        }
        let sent = parse_compact_timestamp(&timestamp)
            .map_err(|error| Rejection::MalformedAuthorization(error.to_string()))?;
        if (now - sent)
            .abs()
            .to_std()
            .map_or(true, |skew| skew > MAX_SKEW)
        {
            return Err(Rejection::StaleTimestamp);
        }
        let key = self.app_key.expose();
        if !verify_body_signature(&app_id, key, &timestamp, &nonce, body, &signature) {
            return Err(Rejection::BadSignature);
        }
        self.spend_nonce(&nonce, now)?;
        let fields = identifying_fields(body)?;
        Ok(self.apply(&fields[2], &fields[0]))
    }

    fn spend_nonce(&self, nonce: &str, now: DateTime<Utc>) -> Result<(), Rejection> {
        let mut nonces = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        nonces.retain(|_, expires| *expires > now);
        let memory = chrono::Duration::from_std(NONCE_MEMORY).unwrap_or(chrono::Duration::MAX);
        if nonces.insert(nonce.to_owned(), now + memory).is_some() {
            return Err(Rejection::ReusedNonce);
        }
        Ok(())
    }

    /// Records the notice as the contract's latest unless it repeats or predates it.
    /// `requestTimestamp`s compare as text: `yyyy-MM-dd HH:mm:ss` sorts by time.
    fn apply(&self, contract_no: &str, request_timestamp: &str) -> Handled {
        let mut applied = self.applied.lock().unwrap_or_else(|e| e.into_inner());
        match applied.get(contract_no) {
            Some(last) if last.as_str() == request_timestamp => Handled::Repeat,
            Some(last) if last.as_str() > request_timestamp => Handled::Stale,
            _ => {
                applied.insert(contract_no.to_owned(), request_timestamp.to_owned());
                Handled::Applied
            }
        }
    }
}

/// The identifying fields, in [`IDENTIFYING_FIELDS`] order.
fn identifying_fields(body: &[u8]) -> Result<Vec<String>, Rejection> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|error| Rejection::BadBody(format!("not JSON ({error})")))?;
    let object = value
        .as_object()
        .ok_or_else(|| Rejection::BadBody("not a JSON object".to_owned()))?;
    IDENTIFYING_FIELDS
        .iter()
        .map(|name| match object.get(*name) {
            Some(serde_json::Value::String(text)) => Ok(text.clone()),
            _ => Err(Rejection::BadBody(format!(
                "`{name}` is missing or not a string"
            ))),
        })
        .collect()
}

/// The reference handler for one merchant: its contract notice rules, its payment
/// notice rules ([`super::reference_payment`]), or both.
#[derive(Default)]
pub struct Reference {
    pub contract: Option<Verifier>,
    pub payment: Option<PaymentVerifier>,
}

impl From<Verifier> for Reference {
    fn from(verifier: Verifier) -> Self {
        Self {
            contract: Some(verifier),
            payment: None,
        }
    }
}

/// Serves the reference handler on every path: a form body is a payment-result notice,
/// anything else a contract notice.
pub fn router(reference: impl Into<Reference>) -> Router {
    Router::new()
        .fallback(any(handle))
        .with_state(Arc::new(reference.into()))
}

async fn handle(
    State(reference): State<Arc<Reference>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        let Some(verifier) = &reference.payment else {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "this handler takes no payment notices (no communication key)".to_owned(),
            );
        };
        return match verifier.judge(&body) {
            Ok(handled) => {
                tracing::info!(?handled, "payment notice accepted");
                (StatusCode::OK, "SUCCESS".to_owned())
            }
            Err(rejection) => {
                tracing::info!(reason = rejection.message(), "payment notice refused");
                (rejection.status(), "FAILED".to_owned())
            }
        };
    }
    let Some(verifier) = &reference.contract else {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "this handler takes no contract notices (no appId and appKey)".to_owned(),
        );
    };
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    match verifier.judge(authorization, &body) {
        Ok(handled) => {
            tracing::info!(?handled, "notice accepted");
            (StatusCode::OK, format!("{handled:?}").to_lowercase())
        }
        Err(rejection) => {
            tracing::info!(reason = rejection.message(), "notice refused");
            (rejection.status(), rejection.message())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::auth::{format_compact_timestamp, open_body_sig_header};
    use chrono::TimeZone;

    const BODY: &[u8] = br#"{"requestTimestamp":"2024-07-01 10:05:00","mid":"898310048161234","contractNo":"CN1","contractId":"x","contractState":"SIGNED"}"#;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 7, 1, 2, 5, 0).unwrap()
    }

    fn verifier() -> Verifier {
        Verifier::new("APP", AppKey::new("KEY"), Clock::fixed(at()))
    }

    fn header(key: &str, when: DateTime<Utc>, nonce: &str, body: &[u8]) -> String {
        open_body_sig_header("APP", key, &format_compact_timestamp(when), nonce, body)
    }

    #[test]
    fn a_genuine_notice_is_applied_then_recognised_as_a_repeat() {
        let v = verifier();
        let first = header("KEY", at(), "n1", BODY);
        assert_eq!(v.judge(Some(&first), BODY), Ok(Handled::Applied));
        let again = header("KEY", at(), "n2", BODY);
        assert_eq!(v.judge(Some(&again), BODY), Ok(Handled::Repeat));
    }

    #[test]
    fn an_older_notice_of_a_contract_is_acknowledged_not_applied() {
        let v = verifier();
        let newer = BODY.to_vec();
        let older = String::from_utf8(BODY.to_vec())
            .unwrap()
            .replace("10:05:00", "10:04:59");
        assert_eq!(
            v.judge(Some(&header("KEY", at(), "a", &newer)), &newer),
            Ok(Handled::Applied)
        );
        let older = older.as_bytes();
        assert_eq!(
            v.judge(Some(&header("KEY", at(), "b", older)), older),
            Ok(Handled::Stale)
        );
    }

    #[test]
    fn every_rule_refuses_what_it_names() {
        let v = verifier();
        assert_eq!(v.judge(None, BODY), Err(Rejection::MissingAuthorization));
        assert!(matches!(
            v.judge(Some("Bearer x"), BODY),
            Err(Rejection::MalformedAuthorization(_))
        ));
        let other_app = open_body_sig_header("OTHER", "KEY", "20240701100500", "n", BODY);
        assert_eq!(v.judge(Some(&other_app), BODY), Err(Rejection::WrongAppId));
        let skew = chrono::Duration::from_std(MAX_SKEW).unwrap();
        let stale = header(
            "KEY",
            at() - skew - chrono::Duration::seconds(1),
            "n3",
            BODY,
        );
        assert_eq!(v.judge(Some(&stale), BODY), Err(Rejection::StaleTimestamp));
        let edge = header("KEY", at() - skew, "n4", BODY);
        assert_eq!(v.judge(Some(&edge), BODY), Ok(Handled::Applied));
        let forged = header("OTHER-KEY", at(), "n5", BODY);
        assert_eq!(v.judge(Some(&forged), BODY), Err(Rejection::BadSignature));
        let tampered = header("KEY", at(), "n6", b"{}");
        assert_eq!(v.judge(Some(&tampered), BODY), Err(Rejection::BadSignature));
        let reused = header("KEY", at(), "n4", BODY);
        assert_eq!(v.judge(Some(&reused), BODY), Err(Rejection::ReusedNonce));
        let not_json = b"contractState=SIGNED";
        let signed = header("KEY", at(), "n7", not_json);
        assert!(matches!(
            v.judge(Some(&signed), not_json),
            Err(Rejection::BadBody(_))
        ));
        let missing = br#"{"mid":"1"}"#;
        let signed = header("KEY", at(), "n8", missing);
        assert!(matches!(
            v.judge(Some(&signed), missing),
            Err(Rejection::BadBody(_))
        ));
    }

    #[test]
    fn a_forgery_spends_no_nonce() {
        let v = verifier();
        let forged = header("OTHER-KEY", at(), "same", BODY);
        assert_eq!(v.judge(Some(&forged), BODY), Err(Rejection::BadSignature));
        let genuine = header("KEY", at(), "same", BODY);
        assert_eq!(v.judge(Some(&genuine), BODY), Ok(Handled::Applied));
    }
}
