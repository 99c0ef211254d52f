//! Authentication of the platform API: `POST /v1/token/access`, and the check of both
//! `Authorization` schemes on every other call. While a rotation's grace lasts, a
//! signature made with the replaced appKey is accepted too, and a token obtained with it
//! expires when the grace ends at the latest.
//!
//! A refused request writes nothing. A nonce is only checked here; it is spent by the
//! request's own write (see [`Caller::nonce`]), so a request refused later, for a bad
//! field, spends nothing either. An authenticated request also spends one of its appId's
//! request budget ([`crate::limits`]); one over it is answered `4029` (HTTP 429).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::platform::auth::store::{NewToken, NonceUse};
use crate::platform::auth::{
    generate_credential, parse_authorization, parse_compact_timestamp,
    verify_access_token_signature, verify_body_signature, Credentials, CREDENTIAL_LEN,
    SIGN_METHOD_SHA256,
};
use crate::platform::http::open::error::{parse_body, success, PlatformError};
use crate::platform::merchants::merchant::Merchant;
use crate::platform::merchants::rotation::{grace_note, AcceptedKey, Credential};
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::errcode::ErrCode;

/// The longest nonce accepted (the platform's clients send 32 characters).
pub const NONCE_MAX_LEN: usize = 128;

/// An authenticated merchant.
pub struct Caller {
    pub merchant: Merchant,
    /// The nonce of a body-signed request: the handler spends it with its own write, or
    /// alone for a read.
    pub nonce: Option<NonceUse>,
}

/// The digest under which a token is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// How far a signed timestamp, and a body's `requestTimestamp`, may be from the
/// platform's clock, either way.
pub fn auth_window(sandbox: &Sandbox) -> chrono::Duration {
    // The settings bound the window, so the conversion cannot fail.
    chrono::Duration::from_std(sandbox.settings.auth_window).unwrap_or_default()
}

/// Reads a signed compact timestamp; a malformed one is answered with `malformed`.
fn parse_timestamp(timestamp: &str, malformed: ErrCode) -> Result<DateTime<Utc>, PlatformError> {
    parse_compact_timestamp(timestamp)
        .map_err(|error| PlatformError::new(malformed, format!("timestamp: {error}")))
}

/// Checks a signed timestamp (`at`, as written in `timestamp`) is within the window
/// around now. Both edges are accepted: `|now - at| == window` passes.
fn check_window(
    sandbox: &Sandbox,
    timestamp: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), PlatformError> {
    let window = auth_window(sandbox);
    if (now - at).abs() > window {
        return Err(PlatformError::new(
            ErrCode::TimestampOutOfWindow,
            format!(
                "timestamp {timestamp} is {}s away from the platform's time {} (China Standard Time); at most {}s is accepted",
                (now - at).num_seconds().abs(),
                crate::platform::auth::format_compact_timestamp(now),
                window.num_seconds()
            ),
        ));
    }
    Ok(())
}

/// A nonce is remembered for as long as a request carrying it can pass the window, and
/// then a second more: a request signed at `at` passes up to and including `at + window`
/// (see [`check_window`]), and a record is forgotten at its `expires_at` exactly, so
/// `expires_at` must lie beyond that last instant. (`at.max(now)`: a timestamp from the
/// past is remembered from now on, which is longer than needed and never shorter.)
fn nonce_expiry(at: DateTime<Utc>, now: DateTime<Utc>, window: chrono::Duration) -> DateTime<Utc> {
    at.max(now) + window + chrono::Duration::seconds(1)
}

fn nonce_use(sandbox: &Sandbox, app_id: &str, nonce: &str, at: DateTime<Utc>) -> NonceUse {
    let now = sandbox.now();
    NonceUse {
        app_id: app_id.to_owned(),
        nonce: nonce.to_owned(),
        expires_at: nonce_expiry(at, now, auth_window(sandbox)),
    }
}

fn check_nonce(nonce: &str, code: ErrCode) -> Result<(), PlatformError> {
    let ok =
        (1..=NONCE_MAX_LEN).contains(&nonce.len()) && nonce.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(PlatformError::new(
            code,
            format!("nonce must be 1 to {NONCE_MAX_LEN} printable ASCII characters"),
        ))
    }
}

async fn merchant_of(sandbox: &Sandbox, app_id: &str) -> Result<Merchant, PlatformError> {
    sandbox
        .merchants
        .merchant_by_app_id(app_id)
        .await?
        .ok_or_else(|| {
            PlatformError::new(
                ErrCode::UnknownAppId,
                format!("no application has the appId {:?}", truncate(app_id)),
            )
        })
}

fn truncate(text: &str) -> String {
    text.chars().take(64).collect()
}

async fn check_nonce_unspent(
    sandbox: &Sandbox,
    app_id: &str,
    nonce: &str,
) -> Result<(), PlatformError> {
    let now = sandbox.now();
    if sandbox.auth.nonce_spent(app_id, nonce, now).await? {
        return Err(replayed(nonce));
    }
    Ok(())
}

