//! Telling systemd how `sgsync run` is doing (`Type=notify`): `READY=1` once it can
//! work, `STATUS=` after every run, `STOPPING=1` on a stop request, and `WATCHDOG=1`
//! every half of `WATCHDOG_USEC` while the schedule loop lives. All of it is a no-op
//! when systemd did not set `NOTIFY_SOCKET` (by hand, in a container).

use super::health::Health;
use sd_notify::NotifyState;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Sends notifications; a failure is logged once, never fatal (systemd would notice a
/// missing `READY=1` by itself and fail the start).
#[derive(Debug, Default)]
pub struct Notifier {
    warned: AtomicBool,
}

impl Notifier {
    pub fn new() -> Self {
        Self::default()
    }

    fn send(&self, states: &[NotifyState<'_>]) {
        if let Err(e) = sd_notify::notify(states)
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!("cannot notify systemd (NOTIFY_SOCKET): {e}");
        }
    }

    /// Config loaded, store open, endpoint bound: the service is up.
    pub fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    pub fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    pub fn stopping(&self) {
        self.send(&[
            NotifyState::Stopping,
            NotifyState::Status("stopping: letting the current run finish"),
        ]);
    }

    /// Pings the watchdog every half of `WATCHDOG_USEC` (when systemd set it for this
    /// process) until the loop ends, starting at once. `None` without a watchdog.
    pub fn spawn_watchdog(self: &Arc<Self>, health: Arc<Health>) -> Option<JoinHandle<()>> {
        let every = watchdog_interval(sd_notify::watchdog_enabled())?;
        let notifier = self.clone();
        Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if !health.is_alive() {
                    return;
                }
                notifier.send(&[NotifyState::Watchdog]);
            }
        }))
    }
}

/// Half the watchdog timeout, as systemd recommends; none for a zero timeout.
fn watchdog_interval(timeout: Option<Duration>) -> Option<Duration> {
    timeout.filter(|t| !t.is_zero()).map(|t| t / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_is_pinged_at_half_its_timeout() {
        assert_eq!(
            watchdog_interval(Some(Duration::from_secs(30))),
            Some(Duration::from_secs(15))
        );
        assert_eq!(watchdog_interval(Some(Duration::ZERO)), None);
        assert_eq!(watchdog_interval(None), None);
    }
}
