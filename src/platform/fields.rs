//! Validation of the platform's request fields (one function per field) and the platform error codes (`errCode`) in one place.
//!
//! # Error codes
//!
//! Codes are four-digit strings: `0000` is success, `1xxx` a bad request
//! field, `2xxx` a business-rule failure, `3xxx` an authentication failure,
//! `9999` an internal error. The constants live in [`codes`];
//! [`ERROR_CODES`] lists them all with their meaning.
//!
//! | errCode | constant | meaning |
//! |---|---|---|
//! | `0000` | `SUCCESS` | success |
//! | `1001` | `MISSING_FIELD` | a required field is missing or empty |
//! | `1002` | `FIELD_LENGTH` | a field is too long or too short |
//! | `1003` | `BAD_FORMAT` | a field (or the body) has the wrong format |
//! | `1004` | `BAD_TIMESTAMP` | `requestTimestamp` is not `yyyy-MM-dd HH:mm:ss` |
//! | `1005` | `BAD_URL` | `notifyUrl` is not an absolute http(s) URL with a host |
//! | `2001` | `UNKNOWN_MERCHANT` | no merchant with this `mid` |
//! | `2002` | `CONTRACT_NOT_FOUND` | no such contract |
//! | `2003` | `DUPLICATE_CONTRACT_NO` | the merchant already used this `contractNo` |
//! | `3001` | `AUTH_HEADER_MISSING` | no `Authorization` header |
//! | `3002` | `AUTH_HEADER_MALFORMED` | the `Authorization` header cannot be read |
//! | `3003` | `UNKNOWN_APP_ID` | no application with this appId |
//! | `3004` | `TIMESTAMP_OUT_OF_WINDOW` | the signed timestamp is too far from now |
//! | `3005` | `NONCE_REPLAYED` | the nonce was already used |
//! | `3006` | `SIGNATURE_MISMATCH` | the signature does not verify |
//! | `3007` | `TOKEN_INVALID` | the access token is unknown or expired |
//! | `3008` | `BAD_TOKEN_REQUEST` | the access-token request is invalid |
//! | `9999` | `INTERNAL_ERROR` | internal error |

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Utc};
use url::Url;

use super::contract::parse_cst;

/// The platform's `errCode` values.
pub mod codes {
    pub const SUCCESS: &str = "0000";
    pub const MISSING_FIELD: &str = "1001";
    pub const FIELD_LENGTH: &str = "1002";
    pub const BAD_FORMAT: &str = "1003";
    pub const BAD_TIMESTAMP: &str = "1004";
    pub const BAD_URL: &str = "1005";
    pub const UNKNOWN_MERCHANT: &str = "2001";
    pub const CONTRACT_NOT_FOUND: &str = "2002";
    pub const DUPLICATE_CONTRACT_NO: &str = "2003";
    pub const AUTH_HEADER_MISSING: &str = "3001";
    pub const AUTH_HEADER_MALFORMED: &str = "3002";
    pub const UNKNOWN_APP_ID: &str = "3003";
    pub const TIMESTAMP_OUT_OF_WINDOW: &str = "3004";
    pub const NONCE_REPLAYED: &str = "3005";
    pub const SIGNATURE_MISMATCH: &str = "3006";
    pub const TOKEN_INVALID: &str = "3007";
    pub const BAD_TOKEN_REQUEST: &str = "3008";
    pub const INTERNAL_ERROR: &str = "9999";
}

/// Every error code with its meaning, in code order.
pub const ERROR_CODES: &[(&str, &str)] = &[
    (codes::SUCCESS, "success"),
    (codes::MISSING_FIELD, "a required field is missing or empty"),
    (codes::FIELD_LENGTH, "a field is too long or too short"),
    (
        codes::BAD_FORMAT,
        "a field (or the body) has the wrong format",
    ),
    (
        codes::BAD_TIMESTAMP,
        "requestTimestamp is not yyyy-MM-dd HH:mm:ss",
    ),
    (
        codes::BAD_URL,
        "notifyUrl is not an absolute http(s) URL with a host",
    ),
    (codes::UNKNOWN_MERCHANT, "no merchant with this mid"),
    (codes::CONTRACT_NOT_FOUND, "no such contract"),
    (
        codes::DUPLICATE_CONTRACT_NO,
        "the merchant already used this contractNo",
    ),
    (codes::AUTH_HEADER_MISSING, "no Authorization header"),
    (
        codes::AUTH_HEADER_MALFORMED,
        "the Authorization header cannot be read",
    ),
    (codes::UNKNOWN_APP_ID, "no application with this appId"),
    (
        codes::TIMESTAMP_OUT_OF_WINDOW,
        "the signed timestamp is too far from now",
    ),
    (codes::NONCE_REPLAYED, "the nonce was already used"),
    (codes::SIGNATURE_MISMATCH, "the signature does not verify"),
    (
        codes::TOKEN_INVALID,
        "the access token is unknown or expired",
    ),
    (
        codes::BAD_TOKEN_REQUEST,
        "the access-token request is invalid",
    ),
    (codes::INTERNAL_ERROR, "internal error"),
];

