//! How the admin API shows notifications and their tries.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::outbox::{Attempt, Notification, Status, SuccessRule};

/// A notification as the admin API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    id: i64,
    status: Status,
    url: String,
    /// What counts as delivered.
    success: SuccessRule,
    content_type: String,
    /// The exact body every try sends.
    body: String,
    headers: BTreeMap<String, String>,
    attempts: u32,
    round_attempts: u32,
    max_attempts: u32,
    retry_schedule: Vec<String>,
    next_attempt_at: Option<DateTime<Utc>>,
    lease_expires_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    idempotency_key: Option<String>,
    kind: String,
    tenant: Option<String>,
    subject: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    /// The fixture that made it (`ums-notify trigger`, such as `payment.paid`); null for
    /// a notification the simulation or a producer sent on its own.
    triggered_by: Option<String>,
    /// Every try, oldest first; only when one notification is shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt_log: Option<Vec<AttemptView>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    number: u32,
    started_at: DateTime<Utc>,
    duration_ms: i64,
    status_code: Option<u16>,
    /// `http_status`, `unexpected_body`, `timeout`, `connect`, `destination_not_allowed`
    /// (the egress guard refused the address; nothing was sent) or `other`; absent on
    /// success.
    #[schema(value_type = Option<String>)]
    failure_kind: Option<&'static str>,
    message: Option<String>,
    /// The first 4 KiB of the merchant's answer.
    response_body: Option<String>,
}

impl NotificationView {
    pub fn id(&self) -> i64 {
        self.id
    }

    pub fn new(n: Notification, attempts: Option<Vec<Attempt>>) -> Self {
        let (next_attempt_at, lease_expires_at) = match n.status {
            Status::Pending => (n.due_at, None),
            Status::Delivering => (None, n.due_at),
            _ => (None, None),
        };
        Self {
            id: n.id,
            status: n.status,
            success: n.success,
            url: n.destination.url,
            content_type: n.content_type,
            body: String::from_utf8_lossy(&n.body).into_owned(),
            headers: n.headers.into_iter().collect(),
            attempts: n.attempts,
            round_attempts: n.round_attempts,
            max_attempts: n.policy.max_attempts,
            retry_schedule: n.policy.schedule.to_strings(),
            next_attempt_at,
            lease_expires_at,
            last_error: n.last_error,
            // A merchant's own key is shown as the merchant gave it; its tenant says whose.
            idempotency_key: n.idempotency_key.map(|key| {
                key.split_once(super::notifications::MERCHANT_KEY_SEPARATOR)
                    .map_or(key.clone(), |(_, own)| own.to_owned())
            }),
            kind: n.kind,
            tenant: n.tenant,
            subject: n.subject,
            created_at: n.created_at,
            updated_at: n.updated_at,
            finished_at: n.finished_at,
            triggered_by: n.triggered_by,
            attempt_log: attempts.map(|list| {
                list.into_iter()
                    .map(|a| AttemptView {
                        number: a.number,
                        started_at: a.started_at,
                        duration_ms: a.duration_ms,
                        status_code: a.status_code,
                        failure_kind: a.failure.map(|f| f.as_str()),
                        message: a.message,
                        response_body: a
                            .response_body
                            .map(|b| String::from_utf8_lossy(&b).into_owned()),
                    })
                    .collect()
            }),
        }
    }
}
