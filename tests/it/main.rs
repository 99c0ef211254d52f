//! The integration tests, one binary: each folder is one concept of the source tree, run
//! against the real server on port 0, a real database (SQLite, and PostgreSQL when
//! reachable) and a real HTTP receiver. `common` is the harness and holds every helper the
//! tests share; no test module imports another.

#[macro_use]
mod common;

mod access;
mod admin;
mod check;
mod console;
mod delivery;
mod egress;
mod outbox;
mod platform;
mod relay;
