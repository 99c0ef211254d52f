//! Delivery: the dispatcher's semantics, the retry schedule, claims ahead for busy hosts,
//! the success rule, per-try signing, the pace of a backlog, and several instances
//! sharing one outbox.

mod cluster;
mod dispatcher;
mod logs;
mod lookahead;
mod pace;
mod schedule;
mod signing;
mod success;
