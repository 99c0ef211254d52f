//! `bench --through-api`: the service measured as a user meets it. A child `serve`
//! process with default settings, N keep-alive HTTP/1.1 connections POSTing to the admin
//! API (one notification per request, or `--batch` per request to the batch endpoint),
//! optionally paced on an open-loop schedule, and K built-in receivers; then one report.

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde::Serialize;

use super::receiver::{Receivers, Summary};
use super::server::Server;
use super::{now_us, percentile, BenchArgs, TempDatabase};

/// Width of the `sent_us` field in a prebuilt body: digits, then spaces (JSON whitespace).
const STAMP_WIDTH: usize = 20;
/// How often progress is printed while waiting for deliveries.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if args.count == 0 {
        anyhow::bail!("--count must be at least 1");
    }
    let database = TempDatabase::create(&args.backend, &args.postgres_server).await?;
    // On SIGINT or SIGTERM the run is dropped, which kills the child (`kill_on_drop`),
    // and the temporary database still goes.
    let result = tokio::select! {
        result = run_on(args, &database.url) => result,
        _ = crate::startup::shutdown_signal() => Err(anyhow::anyhow!("interrupted")),
    };
    database.remove().await;
    result
}

async fn run_on(args: &BenchArgs, database_url: &str) -> anyhow::Result<()> {
    if args.preload > 0 {
        let started = std::time::Instant::now();
        super::preload::preload(database_url, args.preload, args.preload).await?;
        eprintln!(
            "bench: preloaded {} finished and {} future notifications in {:.1} s",
            args.preload,
            args.preload,
            started.elapsed().as_secs_f64()
        );
    }
    let receivers = Receivers::start(args.hosts as usize, args.count).await?;
    let token = format!("bench-{:016x}", rand::random::<u64>());
    let mut server = Server::start(args.server_binary.as_deref(), database_url, &token).await?;

    let mut measured = drive(args, &mut server, &receivers, &token).await;
    if let Ok(measured) = &mut measured {
        measured.stats_latencies_us = stats_latencies(&server.base_url, &token).await?;
    }
    let peak_rss_kib = server.peak_rss_kib();
    let stopped = server.stop().await;
    let arrivals = receivers.stop().await;

    // An empty log says nothing; one with lines is kept and named, in errors too.
    let log = server.logged_anything().then(|| server.keep_log());
    let with_log = |error: anyhow::Error| match &log {
        Some(path) => anyhow::anyhow!("{error:#} (server log: {})", path.display()),
        None => error,
    };
    let measured = measured.map_err(with_log)?;
    let arrivals = arrivals?;
    let report = Report::new(args, &measured, &arrivals, peak_rss_kib);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        report.print();
    }
    if let Some(path) = &log {
        eprintln!("bench: the server logged warnings: {}", path.display());
    }
    match stopped {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(with_log(anyhow::anyhow!(
            "the server exited with {status} after SIGTERM"
        ))),
        Err(error) => Err(with_log(error)),
    }
}

/// One prebuilt request: its body, and where each notification's `sent_us` goes.
struct Request {
    index: u64,
    body: Vec<u8>,
    stamps: Vec<usize>,
}

/// Writes `sent_us` into every stamp slot of `body`.
fn stamp(body: &mut [u8], stamps: &[usize], sent_us: i64) {
    let mut digits = [b' '; STAMP_WIDTH];
    // 20 bytes hold any u64, so the write cannot fail.
    let _ = write!(&mut digits[..], "{}", sent_us.max(0));
    for &at in stamps {
        body[at..at + STAMP_WIDTH].copy_from_slice(&digits);
    }
}

