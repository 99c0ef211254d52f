//! The platform side of the ChinaUMS open platform, simulated: merchants and their
//! credentials, the platform API they call, password-free contracts and netpay orders,
//! and the notices the notification center sends them about both.
//!
//! The domain, pure and deterministic given its inputs (apart from the explicit random
//! generators [`auth::generate_credential`] and [`contract::contract_id`]):
//!
//! * [`merchant`] — a merchant, its credentials and simulated users.
//! * [`contract`] — the contract record, its states and the state machine.
//! * [`lifecycle`] — what a state change does and which notifications it sends.
//! * [`notice`] — the contract state notice family: its body and outbox entries.
//! * [`order`] — a netpay order (QR bill or trade order), its states and refunds.
//! * [`order_events`] — what paying, closing and refunding an order do, with their notices.
//! * [`payment_notice`] — the payment-result notice family: its signed form body.
//! * [`payment_sign`] — the `sign` of the payment-result notices (form parameters).
//! * [`auth`] — access-token and `OPEN-BODY-SIG` signatures, `Authorization` headers,
//!   compact timestamps, credential generation.
//! * [`fields`] — validation of request fields; [`order_fields`] — of order fields;
//!   [`errcode`] — the platform's `errCode`s.
//!
//! The service around it:
//!
//! * [`store`] — merchants, contracts, tokens and nonces in the outbox's database.
//! * [`service`] — drafting contracts and changing their state.
//! * [`order_service`] — drafting orders and applying their events.
//! * [`signer`] — signs every try of a merchant's notice.
//! * [`api`] — the admin routes and the platform's own `/v1/...` routes.
//! * [`worker`] — simulated users' automatic consent and buyers' payments; order expiry;
//!   pruning.
//! * [`sandbox`] — all of it wired into the application.
//!
//! # Time zone
//!
//! ChinaUMS runs on China Standard Time. Every wall-clock time on the wire
//! (`requestTimestamp`, `contractSignedTime`, the compact header `Timestamp`, …)
//! carries no zone, so this crate reads and writes them as UTC+8
//! ([`CHINA_STANDARD_TIME`]) and keeps instants as `DateTime<Utc>` internally.

pub mod api;
pub mod auth;
pub mod config;
pub mod contract;
pub mod errcode;
pub mod fields;
pub mod lifecycle;
pub mod merchant;
pub mod notice;
pub mod order;
pub mod order_events;
pub mod order_fields;
pub mod order_service;
pub mod payment_notice;
pub mod payment_sign;
pub mod sandbox;
pub mod service;
pub mod signer;
pub mod store;
pub mod worker;

pub use config::PlatformArgs;
pub use sandbox::Sandbox;

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
fn parse_wall_clock(
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
pub(crate) fn format_wall_clock(instant: DateTime<Utc>, pattern: &str) -> String {
    instant
        .with_timezone(&CHINA_STANDARD_TIME)
        .format(pattern)
        .to_string()
}
