//! The integration tests, one binary: each module is one area, run against the real
//! server on port 0, a real database (SQLite, and PostgreSQL when reachable) and a real
//! HTTP receiver. `common` is the harness.

#[macro_use]
mod common;

mod admin_api;
mod batch;
mod check;
mod check_payment;
mod cluster;
mod console;
mod console_browser;
mod counts;
mod crash;
mod delivery;
mod lookahead;
mod metrics;
mod netpay;
mod openapi;
mod orders;
mod pace;
mod payment_notices;
mod payment_sign;
mod platform;
mod platform_admin;
mod platform_auth;
mod platform_fields;
mod platform_store;
mod schedule;
mod signing;
mod success;
mod upgrade;
