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

use super::receiver::Receivers;
use super::report::Report;
use super::server::Server;
use super::{now_us, BenchArgs, TempDatabase};

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
pub(super) struct Measured {
    pub(super) requests: u64,
    pub(super) first_send_us: i64,
    pub(super) last_accept_us: i64,
    pub(super) api_latencies_us: Vec<u64>,
    pub(super) lag_us: Vec<u64>,
    /// When every notification had arrived once, by the bench's own poll.
    pub(super) all_arrived_us: i64,
    /// `GET /admin/v1/stats`, one at a time, once the run is over.
    pub(super) stats_latencies_us: Vec<u64>,
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
