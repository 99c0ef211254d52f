//! Writes finished tries back to the outbox, many per transaction.
//!
//! Tries finish one by one; committing each alone would make the commit rate the ceiling
//! of the whole service. The recorder takes whatever has queued up since its last commit
//! and writes it in one transaction, so the batch grows with the load. Outcome metrics
//! (`finished_total`, delivery latency) are counted here, for the results the store
//! actually applied.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument as _;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Wakeup;
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::outbox::{AttemptRecord, NextStep, Status, Store};

/// The most results written in one transaction.
const MAX_BATCH: usize = 512;

/// A finished piece of work for the recorder.
#[derive(Debug)]
pub enum Done {
    /// A try ran; record it and apply its transition.
    Attempt {
        record: AttemptRecord,
        /// When the notification was enqueued, for the delivery latency.
        created_at: DateTime<Utc>,
    },
    /// No try ran (shutdown stopped it, or its request could not be prepared); hand the
    /// lease back so the notification is due at `due_at`.
    HandBack {
        id: i64,
        lease_token: i64,
        due_at: DateTime<Utc>,
    },
}

pub struct Recorder {
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    pub metrics: Metrics,
    /// Woken after retries are recorded: one may be due sooner than the dispatcher planned.
    pub wakeup: Wakeup,
    /// Once cancelled, a failing write is given up sooner so shutdown cannot hang.
    pub shutdown: CancellationToken,
}

impl Recorder {
    pub async fn run(self, mut results: mpsc::Receiver<Done>) {
        let mut buffer = Vec::with_capacity(MAX_BATCH);
        while results.recv_many(&mut buffer, MAX_BATCH).await > 0 {
            let span = tracing::debug_span!("record_batch", results = buffer.len());
            self.write(buffer.drain(..)).instrument(span).await;
        }
    }

    /// Writes a batch of finished work: every try in one transaction, then the hand-backs.
    pub async fn write(&self, batch: impl IntoIterator<Item = Done>) {
        let mut attempts = Vec::new();
        let mut created = Vec::new();
        let mut hand_backs: Vec<(DateTime<Utc>, (i64, i64))> = Vec::new();
        for done in batch {
            match done {
                Done::Attempt { record, created_at } => {
                    attempts.push(record);
                    created.push(created_at);
                }
                Done::HandBack {
                    id,
                    lease_token,
                    due_at,
                } => hand_backs.push((due_at, (id, lease_token))),
            }
        }
        if !attempts.is_empty() {
            let applied = self
                .persist("record tries", || {
                    self.store.record(&attempts, self.clock.now())
                })
                .await;
            if let Some(applied) = applied {
                self.count(&attempts, &created, &applied);
            }
            if attempts
                .iter()
                .any(|a| matches!(a.next, NextStep::RetryAt(_)))
            {
                self.wakeup.wake();
            }
        }
        for (due_at, lease) in hand_backs {
            let leases = [lease];
            self.persist("hand back a lease", || {
                self.store.release(&leases, due_at, self.clock.now())
            })
            .await;
        }
    }

    fn count(&self, attempts: &[AttemptRecord], created: &[DateTime<Utc>], applied: &[i64]) {
        let applied: HashSet<i64> = applied.iter().copied().collect();
        for (record, created_at) in attempts.iter().zip(created) {
            if !applied.contains(&record.notification_id) {
                continue;
            }
            match record.next {
                NextStep::Delivered => {
                    self.metrics.record_finished(Status::Delivered);
                    let latency = (self.clock.now() - *created_at)
                        .to_std()
                        .unwrap_or_default();
                    self.metrics.delivery_latency.observe(latency.as_secs_f64());
                }
                NextStep::Exhausted => self.metrics.record_finished(Status::Failed),
                NextStep::RetryAt(_) => {}
            }
        }
    }

    /// Retries a write with bounded backoff: for a few minutes normally, for a few seconds
    /// once shutdown has begun. Results that cannot be written are dropped: their leases
    /// expire and the tries run again, which the merchant sees as a duplicate, never as a
    /// loss.
    async fn persist<T, F, Fut>(&self, what: &str, mut write: F) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<T>>,
    {
        let mut delay = Duration::from_millis(50);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match write().await {
                Ok(value) => return Some(value),
                Err(error) => {
                    let limit = if self.shutdown.is_cancelled() { 3 } else { 20 };
                    if attempt >= limit {
                        tracing::error!(
                            error = format!("{error:#}"),
                            "gave up trying to {what}; the leases will expire and the tries run again"
                        );
                        return None;
                    }
                    tracing::warn!(
                        error = format!("{error:#}"),
                        attempt,
                        "failed to {what}; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(15));
                }
            }
        }
    }
}
