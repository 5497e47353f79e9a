//! The daemon's sense of time, as one value passed to whatever needs it, so
//! that tests can move time forward instead of sleeping.
//!
//! Two readings: [`Clock::now_instant`] (monotonic: liveness, grace periods)
//! and [`Clock::now_utc`] (wall time: stored timestamps, token ages,
//! expiries). [`SystemClock`] reads the real clocks; [`ManualClock`] starts
//! at the real time and moves only when told to.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

/// Where the time comes from.
pub trait Clock: Send + Sync + 'static {
    /// The wall-clock time, for what is stored or shown.
    fn now_utc(&self) -> DateTime<Utc>;
    /// The monotonic time, for what is measured (offline timeouts, grace).
    fn now_instant(&self) -> Instant;
}

/// The clock every part of one daemon shares.
pub type SharedClock = Arc<dyn Clock>;

/// The real clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_utc(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn now_instant(&self) -> Instant {
        Instant::now()
    }
}

/// The real clock, shared.
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock for tests: it reads the moment it was made, plus whatever
/// [`ManualClock::advance`] added since. Both readings move together.
pub struct ManualClock {
    start_instant: Instant,
    start_utc: DateTime<Utc>,
    offset: Mutex<Duration>,
}

impl ManualClock {
    /// A clock standing at the real time of now.
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock {
            start_instant: Instant::now(),
            start_utc: Utc::now(),
            offset: Mutex::new(Duration::ZERO),
        })
    }

    /// Moves both readings forward by `d`.
    pub fn advance(&self, d: Duration) {
        *self.offset.lock() += d;
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now_utc", &self.now_utc())
            .finish()
    }
}

impl Clock for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        let offset = *self.offset.lock();
        self.start_utc + chrono::Duration::from_std(offset).unwrap_or(chrono::Duration::MAX)
    }

    fn now_instant(&self) -> Instant {
        self.start_instant + *self.offset.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let c = ManualClock::new();
        let (i, u) = (c.now_instant(), c.now_utc());
        assert_eq!(c.now_instant(), i);
        assert_eq!(c.now_utc(), u);
        c.advance(Duration::from_secs(90));
        assert_eq!(c.now_instant() - i, Duration::from_secs(90));
        assert_eq!((c.now_utc() - u).num_seconds(), 90);
    }
}
