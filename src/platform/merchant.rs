//! A merchant of the platform: who it is, where its notices go by default, the
//! credentials it signs with, and how its simulated users behave.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::auth::AppKey;

/// A merchant and its credentials.
#[derive(Debug, Clone)]
pub struct Merchant {
    pub mid: String,
    pub name: String,
    /// The default notify URL, used by contracts that name none.
    pub notify_url: Option<String>,
    pub app_id: String,
    /// `Debug` prints `AppKey(***)`: a merchant can be logged without its key.
    pub app_key: AppKey,
    /// Simulated consent: new contracts sign themselves after this delay.
    pub auto_consent_after: Option<Duration>,
    /// Every notification of this merchant is sent this many extra times.
    pub extra_copies: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewMerchant {
    pub mid: String,
    pub name: String,
    pub notify_url: Option<String>,
    pub app_id: String,
    pub app_key: AppKey,
    pub auto_consent_after: Option<Duration>,
    pub extra_copies: u32,
}

/// A partial update; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct MerchantPatch {
    pub name: Option<String>,
    pub notify_url: Option<Option<String>>,
    pub auto_consent_after: Option<Option<Duration>>,
    pub extra_copies: Option<u32>,
}
