//! The merchant conformance check: runs the catalogue of checks against a notify URL,
//! each sending real notices signed like the sandbox's own, and judges the answers.
//!
//! - [`catalogue`] — the checks, their levels and expectations;
//! - [`judge`] — how each check is run and judged;
//! - [`probe`] — building, signing and sending one notice, recorded as an exchange;
//! - [`reference`] — the reference handler whose rules the checks expect;
//! - [`report`] — the report and its text, JSON and JUnit renderings;
//! - [`runs`] — runs started from the sandbox, stored with their reports;
//! - [`cli`] — `ums-notify check`, standalone.
//!
//! A check never fails the program: an unreachable URL, a refused connection or a TLS
//! error is that check's result.

pub mod catalogue;
pub mod cli;
pub mod judge;
pub mod probe;
pub mod reference;
pub mod report;
pub mod runs;

use std::time::Duration;

use crate::clock::Clock;
use crate::platform::auth::AppKey;
use crate::policy::DEFAULT_MAX_ATTEMPTS;

pub use catalogue::{CheckSpec, Level, CATALOGUE};
pub use report::{CheckResult, Outcome, Report};

/// The merchant handler a run judges and the credentials its notices are signed with.
#[derive(Debug, Clone)]
pub struct Target {
    pub notify_url: String,
    pub app_id: String,
    pub app_key: AppKey,
    pub mid: String,
}

/// The merchant number notices carry when none is given.
pub const DEFAULT_MID: &str = "898000000000001";

/// How a run is made.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Timeout of one request, as the platform's.
    pub request_timeout: Duration,
    /// Tries the platform makes of one notice, the first included.
    pub max_attempts: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
}

/// A list of check ids that names a check the catalogue does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown check `{unknown}`; the checks are: {}", known_ids().join(", "))]
pub struct UnknownCheck {
    pub unknown: String,
}

/// Every check id, in catalogue order.
pub fn known_ids() -> Vec<&'static str> {
    CATALOGUE.iter().map(|spec| spec.id).collect()
}

/// The checks to run: all of them, or those `only` names, in catalogue order.
pub fn select(only: &[String]) -> Result<Vec<&'static CheckSpec>, UnknownCheck> {
    if let Some(unknown) = only.iter().find(|id| catalogue::spec(id).is_none()) {
        return Err(UnknownCheck {
            unknown: unknown.clone(),
        });
    }
    Ok(CATALOGUE
        .iter()
        .filter(|spec| only.is_empty() || only.iter().any(|id| id == spec.id))
        .collect())
}

/// Runs `checks` one after another against `target`.
pub async fn run(
    target: Target,
    checks: &[&'static CheckSpec],
    settings: &Settings,
    clock: Clock,
) -> anyhow::Result<Report> {
    let started_at = clock.now();
    let probe = probe::Probe::new(target.clone(), settings.request_timeout, clock.clone())?;
    let mut results = Vec::with_capacity(checks.len());
    for spec in checks {
        let judged = judge::run(spec, &probe).await;
        results.push(CheckResult::new(spec, judged, settings));
    }
    Ok(Report::new(&target, started_at, clock.now(), results))
}
