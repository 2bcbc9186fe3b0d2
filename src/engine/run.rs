//! One sync run from start to finish: take the run lock, record the run, read the
//! source, plan, apply, record the outcome, let the lock go. A dry run (`sgsync plan`)
//! reads and plans only: it takes no lock and writes nothing anywhere.

use super::apply::{NoProgress, Progress, Report, Target, apply_with_progress};
use super::materialise::{MemberOptions, MemberReport, materialise};
use super::plan::{LinkIndex, Linked, Plan, PlanOverview, Planner, Snapshot, TargetPolicy};
use crate::mapping::Maps;
use crate::providers::{Provider, ProviderError};
use crate::store::{LockGrant, ProcessId, RunCounts, RunOutcome, Store, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tracing::{Instrument, info, info_span, warn};

/// How long the run lock is held without renewal; renewed every quarter of it, so only a
/// process that died (or stalled for three renewals) stops renewing and its lock expires.
/// A restart on the same machine does not wait for it: the lock records the holder's
/// process, and a holder that is gone is taken over at once (`store::lock`). The lease
/// is what frees the lock of a process on another machine or container (a CronJob pod
/// killed mid-run), so it is kept short.
const LOCK_LEASE: Duration = Duration::from_secs(60);

/// Everything one run needs.
pub struct Pipeline {
    pub source: Arc<dyn Provider>,
    pub targets: Vec<Target>,
    pub maps: Arc<Maps>,
    pub store: Store,
}

/// What a run did.
#[derive(Debug)]
pub struct RunSummary {
    pub run_id: Option<i64>,
    /// What was planned, counted (the units themselves were planned one at a time).
    pub plan: PlanOverview,
    pub report: Option<Report>,
    pub membership: MemberReport,
    pub outcome: RunOutcome,
}

/// What a run would do: every unit, and the membership units planned.
#[derive(Debug)]
pub struct DryRun {
    pub plan: Plan,
    pub membership: MemberReport,
}

/// What a run reads before it plans: the source's groups and the links stored for
/// them, held for the whole run (the units themselves are planned one at a time).
struct Inputs {
    snapshot: Snapshot,
    policies: Vec<TargetPolicy>,
    links: LinkIndex,
}

impl Inputs {
    fn planner<'a>(&'a self, maps: &'a Maps) -> Planner<'a> {
        Planner::new(&self.snapshot, &self.links, &self.policies, maps)
    }
}

impl RunSummary {
    /// 0: every unit succeeded or was skipped on purpose; 2: some units failed.
    pub fn exit_code(&self) -> u8 {
        match self.outcome {
            RunOutcome::Partial => 2,
            RunOutcome::Failed | RunOutcome::Interrupted => 1,
            RunOutcome::Succeeded | RunOutcome::Running => 0,
        }
    }

    pub fn counts(&self) -> RunCounts {
        self.report.as_ref().map(|r| r.counts).unwrap_or_default()
    }
}

/// A run that could not start or could not read the source (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("another sync holds the run lock ({holder}, until {until}); try again later")]
    LockHeld {
        holder: String,
        until: DateTime<Utc>,
    },
    #[error("cannot read the source: {0}")]
    Source(#[from] ProviderError),
    #[error("state store: {0}")]
    Store(StoreError),
}

impl From<StoreError> for RunError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::LockHeld { holder, until } => RunError::LockHeld { holder, until },
            other => RunError::Store(other),
        }
    }
}

impl Pipeline {
    /// The planner's view of the targets.
    pub fn policies(&self) -> Vec<TargetPolicy> {
        self.targets.iter().map(|t| t.policy.clone()).collect()
    }

    /// Reads the source and plans, writing nothing anywhere.
    pub async fn dry_run(&self) -> Result<DryRun, RunError> {
        let inputs = self.read_inputs().await?;
        let planner = inputs.planner(&self.maps);
        let membership = materialise(
            planner,
            self.source.as_ref(),
            &self.targets,
            &self.store,
            None,
            MemberOptions::default(),
        )
        .await;
        Ok(DryRun {
            plan: planner.plan(),
            membership,
        })
    }

