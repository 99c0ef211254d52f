//! The writer cycle's other units: claims, results and hand-backs. On SQLite the group
//! commit writes them beside the enqueues, so one transaction and one commit carry
//! everything that waits for the one writer; PostgreSQL commits each on its own.
//!
//! Each keeps its own guarantee inside the shared transaction: a claim's leases and a
//! result's transition are answered only once the commit that holds them is durable; a
//! result applies only under the lease token its try was claimed with; a hand-back only
//! under its own. Within a cycle the enqueues are written first, then the results and
//! hand-backs, then the claims ([`Unit::PHASE`]), so a claim sees the rows enqueued and
//! the leases finished in the same commit.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::committer::{Unit, Written};
use super::{postgres, sqlite, AttemptRecord, ClaimRequest, Claimed};
use crate::db::{Sql, Tx};

/// Leases due notifications: [`super::Store::claim`] as a unit of the writer cycle.
pub(super) struct ClaimUnit {
    pub request: ClaimRequest,
}

#[async_trait]
impl Unit for ClaimUnit {
    type Output = Vec<Claimed>;

    const PHASE: u8 = 2;

    fn rows(&self) -> usize {
        self.request.limit as usize
    }

    async fn write(&mut self, tx: &mut Tx) -> anyhow::Result<Written<Vec<Claimed>>> {
        let claimed = match tx {
            Tx::Sqlite(tx) => sqlite::claim(tx, &self.request).await?,
            Tx::Postgres(tx, _) => postgres::claim(tx, &self.request).await?,
        };
        Ok(Written {
            output: claimed,
            due: false,
        })
    }
}

/// Finished tries and their transitions: [`super::Store::record`] as a unit of the writer
/// cycle. Its output is the notifications whose transition applied.
pub(super) struct RecordUnit {
    pub batch: Vec<AttemptRecord>,
    pub now: DateTime<Utc>,
}

#[async_trait]
impl Unit for RecordUnit {
    type Output = Vec<i64>;

    const PHASE: u8 = 1;

    fn rows(&self) -> usize {
        self.batch.len()
    }

    async fn write(&mut self, tx: &mut Tx) -> anyhow::Result<Written<Vec<i64>>> {
        let applied = match tx {
            Tx::Sqlite(_) => sqlite::record(tx, &self.batch, self.now).await?,
            Tx::Postgres(tx, _) => postgres::record(tx, &self.batch, self.now).await?,
        };
        Ok(Written {
            output: applied,
            due: false,
        })
    }
}

/// Leases handed back without counting a try, due at `due_at`: [`super::Store::release`]
/// as a unit of the writer cycle.
pub(super) struct ReleaseUnit {
    /// `(id, lease_token)` pairs.
    pub leases: Vec<(i64, i64)>,
    pub due_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

#[async_trait]
impl Unit for ReleaseUnit {
    type Output = ();

    const PHASE: u8 = 1;

    fn rows(&self) -> usize {
        self.leases.len()
    }

    async fn write(&mut self, tx: &mut Tx) -> anyhow::Result<Written<()>> {
        // One statement for every lease, each applied only under its own token.
        let mut sql = Sql::new(
            "UPDATE notifications SET status = 'pending', due_at = $1, updated_at = $2 \
             WHERE status = 'delivering' AND (id, lease_token) IN (",
        )
        .bind(self.due_at)
        .bind(self.now);
        for (i, (id, token)) in self.leases.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.push_bind(*id).push(", ").push_bind(*token).push(")");
        }
        sql.push(")");
        tx.execute(&sql).await?;
        Ok(Written {
            output: (),
            due: true,
        })
    }
}
