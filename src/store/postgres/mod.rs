//! The PostgreSQL backend: one outbox shared by any number of dispatcher instances.
//!
//! Claims use `FOR UPDATE SKIP LOCKED` in the statement that sets the lease, so instances
//! never wait on each other's rows and never lease the same row twice. Every change that
//! makes work due sends `NOTIFY ums_notify_due`, which wakes the other instances.

mod outbox;

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};
use tokio::sync::Mutex;

use super::*;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The channel that carries "work is due" between instances.
pub const WAKEUP_CHANNEL: &str = "ums_notify_due";

const COLUMNS: &str = columns!();

const FETCH_BY_ID: &str = concat!("SELECT ", columns!(), " FROM notifications WHERE id = $1");
const FETCH_BY_KEY: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM notifications WHERE idempotency_key = $1"
);

/// Leases due rows: at most `$6` per host among the `$5` most overdue, `$3` in all. The
/// final `FOR UPDATE SKIP LOCKED` re-checks each row on its newest version, so a row
/// another instance claimed meanwhile is skipped, never leased twice.
const CLAIM: &str = "WITH candidates AS ( \
        SELECT id, host, due_at FROM notifications \
        WHERE due_at <= $1 AND host <> ALL($4) ORDER BY due_at LIMIT $5), \
    ranked AS ( \
        SELECT id FROM (SELECT id, due_at, ROW_NUMBER() OVER \
            (PARTITION BY host ORDER BY due_at, id) AS nth FROM candidates) r \
        WHERE nth <= $6 ORDER BY due_at LIMIT $3), \
    due AS ( \
        SELECT n.id FROM notifications n JOIN ranked USING (id) \
        WHERE n.due_at <= $1 FOR UPDATE OF n SKIP LOCKED) \
    UPDATE notifications n SET status = 'delivering', lease_token = n.lease_token + 1, \
        due_at = $2, updated_at = $1 \
    FROM due WHERE n.id = due.id RETURNING n.*";

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    listener: Arc<Mutex<Option<PgListener>>>,
}

fn notification_from_row(row: &PgRow) -> anyhow::Result<Notification> {
    Ok(Notification {
        id: row.try_get("id")?,
        status: decode_status(row.try_get("status")?)?,
        url: row.try_get("url")?,
        host: row.try_get("host")?,
        body: row.try_get("body")?,
        content_type: row.try_get("content_type")?,
        headers: decode_headers(row.try_get("headers")?)?,
        attempts: row.try_get::<i32, _>("attempts")? as u32,
        round_attempts: row.try_get::<i32, _>("round_attempts")? as u32,
        max_attempts: row.try_get::<i32, _>("max_attempts")? as u32,
        retry_schedule: decode_schedule(row.try_get("retry_schedule")?)?,
        idempotency_key: row.try_get("idempotency_key")?,
        mid: row.try_get("mid")?,
        contract_id: row.try_get("contract_id")?,
        kind: row.try_get("kind")?,
        due_at: row.try_get("due_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        finished_at: row.try_get("finished_at")?,
        last_error: row.try_get("last_error")?,
    })
}

impl PgStore {
    pub async fn open(url: &str, options: &StoreOptions) -> anyhow::Result<Self> {
        let connect: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(2))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect)
            .await?;
        Ok(Self {
            pool,
            listener: Arc::new(Mutex::new(None)),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn insert(
        conn: &mut sqlx::PgConnection,
        new: &NewNotification,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<i64>> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO notifications (status, url, host, body, content_type, headers, \
             max_attempts, retry_schedule, idempotency_key, mid, contract_id, kind, due_at, \
             created_at, updated_at) \
             VALUES ('pending', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12) \
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(&new.url)
        .bind(&new.host)
        .bind(&new.body)
        .bind(&new.content_type)
        .bind(encode_headers(&new.headers))
        .bind(new.max_attempts as i32)
        .bind(encode_schedule(&new.retry_schedule))
        .bind(&new.idempotency_key)
        .bind(&new.mid)
        .bind(&new.contract_id)
        .bind(&new.kind)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(id)
    }

    async fn fetch_one_by(
        conn: &mut sqlx::PgConnection,
        lookup: Lookup,
    ) -> anyhow::Result<Option<Notification>> {
        let query = match &lookup {
            Lookup::Id(_) => FETCH_BY_ID,
            Lookup::Key(_) => FETCH_BY_KEY,
        };
        let query = sqlx::query(query);
        let query = match lookup {
            Lookup::Id(id) => query.bind(id),
            Lookup::Key(key) => query.bind(key),
        };
        let row = query.fetch_optional(conn).await?;
        row.as_ref().map(notification_from_row).transpose()
    }

    async fn wake_others(conn: &mut sqlx::PgConnection) -> anyhow::Result<()> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(WAKEUP_CHANNEL)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Inserts a notification inside a caller's transaction, so a caller can change its
    /// own rows and enqueue their notification atomically.
    pub async fn enqueue_in(
        conn: &mut sqlx::PgConnection,
        new: NewNotification,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Enqueued> {
        let created = match Self::insert(conn, &new, now).await? {
            Some(id) => {
                Self::wake_others(conn).await?;
                Self::fetch_one_by(conn, Lookup::Id(id))
                    .await?
                    .map(|n| (n, true))
            }
            None => {
                let key = new.idempotency_key.clone().unwrap_or_default();
                Self::fetch_one_by(conn, Lookup::Key(key))
                    .await?
                    .map(|n| (n, false))
            }
        };
        let (notification, created) =
            created.ok_or_else(|| anyhow::anyhow!("notification vanished after insert"))?;
        Ok(Enqueued {
            notification,
            created,
        })
    }
}
