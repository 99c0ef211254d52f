//! The SQLite backend: an embedded, zero-setup outbox for one process.
//!
//! One writer connection serialises every write (`BEGIN IMMEDIATE` for multi-statement
//! ones); a small pool of readers serves the admin API concurrently thanks to WAL mode.
//! `synchronous=FULL` by default, so a commit that was acknowledged survives a power loss.

mod outbox;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::*;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

const COLUMNS: &str = columns!();

const FETCH_BY_ID: &str = concat!("SELECT ", columns!(), " FROM notifications WHERE id = ?");
const FETCH_BY_KEY: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM notifications WHERE idempotency_key = ?"
);

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn notification_from_row(row: &SqliteRow) -> anyhow::Result<Notification> {
    Ok(Notification {
        id: row.try_get("id")?,
        status: decode_status(row.try_get("status")?)?,
        url: row.try_get("url")?,
        host: row.try_get("host")?,
        body: row.try_get("body")?,
        content_type: row.try_get("content_type")?,
        headers: decode_headers(row.try_get("headers")?)?,
        attempts: row.try_get::<i64, _>("attempts")? as u32,
        round_attempts: row.try_get::<i64, _>("round_attempts")? as u32,
        max_attempts: row.try_get::<i64, _>("max_attempts")? as u32,
        retry_schedule: decode_schedule(row.try_get("retry_schedule")?)?,
        idempotency_key: row.try_get("idempotency_key")?,
        mid: row.try_get("mid")?,
        contract_id: row.try_get("contract_id")?,
        kind: row.try_get("kind")?,
        due_at: row.try_get::<Option<i64>, _>("due_at")?.map(from_ms),
        created_at: from_ms(row.try_get("created_at")?),
        updated_at: from_ms(row.try_get("updated_at")?),
        finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(from_ms),
        last_error: row.try_get("last_error")?,
    })
}

impl SqliteStore {
    pub async fn open(url: &str, options: &StoreOptions) -> anyhow::Result<Self> {
        let base = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if options.sqlite_synchronous_full {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.read_only(true))
            .await?;
        Ok(Self { writer, reader })
    }

    async fn insert(
        conn: &mut sqlx::SqliteConnection,
        new: &NewNotification,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<i64>> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO notifications (status, url, host, body, content_type, headers, \
             max_attempts, retry_schedule, idempotency_key, mid, contract_id, kind, due_at, \
             created_at, updated_at) \
             VALUES ('pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(&new.url)
        .bind(&new.host)
        .bind(&new.body)
        .bind(&new.content_type)
        .bind(encode_headers(&new.headers))
        .bind(new.max_attempts as i64)
        .bind(encode_schedule(&new.retry_schedule))
        .bind(&new.idempotency_key)
        .bind(&new.mid)
        .bind(&new.contract_id)
        .bind(&new.kind)
        .bind(ms(now))
        .bind(ms(now))
        .bind(ms(now))
        .fetch_optional(&mut *conn)
        .await?;
        Ok(id)
    }

    async fn fetch_one_by(
        conn: &mut sqlx::SqliteConnection,
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

    /// Inserts a notification inside a caller's transaction, so a caller can change its
    /// own rows and enqueue their notification atomically.
    pub async fn enqueue_in(
        conn: &mut sqlx::SqliteConnection,
        new: NewNotification,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Enqueued> {
        match Self::insert(conn, &new, now).await? {
            Some(id) => {
                let notification = Self::fetch_one_by(conn, Lookup::Id(id))
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("notification {id} vanished after insert"))?;
                Ok(Enqueued {
                    notification,
                    created: true,
                })
            }
            None => {
                let key = new.idempotency_key.clone().unwrap_or_default();
                let notification = Self::fetch_one_by(conn, Lookup::Key(key))
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("idempotency conflict without a row"))?;
                Ok(Enqueued {
                    notification,
                    created: false,
                })
            }
        }
    }

    /// The writer pool, for modules that add their own tables to this database.
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }
}
