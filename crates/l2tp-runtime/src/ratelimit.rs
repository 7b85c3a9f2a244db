//! Rate limiting for log lines that wire input can trigger.
//!
//! A peer (or anyone who can reach the UDP port) decides how often "malformed datagram" or
//! "datagram for an unknown tunnel" happens; one log line per datagram would let it turn
//! packets into disk writes and journal pressure. A [`RateLimit`] per cause lets the first
//! few through, counts the rest, and reports the count with the next line it lets through:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use l2tp_runtime::ratelimit::RateLimit;
//!
//! // At most 10 lines per 5 seconds.
//! let mut malformed_log = RateLimit::new(10, Duration::from_secs(5));
//! let from = "192.0.2.1:1701";
//! if let Some(suppressed) = malformed_log.check(Instant::now()) {
//!     tracing::warn!(%from, suppressed, "malformed datagram dropped");
//! }
//! ```
//!
//! The type reads no clock: the caller passes `now`, so tests (and sans-IO code that keeps
//! its own notion of time) drive it with explicit [`Instant`]s.

use std::time::{Duration, Instant};

/// Lets at most `burst` events through per `period`, then counts the rest; the first event let
/// through after that reports how many were suppressed.
///
/// Windows are fixed, not sliding: a window opens at the first event after the previous one
/// has expired and lasts `period`. So in the worst case `2 * burst` events pass within one
/// `period` (the end of one window and the start of the next), and nothing is ever lost
/// silently: every suppressed event is counted in the next report.
#[derive(Debug, Clone)]
pub struct RateLimit {
    /// Events let through per window (at least 1).
    burst: u32,
    /// Length of a window.
    period: Duration,
    /// When the current window opened; `None` before the first event.
    window_start: Option<Instant>,
    /// Events let through in the current window.
    passed: u32,
    /// Events suppressed since the last report.
    suppressed: u64,
}

impl RateLimit {
    /// A limiter letting `burst` events through per `period`. A `burst` of 0 is taken as 1
    /// (a limiter that never reports would hide its suppressed count forever); a zero
    /// `period` lets every event through.
    pub const fn new(burst: u32, period: Duration) -> Self {
        RateLimit {
            burst: if burst == 0 { 1 } else { burst },
            period,
            window_start: None,
            passed: 0,
            suppressed: 0,
        }
    }

    /// Records one event at `now`. Returns `Some(n)` if it may be logged now, where `n` is the
    /// number of events suppressed since the last `Some` (usually 0); returns `None` if it is
    /// suppressed (and counted).
    ///
    /// A `now` earlier than the current window's start (a caller that captured its instant
    /// before another caller's) counts as inside that window.
    pub fn check(&mut self, now: Instant) -> Option<u64> {
        let in_window = match self.window_start {
            Some(start) => now.saturating_duration_since(start) < self.period,
            None => false,
        };
        if !in_window {
            self.window_start = Some(now);
            self.passed = 0;
        }
        if self.passed < self.burst {
            self.passed += 1;
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
            None
        }
    }

    /// Events suppressed since the last report, not yet reported (for a final line at
    /// shutdown, say).
    pub fn pending(&self) -> u64 {
        self.suppressed
    }

    /// Events let through per window.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// Length of a window.
    pub fn period(&self) -> Duration {
        self.period
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn burst_passes_then_the_rest_is_counted_and_reported_once() {
        let t0 = Instant::now();
        let mut rl = RateLimit::new(3, 10 * SEC);
        // The burst passes, reporting nothing suppressed.
        for i in 0..3 {
            assert_eq!(rl.check(t0 + i * SEC), Some(0), "event {i}");
        }
        // The rest of the window is suppressed and counted.
        for i in 0..5 {
            assert_eq!(rl.check(t0 + 3 * SEC + i * SEC / 10), None);
        }
        assert_eq!(rl.pending(), 5);
        assert_eq!(rl.check(t0 + 10 * SEC - Duration::from_nanos(1)), None);
        assert_eq!(rl.pending(), 6);
        // The first event of the next window reports the count, once.
        assert_eq!(rl.check(t0 + 10 * SEC), Some(6));
        assert_eq!(rl.pending(), 0);
        assert_eq!(rl.check(t0 + 10 * SEC), Some(0));
        assert_eq!(rl.check(t0 + 11 * SEC), Some(0));
        // The new window has its own burst: 3 passed in it, the 4th is suppressed.
        assert_eq!(rl.check(t0 + 12 * SEC), None);
        assert_eq!(rl.check(t0 + 20 * SEC), Some(1));
    }

    #[test]
    fn a_window_opens_at_the_first_event_after_a_quiet_spell() {
        let t0 = Instant::now();
        let mut rl = RateLimit::new(1, SEC);
        assert_eq!(rl.check(t0), Some(0));
        assert_eq!(rl.check(t0 + SEC / 2), None);
        // Long quiet: the next event opens a window at its own time, not at t0 + k * period.
        let t1 = t0 + 100 * SEC + SEC / 2;
        assert_eq!(rl.check(t1), Some(1));
        assert_eq!(rl.check(t1 + SEC - Duration::from_nanos(1)), None);
        assert_eq!(rl.check(t1 + SEC), Some(1));
    }

    #[test]
    fn an_earlier_now_counts_as_inside_the_current_window() {
        let t0 = Instant::now();
        let mut rl = RateLimit::new(1, SEC);
        assert_eq!(rl.check(t0 + 5 * SEC), Some(0));
        assert_eq!(rl.check(t0), None);
        assert_eq!(rl.pending(), 1);
    }

    #[test]
    fn zero_burst_is_one_and_zero_period_lets_everything_through() {
        let t0 = Instant::now();
        let mut one = RateLimit::new(0, SEC);
        assert_eq!(one.burst(), 1);
        assert_eq!(one.check(t0), Some(0));
        assert_eq!(one.check(t0), None);
        assert_eq!(one.check(t0 + SEC), Some(1));

        let mut all = RateLimit::new(1, Duration::ZERO);
        for _ in 0..100 {
            assert_eq!(all.check(t0), Some(0));
        }
    }

    #[test]
    fn usable_in_a_const() {
        const LIMIT: RateLimit = RateLimit::new(5, Duration::from_secs(60));
        let mut rl = LIMIT;
        assert_eq!(rl.period(), Duration::from_secs(60));
        assert_eq!(rl.check(Instant::now()), Some(0));
    }
}
