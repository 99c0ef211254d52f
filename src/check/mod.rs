//! The merchant conformance check: runs the catalogue of checks against a notify URL,
//! each sending real notices signed like the sandbox's own, and judges the answers.
//!
//! - [`catalogue`] — the checks, their levels and expectations;
//! - [`judge`] — how each check is run and judged; [`payment`] — the payment-result
//!   notice checks;
//! - [`probe`] — building, signing and sending one notice, recorded as an exchange;
//! - [`reference`] — the reference handler whose rules the checks expect, and
//!   [`reference_payment`] its rules for payment-result notices;
//! - [`report`] — the report and its text, JSON and JUnit renderings;
//! - [`runs`] — runs started from the sandbox, stored with their reports;
//! - [`cli`] — `ums-notify check`, standalone.
//!
//! A check never fails the program: an unreachable URL, a refused connection or a TLS
//! error is that check's result.

pub mod admin;
pub mod catalogue;
pub mod cli;
pub mod effect;
pub mod judge;
pub mod payment;
pub mod payment_cases;
pub mod probe;
pub mod reference;
pub mod reference_payment;
pub mod report;
pub mod runs;

use std::time::Duration;

use crate::clock::Clock;
use crate::egress::EgressGuard;
use crate::platform::auth::AppKey;
use crate::platform::merchants::SignType;
use crate::platform::payments::order::Product;
use crate::policy::DEFAULT_MAX_ATTEMPTS;

pub use catalogue::{CheckSpec, Family, Level, CATALOGUE};
pub use report::{CheckResult, Outcome, Report};

/// The merchant handler a run judges and the credentials its notices are signed with.
#[derive(Debug, Clone)]
pub struct Target {
    pub notify_url: String,
    pub app_id: String,
    pub app_key: AppKey,
    pub mid: String,
    /// What the payment checks need; `None` when only contract checks run.
    pub payment: Option<PaymentTarget>,
}

/// The payment checks' side of a target: the communication key their notices are
/// signed with, and an order the handler knows, which they report paid.
#[derive(Debug, Clone)]
pub struct PaymentTarget {
    pub md5_key: AppKey,
    pub sign_type: SignType,
    pub order: KnownOrder,
}

/// An order the merchant's handler knows: its product, number and amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownOrder {
    pub product: Product,
    /// `merOrderId` or `billNo`.
    pub order_no: String,
    /// In fen.
    pub total_amount: i64,
    /// A bill's `billDate` (`yyyy-MM-dd`); today's when unknown.
    pub bill_date: Option<String>,
}

impl KnownOrder {
    /// Reads `NUMBER=AMOUNT` (the amount in fen), as the command line takes it.
    pub fn parse(product: Product, text: &str) -> Result<Self, String> {
        let (order_no, amount) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?} is not NUMBER=AMOUNT (the amount in fen)"))?;
        let total_amount = amount
            .parse::<i64>()
            .ok()
            .filter(|fen| *fen > 0)
            .ok_or_else(|| format!("{amount:?} is not an amount in fen above zero"))?;
        if order_no.is_empty() || order_no.len() > 32 {
            return Err(format!(
                "{order_no:?} is not an order number of 1 to 32 characters"
            ));
        }
        Ok(Self {
            product,
            order_no: order_no.to_owned(),
            total_amount,
            bill_date: None,
        })
    }
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
    /// Which addresses the checks may send to: the sandbox's guard for runs started
    /// from the sandbox; none for the command line, which runs on the merchant's side.
    pub egress: EgressGuard,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            egress: EgressGuard::any(),
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

/// The checks to run: those of `family`, or those `only` names (of any family), in
/// catalogue order.
pub fn select(only: &[String], family: Family) -> Result<Vec<&'static CheckSpec>, UnknownCheck> {
    if let Some(unknown) = only.iter().find(|id| catalogue::spec(id).is_none()) {
        return Err(UnknownCheck {
            unknown: unknown.clone(),
        });
    }
    Ok(CATALOGUE
        .iter()
        .filter(|spec| {
            if only.is_empty() {
                spec.family == family
            } else {
                only.iter().any(|id| id == spec.id)
            }
        })
        .collect())
}

/// Whether any of `checks` is of `family`.
pub fn needs(checks: &[&CheckSpec], family: Family) -> bool {
    checks.iter().any(|spec| spec.family == family)
}

/// Runs `checks` one after another against `target`, leaving out those that cannot run
/// against it (see [`payment::applies`]); an error when none of them can.
pub async fn run(
    target: Target,
    checks: &[&'static CheckSpec],
    settings: &Settings,
    clock: Clock,
) -> anyhow::Result<Report> {
    let started_at = clock.now();
    let probe = probe::Probe::new(
        target.clone(),
        settings.request_timeout,
        clock.clone(),
        &settings.egress,
    )?;
    let payment = target.payment.as_ref();
    let mut not_applying = Vec::new();
    let runnable: Vec<&CheckSpec> = checks
        .iter()
        .copied()
        .filter(
            |spec| match payment::applies(spec.id, &target.mid, payment) {
                Ok(()) => true,
                Err(why) => {
                    not_applying.push(format!("{}: {why}", spec.id));
                    false
                }
            },
        )
        .collect();
    if runnable.is_empty() && !checks.is_empty() {
        anyhow::bail!(
            "none of the checks asked for can run against this target ({})",
            not_applying.join("; ")
        );
    }
    let mut results = Vec::with_capacity(runnable.len());
    for spec in runnable {
        let judged = judge::run(spec, &probe).await;
        results.push(CheckResult::new(spec, judged, settings));
    }
    Ok(Report::new(&target, started_at, clock.now(), results))
}
