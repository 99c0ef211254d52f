//! Delivery: the worker pool that turns outbox rows into HTTP tries.
//!
//! - [`dispatcher`]: claims due work with a lease and runs tries under concurrency caps.
//! - [`hosts`]: the per-host in-flight cap.
//! - `lanes`: the loop's caps and tasks, and the claims waiting for their host, queued
//!   with their per-host counts.
//! - [`trier`]: one try of a claimed notification, from signing to its next step.
//! - [`sender`]: one HTTP try and its classification.
//! - [`signing`]: per-try headers, plugged in by each notice family.
//! - [`recorder`]: writes finished tries back in batches.
//!
//! Wake-ups ([`Wakeup`]) tell the loop of new work, from this process or (relayed from
//! `LISTEN`) from other instances.
//!
//! What a try leads to is decided by [`crate::policy`]; delivery only carries it out.

mod claims;
pub mod dispatcher;
pub mod hosts;
mod idle;
mod lanes;
pub mod recorder;
pub mod sender;
pub mod signing;
pub mod trier;

pub use dispatcher::{Dispatcher, DispatcherConfig, StepOutcome};
pub use signing::{Signer, Signers};

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::outbox::Store;

/// Wakes the dispatcher when work may have become due: an enqueue, a redelivery, a
/// recorded retry. A wake-up that finds nothing costs one query; a missed one would cost
/// a poll interval, so callers signal freely.
///
/// A wake-up may say which hosts the new work is for ([`Wakeup::wake_for`]): a dispatcher
/// waiting for a busy host's slots then need not claim for work it could not start.
#[derive(Clone, Default)]
pub struct Wakeup(Arc<WakeupInner>);

#[derive(Default)]
struct WakeupInner {
    notify: Notify,
    news: Mutex<News>,
}

/// What became due since the dispatcher last looked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum News {
    #[default]
    Nothing,
    /// New work only for these hosts.
    Hosts(HashSet<String>),
    /// Work of any host.
    Anything,
}

impl Wakeup {
    /// Work of any host may be due.
    pub fn wake(&self) {
        *self.news() = News::Anything;
        self.0.notify.notify_one();
    }

    /// New work for these hosts is due.
    pub fn wake_for<'a>(&self, hosts: impl IntoIterator<Item = &'a str>) {
        {
            let mut news = self.news();
            if let News::Nothing = *news {
                *news = News::Hosts(HashSet::new());
            }
            if let News::Hosts(known) = &mut *news {
                for host in hosts {
                    if !known.contains(host) {
                        known.insert(host.to_owned());
                    }
                }
            }
        }
        self.0.notify.notify_one();
    }

    pub async fn woken(&self) {
        self.0.notify.notified().await;
    }

    /// Takes what became due since the last call.
    pub fn take_news(&self) -> News {
        std::mem::take(&mut *self.news())
    }

    fn news(&self) -> std::sync::MutexGuard<'_, News> {
        self.0
            .news
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Turns `LISTEN` notifications from other instances into local wake-ups.
pub(crate) async fn relay_remote_wakeups(
    store: Arc<dyn Store>,
    wakeup: Wakeup,
    shutdown: CancellationToken,
) {
    let mut delay = Duration::from_millis(100);
    loop {
        tokio::select! {
            result = store.wait_for_remote_wakeup() => match result {
                Ok(()) => {
                    delay = Duration::from_millis(100);
                    wakeup.wake();
                }
                Err(error) => {
                    tracing::debug!(error = format!("{error:#}"), "wake-up listener failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                    // Something may have been missed while the listener was down.
                    wakeup.wake();
                }
            },
            _ = shutdown.cancelled() => return,
        }
    }
}
