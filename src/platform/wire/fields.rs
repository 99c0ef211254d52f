//! Validation of the platform's request fields, one function per field; each failure
//! names its field and its [`ErrCode`].

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Utc};

use crate::platform::wire::errcode::ErrCode;
use crate::platform::wire::time::parse_cst;
use crate::policy::Destination;

/// Maximum length accepted for `notifyUrl` (the platform documents none).
pub const NOTIFY_URL_MAX_LEN: usize = 1024;

/// A request field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    /// The wire name of the field, e.g. `contractNo`.
    pub field: &'static str,
    pub err_code: ErrCode,
    /// A human-readable explanation naming the field.
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, err_code: ErrCode, message: impl Into<String>) -> Self {
        Self {
            field,
            err_code,
            message: message.into(),
        }
    }

    /// The field is absent or empty.
    pub fn missing(field: &'static str) -> Self {
        Self::new(field, ErrCode::MissingField, format!("{field} is required"))
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
        .map_err(|e| FieldError::new(field, ErrCode::BadTimestamp, format!("{field}: {e}")))
}

/// `notifyUrl`: an absolute `http`/`https` URL with a host, at most
/// [`NOTIFY_URL_MAX_LEN`] characters.
pub fn validate_notify_url(value: &str) -> Result<(), FieldError> {
    notify_target(value).map(drop)
}

/// Validates `notifyUrl` as a [`Destination`], deriving its host key once: contracts
/// keep both, so sending a notification never validates the URL again.
pub fn notify_target(value: &str) -> Result<Destination, FieldError> {
    let field = "notifyUrl";
    check_length(field, value, 1, NOTIFY_URL_MAX_LEN)?;
    Destination::parse(value)
        .map_err(|error| FieldError::new(field, ErrCode::BadUrl, format!("{field} {error}")))
}

/// `contractId`: 44 characters of standard, padded Base64.
pub fn validate_contract_id(value: &str) -> Result<(), FieldError> {
    check_length("contractId", value, 44, 44)?;
    match STANDARD.decode(value) {
        Ok(_) => Ok(()),
        Err(_) => Err(FieldError::new(
            "contractId",
            ErrCode::BadFormat,
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
            ErrCode::BadFormat,
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
        ErrCode::FieldLength,
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
            ErrCode::BadFormat,
            format!("{field} may only contain {allowed}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T>(result: Result<T, FieldError>) -> ErrCode {
        match result {
            Ok(_) => ErrCode::Success,
            Err(e) => e.err_code,
        }
    }

    #[test]
    fn require_rejects_absent_and_empty() {
        assert_eq!(require("mid", Some("x")), Ok("x"));
        assert_eq!(code(require("mid", None)), ErrCode::MissingField);
        assert_eq!(
            require("mid", Some("")).unwrap_err().message,
            "mid is required"
        );
    }

    #[test]
    fn mid() {
        assert_eq!(code(validate_mid("898310048161234")), ErrCode::Success);
        assert_eq!(code(validate_mid("89831004816ABCD")), ErrCode::Success);
        assert_eq!(code(validate_mid("")), ErrCode::MissingField);
        assert_eq!(code(validate_mid("89831004816123")), ErrCode::FieldLength);
        assert_eq!(code(validate_mid("8983100481612345")), ErrCode::FieldLength);
        assert_eq!(code(validate_mid("89831004816-234")), ErrCode::BadFormat);
        let err = validate_mid("123").unwrap_err();
        assert_eq!(
            (err.field, err.message.as_str()),
            ("mid", "mid must be exactly 15 characters long (got 3)")
        );
    }

    #[test]
    fn contract_no_and_plan_id() {
        assert_eq!(code(validate_contract_no("CN-0001_x")), ErrCode::Success);
        assert_eq!(
            code(validate_contract_no(&"9".repeat(40))),
            ErrCode::Success
        );
        assert_eq!(code(validate_contract_no("1234567")), ErrCode::FieldLength);
        assert_eq!(
            code(validate_contract_no(&"9".repeat(41))),
            ErrCode::FieldLength
        );
        assert_eq!(code(validate_contract_no("CN 00001")), ErrCode::BadFormat);
        assert_eq!(
            code(validate_contract_no("合同号码合同号码")),
            ErrCode::BadFormat
        );
        assert_eq!(code(validate_plan_id("P")), ErrCode::Success);
        assert_eq!(code(validate_plan_id("")), ErrCode::MissingField);
        assert_eq!(
            code(validate_plan_id(&"P".repeat(33))),
            ErrCode::FieldLength
        );
        assert_eq!(code(validate_plan_id("plan\t1")), ErrCode::BadFormat);
    }

    #[test]
    fn request_timestamp() {
        assert_eq!(
            code(validate_request_timestamp("2024-07-01 00:00:00")),
            ErrCode::Success
        );
        assert_eq!(code(validate_request_timestamp("")), ErrCode::MissingField);
        for bad in [
            "20240701000000",
            "2024-07-01T00:00:00",
            "2024-07-01 00:00:00.000",
            "2024-13-01 00:00:00",
        ] {
            assert_eq!(
                code(validate_request_timestamp(bad)),
                ErrCode::BadTimestamp,
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
            assert_eq!(code(validate_notify_url(good)), ErrCode::Success, "{good}");
        }
        assert_eq!(code(validate_notify_url("")), ErrCode::MissingField);
        for bad in [
            "/notify",
            "merchant.example/notify",
            "ftp://example.com/x",
            "mailto:a@b.c",
            "http://",
            "https://exa mple.com",
        ] {
            assert_eq!(code(validate_notify_url(bad)), ErrCode::BadUrl, "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(NOTIFY_URL_MAX_LEN));
        assert_eq!(code(validate_notify_url(&long)), ErrCode::FieldLength);
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
        }
        assert_eq!(code(notify_target("ftp://x/y")), ErrCode::BadUrl);
    }

    #[test]
    fn contract_id() {
        let id = crate::platform::contracts::contract::contract_id();
        assert_eq!(code(validate_contract_id(&id)), ErrCode::Success);
        assert_eq!(code(validate_contract_id("")), ErrCode::MissingField);
        assert_eq!(code(validate_contract_id(&id[..43])), ErrCode::FieldLength);
        let not_b64 = format!("{}!", &id[..43]);
        assert_eq!(code(validate_contract_id(&not_b64)), ErrCode::BadFormat);
        let url_safe = format!("{}-_=", &id[..41]);
        assert_eq!(code(validate_contract_id(&url_safe)), ErrCode::BadFormat);
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
                ErrCode::Success,
                "{good:?}"
            );
        }
        for bad in ["500.", ".5", "500.000", "-1", "1e3", "5 00", "1,000"] {
            assert_eq!(
                code(validate_single_limit_amt(Some(bad))),
                ErrCode::BadFormat,
                "{bad}"
            );
        }
        assert_eq!(
            code(validate_single_limit_amt(Some(&"9".repeat(19)))),
            ErrCode::FieldLength
        );
        for good in [
            None,
            Some(""),
            Some("0"),
            Some("99"),
            Some("999999999999999999"),
        ] {
            assert_eq!(code(validate_avl_num(good)), ErrCode::Success, "{good:?}");
        }
        assert_eq!(code(validate_avl_num(Some("1.5"))), ErrCode::BadFormat);
        assert_eq!(code(validate_avl_num(Some("-1"))), ErrCode::BadFormat);
        assert_eq!(
            code(validate_avl_num(Some(&"9".repeat(19)))),
            ErrCode::FieldLength
        );
    }
}
