//! Delivery: the worker pool that turns outbox rows into HTTP tries.
//!
//! - [`schedule`]: the retry policy as data.
//! - [`sender`]: one HTTP try and its classification.
//! - [`dispatcher`]: claims due work with a lease and runs tries under concurrency caps.
//! - [`recorder`]: writes finished tries back in batches.

pub mod dispatcher;
pub mod hosts;
pub mod recorder;
pub mod schedule;
pub mod sender;

pub use dispatcher::{Dispatcher, DispatcherConfig, Signer};

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
