//! Trigger fixtures: each sends the notice its name says through the real simulation,
//! bad requests are refused without writing anything, and the CLI fires and lists them.

mod cli;
mod fixtures;
mod refusals;
