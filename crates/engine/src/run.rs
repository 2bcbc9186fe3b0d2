//! One sync run from start to finish: take the run lock, record the run, read the
//! source, plan, apply, record the outcome, let the lock go. A dry run (`sgsync plan`)
//! reads and plans only: it takes no lock and writes nothing anywhere.

use super::apply::{Apply, NoProgress, Progress, Report, Target, apply};
use super::lease::{Fence, LeaseSettings, RunLease, Stop};
use super::materialise::{MemberOptions, MemberReport, materialise};
use super::plan::{
    LinkIndex, Linked, OrphanGuard, OrphanPolicy, OrphanVerdict, Plan, PlanOverview, Planner,
    Recorded, RunFacts, Snapshot, TargetPolicy,
};
use super::verify::{TargetVerify, verify};
use chrono::{DateTime, Utc};
use sgsync_model::Directory;
use sgsync_provider::{Provider, ProviderError, RemoteGroup, fence};
use sgsync_store::{LockGrant, ORPHAN_GUARD, RunCounts, RunOutcome, Store, StoreError};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use tracing::{Instrument, info, info_span, warn};

/// What a pipeline's runs may do on their own, and how they hold the run lock.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SyncPolicy {
    pub lease: LeaseSettings,
    /// Holds archiving and deleting back when many links lose their source at once.
    pub orphans: OrphanGuard,
    /// At most this many creates per target in one run (`None`: no cap).
    pub max_creates_per_run: Option<usize>,
}

/// Everything one run needs.
pub struct Pipeline {
    pub source: Arc<dyn Provider>,
    pub targets: Vec<Target>,
    pub store: Store,
    pub policy: SyncPolicy,
    /// Source groups whose name starts with one of these are sgsync's own copies made
    /// by another pipeline (`[source] skip_name_prefixes`), never read as source groups;
    /// so are names starting with this pipeline's own targets' `name_prefix`.
    pub skip_name_prefixes: Vec<String>,
}

/// What a caller asks of one run.
#[derive(Clone, Copy)]
pub struct RunOptions<'a> {
    /// Told as units finish (a progress bar).
    pub progress: &'a dyn Progress,
    /// Apply member removals the mass-removal guard would hold back.
    pub allow_mass_removal: bool,
    /// Archive or delete orphans the orphan guard would hold back.
    pub allow_mass_delete: bool,
    /// The scheduled time this run serves (a worker's run; `None` for a run asked for
    /// by hand). Taken once the run holds the lock: a due time already served is not
    /// run again ([`RunError::AlreadyRun`]), and one whose run died is resumed.
    pub due: Option<DateTime<Utc>>,
    /// The schedule, to mark the ticks that fall while this run goes as served by it.
    pub schedule: Option<&'a cron::Schedule>,
}

