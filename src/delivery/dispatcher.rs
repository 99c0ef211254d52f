//! The dispatcher: claims due notifications with a lease and runs their tries.
//!
//! Each claim is one short write (on SQLite, committed in the writer cycle with whatever
//! else waited for the writer); the HTTP call happens after it has committed, with no
//! transaction or pooled connection held. Results go to the recorder. Concurrency is
//! capped in total (a semaphore whose permits live in the delivery tasks) and per host.
//! A busy host's next batch is claimed while its slots are still taken: it waits, leased,
//! and starts the moment a slot frees, so a claim's round trip does not idle the host;
//! while a claim waits for its write, what waits claimed keeps starting.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

use super::claims::Round;
use super::hosts::HostSlots;
use super::lanes::{try_span, Lanes, Shared, Waiting};
use super::recorder::Recorder;
use super::sender::Sender;
use super::signing::Signers;
use super::trier::Trier;
use super::Wakeup;
use crate::clock::Clock;
use crate::egress::EgressGuard;
use crate::metrics::Metrics;
use crate::outbox::{ClaimRequest, Store};

#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// Tries in flight at once, in total.
    pub concurrency: usize,
    /// Tries in flight at once against one host.
    pub per_host: usize,
    /// How long a claim is valid; must exceed the request timeout.
    pub lease: Duration,
    /// Timeout of one HTTP try.
    pub request_timeout: Duration,
    /// The longest the dispatcher sleeps without looking at the outbox.
    pub poll_interval: Duration,
    /// On shutdown, how long in-flight tries may take to finish.
    pub shutdown_grace: Duration,
    /// Which addresses tries may connect to.
    pub egress: EgressGuard,
}

pub struct Dispatcher {
    pub store: Arc<dyn Store>,
    pub metrics: Metrics,
    pub clock: Clock,
    pub wakeup: Wakeup,
    pub config: DispatcherConfig,
    pub signers: Signers,
    /// The HTTP client, built once: its connections are reused across tries and steps.
    sender: Sender,
    /// The relay sessions, to leave to another instance the merchants it holds them for.
    relay: Option<crate::relay::Relay>,
}

/// What a waiting notification's lease must have left, beyond the request timeout, to
/// start: time for signing and for the clocks of instances to differ a little.
const LEASE_MARGIN: Duration = Duration::from_secs(2);

