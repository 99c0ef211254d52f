//! The outbox written once for both backends: the [`Store`] trait over the dialect layer,
//! handing the claim, the batch writes and the wake-ups to the backend modules.

use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use super::committer::{commit_together, Committer, Unit};
use super::cycle::{ClaimUnit, RecordUnit, ReleaseUnit};
use super::insert::{insert_rows, EnqueueUnit};
use super::rows::{AttemptRow, NotificationRow, COLUMNS};
use super::*;
use crate::db::{Db, Sql, Ts};

fn fetch_by_id(id: i64) -> Sql<'static> {
    Sql::new(format!("SELECT {COLUMNS} FROM notifications WHERE id = $1")).bind(id)
}

/// How many of the earliest due rows [`Store::next_due_at`] looks through when hosts are
/// left out: as many as a claim with the default concurrency (4 × 64). The dispatcher
/// asks after every claim that capped a host, so its cost is paid per claim; behind a
/// capped host's longer backlog, another host's work is found by the next claim that
/// leaves the capped host out (on news of that work, or at the poll interval).
const NEXT_DUE_WINDOW: i64 = 256;

/// The SET clause and the allowed source states of an admin action; `$1` is now.
fn action_sql(action: AdminAction) -> (&'static str, &'static str) {
    match action {
        AdminAction::Redeliver => (
            "status = 'pending', due_at = $1, round_attempts = 0, finished_at = NULL",
            "'pending', 'delivered', 'failed', 'cancelled'",
        ),
        AdminAction::DeliverNow => ("due_at = $1", "'pending'"),
        // A running try must finish first: a cancelled row that could be redelivered while
        // its old try still runs would have two tries in flight.
        AdminAction::Cancel => (
            "status = 'cancelled', due_at = NULL, finished_at = $1",
            "'pending'",
        ),
    }
}

/// The outbox of an open database.
#[derive(Clone)]
pub struct Outbox {
    db: Db,
    /// Every enqueue goes through the group commit; on SQLite the claims, results and
    /// hand-backs too, so they share its transactions (the writer cycle).
    committer: Committer,
    /// PostgreSQL: the `LISTEN` connection, opened on first use.
    listener: Arc<Mutex<Option<postgres::Listener>>>,
}

impl Outbox {
    /// Starts the group committers of `db`: one on SQLite (it has one writer), two on
    /// PostgreSQL (one gathers a group while the other commits).
    pub fn new(db: Db) -> Self {
        let writers = match db.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => 2,
        };
        Self {
            committer: Committer::start(db.clone(), writers),
            db,
            listener: Arc::new(Mutex::new(None)),
        }
    }
}

impl Outbox {
    /// Writes a unit of the delivery path. On SQLite every write waits for the one writer
    /// anyway, so it joins the group commit: one transaction and one commit per writer
    /// cycle. PostgreSQL writes on many connections at once; there a claim or a result
    /// that waited for a group would idle the hosts meanwhile (deliveries fell behind the
    /// accepts, see docs/performance.md), so each commits on its own, in parallel.
    async fn cycle<U: Unit>(&self, unit: U) -> anyhow::Result<U::Output> {
        match self.db.backend() {
            Backend::Sqlite => self.committer.submit(unit).await,
            Backend::Postgres => commit_together(&self.db, vec![unit])
                .await
                .pop()
                .context("a write of one unit returned no result")?,
        }
    }
}

#[async_trait]
impl Store for Outbox {
    fn backend(&self) -> Backend {
        self.db.backend()
    }

    async fn ping(&self) -> anyhow::Result<()> {
        let _: (i32,) = self.db.read_one(&Sql::new("SELECT 1")).await?;
        Ok(())
    }

    async fn enqueue(&self, new: NewNotification, now: DateTime<Utc>) -> anyhow::Result<Enqueued> {
        self.enqueue_many(vec![new], now)
            .await?
            .pop()
            .context("an enqueue of one notification returned none")
    }

    async fn enqueue_many(
        &self,
        batch: Vec<NewNotification>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<Enqueued>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        self.committer.submit(EnqueueUnit { batch, now }).await
    }

    async fn enqueue_batch(
        &self,
        batch: Vec<NewNotification>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        let rows: Vec<_> = batch.iter().map(|new| (new, now)).collect();
        let mut tx = self.db.begin().await?;
        let created = insert_rows(&mut tx, &rows)
            .await?
            .iter()
            .filter(|e| e.created)
            .count() as u64;
        if created > 0 {
            tx.notify_due();
        }
        tx.commit().await?;
        Ok(created)
    }

