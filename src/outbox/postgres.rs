//! What only PostgreSQL does: one outbox shared by any number of dispatcher instances.
//!
//! Claims use `FOR UPDATE SKIP LOCKED` in the statement that sets the lease, so instances
//! never wait on each other's rows and never lease the same row twice. Batches of results
//! are written with `UNNEST`, two statements whatever their size. Every change that makes work due
//! is followed by `NOTIFY ums_notify_due` ([`crate::db::Tx::notify_due`], coalesced after the
//! commit), which wakes the others.

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgListener, PgPool};
use sqlx::PgConnection;
use tokio::sync::Mutex;

use super::rows::{claimed_from, last_error_of};
use super::{AttemptRecord, ClaimRequest, Claimed};
use crate::db::WAKEUP_CHANNEL;

/// Leases due rows: at most `$6` per host among the `$5` most overdue, `$3` in all. The
/// final `FOR UPDATE SKIP LOCKED` re-checks each row on its newest version, so a row
/// another instance claimed meanwhile is skipped, never leased twice.
///
/// The locking step fetches the chosen ids by primary key (`= ANY(ARRAY(...))`), and its
/// due re-check is written `IS TRUE` so the planner cannot drive it from the due index:
/// with statistics that underestimate the backlog it did, and every claim walked the
/// whole backlog (120 ms a claim behind 5,000 due rows).
const CLAIM: &str = "WITH candidates AS ( \
        SELECT id, host, due_at FROM notifications \
        WHERE due_at <= $1 AND host <> ALL($4) \
        AND (tenant IS NULL OR tenant <> ALL($7)) ORDER BY due_at LIMIT $5), \
    ranked AS ( \
        SELECT id FROM (SELECT id, due_at, ROW_NUMBER() OVER \
            (PARTITION BY host ORDER BY due_at, id) AS nth FROM candidates) r \
        WHERE nth <= $6 ORDER BY due_at LIMIT $3), \
    due AS ( \
        SELECT n.id FROM notifications n WHERE n.id = ANY(ARRAY(SELECT id FROM ranked)) \
        AND (n.due_at <= $1) IS TRUE FOR UPDATE OF n SKIP LOCKED) \
    UPDATE notifications n SET status = 'delivering', lease_token = n.lease_token + 1, \
        due_at = $2, updated_at = $1 \
    FROM due WHERE n.id = due.id RETURNING n.*";

pub(super) async fn claim(
    tx: &mut PgConnection,
    request: &ClaimRequest,
) -> anyhow::Result<Vec<Claimed>> {
    let rows = sqlx::query(CLAIM)
        .bind(request.now)
        .bind(request.now + request.lease)
        .bind(i64::from(request.limit))
        .bind(&request.exclude_hosts)
        .bind(i64::from(request.limit) * 4)
        .bind(i64::from(request.per_host))
        .bind(&request.exclude_tenants)
        .fetch_all(tx)
        .await?;
    Ok(claimed_from(&rows))
}

