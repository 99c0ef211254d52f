//! The outbox written once for both backends: the [`Store`] trait over the dialect layer,
//! handing the claim, the batch writes and the wake-ups to the backend modules.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use super::committer::{Committer, Unit, Written};
use super::rows::{push_values, AttemptRow, NotificationRow, COLUMNS, INSERT_COLUMNS};
use super::*;
use crate::db::{Db, Sql, Ts, Tx};

fn fetch_by_id(id: i64) -> Sql<'static> {
    Sql::new(format!("SELECT {COLUMNS} FROM notifications WHERE id = $1")).bind(id)
}

/// Inserts notifications inside a caller's transaction, so a producer can change its own
/// rows and enqueue their notices atomically. Producers reach it through
/// [`crate::producer::enqueue_in`], whose receipt makes them announce what they wrote.
pub(crate) async fn enqueue_in(
    tx: &mut Tx,
    batch: &[NewNotification],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Enqueued>> {
    let rows: Vec<_> = batch.iter().map(|new| (new, now)).collect();
    let enqueued = insert_rows(tx, &rows).await?;
    if enqueued.iter().any(|e| e.created) {
        tx.notify_due().await?;
    }
    Ok(enqueued)
}

/// Rows per insert statement. SQLite's driver handles a statement's parameters in time
/// that grows faster than their count: a batch of 1,000 went in at 4,000 rows/s in chunks
/// of 500 rows (7,000 parameters), 10,800 in chunks of 100 and 15,500 in chunks of 32.
const INSERT_CHUNK: usize = 32;

/// Inserts notifications with as few statements as there are chunks, without telling
/// other instances (a group commit tells them once), and returns each one's result in
/// order. An idempotency key that is taken (committed earlier, or by an earlier row of
/// this transaction or of these rows) returns the stored notification and inserts nothing.
async fn insert_rows(
    tx: &mut Tx,
    rows: &[(&NewNotification, DateTime<Utc>)],
) -> anyhow::Result<Vec<Enqueued>> {
    let mut results: Vec<Option<Enqueued>> = Vec::with_capacity(rows.len());
    let mut taken: Vec<&str> = Vec::new();
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut sql = Sql::new(INSERT_COLUMNS);
        for (i, (new, now)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            push_values(&mut sql, new, *now);
            sql.push(")");
        }
        sql.push(" ON CONFLICT (idempotency_key) DO NOTHING RETURNING ")
            .push(COLUMNS);
        let returned: Vec<NotificationRow> = tx.fetch_all(&sql).await?;
        let mut inserted = returned
            .into_iter()
            .map(Notification::try_from)
            .collect::<anyhow::Result<Vec<_>>>()?;
        // One statement numbers its rows in the order it inserts them, which is the
        // order of the values.
        inserted.sort_by_key(|n| n.id);
        let inserted_keys: HashSet<String> = inserted
            .iter()
            .filter_map(|n| n.idempotency_key.clone())
            .collect();
        let mut first_use = HashSet::new();
        let mut inserted = inserted.into_iter();
        for (new, _) in chunk {
            let is_new = match new.idempotency_key.as_deref() {
                Some(key) => inserted_keys.contains(key) && first_use.insert(key),
                None => true,
            };
            if is_new {
                let notification = inserted
                    .next()
                    .context("an insert returned fewer rows than it inserted")?;
                anyhow::ensure!(
                    notification.idempotency_key == new.idempotency_key,
                    "an insert returned its rows out of order"
                );
                results.push(Some(Enqueued {
                    notification,
                    created: true,
                }));
            } else {
                taken.extend(new.idempotency_key.as_deref());
                results.push(None);
            }
        }
    }
    let mut stored = HashMap::new();
    if !taken.is_empty() {
        let mut sql = Sql::new(format!(
            "SELECT {COLUMNS} FROM notifications WHERE idempotency_key IN ("
        ));
        for (i, key) in taken.iter().enumerate() {
            sql.push(if i == 0 { "" } else { ", " }).push_bind(*key);
        }
        sql.push(")");
        let rows: Vec<NotificationRow> = tx.fetch_all(&sql).await?;
        for row in rows {
            let notification = Notification::try_from(row)?;
            if let Some(key) = notification.idempotency_key.clone() {
                stored.insert(key, notification);
            }
        }
    }
    results
        .into_iter()
        .zip(rows)
        .map(|(result, (new, _))| match result {
            Some(enqueued) => Ok(enqueued),
            None => {
                let key = new.idempotency_key.as_deref().unwrap_or_default();
                let notification = stored.get(key).cloned().with_context(|| {
                    format!("an insert was skipped, yet no notification holds the key {key:?}")
                })?;
                Ok(Enqueued {
                    notification,
                    created: false,
                })
            }
        })
        .collect()
}

