//! Carrying a plan out: each unit on its own (one failure never stops the others), with
//! bounded concurrency per target, and every write that must survive a crash committed
//! to the store before the network call it protects.
//!
//! Crash-safe create: record an intent, look the stable key up on the target, create
//! only if absent, then record the link and clear the intent in one transaction. A crash
//! anywhere leaves either nothing (no intent), or an intent the next run resolves by the
//! same lookup, so no run creates a duplicate and no created group is lost.
//!
//! One lookup per create doubles a first sync's calls, so a target with many creates
//! is listed once instead (`NameCheck`: every group name it holds, read under the run
//! lock before this run's first create there), and only a name that listing holds is
//! looked up. That is as safe as the lookup it replaces, because the listing is only
//! trusted to say "no group of this name", and only where nothing but this run could
//! have made one since:
//! - a unit with an intent left by an earlier run is always looked up on the provider:
//!   that run's create may have landed after the listing (a request still in flight
//!   from a killed process, a lost response);
//! - without such an intent, no earlier run created the group: every create is preceded
//!   by a committed intent, which goes only with the link recorded (then the unit is
//!   not a create) or once the provider's answer proves nothing was made;
//! - no other sgsync writes meanwhile (the run lock), and two units of this run with
//!   the same name never both skip the lookup: the second finds the name claimed and
//!   looks it up, as before;
//! - names are compared trimmed and case-folded, looser than any provider's own match,
//!   so "absent" in the listing means absent for `find_by_key` too.
//!
//! What neither design sees is a same-named group made by hand during the run, after
//! the listing (or after the lookup): the listing only makes that window longer.

use super::lease::Fence;
use super::plan::{
    Action, Known, OnSourceDeleted, PlanOverview, Planner, Recorded, TargetPolicy, Unit, truncate,
};
use chrono::Utc;
use sgsync_model::{Fidelity, ProviderKind};
use sgsync_provider::{ErrorKind, Payload, Provider, ProviderError, fence};
use sgsync_store::{Intent, Link, RunCounts, Store, StoreError, UnitRecord, UnitResult};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio::task::JoinSet;
use tracing::{Instrument, info, info_span, warn};

mod names;
use names::NameCheck;

/// A configured target: its policy, its client and how many calls may run at once.
#[derive(Clone)]
pub struct Target {
    pub policy: TargetPolicy,
    pub provider: Arc<dyn Provider>,
    pub concurrency: usize,
    /// Calls each run may spend reading this target's copies back (drift detection).
    pub verify: super::verify::VerifyBudget,
}

/// What happened to one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitOutcome {
    pub source_id: String,
    pub target: String,
    /// The name written (or to be written) on the target.
    pub group_name: String,
    pub action: &'static str,
    /// What became of it (never [`UnitResult::Failed`]), or the error text, free of
    /// secrets.
    pub result: Result<UnitResult, String>,
    /// What its link held before (see [`Recorded`]).
    pub recorded: Recorded,
}

impl UnitOutcome {
    /// The result, [`UnitResult::Failed`] for an error.
    pub fn result_or_failed(&self) -> UnitResult {
        *self.result.as_ref().unwrap_or(&UnitResult::Failed)
    }

    /// Worth a line of its own: it wrote, failed, or is an orphan kept in place. Units
    /// left unchanged or skipped are only counted: a run over 10 000 groups would
    /// otherwise hold 20 000 lines that say "nothing happened" (`sgsync plan` says why).
    fn notable(&self) -> bool {
        !matches!(self.result, Ok(UnitResult::Unchanged | UnitResult::Skipped))
    }
}

