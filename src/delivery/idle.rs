//! How the dispatcher waits when a claim round took everything it could: until work for
//! a host with room arrives, a capped host frees slots, the next due time comes, or
//! shutdown.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::dispatcher::Dispatcher;
use super::lanes::Lanes;
use super::{News, Wakeup};

impl Dispatcher {
    /// Waits after a claim that took everything it could: until work for a host with room
    /// arrives, a capped host frees enough slots, the next due time of a host with room
    /// comes, or shutdown. News of work only for capped hosts does not wake it, and a
    /// freed slot wakes it only once a capped host has room to claim a batch.
    ///
    /// The next due time is asked for in a task of its own and waited for alongside the
    /// rest: a capped host usually frees its slots before the answer comes, and its next
    /// claim should not wait for a query it no longer needs.
    pub(super) async fn wait_idle(
        &self,
        empty_rounds: u32,
        blocked_hosts: &[String],
        lanes: &mut Lanes,
        freed: &Wakeup,
        shutdown: &CancellationToken,
    ) {
        let refill = self.host_refill();
        let capped = !blocked_hosts.is_empty();
        // Slots may have freed while the claim ran.
        if capped && lanes.hosts.any_has_room(blocked_hosts, refill) {
            return;
        }
        let store = self.store.clone();
        let excluded = blocked_hosts.to_vec();
        let mut next_due = tokio::spawn(async move { store.next_due_at(&excluded).await });
        let mut due_known = false;
        let mut deadline = tokio::time::Instant::now() + self.config.poll_interval;
        loop {
            tokio::select! {
                answer = &mut next_due, if !due_known => {
                    due_known = true;
                    let sleep = self.idle_sleep(answer.unwrap_or_else(|e| Err(e.into())), empty_rounds);
                    if sleep.is_zero() {
                        return;
                    }
                    deadline = deadline.min(tokio::time::Instant::now() + sleep);
                }
                _ = self.wakeup.woken() => match self.wakeup.take_news() {
                    News::Hosts(news) if news.iter().all(|h| blocked_hosts.contains(h)) => {}
                    News::Nothing => {}
                    _ => return,
                },
                _ = freed.woken(), if capped || !lanes.waiting.is_empty() => {
                    // A freed slot starts what waits for it before anything is claimed.
                    self.start_waiting(lanes).await;
                    if capped && lanes.hosts.any_has_room(blocked_hosts, refill) {
                        return;
                    }
                }
                _ = tokio::time::sleep_until(deadline) => return,
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// How long to wait when nothing more can be claimed, given the next due time of a
    /// host that has room: until then, at most the poll interval. Work already due there
    /// was left out of a claim that filled up on another host, so it is claimed at once;
    /// if rounds in a row find nothing (another instance holds that work), the wait
    /// doubles from 1 ms until the work is free or the poll interval is reached.
    fn idle_sleep(
        &self,
        next_due: anyhow::Result<Option<DateTime<Utc>>>,
        empty_rounds: u32,
    ) -> Duration {
        match next_due {
            Ok(Some(due)) => match (due - self.clock.now()).to_std() {
                Ok(wait) if !wait.is_zero() => wait.min(self.config.poll_interval),
                _ if empty_rounds == 0 => Duration::ZERO,
                _ => Duration::from_millis(1 << (empty_rounds - 1).min(10))
                    .min(self.config.poll_interval),
            },
            Ok(None) => self.config.poll_interval,
            Err(_) => Duration::from_millis(200),
        }
    }
}
