//! The default `bench` mode: the whole pipeline in one process, measured.
//!
//! It starts one or more complete instances against a fresh temporary database and a
//! built-in receiver on loopback, enqueues N notifications straight into the store, waits
//! until every one is recorded as delivered, and prints throughput, enqueue-to-delivery
//! latency, tries and peak memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;

use super::receiver::Receivers;
use super::{peak_rss_kib, percentile, BenchArgs, TempDatabase};
use crate::clock::Clock;
use crate::config::ServeArgs;
use crate::outbox::{NewNotification, Store};
use crate::policy::{Destination, RetryPolicy};
use crate::startup::Application;

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.instances > 1 && args.backend == "sqlite" {
        anyhow::bail!("several instances share work only on PostgreSQL; use --backend postgres");
    }
    let database = TempDatabase::create(&args.backend, &args.postgres_server).await?;
    let result = run_on(&args, &database.url).await;
    database.remove().await;
    result
}

async fn run_on(args: &BenchArgs, database_url: &str) -> anyhow::Result<()> {
    let receivers = Receivers::start(1, args.count).await?;
    let target = receivers.urls[0].clone();

    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut instances = Vec::new();
    let mut metrics = Vec::new();
    let mut wakeups = Vec::new();
    let mut stores = Vec::new();
    for _ in 0..args.instances {
        let mut settings = ServeArgs::from_env()?;
        settings.listen = "127.0.0.1:0".parse()?;
        settings.database.database_url = database_url.to_owned();
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
                success: Default::default(),
                body: format!(
                    r#"{{"seq":{},"sent_us":{}}}"#,
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
    let arrivals = receivers.stop().await?;

    let attempts: u64 = metrics
        .iter()
        .map(|m| {
            ["success", "http_status", "timeout", "connect", "other"]
                .iter()
                .map(|o| m.attempts.with_label_values(&[o]).get())
                .sum::<u64>()
        })
        .sum();
    let latencies = &arrivals.latencies_us;
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
        percentile(latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(latencies, 0.99).as_secs_f64() * 1000.0
    );
    println!(
        "tries:           {attempts} ({} received)",
        arrivals.arrivals
    );
    if let Some(kib) = peak_rss_kib("self") {
        println!(
            "peak RSS:        {:.1} MiB (whole process: instances, receiver, loader)",
            kib as f64 / 1024.0
        );
    }
    Ok(())
}