/// What a run did: the notable units one by one, every unit counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// What was planned, counted before anything was applied.
    pub planned: PlanOverview,
    /// Units that wrote, failed or kept an orphan, by target and source id.
    pub outcomes: Vec<UnitOutcome>,
    /// Every unit by (target, action, result).
    pub tally: BTreeMap<(String, &'static str, UnitResult), usize>,
    pub counts: RunCounts,
    /// Units never started because the run stopped writing (see `lease::Fence`).
    pub not_started: usize,
    /// Units whose event or link result went to the store after they ended (the
    /// others' links already said so): what a run costs the store beyond its writes.
    pub recorded: usize,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.counts.failed as usize
    }

    fn add(&mut self, outcome: UnitOutcome) {
        count(&mut self.counts, &outcome);
        let result = outcome.result_or_failed();
        *self
            .tally
            .entry((outcome.target.clone(), outcome.action, result))
            .or_default() += 1;
        if outcome.notable() {
            self.outcomes.push(outcome);
        }
    }
}

/// A line per notable unit, then what was only counted.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for o in &self.outcomes {
            let result = match &o.result {
                Ok(r) => r.to_string(),
                Err(e) => format!("failed: {e}"),
            };
            writeln!(
                f,
                "{:<10} {:<12} {:<40} {}",
                o.action,
                o.target,
                truncate(&o.group_name, 40),
                result
            )?;
        }
        for note in &self.planned.notes {
            writeln!(f, "note: {note}")?;
        }
        if self.not_started > 0 {
            writeln!(
                f,
                "{} unit(s) not started: the run stopped writing",
                self.not_started
            )?;
        }
        let c = &self.counts;
        write!(
            f,
            "{} unit(s), {} planned write(s); not listed: {} unchanged, {} skipped (`sgsync plan` says why)",
            self.planned.units, self.planned.writes, c.unchanged, c.skipped
        )
    }
}

/// Told how a run's units advance, e.g. to draw a progress bar; the engine knows
/// nothing more about who listens.
pub trait Progress: Send + Sync {
    /// `units` are about to be applied.
    fn started(&self, _units: usize) {}
    /// One unit is done, whatever its result.
    fn unit_done(&self, _outcome: &UnitOutcome) {}
}

/// Nobody listens.
pub struct NoProgress;

impl Progress for NoProgress {}

/// What [`apply`] works with besides the plan.
#[derive(Clone, Copy)]
pub struct Apply<'a> {
    /// The provider the snapshot came from (it keys the links).
    pub source: ProviderKind,
    /// The planner's targets, in the same order.
    pub targets: &'a [Target],
    pub store: &'a Store,
    pub run_id: i64,
    pub progress: &'a dyn Progress,
    /// Every unit and every provider call asks it first; a store failure closes it.
    pub fence: &'a Arc<Fence>,
    /// At most this many creates per target in this run (`[sync] max_creates_per_run`).
    pub max_creates: Option<usize>,
}

