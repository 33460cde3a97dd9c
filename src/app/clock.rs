//! The time events are recorded at: the wall clock, nudged forward when needed so that event
//! times never run backwards, not even across a restart with the clock set back (audit queries
//! rely on log order being time order). The writer owns one; the domain never reads a clock.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::domain::Timestamp;

/// A clock whose readings strictly increase.
#[derive(Debug)]
pub struct EventClock {
    last: Timestamp,
}

impl EventClock {
    /// A clock whose first reading comes after `last` (the log's last event time; the epoch
    /// for an empty log).
    pub fn after(last: Timestamp) -> Self {
        Self { last }
    }

    /// The wall clock, or one nanosecond after the previous reading if that is later.
    pub fn now(&mut self) -> Timestamp {
        let now = Timestamp::from_unix_nanos(wall_clock_nanos().max(self.last.unix_nanos() + 1));
        self.last = now;
        now
    }
}

/// The system clock in nanoseconds since the Unix epoch (0 before it, saturating far after).
pub(super) fn wall_clock_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_never_run_backwards() {
        let future = Timestamp::from_unix_nanos(i64::MAX - 10);
        let mut clock = EventClock::after(future);
        let first = clock.now();
        assert_eq!(first.unix_nanos(), i64::MAX - 9);
        assert!(clock.now() > first);
        let mut clock = EventClock::after(Timestamp::from_unix_nanos(0));
        let a = clock.now();
        assert!(
            a.unix_nanos() > 1_500_000_000_000_000_000,
            "the wall clock: {a:?}"
        );
        assert!(clock.now() > a);
    }
}
