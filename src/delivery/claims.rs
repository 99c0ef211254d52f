//! One claim round of the dispatcher loop: sizing the claim for the room its hosts will
//! have when it lands, starting what waits while the claim waits for its write, and
//! placing what it brought (started, waiting, or handed back).

use super::dispatcher::Dispatcher;
use super::lanes::Lanes;
use crate::outbox::ClaimRequest;

/// What a claim round found.
pub(super) enum Round {
    /// The claim was full: more may be due at once.
    Busy,
    /// Everything due was claimed or is held back by these hosts' caps.
    Idle {
        blocked_hosts: Vec<String>,
        claimed: usize,
    },
    /// The store failed.
    Failed,
}

impl Dispatcher {
    /// Claims what is due within the room of the permits and the hosts, and starts or
    /// queues what it brought.
    pub(super) async fn claim_round(&self, lanes: &mut Lanes) -> Round {
        self.start_waiting(lanes).await;
        // Claims take no more than the free permits: an instance with every permit taken
        // claims nothing, and leaves new work to others. Within them, a busy host's next
        // batch may be claimed ahead and wait for its slots.
        let free = lanes.permits.available_permits();
        if free == 0 {
            return Round::Busy;
        }
        // What became due before this claim, this claim sees.
        self.wakeup.take_news();
        let room = lanes.hosts.room(self.host_refill());
        let request = ClaimRequest {
            now: self.clock.now(),
            limit: free.min(256) as u32,
            lease: self.config.lease,
            exclude_hosts: room.crowded,
            exclude_tenants: self.held_elsewhere().await,
            per_host: room.per_host as u32,
        };
        // While the claim waits for its write, what waits claimed starts as slots free: a
        // fast host works off its places in a fraction of a claim's round trip, and the
        // claim was sized for the places free when it lands.
        let asked = std::time::Instant::now();
        let answer = {
            let mut claim = std::pin::pin!(self.store.claim(&request));
            let freed = lanes.shared.freed.clone();
            loop {
                tokio::select! {
                    answer = &mut claim => break answer,
                    _ = freed.woken(), if !lanes.waiting.is_empty() => {
                        self.start_waiting(lanes).await;
                    }
                }
            }
        };
        let claimed = match answer {
            Ok(claimed) => {
                lanes.hosts.claim_took(asked.elapsed());
                self.metrics.database_ready.set(1);
                claimed
            }
            Err(error) => {
                self.metrics.database_ready.set(0);
                tracing::warn!(
                    error = format!("{error:#}"),
                    "claiming due notifications failed"
                );
                return Round::Failed;
            }
        };
        let count = claimed.len();
        let full = count as u32 == request.limit;
        // The claim took no more of a host than it expects the host to have room for when
        // the claim lands (slots and places to wait), no more than the free permits, and
        // only this loop takes either: what cannot start at once waits for its host's
        // slot. When the host's pace misled the estimate, what can neither start nor wait
        // goes back, and the host's pace is forgotten.
        // Slots freed while the claim ran go to what waited longest first.
        self.start_waiting(lanes).await;
        let mut handed_back = Vec::new();
        for job in claimed {
            let Some(job) = (if lanes.waiting.is_empty() && !lanes.shutdown.is_cancelled() {
                lanes.try_start(job)
            } else {
                Some(job)
            }) else {
                continue;
            };
            if let Some(job) = lanes.waiting.push(job) {
                lanes.hosts.forget_pace(&job.notification.destination.host);
                handed_back.push((job.notification.id, job.lease_token));
            }
        }
        if !lanes.waiting.is_empty() {
            self.start_waiting(lanes).await;
        }
        if !handed_back.is_empty() {
            let now = self.clock.now();
            if let Err(error) = self.store.release(&handed_back, now, now).await {
                // The leases expire on their own; the tries are only delayed.
                tracing::warn!(error = format!("{error:#}"), "handing back claims failed");
            }
        }
        // A host left out of the claim, or that used its room in it, is capped: its work
        // waits for its slots.
        let mut blocked_hosts = request.exclude_hosts;
        for host in lanes.hosts.room(self.host_refill()).crowded {
            if !blocked_hosts.contains(&host) {
                blocked_hosts.push(host);
            }
        }
        if full && handed_back.is_empty() {
            Round::Busy
        } else {
            Round::Idle {
                blocked_hosts,
                claimed: count,
            }
        }
    }
}