/// Applies what `planner` plans, recording every unit in the store under the run.
///
/// Units are planned as they are started, one target's at a time each, so the run
/// holds only the units in flight: memory does not grow with the number of groups
/// beyond the snapshot and the link index. A first pass only counts (for the log, the
/// progress bar and the listing decision); planning is pure and cheap next to a call.
pub async fn apply(planner: Planner<'_>, ctx: Apply<'_>) -> Report {
    let Apply {
        source,
        targets,
        store,
        run_id,
        progress,
        fence,
        max_creates,
    } = ctx;
    // Intents left by an earlier, interrupted run, whether their create was sent and
    // what it sent: only a group found by name for a *sent* create may be one we
    // created, and it holds the sent payload.
    let pending: HashMap<(String, String), Prior> = match store.intents(None).await {
        Ok(intents) => intents
            .into_iter()
            .map(|i| {
                let prior = Prior {
                    sent: i.sent,
                    hash: i.payload_hash,
                };
                ((i.source_id, i.target), prior)
            })
            .collect(),
        Err(e) => {
            // Without them a crashed create could be made twice: write nothing.
            fence.store_failed(store, &e);
            HashMap::new()
        }
    };
    let pending = Arc::new(pending);
    let mut report = Report {
        planned: PlanOverview {
            notes: planner.notes(),
            ..PlanOverview::default()
        },
        ..Report::default()
    };
    let mut queues = Vec::with_capacity(targets.len());
    for (t, target) in targets.iter().enumerate() {
        debug_assert_eq!(planner.targets()[t].name, target.policy.name);
        // Creates the listing could answer; it is worth reading only when it takes
        // fewer calls than looking each of them up.
        let mut fresh = 0usize;
        let mut updates = Vec::new();
        // What this pass learns spares the apply pass translating the units that
        // change nothing (most of them, most runs).
        let mut known = Vec::new();
        for u in planner.units_for(t) {
            known.push(Known::of(&u.action));
            report.planned.units += 1;
            report.planned.writes += usize::from(u.action.writes());
            if let Action::Update { target_id, .. } = &u.action {
                updates.push(target_id.clone());
            }
            if matches!(u.action, Action::Create { .. })
                && !pending.contains_key(&(u.source_id, u.target))
            {
                fresh += 1;
            }
        }
        target.provider.will_update(updates);
        let fresh = max_creates.map_or(fresh, |cap| fresh.min(cap));
        queues.push(Queue {
            target,
            running: 0,
            creates_left: max_creates,
            names: Arc::new(NameCheck::new(
                fresh.saturating_sub(1),
                planner.directory(t).group_names(),
            )),
            units: Box::new(planner.units_for_known(t, known)),
        });
    }
    info!(
        units = report.planned.units,
        writes = report.planned.writes,
        "planned"
    );
    progress.started(report.planned.units);
    // A unit's task is spawned only while its target has fewer than `concurrency` units
    // started and not yet joined, so at most that many unit tasks per target exist at
    // a time: memory stays flat however many groups there are (a task costs ~3 KB
    // until joined). A slot is freed when its task is joined, not when it ends: units
    // that end at once (nothing to write) would otherwise pile up finished in the set.
    let mut tasks = JoinSet::new();
    let mut queue_of: HashMap<tokio::task::Id, usize> = HashMap::new();
    // Finished units not recorded yet: recorded in batches, one transaction each.
    let mut finished = Vec::with_capacity(RECORD_BATCH);
    loop {
        for (i, q) in queues.iter_mut().enumerate() {
            while q.running < q.target.concurrency.max(1) {
                // Nothing new starts once the run cannot prove its lease or record
                // what it does; what is in flight ends on its own.
                if fence.check(Duration::ZERO).is_err() {
                    report.not_started += q.units.by_ref().count();
                    break;
                }
                let Some(unit) = q.units.next() else {
                    break;
                };
                if matches!(unit.action, Action::Create { .. }) {
                    if q.creates_left == Some(0) {
                        let outcome = UnitOutcome {
                            source_id: unit.source_id,
                            target: unit.target,
                            group_name: unit.group_name,
                            action: unit.action.label(),
                            result: Ok(UnitResult::Deferred),
                            recorded: unit.recorded,
                        };
                        progress.unit_done(&outcome);
                        finished.push(outcome);
                        continue;
                    }
                    q.creates_left = q.creates_left.map(|n| n - 1);
                }
                // A unit with nothing to send ends here, without a task of its own:
                // most units of a run with few changes.
                if let Some(result) = settled(&unit.action) {
                    let outcome = UnitOutcome {
                        source_id: unit.source_id,
                        target: unit.target,
                        group_name: unit.group_name,
                        action: unit.action.label(),
                        result: result.map_err(|e| e.to_string()),
                        recorded: unit.recorded,
                    };
                    log_failure(&outcome);
                    progress.unit_done(&outcome);
                    finished.push(outcome);
                    if finished.len() >= RECORD_BATCH {
                        report.recorded += record(store, run_id, source, &finished, fence).await;
                        finished.drain(..).for_each(|o| report.add(o));
                    }
                    continue;
                }
                let (target, store, pending, names, unit_fence) = (
                    q.target.clone(),
                    store.clone(),
                    pending.clone(),
                    q.names.clone(),
                    fence.clone(),
                );
                let span = info_span!("unit", source_id = %unit.source_id, target = %unit.target, action = unit.action.label());
                let work = async move {
                    let result = apply_unit(&unit, source, &target, &store, &pending, &names).await;
                    if let Err(UnitError::Store(e)) = &result {
                        unit_fence.store_failed(&store, e);
                    }
                    let outcome = UnitOutcome {
                        source_id: unit.source_id,
                        target: unit.target,
                        group_name: unit.group_name,
                        action: unit.action.label(),
                        result: result.map_err(|e| e.to_string()),
                        recorded: unit.recorded,
                    };
                    log_failure(&outcome);
                    outcome
                };
                let task = tasks.spawn(fence::scope(fence.clone(), work).instrument(span));
                queue_of.insert(task.id(), i);
                q.running += 1;
            }
        }
        let Some(joined) = tasks.join_next_with_id().await else {
            // Nothing running and nothing left to start.
            break;
        };
        let id = match &joined {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        if let Some(q) = queue_of.remove(&id).and_then(|i| queues.get_mut(i)) {
            q.running -= 1;
        }
        let outcome = match joined {
            Ok((_, outcome)) => outcome,
            // A panicking unit must not take the run down; it counts as failed (with
            // no unit to record it against).
            Err(e) => {
                let outcome = UnitOutcome {
                    source_id: String::new(),
                    target: String::new(),
                    group_name: String::new(),
                    action: "unknown",
                    result: Err(format!("unit task ended abnormally: {e}")),
                    recorded: Recorded::NoLink,
                };
                progress.unit_done(&outcome);
                report.add(outcome);
                continue;
            }
        };
        progress.unit_done(&outcome);
        finished.push(outcome);
        if finished.len() >= RECORD_BATCH {
            report.recorded += record(store, run_id, source, &finished, fence).await;
            finished.drain(..).for_each(|o| report.add(o));
        }
    }
    report.recorded += record(store, run_id, source, &finished, fence).await;
    finished.into_iter().for_each(|o| report.add(o));
    // Stable order for reports and tests.
    report
        .outcomes
        .sort_by(|a, b| (&a.target, &a.source_id).cmp(&(&b.target, &b.source_id)));
    report
}

/// An intent an earlier run left: whether its create was sent, and the hash of the
/// payload it sent.
#[derive(Debug, Clone)]
struct Prior {
    sent: bool,
    hash: String,
}

/// One target's units still to start, and its slots.
struct Queue<'a> {
    target: &'a Target,
    /// Units started and not yet joined.
    running: usize,
    /// Creates this target may still start this run (`None`: no cap).
    creates_left: Option<usize>,
    names: Arc<NameCheck>,
    units: Box<dyn Iterator<Item = Unit> + Send + 'a>,
}

