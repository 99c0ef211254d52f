//! Check runs started from the sandbox: stored in the outbox's database (both backends,
//! each query written once), run in the background, and read back with their reports.
//!
//! A run is written `running` before it starts and `finished` (with its report) or
//! `failed` (with the error) when it ends. A run every instance lost (the process stopped
//! while it ran) stays `running` in the table; it is shown as `interrupted` once it is
//! older than [`RUN_DEADLINE`], which no run outlives.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::Semaphore;

use super::{Report, Settings, Target};
use crate::clock::Clock;
use crate::db::{Db, Sql, Ts};

/// The longest a run may take; it is stopped and marked failed after that.
pub const RUN_DEADLINE: Duration = Duration::from_secs(10 * 60);
/// Runs one instance makes at once.
pub const CONCURRENT_RUNS: usize = 4;
/// Runs a merchant's list shows, newest first.
pub const LIST_LIMIT: i64 = 50;

const COLUMNS: &str = "id, mid, notify_url, only_checks, status, passed, pass_count, \
    fail_count, warn_count, report, error, created_at, finished_at";

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    mid: String,
    notify_url: String,
    only_checks: Option<String>,
    status: String,
    passed: Option<i32>,
    pass_count: i32,
    fail_count: i32,
    warn_count: i32,
    report: Option<String>,
    error: Option<String>,
    created_at: Ts,
    finished_at: Option<Ts>,
}

/// A stored run, as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Run {
    pub id: i64,
    pub mid: String,
    pub notify_url: String,
    /// The checks asked for; absent for the whole catalogue.
    pub only: Option<Vec<String>>,
    /// `running`, `finished`, `failed` or `interrupted`.
    #[schema(value_type = String)]
    pub status: &'static str,
    /// Once finished: no `must` check failed.
    pub passed: Option<bool>,
    pub summary: RunSummary,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The whole report, once finished (left out of lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub report: Option<Report>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunSummary {
    pub pass: i32,
    pub fail: i32,
    pub warn: i32,
}

impl Run {
    fn from_row(row: RunRow, now: DateTime<Utc>, with_report: bool) -> anyhow::Result<Self> {
        let created_at: DateTime<Utc> = row.created_at.into();
        let deadline = chrono::Duration::from_std(RUN_DEADLINE)? + chrono::Duration::minutes(1);
        let status = match row.status.as_str() {
            "running" if now - created_at > deadline => "interrupted",
            "running" => "running",
            "finished" => "finished",
            _ => "failed",
        };
        // A report stored by a version whose report had another shape is left out
        // rather than failing the whole read.
        let report = match (&row.report, with_report) {
            (Some(json), true) => match serde_json::from_str(json) {
                Ok(report) => Some(report),
                Err(error) => {
                    tracing::warn!(run = row.id, %error, "a stored check report does not read back; leaving it out");
                    None
                }
            },
            _ => None,
        };
        Ok(Self {
            id: row.id,
            mid: row.mid,
            notify_url: row.notify_url,
            only: row
                .only_checks
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            status,
            passed: row.passed.map(|p| p != 0),
            summary: RunSummary {
                pass: row.pass_count,
                fail: row.fail_count,
                warn: row.warn_count,
            },
            error: row.error,
            created_at,
            finished_at: row.finished_at.map(Into::into),
            report,
        })
    }
}

/// Starts, stores and reads check runs. Cheap to clone.
#[derive(Clone)]
pub struct CheckRuns {
    db: Db,
    clock: Clock,
    settings: Settings,
    slots: Arc<Semaphore>,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "{CONCURRENT_RUNS} check runs are already in progress; try again when one has finished"
    )]
    Busy,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl CheckRuns {
    pub fn new(db: Db, clock: Clock, settings: Settings) -> Self {
        Self {
            db,
            clock,
            settings,
            slots: Arc::new(Semaphore::new(CONCURRENT_RUNS)),
        }
    }

    /// Stores a new run of `checks` against `target` and starts it in the background.
    pub async fn start(
        &self,
        target: Target,
        only: &[String],
        checks: Vec<&'static super::CheckSpec>,
    ) -> Result<Run, StartError> {
        let slot = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| StartError::Busy)?;
        let now = self.clock.now();
        let only_json = (!only.is_empty())
            .then(|| serde_json::to_string(only))
            .transpose()
            .map_err(anyhow::Error::from)?;
        let sql = Sql::new(format!(
            "INSERT INTO check_runs (mid, notify_url, only_checks, status, created_at) \
             VALUES ($1, $2, $3, 'running', $4) RETURNING {COLUMNS}"
        ))
        .bind(&target.mid)
        .bind(&target.notify_url)
        .bind(only_json)
        .bind(now);
        let row: RunRow = self
            .db
            .write_optional(&sql)
            .await?
            .ok_or_else(|| anyhow::anyhow!("storing the check run returned no row"))?;
        let run = Run::from_row(row, now, false)?;
        let runs = self.clone();
        let id = run.id;
        tokio::spawn(async move {
            let outcome = tokio::time::timeout(
                RUN_DEADLINE,
                super::run(target, &checks, &runs.settings, runs.clock.clone()),
            )
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the run took longer than {RUN_DEADLINE:?}")));
            if let Err(error) = runs.finish(id, outcome).await {
                tracing::error!(
                    run = id,
                    error = format!("{error:#}"),
                    "storing a check run's result failed"
                );
            }
            drop(slot);
        });
        Ok(run)
    }

    async fn finish(&self, id: i64, outcome: anyhow::Result<Report>) -> anyhow::Result<()> {
        let now = self.clock.now();
        let sql = match outcome {
            Ok(report) => Sql::new(
                "UPDATE check_runs SET status = 'finished', passed = $2, pass_count = $3, \
                 fail_count = $4, warn_count = $5, report = $6, finished_at = $7 WHERE id = $1",
            )
            .bind(id)
            .bind(i64::from(report.passed))
            .bind(report.summary.pass as i64)
            .bind(report.summary.fail as i64)
            .bind(report.summary.warn as i64)
            .bind(serde_json::to_string(&report)?)
            .bind(now),
            Err(error) => Sql::new(
                "UPDATE check_runs SET status = 'failed', error = $2, finished_at = $3 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(format!("{error:#}"))
            .bind(now),
        };
        self.db.write(&sql).await?;
        Ok(())
    }

    /// A run with its report.
    pub async fn get(&self, id: i64) -> anyhow::Result<Option<Run>> {
        let sql = Sql::new(format!("SELECT {COLUMNS} FROM check_runs WHERE id = $1")).bind(id);
        let row: Option<RunRow> = self.db.read_optional(&sql).await?;
        row.map(|row| Run::from_row(row, self.clock.now(), true))
            .transpose()
    }

    /// A merchant's latest runs, newest first, without their reports.
    pub async fn of_merchant(&self, mid: &str) -> anyhow::Result<Vec<Run>> {
        let sql = Sql::new(format!(
            "SELECT {COLUMNS} FROM check_runs WHERE mid = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(mid)
        .bind(LIST_LIMIT);
        let rows: Vec<RunRow> = self.db.read_all(&sql).await?;
        let now = self.clock.now();
        rows.into_iter()
            .map(|row| Run::from_row(row, now, false))
            .collect()
    }
}
