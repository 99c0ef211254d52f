//! The outbox's admin API: its contract for notifications, its OpenAPI description, and
//! the metrics it exports.

mod admin_api;
mod metrics;
mod openapi;
mod replay;
