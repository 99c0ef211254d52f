//! The delivery policy, below both the outbox and the dispatcher: a notification's
//! statuses, where it goes ([`Destination`]), how often it is tried ([`RetryPolicy`]) and
//! what a try leads to ([`NextStep`] and its [`Transition`]). Pure data and pure
//! functions; [`crate::outbox`] and [`crate::delivery`] both build on it.

pub mod destination;
pub mod schedule;
pub mod success;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use destination::{Destination, DestinationError};
pub use schedule::{RetrySchedule, ScheduleError};
pub use success::{BodyMatch, SuccessRule};

/// The platform's promise: at most ten sends of one notification.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

/// The upper bound on tries accepted from configuration or the API.
pub const MAX_ATTEMPTS_LIMIT: u32 = 100;

/// Where a notification is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for its first or next try (`due_at` says when).
    Pending,
    /// Claimed by a worker whose lease runs until `due_at`.
    Delivering,
    /// A try got HTTP 200.
    Delivered,
    /// Every try of the round failed.
    Failed,
    /// Cancelled through the admin API.
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::Delivering,
        Status::Delivered,
        Status::Failed,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Delivering => "delivering",
            Status::Delivered => "delivered",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Status::Delivered | Status::Failed | Status::Cancelled)
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                format!("unknown status {s:?}; expected one of pending, delivering, delivered, failed, cancelled")
            })
    }
}

/// How many tries a notification gets and how long it waits between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per round, the first included.
    pub max_attempts: u32,
    pub schedule: RetrySchedule,
}

impl Default for RetryPolicy {
    /// The platform's: ten tries over about four hours.
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            schedule: RetrySchedule::default(),
        }
    }
}

impl RetryPolicy {
    /// What a try leads to, given the tries already made in this round.
    pub fn next_step(
        &self,
        success: bool,
        round_attempts_before: u32,
        now: DateTime<Utc>,
    ) -> NextStep {
        let tried = round_attempts_before + 1;
        if success {
            NextStep::Delivered
        } else if tried >= self.max_attempts {
            NextStep::Exhausted
        } else {
            let delay = self.schedule.delay_after(tried);
            NextStep::RetryAt(now + chrono::Duration::from_std(delay).unwrap_or_default())
        }
    }
}

/// What a notification becomes after a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    RetryAt(DateTime<Utc>),
    Exhausted,
}

/// The columns a step writes: the new status, the next due time while one is still to
/// come, and the finish time once none is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub status: Status,
    pub due_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl NextStep {
    /// The row's transition when the step is recorded at `now`.
    pub fn transition(self, now: DateTime<Utc>) -> Transition {
        let (status, due_at, finished_at) = match self {
            NextStep::Delivered => (Status::Delivered, None, Some(now)),
            NextStep::Exhausted => (Status::Failed, None, Some(now)),
            NextStep::RetryAt(at) => (Status::Pending, Some(at), None),
        };
        Transition {
            status,
            due_at,
            finished_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_step_follows_the_schedule_and_stops_at_max() {
        let policy = |max_attempts| RetryPolicy {
            max_attempts,
            schedule: RetrySchedule::parse("1s,10s").unwrap(),
        };
        let now = DateTime::<Utc>::default();
        assert_eq!(policy(10).next_step(true, 0, now), NextStep::Delivered);
        assert_eq!(
            policy(10).next_step(false, 0, now),
            NextStep::RetryAt(now + chrono::Duration::seconds(1))
        );
        assert_eq!(
            policy(10).next_step(false, 5, now),
            NextStep::RetryAt(now + chrono::Duration::seconds(10))
        );
        assert_eq!(policy(10).next_step(false, 9, now), NextStep::Exhausted);
        assert_eq!(policy(1).next_step(false, 0, now), NextStep::Exhausted);
    }

    #[test]
    fn transitions_keep_due_at_exactly_while_unfinished() {
        let now = DateTime::<Utc>::default();
        let later = now + chrono::Duration::seconds(5);
        for step in [
            NextStep::Delivered,
            NextStep::Exhausted,
            NextStep::RetryAt(later),
        ] {
            let t = step.transition(now);
            assert_eq!(t.due_at.is_some(), !t.status.is_finished(), "{step:?}");
            assert_eq!(t.finished_at.is_some(), t.status.is_finished(), "{step:?}");
        }
        assert_eq!(NextStep::RetryAt(later).transition(now).due_at, Some(later));
    }

    #[test]
    fn statuses_parse_back() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        assert!("done".parse::<Status>().is_err());
    }
}
