//! Outbox rows as both backends store them, and the statements written once that the
//! backends share: decoding a row, inserting a notification, recording a try.

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::*;
use crate::db::{Sql, Ts};
use crate::policy::{BodyMatch, RetrySchedule, SuccessRule};

/// The columns of a notification row, in the order [`NotificationRow`] reads them.
pub(crate) const COLUMNS: &str = "id, status, url, host, body, content_type, headers, attempts, \
     round_attempts, max_attempts, retry_schedule, idempotency_key, tenant, subject, kind, \
     due_at, lease_token, created_at, updated_at, finished_at, last_error, success_body, success_match, triggered_by";

/// A notification row as both backends store it.
#[derive(sqlx::FromRow)]
pub(crate) struct NotificationRow {
    id: i64,
    status: String,
    url: String,
    host: String,
    body: Vec<u8>,
    content_type: String,
    headers: String,
    attempts: i32,
    round_attempts: i32,
    max_attempts: i32,
    retry_schedule: String,
    idempotency_key: Option<String>,
    tenant: Option<String>,
    subject: Option<String>,
    kind: String,
    due_at: Option<Ts>,
    pub(crate) lease_token: i64,
    created_at: Ts,
    updated_at: Ts,
    finished_at: Option<Ts>,
    last_error: Option<String>,
    success_body: Option<String>,
    success_match: String,
    triggered_by: Option<String>,
}

impl TryFrom<NotificationRow> for Notification {
    type Error = anyhow::Error;

    fn try_from(row: NotificationRow) -> anyhow::Result<Self> {
        let millis: Vec<u64> = serde_json::from_str(&row.retry_schedule)
            .with_context(|| format!("notification {}: retry_schedule", row.id))?;
        Ok(Notification {
            id: row.id,
            status: row.status.parse().map_err(anyhow::Error::msg)?,
            destination: Destination::stored(row.url, row.host),
            success: SuccessRule {
                body: row.success_body,
                matching: BodyMatch::parse(&row.success_match),
                ..SuccessRule::default()
            },
            body: row.body,
            content_type: row.content_type,
            headers: serde_json::from_str(&row.headers)
                .with_context(|| format!("notification {}: headers", row.id))?,
            attempts: row.attempts.max(0) as u32,
            round_attempts: row.round_attempts.max(0) as u32,
            policy: RetryPolicy {
                max_attempts: row.max_attempts.max(0) as u32,
                schedule: RetrySchedule::from_millis(&millis)?,
            },
            idempotency_key: row.idempotency_key,
            tenant: row.tenant,
            subject: row.subject,
            kind: row.kind,
            due_at: row.due_at.map(Into::into),
            created_at: row.created_at.into(),
            updated_at: row.updated_at.into(),
            finished_at: row.finished_at.map(Into::into),
            last_error: row.last_error,
            triggered_by: row.triggered_by,
        })
    }
}

/// The claimed rows that decode. A row that does not (written by an incompatible
/// version, say) is logged and left leased: it comes back when its lease expires instead
/// of failing every claim and stalling all the others.
pub(crate) fn claimed_from<R>(rows: &[R]) -> Vec<Claimed>
where
    R: sqlx::Row,
    NotificationRow: for<'r> sqlx::FromRow<'r, R>,
{
    let decode = |row: &R| -> anyhow::Result<Claimed> {
        let row = <NotificationRow as sqlx::FromRow<R>>::from_row(row)?;
        let lease_token = row.lease_token;
        Ok(Claimed {
            notification: row.try_into()?,
            lease_token,
        })
    };
    rows.iter()
        .filter_map(|row| match decode(row) {
            Ok(claimed) => Some(claimed),
            Err(error) => {
                tracing::error!(
                    error = format!("{error:#}"),
                    "skipping an outbox row that does not decode"
                );
                None
            }
        })
        .collect()
}

#[derive(sqlx::FromRow)]
pub(crate) struct AttemptRow {
    number: i32,
    started_at: Ts,
    duration_ms: i64,
    status_code: Option<i32>,
    failure: Option<String>,
    message: Option<String>,
    response_body: Option<Vec<u8>>,
}

impl From<AttemptRow> for Attempt {
    fn from(row: AttemptRow) -> Self {
        Attempt {
            number: row.number.max(0) as u32,
            started_at: row.started_at.into(),
            duration_ms: row.duration_ms,
            status_code: row.status_code.and_then(|c| u16::try_from(c).ok()),
            failure: row.failure.as_deref().and_then(FailureKind::parse),
            message: row.message,
            response_body: row.response_body,
        }
    }
}

pub(crate) fn encode_headers(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn encode_schedule(schedule: &RetrySchedule) -> String {
    serde_json::to_string(&schedule.to_millis()).unwrap_or_else(|_| "[]".to_owned())
}

/// A one-line description of a try's failure, kept on the notification.
pub(crate) fn last_error_of(record: &AttemptRecord) -> Option<String> {
    record.failure.map(|kind| match &record.message {
        Some(message) => format!("{}: {message}", kind.as_str()),
        None => kind.as_str().to_owned(),
    })
}

/// The start of a notification insert; the values follow, one `(...)` per row, written
/// by [`push_values`].
pub(crate) const INSERT_COLUMNS: &str = "INSERT INTO notifications (status, url, host, body, \
     content_type, headers, max_attempts, retry_schedule, idempotency_key, tenant, subject, \
     kind, due_at, created_at, updated_at, success_body, success_match) VALUES ";

/// The values of one new notification, due at once, for [`INSERT_COLUMNS`].
pub(crate) fn push_values<'a>(sql: &mut Sql<'a>, new: &'a NewNotification, now: DateTime<Utc>) {
    sql.push("'pending', ")
        .push_bind(&new.destination.url)
        .push(", ")
        .push_bind(&new.destination.host)
        .push(", ")
        .push_bind(&new.body)
        .push(", ")
        .push_bind(&new.content_type)
        .push(", ")
        .push_bind(encode_headers(&new.headers))
        .push(", ")
        .push_bind(new.policy.max_attempts)
        .push(", ")
        .push_bind(encode_schedule(&new.policy.schedule))
        .push(", ")
        .push_bind(&new.idempotency_key)
        .push(", ")
        .push_bind(&new.tenant)
        .push(", ")
        .push_bind(&new.subject)
        .push(", ")
        .push_bind(&new.kind)
        .push(", ")
        .push_bind(now)
        .push(", ")
        .push_bind(now)
        .push(", ")
        .push_bind(now)
        .push(", ")
        .push_bind(&new.success.body)
        .push(", ")
        .push_bind(new.success.matching.as_str());
}