fn count(c: &mut RunCounts, o: &UnitOutcome) {
    match o.result_or_failed() {
        UnitResult::Failed => c.failed += 1,
        UnitResult::Created | UnitResult::Adopted => c.created += 1,
        UnitResult::Updated => c.updated += 1,
        UnitResult::Unchanged => c.unchanged += 1,
        UnitResult::Archived | UnitResult::Deleted | UnitResult::Kept => c.orphaned += 1,
        UnitResult::Held => c.held += 1,
        UnitResult::Deferred => c.deferred += 1,
        UnitResult::Skipped => c.skipped += 1,
        UnitResult::Repaired | UnitResult::Drifted => c.drift += 1,
        UnitResult::Stale => c.stale += 1,
    }
}

/// Why a unit failed.
#[derive(Debug, thiserror::Error)]
enum UnitError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    #[error(
        "a group named {} already exists on the target and sgsync cannot prove it made it; rename one of them (sgsync never adopts, changes or removes a group it did not create)",
        super::plan::quoted(.0)
    )]
    NotOurs(String),
    #[error("{0}")]
    Refused(String),
    #[error(
        "the linked group {0} no longer exists on the target; the next run finds it gone and creates it again (on_drift = \"repair\", the default)"
    )]
    Vanished(String),
}

/// The result of a unit that sends nothing and writes nothing of its own; `None` for
/// one that calls the target.
fn settled(action: &Action) -> Option<Result<UnitResult, UnitError>> {
    match action {
        Action::Unchanged { .. } => Some(Ok(UnitResult::Unchanged)),
        Action::Skip { .. } => Some(Ok(UnitResult::Skipped)),
        Action::Held { .. } => Some(Ok(UnitResult::Held)),
        Action::Refused { reason } => Some(Err(UnitError::Refused(reason.clone()))),
        Action::Create { .. }
        | Action::Update { .. }
        | Action::Orphaned { .. }
        | Action::Drift { .. }
        | Action::Stale { .. } => None,
    }
}

