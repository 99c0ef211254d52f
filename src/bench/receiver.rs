//! The benches' built-in merchant receivers: K axum servers on distinct loopback ports
//! that answer 200 at once and record, per notification, how many tries arrived, when
//! the first one did, and the send time its body carries (`{"seq": N, "sent_us": T}`).
//!
//! Recording is lock-free: one slot per sequence number, preallocated.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::now_us;

/// What a bench notification's body says about itself. Other fields are ignored.
#[derive(Deserialize)]
struct Probe {
    seq: u64,
    sent_us: i64,
}

/// Arrivals at all receivers, by sequence number.
pub struct Arrivals {
    tries: Box<[AtomicU32]>,
    first_arrival_us: Box<[AtomicI64]>,
    sent_us: Box<[AtomicI64]>,
    distinct: AtomicU64,
    stray: AtomicU64,
    per_receiver: Box<[AtomicU64]>,
    last_arrival_per_receiver_us: Box<[AtomicI64]>,
}

/// One receiver's share of the arrivals.
#[derive(Debug, Clone)]
pub struct ReceiverCount {
    pub port: u16,
    pub arrivals: u64,
    /// Its last arrival, microseconds since the epoch (0 if none).
    pub last_arrival_us: i64,
}

/// Arrivals once the run is over.
#[derive(Debug, Clone)]
pub struct Summary {
    /// First arrival minus the body's send time, per notification that arrived, sorted.
    pub latencies_us: Vec<u64>,
    /// The latest first arrival (the moment everything had arrived once).
    pub last_first_arrival_us: i64,
    /// Every arrival with a bench body, extra tries included.
    pub arrivals: u64,
    /// Arrivals beyond one per notification.
    pub extra_tries: u64,
    /// Notifications that arrived more than once.
    pub repeated: u64,
    /// Arrivals whose body was not a bench body or whose seq was out of range.
    pub stray: u64,
    pub receivers: Vec<ReceiverCount>,
}

fn zeroed<T>(len: usize, zero: impl Fn() -> T) -> Box<[T]> {
    (0..len).map(|_| zero()).collect()
}

impl Arrivals {
    fn new(count: u64, receivers: usize) -> Self {
        let count = count as usize;
        Self {
            tries: zeroed(count, || AtomicU32::new(0)),
            first_arrival_us: zeroed(count, || AtomicI64::new(0)),
            sent_us: zeroed(count, || AtomicI64::new(0)),
            distinct: AtomicU64::new(0),
            stray: AtomicU64::new(0),
            per_receiver: zeroed(receivers, || AtomicU64::new(0)),
            last_arrival_per_receiver_us: zeroed(receivers, || AtomicI64::new(0)),
        }
    }

    fn record(&self, receiver: usize, body: &[u8]) {
        let now = now_us();
        let slot = serde_json::from_slice::<Probe>(body)
            .ok()
            .and_then(|probe| Some((usize::try_from(probe.seq).ok()?, probe.sent_us)))
            .filter(|(seq, _)| *seq < self.tries.len());
        let Some((seq, sent_us)) = slot else {
            self.stray.fetch_add(1, Ordering::Relaxed);
            return;
        };
        self.per_receiver[receiver].fetch_add(1, Ordering::Relaxed);
        self.last_arrival_per_receiver_us[receiver].fetch_max(now, Ordering::Relaxed);
        if self.tries[seq].fetch_add(1, Ordering::Relaxed) == 0 {
            self.first_arrival_us[seq].store(now, Ordering::Relaxed);
            self.sent_us[seq].store(sent_us, Ordering::Relaxed);
            // Release: whoever sees the count sees the stores above.
            self.distinct.fetch_add(1, Ordering::Release);
        }
    }

    /// Notifications that arrived at least once.
    pub fn distinct(&self) -> u64 {
        self.distinct.load(Ordering::Acquire)
    }

    fn summary(&self, ports: &[u16]) -> Summary {
        // Acquire: pairs with the Release in `record`.
        let _ = self.distinct();
        let mut latencies_us = Vec::with_capacity(self.tries.len());
        let mut last_first_arrival_us = 0;
        let (mut arrivals, mut extra_tries, mut repeated) = (0, 0, 0);
        for seq in 0..self.tries.len() {
            let tries = u64::from(self.tries[seq].load(Ordering::Relaxed));
            if tries == 0 {
                continue;
            }
            arrivals += tries;
            if tries > 1 {
                extra_tries += tries - 1;
                repeated += 1;
            }
            let first = self.first_arrival_us[seq].load(Ordering::Relaxed);
            let sent = self.sent_us[seq].load(Ordering::Relaxed);
            latencies_us.push((first - sent).max(0) as u64);
            last_first_arrival_us = last_first_arrival_us.max(first);
        }
        latencies_us.sort_unstable();
        Summary {
            latencies_us,
            last_first_arrival_us,
            arrivals,
            extra_tries,
            repeated,
            stray: self.stray.load(Ordering::Relaxed),
            receivers: ports
                .iter()
                .enumerate()
                .map(|(i, &port)| ReceiverCount {
                    port,
                    arrivals: self.per_receiver[i].load(Ordering::Relaxed),
                    last_arrival_us: self.last_arrival_per_receiver_us[i].load(Ordering::Relaxed),
                })
                .collect(),
        }
    }
}

async fn receive(
    State((arrivals, index)): State<(Arc<Arrivals>, usize)>,
    body: Bytes,
) -> &'static str {
    arrivals.record(index, &body);
    "SUCCESS"
}

/// Running receivers: `urls[i]` is receiver i's notify URL.
pub struct Receivers {
    pub urls: Vec<String>,
    ports: Vec<u16>,
    arrivals: Arc<Arrivals>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<std::io::Result<()>>>,
}

impl Receivers {
    /// Starts `k` receivers for notifications numbered `0..count`.
    pub async fn start(k: usize, count: u64) -> anyhow::Result<Self> {
        let k = k.max(1);
        let arrivals = Arc::new(Arrivals::new(count, k));
        let stop = CancellationToken::new();
        let (mut urls, mut ports, mut tasks) = (Vec::new(), Vec::new(), Vec::new());
        for index in 0..k {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let address = listener.local_addr()?;
            urls.push(format!("http://{address}/notify"));
            ports.push(address.port());
            let app = Router::new()
                .route("/notify", post(receive))
                .with_state((arrivals.clone(), index));
            let stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await
            }));
        }
        Ok(Self {
            urls,
            ports,
            arrivals,
            stop,
            tasks,
        })
    }

    pub fn arrivals(&self) -> &Arrivals {
        &self.arrivals
    }

    /// Stops the receivers (waiting at most a few seconds for open connections) and
    /// summarises what arrived.
    pub async fn stop(self) -> anyhow::Result<Summary> {
        self.stop.cancel();
        for task in self.tasks {
            match tokio::time::timeout(Duration::from_secs(5), task).await {
                Ok(joined) => joined??,
                Err(_) => tracing::warn!("a bench receiver did not stop within 5s"),
            }
        }
        Ok(self.arrivals.summary(&self.ports))
    }
}
