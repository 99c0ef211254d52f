//! Request budgets: the rate limiter that refuses a caller's requests over its budget
//! (a GCRA limiter from `governor`, keyed by the caller's identity, such as an appId).
//!
//! Each caller has a [`Budget`] (a steady rate and a burst); callers that share a budget
//! share one keyed limiter, in which each caller has its own state. A caller whose budget
//! changes is checked against the limiter of its new budget from its next request on,
//! starting with a full burst. The state is in memory: a restart forgets it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use prometheus::IntCounter;

/// The steady rate a caller with no budget of its own may send, per second.
pub const DEFAULT_PER_SECOND: u32 = 50;
/// The burst a caller with no budget of its own may send at once.
pub const DEFAULT_BURST: u32 = 100;
/// The largest rate and the largest burst an operator can give a caller.
pub const MAX_BUDGET: u32 = 10_000;

/// How many requests a caller may send: `per_second` steadily, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Budget {
    per_second: NonZeroU32,
    burst: NonZeroU32,
}

impl Budget {
    /// The budget of a caller; `None` parts take the defaults, and a zero is read as 1.
    pub fn of(per_second: Option<u32>, burst: Option<u32>) -> Self {
        let positive = |value: u32| NonZeroU32::new(value).unwrap_or(NonZeroU32::MIN);
        Self {
            per_second: positive(per_second.unwrap_or(DEFAULT_PER_SECOND)),
            burst: positive(burst.unwrap_or(DEFAULT_BURST)),
        }
    }

    pub fn per_second(self) -> u32 {
        self.per_second.get()
    }

    pub fn burst(self) -> u32 {
        self.burst.get()
    }

    fn quota(self) -> Quota {
        Quota::per_second(self.per_second).allow_burst(self.burst)
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self::of(None, None)
    }
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests per second, bursts of up to {}",
            self.per_second, self.burst
        )
    }
}

/// A request refused for being over its caller's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget {
    pub budget: Budget,
    /// When the next request may pass: whole seconds, at least 1 (for `Retry-After`).
    pub retry_after_secs: u64,
}

/// The limiter of one API: a keyed limiter for each budget in use. Cheap to share.
pub struct RateLimits {
    limiters: Mutex<HashMap<Budget, Arc<Limiter>>>,
    clock: SandboxClock,
    /// Counts the refused requests (of this API, never per caller).
    refused: IntCounter,
}

/// A keyed limiter on the sandbox's clock.
type Limiter = RateLimiter<String, DashMapStateStore<String>, SandboxClock, NoOpMiddleware<Nanos>>;

/// The sandbox's clock as the limiters read it: a budget refills as the sandbox's time
/// passes, so a fixed clock (the tests') holds every budget where it is.
#[derive(Clone)]
struct SandboxClock(crate::clock::Clock);

impl governor::clock::Clock for SandboxClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let nanos = self.0.now().timestamp_nanos_opt().unwrap_or(0).max(0);
        Nanos::from(u64::try_from(nanos).unwrap_or(0))
    }
}

impl RateLimits {
    /// A limiter whose refusals are counted by `refused`.
    pub fn new(refused: IntCounter, clock: crate::clock::Clock) -> Self {
        Self {
            limiters: Mutex::new(HashMap::new()),
            clock: SandboxClock(clock),
            refused,
        }
    }

    /// Spends one request of `key`'s budget, or refuses it when none is left.
    pub fn check(&self, key: &str, budget: Budget) -> Result<(), OverBudget> {
        let limiter = self.limiter(budget);
        match limiter.check_key(&key.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                self.refused.inc();
                let wait = not_until.wait_time_from(self.clock.now());
                Err(OverBudget {
                    budget,
                    retry_after_secs: whole_seconds(wait),
                })
            }
        }
    }

    fn limiter(&self, budget: Budget) -> Arc<Limiter> {
        // The map only ever gains complete entries, so a poisoned lock is still usable.
        let mut limiters = self
            .limiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        limiters
            .entry(budget)
            .or_insert_with(|| {
                Arc::new(RateLimiter::dashmap_with_clock(
                    budget.quota(),
                    self.clock.clone(),
                ))
            })
            .clone()
    }
}

/// `wait` rounded up to whole seconds, at least 1.
fn whole_seconds(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> RateLimits {
        RateLimits::new(
            IntCounter::new("refused", "refused").unwrap(),
            crate::clock::Clock::system(),
        )
    }

    #[test]
    fn a_caller_over_its_burst_is_refused_and_others_are_not() {
        let limits = limits();
        let tight = Budget::of(Some(1), Some(2));
        assert!(limits.check("a", tight).is_ok());
        assert!(limits.check("a", tight).is_ok());
        let refused = limits.check("a", tight).unwrap_err();
        assert_eq!(refused.budget, tight);
        assert_eq!(refused.retry_after_secs, 1);
        assert!(limits.check("b", tight).is_ok());
        assert_eq!(limits.refused.get(), 1);
    }

    #[test]
    fn a_changed_budget_applies_to_the_next_request() {
        let limits = limits();
        let tight = Budget::of(Some(1), Some(1));
        assert!(limits.check("a", tight).is_ok());
        assert!(limits.check("a", tight).is_err());
        assert!(limits.check("a", Budget::default()).is_ok());
    }

    #[test]
    fn defaults_and_rounding() {
        let budget = Budget::default();
        assert_eq!((budget.per_second(), budget.burst()), (50, 100));
        assert_eq!(Budget::of(Some(0), Some(0)), Budget::of(Some(1), Some(1)));
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(3)), 3);
    }
}