    async fn read_inputs(&self) -> Result<Inputs, RunError> {
        let groups = self.source.list_groups().await?;
        let snapshot = Snapshot {
            source: self.source.kind(),
            groups: groups.into_iter().map(|g| g.decoded).collect(),
        };
        let policies = self.policies();
        let mut links = LinkIndex::new(&policies);
        self.store
            .each_link(snapshot.source, |l| {
                links.insert(
                    l.source_id,
                    l.target,
                    Linked::new(l.target_id, l.group_name, l.payload_hash),
                )
            })
            .await?;
        Ok(Inputs {
            snapshot,
            policies,
            links,
        })
    }

    /// One full run under the run lock, recorded in the store.
    pub async fn sync_once(&self, holder: &str) -> Result<RunSummary, RunError> {
        self.sync_once_with(holder, &NoProgress).await
    }

    /// [`Pipeline::sync_once`], telling `progress` as units finish.
    pub async fn sync_once_with(
        &self,
        holder: &str,
        progress: &dyn Progress,
    ) -> Result<RunSummary, RunError> {
        self.sync_once_with_options(holder, progress, MemberOptions::default())
            .await
    }

    /// [`Pipeline::sync_once_with`] with membership options (`--allow-mass-removal`).
    pub async fn sync_once_with_options(
        &self,
        holder: &str,
        progress: &dyn Progress,
        options: MemberOptions,
    ) -> Result<RunSummary, RunError> {
        let process = ProcessId::current();
        match self
            .store
            .acquire_lock_as(holder, process.as_ref(), LOCK_LEASE, Utc::now())
            .await?
        {
            LockGrant::HolderGone { previous } => {
                warn!(%previous, "took over the run lock from a process that is gone (killed or crashed)")
            }
            LockGrant::LeaseExpired { previous } => {
                warn!(%previous, "took over the run lock after its holder's lease ran out")
            }
            LockGrant::Free | LockGrant::Renewed => {}
        }
        let renewal = self.keep_lock(holder);
        let result = self
            .locked_run(progress, options)
            .instrument(info_span!("run", holder))
            .await;
        renewal.abort();
        if let Err(e) = self.store.release_lock(holder).await {
            // The lease runs out by itself; the next run waits at most LOCK_LEASE.
            warn!("cannot release the run lock: {e}");
        }
        result
    }

    fn keep_lock(&self, holder: &str) -> tokio::task::JoinHandle<()> {
        let (store, holder) = (self.store.clone(), holder.to_owned());
        let process = ProcessId::current();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(LOCK_LEASE / 4).await;
                if let Err(e) = store
                    .acquire_lock_as(&holder, process.as_ref(), LOCK_LEASE, Utc::now())
                    .await
                {
                    warn!("cannot renew the run lock: {e}");
                }
            }
        })
    }

    async fn locked_run(
        &self,
        progress: &dyn Progress,
        options: MemberOptions,
    ) -> Result<RunSummary, RunError> {
        // We hold the lock, so a run still marked running died without recording its end.
        let stale = self.store.interrupt_stale_runs().await?;
        if stale > 0 {
            warn!(
                stale,
                "earlier run(s) ended without recording their outcome; marked interrupted"
            );
        }
        let run_id = self.store.start_run(false).await?;
        let inputs = match self.read_inputs().await {
            Ok(inputs) => inputs,
            Err(e) => {
                let text = e.to_string();
                if let Err(store_error) = self
                    .store
                    .finish_run(
                        run_id,
                        RunOutcome::Failed,
                        RunCounts::default(),
                        Some(&text),
                    )
                    .await
                {
                    warn!("cannot record the failed run: {store_error}");
                }
                return Err(e);
            }
        };
        let planner = inputs.planner(&self.maps);
        let report = apply_with_progress(
            planner,
            self.source.kind(),
            &self.targets,
            &self.store,
            run_id,
            progress,
        )
        .await;
        // After the groups: a group created this run gets its members in the same run.
        let membership = materialise(
            planner,
            self.source.as_ref(),
            &self.targets,
            &self.store,
            Some(run_id),
            options,
        )
        .await;
        // A held mass removal is reported like a failure (exit 2): someone should look.
        let outcome = if report.failed() > 0 || membership.failed() > 0 || membership.held() > 0 {
            RunOutcome::Partial
        } else {
            RunOutcome::Succeeded
        };
        self.store
            .finish_run(run_id, outcome, report.counts, None)
            .await?;
        info!(?outcome, counts = ?report.counts, "run finished");
        Ok(RunSummary {
            run_id: Some(run_id),
            plan: report.planned.clone(),
            report: Some(report),
            membership,
            outcome,
        })
    }
}