/// The meaning of an error code, if it is one of [`ERROR_CODES`].
pub fn error_meaning(code: &str) -> Option<&'static str> {
    ERROR_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, meaning)| *meaning)
}

/// Maximum length accepted for `notifyUrl` (the platform documents none).
pub const NOTIFY_URL_MAX_LEN: usize = 1024;

/// A request field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    /// The wire name of the field, e.g. `contractNo`.
    pub field: &'static str,
    /// One of [`codes`].
    pub err_code: &'static str,
    /// A human-readable explanation naming the field.
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, err_code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            err_code,
            message: message.into(),
        }
    }

    /// The field is absent or empty.
    pub fn missing(field: &'static str) -> Self {
        Self::new(field, codes::MISSING_FIELD, format!("{field} is required"))
    }
}

/// Returns the value of a required field, or a `MISSING_FIELD` error if it is
/// absent or empty.
pub fn require<'a>(field: &'static str, value: Option<&'a str>) -> Result<&'a str, FieldError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| FieldError::missing(field))
}

/// `mid`: exactly 15 ASCII letters or digits.
pub fn validate_mid(value: &str) -> Result<(), FieldError> {
    check_length("mid", value, 15, 15)?;
    check_chars("mid", value, "ASCII letters and digits", |c| {
        c.is_ascii_alphanumeric()
    })
}

/// `contractNo`: 8 to 40 printable ASCII characters, no whitespace.
pub fn validate_contract_no(value: &str) -> Result<(), FieldError> {
    check_length("contractNo", value, 8, 40)?;
    check_chars("contractNo", value, "printable ASCII without spaces", |c| {
        c.is_ascii_graphic()
    })
}

/// `planId`: 1 to 32 printable ASCII characters, no whitespace.
pub fn validate_plan_id(value: &str) -> Result<(), FieldError> {
    check_length("planId", value, 1, 32)?;
    check_chars("planId", value, "printable ASCII without spaces", |c| {
        c.is_ascii_graphic()
    })
}

/// `requestTimestamp`: strictly `yyyy-MM-dd HH:mm:ss` (China Standard Time).
pub fn validate_request_timestamp(value: &str) -> Result<(), FieldError> {
    parse_request_timestamp(value).map(drop)
}

/// Validates `requestTimestamp` and returns the instant it denotes.
pub fn parse_request_timestamp(value: &str) -> Result<DateTime<Utc>, FieldError> {
    let field = "requestTimestamp";
    if value.is_empty() {
        return Err(FieldError::missing(field));
    }
    parse_cst(value)
        .map_err(|e| FieldError::new(field, codes::BAD_TIMESTAMP, format!("{field}: {e}")))
}

/// `notifyUrl`: an absolute `http`/`https` URL with a host, at most
/// [`NOTIFY_URL_MAX_LEN`] characters.
pub fn validate_notify_url(value: &str) -> Result<(), FieldError> {
    parse_notify_url(value).map(drop)
}

/// A notify URL as it was accepted, with the delivery host (`host:port`, the key of the
/// outbox's per-host cap) derived from it then. Contracts keep both, so sending a
/// notification never validates the URL again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyTarget {
    pub url: String,
    pub host: String,
}

/// Validates `notifyUrl` and derives its delivery host.
pub fn notify_target(value: &str) -> Result<NotifyTarget, FieldError> {
    let url = parse_notify_url(value)?;
    // `parse_notify_url` accepts only http(s) URLs with a host, which have a known port.
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(80);
    Ok(NotifyTarget {
        url: value.to_owned(),
        host: format!("{host}:{port}"),
    })
}

/// Validates `notifyUrl` and returns it parsed.
pub fn parse_notify_url(value: &str) -> Result<Url, FieldError> {
    let field = "notifyUrl";
    check_length(field, value, 1, NOTIFY_URL_MAX_LEN)?;
    let bad = |why: String| FieldError::new(field, codes::BAD_URL, format!("{field} {why}"));
    let url = Url::parse(value).map_err(|e| bad(format!("is not an absolute URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!(
            "must use http or https, not {:?}",
            url.scheme()
        )));
    }
    if url.host_str().unwrap_or_default().is_empty() {
        return Err(bad("has no host".to_owned()));
    }
    Ok(url)
}

/// `contractId`: 44 characters of standard, padded Base64.
pub fn validate_contract_id(value: &str) -> Result<(), FieldError> {
    check_length("contractId", value, 44, 44)?;
    match STANDARD.decode(value) {
        Ok(_) => Ok(()),
        Err(_) => Err(FieldError::new(
            "contractId",
            codes::BAD_FORMAT,
            "contractId must be standard Base64",
        )),
    }
}