    async fn claim(&self, request: &ClaimRequest) -> anyhow::Result<Vec<Claimed>> {
        match &self.db {
            Db::Sqlite { .. } => {
                let request = request.clone();
                self.committer.submit(ClaimUnit { request }).await
            }
            // One statement, committed on its own.
            Db::Postgres(pool, _) => postgres::claim(&mut *pool.acquire().await?, request).await,
        }
    }

    async fn record(
        &self,
        batch: &[AttemptRecord],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<i64>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let batch = batch.to_vec();
        self.cycle(RecordUnit { batch, now }).await
    }

    async fn release(
        &self,
        leases: &[(i64, i64)],
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        if leases.is_empty() {
            return Ok(());
        }
        let leases = leases.to_vec();
        self.cycle(ReleaseUnit {
            leases,
            due_at,
            now,
        })
        .await
    }

    async fn next_due_at(&self, exclude_hosts: &[String]) -> anyhow::Result<Option<DateTime<Utc>>> {
        let mut sql = Sql::new("SELECT MIN(due_at) FROM ");
        if exclude_hosts.is_empty() {
            sql.push("notifications WHERE due_at IS NOT NULL");
        } else {
            // Only the earliest rows: a capped host's backlog can be long, and the loop
            // hears of its own room and of new work anyway.
            sql.push(
                "(SELECT due_at, host FROM notifications WHERE due_at IS NOT NULL \
                 ORDER BY due_at LIMIT ",
            )
            .push_bind(NEXT_DUE_WINDOW)
            .push(") d WHERE host NOT IN ")
            .push_list(exclude_hosts);
        }
        let (min,): (Option<Ts>,) = self.db.read_one(&sql).await?;
        Ok(min.map(Into::into))
    }

