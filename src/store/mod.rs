//! Storage: the outbox behind one [`Store`] trait, with an SQLite and a PostgreSQL backend.
//!
//! Invariants every backend keeps:
//! - `due_at` is set exactly while a notification is `pending` (its next try) or
//!   `delivering` (its lease expiry); a row is claimable when `due_at <= now`, so an expired
//!   lease makes a notification claimable again without any other bookkeeping.
//! - Every claim bumps `lease_token`; a result is applied only under the token it was
//!   claimed with, so a worker whose lease ran out cannot overwrite a newer try.
//! - No method holds a transaction or a pooled connection after it returns.

pub mod model;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use model::*;

use crate::delivery::schedule::RetrySchedule;

/// The columns of a notification row, in the order both backends select them.
macro_rules! columns {
    () => {
        "id, status, url, host, body, content_type, headers, attempts, round_attempts, \
         max_attempts, retry_schedule, idempotency_key, mid, contract_id, kind, due_at, \
         lease_token, created_at, updated_at, finished_at, last_error"
    };
}

pub mod postgres;
pub mod sqlite;

/// How a single notification is looked up.
pub(crate) enum Lookup {
    Id(i64),
    Key(String),
}

/// Which database a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            anyhow::bail!(
                "unsupported database URL {:?}: use sqlite://<file> or postgres://<user>@<host>/<db>",
                redact_url(url)
            )
        }
    }
}

/// Options that shape how the store opens its database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// SQLite: `synchronous=FULL` (the default) makes every commit survive a power loss;
    /// `NORMAL` only survives a process crash.
    pub sqlite_synchronous_full: bool,
    /// PostgreSQL: the size of the connection pool.
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            sqlite_synchronous_full: true,
            max_connections: 10,
        }
    }
}

/// What a claim asks for.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    pub now: DateTime<Utc>,
    pub limit: u32,
    pub lease: Duration,
    /// Hosts already at their concurrency cap; their notifications stay where they are.
    pub exclude_hosts: Vec<String>,
    /// The most rows taken from one host.
    pub per_host: u32,
}

/// The result of an enqueue: the stored notification and whether this call created it.
#[derive(Debug)]
pub struct Enqueued {
    pub notification: Notification,
    pub created: bool,
}

