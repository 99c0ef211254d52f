//! Time on the wire. ChinaUMS runs on China Standard Time: every wall-clock time the
//! platform sends or accepts (`requestTimestamp`, `contractSignedTime`, the compact
//! header `Timestamp`, …) carries no zone, so this module reads and writes them as UTC+8
//! ([`CHINA_STANDARD_TIME`]); instants are kept as `DateTime<Utc>` everywhere else.

use std::ops::Range;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};

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

/// The zone the platform's wall-clock times are in, as refusals name it.
pub const ZONE_NAME: &str = "Asia/Shanghai";

/// A well-formed wall-clock time that is too far from the platform's clock: the
/// platform's `ABNORMAL_REQUEST_TIME`. Its text names the time received, how far off it
/// is, the platform's own time and zone, and the window.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimeSkew(String);

/// Checks that `at` (the request's `field`, written as `received`) is at most `window`
/// from `now`, either way; both edges pass.
pub fn check_skew(
    field: &str,
    received: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    window: Duration,
) -> Result<(), TimeSkew> {
    let off = at - now;
    if off.abs() <= window {
        return Ok(());
    }
    let direction = if off < Duration::zero() {
        "behind"
    } else {
        "ahead of"
    };
    // China Standard Time is UTC+8: a clock eight hours behind is a host writing UTC.
    let hint = if (off + Duration::hours(8)).abs() <= window {
        " (a host writing UTC?)"
    } else {
        ""
    };
    Err(TimeSkew(format!(
        "{field} {} is {} {direction} the sandbox clock {} ({ZONE_NAME}); the platform refuses times more than {} off{hint}",
        received.chars().take(64).collect::<String>(),
        span(off.abs()),
        format_cst(now),
        span(window),
    )))
}

/// A duration in words, to the two largest units: `8 h 0 min`, `10 min`, `2631 d 5 h`.
fn span(duration: Duration) -> String {
    let seconds = duration.num_seconds();
    let (days, hours, minutes, secs) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    match (days, hours, minutes, secs) {
        (0, 0, 0, s) => format!("{s} s"),
        (0, 0, m, 0) => format!("{m} min"),
        (0, 0, m, s) => format!("{m} min {s} s"),
        (0, h, m, _) => format!("{h} h {m} min"),
        (d, h, _, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_outside_the_window_are_refused_in_words() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 2, 15, 0).unwrap();
        let window = Duration::minutes(10);
        let utc = parse_cst("2026-12-03 02:15:00").unwrap();
        let refused = check_skew("requestTimestamp", "2026-12-03 02:15:00", utc, now, window);
        assert_eq!(
            refused.unwrap_err().to_string(),
            "requestTimestamp 2026-12-03 02:15:00 is 8 h 0 min behind the sandbox clock \
             2026-12-03 10:15:00 (Asia/Shanghai); the platform refuses times more than 10 min \
             off (a host writing UTC?)"
        );
        let ahead = now + Duration::seconds(601);
        let text = check_skew("requestTimestamp", "x", ahead, now, window)
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("is 10 min 1 s ahead of the sandbox clock"),
            "{text}"
        );
        assert!(!text.contains("UTC?"), "{text}");
        let old = Utc.with_ymd_and_hms(2019, 9, 5, 2, 48, 40).unwrap();
        let text = check_skew("requestTimestamp", "x", old, now, window)
            .unwrap_err()
            .to_string();
        assert!(text.contains(" d ") && text.contains("behind"), "{text}");
        for edge in [now - window, now, now + window] {
            assert_eq!(
                check_skew("requestTimestamp", "x", edge, now, window),
                Ok(())
            );
        }
        assert_eq!(span(Duration::seconds(45)), "45 s");
        assert_eq!(span(Duration::hours(1)), "1 h 0 min");
    }

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
