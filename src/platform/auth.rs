//! Authentication primitives of the open platform: the access-token request signature, the `OPEN-BODY-SIG` body signature, `Authorization` header parsing, compact header timestamps, and credential generation.
//!
//! The two `Authorization` schemes the platform's clients send:
//!
//! * `OPEN-ACCESS-TOKEN AccessToken=<token>` (optionally `, AppId="…"`), with a
//!   token obtained from `POST /v1/token/access`, whose request is signed with
//!   [`access_token_signature`];
//! * `OPEN-BODY-SIG AppId="…", Timestamp="…", Nonce="…", Signature="…"`, signed
//!   with [`body_signature`].
//!
//! Header timestamps are compact `yyyyMMddHHmmss` wall-clock times. The platform
//! runs on China Standard Time, so [`parse_compact_timestamp`] and
//! [`format_compact_timestamp`] read and write them as UTC+8.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::{distr::Alphanumeric, Rng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::TimestampError;

/// Scheme name of access-token authentication.
pub const SCHEME_ACCESS_TOKEN: &str = "OPEN-ACCESS-TOKEN";
/// Scheme name of body-signature authentication.
pub const SCHEME_BODY_SIG: &str = "OPEN-BODY-SIG";
/// The only `signMethod` of an access-token request.
pub const SIGN_METHOD_SHA256: &str = "SHA256";
/// Length of generated appIds, appKeys and nonces (as in the platform's samples).
pub const CREDENTIAL_LEN: usize = 32;

/// Lowercase hex SHA-256 of `appId + timestamp + nonce + appKey`: the
/// `signature` of a `POST /v1/token/access` request.
pub fn access_token_signature(app_id: &str, timestamp: &str, nonce: &str, app_key: &str) -> String {
    let digest = Sha256::new()
        .chain_update(app_id)
        .chain_update(timestamp)
        .chain_update(nonce)
        .chain_update(app_key)
        .finalize();
    hex::encode(digest)
}