pub fn replayed(nonce: &str) -> PlatformError {
    PlatformError::new(
        ErrCode::NonceReplayed,
        format!(
            "nonce {:?} was already used within the timestamp window; send a new one",
            truncate(nonce)
        ),
    )
}

/// Spends one request of the authenticated merchant's budget (per appId), before the
/// request writes anything: a refused request spends no nonce.
fn spend_budget(sandbox: &Sandbox, merchant: &Merchant) -> Result<(), PlatformError> {
    sandbox
        .limits
        .check(&merchant.app_id, merchant.budget())
        .map_err(PlatformError::over_budget)
}

/// The reason label a refused platform call is counted under
/// (`ums_notify_auth_failures_total{surface="platform"}`).
pub fn failure_reason(code: ErrCode) -> &'static str {
    match code {
        ErrCode::AuthHeaderMissing => "missing_credentials",
        ErrCode::AuthHeaderMalformed => "malformed_credentials",
        ErrCode::UnknownAppId | ErrCode::TokenInvalid => "unknown_credentials",
        ErrCode::SignatureMismatch => "bad_signature",
        ErrCode::TimestampOutOfWindow => "stale_timestamp",
        ErrCode::NonceReplayed => "replayed_nonce",
        ErrCode::RateLimited => "rate_limited",
        _ => "other",
    }
}

/// Every reason [`failure_reason`] gives, to show each series from the first scrape.
pub const FAILURE_REASONS: [&str; 8] = [
    "missing_credentials",
    "malformed_credentials",
    "unknown_credentials",
    "bad_signature",
    "stale_timestamp",
    "replayed_nonce",
    "rate_limited",
    "other",
];

/// Authenticates a platform call from its `Authorization` header and raw body; a
/// refusal is counted by reason.
pub async fn authenticate(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, PlatformError> {
    let outcome = authenticate_uncounted(sandbox, headers, body).await;
    if let Err(refused) = &outcome {
        sandbox
            .producer
            .metrics
            .auth_failures
            .with_label_values(&["platform", failure_reason(refused.code)])
            .inc();
    }
    outcome
}

async fn authenticate_uncounted(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, PlatformError> {
    let malformed = |info: String| PlatformError::new(ErrCode::AuthHeaderMalformed, info);
    let value = headers.get(AUTHORIZATION).ok_or_else(|| {
        PlatformError::new(
            ErrCode::AuthHeaderMissing,
            "send `Authorization: OPEN-ACCESS-TOKEN AccessToken=…` or `Authorization: OPEN-BODY-SIG AppId=…, Timestamp=…, Nonce=…, Signature=…`",
        )
    })?;
    let value = value
        .to_str()
        .map_err(|_| malformed("the Authorization header is not ASCII".to_owned()))?;
    let now = sandbox.now();
    match parse_authorization(value).map_err(|error| malformed(error.to_string()))? {
        Credentials::AccessToken { token, app_id } => {
            let invalid = |info: &str| PlatformError::new(ErrCode::TokenInvalid, info);
            let owner = sandbox
                .auth
                .token_app_id(&token_hash(&token), now)
                .await?
                .ok_or_else(|| {
                    invalid("the access token is unknown or expired; get a new one from POST /v1/token/access")
                })?;
            if app_id.is_some_and(|given| given != owner) {
                return Err(invalid(
                    "the access token was not issued to the AppId the header names",
                ));
            }
            let merchant = merchant_of(sandbox, &owner).await?;
            spend_budget(sandbox, &merchant)?;
            Ok(Caller {
                merchant,
                nonce: None,
            })
        }
        Credentials::BodySig {
            app_id,
            timestamp,
            nonce,
            signature,
        } => {
            let signed = BodySignature {
                app_id: &app_id,
                timestamp: &timestamp,
                nonce: &nonce,
                signature: &signature,
            };
            signed
                .caller(sandbox, body, ErrCode::AuthHeaderMalformed)
                .await
        }
    }
}

/// The parts of a body signature, from an `OPEN-BODY-SIG` header or from the
/// `OPEN-FORM-PARAM` query of a browser redirect (where the signed body is `content`).
pub struct BodySignature<'a> {
    pub app_id: &'a str,
    pub timestamp: &'a str,
    pub nonce: &'a str,
    pub signature: &'a str,
}

impl BodySignature<'_> {
    /// The merchant that signed `body` so, with the nonce its request spends; a
    /// malformed timestamp or nonce is answered with `malformed`.
    pub async fn caller(
        &self,
        sandbox: &Sandbox,
        body: &[u8],
        malformed: ErrCode,
    ) -> Result<Caller, PlatformError> {
        let now = sandbox.now();
        // The credentials are read completely (3002) before the appId is looked up (3003).
        let at = parse_timestamp(self.timestamp, malformed)?;
        check_nonce(self.nonce, malformed)?;
        let merchant = merchant_of(sandbox, self.app_id).await?;
        check_window(sandbox, self.timestamp, at, now)?;
        // During a rotation's grace the replaced appKey is accepted too.
        let keys = merchant.accepted_app_keys(now);
        let verifies = |key: &AcceptedKey<'_>| {
            verify_body_signature(
                self.app_id,
                key.key.expose(),
                self.timestamp,
                self.nonce,
                body,
                self.signature,
            )
        };
        if !keys.iter().any(verifies) {
            return Err(PlatformError::new(
                ErrCode::SignatureMismatch,
                format!(
                    "Signature does not verify: expected Base64(HMAC-SHA256(appKey, AppId + Timestamp + Nonce + hex(SHA-256(body)))) over the exact body bytes{}",
                    grace_note(Credential::AppKey, &keys)
                ),
            ));
        }
        spend_budget(sandbox, &merchant)?;
        check_nonce_unspent(sandbox, self.app_id, self.nonce).await?;
        let nonce = nonce_use(sandbox, self.app_id, self.nonce, at);
        Ok(Caller {
            merchant,
            nonce: Some(nonce),
        })
    }
}