/// Appends one notification (the shape of a single POST body) and notes its stamp slot.
fn push_notification(body: &mut Vec<u8>, stamps: &mut Vec<usize>, url: &str, seq: u64) {
    body.extend_from_slice(br#"{"url":""#);
    body.extend_from_slice(url.as_bytes());
    body.extend_from_slice(br#"","body":{"seq":"#);
    body.extend_from_slice(seq.to_string().as_bytes());
    body.extend_from_slice(br#","sent_us":"#);
    stamps.push(body.len());
    body.extend_from_slice(&[b'0'; STAMP_WIDTH]);
    body.extend_from_slice(b"}}");
}

/// Every request of the run, built before the clock starts.
fn build_requests(count: u64, batch: u64, urls: &[String]) -> VecDeque<Request> {
    let mut requests = VecDeque::with_capacity(count.div_ceil(batch) as usize);
    let mut seq = 0;
    let mut index = 0;
    while seq < count {
        let items = batch.min(count - seq);
        let mut body = Vec::with_capacity(items as usize * (urls[0].len() + 72) + 24);
        let mut stamps = Vec::with_capacity(items as usize);
        if batch > 1 {
            body.extend_from_slice(br#"{"notifications":["#);
        }
        for i in 0..items {
            if i > 0 {
                body.push(b',');
            }
            let url = &urls[((seq + i) % urls.len() as u64) as usize];
            push_notification(&mut body, &mut stamps, url, seq + i);
        }
        if batch > 1 {
            body.extend_from_slice(b"]}");
        }
        requests.push_back(Request {
            index,
            body,
            stamps,
        });
        seq += items;
        index += 1;
    }
    requests
}

/// Rejections and transport errors, counted; the first one described.
#[derive(Default)]
struct Failures {
    rejected: AtomicU64,
    errors: AtomicU64,
    first: Mutex<Option<String>>,
}

impl Failures {
    fn note(&self, counter: &AtomicU64, describe: impl FnOnce() -> String) {
        if counter.fetch_add(1, Ordering::Relaxed) == 0 {
            let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
            if first.is_none() {
                let text = describe();
                eprintln!("bench: {text}");
                *first = Some(text);
            }
        }
    }
}

/// What one connection saw.
#[derive(Default)]
struct ConnectionLog {
    /// Per accepted request: from its intended send time (paced) or its send (unpaced)
    /// to the end of the 201 answer, microseconds.
    latencies_us: Vec<u64>,
    /// Per request, paced only: how late it was sent against its schedule.
    lag_us: Vec<u64>,
    first_send_us: Option<i64>,
    last_accept_us: Option<i64>,
}

struct Plan {
    url: reqwest::Url,
    authorization: HeaderValue,
    /// Seconds between requests when paced.
    interval: Option<f64>,
    start: Instant,
    queue: Mutex<VecDeque<Request>>,
    failures: Failures,
}

async fn connection(plan: Arc<Plan>) -> anyhow::Result<ConnectionLog> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(60))
        .build()?;
    let json = HeaderValue::from_static("application/json");
    let mut log = ConnectionLog::default();
    loop {
        let next = plan
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front();
        let Some(Request {
            index,
            mut body,
            stamps,
        }) = next
        else {
            return Ok(log);
        };
        let intended = plan
            .interval
            .map(|interval| plan.start + Duration::from_secs_f64(index as f64 * interval));
        if let Some(at) = intended {
            tokio::time::sleep_until(at.into()).await;
        }
        let sent_us = now_us();
        stamp(&mut body, &stamps, sent_us);
        let sent = Instant::now();
        log.first_send_us.get_or_insert(sent_us);
        if let Some(at) = intended {
            log.lag_us
                .push(sent.saturating_duration_since(at).as_micros() as u64);
        }
        let answer = client
            .post(plan.url.clone())
            .header(AUTHORIZATION, plan.authorization.clone())
            .header(CONTENT_TYPE, json.clone())
            .body(body)
            .send()
            .await;
        let response = match answer {
            Ok(response) => response,
            Err(error) => {
                plan.failures.note(&plan.failures.errors, || {
                    format!("POST {} failed: {error:#}", plan.url)
                });
                continue;
            }
        };
        let status = response.status();
        let answer = response.bytes().await;
        let done = Instant::now();
        match answer {
            Ok(_) if status == reqwest::StatusCode::CREATED => {
                let from = intended.unwrap_or(sent);
                log.latencies_us
                    .push(done.saturating_duration_since(from).as_micros() as u64);
                log.last_accept_us = Some(now_us());
            }
            Ok(text) => plan.failures.note(&plan.failures.rejected, || {
                format!(
                    "POST {} answered {status}, not 201: {}",
                    plan.url,
                    String::from_utf8_lossy(&text[..text.len().min(2048)])
                )
            }),
            Err(error) => plan.failures.note(&plan.failures.errors, || {
                format!("reading the answer of POST {} failed: {error:#}", plan.url)
            }),
        }
    }
}

/// The driver's side of a run.
struct Measured {
    requests: u64,
    first_send_us: i64,
    last_accept_us: i64,
    api_latencies_us: Vec<u64>,
    lag_us: Vec<u64>,
    /// When every notification had arrived once, by the bench's own poll.
    all_arrived_us: i64,
    /// `GET /admin/v1/stats`, one at a time, once the run is over.
    stats_latencies_us: Vec<u64>,
}

/// How long `GET /admin/v1/stats` takes, 200 times in a row on one connection.
async fn stats_latencies(base_url: &str, token: &str) -> anyhow::Result<Vec<u64>> {
    let client = reqwest::Client::new();
    let url = format!("{base_url}/admin/v1/stats");
    let mut latencies = Vec::with_capacity(200);
    for _ in 0..200 {
        let started = std::time::Instant::now();
        let response = client.get(&url).bearer_auth(token).send().await?;
        anyhow::ensure!(
            response.status() == reqwest::StatusCode::OK,
            "GET /admin/v1/stats answered {}",
            response.status()
        );
        response.bytes().await?;
        latencies.push(started.elapsed().as_micros() as u64);
    }
    latencies.sort_unstable();
    Ok(latencies)
}

async fn drive(
    args: &BenchArgs,
    server: &mut Server,
    receivers: &Receivers,
    token: &str,
) -> anyhow::Result<Measured> {
    let batch = u64::from(args.batch);
    let path = if batch > 1 {
        "/admin/v1/notifications/batch"
    } else {
        "/admin/v1/notifications"
    };
    let url = reqwest::Url::parse(&format!("{}{path}", server.base_url))?;
    let requests = build_requests(args.count, batch, &receivers.urls);
    let request_count = requests.len() as u64;
    let plan = Arc::new(Plan {
        url,
        authorization: HeaderValue::from_str(&format!("Bearer {token}"))?,
        interval: (args.rate > 0).then(|| batch as f64 / args.rate as f64),
        start: Instant::now(),
        queue: Mutex::new(requests),
        failures: Failures::default(),
    });
    eprintln!(
        "bench --through-api: {} notifications, backend {}, {} connection(s), batch {}, rate {}, {} receiver(s); server {} (log level warn)",
        args.count,
        args.backend,
        args.connections,
        args.batch,
        if args.rate == 0 { "unpaced".to_owned() } else { format!("{}/s", args.rate) },
        args.hosts,
        server.base_url,
    );
    // A JoinSet: if the run is dropped (interrupted), the connections stop with it.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.connections {
        tasks.spawn(connection(plan.clone()));
    }
    let mut logs = Vec::with_capacity(args.connections as usize);
    while let Some(joined) = tasks.join_next().await {
        logs.push(joined.context("a connection task failed")??);
    }
    let posted = Instant::now();
    let rejected = plan.failures.rejected.load(Ordering::Relaxed);
    let errors = plan.failures.errors.load(Ordering::Relaxed);
    if rejected + errors > 0 {
        let first = plan
            .failures
            .first
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default();
        anyhow::bail!(
            "{rejected} of {request_count} requests were answered with a status other than 201 and {errors} failed outright; the first: {first}"
        );
    }

    let deadline = args
        .deadline
        .unwrap_or(Duration::from_secs(120 + args.count / 500));
    let mut last_progress = Instant::now();
    let arrivals = receivers.arrivals();
    while arrivals.distinct() < args.count {
        server.check_running()?;
        if posted.elapsed() > deadline {
            anyhow::bail!(
                "only {} of {} notifications arrived within {deadline:?} of the last POST",
                arrivals.distinct(),
                args.count
            );
        }
        if last_progress.elapsed() > PROGRESS_EVERY {
            eprintln!("  … {} of {} arrived", arrivals.distinct(), args.count);
            last_progress = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let all_arrived_us = now_us();

    let mut api_latencies_us = Vec::with_capacity(request_count as usize);
    let mut lag_us = Vec::new();
    let mut first_send_us = i64::MAX;
    let mut last_accept_us = i64::MIN;
    for log in logs {
        api_latencies_us.extend(log.latencies_us);
        lag_us.extend(log.lag_us);
        first_send_us = first_send_us.min(log.first_send_us.unwrap_or(i64::MAX));
        last_accept_us = last_accept_us.max(log.last_accept_us.unwrap_or(i64::MIN));
    }
    api_latencies_us.sort_unstable();
    lag_us.sort_unstable();
    Ok(Measured {
        requests: request_count,
        first_send_us,
        last_accept_us,
        api_latencies_us,
        lag_us,
        all_arrived_us,
        stats_latencies_us: Vec::new(),
    })
}

#[derive(Serialize)]
struct Percentiles {
    p50: f64,
    p99: f64,
    max: f64,
}

impl Percentiles {
    /// Milliseconds, from sorted microseconds.
    fn of(sorted_us: &[u64]) -> Self {
        let ms = |d: Duration| (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
        Self {
            p50: ms(percentile(sorted_us, 0.50)),
            p99: ms(percentile(sorted_us, 0.99)),
            max: ms(percentile(sorted_us, 1.0)),
        }
    }
}

#[derive(Serialize)]
struct ReceiverReport {
    port: u16,
    arrivals: u64,
    share: f64,
    /// Its last arrival, seconds after the first POST.
    last_arrival_s: f64,
}

/// Everything the run reports; printed as text or as one JSON object.
#[derive(Serialize)]
struct Report {
    mode: &'static str,
    backend: String,
    count: u64,
    connections: u32,
    batch: u32,
    /// Notifications per second; null when unpaced.
    rate: Option<u64>,
    hosts: u32,
    requests: u64,
    /// First POST sent to last 201 answer.
    accept_s: f64,
    accepts_per_s: f64,
    /// Per request, to the end of its 201 answer: from its intended send time when
    /// paced (no coordinated omission), from its send otherwise.
    api_latency_ms: Percentiles,
    /// Paced only: how late requests went out against the schedule.
    send_lag_ms: Option<Percentiles>,
    /// First POST sent to the last first arrival of a notification.
    end_to_end_s: f64,
    deliveries_per_s: f64,
    /// Per notification: its body's send time to its first arrival at a receiver.
    enqueue_to_arrival_ms: Percentiles,
    /// Last 201 answer to the last first arrival (0 if everything had arrived by then).
    waited_for_last_delivery_s: f64,
    arrivals: u64,
    extra_tries: u64,
    notifications_tried_more_than_once: u64,
    stray_arrivals: u64,
    receivers: Vec<ReceiverReport>,
    /// Smallest and largest receiver share of the arrivals (K > 1).
    min_share: Option<f64>,
    max_share: Option<f64>,
    server_peak_rss_mib: Option<f64>,
    /// Finished and future notifications put in the database before the run.
    preloaded: u64,
    /// `GET /admin/v1/stats` after the run, one request at a time.
    stats_latency_ms: Percentiles,
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

impl Report {
    fn new(
        args: &BenchArgs,
        measured: &Measured,
        arrivals: &Summary,
        peak_rss_kib: Option<u64>,
    ) -> Self {
        let secs = |from: i64, to: i64| ((to - from).max(0) as f64) / 1e6;
        let accept_s = secs(measured.first_send_us, measured.last_accept_us);
        let last_arrival = if arrivals.last_first_arrival_us > 0 {
            arrivals.last_first_arrival_us
        } else {
            measured.all_arrived_us
        };
        let end_to_end_s = secs(measured.first_send_us, last_arrival);
        let per_s = |s: f64| {
            if s > 0.0 {
                round(args.count as f64 / s, 0)
            } else {
                0.0
            }
        };
        let total: u64 = arrivals.receivers.iter().map(|r| r.arrivals).sum();
        let receivers: Vec<ReceiverReport> = arrivals
            .receivers
            .iter()
            .map(|r| ReceiverReport {
                port: r.port,
                arrivals: r.arrivals,
                share: round(r.arrivals as f64 / total.max(1) as f64, 4),
                last_arrival_s: round(secs(measured.first_send_us, r.last_arrival_us), 3),
            })
            .collect();
        let shares = || receivers.iter().map(|r| r.share);
        let several = receivers.len() > 1;
        Self {
            mode: "through-api",
            backend: args.backend.clone(),
            count: args.count,
            connections: args.connections,
            batch: args.batch,
            rate: (args.rate > 0).then_some(args.rate),
            hosts: args.hosts,
            requests: measured.requests,
            accept_s: round(accept_s, 3),
            accepts_per_s: per_s(accept_s),
            api_latency_ms: Percentiles::of(&measured.api_latencies_us),
            send_lag_ms: (args.rate > 0).then(|| Percentiles::of(&measured.lag_us)),
            end_to_end_s: round(end_to_end_s, 3),
            deliveries_per_s: per_s(end_to_end_s),
            enqueue_to_arrival_ms: Percentiles::of(&arrivals.latencies_us),
            waited_for_last_delivery_s: round(secs(measured.last_accept_us, last_arrival), 3),
            arrivals: arrivals.arrivals,
            extra_tries: arrivals.extra_tries,
            notifications_tried_more_than_once: arrivals.repeated,
            stray_arrivals: arrivals.stray,
            min_share: several.then(|| shares().fold(f64::INFINITY, f64::min)),
            max_share: several.then(|| shares().fold(0.0, f64::max)),
            receivers,
            server_peak_rss_mib: peak_rss_kib.map(|kib| round(kib as f64 / 1024.0, 1)),
            preloaded: args.preload,
            stats_latency_ms: Percentiles::of(&measured.stats_latencies_us),
        }
    }

    fn print(&self) {
        let ms = |p: &Percentiles| {
            format!(
                "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                p.p50, p.p99, p.max
            )
        };
        println!("mode:                     through-api (child `serve`, default settings)");
        println!("backend:                  {}", self.backend);
        println!("count:                    {}", self.count);
        println!("connections:              {}", self.connections);
        println!("batch:                    {}", self.batch);
        match self.rate {
            Some(rate) => println!("rate:                     {rate}/s (open loop)"),
            None => println!("rate:                     unpaced"),
        }
        println!("hosts:                    {}", self.hosts);
        println!("requests:                 {}", self.requests);
        println!(
            "accepts/s:                {:.0} ({} in {:.2} s, first POST to last 201)",
            self.accepts_per_s, self.count, self.accept_s
        );
        println!(
            "API latency:              {} (per request{})",
            ms(&self.api_latency_ms),
            if self.rate.is_some() {
                ", from its intended send time"
            } else {
                ""
            }
        );
        if let Some(lag) = &self.send_lag_ms {
            println!(
                "send lag:                 {} (behind the schedule)",
                ms(lag)
            );
        }
        println!(
            "deliveries/s end to end:  {:.0} ({:.2} s, first POST to last first arrival)",
            self.deliveries_per_s, self.end_to_end_s
        );
        println!(
            "enqueue to arrival:       {} (body on the wire to first arrival)",
            ms(&self.enqueue_to_arrival_ms)
        );
        println!(
            "waited for last delivery: {:.2} s after the last 201",
            self.waited_for_last_delivery_s
        );
        println!(
            "extra tries:              {} ({} notifications arrived more than once; {} arrivals in all)",
            self.extra_tries, self.notifications_tried_more_than_once, self.arrivals
        );
        if self.stray_arrivals > 0 {
            println!("stray arrivals:           {}", self.stray_arrivals);
        }
        for (i, receiver) in self.receivers.iter().enumerate() {
            println!(
                "receiver {:<3} arrivals:    {} ({:.2} %, port {}, last at {:.2} s)",
                i + 1,
                receiver.arrivals,
                receiver.share * 100.0,
                receiver.port,
                receiver.last_arrival_s
            );
        }
        if let (Some(min), Some(max)) = (self.min_share, self.max_share) {
            println!(
                "fairness:                 min share {:.2} %, max share {:.2} % (even: {:.2} %)",
                min * 100.0,
                max * 100.0,
                100.0 / self.receivers.len() as f64
            );
        }
        println!(
            "stats latency:            {} (GET /admin/v1/stats after the run; {} finished + {} future preloaded)",
            ms(&self.stats_latency_ms),
            self.preloaded,
            self.preloaded
        );
        match self.server_peak_rss_mib {
            Some(mib) => println!("server peak RSS:          {mib:.1} MiB"),
            None => println!("server peak RSS:          unknown"),
        }
    }
}