/// Optional `singleLimitAmt`: digits with at most two decimals (`500`,
/// `500.5`, `500.00`), at most 18 characters. Absent or empty is fine.
pub fn validate_single_limit_amt(value: Option<&str>) -> Result<(), FieldError> {
    let field = "singleLimitAmt";
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    check_length(field, value, 1, 18)?;
    let (int, frac) = value.split_once('.').unwrap_or((value, "00"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(int) && digits(frac) && frac.len() <= 2 {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            codes::BAD_FORMAT,
            format!("{field} must be an amount like 500 or 500.00 (digits, at most two decimals)"),
        ))
    }
}

/// Optional `avlNum`: digits only, at most 18 characters. Absent or empty is
/// fine.
pub fn validate_avl_num(value: Option<&str>) -> Result<(), FieldError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    check_length("avlNum", value, 1, 18)?;
    check_chars("avlNum", value, "digits", |c| c.is_ascii_digit())
}

/// Empty → `MISSING_FIELD`; outside `min..=max` characters → `FIELD_LENGTH`.
fn check_length(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(FieldError::missing(field));
    }
    let len = value.chars().count();
    if (min..=max).contains(&len) {
        return Ok(());
    }
    let expected = if min == max {
        format!("exactly {min}")
    } else {
        format!("{min} to {max}")
    };
    Err(FieldError::new(
        field,
        codes::FIELD_LENGTH,
        format!("{field} must be {expected} characters long (got {len})"),
    ))
}