impl Default for RunOptions<'static> {
    fn default() -> Self {
        RunOptions {
            progress: &NoProgress,
            allow_mass_removal: false,
            allow_mass_delete: false,
            due: None,
            schedule: None,
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub struct RunSummary {
    /// The run's record in the store.
    pub run_id: i64,
    /// What was planned, counted (the units themselves were planned one at a time).
    pub plan: PlanOverview,
    pub report: Report,
    pub membership: MemberReport,
    pub outcome: RunOutcome,
    /// Why the run stopped writing before its end (lease lost, store failed), if it did.
    pub stopped: Option<String>,
    /// Each target's read this run: one that cannot be reached fails the run (exit 2)
    /// even when nothing needed writing.
    pub targets: Vec<TargetCheck>,
    /// What reading the targets' copies back found and cost.
    pub verified: Vec<TargetVerify>,
    /// Per target with stale copies after the run: since when the oldest is stale.
    pub stale_since: Vec<(String, DateTime<Utc>)>,
}

/// Whether a target answered this run's authenticated read (its directory, or its
/// credentials check where it lists no directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetCheck {
    /// `[targets.<name>]`.
    pub target: String,
    /// Why it could not be read (free of secrets), `None` when it answered.
    pub error: Option<String>,
}

impl TargetCheck {
    pub fn is_up(&self) -> bool {
        self.error.is_none()
    }
}

/// `target "newsletter" cannot be reached: …` for each target down, one per line.
pub fn targets_down(checks: &[TargetCheck]) -> Option<String> {
    let lines: Vec<String> = checks
        .iter()
        .filter_map(|c| {
            let e = c.error.as_deref()?;
            Some(format!("target \"{}\" cannot be reached: {e}", c.target))
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("; "))
}

/// What a run would do: every unit, and the membership units planned.
#[derive(Debug)]
pub struct DryRun {
    pub plan: Plan,
    pub membership: MemberReport,
    /// Each target's read (see [`RunSummary::targets`]).
    pub targets: Vec<TargetCheck>,
    /// What reading the targets' copies back found and cost.
    pub verified: Vec<TargetVerify>,
}

/// What a run reads before it plans: the source's groups and the links stored for
/// them, held for the whole run (the units themselves are planned one at a time).
struct Inputs {
    snapshot: Snapshot,
    policies: Vec<TargetPolicy>,
    /// Each target's directory, read once this run.
    directories: Vec<Arc<Directory>>,
    links: LinkIndex,
    facts: RunFacts,
    targets: Vec<TargetCheck>,
    /// Source groups left out because sgsync made them (echoes), as plan notes.
    echoes: Vec<String>,
}

impl Inputs {
    fn planner(&self) -> Planner<'_> {
        Planner::new(
            &self.snapshot,
            &self.links,
            &self.policies,
            &self.directories,
            &self.facts,
        )
    }
}

/// `provider`'s directory, named `name` in reasons; one that cannot be read is kept as
/// failed (the units that need it fail, the others go on).
pub async fn read_directory(provider: &dyn Provider, name: &str) -> Directory {
    let shown = format!("{} account \"{name}\"", provider.kind().display_name());
    match provider.directory().await {
        Ok(d) => d.named(shown),
        Err(e) => {
            warn!(account = %shown, error = %e, "cannot read the account's directory; the units that need it fail");
            Directory::failed(provider.account(), shown, e.to_string())
        }
    }
}

impl RunSummary {
    /// 0: every unit succeeded or was skipped on purpose; 2: some units failed (or were
    /// held back by a guard); 1: the run could not complete.
    pub fn exit_code(&self) -> u8 {
        match self.outcome {
            RunOutcome::Partial => 2,
            RunOutcome::Failed | RunOutcome::Interrupted => 1,
            RunOutcome::Succeeded | RunOutcome::Running => 0,
        }
    }

    /// Every unit of the run counted, membership units included: a run whose only
    /// failures are membership units says `failed 1`, never `failed 0` beside exit 2.
    pub fn counts(&self) -> RunCounts {
        with_members(self.report.counts, &self.membership)
    }
}

/// How every key sgsync writes begins (`sgsync_model::stable_key`).
const KEY_PREFIX: &str = "sgsync:";

/// The group units' counts with the membership units' failures and held removals
/// added: one count of failures for the whole run, whatever kind of unit failed.
fn with_members(mut counts: RunCounts, membership: &MemberReport) -> RunCounts {
    let add = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    counts.failed = counts.failed.saturating_add(add(membership.failed()));
    counts.held = counts.held.saturating_add(add(membership.held()));
    counts
}

/// A run that could not start or could not read the source (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("another sync holds the run lock ({holder}, until {until}); try again later")]
    LockHeld {
        holder: String,
        until: DateTime<Utc>,
    },
    /// The due time was served by another worker's run already.
    #[error("the run due at {due} was done already (by another worker)")]
    AlreadyRun { due: DateTime<Utc> },
    #[error("cannot read the source: {0}")]
    Source(#[from] ProviderError),
    #[error("the state database {location} failed: {source}")]
    Store {
        location: String,
        source: StoreError,
    },
}

/// Takes the due time `due` for this run: `false` when a run has served it already.
async fn claim(store: &Store, due: DateTime<Utc>) -> Result<bool, StoreError> {
    if store.slots().await?.is_done(due) {
        return Ok(false);
    }
    store.claim_slot(due).await?;
    Ok(true)
}

impl RunError {
    /// A store error of the database at `location` (a held lock is its own kind).
    fn store(location: String, e: StoreError) -> RunError {
        match e {
            StoreError::LockHeld { holder, until } => RunError::LockHeld { holder, until },
            source => RunError::Store { location, source },
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
        let inputs = self.read_inputs(&self.store, false).await?;
        // The same reads a run makes (the cursor stays where it is).
        let verified = verify(inputs.planner(), &self.targets, &self.store, false, false).await;
        let planner = inputs.planner().with_drift(&verified.drift);
        let membership = materialise(
            planner,
            self.source.as_ref(),
            &self.targets,
            &self.store,
            None,
            MemberOptions::default(),
            &Fence::open(),
        )
        .await;
        let mut plan = planner.plan();
        plan.notes.extend(inputs.echoes.iter().cloned());
        Ok(DryRun {
            plan,
            membership,
            targets: inputs.targets.clone(),
            verified: verified.targets.clone(),
        })
    }

    async fn read_inputs(
        &self,
        store: &Store,
        allow_mass_delete: bool,
    ) -> Result<Inputs, RunError> {
        // Every account's directory, before anything is decoded or planned: names
        // travel, ids do not. The source's list needs only the source's directory, so
        // it is read while the targets' directories are.
        let source_side = async {
            let directory = read_directory(self.source.as_ref(), "source").await;
            self.source.list_groups(&directory).await
        };
        let (groups, directories) = futures_util::future::join(
            source_side,
            futures_util::future::join_all(
                self.targets
                    .iter()
                    .map(|t| read_directory(t.provider.as_ref(), &t.policy.name)),
            ),
        )
        .await;
        let directories: Vec<Arc<Directory>> = directories.into_iter().map(Arc::new).collect();
        let targets = self.reach(&directories).await;
        let mut groups = groups?;
        let echoes = self.drop_echoes(store, &mut groups).await?;
        let snapshot = Snapshot {
            source: self.source.kind(),
            groups: groups.into_iter().map(|g| g.decoded).collect(),
        };
        let policies = self.policies();
        let mut links = LinkIndex::new(&policies);
        store
            .each_link(snapshot.source, |l| {
                links.insert(
                    l.source_id,
                    l.target,
                    Linked::new(l.target_id, l.group_name, l.payload_hash)
                        .recorded(Recorded::of(l.last_result, l.has_error))
                        .stale_since(l.stale_since),
                )
            })
            .await
            .map_err(|e| RunError::store(store.location(), e))?;
        let (held_runs, _) = store
            .guard(ORPHAN_GUARD)
            .await
            .map_err(|e| RunError::store(store.location(), e))?;
        let orphans = OrphanPolicy {
            guard: self.policy.orphans,
            held_runs,
            allow: allow_mass_delete,
        };
        let facts = RunFacts::new(&snapshot, &links, orphans);
        Ok(Inputs {
            snapshot,
            policies,
            directories,
            links,
            facts,
            targets,
            echoes,
        })
    }

    /// Takes out of `groups` every source group sgsync itself created on the source's
    /// provider, so a two-way setup never copies a copy back ("[a] [b] Canadians"): a
    /// group that carries a key sgsync writes (`sgsync:…`), one this store links as a
    /// target group (same id and name), or one whose name starts with a prefix sgsync
    /// writes (where the provider holds no key). Returns the plan note saying so.
    async fn drop_echoes(
        &self,
        store: &Store,
        groups: &mut Vec<RemoteGroup>,
    ) -> Result<Vec<String>, RunError> {
        let copies: HashSet<(String, String)> = store
            .copies_on(self.source.kind())
            .await
            .map_err(|e| RunError::store(store.location(), e))?
            .into_iter()
            .collect();
        let prefixes: Vec<&str> = self
            .targets
            .iter()
            .filter_map(|t| t.policy.name_prefix.as_deref())
            .chain(self.skip_name_prefixes.iter().map(String::as_str))
            .filter(|p| !p.trim().is_empty())
            .collect();
        let mut by_why: BTreeMap<&'static str, (usize, String)> = BTreeMap::new();
        groups.retain(|g| {
            let why = if g.key.as_deref().is_some_and(|k| k.starts_with(KEY_PREFIX)) {
                "they carry sgsync's key"
            } else if copies.contains(&(g.id.clone(), g.name.clone())) {
                "this state database created them as target groups"
            } else if prefixes.iter().any(|p| g.name.starts_with(p)) {
                "their names start with a prefix sgsync writes (name_prefix, [source] skip_name_prefixes)"
            } else {
                return true;
            };
            let entry = by_why.entry(why).or_insert((0, g.name.clone()));
            entry.0 += 1;
            false
        });
        Ok(by_why
            .into_iter()
            .map(|(why, (n, first))| {
                format!(
                    "{n} source group(s) are sgsync's own copies and are not read as source groups: {why} (e.g. {})",
                    super::plan::quoted(&first)
                )
            })
            .collect())
    }

    /// At least one authenticated read of every target, every run, whatever the units
    /// need: a target whose directory was read answered already; any other is asked
    /// to check its credentials (one cheap read). A target that cannot be reached is
    /// found on a run with nothing to write, not on the first run that has something.
    async fn reach(&self, directories: &[Arc<Directory>]) -> Vec<TargetCheck> {
        futures_util::future::join_all(self.targets.iter().zip(directories).map(
            |(t, directory)| async move {
                let error = if directory.is_read() {
                    None
                } else {
                    match t.provider.check().await {
                        Ok(()) => None,
                        Err(e) => {
                            warn!(target_name = %t.policy.name, error = %e, "the target cannot be reached");
                            Some(e.to_string())
                        }
                    }
                };
                TargetCheck {
                    target: t.policy.name.clone(),
                    error,
                }
            },
        ))
        .await
    }

    /// One full run under the run lock (taken for `holder`, a name for people), recorded
    /// in the store.
    pub async fn sync(
        &self,
        holder: &str,
        options: RunOptions<'_>,
    ) -> Result<RunSummary, RunError> {
        self.run(holder, options, false).await
    }

    /// A run that reads every linked copy back, whatever the per-run budget
    /// (`sgsync verify`), and repairs or reports what it finds as a run does.
    pub async fn verify_all(
        &self,
        holder: &str,
        options: RunOptions<'_>,
    ) -> Result<RunSummary, RunError> {
        self.run(holder, options, true).await
    }

    async fn run(
        &self,
        holder: &str,
        options: RunOptions<'_>,
        everything: bool,
    ) -> Result<RunSummary, RunError> {
        let (lease, grant) = RunLease::acquire(&self.store, holder, self.policy.lease)
            .await
            .map_err(|e| RunError::store(self.store.location(), e))?;
        match grant {
            LockGrant::HolderGone { previous } => {
                warn!(%previous, "took over the run lock from a process that is gone (killed or crashed)")
            }
            LockGrant::LeaseExpired { previous } => {
                warn!(%previous, "took over the run lock after its holder's lease ran out")
            }
            LockGrant::Free | LockGrant::Renewed => {}
        }
        // Every write of this run proves the lock is still its own, and every provider
        // call inside the run asks the fence first.
        let store = self.store.fenced(lease.token());
        let gate = lease.fence().clone();
        let (due, schedule) = (options.due, options.schedule);
        if let Some(due) = due {
            // Under the lock, so no other worker can take the same due time between
            // this check and the claim.
            match claim(&store, due).await {
                Ok(true) => {}
                Ok(false) => {
                    lease.release().await;
                    return Err(RunError::AlreadyRun { due });
                }
                Err(e) => {
                    lease.release().await;
                    return Err(RunError::store(store.location(), e));
                }
            }
        }
        let result = fence::scope(
            gate.clone(),
            self.locked_run(&store, &gate, options, everything),
        )
        .instrument(info_span!("run", holder))
        .await;
        if let Some(due) = due {
            // Served: this due time and every tick that fell while the run went (they
            // would read the same source again at once).
            let now = Utc::now();
            let served = schedule
                .and_then(|s| s.after(&due).take_while(|t| *t <= now).last())
                .map_or(due, |t| t.max(due));
            if let Err(e) = store.finish_slot(served).await {
                warn!("cannot record the run due at {due} as done: {e}");
            }
        }
        lease.release().await;
        // After every run the database file alone holds the state.
        if let Err(e) = self.store.checkpoint().await {
            warn!("cannot checkpoint the state database: {e}");
        }
        result
    }

    async fn locked_run(
        &self,
        store: &Store,
        gate: &Arc<Fence>,
        options: RunOptions<'_>,
        everything: bool,
    ) -> Result<RunSummary, RunError> {
        // We hold the lock, so a run still marked running died without recording its end.
        let stale = store
            .interrupt_stale_runs()
            .await
            .map_err(|e| RunError::store(store.location(), e))?;
        if stale > 0 {
            warn!(
                stale,
                "earlier run(s) ended without recording their outcome; marked interrupted"
            );
        }
        let run_id = store
            .start_run_due(false, options.due)
            .await
            .map_err(|e| RunError::store(store.location(), e))?;
        let inputs = match self.read_inputs(store, options.allow_mass_delete).await {
            Ok(inputs) => inputs,
            Err(e) => {
                let text = e.to_string();
                if let Err(store_error) = store
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
        let verified = verify(inputs.planner(), &self.targets, store, everything, true).await;
        let planner = inputs.planner().with_drift(&verified.drift);
        let mut report = apply(
            planner,
            Apply {
                source: self.source.kind(),
                targets: &self.targets,
                store,
                run_id,
                progress: options.progress,
                fence: gate,
                max_creates: self.policy.max_creates_per_run,
            },
        )
        .await;
        report.planned.notes.extend(inputs.echoes.iter().cloned());
        // After the groups: a group created this run gets its members in the same run.
        let membership = materialise(
            planner,
            self.source.as_ref(),
            &self.targets,
            store,
            Some(run_id),
            MemberOptions {
                allow_mass_removal: options.allow_mass_removal,
            },
            gate,
        )
        .await;
        self.remember_orphan_guard(store, gate, &inputs.facts).await;
        let stopped = gate.stopped();
        let c = report.counts;
        // A held removal or a deferred create is reported like a failure (exit 2):
        // someone should look.
        let outcome = match &stopped {
            Some(Stop::Store(_)) => RunOutcome::Failed,
            Some(_) => RunOutcome::Interrupted,
            None if report.failed() > 0
                || inputs.targets.iter().any(|t| !t.is_up())
                || verified.targets.iter().any(|v| v.error.is_some())
                || report
                    .tally
                    .keys()
                    .any(|(_, _, r)| *r == sgsync_store::UnitResult::Drifted)
                || c.stale > 0
                || c.held > 0
                || c.deferred > 0
                || membership.failed() > 0
                || membership.held() > 0 =>
            {
                RunOutcome::Partial
            }
            None => RunOutcome::Succeeded,
        };
        let stopped = stopped.map(|s| s.to_string());
        let counts = with_members(report.counts, &membership);
        let error = stopped.clone().or_else(|| targets_down(&inputs.targets));
        if let Err(e) = store
            .finish_run(run_id, outcome, counts, error.as_deref())
            .await
        {
            // A run that stopped because of the store (or lost its lock) cannot record
            // its end either; the next run marks it interrupted.
            if stopped.is_none() {
                return Err(RunError::store(store.location(), e));
            }
            warn!("cannot record the end of the run: {e}");
        }
        info!(outcome = %outcome, counts = %counts, "run finished");
        let mut stale_since: Vec<(String, DateTime<Utc>)> = Vec::new();
        match store.link_states().await {
            Ok(states) => {
                for s in states {
                    let Some(at) = s.stale_since else { continue };
                    match stale_since.iter_mut().find(|(t, _)| *t == s.target) {
                        Some((_, oldest)) => *oldest = (*oldest).min(at),
                        None => stale_since.push((s.target, at)),
                    }
                }
            }
            Err(e) => warn!("cannot read which copies are stale: {e}"),
        }
        Ok(RunSummary {
            run_id,
            plan: report.planned.clone(),
            report,
            membership,
            outcome,
            stopped,
            targets: inputs.targets.clone(),
            verified: verified.targets,
            stale_since,
        })
    }

    /// The orphan guard's memory for the next run: how many consecutive runs held.
    async fn remember_orphan_guard(&self, store: &Store, gate: &Fence, facts: &RunFacts) {
        let (held_runs, reason) = match facts.verdict() {
            OrphanVerdict::Held { reason, held_runs } => (*held_runs, Some(reason.as_str())),
            OrphanVerdict::Apply { .. } => (0, None),
        };
        // A run in which the guard neither held nor was holding writes nothing here.
        if held_runs == 0 && facts.held_before() == 0 {
            return;
        }
        if let Err(e) = store.set_guard(ORPHAN_GUARD, held_runs, reason).await {
            gate.store_failed(store, &e);
        }
    }
}
