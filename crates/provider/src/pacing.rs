//! Client-side pacing: how fast calls may leave for one provider account, shaped the way
//! that provider counts them, so a sync fills the budget the provider allows without
//! ever going over it.
//!
//! Two shapes are known:
//! - [`Shape::Bucket`]: a bucket of `burst` calls that starts full and refills
//!   continuously at `per_minute` (GoSquared documents exactly this: 750 units a
//!   minute, "replenished continuously", empty → half full after 30 s). A short sync
//!   goes out as fast as latency allows; a long one settles at the refill rate.
//! - [`Shape::Window`]: no more than `per_minute` calls in any minute, counted over a
//!   sliding window (what the one limit found for emfluence, Microsoft's connector's
//!   "100 API calls per connection per 60 seconds", says; iSpring publishes none, and a
//!   window is the safe reading of a per-minute budget). The first `per_minute` calls
//!   may go at once; each later one waits until the call `per_minute` before it is a
//!   window old. The window is counted as 61 s, which leaves a second for calls that
//!   reach the server bunched up (under 2 % of the budget). `burst` caps how many of
//!   the window's calls may go back to back (a bucket inside the window), for a limit
//!   that is only inferred.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// How a provider counts its rate limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Shape {
    /// A token bucket that starts full and refills continuously.
    Bucket,
    /// A count over a sliding minute: the safe reading of an unpublished limit.
    #[default]
    Window,
}

impl Shape {
    /// As written in config and reports: `bucket` or `window`.
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Bucket => "bucket",
            Shape::Window => "window",
        }
    }
}

/// A provider's rate limit as the client keeps to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    pub shape: Shape,
    /// Calls per minute.
    pub per_minute: u32,
    /// Calls that may go back to back; `None`: as many as the limit allows
    /// (`per_minute`).
    pub burst: Option<u32>,
}

impl Pacing {
    pub fn new(shape: Shape, per_minute: u32) -> Self {
        Pacing {
            shape,
            per_minute,
            burst: None,
        }
    }

    /// The burst in effect: at least 1, at most `per_minute`.
    pub fn effective_burst(&self) -> u32 {
        self.burst
            .unwrap_or(self.per_minute)
            .clamp(1, self.per_minute.max(1))
    }
}

/// The window a [`Shape::Window`] limit is counted over, with its second of margin.
pub const WINDOW: Duration = Duration::from_secs(61);

/// Waits until a call may go, by [`Pacing`].
pub struct Pacer {
    /// The bucket; `None` for a window whose burst is the whole window (the window
    /// alone is then the limit).
    bucket: Option<DefaultDirectRateLimiter>,
    window: Option<Window>,
}

struct Window {
    calls: usize,
    /// When each of the last (at most `calls`) calls went.
    sent: Mutex<VecDeque<Instant>>,
}

impl Pacer {
    pub fn new(pacing: Pacing) -> Self {
        let per_minute = NonZeroU32::new(pacing.per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(pacing.effective_burst()).unwrap_or(NonZeroU32::MIN);
        let windowed = pacing.shape == Shape::Window;
        let bucket = (!windowed || burst < per_minute)
            .then(|| RateLimiter::direct(Quota::per_minute(per_minute).allow_burst(burst)));
        let window = windowed.then(|| Window {
            calls: per_minute.get() as usize,
            sent: Mutex::new(VecDeque::new()),
        });
        Pacer { bucket, window }
    }

    /// Returns when one more call may go (and counts it as gone).
    pub async fn ready(&self) {
        if let Some(window) = &self.window {
            window.ready().await;
        }
        if let Some(bucket) = &self.bucket {
            bucket.until_ready().await;
        }
    }
}

impl Window {
    async fn ready(&self) {
        loop {
            let wait = {
                let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                while sent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= WINDOW)
                {
                    sent.pop_front();
                }
                if sent.len() < self.calls {
                    sent.push_back(now);
                    return;
                }
                // Full: the oldest call in the window decides when the next may go.
                sent.front()
                    .map_or(Duration::ZERO, |t| WINDOW - now.duration_since(*t))
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts `n` calls through `pacer` one after another; when each was let go,
    /// measured from the start (tokio's paused clock: exact, no real waiting).
    async fn departures(pacer: &Pacer, n: usize) -> Vec<Duration> {
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..n {
            pacer.ready().await;
            at.push(start.elapsed());
        }
        at
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_lets_its_calls_go_at_once_then_one_per_expired_call() {
        let pacer = Pacer::new(Pacing::new(Shape::Window, 10));
        let at = departures(&pacer, 25).await;
        // The first ten at once, the next ten a window later, then five more.
        assert!(
            at[..10].iter().all(|t| *t < Duration::from_millis(10)),
            "{at:?}"
        );
        for t in &at[10..20] {
            assert!(
                *t >= WINDOW && *t < WINDOW + Duration::from_secs(1),
                "{at:?}"
            );
        }
        assert!(at[20] >= WINDOW * 2, "{at:?}");
        // And never more than ten calls in any window.
        for (i, t) in at.iter().enumerate().skip(10) {
            assert!(*t - at[i - 10] >= WINDOW, "call {i}: {at:?}");
        }
    }

    // The bucket keeps real time (governor's clock), so these wait for real: their
    // checks are lower bounds, which a slow machine cannot break, and "went at once"
    // is checked with seconds to spare.
    #[tokio::test]
    async fn a_bucket_starts_full_and_refills_continuously() {
        let pacer = Pacer::new(Pacing::new(Shape::Bucket, 600));
        let at = departures(&pacer, 610).await;
        // Paced calls would need 59.9 s for the first 600.
        assert!(at[599] < Duration::from_secs(30), "{:?}", at[599]);
        // Then one per 100 ms: the 610th no sooner than a second after the start.
        assert!(at[609] >= Duration::from_millis(990), "{:?}", at[609]);
    }

    #[tokio::test]
    async fn a_burst_caps_the_calls_that_go_back_to_back() {
        let pacer = Pacer::new(Pacing {
            shape: Shape::Window,
            per_minute: 60,
            burst: Some(5),
        });
        let at = departures(&pacer, 7).await;
        assert!(at[4] < Duration::from_secs(1), "{at:?}");
        assert!(at[5] >= Duration::from_millis(990), "{at:?}");
        assert!(at[6] >= Duration::from_millis(1990), "{at:?}");
        assert_eq!(
            Pacing {
                shape: Shape::Window,
                per_minute: 60,
                burst: Some(500)
            }
            .effective_burst(),
            60,
            "a burst above the limit is the limit"
        );
    }
}
