//! Liveness and readiness of `sgsync run`, as `/healthz` and `/readyz` answer them.
//!
//! - Live (`/healthz` 200) from start until the schedule loop has ended.
//! - Ready (`/readyz` 200) once the loop runs — the config is valid, the store open and
//!   the endpoint bound, all done before the loop starts — and as long as fewer than
//!   `[schedule] unready_after_failed_runs` (default [`UNREADY_AFTER`]) runs in a row
//!   could not start, read the source or reach a target (lock held by another process,
//!   source or target unreachable, store failing). A run whose units partly
//!   failed did run: it keeps the service ready (`sgsync_last_run_outcome` tells it).
//!   Not ready (503) before the loop starts and from the moment a stop is requested.
//!
//! Readiness is not held back until a first run has *finished*: with the default
//! 15-minute schedule that would keep a fresh pod unready for up to 15 minutes and stall
//! every rollout, while saying nothing the first failing runs would not say.

use super::summary::RunRecord;
use chrono::{DateTime, Utc};
use std::sync::Mutex;

/// Runs in a row that could not start before the service reports itself not ready.
pub const UNREADY_AFTER: u32 = 3;

/// An answer for a probe: healthy or not, and one line saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub ok: bool,
    pub text: String,
}

#[derive(Debug)]
pub struct Health {
    state: Mutex<State>,
    /// Runs in a row that failed as a whole before it is not ready
    /// (`[schedule] unready_after_failed_runs`).
    unready_after: u32,
}

impl Default for Health {
    fn default() -> Self {
        Health::new(UNREADY_AFTER)
    }
}

#[derive(Debug, Default)]
struct State {
    phase: Phase,
    running: bool,
    consecutive_failures: u32,
    last: Option<Last>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    #[default]
    Starting,
    Looping,
    Stopping,
    Ended,
}

#[derive(Debug)]
struct Last {
    outcome: &'static str,
    run_id: Option<i64>,
    finished_at: DateTime<Utc>,
    error: Option<String>,
}

impl Health {
    /// Not ready after `unready_after` runs in a row failed as a whole (at least 1).
    pub fn new(unready_after: u32) -> Health {
        Health {
            state: Mutex::default(),
            unready_after: unready_after.max(1),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere must not take the probes down with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn loop_started(&self) {
        let mut s = self.state();
        if s.phase == Phase::Starting {
            s.phase = Phase::Looping;
        }
    }

    pub fn run_started(&self) {
        self.state().running = true;
    }

    /// The run that started was another worker's to make: nothing changes but that
    /// none is going here.
    pub fn run_skipped(&self) {
        self.state().running = false;
    }

    pub fn run_finished(&self, run: &RunRecord) {
        let mut s = self.state();
        s.running = false;
        if run.failed_for_readiness() {
            s.consecutive_failures += 1;
        } else {
            s.consecutive_failures = 0;
        }
        s.last = Some(Last {
            outcome: run.outcome,
            run_id: run.run_id,
            finished_at: run.finished_at,
            error: run.error.clone(),
        });
    }

    /// A stop was requested: not ready any more, still alive while the run finishes.
    pub fn stopping(&self) {
        let mut s = self.state();
        if s.phase != Phase::Ended {
            s.phase = Phase::Stopping;
        }
    }

    pub fn loop_ended(&self) {
        self.state().phase = Phase::Ended;
    }

    /// Whether the schedule loop has not ended (the systemd watchdog stops with it).
    pub fn is_alive(&self) -> bool {
        self.state().phase != Phase::Ended
    }

    pub fn liveness(&self) -> Verdict {
        if self.is_alive() {
            Verdict {
                ok: true,
                text: "alive".into(),
            }
        } else {
            Verdict {
                ok: false,
                text: "the schedule loop has ended".into(),
            }
        }
    }

    pub fn readiness(&self) -> Verdict {
        let s = self.state();
        let last = s.last.as_ref().map_or_else(
            || "no run yet".to_owned(),
            |l| {
                format!(
                    "last run{} {} at {}{}",
                    l.run_id.map(|id| format!(" {id}")).unwrap_or_default(),
                    l.outcome,
                    l.finished_at.format("%Y-%m-%dT%H:%M:%SZ"),
                    l.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                )
            },
        );
        let running = if s.running { "; a run is going" } else { "" };
        let (ok, text) = match s.phase {
            Phase::Starting => (false, "starting".to_owned()),
            Phase::Stopping | Phase::Ended => (false, format!("stopping; {last}")),
            Phase::Looping if s.consecutive_failures >= self.unready_after => (
                false,
                format!(
                    "not ready: {} runs in a row could not start or reach a target; {last}{running}",
                    s.consecutive_failures
                ),
            ),
            Phase::Looping => (true, format!("ready; {last}{running}")),
        };
        Verdict { ok, text }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RunCounts;
    use std::time::Duration;

    fn run(outcome: &'static str, error: Option<&str>) -> RunRecord {
        RunRecord {
            pipeline: crate::store::DEFAULT_PIPELINE.to_owned(),
            run_id: error.is_none().then_some(4),
            outcome,
            counts: RunCounts::default(),
            units: Vec::new(),
            without_account: Vec::new(),
            duration: Duration::from_secs(1),
            finished_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            error: error.map(str::to_owned),
            targets: Vec::new(),
            verify_calls: Vec::new(),
            stale_since: Vec::new(),
        }
    }

    #[test]
    fn readiness_follows_the_loop_and_the_runs() {
        let h = Health::default();
        assert!(!h.readiness().ok, "not ready before the loop starts");
        assert!(h.liveness().ok);
        h.loop_started();
        assert_eq!(
            h.readiness(),
            Verdict {
                ok: true,
                text: "ready; no run yet".into()
            }
        );
        h.run_started();
        assert!(h.readiness().text.ends_with("a run is going"));
        h.run_finished(&run("partial", None));
        assert!(h.readiness().ok, "a partial run is a run");
        for n in 1..=UNREADY_AFTER {
            h.run_started();
            h.run_finished(&run("failed", Some("cannot read the source: HTTP 500")));
            assert_eq!(h.readiness().ok, n < UNREADY_AFTER, "after {n} failures");
        }
        assert!(
            h.readiness()
                .text
                .contains("3 runs in a row could not start"),
            "{}",
            h.readiness().text
        );
        h.run_finished(&run("succeeded", None));
        assert!(h.readiness().ok, "one good run makes it ready again");
        h.stopping();
        assert!(!h.readiness().ok);
        assert!(h.liveness().ok, "alive while the last run finishes");
        h.loop_ended();
        assert!(!h.liveness().ok);
        assert!(!h.is_alive());
    }
}
