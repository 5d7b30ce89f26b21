//! Where verifiers read the time: the system clock, or a manual clock that tests move by hand
//! (token expiry, cache lifetimes and JWKS refresh schedules can then be tested without sleeping).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The time source of a verifier, a [`Jwks`](super::Jwks) or an introspection cache.
///
/// [`Clock::system`] (the default) reads the system clock for token time claims and a monotonic
/// clock for schedules. [`ManualClock`] stands still until moved, for tests.
///
/// ```
/// use std::time::Duration;
/// use mcp_rbac::verify::{Clock, ManualClock};
///
/// let manual = ManualClock::new(1_900_000_000);
/// let clock: Clock = manual.clock();
/// assert_eq!(clock.unix_seconds(), 1_900_000_000);
/// manual.advance(Duration::from_secs(90));
/// assert_eq!(clock.unix_seconds(), 1_900_000_090);
/// ```
#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicU64>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.manual {
            None => f.write_str("Clock::system"),
            Some(ms) => write!(f, "Clock::manual({} ms)", ms.load(Ordering::SeqCst)),
        }
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock::default()
    }

    /// Seconds since the epoch, what `exp` and `nbf` count in (0 before 1970).
    pub fn unix_seconds(&self) -> i64 {
        match &self.manual {
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .unwrap_or(0),
            Some(ms) => i64::try_from(ms.load(Ordering::SeqCst) / 1000).unwrap_or(i64::MAX),
        }
    }

    /// A monotonic reading, for schedules (refresh intervals, cache lifetimes): only
    /// differences between two readings of the same clock mean anything.
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) fn monotonic(&self) -> Duration {
        match &self.manual {
            None => {
                static ORIGIN: OnceLock<Instant> = OnceLock::new();
                ORIGIN.get_or_init(Instant::now).elapsed()
            }
            Some(ms) => Duration::from_millis(ms.load(Ordering::SeqCst)),
        }
    }
}

/// A clock that moves only when told to: give [`ManualClock::clock`] to the builders under
/// test, then [`advance`](ManualClock::advance) it instead of sleeping.
#[derive(Clone, Debug)]
pub struct ManualClock {
    ms: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock showing `unix_seconds` seconds since the epoch.
    pub fn new(unix_seconds: u64) -> Self {
        ManualClock {
            ms: Arc::new(AtomicU64::new(unix_seconds.saturating_mul(1000))),
        }
    }

    /// The clock to hand to a builder; it follows this one.
    pub fn clock(&self) -> Clock {
        Clock {
            manual: Some(self.ms.clone()),
        }
    }

    /// Moves the time forward by `by` (millisecond resolution).
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clocks_move_only_when_advanced() {
        let manual = ManualClock::new(100);
        let clock = manual.clock();
        let before = clock.monotonic();
        assert_eq!(clock.unix_seconds(), 100);
        manual.advance(Duration::from_millis(1500));
        assert_eq!(clock.unix_seconds(), 101);
        assert_eq!(clock.monotonic() - before, Duration::from_millis(1500));
        let system = Clock::system();
        assert!(system.unix_seconds() > 1_700_000_000);
    }
}
