//! Prometheus metrics: one registry owned by the application, never the global default.
//!
//! Labels stay bounded: outcomes, statuses, methods and route templates only; never a
//! notification id, a URL or a merchant.

use std::time::Duration;

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use crate::outbox::{FailureKind, Stats, Status};

/// Every metric the service exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub enqueued: IntCounter,
    pub attempts: IntCounterVec,
    pub finished: IntCounterVec,
    pub attempt_duration: prometheus::Histogram,
    pub delivery_latency: prometheus::Histogram,
    pub outbox: IntGaugeVec,
    pub oldest_due: Gauge,
    pub inflight: IntGauge,
    pub database_ready: IntGauge,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    /// Requests refused for being over their caller's budget, by API (never by caller).
    pub rate_limited: IntCounterVec,
    /// Requests turned away for their credentials or scope, by surface and reason
    /// (never by caller).
    pub auth_failures: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Self {
        Self::try_new().expect("metric definitions are static and valid")
    }

    fn try_new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let enqueued = IntCounter::new(
            "ums_notify_notifications_enqueued_total",
            "Notifications accepted into the outbox.",
        )?;
        let attempts = IntCounterVec::new(
            Opts::new(
                "ums_notify_attempts_total",
                "Delivery tries by outcome: success, http_status, unexpected_body, timeout, connect, destination_not_allowed, relay_offline, other.",
            ),
            &["outcome"],
        )?;
        let finished = IntCounterVec::new(
            Opts::new(
                "ums_notify_notifications_finished_total",
                "Notifications that reached a final status: delivered, failed, cancelled.",
            ),
            &["status"],
        )?;
        let attempt_duration = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "ums_notify_attempt_duration_seconds",
                "Duration of one delivery try, from request start to the end of the response.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
        )?;
        let delivery_latency = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "ums_notify_delivery_latency_seconds",
                "Time from enqueue to successful delivery, retries included.",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0,
                7200.0, 21600.0,
            ]),
        )?;
        let outbox = IntGaugeVec::new(
            Opts::new(
                "ums_notify_outbox_notifications",
                "Notifications in the outbox by status, read from the database at scrape time.",
            ),
            &["status"],
        )?;
        let oldest_due = Gauge::new(
            "ums_notify_outbox_oldest_due_seconds",
            "How long the oldest due pending notification has waited past its due time.",
        )?;
        let inflight = IntGauge::new(
            "ums_notify_inflight_deliveries",
            "Delivery tries running in this process now.",
        )?;
        let database_ready = IntGauge::new(
            "ums_notify_database_ready",
            "1 when the database answered the last check, 0 otherwise.",
        )?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "ums_notify_http_requests_total",
                "HTTP requests served, by method, matched route template and status code.",
            ),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "ums_notify_http_request_duration_seconds",
                "Time to serve an HTTP request, by method and matched route template.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
            ]),
            &["method", "route"],
        )?;
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "ums_notify_rate_limited_total",
                "Requests answered 429 for being over their caller's budget, by API: platform, admin.",
            ),
            &["api"],
        )?;
        let auth_failures = IntCounterVec::new(
            Opts::new(
                "ums_notify_auth_failures_total",
                "Requests refused for their credentials or scope, by surface (admin, console, platform) and reason: missing_credentials, malformed_credentials, unknown_credentials, forbidden, rate_limited; on the platform API also bad_signature, stale_timestamp, replayed_nonce, other.",
            ),
            &["surface", "reason"],
        )?;
        let build_info = IntGaugeVec::new(
            Opts::new(
                "ums_notify_build_info",
                "Always 1; labelled with the version.",
            ),
            &["version"],
        )?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);

        registry.register(Box::new(enqueued.clone()))?;
        registry.register(Box::new(attempts.clone()))?;
        registry.register(Box::new(finished.clone()))?;
        registry.register(Box::new(attempt_duration.clone()))?;
        registry.register(Box::new(delivery_latency.clone()))?;
        registry.register(Box::new(outbox.clone()))?;
        registry.register(Box::new(oldest_due.clone()))?;
        registry.register(Box::new(inflight.clone()))?;
        registry.register(Box::new(database_ready.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(auth_failures.clone()))?;
        registry.register(Box::new(build_info))?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        // Make every labelled series visible from the first scrape, at zero.
        for outcome in [
            "success",
            "http_status",
            "unexpected_body",
            "timeout",
            "connect",
            "destination_not_allowed",
            "relay_offline",
            "other",
        ] {
            attempts.with_label_values(&[outcome]);
        }
        for status in ["delivered", "failed", "cancelled"] {
            finished.with_label_values(&[status]);
        }
        for status in Status::ALL {
            outbox.with_label_values(&[status.as_str()]);
        }
        rate_limited.with_label_values(&["platform"]);
        rate_limited.with_label_values(&["admin"]);
        for refusal in crate::access::gate::Refusal::ALL {
            auth_failures.with_label_values(&["admin", refusal.label()]);
        }
        auth_failures.with_label_values(&["console", "unknown_credentials"]);
        for reason in crate::platform::http::open::authn::FAILURE_REASONS {
            auth_failures.with_label_values(&["platform", reason]);
        }

        Ok(Self {
            registry,
            enqueued,
            attempts,
            finished,
            attempt_duration,
            delivery_latency,
            outbox,
            oldest_due,
            inflight,
            database_ready,
            http_requests,
            http_duration,
            rate_limited,
            auth_failures,
        })
    }

    pub fn record_attempt(&self, failure: Option<FailureKind>, duration: Duration) {
        let outcome = failure.map_or("success", FailureKind::as_str);
        self.attempts.with_label_values(&[outcome]).inc();
        self.attempt_duration.observe(duration.as_secs_f64());
    }

    pub fn record_finished(&self, status: Status) {
        self.finished.with_label_values(&[status.as_str()]).inc();
    }

    pub fn set_outbox(&self, stats: &Stats) {
        for status in Status::ALL {
            self.outbox
                .with_label_values(&[status.as_str()])
                .set(stats.count(status) as i64);
        }
        self.oldest_due.set(stats.oldest_due_seconds);
    }

    /// The registry in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%error, "failed to encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