/// How many of the earliest due rows [`Store::next_due_at`] looks through when hosts are
/// left out: as many as a claim with the default concurrency (4 × 64). The dispatcher
/// asks after every claim that capped a host, so its cost is paid per claim; behind a
/// capped host's longer backlog, another host's work is found by the next claim that
/// leaves the capped host out (on news of that work, or at the poll interval).
const NEXT_DUE_WINDOW: i64 = 256;

/// Notifications enqueued together: one unit of a group commit, all or nothing.
struct EnqueueUnit {
    batch: Vec<NewNotification>,
    now: DateTime<Utc>,
}

impl EnqueueUnit {
    /// Its results, or the first of its items whose key another notification holds.
    fn check(&self, enqueued: Vec<Enqueued>) -> anyhow::Result<Written<Vec<Enqueued>>> {
        for (index, (new, enqueued)) in self.batch.iter().zip(&enqueued).enumerate() {
            let stored = &enqueued.notification;
            if !enqueued.created
                && (stored.destination.url != new.destination.url || stored.body != new.body)
            {
                return Err(KeyConflict {
                    index,
                    existing_id: stored.id,
                }
                .into());
            }
        }
        let due = enqueued.iter().any(|e| e.created);
        Ok(Written {
            output: enqueued,
            due,
        })
    }
}

#[async_trait]
impl Unit for EnqueueUnit {
    type Output = Vec<Enqueued>;

    fn rows(&self) -> usize {
        self.batch.len()
    }

    async fn write(&mut self, tx: &mut Tx) -> anyhow::Result<Written<Vec<Enqueued>>> {
        let rows: Vec<_> = self.batch.iter().map(|new| (new, self.now)).collect();
        let enqueued = insert_rows(tx, &rows).await?;
        self.check(enqueued)
    }

    /// Every row of the run in one statement (per [`INSERT_CHUNK`] rows).
    async fn write_all(
        units: &mut [&mut Self],
        tx: &mut Tx,
    ) -> anyhow::Result<Vec<Written<Vec<Enqueued>>>> {
        let rows: Vec<_> = units
            .iter()
            .flat_map(|unit| unit.batch.iter().map(|new| (new, unit.now)))
            .collect();
        let mut enqueued = insert_rows(tx, &rows).await?.into_iter();
        units
            .iter()
            .map(|unit| unit.check(enqueued.by_ref().take(unit.batch.len()).collect()))
            .collect()
    }
}

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
    /// Every enqueue goes through the group commit.
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
            tx.notify_due().await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    async fn claim(&self, request: &ClaimRequest) -> anyhow::Result<Vec<Claimed>> {
        match &self.db {
            Db::Sqlite { writer, .. } => sqlite::claim(writer, request).await,
            Db::Postgres(pool) => postgres::claim(pool, request).await,
        }
    }

    async fn record(
        &self,
        batch: &[AttemptRecord],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<i64>> {
        match &self.db {
            Db::Sqlite { .. } => sqlite::record(&self.db, batch, now).await,
            Db::Postgres(pool) => postgres::record(pool, batch, now).await,
        }
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
        // One statement for every lease, each applied only under its own token.
        let mut sql = Sql::new(
            "UPDATE notifications SET status = 'pending', due_at = $1, updated_at = $2 \
             WHERE status = 'delivering' AND (id, lease_token) IN (",
        )
        .bind(due_at)
        .bind(now);
        for (i, (id, token)) in leases.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.push_bind(*id).push(", ").push_bind(*token).push(")");
        }
        sql.push(")");
        let mut tx = self.db.begin().await?;
        tx.execute(&sql).await?;
        tx.notify_due().await?;
        tx.commit().await
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
                tx.notify_due().await?;
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
        for (status, count) in counts {
            let status = status.parse().map_err(anyhow::Error::msg)?;
            stats.set(status, count.max(0) as u64);
        }
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
        stats.oldest_due_seconds = oldest
            .map(|due| (now - due.0).num_milliseconds().max(0) as f64 / 1000.0)
            .unwrap_or(0.0);
        Ok(stats)
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
            Db::Postgres(pool) => postgres::fold_counts(pool).await,
        }
    }

    async fn wait_for_remote_wakeup(&self) -> anyhow::Result<()> {
        match &self.db {
            Db::Sqlite { .. } => std::future::pending().await,
            Db::Postgres(pool) => postgres::wait_for_wakeup(pool, &self.listener).await,
        }
    }
}