/// The outbox.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Applies the embedded migrations of this backend.
    async fn migrate(&self) -> anyhow::Result<()>;

    /// Succeeds when the database answers.
    async fn ping(&self) -> anyhow::Result<()>;

    /// Inserts a notification, due at once. With an idempotency key already in use, returns
    /// the stored notification instead and inserts nothing.
    async fn enqueue(&self, new: NewNotification, now: DateTime<Utc>) -> anyhow::Result<Enqueued>;

    /// Inserts many notifications in one transaction (for loading and benchmarks).
    async fn enqueue_batch(
        &self,
        batch: Vec<NewNotification>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64>;

    /// Leases up to `limit` due notifications, oldest due first.
    async fn claim(&self, request: &ClaimRequest) -> anyhow::Result<Vec<Claimed>>;

    /// Records finished tries and applies their transitions, all in one transaction.
    /// Returns the notifications whose transition applied: those still leased under the
    /// token the try was claimed with.
    async fn record(&self, batch: &[AttemptRecord], now: DateTime<Utc>)
        -> anyhow::Result<Vec<i64>>;

    /// Hands leased notifications back, due at `due_at`, without counting a try.
    async fn release(
        &self,
        leases: &[(i64, i64)],
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()>;

    /// The earliest `due_at` (a next try or a lease expiry) outside the given hosts.
    async fn next_due_at(&self, exclude_hosts: &[String]) -> anyhow::Result<Option<DateTime<Utc>>>;

    async fn get(&self, id: i64) -> anyhow::Result<Option<Notification>>;

    async fn attempts(&self, id: i64) -> anyhow::Result<Vec<Attempt>>;

    /// Newest first.
    async fn list(&self, filter: &ListFilter) -> anyhow::Result<Vec<Notification>>;

    async fn act(
        &self,
        id: i64,
        action: AdminAction,
        now: DateTime<Utc>,
    ) -> anyhow::Result<ActionOutcome>;

    async fn stats(&self, now: DateTime<Utc>) -> anyhow::Result<Stats>;

    /// Deletes up to `limit` notifications finished before `before`, with their attempts.
    /// Returns how many were deleted.
    async fn purge_finished(&self, before: DateTime<Utc>, limit: u32) -> anyhow::Result<u64>;

    /// Resolves when another instance signals new due work (PostgreSQL `LISTEN`). The
    /// default never resolves: a single SQLite process hears its own enqueues directly.
    async fn wait_for_remote_wakeup(&self) -> anyhow::Result<()> {
        std::future::pending().await
    }
}

/// An open database of either backend. Modules with tables of their own (the platform
/// simulation) reach the concrete backend here, so they share its pools and can write
/// their rows and enqueue a notification in one transaction.
#[derive(Clone)]
pub enum Database {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

impl Database {
    /// Opens (creating if needed) the database a URL names.
    pub async fn connect(url: &str, options: &StoreOptions) -> anyhow::Result<Self> {
        Ok(match Backend::from_url(url)? {
            Backend::Sqlite => Database::Sqlite(sqlite::SqliteStore::open(url, options).await?),
            Backend::Postgres => Database::Postgres(postgres::PgStore::open(url, options).await?),
        })
    }

    /// The outbox of this database.
    pub fn outbox(&self) -> Arc<dyn Store> {
        match self {
            Database::Sqlite(store) => Arc::new(store.clone()),
            Database::Postgres(store) => Arc::new(store.clone()),
        }
    }
}

/// Opens (creating if needed) the outbox of the database a URL names.
pub async fn open(url: &str, options: &StoreOptions) -> anyhow::Result<Arc<dyn Store>> {
    Ok(Database::connect(url, options).await?.outbox())
}

/// Hides the password of a database URL for logs and errors.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The columns both backends store in the same textual form, decoded once.
pub(crate) fn decode_headers(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    Ok(serde_json::from_str(text)?)
}

pub(crate) fn encode_headers(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn decode_schedule(text: &str) -> anyhow::Result<RetrySchedule> {
    let millis: Vec<u64> = serde_json::from_str(text)?;
    Ok(RetrySchedule::from_millis(&millis)?)
}

pub(crate) fn encode_schedule(schedule: &RetrySchedule) -> String {
    serde_json::to_string(&schedule.to_millis()).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn decode_status(text: &str) -> anyhow::Result<Status> {
    text.parse::<Status>().map_err(anyhow::Error::msg)
}

/// The status, due time and finish time a try's outcome leads to.
pub(crate) fn transition_of(
    next: NextStep,
    now: DateTime<Utc>,
) -> (Status, Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    match next {
        NextStep::Delivered => (Status::Delivered, None, Some(now)),
        NextStep::Exhausted => (Status::Failed, None, Some(now)),
        NextStep::RetryAt(at) => (Status::Pending, Some(at), None),
    }
}

/// A one-line description of a try's failure, kept on the notification.
pub(crate) fn last_error_of(record: &AttemptRecord) -> Option<String> {
    record.failure.map(|kind| match &record.message {
        Some(message) => format!("{}: {message}", kind.as_str()),
        None => kind.as_str().to_owned(),
    })
}

/// The SET clause and the allowed source states of an admin action, with `now` as the
/// placeholder that stands for the current time in the backend's syntax.
pub(crate) fn action_sql(action: AdminAction, now: &str) -> (String, &'static str) {
    match action {
        AdminAction::Redeliver => (
            format!("status = 'pending', due_at = {now}, round_attempts = 0, finished_at = NULL"),
            "'pending', 'delivered', 'failed', 'cancelled'",
        ),
        AdminAction::DeliverNow => (format!("due_at = {now}"), "'pending'"),
        // A running try must finish first: a cancelled row that could be redelivered while
        // its old try still runs would have two tries in flight.
        AdminAction::Cancel => (
            format!("status = 'cancelled', due_at = NULL, finished_at = {now}"),
            "'pending'",
        ),
    }
}

/// Keeps the claims that decode. A row that does not (written by an incompatible version,
/// say) is logged and left leased: it comes back when its lease expires instead of
/// failing every claim and stalling all the others.
pub(crate) fn decode_claims(rows: impl Iterator<Item = anyhow::Result<Claimed>>) -> Vec<Claimed> {
    rows.filter_map(|row| match row {
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

/// The WHERE tail and ordering of a listing, the same SQL on both backends: newest first,
/// below the cursor. The query must already end in a WHERE clause.
pub(crate) fn push_list_filter<'a, DB>(
    query: &mut sqlx::QueryBuilder<'a, DB>,
    filter: &'a ListFilter,
) where
    DB: sqlx::Database,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(mid) = &filter.mid {
        query.push(" AND mid = ").push_bind(mid.as_str());
    }
    if let Some(contract_id) = &filter.contract_id {
        query
            .push(" AND contract_id = ")
            .push_bind(contract_id.as_str());
    }
    if let Some(before) = filter.before_id {
        query.push(" AND id < ").push_bind(before);
    }
    query
        .push(" ORDER BY id DESC LIMIT ")
        .push_bind(i64::from(filter.limit));
}
