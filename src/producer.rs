//! The one door into the outbox: the admin API and every notice family enqueue through
//! [`Producer`] (or, inside a transaction of their own, through [`enqueue_in`] and its
//! [`Receipt`]), and move stored notifications by it; it counts what was accepted and
//! wakes the dispatcher. It carries the egress guard, so every producer can refuse a
//! destination when it is given.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::db::Tx;
use crate::delivery::Wakeup;
use crate::egress::EgressGuard;
use crate::metrics::Metrics;
use crate::outbox::{
    ActionOutcome, AdminAction, Enqueued, NewNotification, ReplayFilter, Replayed, Status, Store,
    REPLAY_LIMIT,
};

/// Cheap to clone.
#[derive(Clone)]
pub struct Producer {
    pub store: Arc<dyn Store>,
    pub metrics: Metrics,
    pub wakeup: Wakeup,
    pub clock: Clock,
    /// Which destinations may be given: producers refuse the others when a URL comes in
    /// (delivery checks again when it connects).
    pub egress: EgressGuard,
}

/// Notifications written inside a caller's transaction. Nothing counts them or wakes the
/// dispatcher for them until [`Producer::accepted`] takes the receipt, which the caller
/// does once its transaction has committed; a rolled-back transaction drops it unused.
#[must_use = "hand the receipt to Producer::accepted once the transaction commits"]
#[derive(Debug)]
pub struct Receipt {
    ids: Vec<i64>,
    created: usize,
}

/// Enqueues notifications inside the caller's transaction `tx`, all or nothing with the
/// caller's own writes. The receipt goes to [`Producer::accepted`] after the commit.
pub async fn enqueue_in(
    tx: &mut Tx,
    batch: Vec<NewNotification>,
    now: DateTime<Utc>,
) -> anyhow::Result<Receipt> {
    let enqueued = crate::outbox::insert::enqueue_in(tx, &batch, now).await?;
    Ok(Receipt {
        created: enqueued.iter().filter(|e| e.created).count(),
        ids: enqueued.into_iter().map(|e| e.notification.id).collect(),
    })
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

    /// Takes the receipt of a committed [`enqueue_in`]: counts the notifications it
    /// created and wakes the dispatcher for them. Returns their ids.
    pub fn accepted(&self, receipt: Receipt) -> Vec<i64> {
        if receipt.created > 0 {
            self.metrics.enqueued.inc_by(receipt.created as u64);
            self.wakeup.wake();
        }
        receipt.ids
    }

    /// Sends one more copy of notification `id`, as the platform's re-sends do: the same
    /// URL and bytes, a new outbox entry with tries of its own (signed afresh on each).
    /// `None` if there is no such notification.
    pub async fn duplicate(&self, id: i64) -> anyhow::Result<Option<Enqueued>> {
        let Some(original) = self.store.get(id).await? else {
            return Ok(None);
        };
        let copy = NewNotification {
            destination: original.destination,
            success: original.success,
            body: original.body,
            content_type: original.content_type,
            headers: original.headers,
            policy: original.policy,
            idempotency_key: None,
            tenant: original.tenant,
            subject: original.subject,
            kind: original.kind,
        };
        self.enqueue(copy).await.map(Some)
    }

    /// Moves notification `id` by hand (redeliver, deliver now, cancel), counting a
    /// cancellation and waking the dispatcher for what became due.
    pub async fn act(&self, id: i64, action: AdminAction) -> anyhow::Result<ActionOutcome> {
        let outcome = self.store.act(id, action, self.clock.now()).await?;
        if let ActionOutcome::Done(_) = &outcome {
            match action {
                AdminAction::Cancel => self.metrics.record_finished(Status::Cancelled),
                AdminAction::Redeliver | AdminAction::DeliverNow => self.wakeup.wake(),
            }
        }
        Ok(outcome)
    }

    /// Redelivers (a new round of tries) the oldest [`REPLAY_LIMIT`] notifications
    /// `filter` matches, and wakes the dispatcher for them.
    pub async fn redeliver_matching(&self, filter: &ReplayFilter) -> anyhow::Result<Replayed> {
        let replayed = self
            .store
            .redeliver_matching(filter, REPLAY_LIMIT, self.clock.now())
            .await?;
        if replayed.redelivered > 0 {
            self.wakeup.wake();
        }
        Ok(replayed)
    }
}
