//! The lower bound on a sync's wall time, from the calls it must make.
//!
//! One provider's calls cannot go faster than either of two limits: `calls × latency ÷
//! concurrency` (that many round trips, at most `concurrency` at a time) and the
//! provider's rate limit, as the provider counts it — the physical limit, not sgsync's
//! own pacing:
//! - a **bucket** of `per_minute` units that starts full and refills continuously
//!   (GoSquared): the first `per_minute` calls may all go at once, each later one
//!   waits for its refill, so `(calls − per_minute) ÷ rate`;
//! - a **window** of `per_minute` calls in any minute (the others): call `k` (from 0)
//!   cannot go before `⌊k ÷ per_minute⌋` minutes, so `⌊(calls − 1) ÷ per_minute⌋`
//!   minutes.
//!
//! Targets are written in parallel, so the targets' phase lasts as long as its slowest
//! target; it cannot start before the source has been read (the plan needs every
//! source group), so the source's time adds.

use serde::Serialize;
use sgsync_provider::pacing::Shape;
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
    /// How the provider counts them.
    #[serde(serialize_with = "shape")]
    pub shape: Shape,
}

fn shape<S: serde::Serializer>(shape: &Shape, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(shape.as_str())
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
        let per_minute = self.per_minute.max(1);
        let by_rate = match self.shape {
            Shape::Bucket => Duration::from_secs_f64(
                self.calls.saturating_sub(per_minute) as f64 * 60.0 / per_minute as f64,
            ),
            Shape::Window => Duration::from_secs(60 * ((self.calls - 1) / per_minute)),
        };
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

    fn load(calls: u64, latency_ms: u64, concurrency: u64, per_minute: u64, shape: Shape) -> Load {
        Load {
            calls,
            latency: Duration::from_millis(latency_ms),
            concurrency,
            per_minute,
            shape,
        }
    }

    #[test]
    fn a_window_lets_a_minute_of_calls_go_at_once() {
        use Shape::Window;
        // 1001 calls at 100 a minute: the 1001st cannot go before ten windows have
        // passed, whatever the concurrency.
        assert_eq!(
            load(1001, 50, 16, 100, Window).min_time(),
            Duration::from_secs(600)
        );
        // 1000 calls at 100 a minute: nine windows, the last hundred in the tenth.
        assert_eq!(
            load(1000, 50, 16, 100, Window).min_time(),
            Duration::from_secs(540)
        );
        // 1001 calls within a 10 000 window go as fast as latency allows: 16 at a
        // time × 50 ms is 63 round trips, 3.15 s.
        assert_eq!(
            load(1001, 50, 16, 10_000, Window).min_time(),
            Duration::from_millis(3150)
        );
        // With one call at a time, latency binds: 1000 × 50 ms.
        assert_eq!(
            load(1000, 50, 1, 10_000, Window).min_time(),
            Duration::from_secs(50)
        );
        // Concurrency beyond the number of calls buys nothing; no calls take no time.
        assert_eq!(
            load(3, 50, 64, 1_000_000, Window).min_time(),
            Duration::from_millis(50)
        );
        assert_eq!(load(0, 50, 1, 1, Window).min_time(), Duration::ZERO);
    }

    #[test]
    fn a_full_bucket_is_spent_at_once_then_refills() {
        use Shape::Bucket;
        // 750 calls of a 750 bucket: latency only (one at a time: 750 × 50 ms).
        assert_eq!(
            load(750, 50, 1, 750, Bucket).min_time(),
            Duration::from_millis(37_500)
        );
        // 1500 calls, 64 at a time: the second 750 wait for the refill, a minute.
        assert_eq!(
            load(1500, 50, 64, 750, Bucket).min_time(),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn targets_run_in_parallel_after_the_source() {
        let source = load(1, 50, 1, 750, Shape::Bucket);
        let ispring = load(601, 50, 16, 100, Shape::Window);
        let emfluence = load(1001, 50, 16, 100, Shape::Window);
        // 50 ms for the source's one call, then the slowest target: emfluence's 1001
        // calls at 100 a minute, 600 s (iSpring's 601 need only 360 s).
        assert_eq!(
            lower_bound(&source, &[ispring, emfluence]),
            Duration::from_millis(50) + Duration::from_secs(600)
        );
        assert_eq!(lower_bound(&source, &[]), Duration::from_millis(50));
    }
}
