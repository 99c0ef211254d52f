//! Delivery: the worker pool that turns outbox rows into HTTP tries.
//!
//! - [`dispatcher`]: claims due work with a lease and runs tries under concurrency caps.
//! - [`hosts`]: the per-host in-flight cap.
//! - [`sender`]: one HTTP try and its classification.
//! - [`signing`]: per-try headers, plugged in by each notice family.
//! - [`recorder`]: writes finished tries back in batches.
//!
//! What a try leads to is decided by [`crate::policy`]; delivery only carries it out.

pub mod dispatcher;
pub mod hosts;
pub mod recorder;
pub mod sender;
pub mod signing;

pub use dispatcher::{Dispatcher, DispatcherConfig, StepOutcome};
pub use signing::{Signer, Signers};

use std::sync::Arc;

use tokio::sync::Notify;

/// Wakes the dispatcher when work may have become due: an enqueue, a redelivery, a
/// recorded retry. A wake-up that finds nothing costs one query; a missed one would cost
/// a poll interval, so callers signal freely.
#[derive(Clone, Default)]
pub struct Wakeup(Arc<Notify>);

impl Wakeup {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    pub async fn woken(&self) {
        self.0.notified().await;
    }
}
