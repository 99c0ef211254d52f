//! Validation of the netpay order fields, shared by the platform's order API and the
//! admin API: each check names the field as its caller calls it and says what is wrong.

use chrono::{DateTime, Utc};

use crate::platform::payments::order::Product;

/// The largest amount accepted, in fen (100,000,000.00 yuan).
pub const MAX_AMOUNT: i64 = 10_000_000_000;
/// The longest description (`billDesc`, `orderDesc`), in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 255;

/// The number of an order, a bill or a refund: 6 to 32 characters (31 for a `billNo`) of
/// ASCII letters, digits, `-` and `_`, starting with the merchant's source number.
pub fn order_no(name: &str, value: &str, max: usize, msg_src_id: &str) -> Result<(), String> {
    if !(6..=max).contains(&value.len()) {
        return Err(format!("{name} must have 6 to {max} characters"));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "{name} may hold only ASCII letters, digits, '-' and '_'"
        ));
    }
    if !value.starts_with(msg_src_id) {
        return Err(format!(
            "{name} must start with the merchant's source number (来源编号) {msg_src_id}"
        ));
    }
    Ok(())
}

/// The longest order number of `product`.
pub const fn order_no_max(product: Product) -> usize {
    match product {
        Product::Bill => 31,
        Product::Trade => 32,
    }
}

/// An amount in fen: a positive integer up to [`MAX_AMOUNT`]. The platform API sends it
/// as a JSON number; a string of digits is read too, as older clients send one.
pub fn amount(name: &str, value: &serde_json::Value) -> Result<i64, String> {
    let bad = || format!("{name} must be a whole number of fen between 1 and {MAX_AMOUNT}");
    let fen = match value {
        serde_json::Value::Number(n) => n.as_i64().ok_or_else(bad)?,
        serde_json::Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map_err(|_| bad())?
        }
        _ => return Err(bad()),
    };
    if !(1..=MAX_AMOUNT).contains(&fen) {
        return Err(bad());
    }
    Ok(fen)
}

/// A description: at most [`DESCRIPTION_MAX_CHARS`] characters, no control characters.
pub fn description(name: &str, value: &str) -> Result<(), String> {
    if value.chars().count() > DESCRIPTION_MAX_CHARS || value.chars().any(char::is_control) {
        return Err(format!(
            "{name} must have at most {DESCRIPTION_MAX_CHARS} characters and no control characters"
        ));
    }
    Ok(())
}

/// A terminal number (`tid`): 1 to 16 ASCII letters or digits.
pub fn tid(name: &str, value: &str) -> Result<(), String> {
    if !(1..=16).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("{name} must have 1 to 16 ASCII letters or digits"));
    }
    Ok(())
}

/// An institution merchant id (`instMid`): 1 to 32 ASCII capitals and digits.
pub fn inst_mid(name: &str, value: &str) -> Result<(), String> {
    if !(1..=32).contains(&value.len())
        || !value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(format!(
            "{name} must have 1 to 32 capital letters or digits, such as QRPAYDEFAULT"
        ));
    }
    Ok(())
}

/// An expiry: later than `now`, at most 30 days ahead.
pub fn expiry(name: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
    if at <= now || at > now + chrono::Duration::days(30) {
        return Err(format!(
            "{name} must be after now and at most 30 days ahead"
        ));
    }
    Ok(())
}

/// The merchant's source number (来源编号), which every order number of the merchant
/// starts with: the first 4 characters of `order_no`.
pub fn source_number(order_no: &str) -> String {
    order_no.chars().take(4).collect()
}

/// A fresh order number of a merchant: its source number, the China Standard Time to the
/// millisecond and 7 random digits (28 characters).
pub fn generate_order_no(msg_src_id: &str, now: DateTime<Utc>) -> String {
    let digits: String = (0..7)
        .map(|_| char::from(b'0' + rand::random_range(0..10u8)))
        .collect();
    format!(
        "{msg_src_id}{}{digits}",
        crate::platform::wire::time::format_wall_clock(now, "%Y%m%d%H%M%S%3f")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn order_numbers_follow_the_source_number_rule() {
        assert!(order_no("billNo", "3194ABC", 31, "3194").is_ok());
        let err = order_no("billNo", "1017ABC", 31, "3194").unwrap_err();
        assert!(
            err.contains("source number") && err.contains("3194"),
            "{err}"
        );
        assert!(order_no("billNo", "3194", 31, "3194").is_err(), "too short");
        assert!(order_no("billNo", &"3".repeat(32), 31, "3").is_err());
        assert!(order_no("merOrderId", &"3".repeat(32), 32, "3").is_ok());
        assert!(order_no("billNo", "3194 ABC", 31, "3194").is_err());
        let generated = generate_order_no("3194", Utc::now());
        assert_eq!(generated.len(), 28);
        assert!(order_no("merOrderId", &generated, 32, "3194").is_ok());
    }

    #[test]
    fn amounts_are_whole_positive_fen() {
        assert_eq!(amount("totalAmount", &json!(1)), Ok(1));
        assert_eq!(amount("totalAmount", &json!("250")), Ok(250));
        for bad in [
            json!(0),
            json!(-1),
            json!(1.5),
            json!("1.00"),
            json!(""),
            json!(null),
            json!(MAX_AMOUNT + 1),
        ] {
            assert!(amount("totalAmount", &bad).is_err(), "{bad}");
        }
    }
}