/// Any character failing `ok` → `BAD_FORMAT`.
fn check_chars(
    field: &'static str,
    value: &str,
    allowed: &str,
    ok: impl Fn(char) -> bool,
) -> Result<(), FieldError> {
    if value.chars().all(ok) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            codes::BAD_FORMAT,
            format!("{field} may only contain {allowed}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T>(result: Result<T, FieldError>) -> &'static str {
        match result {
            Ok(_) => codes::SUCCESS,
            Err(e) => e.err_code,
        }
    }

    #[test]
    fn error_codes_are_unique_four_digit_strings() {
        let mut seen = std::collections::HashSet::new();
        for (code, meaning) in ERROR_CODES {
            assert!(
                code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()),
                "{code}"
            );
            assert!(seen.insert(*code), "duplicate {code}");
            assert!(!meaning.is_empty());
        }
        assert_eq!(ERROR_CODES.len(), 18);
        assert_eq!(error_meaning(codes::SUCCESS), Some("success"));
        assert_eq!(error_meaning("4242"), None);
        assert!(ERROR_CODES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn require_rejects_absent_and_empty() {
        assert_eq!(require("mid", Some("x")), Ok("x"));
        assert_eq!(code(require("mid", None)), codes::MISSING_FIELD);
        assert_eq!(
            require("mid", Some("")).unwrap_err().message,
            "mid is required"
        );
    }

    #[test]
    fn mid() {
        assert_eq!(code(validate_mid("898310048161234")), codes::SUCCESS);
        assert_eq!(code(validate_mid("89831004816ABCD")), codes::SUCCESS);
        assert_eq!(code(validate_mid("")), codes::MISSING_FIELD);
        assert_eq!(code(validate_mid("89831004816123")), codes::FIELD_LENGTH);
        assert_eq!(code(validate_mid("8983100481612345")), codes::FIELD_LENGTH);
        assert_eq!(code(validate_mid("89831004816-234")), codes::BAD_FORMAT);
        let err = validate_mid("123").unwrap_err();
        assert_eq!(
            (err.field, err.message.as_str()),
            ("mid", "mid must be exactly 15 characters long (got 3)")
        );
    }

    #[test]
    fn contract_no_and_plan_id() {
        assert_eq!(code(validate_contract_no("CN-0001_x")), codes::SUCCESS);
        assert_eq!(code(validate_contract_no(&"9".repeat(40))), codes::SUCCESS);
        assert_eq!(code(validate_contract_no("1234567")), codes::FIELD_LENGTH);
        assert_eq!(
            code(validate_contract_no(&"9".repeat(41))),
            codes::FIELD_LENGTH
        );
        assert_eq!(code(validate_contract_no("CN 00001")), codes::BAD_FORMAT);
        assert_eq!(
            code(validate_contract_no("合同号码合同号码")),
            codes::BAD_FORMAT
        );
        assert_eq!(code(validate_plan_id("P")), codes::SUCCESS);
        assert_eq!(code(validate_plan_id("")), codes::MISSING_FIELD);
        assert_eq!(code(validate_plan_id(&"P".repeat(33))), codes::FIELD_LENGTH);
        assert_eq!(code(validate_plan_id("plan\t1")), codes::BAD_FORMAT);
    }

    #[test]
    fn request_timestamp() {
        assert_eq!(
            code(validate_request_timestamp("2024-07-01 00:00:00")),
            codes::SUCCESS
        );
        assert_eq!(code(validate_request_timestamp("")), codes::MISSING_FIELD);
        for bad in [
            "20240701000000",
            "2024-07-01T00:00:00",
            "2024-07-01 00:00:00.000",
            "2024-13-01 00:00:00",
        ] {
            assert_eq!(
                code(validate_request_timestamp(bad)),
                codes::BAD_TIMESTAMP,
                "{bad}"
            );
        }
        let instant = parse_request_timestamp("2024-07-01 08:00:00").unwrap();
        assert_eq!(instant.to_rfc3339(), "2024-07-01T00:00:00+00:00");
    }

    #[test]
    fn notify_url() {
        for good in [
            "https://merchant.example/notify",
            "http://127.0.0.1:8080/cb?x=1",
            "HTTPS://EXAMPLE.COM",
        ] {
            assert_eq!(code(validate_notify_url(good)), codes::SUCCESS, "{good}");
        }
        assert_eq!(code(validate_notify_url("")), codes::MISSING_FIELD);
        for bad in [
            "/notify",
            "merchant.example/notify",
            "ftp://example.com/x",
            "mailto:a@b.c",
            "http://",
            "https://exa mple.com",
        ] {
            assert_eq!(code(validate_notify_url(bad)), codes::BAD_URL, "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(NOTIFY_URL_MAX_LEN));
        assert_eq!(code(validate_notify_url(&long)), codes::FIELD_LENGTH);
        assert_eq!(
            parse_notify_url("https://example.com/n")
                .unwrap()
                .host_str(),
            Some("example.com")
        );
    }

    #[test]
    fn notify_target_host_is_the_outbox_host_key() {
        for (url, host) in [
            ("https://merchant.example/notify", "merchant.example:443"),
            ("http://127.0.0.1:8080/cb?x=1", "127.0.0.1:8080"),
            ("HTTP://EXAMPLE.COM", "example.com:80"),
            ("http://user:pw@[::1]:9/n", "[::1]:9"),
            ("https://shop.example:443/n", "shop.example:443"),
        ] {
            let target = notify_target(url).unwrap();
            assert_eq!((target.url.as_str(), target.host.as_str()), (url, host));
            // The same key the generic admin API gives a notification to this URL, so
            // both kinds share one per-host cap.
            let generic = crate::api::notifications::validate_url(url).ok();
            assert_eq!(generic.as_deref(), Some(host), "{url}");
        }
        assert_eq!(code(notify_target("ftp://x/y")), codes::BAD_URL);
    }

    #[test]
    fn contract_id() {
        let id = crate::platform::contract::contract_id();
        assert_eq!(code(validate_contract_id(&id)), codes::SUCCESS);
        assert_eq!(code(validate_contract_id("")), codes::MISSING_FIELD);
        assert_eq!(code(validate_contract_id(&id[..43])), codes::FIELD_LENGTH);
        let not_b64 = format!("{}!", &id[..43]);
        assert_eq!(code(validate_contract_id(&not_b64)), codes::BAD_FORMAT);
        let url_safe = format!("{}-_=", &id[..41]);
        assert_eq!(code(validate_contract_id(&url_safe)), codes::BAD_FORMAT);
    }

    #[test]
    fn optional_amount_and_count() {
        for good in [
            None,
            Some(""),
            Some("0"),
            Some("500"),
            Some("500.5"),
            Some("500.00"),
            Some("123456789012345.00"),
        ] {
            assert_eq!(
                code(validate_single_limit_amt(good)),
                codes::SUCCESS,
                "{good:?}"
            );
        }
        for bad in ["500.", ".5", "500.000", "-1", "1e3", "5 00", "1,000"] {
            assert_eq!(
                code(validate_single_limit_amt(Some(bad))),
                codes::BAD_FORMAT,
                "{bad}"
            );
        }
        assert_eq!(
            code(validate_single_limit_amt(Some(&"9".repeat(19)))),
            codes::FIELD_LENGTH
        );
        for good in [
            None,
            Some(""),
            Some("0"),
            Some("99"),
            Some("999999999999999999"),
        ] {
            assert_eq!(code(validate_avl_num(good)), codes::SUCCESS, "{good:?}");
        }
        assert_eq!(code(validate_avl_num(Some("1.5"))), codes::BAD_FORMAT);
        assert_eq!(code(validate_avl_num(Some("-1"))), codes::BAD_FORMAT);
        assert_eq!(
            code(validate_avl_num(Some(&"9".repeat(19)))),
            codes::FIELD_LENGTH
        );
    }
}
