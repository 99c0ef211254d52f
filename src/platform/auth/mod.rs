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

pub mod header;
pub mod signature;
pub mod store;

pub use header::*;
pub use signature::*;
pub use store::{AuthStore, NewToken, NonceUse};

use chrono::{DateTime, Utc};
use rand::{distr::Alphanumeric, Rng};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::platform::wire::time::TimestampError;

/// Parses a compact `yyyyMMddHHmmss` header timestamp.
///
/// The string carries no zone; it is read as China Standard Time (UTC+8), the
/// platform's zone, so `20170101120000` is `2017-01-01T04:00:00Z`.
pub fn parse_compact_timestamp(timestamp: &str) -> Result<DateTime<Utc>, TimestampError> {
    crate::platform::wire::time::parse_wall_clock(
        timestamp,
        "yyyyMMddHHmmss",
        &[],
        [0..4, 4..6, 6..8, 8..10, 10..12, 12..14],
    )
}

/// Formats an instant as a compact `yyyyMMddHHmmss` timestamp in China
/// Standard Time (UTC+8).
pub fn format_compact_timestamp(instant: DateTime<Utc>) -> String {
    crate::platform::wire::time::format_wall_clock(instant, "%Y%m%d%H%M%S")
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
mod tests;
