//! The producers' door into the outbox: a notice family or the admin API enqueues through
//! it, and it counts what was accepted and wakes the dispatcher.

use std::sync::Arc;

use crate::clock::Clock;
use crate::delivery::Wakeup;
use crate::metrics::Metrics;
use crate::store::{Enqueued, NewNotification, Store};

/// Cheap to clone.
#[derive(Clone)]
pub struct Producer {
    pub store: Arc<dyn Store>,
    pub metrics: Metrics,
    pub wakeup: Wakeup,
    pub clock: Clock,
}

impl Producer {
    /// Enqueues one notification in its own transaction.
    pub async fn enqueue(&self, new: NewNotification) -> anyhow::Result<Enqueued> {
        let enqueued = self.store.enqueue(new, self.clock.now()).await?;
        self.created(std::slice::from_ref(&enqueued));
        Ok(enqueued)
    }

    /// Enqueues notifications all or nothing, in one transaction.
    pub async fn enqueue_many(&self, batch: Vec<NewNotification>) -> anyhow::Result<Vec<Enqueued>> {
        let enqueued = self.store.enqueue_many(batch, self.clock.now()).await?;
        self.created(&enqueued);
        Ok(enqueued)
    }

    /// Counts the new ones and wakes the dispatcher for their hosts.
    fn created(&self, enqueued: &[Enqueued]) {
        let created = enqueued.iter().filter(|e| e.created);
        let count = created.clone().count();
        if count > 0 {
            self.metrics.enqueued.inc_by(count as u64);
            self.wakeup
                .wake_for(created.map(|e| e.notification.destination.host.as_str()));
        }
    }

    /// Counts `count` notifications a producer committed in its own transaction
    /// (with [`crate::store::outbox::enqueue_in`]) and wakes the dispatcher for them.
    pub fn accepted(&self, count: usize) {
        if count > 0 {
            self.metrics.enqueued.inc_by(count as u64);
            self.wakeup.wake();
        }
    }
}
