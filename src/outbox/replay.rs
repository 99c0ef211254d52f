//! Bulk redelivery: a new round of tries for every notification a filter matches, as the
//! single redeliver gives one, in one statement written once for both backends.

use chrono::{DateTime, Utc};

use super::Status;
use crate::db::{Db, Sql};

/// The most notifications one bulk redelivery moves.
pub const REPLAY_LIMIT: u32 = 10_000;

/// The states a redelivery starts from: every one but `delivering` (a running try must
/// finish first, as for the single redeliver).
const REDELIVERABLE: &str = "'pending', 'delivered', 'failed', 'cancelled'";

/// Which notifications a bulk redelivery moves; every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct ReplayFilter {
    pub tenant: Option<String>,
    pub kind: Option<String>,
    /// Never `delivering`: the caller refuses it.
    pub status: Option<Status>,
    pub subject: Option<String>,
    /// Only to this destination host (`host:port`).
    pub host: Option<String>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
}

impl ReplayFilter {
    /// Whether no condition is given.
    pub fn is_empty(&self) -> bool {
        self.tenant.is_none()
            && self.kind.is_none()
            && self.status.is_none()
            && self.subject.is_none()
            && self.host.is_none()
            && self.created_from.is_none()
            && self.created_to.is_none()
    }

    /// Appends ` AND …` for each condition.
    fn push_conditions<'a>(&'a self, sql: &mut Sql<'a>) {
        if let Some(tenant) = &self.tenant {
            sql.push(" AND tenant = ").push_bind(tenant);
        }
        if let Some(kind) = &self.kind {
            sql.push(" AND kind = ").push_bind(kind);
        }
        if let Some(status) = self.status {
            sql.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(subject) = &self.subject {
            sql.push(" AND subject = ").push_bind(subject);
        }
        if let Some(host) = &self.host {
            sql.push(" AND host = ").push_bind(host);
        }
        if let Some(from) = self.created_from {
            sql.push(" AND created_at >= ").push_bind(from);
        }
        if let Some(to) = self.created_to {
            sql.push(" AND created_at < ").push_bind(to);
        }
    }
}

/// What a bulk redelivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Replayed {
    /// Notifications given a new round, due now.
    pub redelivered: u64,
    /// Whether more than the limit matched: the oldest `limit` were moved, and another
    /// call moves the next ones.
    pub more: bool,
    /// Matching notifications left alone because a try of theirs was running.
    pub running: u64,
}

/// Appends the ids of the redeliverable notifications `filter` matches, oldest first, at
/// most `limit`.
fn push_matching<'a>(sql: &mut Sql<'a>, filter: &'a ReplayFilter, limit: i64) {
    sql.push(&format!(
        "SELECT id FROM notifications WHERE status IN ({REDELIVERABLE})"
    ));
    filter.push_conditions(sql);
    sql.push(" ORDER BY id LIMIT ").push_bind(limit);
}

/// Moves the oldest `limit` notifications `filter` matches (not one whose try is running)
/// to `pending`, due at `now`, with a new round of tries: all in one transaction.
pub(super) async fn redeliver_matching(
    db: &Db,
    filter: &ReplayFilter,
    limit: u32,
    now: DateTime<Utc>,
) -> anyhow::Result<Replayed> {
    let limit = i64::from(limit);
    let mut tx = db.begin().await?;
    // Counted first, up to one past the limit: a moved row may match again (no status
    // condition, or `pending`), so counting afterwards would see it twice.
    let mut count = Sql::new("SELECT CAST(COUNT(*) AS BIGINT) FROM (");
    push_matching(&mut count, filter, limit + 1);
    count.push(") m");
    let (matched,): (i64,) = tx.fetch_one(&count).await?;
    // The status is checked again on the row itself: on PostgreSQL a try claimed while
    // this waited for its lock is left to finish.
    let mut update = Sql::new("UPDATE notifications SET status = 'pending', due_at = ");
    update
        .push_bind(now)
        .push(", round_attempts = 0, finished_at = NULL, updated_at = ")
        .push_bind(now)
        .push(&format!(" WHERE status IN ({REDELIVERABLE}) AND id IN ("));
    push_matching(&mut update, filter, limit);
    update.push(")");
    let redelivered = tx.execute(&update).await?;
    let mut running =
        Sql::new("SELECT CAST(COUNT(*) AS BIGINT) FROM notifications WHERE status = 'delivering'");
    filter.push_conditions(&mut running);
    let (running,): (i64,) = tx.fetch_one(&running).await?;
    if redelivered > 0 {
        tx.notify_due();
    }
    tx.commit().await?;
    Ok(Replayed {
        redelivered,
        more: matched > limit,
        running: running.max(0) as u64,
    })
}
