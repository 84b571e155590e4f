//! The rate limiter: GCRA (see the module docs of `limits`).

pub(super) mod memory;
mod redis;

use super::WINDOW_US;
use std::time::Duration;

/// What [`Limits::check`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request may proceed (it has been counted if so).
    pub allowed: bool,
    /// How many more requests would be allowed right now.
    pub remaining: u32,
    /// When refused: time until the next request will be allowed, in
    /// `(0, 60 s]`. Zero when allowed.
    pub retry_after: Duration,
}

impl RateDecision {
    /// [`Self::retry_after`] rounded up to whole seconds, for a `Retry-After`
    /// header (at least 1 when refused, 0 when allowed).
    pub fn retry_after_secs(&self) -> u64 {
        let d = self.retry_after;
        d.as_secs() + u64::from(d.subsec_nanos() > 0)
    }
}

/// GCRA parameters in microseconds: the emission interval and the window
/// (`limit` intervals, so a full burst is exactly `limit` requests).
pub(super) fn gcra_params(limit: u32) -> (u64, u64) {
    let limit = u64::from(limit.max(1));
    let interval = WINDOW_US.div_ceil(limit);
    (interval, interval.saturating_mul(limit))
}

fn decision(allowed: bool, remaining: u64, retry_after_us: u64) -> RateDecision {
    RateDecision {
        allowed,
        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        retry_after: if allowed {
            Duration::ZERO
        } else {
            Duration::from_micros(retry_after_us.clamp(1, WINDOW_US))
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_window_is_exactly_the_burst() {
        for limit in [1, 7, 60, 1000, 7_000_000, u32::MAX] {
            let (interval, window) = gcra_params(limit);
            assert!(interval >= 1);
            assert_eq!(window, interval * u64::from(limit));
            assert!(window >= WINDOW_US);
        }
    }
}
