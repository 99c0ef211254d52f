//! Contracts: the admin API and the state machine, the sign and sign-query fields, the
//! signed contract notices, automatic consent, copies, and what the platform store
//! guarantees when changes race.

mod admin;
mod consent;
mod copies;
mod fields;
mod notices;
mod store;