/// Checks an access-token request signature in constant time. Hex digits are
/// accepted in either case.
pub fn verify_access_token_signature(
    app_id: &str,
    timestamp: &str,
    nonce: &str,
    app_key: &str,
    signature: &str,
) -> bool {
    let expected = access_token_signature(app_id, timestamp, nonce, app_key);
    let given = signature.to_ascii_lowercase();
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// `Base64(HMAC-SHA256(key = appKey, msg = appId + timestamp + nonce + lowercase_hex(SHA-256(body))))`:
/// the `Signature` of an `OPEN-BODY-SIG` header.
pub fn body_signature(
    app_id: &str,
    app_key: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    let body_hash = hex::encode(Sha256::digest(body));
    let mut mac = Hmac::<Sha256>::new_from_slice(app_key.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(app_id.as_bytes());
    mac.update(timestamp.as_bytes());
    mac.update(nonce.as_bytes());
    mac.update(body_hash.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The full `Authorization` value of a body-signed request:
/// `OPEN-BODY-SIG AppId="…", Timestamp="…", Nonce="…", Signature="…"`.
pub fn open_body_sig_header(
    app_id: &str,
    app_key: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    let signature = body_signature(app_id, app_key, timestamp, nonce, body);
    format!(
        r#"{SCHEME_BODY_SIG} AppId="{app_id}", Timestamp="{timestamp}", Nonce="{nonce}", Signature="{signature}""#
    )
}

/// Checks an `OPEN-BODY-SIG` signature in constant time.
pub fn verify_body_signature(
    app_id: &str,
    app_key: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
    signature: &str,
) -> bool {
    let expected = body_signature(app_id, app_key, timestamp, nonce, body);
    bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
}

/// The credentials carried by an `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `OPEN-ACCESS-TOKEN AccessToken=<token>[, AppId="…"]`.
    AccessToken {
        token: String,
        app_id: Option<String>,
    },
    /// `OPEN-BODY-SIG AppId="…", Timestamp="…", Nonce="…", Signature="…"`.
    BodySig {
        app_id: String,
        timestamp: String,
        nonce: String,
        signature: String,
    },
}

impl std::fmt::Debug for Credentials {
    /// The bearer token is redacted; everything else is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AccessToken { app_id, .. } => f
                .debug_struct("AccessToken")
                .field("token", &"***")
                .field("app_id", app_id)
                .finish(),
            Self::BodySig {
                app_id,
                timestamp,
                nonce,
                signature,
            } => f
                .debug_struct("BodySig")
                .field("app_id", app_id)
                .field("timestamp", timestamp)
                .field("nonce", nonce)
                .field("signature", signature)
                .finish(),
        }
    }
}

/// Why an `Authorization` header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthParseError {
    #[error("Authorization header is empty")]
    Empty,
    #[error(
        "unsupported Authorization scheme {0:?} (expected OPEN-ACCESS-TOKEN or OPEN-BODY-SIG)"
    )]
    UnknownScheme(String),
    #[error("malformed Authorization parameter {0:?} (expected Name=value or Name=\"value\")")]
    MalformedParam(String),
    #[error("unexpected Authorization parameter {0:?}")]
    UnknownParam(String),
    #[error("Authorization parameter {0} is given more than once")]
    DuplicateParam(&'static str),
    #[error("Authorization parameter {0} is missing")]
    MissingParam(&'static str),
}

/// Parses an `Authorization` header value.
///
/// The scheme and parameter names match case-insensitively; parameters are
/// separated by commas with or without spaces, may come in any order, and their
/// values may be double-quoted or bare. Every parameter must be present once.
pub fn parse_authorization(header: &str) -> Result<Credentials, AuthParseError> {
    let header = header.trim();
    if header.is_empty() {
        return Err(AuthParseError::Empty);
    }
    let (scheme, rest) = header
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case(SCHEME_ACCESS_TOKEN) {
        let [token, app_id] = parse_params(rest, ["AccessToken", "AppId"])?;
        Ok(Credentials::AccessToken {
            token: token.ok_or(AuthParseError::MissingParam("AccessToken"))?,
            app_id,
        })
    } else if scheme.eq_ignore_ascii_case(SCHEME_BODY_SIG) {
        let [app_id, timestamp, nonce, signature] =
            parse_params(rest, ["AppId", "Timestamp", "Nonce", "Signature"])?;
        let require = |value: Option<String>, name| value.ok_or(AuthParseError::MissingParam(name));
        Ok(Credentials::BodySig {
            app_id: require(app_id, "AppId")?,
            timestamp: require(timestamp, "Timestamp")?,
            nonce: require(nonce, "Nonce")?,
            signature: require(signature, "Signature")?,
        })
    } else {
        Err(AuthParseError::UnknownScheme(
            scheme.chars().take(32).collect(),
        ))
    }
}

/// Splits `Name=value` parameters and assigns each to the slot of its name.
fn parse_params<const N: usize>(
    params: &str,
    names: [&'static str; N],
) -> Result<[Option<String>; N], AuthParseError> {
    let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
    if params.trim().is_empty() {
        return Ok(values);
    }
    for param in params.split(',').map(str::trim) {
        let malformed = || AuthParseError::MalformedParam(param.chars().take(64).collect());
        let (name, value) = param.split_once('=').ok_or_else(malformed)?;
        let (name, value) = (name.trim(), value.trim());
        let value = match value.strip_prefix('"') {
            Some(quoted) => quoted.strip_suffix('"').ok_or_else(malformed)?,
            None => value,
        };
        if name.is_empty() || value.is_empty() || value.contains('"') {
            return Err(malformed());
        }
        let slot = names
            .iter()
            .position(|known| known.eq_ignore_ascii_case(name))
            .ok_or_else(|| AuthParseError::UnknownParam(name.chars().take(32).collect()))?;
        if values[slot].replace(value.to_owned()).is_some() {
            return Err(AuthParseError::DuplicateParam(names[slot]));
        }
    }
    Ok(values)
}

/// Parses a compact `yyyyMMddHHmmss` header timestamp.
///
/// The string carries no zone; it is read as China Standard Time (UTC+8), the
/// platform's zone, so `20170101120000` is `2017-01-01T04:00:00Z`.
pub fn parse_compact_timestamp(timestamp: &str) -> Result<DateTime<Utc>, TimestampError> {
    super::parse_wall_clock(
        timestamp,
        "yyyyMMddHHmmss",
        &[],
        [0..4, 4..6, 6..8, 8..10, 10..12, 12..14],
    )
}

/// Formats an instant as a compact `yyyyMMddHHmmss` timestamp in China
/// Standard Time (UTC+8).
pub fn format_compact_timestamp(instant: DateTime<Utc>) -> String {
    super::format_wall_clock(instant, "%Y%m%d%H%M%S")
}

/// A random ASCII-alphanumeric string of `len` characters, for appIds,
/// appKeys, access tokens and nonces.
pub fn generate_credential(len: usize) -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// An application's secret key. `Debug` is redacted (`AppKey(***)`) and there
/// is no `Display`, so it does not leak into logs by accident; it serializes as
/// the plain string because the admin API shows it to its owner.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AppKey(String);

impl AppKey {
    /// Wraps an existing key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// A fresh random key of [`CREDENTIAL_LEN`] alphanumeric characters.
    pub fn generate() -> Self {
        Self(generate_credential(CREDENTIAL_LEN))
    }

    /// The key itself, for signing and for storage.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AppKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppKey(***)")
    }
}

impl PartialEq for AppKey {
    /// Constant-time comparison.
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.as_bytes().ct_eq(other.0.as_bytes()))
    }
}

