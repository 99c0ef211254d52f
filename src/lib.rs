//! ums-notify: a sandbox of the ChinaUMS open platform's notification center.
//!
//! Producers (the admin API, the platform's notice families in [`platform`]) enqueue
//! notifications through [`producer`] into an outbox table ([`store`]); the worker pool
//! ([`delivery`]) claims them with a lease, POSTs the same bytes on every try and records
//! what [`policy`] decides: delivered on HTTP 200, another try later, or failed once the
//! tries run out. The admin API ([`api`]) drives it; [`metrics`] watches it; [`egress`]
//! decides which addresses the sandbox may send to; [`limits`] keeps callers to their
//! request budgets; [`relay`] sends a relay-mode merchant's tries down its live
//! `ums-notify listen` session.

pub mod access;
pub mod admin;
pub mod bench;
pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod db;
pub mod delivery;
pub mod duration;
pub mod egress;
pub mod limits;
pub mod metrics;
pub mod outbox;
pub mod platform;
pub mod policy;
pub mod producer;
pub mod receiver;
pub mod relay;
pub mod startup;
pub mod telemetry;
