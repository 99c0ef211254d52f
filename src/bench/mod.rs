//! The `bench` command: its flags, the choice of mode, and what both modes share
//! (temporary database, percentiles, clock, peak memory).
//!
//! The default mode ([`in_process`]) runs complete instances in this process and enqueues
//! straight into the store. `--through-api` ([`api`]) measures the service as a user
//! meets it: a child `serve` process with default settings, loaded over HTTP through the
//! admin API. Both deliver to the built-in receivers of [`receiver`].

mod api;
mod in_process;
mod preload;
mod receiver;
mod report;
mod server;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;

use crate::duration::parse_duration;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Notifications to deliver.
    #[arg(long, default_value_t = 20_000)]
    pub count: u64,
    /// `sqlite` (a temporary file) or `postgres` (a temporary database on --postgres-server).
    #[arg(long, default_value = "sqlite", value_parser = ["sqlite", "postgres"])]
    pub backend: String,
    /// The PostgreSQL server to create the temporary database on.
    #[arg(
        long,
        env = "UMS_NOTIFY_BENCH_POSTGRES",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub postgres_server: String,
    /// Dispatcher instances sharing the database (PostgreSQL only beyond 1).
    #[arg(long, default_value_t = 1, conflicts_with = "through_api")]
    pub instances: u32,
    /// Tries in flight per instance.
    #[arg(long, default_value_t = 64, conflicts_with = "through_api")]
    pub concurrency: u32,
    /// Enqueue rate in notifications per second; 0 enqueues as fast as possible.
    /// With --through-api: an open-loop schedule over all connections.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Notifications per enqueue transaction.
    #[arg(long, default_value_t = 100, conflicts_with = "through_api")]
    pub enqueue_batch: u64,
    /// SQLite durability (`full` is the service default).
    #[arg(long, default_value = "full", value_parser = ["full", "normal"], conflicts_with = "through_api")]
    pub sqlite_synchronous: String,

    /// Measure over HTTP: start `serve` as a child process with default settings and
    /// enqueue through POST /admin/v1/notifications.
    #[arg(long)]
    pub through_api: bool,
    /// With --through-api: concurrent keep-alive connections to the admin API.
    #[arg(long, default_value_t = 32, requires = "through_api", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,
    /// With --through-api: receivers (distinct loopback ports, so distinct hosts to the
    /// per-host cap); notifications go to them round robin.
    #[arg(long, default_value_t = 1, requires = "through_api", value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub hosts: u32,
    /// With --through-api: notifications per request; above 1 uses
    /// POST /admin/v1/notifications/batch.
    #[arg(long, default_value_t = 1, requires = "through_api", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,
    /// With --through-api: how long to wait for the last delivery after the last POST
    /// [default: 120s + 1s per 500 notifications].
    #[arg(long, requires = "through_api", value_parser = parse_duration)]
    pub deadline: Option<Duration>,
    /// With --through-api: before the service starts, fill the database with this many
    /// finished notifications (with their attempts) and as many pending ones due in 30
    /// days, to measure a large outbox.
    #[arg(long, default_value_t = 0, requires = "through_api")]
    pub preload: u64,
    /// With --through-api: the `ums-notify` binary to run as the server (another build,
    /// to compare two builds with the same driver) [default: this one].
    #[arg(long, requires = "through_api")]
    pub server_binary: Option<std::path::PathBuf>,
    /// With --through-api: print the report as one JSON object.
    #[arg(long, requires = "through_api")]
    pub json: bool,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.through_api {
        api::run(&args).await
    } else {
        in_process::run(args).await
    }
}

/// Microseconds since the Unix epoch: the timestamps bodies carry and receivers compare.
pub(crate) fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// The `p` quantile (0.0 to 1.0) of sorted microseconds.
pub(crate) fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Duration::from_micros(sorted[index.min(sorted.len() - 1)])
}

/// Peak resident memory (`VmHWM`) in KiB of a process: `self` or a pid, from /proc.
pub(crate) fn peak_rss_kib(process: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A fresh database for one run: a SQLite file in a temporary directory, or a database
/// created on a PostgreSQL server and dropped by [`TempDatabase::remove`].
pub(crate) struct TempDatabase {
    pub url: String,
    _dir: tempfile::TempDir,
    postgres: Option<(sqlx::PgPool, String)>,
}

impl TempDatabase {
    pub async fn create(backend: &str, postgres_server: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        if backend != "postgres" {
            return Ok(Self {
                url: format!("sqlite://{}", dir.path().join("bench.db").display()),
                _dir: dir,
                postgres: None,
            });
        }
        let name = format!("ums_bench_{}", std::process::id());
        let admin = sqlx::PgPool::connect(postgres_server).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\""))
            .execute(&admin)
            .await?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&admin)
            .await?;
        let mut url = url::Url::parse(postgres_server)?;
        url.set_path(&name);
        Ok(Self {
            url: url.to_string(),
            _dir: dir,
            postgres: Some((admin, name)),
        })
    }

    /// Drops the PostgreSQL database (its users are disconnected); the SQLite directory
    /// goes with `self`.
    pub async fn remove(self) {
        if let Some((admin, name)) = &self.postgres {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(admin)
                .await;
            admin.close().await;
        }
    }
}
