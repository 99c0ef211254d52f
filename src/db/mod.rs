//! The database layer every store builds on: which backend a URL selects, opening and
//! migrating it, and the dialect ([`sql`]) and connections ([`pool`]) that run one query
//! text on SQLite or PostgreSQL.

mod notifier;
pub mod pool;
mod postgres;
pub mod sql;
mod sqlite;

pub use pool::{Db, Tx, NOTIFY_DUE, WAKEUP_CHANNEL};
pub use sql::{Arg, Record, Sql, Ts};

/// Prepared statements kept per connection, on both backends. The multi-row statements
/// have one text per row count (inserts in chunks of up to 100 rows, results of up to 32,
/// claims per number of capped hosts), well over the driver's default of 100; past the
/// cache a statement is prepared again on each use.
const STATEMENT_CACHE: usize = 1_024;

/// Which database a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            anyhow::bail!(
                "unsupported database URL {:?}: use sqlite://<file> or postgres://<user>@<host>/<db>",
                redact_url(url)
            )
        }
    }
}

/// Options that shape how the store opens its database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// SQLite: `synchronous=FULL` (the default) makes every commit survive a power loss;
    /// `NORMAL` only survives a process crash.
    pub sqlite_synchronous_full: bool,
    /// PostgreSQL: the size of the connection pool.
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            sqlite_synchronous_full: true,
            max_connections: 10,
        }
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Opens (creating if needed) the database a URL names.
    pub async fn connect(url: &str, options: &StoreOptions) -> anyhow::Result<Self> {
        match Backend::from_url(url)? {
            Backend::Sqlite => sqlite::open(url, options).await,
            Backend::Postgres => postgres::open(url, options).await,
        }
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite { writer, .. } => SQLITE_MIGRATIONS.run(writer).await?,
            Db::Postgres(pool, _) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }
}

/// Hides the password of a database URL for logs and errors.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
