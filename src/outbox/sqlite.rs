//! What only SQLite does: an embedded, zero-setup outbox for one process.
//!
//! One writer connection serialises every write (`BEGIN IMMEDIATE` for multi-statement
//! ones); a small pool of readers serves the admin API concurrently thanks to WAL mode.
//! `synchronous=FULL` by default, so a commit that was acknowledged survives a power loss.
//! The single writer is also the claim's lock: no two claims can take the same row.

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::rows::{claimed_from, last_error_of, COLUMNS};
use super::{AttemptRecord, ClaimRequest, Claimed, FailureKind};
use crate::db::{Sql, Ts, Tx};

/// Leases due rows in one statement inside the writer's transaction: at most `per_host`
/// per host among the `4 × limit` most overdue, `limit` in all.
pub(super) async fn claim(
    writer: &mut SqliteConnection,
    request: &ClaimRequest,
) -> anyhow::Result<Vec<Claimed>> {
    let now = Ts(request.now);
    let mut query = QueryBuilder::<Sqlite>::new(
        "UPDATE notifications SET status = 'delivering', lease_token = lease_token + 1, due_at = ",
    );
    query.push_bind(Ts(request.now + request.lease));
    query.push(", updated_at = ").push_bind(now);
    // The window bounds the rows taken from one host; the inner LIMIT bounds the
    // window's work however large the backlog.
    query.push(
        " WHERE id IN (SELECT id FROM (SELECT id, due_at, ROW_NUMBER() OVER \
         (PARTITION BY host ORDER BY due_at, id) AS nth FROM (SELECT id, host, due_at \
         FROM notifications WHERE due_at <= ",
    );
    query.push_bind(now);
    if !request.exclude_hosts.is_empty() {
        query.push(" AND host NOT IN (");
        let mut list = query.separated(", ");
        for host in &request.exclude_hosts {
            list.push_bind(host);
        }
        query.push(")");
    }
    if !request.exclude_tenants.is_empty() {
        query.push(" AND (tenant IS NULL OR tenant NOT IN (");
        let mut list = query.separated(", ");
        for tenant in &request.exclude_tenants {
            list.push_bind(tenant);
        }
        query.push("))");
    }
    query.push(" ORDER BY due_at LIMIT ");
    query.push_bind(i64::from(request.limit) * 4);
    query.push(")) WHERE nth <= ");
    query.push_bind(i64::from(request.per_host));
    query.push(" ORDER BY due_at LIMIT ");
    query.push_bind(i64::from(request.limit));
    query.push(") RETURNING ");
    query.push(COLUMNS);
    let rows = query.build().fetch_all(writer).await?;
    Ok(claimed_from(&rows))
}

/// Results per pair of statements: small, since the driver's cost per parameter grows with
/// a statement's parameter count (see the outbox's insert chunks).
const RECORD_CHUNK: usize = 32;

/// Every result inside the writer's transaction, two statements per [`RECORD_CHUNK`]
/// results (the attempt rows, then the transitions): on an embedded database each
/// statement is a hand-off to the connection's thread, so fewer statements are what makes
/// it cheap.
pub(super) async fn record(
    tx: &mut Tx,
    batch: &[AttemptRecord],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<i64>> {
    let mut applied = Vec::with_capacity(batch.len());
    for chunk in batch.chunks(RECORD_CHUNK) {
        let mut attempts = Sql::new(
            "WITH u (id, number, started_at, duration_ms, status_code, failure, message, body) \
             AS (VALUES ",
        );
        for (i, record) in chunk.iter().enumerate() {
            attempts
                .push(if i == 0 { "(" } else { ", (" })
                .push_bind(record.notification_id)
                .push(", ")
                .push_bind(record.number)
                .push(", ")
                .push_bind(record.started_at)
                .push(", ")
                .push_bind(record.duration_ms)
                .push(", ")
                .push_bind(record.status_code.map(i64::from))
                .push(", ")
                .push_bind(record.failure.map(FailureKind::as_str))
                .push(", ")
                .push_bind(&record.message)
                .push(", ")
                .push_bind(record.response_body.as_deref())
                .push(")");
        }
        // Skipped for a notification deleted meanwhile (retention).
        attempts.push(
            ") INSERT INTO attempts (notification_id, number, started_at, duration_ms, \
             status_code, failure, message, response_body) \
             SELECT id, number, started_at, duration_ms, status_code, failure, message, body \
             FROM u WHERE EXISTS (SELECT 1 FROM notifications n WHERE n.id = u.id)",
        );
        tx.execute(&attempts).await?;

        let mut transitions =
            Sql::new("WITH u (id, token, status, due_at, finished_at, last_error) AS (VALUES ");
        for (i, record) in chunk.iter().enumerate() {
            let to = record.next.transition(now);
            transitions
                .push(if i == 0 { "(" } else { ", (" })
                .push_bind(record.notification_id)
                .push(", ")
                .push_bind(record.lease_token)
                .push(", ")
                .push_bind(to.status.as_str())
                .push(", ")
                .push_bind(to.due_at)
                .push(", ")
                .push_bind(to.finished_at)
                .push(", ")
                .push_bind(last_error_of(record))
                .push(")");
        }
        // Applied only while the row is still leased under the try's token.
        transitions
            .push(
                ") UPDATE notifications SET attempts = attempts + 1, \
                 round_attempts = round_attempts + 1, status = u.status, due_at = u.due_at, \
                 finished_at = u.finished_at, last_error = u.last_error, updated_at = ",
            )
            .push_bind(now)
            .push(
                " FROM u WHERE notifications.id = u.id AND notifications.lease_token = u.token \
                 AND notifications.status = 'delivering' RETURNING notifications.id",
            );
        let ids: Vec<(i64,)> = tx.fetch_all(&transitions).await?;
        applied.extend(ids.into_iter().map(|(id,)| id));
    }
    Ok(applied)
}
