//! The outbox: enqueueing one notification or a batch, the status counts kept with it, the
//! store's leases and retention, crash safety, and upgrades of its schema.

mod batch;
mod counts;
mod crash;
mod store;
mod upgrade;
mod wakeups;
