//! Inserting notifications: multi-row inserts that honour idempotency keys, inside a
//! caller's transaction or as one unit of a group commit.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::committer::{Unit, Written};
use super::rows::{push_values, NotificationRow, COLUMNS, INSERT_COLUMNS};
use super::*;
use crate::db::{Sql, Tx};

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
        tx.notify_due();
    }
    Ok(enqueued)
}

/// Rows per insert statement. SQLite's driver once looked up a statement's named
/// parameters in time that grew with the square of their count, which made 32 rows the
/// best chunk (a batch of 1,000 went in at 4,000 rows/s in chunks of 500, 15,500 in chunks
/// of 32); with nameless placeholders the cost per row falls with larger chunks: the
/// batch endpoint took 56,400 notifications/s in chunks of 100 against 49,000 in chunks
/// of 32 (docs/performance.md).
const INSERT_CHUNK: usize = 100;

/// Inserts notifications with as few statements as there are chunks, without telling
/// other instances (a group commit tells them once), and returns each one's result in
/// order. An idempotency key that is taken (committed earlier, or by an earlier row of
/// this transaction or of these rows) returns the stored notification and inserts nothing.
pub(super) async fn insert_rows(
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
        // The WHERE lets a partial unique index of the keys serve as the conflict target
        // once a later migration replaces the full constraint (which satisfies it too, on
        // both backends): instances of this build keep enqueueing across that migration.
        sql.push(" ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING ")
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

/// Notifications enqueued together: one unit of a group commit, all or nothing.
pub(super) struct EnqueueUnit {
    pub batch: Vec<NewNotification>,
    pub now: DateTime<Utc>,
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
