//! The report of a `--through-api` run: the figures from what the driver measured and
//! what the receivers saw, printed as text or as one JSON object.

use std::time::Duration;

use serde::Serialize;

use super::api::Measured;
use super::receiver::Summary;
use super::{percentile, BenchArgs};

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
pub(super) struct Report {
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
    pub(super) fn new(
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

    pub(super) fn print(&self) {
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
