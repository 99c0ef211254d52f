//! The dispatcher loop's lanes: the caps a try needs (a global permit and a slot of its
//! host), the delivery tasks, and the claimed notifications waiting for their host's
//! slot, in a queue that keeps its host's count of waiting claims itself, so the two
//! cannot drift apart.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

use super::hosts::{HostSlot, HostSlots};
use super::recorder::Done;
use super::trier::Trier;
use super::Wakeup;
use crate::clock::Clock;
use crate::outbox::Claimed;

/// Everything a delivery task needs, shared.
pub(super) struct Shared {
    pub trier: Trier,
    pub results: mpsc::Sender<Done>,
    /// Woken whenever a permit or a host slot is returned.
    pub freed: Wakeup,
}

/// Claimed (leased) notifications not yet started, oldest first, each counted against
/// its host's places to wait ([`HostSlots`]) exactly while it is in the queue.
pub(super) struct Waiting {
    jobs: VecDeque<Claimed>,
    hosts: HostSlots,
}

impl Waiting {
    pub fn new(hosts: HostSlots) -> Self {
        Self {
            jobs: VecDeque::new(),
            hosts,
        }
    }

    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Queues `job` at the back if its host has a place left to wait; else gives it back.
    #[must_use = "a job that cannot wait must be handed back"]
    pub fn push(&mut self, job: Claimed) -> Option<Claimed> {
        if self.hosts.queue(&job.notification.destination.host) {
            self.jobs.push_back(job);
            None
        } else {
            Some(job)
        }
    }

    /// Takes the oldest waiting job out of the queue and its host's count.
    fn pop_front(&mut self) -> Option<Claimed> {
        let job = self.jobs.pop_front()?;
        self.hosts.unqueue(&job.notification.destination.host);
        Some(job)
    }

    /// Empties the queue, returning each job's `(id, lease_token)` to hand back.
    pub fn drain_leases(&mut self) -> Vec<(i64, i64)> {
        std::iter::from_fn(|| self.pop_front())
            .map(|job| (job.notification.id, job.lease_token))
            .collect()
    }
}

/// The dispatcher loop's running state.
pub(super) struct Lanes {
    pub permits: Arc<Semaphore>,
    pub hosts: HostSlots,
    pub tracker: TaskTracker,
    pub shared: Arc<Shared>,
    /// At most a host's places to wait per host (none when the lease is too short to
    /// wait under).
    pub waiting: Waiting,
    /// A waiting notification starts only while its lease (by the service clock) still
    /// has this much left: a whole try and a margin.
    pub lease_needed: chrono::Duration,
    pub clock: Clock,
    /// Once cancelled, nothing more starts.
    pub shutdown: CancellationToken,
}

impl Lanes {
    /// Starts a try of `job` if a permit and a slot of its host are free; else gives the
    /// job back. The permit is taken first: a slot taken and given back would wake the
    /// loop for nothing.
    pub fn try_start(&self, job: Claimed) -> Option<Claimed> {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            return Some(job);
        };
        let Some(slot) = self.hosts.try_take(&job.notification.destination.host) else {
            return Some(job);
        };
        let permit = PermitGuard {
            permit: Some(permit),
            freed: self.shared.freed.clone(),
        };
        self.tracker
            .spawn(deliver(job, self.shared.clone(), permit, slot));
        None
    }

    /// Whether a waiting `job`'s lease, by the service clock, still covers a whole try.
    fn lease_covers_a_try(&self, job: &Claimed) -> bool {
        job.notification
            .due_at
            .is_some_and(|lease_end| self.clock.now() + self.lease_needed < lease_end)
    }

    /// Starts what waits, oldest first, as far as permits and host slots allow, in one
    /// turn through the queue in place (it runs on every freed slot, so it neither
    /// allocates nor reorders what stays). Returns the leases of what waited so long its
    /// lease no longer covers a try, for the caller to hand back. Starts nothing once
    /// shutdown has begun.
    pub fn start_waiting(&mut self) -> Vec<(i64, i64)> {
        let mut expired = Vec::new();
        if self.shutdown.is_cancelled() {
            return expired;
        }
        for _ in 0..self.waiting.len() {
            let Some(job) = self.waiting.pop_front() else {
                break;
            };
            if !self.lease_covers_a_try(&job) {
                expired.push((job.notification.id, job.lease_token));
                continue;
            }
            if let Some(job) = self.try_start(job) {
                // It was in the queue a moment ago, so its host has the place back.
                if let Some(job) = self.waiting.push(job) {
                    expired.push((job.notification.id, job.lease_token));
                }
            }
        }
        expired
    }
}

/// A global permit that wakes the dispatcher once it is back in the semaphore (waking
/// first would let the dispatcher look, find no permit, and sleep through the release).
struct PermitGuard {
    permit: Option<OwnedSemaphorePermit>,
    freed: Wakeup,
}

impl Drop for PermitGuard {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.freed.wake();
    }
}

async fn deliver(job: Claimed, shared: Arc<Shared>, permit: PermitGuard, slot: HostSlot) {
    let done = shared.trier.try_once(&job).instrument(try_span(&job)).await;
    drop(slot);
    // The permit is held until the result is queued, so a recorder that falls behind
    // slows claiming instead of piling up results. The recorder outlives every delivery
    // task; if it crashed, the lease expires and the try runs again.
    let _ = shared.results.send(done).await;
    drop(permit);
}

/// The span of one try: every log line of the try carries the notification's id, kind,
/// tenant, attempt number and host.
pub(super) fn try_span(job: &Claimed) -> tracing::Span {
    let notification = &job.notification;
    tracing::info_span!(
        "try",
        notification_id = notification.id,
        kind = %notification.kind,
        tenant = notification.tenant.as_deref().unwrap_or(""),
        attempt = notification.attempts + 1,
        host = %notification.destination.host,
    )
}
