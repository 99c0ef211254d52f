//! Time on the wire. ChinaUMS runs on China Standard Time: every wall-clock time the
//! platform sends or accepts (`requestTimestamp`, `contractSignedTime`, the compact
//! header `Timestamp`, …) carries no zone, so this module reads and writes them as UTC+8
//! ([`CHINA_STANDARD_TIME`]); instants are kept as `DateTime<Utc>` everywhere else.

use std::ops::Range;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// China Standard Time (UTC+8, no daylight saving): the zone of every
/// zone-less wall-clock time the platform sends or accepts.
pub const CHINA_STANDARD_TIME: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// A wall-clock time string that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time {input:?}: {reason} (expected `{expected}`, China Standard Time)")]
pub struct TimestampError {
    /// The rejected input (truncated to 64 characters).
    pub input: String,
    /// The expected layout, e.g. `yyyy-MM-dd HH:mm:ss`.
    pub expected: &'static str,
    /// Why it was rejected.
    pub reason: &'static str,
}

impl TimestampError {
    fn new(input: &str, expected: &'static str, reason: &'static str) -> Self {
        Self {
            input: input.chars().take(64).collect(),
            expected,
            reason,
        }
    }
}

/// Reads a fixed-width wall-clock time: `input` must be as long as `expected`,
/// have the byte `sep` at each `(index, sep)` of `separators`, and ASCII digits
/// in each of the six `fields` (year, month, day, hour, minute, second). The
/// result is that wall-clock time in China Standard Time, as a UTC instant.
pub(crate) fn parse_wall_clock(
    input: &str,
    expected: &'static str,
    separators: &[(usize, u8)],
    fields: [Range<usize>; 6],
) -> Result<DateTime<Utc>, TimestampError> {
    let err = |reason| TimestampError::new(input, expected, reason);
    let bytes = input.as_bytes();
    if bytes.len() != expected.len() {
        return Err(err("wrong length"));
    }
    if separators.iter().any(|&(i, sep)| bytes[i] != sep) {
        return Err(err("wrong separator"));
    }
    let mut parts = [0u32; 6];
    for (part, range) in parts.iter_mut().zip(fields) {
        let digits = &bytes[range];
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(err("expected digits"));
        }
        *part = digits
            .iter()
            .fold(0, |acc, &d| acc * 10 + u32::from(d - b'0'));
    }
    let [year, month, day, hour, minute, second] = parts;
    let naive = i32::try_from(year)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, month, day))
        .ok_or_else(|| err("no such date"))?
        .and_hms_opt(hour, minute, second)
        .ok_or_else(|| err("no such time of day"))?;
    naive
        .and_local_timezone(CHINA_STANDARD_TIME)
        .single()
        .map(|dt| dt.with_timezone(&Utc))
        .ok_or_else(|| err("out of range"))
}

/// Formats `instant` as China Standard Time wall-clock time with a chrono
/// `strftime` pattern.
pub fn format_wall_clock(instant: DateTime<Utc>, pattern: &str) -> String {
    instant
        .with_timezone(&CHINA_STANDARD_TIME)
        .format(pattern)
        .to_string()
}

/// Formats an instant as China Standard Time `yyyy-MM-dd HH:mm:ss`.
pub fn format_cst(instant: DateTime<Utc>) -> String {
    format_wall_clock(instant, "%Y-%m-%d %H:%M:%S")
}

/// Parses a China Standard Time `yyyy-MM-dd HH:mm:ss` (exactly 19 characters,
/// no zone, no fraction) into an instant.
pub fn parse_cst(text: &str) -> Result<DateTime<Utc>, TimestampError> {
    parse_wall_clock(
        text,
        "yyyy-MM-dd HH:mm:ss",
        &[(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')],
        [0..4, 5..7, 8..10, 11..13, 14..16, 17..19],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn cst_times_format_and_parse_strictly() {
        let instant = Utc.with_ymd_and_hms(2024, 12, 31, 16, 0, 1).unwrap();
        assert_eq!(format_cst(instant), "2025-01-01 00:00:01");
        assert_eq!(parse_cst("2025-01-01 00:00:01"), Ok(instant));
        for bad in [
            "",
            "2025-01-01 00:00",
            "2025-01-01T00:00:01",
            "2025-01-01 00:00:01Z",
            "2025-1-01 00:00:01",
            "2025/01/01 00:00:01",
            "2025-01-01 00:00:1 ",
            "2025-02-29 00:00:00",
            "2025-01-01 24:00:00",
            "2025-01-01 00:00:60",
            " 2025-01-01 00:00:01",
        ] {
            assert!(parse_cst(bad).is_err(), "{bad:?}");
        }
    }
}
