//! ums-notify: a sandbox of the ChinaUMS open platform's notification center.
//!
//! A notification is accepted into an outbox table ([`store`]), claimed with a lease by
//! the worker pool ([`delivery`]), POSTed to the merchant with the same bytes on every try
//! and retried on a schedule until HTTP 200 or the tries run out. The admin API ([`api`])
//! drives it; [`metrics`] watches it.

pub mod api;
pub mod bench;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod duration;
pub mod metrics;
pub mod platform;
pub mod receiver;
pub mod startup;
pub mod store;
pub mod telemetry;
