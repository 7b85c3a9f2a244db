//! Rate limiting for log lines that wire input can trigger.

use std::time::{Duration, Instant};

/// Lets at most `burst` events through per `period`, then counts the rest.
#[derive(Debug, Clone)]
pub struct RateLimit {
    burst: u32,
    period: Duration,
    window_start: Option<Instant>,
    used: u32,
    suppressed: u64,
}

impl RateLimit {
    /// At most `burst` events per `period`.
    pub const fn new(burst: u32, period: Duration) -> Self {
        RateLimit {
            burst,
            period,
            window_start: None,
            used: 0,
            suppressed: 0,
        }
    }

    /// `Some(suppressed since the last report)` if this event may be logged now.
    pub fn check(&mut self, now: Instant) -> Option<u64> {
        let expired = self
            .window_start
            .is_none_or(|s| now.saturating_duration_since(s) >= self.period);
        if expired {
            self.window_start = Some(now);
            self.used = 0;
        }
        if self.used < self.burst {
            self.used += 1;
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }
}