/// `signature` is the lowercase hex SHA-256 of `appId + timestamp + nonce + appKey`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    app_id: Option<String>,
    timestamp: Option<String>,
    nonce: Option<String>,
    sign_method: Option<String>,
    signature: Option<String>,
}

/// `POST /v1/token/access`.
/// Get an access token for `OPEN-ACCESS-TOKEN` authentication.
#[utoipa::path(post, path = "/v1/token/access", tag = "platform",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Always 200: read `errCode`. On success, `accessToken` and `expiresIn`", body = crate::platform::http::open::error::PlatformAnswer),
        (status = 500, description = "`9999`: internal error", body = crate::platform::http::open::error::PlatformAnswer),
    ))]
pub async fn access_token(
    State(sandbox): State<Sandbox>,
    body: Bytes,
) -> Result<Json<Value>, PlatformError> {
    let bad = |info: String| PlatformError::new(ErrCode::BadTokenRequest, info);
    let request: TokenRequest = parse_body(&body, ErrCode::BadTokenRequest)?;
    let field = |name: &str, value: Option<String>| {
        value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad(format!("{name} is required")))
    };
    let app_id = field("appId", request.app_id)?;
    let timestamp = field("timestamp", request.timestamp)?;
    let nonce = field("nonce", request.nonce)?;
    let sign_method = field("signMethod", request.sign_method)?;
    let signature = field("signature", request.signature)?;
    if sign_method != SIGN_METHOD_SHA256 {
        return Err(bad(format!(
            "signMethod must be {SIGN_METHOD_SHA256}, not {:?}",
            truncate(&sign_method)
        )));
    }
    // The request is read completely (3008) before its appId is looked up (3003).
    let at = parse_timestamp(&timestamp, ErrCode::BadTokenRequest)?;
    check_nonce(&nonce, ErrCode::BadTokenRequest)?;
    let merchant = merchant_of(&sandbox, &app_id).await?;
    let now = sandbox.now();
    check_window(&sandbox, &timestamp, at, now)?;
    // During a rotation's grace the replaced appKey is accepted too.
    let keys = merchant.accepted_app_keys(now);
    let Some(used) = keys.iter().find(|key| {
        verify_access_token_signature(&app_id, &timestamp, &nonce, key.key.expose(), &signature)
    }) else {
        return Err(PlatformError::new(
            ErrCode::SignatureMismatch,
            format!(
                "signature does not verify: expected lowercase hex SHA-256 of appId + timestamp + nonce + appKey{}",
                grace_note(Credential::AppKey, &keys)
            ),
        ));
    };
    spend_budget(&sandbox, &merchant)?;
    check_nonce_unspent(&sandbox, &app_id, &nonce).await?;
    let token = generate_credential(CREDENTIAL_LEN);
    let ttl = sandbox.settings.token_ttl;
    let full_term = now + chrono::Duration::from_std(ttl).unwrap_or_default();
    // A token obtained with the replaced key lasts no longer than that key's grace.
    let expires_at = used.until.map_or(full_term, |until| until.min(full_term));
    let record = NewToken {
        token_hash: token_hash(&token),
        app_id: app_id.clone(),
        expires_at,
    };
    let spend = nonce_use(&sandbox, &app_id, &nonce, at);
    if !sandbox.auth.issue_token(record, spend, now).await? {
        return Err(replayed(&nonce));
    }
    let expires_in = (expires_at - now).num_seconds().max(0);
    success(json!({"accessToken": token, "expiresIn": expires_in}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_nonce_outlives_the_last_instant_its_timestamp_passes() {
        let at = Utc.with_ymd_and_hms(2024, 7, 1, 2, 0, 0).unwrap();
        let window = chrono::Duration::minutes(10);
        let last_accepted = at + window;
        assert!(nonce_expiry(at, at, window) > last_accepted);
        // Signed in the future: the window around its timestamp counts.
        assert!(nonce_expiry(at, at - window, window) > last_accepted);
        // Signed in the past: remembered from now on.
        let now = at + chrono::Duration::minutes(3);
        assert_eq!(
            nonce_expiry(at, now, window),
            now + window + chrono::Duration::seconds(1)
        );
    }
}
