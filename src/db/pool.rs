//! An open database and its write transactions: [`Db`] (SQLite's single writer and its
//! readers, or a PostgreSQL pool) and [`Tx`], each running [`Sql`] on its backend.

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{Postgres, Sqlite, Transaction};

use super::notifier::Notifier;
use super::sql::{Exec, Record, Sql};
use super::Backend;

/// An open database: SQLite's single writer and its readers, or a PostgreSQL pool.
#[derive(Clone)]
pub enum Db {
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    /// The pool, and the signal to other instances that work is due.
    Postgres(PgPool, Notifier),
}

/// The channel that carries "work is due" between PostgreSQL instances.
pub const WAKEUP_CHANNEL: &str = "ums_notify_due";

/// Signals [`WAKEUP_CHANNEL`] with the sender's `application_name` as the payload: each
/// instance's connections carry a name of their own, so an instance can ignore its own
/// signals (it wakes its dispatcher directly) and hear only the others'.
pub const NOTIFY_DUE: &str = "SELECT pg_notify($1, current_setting('application_name'))";

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(..) => Backend::Postgres,
        }
    }

    fn reader(&self) -> Exec<'_> {
        match self {
            Db::Sqlite { reader, .. } => Exec::SqlitePool(reader),
            Db::Postgres(pool, _) => Exec::PgPool(pool),
        }
    }

    fn writer(&self) -> Exec<'_> {
        match self {
            Db::Sqlite { writer, .. } => Exec::SqlitePool(writer),
            Db::Postgres(pool, _) => Exec::PgPool(pool),
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so a transaction that reads before it writes cannot fail to upgrade.
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        Ok(match self {
            Db::Sqlite { writer, .. } => Tx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool, notifier) => Tx::Postgres(
                pool.begin().await?,
                Due {
                    notifier: notifier.clone(),
                    due: false,
                },
            ),
        })
    }

    /// A read on the readers.
    pub async fn read_all<T: Record>(&self, sql: &Sql<'_>) -> anyhow::Result<Vec<T>> {
        self.reader().fetch_all(sql).await
    }

    pub async fn read_optional<T: Record>(&self, sql: &Sql<'_>) -> anyhow::Result<Option<T>> {
        self.reader().fetch_optional(sql).await
    }

    pub async fn read_one<T: Record>(&self, sql: &Sql<'_>) -> anyhow::Result<T> {
        self.read_optional(sql)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the query returned no row"))
    }

    /// A single-statement write, committed on its own.
    pub async fn write_optional<T: Record>(&self, sql: &Sql<'_>) -> anyhow::Result<Option<T>> {
        self.writer().fetch_optional(sql).await
    }

    pub async fn write(&self, sql: &Sql<'_>) -> anyhow::Result<u64> {
        self.writer().execute(sql).await
    }
}

/// A write transaction of either backend. Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>, Due),
}

/// Whether a PostgreSQL transaction made work due, to be signalled once it commits.
pub struct Due {
    notifier: Notifier,
    due: bool,
}

impl Tx {
    fn exec(&mut self) -> Exec<'_> {
        match self {
            Tx::Sqlite(tx) => Exec::Sqlite(tx),
            Tx::Postgres(tx, _) => Exec::Pg(tx),
        }
    }

    pub async fn fetch_optional<T: Record>(&mut self, sql: &Sql<'_>) -> anyhow::Result<Option<T>> {
        self.exec().fetch_optional(sql).await
    }

    pub async fn fetch_all<T: Record>(&mut self, sql: &Sql<'_>) -> anyhow::Result<Vec<T>> {
        self.exec().fetch_all(sql).await
    }

    pub async fn fetch_one<T: Record>(&mut self, sql: &Sql<'_>) -> anyhow::Result<T> {
        self.fetch_optional(sql)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the query returned no row"))
    }

    pub async fn execute(&mut self, sql: &Sql<'_>) -> anyhow::Result<u64> {
        self.exec().execute(sql).await
    }

    /// The clause that locks the rows a `SELECT` reads until the transaction ends:
    /// `FOR UPDATE` on PostgreSQL; nothing on SQLite, whose write transaction already
    /// holds the only write lock.
    pub fn row_lock(&self) -> &'static str {
        match self {
            Tx::Sqlite(_) => "",
            Tx::Postgres(..) => " FOR UPDATE",
        }
    }

    /// Tells other instances that work became due once this transaction commits
    /// (PostgreSQL `NOTIFY`, coalesced: `db/notifier.rs`). A single SQLite process wakes
    /// its own dispatcher directly.
    pub fn notify_due(&mut self) {
        if let Tx::Postgres(_, due) = self {
            due.due = true;
        }
    }

    pub async fn commit(self) -> anyhow::Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx, due) => {
                tx.commit().await?;
                if due.due {
                    due.notifier.signal();
                }
            }
        }
        Ok(())
    }
}
