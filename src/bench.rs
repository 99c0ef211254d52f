//! The `bench` command: the whole pipeline in one process, measured.
//!
//! It starts one or more complete instances against a fresh temporary database and a
//! built-in receiver on loopback, enqueues N notifications, waits until every one is
//! recorded as delivered, and prints throughput, enqueue-to-delivery latency, tries and
//! peak memory.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::ServeArgs;
use crate::policy::{Destination, RetryPolicy};
use crate::startup::Application;
use crate::store::{NewNotification, Store};

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
    #[arg(long, default_value_t = 1)]
    pub instances: u32,
    /// Tries in flight per instance.
    #[arg(long, default_value_t = 64)]
    pub concurrency: u32,
    /// Enqueue rate in notifications per second; 0 enqueues as fast as possible.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Notifications per enqueue transaction.
    #[arg(long, default_value_t = 100)]
    pub enqueue_batch: u64,
    /// SQLite durability (`full` is the service default).
    #[arg(long, default_value = "full", value_parser = ["full", "normal"])]
    pub sqlite_synchronous: String,
}

#[derive(Default)]
struct Arrivals {
    latencies_us: Vec<u64>,
}

/// The built-in receiver: answers 200 and notes each notification's latency from the
/// enqueue time written into its body.
async fn receive(State(arrivals): State<Arc<Mutex<Arrivals>>>, body: Bytes) -> &'static str {
    let now = Utc::now().timestamp_micros();
    let sent = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["enqueued_us"].as_i64());
    if let Some(sent) = sent {
        if let Ok(mut arrivals) = arrivals.lock() {
            arrivals.latencies_us.push((now - sent).max(0) as u64);
        }
    }
    "SUCCESS"
}

fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Duration::from_micros(sorted[index.min(sorted.len() - 1)])
}

/// Peak resident memory of this process, from /proc.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.instances > 1 && args.backend == "sqlite" {
        anyhow::bail!("several instances share work only on PostgreSQL; use --backend postgres");
    }
    let dir = tempfile::tempdir()?;
    let (database_url, cleanup) = match args.backend.as_str() {
        "postgres" => {
            let name = format!("ums_bench_{}", std::process::id());
            let admin = sqlx::PgPool::connect(&args.postgres_server).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                .execute(&admin)
                .await?;
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&admin)
                .await?;
            let mut url = url::Url::parse(&args.postgres_server)?;
            url.set_path(&name);
            (url.to_string(), Some((admin, name)))
        }
        _ => (
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            None,
        ),
    };

    let arrivals = Arc::new(Mutex::new(Arrivals::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let target = format!("http://{}/notify", listener.local_addr()?);
    let stop_receiver = CancellationToken::new();
    let receiver_app = Router::new()
        .route("/notify", post(receive))
        .with_state(arrivals.clone());
    let stop = stop_receiver.clone();
    let receiver = tokio::spawn(async move {
        axum::serve(listener, receiver_app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    });

    let shutdown = CancellationToken::new();
    let mut instances = Vec::new();
    let mut metrics = Vec::new();
    let mut wakeups = Vec::new();
    let mut stores = Vec::new();
    for _ in 0..args.instances {
        let mut settings = ServeArgs::from_env()?;
        settings.listen = "127.0.0.1:0".parse()?;
        settings.database.database_url = database_url.clone();
        settings.database.sqlite_synchronous = args.sqlite_synchronous.clone();
        settings.database.database_max_connections = 16;
        settings.concurrency = args.concurrency;
        settings.per_host_concurrency = args.concurrency;
        settings.admin_token = None;
        let app = Application::build(settings, Clock::system()).await?;
        metrics.push(app.state().metrics.clone());
        wakeups.push(app.state().wakeup.clone());
        stores.push(app.store());
        instances.push(tokio::spawn(app.run(shutdown.clone())));
    }
    // Load through the first instance's store: SQLite has one writer connection per
    // process, and a second one would contend with it.
    let store: Arc<dyn Store> = stores
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("--instances must be at least 1"))?;

    println!(
        "bench: {} notifications, backend {}, {} instance(s), concurrency {} each, sqlite synchronous={}, enqueue rate {}",
        args.count,
        args.backend,
        args.instances,
        args.concurrency,
        args.sqlite_synchronous,
        if args.rate == 0 { "unlimited".to_owned() } else { format!("{}/s", args.rate) }
    );
    let started = Instant::now();
    let destination =
        Destination::parse(&target).with_context(|| format!("the receiver's URL {target}"))?;
    let batch = args.enqueue_batch.max(1);
    let mut enqueued = 0;
    while enqueued < args.count {
        let size = batch.min(args.count - enqueued);
        let now = Utc::now();
        let notifications = (0..size)
            .map(|i| NewNotification {
                destination: destination.clone(),
                body: format!(
                    r#"{{"seq":{},"enqueued_us":{}}}"#,
                    enqueued + i,
                    now.timestamp_micros()
                )
                .into_bytes(),
                content_type: "application/json".to_owned(),
                headers: Vec::new(),
                policy: RetryPolicy::default(),
                idempotency_key: None,
                tenant: None,
                subject: None,
                kind: "bench".to_owned(),
            })
            .collect();
        store.enqueue_batch(notifications, now).await?;
        enqueued += size;
        // The bench writes to the store directly, so it wakes the dispatchers itself, as
        // the API does after an enqueue.
        for (app_metrics, wakeup) in metrics.iter().zip(&wakeups) {
            app_metrics.enqueued.inc_by(size);
            wakeup.wake();
        }
        if args.rate > 0 {
            let due = Duration::from_secs_f64(enqueued as f64 / args.rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
    }
    let enqueue_elapsed = started.elapsed();
    let mut last_report = Instant::now();
    loop {
        let stats = store.stats(Utc::now()).await?;
        if stats.delivered >= args.count {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            println!("  … {} of {} delivered", stats.delivered, args.count);
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    drop(store);
    shutdown.cancel();
    for instance in instances {
        instance.await??;
    }
    stop_receiver.cancel();
    receiver.await??;

    let attempts: u64 = metrics
        .iter()
        .map(|m| {
            ["success", "http_status", "timeout", "connect", "other"]
                .iter()
                .map(|o| m.attempts.with_label_values(&[o]).get())
                .sum::<u64>()
        })
        .sum();
    let mut latencies = arrivals
        .lock()
        .map(|a| a.latencies_us.clone())
        .unwrap_or_default();
    latencies.sort_unstable();
    println!(
        "enqueued:        {} in {:.2}s",
        args.count,
        enqueue_elapsed.as_secs_f64()
    );
    println!(
        "delivered:       {} in {:.2}s (all recorded as delivered)",
        args.count,
        elapsed.as_secs_f64()
    );
    println!(
        "throughput:      {:.0} deliveries/s",
        args.count as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency:         p50 {:.1} ms, p99 {:.1} ms (enqueue, commit included, to arrival at the receiver)",
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0
    );
    println!("tries:           {attempts} ({} received)", latencies.len());
    if let Some(kib) = peak_rss_kib() {
        println!(
            "peak RSS:        {:.1} MiB (whole process: instances, receiver, loader)",
            kib as f64 / 1024.0
        );
    }
    if let Some((admin, name)) = cleanup {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&admin)
            .await;
    }
    Ok(())
}
