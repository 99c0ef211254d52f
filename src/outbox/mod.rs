//! The outbox: notifications waiting to be delivered, behind one [`Store`] trait over
//! SQLite or PostgreSQL.
//!
//! Invariants every backend keeps:
//! - `due_at` is set exactly while a notification is `pending` (its next try) or
//!   `delivering` (its lease expiry); a row is claimable when `due_at <= now`, so an expired
//!   lease makes a notification claimable again without any other bookkeeping.
//! - Every claim bumps `lease_token`; a result is applied only under the token it was
//!   claimed with, so a worker whose lease ran out cannot overwrite a newer try.
//! - No method holds a transaction or a pooled connection after it returns.
//!
//! The SQL is written once ([`store`], over the dialect of [`crate::db`]); only the claim,
//! the batch writes and the wake-ups differ per backend ([`sqlite`], [`postgres`]).
//!
//! On SQLite every write of the delivery path (enqueues, claims, results, hand-backs) is a
//! unit of the group commit ([`committer`], [`cycle`]): one writer cycle, one transaction
//! and one commit for whatever waited for the one writer. PostgreSQL groups the enqueues
//! and commits the others on their own, in parallel on its many connections.

pub mod committer;
mod cycle;
pub mod insert;
pub mod model;
pub mod postgres;
pub mod replay;
pub mod rows;
pub mod sqlite;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use crate::db::{Backend, Db, StoreOptions};
pub use model::*;
pub use replay::{ReplayFilter, Replayed, REPLAY_LIMIT};

/// What a claim asks for.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    /// Tenants whose notifications another instance delivers (their relay session is
    /// there): none of theirs is claimed.
    pub exclude_tenants: Vec<String>,
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

    /// Succeeds when the database answers.
    async fn ping(&self) -> anyhow::Result<()>;

    /// Inserts a notification, due at once, in a group commit: it returns once a commit
    /// holds the row. With an idempotency key already in use, returns the stored
    /// notification instead and inserts nothing (or fails with [`KeyConflict`] when that
    /// notification has another URL or body).
    async fn enqueue(&self, new: NewNotification, now: DateTime<Utc>) -> anyhow::Result<Enqueued>;

    /// Inserts notifications all or nothing, in one transaction, and returns each one's
    /// result in order. A key repeated inside the batch behaves as across batches: the
    /// later item returns the earlier one's notification. A key held by a notification
    /// with another URL or body fails the whole call with [`KeyConflict`].
    async fn enqueue_many(
        &self,
        batch: Vec<NewNotification>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<Enqueued>>;

    /// Inserts many notifications in one transaction, returning only how many were new
    /// (for loading and benchmarks).
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

    /// The earliest `due_at` (a next try or a lease expiry) outside the given hosts, among
    /// the earliest 1,000 when hosts are given (`None` if all of those are theirs).
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

    /// Starts a new round of tries, due now, for the oldest `limit` notifications
    /// `filter` matches, as [`AdminAction::Redeliver`] does for one; one whose try is
    /// running is left alone (and counted).
    async fn redeliver_matching(
        &self,
        filter: &ReplayFilter,
        limit: u32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Replayed>;

    async fn stats(&self, now: DateTime<Utc>) -> anyhow::Result<Stats>;

    /// The counts and oldest overdue wait of one tenant's notifications: counted from
    /// its rows (the tenant index), so it costs what the tenant holds, not the outbox.
    async fn tenant_stats(&self, tenant: &str, now: DateTime<Utc>) -> anyhow::Result<Stats>;
    /// Marks notifications as made by trigger fixture `fixture`; returns how many it
    /// marked.
    async fn mark_triggered(&self, ids: &[i64], fixture: &str) -> anyhow::Result<u64>;

    /// Deletes up to `limit` notifications finished before `before`, with their attempts.
    /// Returns how many were deleted.
    async fn purge_finished(&self, before: DateTime<Utc>, limit: u32) -> anyhow::Result<u64>;

    /// Folds the status-count changes written since the last fold into the counts, and
    /// returns how many changes it folded. PostgreSQL's writers append them so they never
    /// wait on each other; SQLite counts in place and has nothing to fold.
    async fn fold_counts(&self) -> anyhow::Result<u64>;

    /// Resolves when another instance signals new due work (PostgreSQL `LISTEN`). The
    /// default never resolves: a single SQLite process hears its own enqueues directly.
    async fn wait_for_remote_wakeup(&self) -> anyhow::Result<()> {
        std::future::pending().await
    }
}

impl Db {
    /// The outbox of this database.
    pub fn outbox(&self) -> Arc<dyn Store> {
        Arc::new(store::Outbox::new(self.clone()))
    }
}

/// Opens (creating if needed) and migrates the outbox of the database a URL names.
pub async fn open(url: &str, options: &StoreOptions) -> anyhow::Result<Arc<dyn Store>> {
    let db = Db::connect(url, options).await?;
    db.migrate().await?;
    Ok(db.outbox())
}
