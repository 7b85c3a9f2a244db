//! The AC-Cookie (stateless PADR validation) and the token bucket that limits PADO / PADS.
//!
//! The cookie is HMAC-SHA1(secret, client MAC ‖ Host-Uniq ‖ time bucket): valid in its own
//! bucket and the one before (1–2 × `cookie_lifetime`), checked in constant time, and nothing
//! is stored when it is issued.

use super::*;

pub(super) struct TokenBucket {
    pub(super) limit: RateLimit,
    pub(super) tokens: f64,
    pub(super) last: Instant,
}

impl TokenBucket {
    pub(super) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        let cap = f64::from(self.limit.burst);
        self.tokens = (self.tokens + elapsed * f64::from(self.limit.per_second)).min(cap);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl AccessConcentrator {
    pub(super) fn cookie(&self, mac: &[u8; 6], host_uniq: &[u8], bucket: u64) -> HmacSha1 {
        let mut m = self.keyed.clone();
        m.update(mac);
        m.update(host_uniq);
        m.update(&bucket.to_be_bytes());
        m
    }

    pub(super) fn bucket_at(&self, now: Instant) -> u64 {
        let t = now.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(t / self.config.cookie_lifetime.as_nanos()).unwrap_or(u64::MAX)
    }

    pub(super) fn issue_cookie(
        &self,
        now: Instant,
        mac: &[u8; 6],
        host_uniq: &[u8],
    ) -> [u8; COOKIE_LEN] {
        self.cookie(mac, host_uniq, self.bucket_at(now))
            .finalize()
            .into_bytes()
            .into()
    }

    pub(super) fn cookie_valid(
        &self,
        now: Instant,
        mac: &[u8; 6],
        host_uniq: &[u8],
        cookie: &[u8],
    ) -> bool {
        let b = self.bucket_at(now);
        let current = self.cookie(mac, host_uniq, b).verify_slice(cookie).is_ok();
        current
            || (b > 0
                && self
                    .cookie(mac, host_uniq, b - 1)
                    .verify_slice(cookie)
                    .is_ok())
    }

    pub(super) fn take_token(&mut self, now: Instant) -> bool {
        match &mut self.bucket {
            None => true,
            Some(b) => {
                let ok = b.take(now);
                if !ok {
                    self.counters.refused.rate_limited += 1;
                }
                ok
            }
        }
    }
}
