//! The retry schedule: how long to wait between tries.
//!
//! The schedule is data. Delays are a list; try `n + 1` waits `delays[n - 1]` after try `n`
//! failed, and the last delay repeats when the list is shorter than the tries need.

use std::time::Duration;

use crate::duration::{format_duration, parse_duration_list, DurationError};

/// The default delays between tries: growing from 15 seconds to 2 hours, which spreads the
/// ten tries of the platform over about four hours.
pub const DEFAULT_DELAYS: &str = "15s,30s,1m,2m,5m,10m,30m,1h,2h";

/// An ordered list of delays; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

/// Why a retry schedule was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(transparent)]
    Duration(#[from] DurationError),
    #[error("a retry schedule needs at least one delay")]
    Empty,
    #[error("a retry schedule holds at most {max} delays")]
    TooLong { max: usize },
    #[error("retry delays must be at least 1ms and at most 7d")]
    OutOfRange,
}

impl RetrySchedule {
    const MAX_LEN: usize = 100;
    const MAX_DELAY: Duration = Duration::from_secs(7 * 86_400);

    pub fn new(delays: Vec<Duration>) -> Result<Self, ScheduleError> {
        if delays.is_empty() {
            return Err(ScheduleError::Empty);
        }
        if delays.len() > Self::MAX_LEN {
            return Err(ScheduleError::TooLong { max: Self::MAX_LEN });
        }
        if delays.iter().any(|d| d.is_zero() || *d > Self::MAX_DELAY) {
            return Err(ScheduleError::OutOfRange);
        }
        Ok(Self { delays })
    }

    /// Parses `15s,30s,1m`.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        Self::new(parse_duration_list(text)?)
    }

    /// The wait after the `failed_tries`-th failed try (1-based) before the next one.
    pub fn delay_after(&self, failed_tries: u32) -> Duration {
        let index = (failed_tries.max(1) as usize - 1).min(self.delays.len() - 1);
        self.delays[index]
    }

    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// Delays in milliseconds, the form stored with each notification.
    pub fn to_millis(&self) -> Vec<u64> {
        self.delays.iter().map(|d| d.as_millis() as u64).collect()
    }

    pub fn from_millis(millis: &[u64]) -> Result<Self, ScheduleError> {
        Self::new(millis.iter().copied().map(Duration::from_millis).collect())
    }

    /// Human-readable delays, as the API shows them.
    pub fn to_strings(&self) -> Vec<String> {
        self.delays.iter().copied().map(format_duration).collect()
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::parse(DEFAULT_DELAYS).unwrap_or_else(|_| Self {
            delays: vec![Duration::from_secs(15)],
        })
    }
}

impl std::str::FromStr for RetrySchedule {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl std::fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_strings().join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::DEFAULT_MAX_ATTEMPTS;

    #[test]
    fn default_grows_and_covers_ten_tries() {
        let schedule = RetrySchedule::default();
        let waits: Vec<_> = (1..DEFAULT_MAX_ATTEMPTS)
            .map(|n| schedule.delay_after(n))
            .collect();
        assert_eq!(waits.len(), 9);
        assert!(waits.windows(2).all(|w| w[0] < w[1]), "{waits:?} must grow");
        assert_eq!(waits[0], Duration::from_secs(15));
        assert_eq!(waits[8], Duration::from_secs(7200));
    }

    #[test]
    fn last_delay_repeats() {
        let schedule = RetrySchedule::parse("1s,5s").unwrap();
        assert_eq!(schedule.delay_after(1), Duration::from_secs(1));
        assert_eq!(schedule.delay_after(2), Duration::from_secs(5));
        assert_eq!(schedule.delay_after(9), Duration::from_secs(5));
    }

    #[test]
    fn rejects_empty_zero_and_huge() {
        assert!(RetrySchedule::new(vec![]).is_err());
        assert!(RetrySchedule::parse("0s").is_err());
        assert!(RetrySchedule::parse("8d").is_err());
        assert!(RetrySchedule::parse("1s,,2s").is_err());
    }

    #[test]
    fn round_trips_through_millis_and_text() {
        let schedule = RetrySchedule::parse("250ms,15s,2m").unwrap();
        assert_eq!(
            RetrySchedule::from_millis(&schedule.to_millis()).unwrap(),
            schedule
        );
        assert_eq!(schedule.to_string(), "250ms,15s,2m");
    }
}
