//! Human-readable durations (`500ms`, `15s`, `1m`, `2h`, `1d`) for flags, the API and the docs.

use std::time::Duration;

/// Why a duration string was rejected; the message names the offending text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason} (expected a number followed by ms, s, m, h or d, such as 15s or 2m)")]
pub struct DurationError {
    input: String,
    reason: &'static str,
}

/// Parses one duration such as `250ms`, `15s`, `1m`, `2h` or `1d`. A bare number means seconds.
///
/// ```
/// use std::time::Duration;
/// use ums_notify::duration::parse_duration;
///
/// assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
/// assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let err = |reason| DurationError {
        input: input.to_owned(),
        reason,
    };
    let text = input.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return Err(err("it does not start with a number"));
    }
    let value: u64 = digits.parse().map_err(|_| err("the number is too large"))?;
    let millis_per_unit: u64 = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(err("the unit is not one of ms, s, m, h, d")),
    };
    value
        .checked_mul(millis_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| err("the duration is too large"))
}

/// Parses a comma-separated list of durations, such as `15s,30s,1m`.
pub fn parse_duration_list(input: &str) -> Result<Vec<Duration>, DurationError> {
    input.split(',').map(parse_duration).collect()
}

/// Formats a duration in the largest unit that represents it exactly (`90s`, `2m`, `250ms`).
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// Serde adapter: a duration as its human-readable string.
pub mod serde_human {
    use super::{format_duration, parse_duration};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_duration(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("15s").unwrap(), Duration::from_secs(15));
        assert_eq!(parse_duration("15").unwrap(), Duration::from_secs(15));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86_400));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "s",
            "-1s",
            "1.5s",
            "10x",
            "99999999999999999999s",
            "1 fortnight",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn formats_round_trip() {
        for text in ["250ms", "15s", "90s", "2m", "1h", "1d"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
        assert_eq!(
            parse_duration_list("15s, 30s,1m").unwrap(),
            vec![
                Duration::from_secs(15),
                Duration::from_secs(30),
                Duration::from_secs(60)
            ]
        );
    }
}
