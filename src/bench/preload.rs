//! History for scale runs: fills a fresh database with finished notifications (each with
//! its attempt row) and with pending ones due a month from now, before the service starts,
//! so a run measures claims, enqueues and stats on a large outbox.

use anyhow::Context as _;
use chrono::{Duration, Utc};

use crate::db::{Backend, Db, Sql, StoreOptions};

/// Rows per statement, so no single statement holds the database for long.
const CHUNK: i64 = 100_000;

/// Adds `finished` delivered notifications (finished an hour ago, within any retention)
/// and `future` pending ones (due in 30 days) to the database at `url`, migrating it first.
pub async fn preload(url: &str, finished: u64, future: u64) -> anyhow::Result<()> {
    let db = Db::connect(url, &StoreOptions::default()).await?;
    db.migrate().await?;
    let now = Utc::now();
    let past = now - Duration::hours(1);
    let due = now + Duration::days(30);
    let backend = db.backend();
    for (status, count, due_at, finished_at) in [
        ("delivered", finished as i64, None, Some(past)),
        ("pending", future as i64, Some(due), None),
    ] {
        let mut done = 0;
        while done < count {
            let n = CHUNK.min(count - done);
            let sql = Sql::new(format!(
                "{} INSERT INTO notifications (status, url, host, body, content_type, headers, \
                 attempts, round_attempts, max_attempts, retry_schedule, kind, due_at, \
                 created_at, updated_at, finished_at) \
                 SELECT '{status}', 'http://127.0.0.1:9/preloaded', '127.0.0.1:9', \
                 {body}, 'application/json', '[]', {attempts}, {attempts}, 10, \
                 '[1000,2000]', 'generic', $1, $2, $2, $3 FROM seq",
                series(backend),
                body = body(backend),
                attempts = i32::from(finished_at.is_some()),
            ))
            .bind(due_at)
            .bind(past)
            .bind(finished_at)
            .bind(n);
            db.write(&sql)
                .await
                .with_context(|| format!("preloading {status} rows"))?;
            done += n;
        }
    }
    db.write(&Sql::new(
        "INSERT INTO attempts (notification_id, number, started_at, duration_ms, status_code) \
         SELECT id, 1, updated_at, 1, 200 FROM notifications WHERE status = 'delivered'",
    ))
    .await
    .context("preloading attempt rows")?;
    if backend == Backend::Postgres {
        db.write(&Sql::new("ANALYZE")).await?;
    }
    Ok(())
}

/// A row source `seq` of `$4` rows.
fn series(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $4)"
        }
        Backend::Postgres => "WITH seq AS (SELECT generate_series(1, $4) AS i)",
    }
}

fn body(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "CAST('{\"preloaded\":true}' AS BLOB)",
        Backend::Postgres => "convert_to('{\"preloaded\":true}', 'UTF8')",
    }
}
