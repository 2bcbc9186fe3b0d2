//! One finished run, reduced to what operators watch: the outcome, the counts, how long
//! it took. Metrics, readiness, systemd's `STATUS=` and the `--sync-now` summary log line
//! all read this one record, so they cannot disagree.

use crate::engine::run::{RunError, RunSummary};
use crate::store::{RunCounts, RunOutcome};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// A run refused because another process holds the run lock.
pub const LOCKED: &str = "locked";
/// Every `outcome` label a finished run can have.
/// (All but the last are [`RunOutcome`]'s own words; `interrupted`: the run lost its
/// lease and stopped writing.)
pub const OUTCOMES: [&str; 5] = ["succeeded", "partial", "failed", "interrupted", LOCKED];

/// What one run did, as watched from outside.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// Which pipeline ran ([`RunRecord::in_pipeline`]; `default` until said).
    pub pipeline: String,
    /// `None` when the run could not start (nothing recorded in the store).
    pub run_id: Option<i64>,
    /// `succeeded`, `partial`, `failed` (could not start, could not read the source, or
    /// the state database failed), `interrupted` (lost its lease) or `locked` (another
    /// process holds the run lock).
    pub outcome: &'static str,
    pub counts: RunCounts,
    /// Units counted by (target, action, result, how many), result `failed` for an
    /// error.
    pub units: Vec<(String, &'static str, &'static str, usize)>,
    /// Membership units on a target that creates no one (iSpring Learn): (target,
    /// source group id, source people with an email, how many have no account there).
    pub without_account: Vec<(String, String, usize, usize)>,
    pub duration: Duration,
    pub finished_at: DateTime<Utc>,
    /// Why the run could not start or complete (free of secrets, as every error is).
    pub error: Option<String>,
    /// Each target and whether it answered this run's read (empty when the run could
    /// not start).
    pub targets: Vec<(String, bool)>,
    /// Each target's calls spent reading copies back (drift detection).
    pub verify_calls: Vec<(String, usize)>,
    /// Targets with stale copies, and since when the oldest is stale.
    pub stale_since: Vec<(String, DateTime<Utc>)>,
}

impl RunRecord {
    pub fn new(
        result: &Result<RunSummary, RunError>,
        duration: Duration,
        finished_at: DateTime<Utc>,
    ) -> Self {
        match result {
            Ok(summary) => RunRecord {
                pipeline: crate::store::DEFAULT_PIPELINE.to_owned(),
                run_id: Some(summary.run_id),
                outcome: summary.outcome.as_str(),
                counts: summary.counts(),
                units: summary
                    .report
                    .tally
                    .iter()
                    .map(|((target, action, result), n)| {
                        (target.clone(), *action, result.as_str(), *n)
                    })
                    // Membership units count as action "members": synced, unchanged,
                    // held (mass-removal guard) or failed.
                    .chain(summary.membership.outcomes.iter().map(|o| {
                        (
                            o.target.clone(),
                            "members",
                            o.result.as_ref().map_or("failed", |r| r.as_str()),
                            1,
                        )
                    }))
                    .collect(),
                without_account: summary
                    .membership
                    .outcomes
                    .iter()
                    .filter_map(|o| {
                        let n = o.without_account?;
                        Some((o.target.clone(), o.source_id.clone(), o.total + n, n))
                    })
                    .collect(),
                duration,
                finished_at,
                // Why it stopped writing before the end, if it did.
                error: summary.stopped.clone(),
                targets: summary
                    .targets
                    .iter()
                    .map(|t| (t.target.clone(), t.is_up()))
                    .collect(),
                verify_calls: summary
                    .verified
                    .iter()
                    .map(|v| (v.target.clone(), v.calls()))
                    .collect(),
                stale_since: summary.stale_since.clone(),
            },
            Err(e) => RunRecord {
                pipeline: crate::store::DEFAULT_PIPELINE.to_owned(),
                run_id: None,
                outcome: match e {
                    RunError::LockHeld { .. } => LOCKED,
                    _ => RunOutcome::Failed.as_str(),
                },
                counts: RunCounts::default(),
                units: Vec::new(),
                without_account: Vec::new(),
                duration,
                finished_at,
                error: Some(e.to_string()),
                targets: Vec::new(),
                verify_calls: Vec::new(),
                stale_since: Vec::new(),
            },
        }
    }