/// Two statements for the whole batch, whatever its size: round trips, not rows, are
/// what a commit costs here.
pub(super) async fn record(
    tx: &mut PgConnection,
    batch: &[AttemptRecord],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<i64>> {
    let n = batch.len();
    let (mut ids, mut tokens, mut numbers, mut started) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut durations, mut codes, mut failures, mut messages, mut bodies) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut statuses, mut dues, mut finishes, mut errors) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for record in batch {
        let to = record.next.transition(now);
        ids.push(record.notification_id);
        tokens.push(record.lease_token);
        numbers.push(i32::try_from(record.number).unwrap_or(i32::MAX));
        started.push(record.started_at);
        durations.push(record.duration_ms);
        codes.push(record.status_code.map(i32::from));
        failures.push(record.failure.map(|f| f.as_str()));
        messages.push(record.message.as_deref());
        bodies.push(record.response_body.as_deref());
        statuses.push(to.status.as_str());
        dues.push(to.due_at);
        finishes.push(to.finished_at);
        errors.push(last_error_of(record));
    }
    sqlx::query(
        "INSERT INTO attempts (notification_id, number, started_at, duration_ms, \
         status_code, failure, message, response_body) \
         SELECT u.* FROM UNNEST($1::bigint[], $2::int[], $3::timestamptz[], $4::bigint[], \
         $5::int[], $6::text[], $7::text[], $8::bytea[]) \
         AS u(id, number, started_at, duration_ms, status_code, failure, message, body) \
         WHERE EXISTS (SELECT 1 FROM notifications n WHERE n.id = u.id)",
    )
    .bind(&ids)
    .bind(&numbers)
    .bind(&started)
    .bind(&durations)
    .bind(&codes)
    .bind(&failures)
    .bind(&messages)
    .bind(&bodies)
    .execute(&mut *tx)
    .await?;
    // Applied only while the row is still leased under the try's token.
    let applied: Vec<i64> = sqlx::query_scalar(
        "UPDATE notifications n SET attempts = n.attempts + 1, \
         round_attempts = n.round_attempts + 1, status = u.status, due_at = u.due_at, \
         finished_at = u.finished_at, last_error = u.last_error, updated_at = $1 \
         FROM UNNEST($2::bigint[], $3::bigint[], $4::text[], $5::timestamptz[], \
                     $6::timestamptz[], $7::text[]) \
              AS u(id, token, status, due_at, finished_at, last_error) \
         WHERE n.id = u.id AND n.lease_token = u.token AND n.status = 'delivering' \
         RETURNING n.id",
    )
    .bind(now)
    .bind(&ids)
    .bind(&tokens)
    .bind(&statuses)
    .bind(&dues)
    .bind(&finishes)
    .bind(&errors)
    .fetch_all(&mut *tx)
    .await?;
    Ok(applied)
}

/// The `LISTEN` connection and this instance's own name, which its own signals carry.
pub struct Listener {
    connection: PgListener,
    own_name: String,
}

/// Waits for a `NOTIFY` from another instance, opening the `LISTEN` connection on first
/// use and again after it dropped (which itself counts as a wake-up). This instance's own
/// signals are skipped: its dispatcher heard of that work directly, with the hosts it is
/// for.
pub(super) async fn wait_for_wakeup(
    pool: &PgPool,
    listener: &Mutex<Option<Listener>>,
) -> anyhow::Result<()> {
    let mut guard = listener.lock().await;
    if guard.is_none() {
        let own_name: String = sqlx::query_scalar("SELECT current_setting('application_name')")
            .fetch_one(pool)
            .await?;
        let mut connection = PgListener::connect_with(pool).await?;
        connection.listen(WAKEUP_CHANNEL).await?;
        *guard = Some(Listener {
            connection,
            own_name,
        });
        // Work signalled before this connection listened was not heard: report a
        // wake-up, so the dispatcher looks once now that nothing more can be missed.
        return Ok(());
    }
    let Some(active) = guard.as_mut() else {
        return Ok(());
    };
    loop {
        match active.connection.try_recv().await {
            Ok(Some(signal)) if signal.payload() == active.own_name => continue,
            Ok(Some(_)) => return Ok(()),
            // The connection dropped: the listener reconnects on the next call. Work may
            // have been signalled meanwhile, so report a wake-up.
            Ok(None) => return Ok(()),
            Err(error) => {
                *guard = None;
                return Err(error.into());
            }
        }
    }
}

/// Folds the appended status-count changes into the counts. One instance folds at a time
/// (the others skip rather than wait); changes appended meanwhile wait for the next fold.
pub(super) async fn fold_counts(pool: &PgPool) -> anyhow::Result<u64> {
    let mut tx = pool.begin().await?;
    let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock($1)")
        .bind(FOLD_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(0);
    }
    let folded = sqlx::query(
        "WITH folded AS (DELETE FROM status_count_deltas RETURNING status, n) \
         INSERT INTO status_counts (status, n) SELECT status, SUM(n) FROM folded GROUP BY status \
         ON CONFLICT (status) DO UPDATE SET n = status_counts.n + EXCLUDED.n",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(folded)
}

/// The advisory lock key of [`fold_counts`] ("ums-fold" in ASCII).
const FOLD_LOCK: i64 = 0x756d_732d_666f_6c64;