    async fn get(&self, id: i64) -> anyhow::Result<Option<Notification>> {
        let row: Option<NotificationRow> = self.db.read_optional(&fetch_by_id(id)).await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn attempts(&self, id: i64) -> anyhow::Result<Vec<Attempt>> {
        let sql = Sql::new(
            "SELECT number, started_at, duration_ms, status_code, failure, message, response_body \
             FROM attempts WHERE notification_id = $1 ORDER BY number, id",
        )
        .bind(id);
        let rows: Vec<AttemptRow> = self.db.read_all(&sql).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn list(&self, filter: &ListFilter) -> anyhow::Result<Vec<Notification>> {
        let mut sql = Sql::new(format!("SELECT {COLUMNS} FROM notifications WHERE 1 = 1"));
        if let Some(status) = filter.status {
            sql.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(tenant) = &filter.tenant {
            sql.push(" AND tenant = ").push_bind(tenant);
        }
        if let Some(subject) = &filter.subject {
            sql.push(" AND subject = ").push_bind(subject);
        }
        if let Some(kind) = &filter.kind {
            sql.push(" AND kind = ").push_bind(kind);
        }
        if let Some(host) = &filter.host {
            sql.push(" AND host = ").push_bind(host);
        }
        if let Some(before) = filter.before_id {
            sql.push(" AND id < ").push_bind(before);
        }
        sql.push(" ORDER BY id DESC LIMIT ").push_bind(filter.limit);
        let rows: Vec<NotificationRow> = self.db.read_all(&sql).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn act(
        &self,
        id: i64,
        action: AdminAction,
        now: DateTime<Utc>,
    ) -> anyhow::Result<ActionOutcome> {
        let (set, allowed) = action_sql(action);
        let sql = Sql::new(format!(
            "UPDATE notifications SET {set}, updated_at = $1 \
             WHERE id = $2 AND status IN ({allowed}) RETURNING {COLUMNS}"
        ))
        .bind(now)
        .bind(id);
        let mut tx = self.db.begin().await?;
        let outcome = match tx.fetch_optional::<NotificationRow>(&sql).await? {
            Some(row) => {
                tx.notify_due();
                ActionOutcome::Done(Box::new(row.try_into()?))
            }
            None => match tx
                .fetch_optional::<NotificationRow>(&fetch_by_id(id))
                .await?
            {
                Some(existing) => ActionOutcome::Conflict(Notification::try_from(existing)?.status),
                None => ActionOutcome::NotFound,
            },
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn redeliver_matching(
        &self,
        filter: &ReplayFilter,
        limit: u32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Replayed> {
        super::replay::redeliver_matching(&self.db, filter, limit, now).await
    }

    async fn stats(&self, now: DateTime<Utc>) -> anyhow::Result<Stats> {
        let mut stats = Stats::default();
        // The counts kept by triggers (migration 0005): a handful of rows, whatever the
        // history holds.
        let counts: Vec<(String, i64)> = self
            .db
            .read_all(&Sql::new(
                "SELECT status, CAST(SUM(n) AS BIGINT) FROM (SELECT status, n FROM status_counts \
                 UNION ALL SELECT status, n FROM status_count_deltas) c GROUP BY status",
            ))
            .await?;
        set_counts(&mut stats, counts)?;
        // Reads the due index alone (no status filter, which would tempt a planner into
        // the status index and every pending row), so it costs the same however many wait
        // in the future or sit in the history. An expired lease counts: it is overdue work.
        let (oldest,): (Option<Ts>,) = self
            .db
            .read_one(
                &Sql::new(
                    "SELECT MIN(due_at) FROM notifications WHERE due_at IS NOT NULL AND due_at <= $1",
                )
                .bind(now),
            )
            .await?;
        stats.oldest_due_seconds = seconds_overdue(oldest, now);
        Ok(stats)
    }

    async fn tenant_stats(&self, tenant: &str, now: DateTime<Utc>) -> anyhow::Result<Stats> {
        let mut stats = Stats::default();
        let counts: Vec<(String, i64)> = self
            .db
            .read_all(
                &Sql::new(
                    "SELECT status, COUNT(*) FROM notifications WHERE tenant = $1 GROUP BY status",
                )
                .bind(tenant),
            )
            .await?;
        set_counts(&mut stats, counts)?;
        let (oldest,): (Option<Ts>,) = self
            .db
            .read_one(
                &Sql::new(
                    "SELECT MIN(due_at) FROM notifications \
                     WHERE tenant = $1 AND due_at IS NOT NULL AND due_at <= $2",
                )
                .bind(tenant)
                .bind(now),
            )
            .await?;
        stats.oldest_due_seconds = seconds_overdue(oldest, now);
        Ok(stats)
    }

    async fn mark_triggered(&self, ids: &[i64], fixture: &str) -> anyhow::Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut sql = Sql::new("UPDATE notifications SET triggered_by = ").bind(fixture);
        sql.push("$1 WHERE id IN (");
        for (i, id) in ids.iter().enumerate() {
            sql.push(if i == 0 { "" } else { ", " }).push_bind(*id);
        }
        sql.push(")");
        self.db.write(&sql).await
    }

    async fn purge_finished(&self, before: DateTime<Utc>, limit: u32) -> anyhow::Result<u64> {
        // Attempts go with their notification (ON DELETE CASCADE). On PostgreSQL, SKIP
        // LOCKED lets several instances sweep at once without waiting on each other.
        let lock = match self.db.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = Sql::new(format!(
            "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications \
             WHERE finished_at < $1 ORDER BY finished_at LIMIT $2{lock})"
        ))
        .bind(before)
        .bind(limit);
        self.db.write(&sql).await
    }

    async fn fold_counts(&self) -> anyhow::Result<u64> {
        match &self.db {
            Db::Sqlite { .. } => Ok(0),
            Db::Postgres(pool, _) => postgres::fold_counts(pool).await,
        }
    }

    async fn wait_for_remote_wakeup(&self) -> anyhow::Result<()> {
        match &self.db {
            Db::Sqlite { .. } => std::future::pending().await,
            Db::Postgres(pool, _) => postgres::wait_for_wakeup(pool, &self.listener).await,
        }
    }
}

/// How long the oldest overdue notification (due at `oldest`) has waited at `now`.
fn seconds_overdue(oldest: Option<Ts>, now: DateTime<Utc>) -> f64 {
    oldest
        .map(|due| (now - due.0).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or(0.0)
}

/// Sets the counts of `stats` from `(status, count)` rows.
fn set_counts(stats: &mut Stats, counts: Vec<(String, i64)>) -> anyhow::Result<()> {
    for (status, count) in counts {
        let status = status.parse().map_err(anyhow::Error::msg)?;
        stats.set(status, count.max(0) as u64);
    }
    Ok(())
}