/// Writes `payload` over the copy `target_id` and records it as `result` (an update, or
/// the repair of a copy changed by hand); a copy gone meanwhile is `Vanished`.
async fn update(
    unit: &Unit,
    source: ProviderKind,
    target: &Target,
    store: &Store,
    (target_id, payload, hash): (&str, &Payload, &str),
    result: UnitResult,
) -> Result<UnitResult, UnitError> {
    match target
        .provider
        .update(target_id, &unit.stable_key, payload)
        .await
    {
        Err(e) if e.kind == ErrorKind::NotFound => {
            return Err(UnitError::Vanished(target_id.to_owned()));
        }
        other => other?,
    }
    store
        .upsert_link(&link(unit, source, target_id, hash, result))
        .await?;
    Ok(result)
}

async fn apply_unit(
    unit: &Unit,
    source: ProviderKind,
    target: &Target,
    store: &Store,
    pending: &HashMap<(String, String), Prior>,
    names: &NameCheck,
) -> Result<UnitResult, UnitError> {
    let provider = target.provider.as_ref();
    if let Some(result) = settled(&unit.action) {
        return result;
    }
    match &unit.action {
        Action::Unchanged { .. }
        | Action::Skip { .. }
        | Action::Held { .. }
        | Action::Refused { .. } => unreachable!("settled above"),
        Action::Create { payload, hash } => {
            let prior = pending.get(&(unit.source_id.clone(), unit.target.clone()));
            // Known absent only without an earlier intent (see the module comment).
            let absent = prior.is_none() && names.absent(provider, &unit.group_name).await;
            let create_unit = CreateUnit {
                payload,
                hash,
                prior_sent: prior.is_some_and(|p| p.sent),
                sent_same: prior.is_some_and(|p| p.sent && p.hash == *hash),
                absent,
            };
            create(unit, source, target, store, create_unit).await
        }
        Action::Update {
            target_id,
            payload,
            hash,
        } => {
            update(
                unit,
                source,
                target,
                store,
                (target_id, payload, hash),
                UnitResult::Updated,
            )
            .await
        }
        Action::Stale { .. } => {
            store
                .mark_stale(source, &unit.source_id, &unit.target)
                .await?;
            Ok(UnitResult::Stale)
        }
        Action::Drift {
            drift,
            repair: None,
            ..
        } => {
            store
                .set_drift(source, &unit.source_id, &unit.target, Some(&drift.what))
                .await?;
            Ok(UnitResult::Drifted)
        }
        Action::Drift {
            target_id,
            drift,
            repair: Some((payload, hash)),
            ..
        } => {
            info!(target_id = %target_id, drift = %drift.what, "repairing a copy changed by hand");
            if drift.vanished {
                // Created again, as a first sync would: an intent first, the key looked
                // up (a group of the name that is not ours is refused, never adopted),
                // then the link moves to the new copy.
                // An intent an interrupted repair left says whether that create was
                // sent: then a same-named group found may be the one it made.
                let prior = pending.get(&(unit.source_id.clone(), unit.target.clone()));
                let create_unit = CreateUnit {
                    payload,
                    hash,
                    prior_sent: prior.is_some_and(|p| p.sent),
                    sent_same: prior.is_some_and(|p| p.sent && p.hash == *hash),
                    absent: false,
                };
                create(unit, source, target, store, create_unit).await?;
                Ok(UnitResult::Repaired)
            } else {
                let copy = (target_id.as_str(), payload, hash.as_str());
                update(unit, source, target, store, copy, UnitResult::Repaired).await
            }
        }
        Action::Orphaned { target_id, then } => {
            let done = match then {
                OnSourceDeleted::Keep => return Ok(UnitResult::Kept),
                OnSourceDeleted::Archive => provider.archive(target_id).await,
                OnSourceDeleted::Delete => provider.delete(target_id).await,
            };
            match done {
                Err(e) if e.kind == ErrorKind::NotFound => {}
                other => other?,
            }
            store
                .delete_link(source, &unit.source_id, &unit.target)
                .await?;
            Ok(then.result())
        }
    }
}