    /// This record, of pipeline `name`.
    pub fn in_pipeline(mut self, name: &str) -> Self {
        name.clone_into(&mut self.pipeline);
        self
    }

    /// The run did not get as far as applying anything.
    pub fn could_not_start(&self) -> bool {
        self.error.is_some()
    }

    /// The targets that could not be reached this run.
    pub fn targets_down(&self) -> impl Iterator<Item = &str> {
        self.targets
            .iter()
            .filter(|(_, up)| !up)
            .map(|(t, _)| t.as_str())
    }

    /// A run that failed as a whole for readiness: it could not start, or a target
    /// could not be reached (even when nothing needed writing there).
    pub fn failed_for_readiness(&self) -> bool {
        self.could_not_start() || self.targets_down().next().is_some()
    }

    /// One line for systemd's `STATUS=` (shown by `systemctl status`).
    pub fn status_line(&self) -> String {
        let when = self.finished_at.format("%Y-%m-%d %H:%M:%S UTC");
        let line = match &self.error {
            Some(e) => format!("last run at {when}: {} ({e})", self.outcome),
            None => {
                let c = self.counts;
                format!(
                    "last run{} at {when}: {} in {:.1}s; created {}, updated {}, unchanged {}, skipped {}, orphaned {}, failed {}",
                    self.run_id.map(|id| format!(" {id}")).unwrap_or_default(),
                    self.outcome,
                    self.duration.as_secs_f64(),
                    c.created,
                    c.updated,
                    c.unchanged,
                    c.skipped,
                    c.orphaned,
                    c.failed
                )
            }
        };
        // STATUS= ends at a newline.
        line.replace(['\n', '\r'], " ")
    }

    /// The run summary as one log event (one JSON object with `--log-format json`):
    /// message `run summary`, fields `run_id`, `outcome`, the six counts,
    /// `duration_seconds`, and `error` when the run could not start.
    pub fn log(&self) {
        let c = self.counts;
        tracing::info!(
            run_id = self.run_id,
            outcome = self.outcome,
            created = c.created,
            updated = c.updated,
            unchanged = c.unchanged,
            skipped = c.skipped,
            orphaned = c.orphaned,
            failed = c.failed,
            duration_seconds = self.duration.as_secs_f64(),
            error = self.error.as_deref(),
            "run summary"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(error: Option<&str>) -> RunRecord {
        RunRecord {
            pipeline: crate::store::DEFAULT_PIPELINE.to_owned(),
            run_id: error.is_none().then_some(7),
            outcome: if error.is_some() { "failed" } else { "partial" },
            counts: RunCounts {
                created: 1,
                failed: 2,
                ..RunCounts::default()
            },
            units: Vec::new(),
            without_account: Vec::new(),
            duration: Duration::from_millis(1500),
            finished_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            error: error.map(str::to_owned),
            targets: Vec::new(),
            verify_calls: Vec::new(),
            stale_since: Vec::new(),
        }
    }

    #[test]
    fn the_status_line_is_one_line_with_outcome_and_counts() {
        let ok = record(None).status_line();
        assert_eq!(
            ok,
            "last run 7 at 2023-11-14 22:13:20 UTC: partial in 1.5s; created 1, updated 0, unchanged 0, skipped 0, orphaned 0, failed 2"
        );
        let failed = record(Some("cannot read the source:\nHTTP 500")).status_line();
        assert!(!failed.contains('\n'), "{failed}");
        assert!(failed.contains("failed (cannot read the source: HTTP 500)"));
    }
}