/// What one [`Dispatcher::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepOutcome {
    /// Notifications claimed and tried (or handed back) in this step.
    pub tried: usize,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn Store>,
        metrics: Metrics,
        clock: Clock,
        wakeup: Wakeup,
        config: DispatcherConfig,
        signers: Signers,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            sender: Sender::new(config.request_timeout, &config.egress)?,
            store,
            metrics,
            clock,
            wakeup,
            config,
            signers,
            relay: None,
        })
    }

    /// The tenants this instance claims nothing of: relay-mode merchants whose session
    /// another live instance holds. When the list cannot be read, everything is claimed
    /// (a try then fails `relay_offline` and is retried, as with no session at all).
    pub(super) async fn held_elsewhere(&self) -> Vec<String> {
        let Some(relay) = &self.relay else {
            return Vec::new();
        };
        relay
            .registry()
            .held_elsewhere()
            .await
            .unwrap_or_else(|error| {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "relay sessions of other instances unknown"
                );
                Vec::new()
            })
    }

    /// Sends the tries of relay-mode merchants' notices down their sessions.
    pub fn with_relay(mut self, relay: crate::relay::Relay) -> Self {
        self.sender = self.sender.with_relay(relay.clone());
        self.relay = Some(relay);
        self
    }

    /// Runs until `shutdown` is cancelled, then lets in-flight tries finish within the
    /// grace period, hands back the rest and returns once every result is written.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let config = self.config.clone();
        let (results_tx, results_rx) = mpsc::channel(config.concurrency.max(1) * 2);
        let recorder = tokio::spawn(self.recorder(shutdown.clone()).run(results_rx));
        let freed = Wakeup::default();
        // Each host may have as many claimed notifications waiting as it has slots: they
        // start the moment a slot frees, while the next claim runs. Only when the lease
        // leaves room to wait (twice a try and a margin); otherwise what waited would
        // mostly go back unstarted.
        let ahead = if config.lease >= config.request_timeout * 2 + LEASE_MARGIN {
            config.per_host
        } else {
            0
        };
        let hosts = HostSlots::new(config.per_host, ahead, freed.clone());
        let mut lanes = Lanes {
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            waiting: Waiting::new(hosts.clone()),
            hosts,
            tracker: TaskTracker::new(),
            shared: Arc::new(Shared {
                trier: self.trier(),
                results: results_tx,
                freed: freed.clone(),
            }),
            lease_needed: chrono::Duration::from_std(config.request_timeout + LEASE_MARGIN)
                .unwrap_or(chrono::Duration::MAX),
            clock: self.clock.clone(),
            shutdown: shutdown.clone(),
        };
        let remote = tokio::spawn(super::relay_remote_wakeups(
            self.store.clone(),
            self.wakeup.clone(),
            shutdown.clone(),
        ));

        let refill_at = (config.concurrency / 4).max(1);
        let mut failures = 0u32;
        // Idle rounds in a row that claimed nothing.
        let mut empty = 0u32;
        while !shutdown.is_cancelled() {
            let round = self
                .claim_round(&mut lanes)
                .instrument(tracing::debug_span!("claim_round"))
                .await;
            match round {
                Round::Busy => {
                    failures = 0;
                    empty = 0;
                    // Under load, claim in batches: wait until a quarter of the slots
                    // are free rather than claiming one row per finished try; what
                    // waits claimed starts as slots free.
                    loop {
                        self.start_waiting(&mut lanes).await;
                        if lanes.permits.available_permits() >= refill_at || shutdown.is_cancelled()
                        {
                            break;
                        }
                        tokio::select! {
                            _ = freed.woken() => {}
                            _ = tokio::time::sleep(config.poll_interval) => {}
                            _ = shutdown.cancelled() => {}
                        }
                    }
                }
                Round::Idle {
                    blocked_hosts,
                    claimed,
                } => {
                    failures = 0;
                    empty = if claimed == 0 { empty + 1 } else { 0 };
                    self.wait_idle(empty, &blocked_hosts, &mut lanes, &freed, &shutdown)
                        .await;
                }
                Round::Failed => {
                    failures += 1;
                    let backoff = Duration::from_millis(100 * 2u64.pow(failures.min(7)));
                    let until = tokio::time::Instant::now() + backoff.min(Duration::from_secs(10));
                    // What waits claimed needs no database to start: it starts as slots
                    // free while claims back off.
                    loop {
                        tokio::select! {
                            _ = tokio::time::sleep_until(until) => break,
                            _ = shutdown.cancelled() => break,
                            _ = freed.woken(), if !lanes.waiting.is_empty() => {
                                self.start_waiting(&mut lanes).await;
                            }
                        }
                    }
                }
            }
        }

        tracing::info!(
            inflight = config.concurrency - lanes.permits.available_permits(),
            waiting = lanes.waiting.len(),
            "dispatcher stopping: no new claims; waiting for in-flight tries"
        );
        remote.abort();
        let waiting = lanes.waiting.drain_leases();
        let Lanes {
            tracker, shared, ..
        } = lanes;
        tracker.close();
        if tokio::time::timeout(config.shutdown_grace, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("grace period over: stopping the remaining tries and handing them back");
            shared.trier.hard_stop.cancel();
            tracker.wait().await;
        }
        // Claimed notifications that never started go back, due now.
        if !waiting.is_empty() {
            let now = self.clock.now();
            if let Err(error) = self.store.release(&waiting, now, now).await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "handing back waiting claims failed; their leases expire"
                );
            }
        }
        drop(shared);
        recorder.await?;
        tracing::info!("dispatcher stopped");
        Ok(())
    }

    fn recorder(&self, shutdown: CancellationToken) -> Recorder {
        Recorder {
            store: self.store.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
            wakeup: self.wakeup.clone(),
            shutdown,
        }
    }

    fn trier(&self) -> Trier {
        Trier {
            sender: self.sender.clone(),
            metrics: self.metrics.clone(),
            clock: self.clock.clone(),
            signers: self.signers.clone(),
            hard_stop: CancellationToken::new(),
        }
    }

    /// One deterministic step, without the loop, the caps or any timing: claims what is
    /// due by the clock (up to the concurrency), tries each in turn, and records all the
    /// results in one write. Tests drive the dispatcher with it under a fixed clock.
    pub async fn step(&self) -> anyhow::Result<StepOutcome> {
        let request = ClaimRequest {
            now: self.clock.now(),
            limit: self.config.concurrency.clamp(1, 256) as u32,
            lease: self.config.lease,
            exclude_hosts: Vec::new(),
            exclude_tenants: self.held_elsewhere().await,
            per_host: self.config.concurrency.max(1) as u32,
        };
        let claimed = self.store.claim(&request).await?;
        let trier = self.trier();
        let mut done = Vec::with_capacity(claimed.len());
        for job in &claimed {
            done.push(trier.try_once(job).instrument(try_span(job)).await);
        }
        self.recorder(CancellationToken::new()).write(done).await;
        Ok(StepOutcome {
            tried: claimed.len(),
        })
    }

    /// Free slots a busy host needs before the dispatcher claims for it again: half its
    /// cap, so its work is claimed in batches rather than one row per finished try.
    pub(super) fn host_refill(&self) -> usize {
        (self.config.per_host / 2).max(1)
    }

    /// Starts what waits claimed, oldest first, as far as permits and host slots allow;
    /// hands back what waited so long its lease no longer covers a try. Starts nothing
    /// once shutdown has begun.
    pub(super) async fn start_waiting(&self, lanes: &mut Lanes) {
        let expired = lanes.start_waiting();
        if !expired.is_empty() {
            let now = self.clock.now();
            if let Err(error) = self.store.release(&expired, now, now).await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "handing back stale claims failed"
                );
            }
        }
    }
}
