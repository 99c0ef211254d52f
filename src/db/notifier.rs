//! PostgreSQL's "work is due" signal to other instances, sent after the commit that made
//! the work due and coalesced: one `NOTIFY` per [`SPACING`] at most, whatever the number
//! of transactions, since a `NOTIFY` in every group commit cost about 7 % of the
//! throughput (docs/performance.md).
//!
//! The signal is a hint: it only wakes other instances sooner. A signal lost (the process
//! dies between the commit and the `NOTIFY`, or the `NOTIFY` fails) delays other
//! instances until their next poll and loses nothing; this instance's own dispatcher is
//! woken directly.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::PgPool;
use tokio::sync::Notify;

use super::pool::{NOTIFY_DUE, WAKEUP_CHANNEL};

/// The shortest time between two signals; what commits meanwhile shares the next one.
const SPACING: Duration = Duration::from_millis(10);

/// Sends the signal for the transactions that ask for it. Cheap to clone; the task that
/// sends stops once the last clone is dropped.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    wake: Arc<Notify>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Wakes the task to find it has nothing left to send for.
        self.wake.notify_one();
    }
}

impl Notifier {
    /// Starts the sending task on the current runtime.
    pub fn start(pool: PgPool) -> Self {
        let wake = Arc::new(Notify::new());
        let inner = Arc::new(Inner {
            pool,
            wake: wake.clone(),
        });
        tokio::spawn(send(Arc::downgrade(&inner), wake));
        Self { inner }
    }

    /// Asks for a signal once what the caller committed is visible: within [`SPACING`]
    /// and a round trip. Requests made before a signal is sent share it.
    pub fn signal(&self) {
        self.inner.wake.notify_one();
    }
}

async fn send(inner: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        wake.notified().await;
        // The pool is held only while a signal is sent, so dropping the last notifier
        // lets the pool close.
        let Some(pool) = inner.upgrade().map(|inner| inner.pool.clone()) else {
            return;
        };
        if pool.is_closed() {
            return;
        }
        if let Err(error) = sqlx::query(NOTIFY_DUE)
            .bind(WAKEUP_CHANNEL)
            .execute(&pool)
            .await
        {
            tracing::warn!(
                error = format!("{error:#}"),
                "telling other instances of due work failed; they find it at their next poll"
            );
        }
        drop(pool);
        tokio::time::sleep(SPACING).await;
    }
}