impl Eq for AppKey {}

impl From<String> for AppKey {
    fn from(key: String) -> Self {
        Self(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const APP_ID: &str = "12345678901234567890123456789012";
    const APP_KEY: &str = "67890123456789012345678901234567";
    const TS: &str = "20170101120000";
    const NONCE: &str = "09876543210987654321098765432109";
    const VECTOR_SIG: &str = "GINsCTyNKTpEI9KXO16KqZJ64fOyAytEKl8aaR/Dy08=";

    #[test]
    fn body_signature_matches_published_vector() {
        assert_eq!(body_signature(APP_ID, APP_KEY, TS, NONCE, b"A"), VECTOR_SIG);
        let verify =
            |body: &[u8], sig| verify_body_signature(APP_ID, APP_KEY, TS, NONCE, body, sig);
        assert!(verify(b"A", VECTOR_SIG));
        assert!(!verify(b"B", VECTOR_SIG));
        assert!(!verify(b"A", ""));
        assert!(!verify(b"A", &VECTOR_SIG[..43]));
    }

    #[test]
    fn access_token_signature_is_lowercase_hex_sha256_of_concatenation() {
        let sig = access_token_signature(APP_ID, TS, NONCE, APP_KEY);
        let concatenated = format!("{APP_ID}{TS}{NONCE}{APP_KEY}");
        assert_eq!(sig, hex::encode(Sha256::digest(concatenated)));
        assert_eq!(sig, sig.to_lowercase());
        let verify = |key, sig: &str| verify_access_token_signature(APP_ID, TS, NONCE, key, sig);
        assert!(verify(APP_KEY, &sig));
        assert!(verify(APP_KEY, &sig.to_uppercase()));
        assert!(!verify("other", &sig));
    }

    #[test]
    fn header_round_trips() {
        let header = open_body_sig_header(APP_ID, APP_KEY, TS, NONCE, b"A");
        let expected = format!(
            r#"OPEN-BODY-SIG AppId="{APP_ID}", Timestamp="{TS}", Nonce="{NONCE}", Signature="{VECTOR_SIG}""#
        );
        assert_eq!(header, expected);
        let creds = Credentials::BodySig {
            app_id: APP_ID.into(),
            timestamp: TS.into(),
            nonce: NONCE.into(),
            signature: VECTOR_SIG.into(),
        };
        assert_eq!(parse_authorization(&header), Ok(creds));
    }

    #[test]
    fn body_sig_variants_are_accepted() {
        let expected = Credentials::BodySig {
            app_id: "a".into(),
            timestamp: "t".into(),
            nonce: "n".into(),
            signature: "s==".into(),
        };
        for header in [
            r#"OPEN-BODY-SIG AppId="a",Timestamp="t",Nonce="n",Signature="s==""#,
            r#"open-body-sig appid="a", timestamp="t", nonce="n", signature="s==""#,
            "OPEN-BODY-SIG APPID=a , NONCE=n,SIGNATURE=s== ,TIMESTAMP=t",
            r#"  OPEN-BODY-SIG   Signature="s==", Nonce=n, Timestamp="t", AppId=a  "#,
        ] {
            assert_eq!(
                parse_authorization(header).as_ref(),
                Ok(&expected),
                "{header}"
            );
        }
    }

    #[test]
    fn access_token_variants_are_accepted() {
        let token = |t: &str, a: Option<&str>| {
            Ok(Credentials::AccessToken {
                token: t.into(),
                app_id: a.map(Into::into),
            })
        };
        let parse = |params: &str| parse_authorization(&format!("OPEN-ACCESS-TOKEN {params}"));
        assert_eq!(parse("AccessToken=abc123"), token("abc123", None));
        assert_eq!(parse(r#"AccessToken="abc123""#), token("abc123", None));
        assert_eq!(
            parse(r#"AccessToken=abc, AppId="x""#),
            token("abc", Some("x"))
        );
        assert_eq!(parse("AccessToken=abc,AppId=x"), token("abc", Some("x")));
        let lower = parse_authorization("open-access-token accesstoken=abc");
        assert_eq!(lower, token("abc", None));
    }

    #[test]
    fn bad_headers_are_rejected_with_a_reason() {
        use AuthParseError::*;
        let token = |params: &str| parse_authorization(&format!("OPEN-ACCESS-TOKEN {params}"));
        let sig = |params: &str| parse_authorization(&format!("OPEN-BODY-SIG {params}"));
        assert_eq!(parse_authorization(""), Err(Empty));
        assert_eq!(parse_authorization("   "), Err(Empty));
        assert_eq!(
            parse_authorization("Bearer abc"),
            Err(UnknownScheme("Bearer".into()))
        );
        assert_eq!(
            parse_authorization("OPEN-ACCESS-TOKEN"),
            Err(MissingParam("AccessToken"))
        );
        assert_eq!(token("AppId=x"), Err(MissingParam("AccessToken")));
        assert_eq!(
            token("AccessToken=a, AccessToken=b"),
            Err(DuplicateParam("AccessToken"))
        );
        assert_eq!(token("abc"), Err(MalformedParam("abc".into())));
        assert_eq!(
            sig("AppId=a, Timestamp=t, Nonce=n"),
            Err(MissingParam("Signature"))
        );
        assert_eq!(
            sig("Timestamp=t, Nonce=n, Signature=s"),
            Err(MissingParam("AppId"))
        );
        let all = "Timestamp=t, Nonce=n, Signature=s";
        assert_eq!(
            sig(&format!("AppId=a, appid=b, {all}")),
            Err(DuplicateParam("AppId"))
        );
        let extra = sig(&format!("AppId=a, Extra=1, {all}"));
        assert_eq!(extra, Err(UnknownParam("Extra".into())));
        let unterminated = sig(&format!("AppId=\"a, {all}"));
        assert_eq!(unterminated, Err(MalformedParam("AppId=\"a".into())));
        let empty_value = sig(&format!("AppId=, {all}"));
        assert_eq!(empty_value, Err(MalformedParam("AppId=".into())));
        let empty_param = sig(&format!("AppId=a,, {all}"));
        assert_eq!(empty_param, Err(MalformedParam(String::new())));
        let message = sig("AppId=a").unwrap_err().to_string();
        assert_eq!(message, "Authorization parameter Timestamp is missing");
    }

    #[test]
    fn credentials_debug_redacts_token() {
        let creds = parse_authorization("OPEN-ACCESS-TOKEN AccessToken=s3cret").unwrap();
        assert!(!format!("{creds:?}").contains("s3cret"));
    }

    #[test]
    fn compact_timestamp_is_china_standard_time() {
        let instant = parse_compact_timestamp(TS).unwrap();
        assert_eq!(instant, Utc.with_ymd_and_hms(2017, 1, 1, 4, 0, 0).unwrap());
        assert_eq!(format_compact_timestamp(instant), TS);
        let late = Utc.with_ymd_and_hms(2024, 2, 29, 16, 30, 5).unwrap();
        assert_eq!(format_compact_timestamp(late), "20240301003005");
        assert_eq!(parse_compact_timestamp("20240301003005"), Ok(late));
    }

    #[test]
    fn compact_timestamp_is_strict() {
        let bad = [
            "",
            "2017010112000",
            "201701011200000",
            "2017-01-01 12:00:00",
            "2017010112000a",
            "+2017010112000",
            "20170230120000",
            "20171301120000",
            "20170101240000",
            "20170101126000",
            "20170101120060",
            "２01701011200",
        ];
        for bad in bad {
            assert!(parse_compact_timestamp(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn generated_credentials_are_alphanumeric_and_distinct() {
        let a = generate_credential(CREDENTIAL_LEN);
        assert_eq!(a.len(), CREDENTIAL_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, generate_credential(CREDENTIAL_LEN));
        assert_eq!(generate_credential(0), "");
    }

    #[test]
    fn app_key_is_redacted_in_debug_but_serialized_plain() {
        let key = AppKey::new("topsecret");
        assert_eq!(format!("{key:?}"), "AppKey(***)");
        assert_eq!(serde_json::to_string(&key).unwrap(), r#""topsecret""#);
        let back: AppKey = serde_json::from_str(r#""topsecret""#).unwrap();
        assert_eq!(back, key);
        assert_eq!(back.expose(), "topsecret");
        assert_ne!(AppKey::generate(), AppKey::generate());
        assert_eq!(AppKey::generate().expose().len(), CREDENTIAL_LEN);
    }
}
