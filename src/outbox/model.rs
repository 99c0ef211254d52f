//! The records the outbox stores and the values that move between the store and the
//! dispatcher.

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use crate::policy::{Destination, NextStep, RetryPolicy, Status, SuccessRule};

/// An enqueue named an idempotency key that a notification with another URL or body
/// already holds. Nothing of the enqueue was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("item {index}: idempotency key already used by notification {existing_id} with another url or body")]
pub struct KeyConflict {
    /// The item of the enqueue, counted from 0.
    pub index: usize,
    pub existing_id: i64,
}

/// A notification to be inserted into the outbox.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub destination: Destination,
    /// What counts as delivered.
    pub success: SuccessRule,
    pub body: Vec<u8>,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub policy: RetryPolicy,
    pub idempotency_key: Option<String>,
    /// Who the notification belongs to, in its producer's terms (a notice family uses
    /// the merchant); listings filter by it.
    pub tenant: Option<String>,
    /// What the notification is about, in its producer's terms (a contract, an order).
    pub subject: Option<String>,
    /// The notice family that produced it (`generic` for the admin API); it picks the
    /// family's signer for every try.
    pub kind: String,
}

/// A stored notification.
#[derive(Debug, Clone)]
pub struct Notification {
    pub id: i64,
    pub status: Status,
    pub destination: Destination,
    pub success: SuccessRule,
    pub body: Vec<u8>,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    /// Tries made over the notification's whole life.
    pub attempts: u32,
    /// Tries made in the current round (a redelivery starts a new round).
    pub round_attempts: u32,
    pub policy: RetryPolicy,
    pub idempotency_key: Option<String>,
    pub tenant: Option<String>,
    pub subject: Option<String>,
    pub kind: String,
    /// The next try while pending; the lease expiry while delivering; none once finished.
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// The fixture that made it (`ums-notify trigger`), if one did.
    pub triggered_by: Option<String>,
}

/// A notification leased to this worker for one try.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub notification: Notification,
    /// Identifies this lease; a result is applied only while the lease is still this one.
    pub lease_token: i64,
}

/// How a try ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The merchant answered with a status other than 200 (redirects included).
    HttpStatus,
    /// HTTP 200, but not the answer body the notification's success rule asks for.
    UnexpectedBody,
    /// No complete answer within the request timeout.
    Timeout,
    /// The connection could not be made: refused, unreachable, DNS or TLS failure.
    Connect,
    /// The egress guard refused the destination's address (`--destinations public`);
    /// nothing was sent.
    DestinationNotAllowed,
    /// The merchant is in relay mode and no `ums-notify listen` session of it was
    /// connected (or the session closed before it answered); nothing was sent.
    RelayOffline,
    /// Anything else, such as a connection reset mid-response.
    Other,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::HttpStatus => "http_status",
            FailureKind::UnexpectedBody => "unexpected_body",
            FailureKind::Timeout => "timeout",
            FailureKind::Connect => "connect",
            FailureKind::DestinationNotAllowed => "destination_not_allowed",
            FailureKind::RelayOffline => "relay_offline",
            FailureKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::HttpStatus,
            Self::UnexpectedBody,
            Self::Timeout,
            Self::Connect,
            Self::DestinationNotAllowed,
            Self::RelayOffline,
            Self::Other,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == s)
    }
}

/// One finished try, to be recorded with the transition it causes.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub notification_id: i64,
    pub lease_token: i64,
    /// 1-based over the notification's life.
    pub number: u32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub status_code: Option<u16>,
    pub failure: Option<FailureKind>,
    pub message: Option<String>,
    /// The first bytes of the response body.
    pub response_body: Option<Vec<u8>>,
    pub next: NextStep,
}

/// A recorded try, as the API shows it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub number: u32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub status_code: Option<u16>,
    pub failure: Option<FailureKind>,
    pub message: Option<String>,
    pub response_body: Option<Vec<u8>>,
}

/// Which notifications a listing returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<Status>,
    pub tenant: Option<String>,
    pub subject: Option<String>,
    pub kind: Option<String>,
    /// Only to this destination host (`host:port`).
    pub host: Option<String>,
    /// Only ids below this one (the cursor of the previous page).
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// Counts by status and the age of the oldest due notification.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub pending: u64,
    pub delivering: u64,
    pub delivered: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Seconds the oldest overdue notification (a pending one past its next try, or one
    /// whose lease expired) has been waiting past its due time.
    pub oldest_due_seconds: f64,
}

impl Stats {
    pub fn count(&self, status: Status) -> u64 {
        match status {
            Status::Pending => self.pending,
            Status::Delivering => self.delivering,
            Status::Delivered => self.delivered,
            Status::Failed => self.failed,
            Status::Cancelled => self.cancelled,
        }
    }

    pub fn set(&mut self, status: Status, count: u64) {
        match status {
            Status::Pending => self.pending = count,
            Status::Delivering => self.delivering = count,
            Status::Delivered => self.delivered = count,
            Status::Failed => self.failed = count,
            Status::Cancelled => self.cancelled = count,
        }
    }
}

/// The admin actions that move a notification by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    /// Start a new round of tries now, whatever the state (except while a try is running).
    Redeliver,
    /// Make a pending notification's next try due now.
    DeliverNow,
    /// Stop trying.
    Cancel,
}

/// The outcome of an admin action.
#[derive(Debug)]
pub enum ActionOutcome {
    Done(Box<Notification>),
    NotFound,
    /// The notification is in a state the action does not apply to.
    Conflict(Status),
}
