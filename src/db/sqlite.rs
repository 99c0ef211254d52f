//! Opening SQLite: one writer connection that serialises every write (`BEGIN IMMEDIATE`
//! for multi-statement ones), a small pool of readers beside it thanks to WAL mode, and
//! `synchronous=FULL` by default, so an acknowledged commit survives a power loss.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{Db, StoreOptions, STATEMENT_CACHE};

pub(super) async fn open(url: &str, options: &StoreOptions) -> anyhow::Result<Db> {
    let base = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(if options.sqlite_synchronous_full {
            SqliteSynchronous::Full
        } else {
            SqliteSynchronous::Normal
        })
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        .statement_cache_capacity(STATEMENT_CACHE);
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
    Ok(Db::Sqlite { writer, reader })
}
