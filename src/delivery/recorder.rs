//! Writes finished tries back to the outbox, many per transaction.
//!
//! Tries finish one by one; committing each alone would make the commit rate the ceiling
//! of the whole service. The recorder takes whatever has queued up since its last commit
//! and writes it in one transaction, so the batch grows with the load.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Wakeup;
use crate::clock::Clock;
use crate::store::{AttemptRecord, NextStep, Store};

/// The most results written in one transaction.
const MAX_BATCH: usize = 512;

/// A finished piece of work for the recorder.
#[derive(Debug)]
pub enum Done {
    /// A try ran; record it and apply its transition.
    Attempt(AttemptRecord),
    /// A try was stopped by shutdown before it finished; hand the lease back.
    Abandoned { id: i64, lease_token: i64 },
}

pub async fn run(
    store: Arc<dyn Store>,
    clock: Clock,
    wakeup: Wakeup,
    mut results: mpsc::Receiver<Done>,
) {
    let mut buffer = Vec::with_capacity(MAX_BATCH);
    while results.recv_many(&mut buffer, MAX_BATCH).await > 0 {
        let mut attempts = Vec::with_capacity(buffer.len());
        let mut abandoned = Vec::new();
        for done in buffer.drain(..) {
            match done {
                Done::Attempt(record) => attempts.push(record),
                Done::Abandoned { id, lease_token } => abandoned.push((id, lease_token)),
            }
        }
        if !attempts.is_empty() {
            persist("record tries", || store.record(&attempts, clock.now())).await;
            if attempts
                .iter()
                .any(|a| matches!(a.next, NextStep::RetryAt(_)))
            {
                // A retry may now be due sooner than the dispatcher planned to look.
                wakeup.wake();
            }
        }
        if !abandoned.is_empty() {
            persist("hand back leases", || {
                store.release(&abandoned, clock.now())
            })
            .await;
        }
    }
}

/// Retries a write with bounded backoff. If the database stays away, the results are
/// dropped after a few minutes: the leases then expire and the tries run again, which
/// the merchant sees as a duplicate, never as a loss.
async fn persist<F, Fut>(what: &str, mut write: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=20 {
        match write().await {
            Ok(()) => return,
            Err(error) => {
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
    tracing::error!("gave up trying to {what}; the leases will expire and the tries run again");
}
