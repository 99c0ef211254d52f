//! What the platform would do with the answers of a check, in the words of the check's
//! notice family: a contract notice is delivered by HTTP 200 alone, a payment-result
//! notice by HTTP 200 with an answer containing `SUCCESS`, and each family's re-sends
//! and stakes are its own.

use super::catalogue::{CheckSpec, Expect, Family};
use super::judge::Judged;
use super::probe::Exchange;
use super::Settings;

/// What the platform would do with the answers of a check.
pub fn platform_effect(spec: &CheckSpec, judged: &Judged, settings: &Settings) -> String {
    let exchanges = &judged.exchanges;
    let delivered = |e: &Exchange| match spec.family {
        Family::Contract => e.answer.is_ok(),
        Family::Payment => e.answer.says_success(),
    };
    let all_delivered = exchanges.iter().all(delivered);
    // A refusal check may send controls that should be delivered; its verdict says
    // whether something that should have been refused was acknowledged.
    let acknowledged_a_forgery = !judged.passed && exchanges.iter().any(delivered);
    let more = settings.max_attempts.saturating_sub(1);
    let (rule, what, stake) = match spec.family {
        Family::Contract => ("an HTTP 200", "the contract state", "a contract's state"),
        Family::Payment => (
            "HTTP 200 with an answer containing SUCCESS",
            "the payment result",
            "an order's payment",
        ),
    };
    match spec.expect {
        Expect::Accept if all_delivered => {
            format!("the platform counts {rule} as delivered and sends that notice no more")
        }
        Expect::Accept if exchanges.iter().any(|e| e.answer.is_redirect()) => format!(
            "the platform does not follow redirects: it treats the 3xx as a failure and sends the notice again, up to {more} more times with growing intervals, then gives up"
        ),
        Expect::Accept => format!(
            "the platform counts only {rule} as delivered: it sends the notice again, up to {more} more times with growing intervals, then gives up; {what} never reaches you"
        ),
        Expect::Refuse if acknowledged_a_forgery => format!(
            "the platform never sends such a notice, so acknowledging it can only answer someone else: your system would take their word for {stake}"
        ),
        Expect::Refuse => {
            "the platform never sends such a notice; refusing it costs nothing and keeps forged or replayed states out"
                .to_owned()
        }
    }
}
