//! The application's notion of "now", injectable so tests can pin or move time.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// The system clock shifted by an offset (zero in production).
    System { offset: chrono::Duration },
    /// A frozen instant that moves only when told to.
    Fixed(DateTime<Utc>),
}

/// A cheap, shared clock handle.
#[derive(Debug, Clone)]
pub struct Clock {
    mode: Arc<Mutex<Mode>>,
}

impl Clock {
    /// The real system clock.
    pub fn system() -> Self {
        Self {
            mode: Arc::new(Mutex::new(Mode::System {
                offset: chrono::Duration::zero(),
            })),
        }
    }

    /// A clock frozen at `at`.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self {
            mode: Arc::new(Mutex::new(Mode::Fixed(at))),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match *self.lock() {
            Mode::System { offset } => Utc::now() + offset,
            Mode::Fixed(at) => at,
        }
    }

    /// Moves the clock forward (or back, with a negative duration) for every holder.
    pub fn advance(&self, by: chrono::Duration) {
        let mut mode = self.lock();
        *mode = match *mode {
            Mode::System { offset } => Mode::System {
                offset: offset + by,
            },
            Mode::Fixed(at) => Mode::Fixed(at + by),
        };
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Mode> {
        // The guarded value is Copy and always valid, so a poisoned lock is still usable.
        self.mode
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_advanced() {
        let start = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::fixed(start);
        assert_eq!(clock.now(), start);
        clock.clone().advance(chrono::Duration::seconds(90));
        assert_eq!(clock.now(), start + chrono::Duration::seconds(90));
    }
}
