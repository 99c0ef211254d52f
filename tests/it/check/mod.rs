//! The conformance check of merchant handlers: the contract-notice checks, the
//! payment-notice checks, the CLI, and runs started from the sandbox.

mod cli;
mod contract;
mod payment;
mod runs;
