//! The lower bound on a sync's wall time, from the calls it must make.
//!
//! One provider's calls cannot go faster than either of two limits: `calls × latency ÷
//! concurrency` (that many round trips, at most `concurrency` at a time) and `calls ÷
//! rate` (the provider's budget per minute; counted as `(calls − 1) ÷ rate`, since the
//! first call may go at once and each later one waits for its share of the budget). Targets are written in parallel, so the
//! targets' phase lasts as long as its slowest target; it cannot start before the
//! source has been read (the plan needs every source group), so the source's time adds.

use serde::Serialize;
use std::time::Duration;

/// What one provider must be sent, and how fast it may be.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Load {
    /// Calls that cannot be avoided.
    pub calls: u64,
    /// Round-trip time of one call.
    #[serde(serialize_with = "millis")]
    pub latency: Duration,
    /// Calls allowed in flight at once (at least 1).
    pub concurrency: u64,
    /// Calls allowed per minute (at least 1).
    pub per_minute: u64,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl Load {
    /// The least time these calls take: the larger of the latency and the rate limits.
    pub fn min_time(&self) -> Duration {
        if self.calls == 0 {
            return Duration::ZERO;
        }
        // More workers than calls do not help.
        let parallel = self.concurrency.clamp(1, self.calls);
        let round_trips = self.calls.div_ceil(parallel);
        let by_latency = self
            .latency
            .saturating_mul(round_trips.min(u64::from(u32::MAX)) as u32);
        let spaced = (self.calls - 1) as f64;
        let by_rate = Duration::from_secs_f64(spaced * 60.0 / self.per_minute.max(1) as f64);
        by_latency.max(by_rate)
    }
}

/// The source is read first; then every target is written at once.
pub fn lower_bound(source: &Load, targets: &[Load]) -> Duration {
    source.min_time() + targets.iter().map(Load::min_time).max().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(calls: u64, latency_ms: u64, concurrency: u64, per_minute: u64) -> Load {
        Load {
            calls,
            latency: Duration::from_millis(latency_ms),
            concurrency,
            per_minute,
        }
    }

    #[test]
    fn a_provider_is_bound_by_the_slower_of_latency_and_rate() {
        // 1001 calls at 100/min: ten minutes (the first goes at once), whatever the
        // concurrency.
        assert_eq!(load(1001, 50, 16, 100).min_time(), Duration::from_secs(600));
        // 1001 calls at 10 000/min take 6 s by rate; 16 at a time × 50 ms each is 63
        // round trips, 3.15 s by latency: the rate binds.
        assert_eq!(
            load(1001, 50, 16, 10_000).min_time(),
            Duration::from_secs(6)
        );
        // With one call at a time, latency binds: 1000 × 50 ms.
        assert_eq!(
            load(1000, 50, 1, 10_000).min_time(),
            Duration::from_secs(50)
        );
        // Concurrency beyond the number of calls buys nothing; no calls take no time.
        assert_eq!(
            load(3, 50, 64, 1_000_000).min_time(),
            Duration::from_millis(50)
        );
        assert_eq!(load(0, 50, 1, 1).min_time(), Duration::ZERO);
    }

    #[test]
    fn targets_run_in_parallel_after_the_source() {
        let source = load(1, 50, 1, 750);
        let ispring = load(601, 50, 16, 100);
        let emfluence = load(1001, 50, 16, 100);
        // 50 ms for the source's one call, then the slowest target: emfluence's 1001
        // calls at 100/min, 600 s (iSpring's 601 need only 360 s).
        assert_eq!(
            lower_bound(&source, &[ispring, emfluence]),
            Duration::from_millis(50) + Duration::from_secs(600)
        );
        assert_eq!(lower_bound(&source, &[]), Duration::from_millis(50));
    }
}