/// What a create needs besides the unit.
struct CreateUnit<'a> {
    payload: &'a Payload,
    hash: &'a str,
    /// An earlier run of this store sent a create for this group (it may have landed).
    prior_sent: bool,
    /// ... and what it sent is this very payload.
    sent_same: bool,
    /// The target is known to hold no group of this name, so no lookup is needed.
    absent: bool,
}

async fn create(
    unit: &Unit,
    source: ProviderKind,
    target: &Target,
    store: &Store,
    c: CreateUnit<'_>,
) -> Result<UnitResult, UnitError> {
    let CreateUnit {
        payload,
        hash,
        prior_sent,
        sent_same,
        absent,
    } = c;
    let provider = target.provider.as_ref();
    // Committed before any call to the target: from here on, a crash is recoverable.
    // A group known absent is created next, without a lookup, so its intent is
    // written as sent at once (one transaction instead of two per new group).
    store
        .record_intent(&Intent {
            source_provider: source.as_str().to_owned(),
            source_id: unit.source_id.clone(),
            target: unit.target.clone(),
            target_provider: unit.target_provider.as_str().to_owned(),
            stable_key: unit.stable_key.clone(),
            group_name: unit.group_name.clone(),
            payload_hash: hash.to_owned(),
            created_at: Utc::now(),
            sent: absent,
        })
        .await?;
    let found = if absent {
        None
    } else {
        match provider
            .find_by_key(&unit.group_name, &unit.stable_key)
            .await
        {
            Ok(found) => found,
            // Several groups answer to the name: none can be proven ours, so the intent
            // goes (the unit fails every run, with the reason, until one is renamed).
            Err(e) if e.kind == ErrorKind::Conflict => {
                store
                    .drop_intent(source, &unit.source_id, &unit.target)
                    .await?;
                return Err(e.into());
            }
            // The lookup failed: nothing was sent, and the intent still says so.
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(found) = found {
        // Ours for sure when the target stores our key; by name only when this store
        // sent a create for it (a run that crashed, or lost the answer, before
        // recording the link). An intent that was never sent proves nothing: the
        // group was made by someone else.
        let ours = found.key.as_deref() == Some(unit.stable_key.as_str()) || prior_sent;
        if !ours {
            store
                .drop_intent(source, &unit.source_id, &unit.target)
                .await?;
            return Err(UnitError::NotOurs(unit.group_name.clone()));
        }
        // The adopted group is made to hold the current definition now, so the link
        // records the hash of what the target holds and the next run has nothing to
        // write: a group our own interrupted create sent with this very payload holds
        // it already; any other (an older payload, or a copy archived when its source
        // went and found again because the source group came back) is updated, which
        // also makes an archived copy active again. A target that cannot update keeps
        // no hash: what it holds is unknown, and the planner reports it stale.
        let mut adopted = link(unit, source, &found.id, hash, UnitResult::Adopted);
        if !sent_same {
            if target.policy.capabilities.update {
                match provider.update(&found.id, &unit.stable_key, payload).await {
                    Err(e) if e.kind == ErrorKind::NotFound => {
                        return Err(UnitError::Vanished(found.id.clone()));
                    }
                    other => other?,
                }
            } else {
                adopted.payload_hash = None;
            }
        }
        store.complete_intent(&adopted).await?;
        return Ok(UnitResult::Adopted);
    }
    // Committed before the call: from here on a same-named group may be ours.
    if !absent {
        store
            .mark_intent_sent(source, &unit.source_id, &unit.target)
            .await?;
    }
    match provider.create(&unit.stable_key, payload).await {
        Ok(id) => {
            store
                .complete_intent(&link(unit, source, &id, hash, UnitResult::Created))
                .await?;
            Ok(UnitResult::Created)
        }
        Err(e) => {
            // Only an answer that proves nothing was created lets the intent go; after a
            // timeout or a server error the group may exist, and the next run's lookup
            // will find it.
            if !e.is_temporary() || e.kind.request_not_processed() {
                store
                    .drop_intent(source, &unit.source_id, &unit.target)
                    .await?;
            }
            Err(e.into())
        }
    }
}

fn link(
    unit: &Unit,
    source: ProviderKind,
    target_id: &str,
    hash: &str,
    result: UnitResult,
) -> Link {
    let now = Utc::now();
    let (fidelity, reasons) = match &unit.fidelity {
        Some(Fidelity::Exact) | None => ("exact", String::new()),
        Some(f @ Fidelity::Lossy(_)) => ("lossy", reasons_text(f)),
        Some(f @ Fidelity::Impossible(_)) => ("impossible", reasons_text(f)),
    };
    Link {
        source_provider: source.as_str().to_owned(),
        source_id: unit.source_id.clone(),
        target: unit.target.clone(),
        target_provider: unit.target_provider.as_str().to_owned(),
        target_id: target_id.to_owned(),
        stable_key: unit.stable_key.clone(),
        group_name: unit.group_name.clone(),
        payload_hash: Some(hash.to_owned()),
        fidelity: fidelity.to_owned(),
        fidelity_reasons: reasons,
        last_result: Some(result),
        last_error: None,
        created_at: now,
        updated_at: now,
    }
}

fn reasons_text(f: &Fidelity) -> String {
    f.reasons()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// How many finished units are recorded in one store transaction: one transaction per
/// unit made a no-op run over 10 000 groups take seconds.
const RECORD_BATCH: usize = 256;

/// Logged as it happens (a unit's event is recorded with its batch), so JSON logs
/// carry every failure at once.
fn log_failure(outcome: &UnitOutcome) {
    if let Err(e) = &outcome.result {
        warn!(
            target_name = %outcome.target,
            source_id = %outcome.source_id,
            action = outcome.action,
            error = %e,
            "unit failed"
        );
    }
}

/// The events of `finished` units that did something or failed, and their results on
/// the links they did not write themselves. The units' own writes are already
/// committed, but a store that cannot take this history cannot take the next unit's
/// writes either: the run stops writing.
async fn record(
    store: &Store,
    run_id: i64,
    source: ProviderKind,
    finished: &[UnitOutcome],
    fence: &Fence,
) -> usize {
    let records: Vec<UnitRecord<'_>> = finished
        .iter()
        .map(|o| {
            let record = UnitRecord {
                source_id: &o.source_id,
                target: &o.target,
                action: o.action,
                result: o.result_or_failed(),
                error: o.result.as_ref().err().map(String::as_str),
                event: o.notable(),
                link_result: !matches!(
                    o.result,
                    Ok(UnitResult::Created
                        | UnitResult::Adopted
                        | UnitResult::Updated
                        | UnitResult::Repaired
                        | UnitResult::Archived
                        | UnitResult::Deleted)
                ),
            };
            (record, o)
        })
        // Nothing to write for a unit without an event whose link already says so:
        // a run with few changes issues a statement per change, not per group.
        .filter(|(r, o)| r.event || (r.link_result && o.recorded.differs(r.result, r.error)))
        .map(|(r, _)| r)
        .collect();
    if let Err(e) = store.record_units(run_id, source, &records).await {
        warn!(
            "cannot record the results of {} unit(s): {e}",
            finished.len()
        );
        fence.store_failed(store, &e);
    }
    records.len()
}
