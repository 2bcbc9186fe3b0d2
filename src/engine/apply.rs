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

use super::plan::{Action, OnSourceDeleted, Plan, TargetPolicy, Unit};
use crate::model::{Fidelity, ProviderKind};
use crate::providers::{ErrorKind, Payload, Provider, ProviderError};
use crate::store::{Intent, Link, RunCounts, Store, StoreError};
use chrono::Utc;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::{OnceCell, Semaphore};
use tokio::task::JoinSet;
use tracing::{Instrument, info_span, warn};

/// A configured target: its policy, its client and how many calls may run at once.
#[derive(Clone)]
pub struct Target {
    pub policy: TargetPolicy,
    pub provider: Arc<dyn Provider>,
    pub concurrency: usize,
}

/// What happened to one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitOutcome {
    pub source_id: String,
    pub target: String,
    pub action: &'static str,
    /// `Ok(result)` (`created`, `adopted`, `updated`, `unchanged`, `skipped`, `archived`,
    /// `kept`) or `Err(error text, free of secrets)`.
    pub result: Result<&'static str, String>,
}

/// Every unit's outcome and the counts that go into the run record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub outcomes: Vec<UnitOutcome>,
    pub counts: RunCounts,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.result.is_err()).count()
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

/// Applies `plan` to `targets`, recording every unit in `store` under `run_id`.
/// `source` is the provider the snapshot came from (it keys the links).
pub async fn apply(
    plan: &Plan,
    source: ProviderKind,
    targets: &[Target],
    store: &Store,
    run_id: i64,
) -> Report {
    apply_with_progress(plan, source, targets, store, run_id, &NoProgress).await
}

/// [`apply`], telling `progress` as units finish.
pub async fn apply_with_progress(
    plan: &Plan,
    source: ProviderKind,
    targets: &[Target],
    store: &Store,
    run_id: i64,
    progress: &dyn Progress,
) -> Report {
    progress.started(plan.units.len());
    // Intents left by an earlier, interrupted run: a group found by name for one of them
    // is one we created, so it may be adopted.
    let pending: HashSet<(String, String)> = match store.intents(None).await {
        Ok(intents) => intents
            .into_iter()
            .map(|i| (i.source_id, i.target))
            .collect(),
        Err(e) => {
            warn!("cannot read pending intents, treating none as pending: {e}");
            HashSet::new()
        }
    };
    let pending = Arc::new(pending);
    let mut queues = Vec::with_capacity(targets.len());
    for target in targets {
        let units: Vec<&Unit> = plan
            .units
            .iter()
            .filter(|u| u.target == target.policy.name)
            .collect();
        // Creates the listing could answer; it is worth reading only when it takes
        // fewer calls than looking each of them up.
        let fresh = units
            .iter()
            .filter(|u| {
                matches!(u.action, Action::Create { .. })
                    && !pending.contains(&(u.source_id.clone(), u.target.clone()))
            })
            .count();
        queues.push(Queue {
            target,
            permits: Arc::new(Semaphore::new(target.concurrency.max(1))),
            names: Arc::new(NameCheck {
                max_calls: fresh.saturating_sub(1),
                listing: OnceCell::new(),
            }),
            units: units.into_iter(),
        });
    }
    // A unit's task is spawned only once its target has a free slot, so at most
    // `concurrency` unit tasks per target exist at a time: memory stays flat however
    // many groups there are (a task per unit up front cost ~3 KB each). Each completed
    // unit frees a slot, and the loop refills every target's slots before it waits.
    let mut tasks = JoinSet::new();
    let mut report = Report::default();
    loop {
        for q in &mut queues {
            while let Ok(permit) = q.permits.clone().try_acquire_owned() {
                let Some(unit) = q.units.next() else {
                    break;
                };
                let (unit, target, store, pending, names) = (
                    unit.clone(),
                    q.target.clone(),
                    store.clone(),
                    pending.clone(),
                    q.names.clone(),
                );
                let span = info_span!("unit", source_id = %unit.source_id, target = %unit.target, action = unit.action.label());
                tasks.spawn(
                    async move {
                        let _permit = permit;
                        let result =
                            apply_unit(&unit, source, &target, &store, &pending, &names).await;
                        let outcome = UnitOutcome {
                            source_id: unit.source_id.clone(),
                            target: unit.target.clone(),
                            action: unit.action.label(),
                            result: result.map_err(|e| e.to_string()),
                        };
                        record(&store, run_id, &unit, source, &outcome).await;
                        outcome
                    }
                    .instrument(span),
                );
            }
        }
        let Some(joined) = tasks.join_next().await else {
            // Nothing running and nothing left to start.
            break;
        };
        match joined {
            Ok(outcome) => {
                count(&mut report.counts, &outcome);
                progress.unit_done(&outcome);
                report.outcomes.push(outcome);
            }
            // A panicking unit must not take the run down; it counts as failed.
            Err(e) => {
                report.counts.failed += 1;
                let outcome = UnitOutcome {
                    source_id: String::new(),
                    target: String::new(),
                    action: "unknown",
                    result: Err(format!("unit task ended abnormally: {e}")),
                };
                progress.unit_done(&outcome);
                report.outcomes.push(outcome);
            }
        }
    }
    // Stable order for reports and tests.
    report
        .outcomes
        .sort_by(|a, b| (&a.target, &a.source_id).cmp(&(&b.target, &b.source_id)));
    report
}

/// One target's units still to start, and its slots.
struct Queue<'a> {
    target: &'a Target,
    permits: Arc<Semaphore>,
    names: Arc<NameCheck>,
    units: std::vec::IntoIter<&'a Unit>,
}

fn count(c: &mut RunCounts, o: &UnitOutcome) {
    match o.result {
        Err(_) => c.failed += 1,
        Ok("created" | "adopted") => c.created += 1,
        Ok("updated") => c.updated += 1,
        Ok("unchanged") => c.unchanged += 1,
        Ok("archived" | "kept") => c.orphaned += 1,
        Ok(_) => c.skipped += 1,
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
        "a group named {0:?} already exists on the target and was not created by sgsync; rename one of them"
    )]
    NotOurs(String),
    #[error(
        "the linked group {0} no longer exists on the target; run `sgsync forget` for it or recreate it by hand"
    )]
    Vanished(String),
}

async fn apply_unit(
    unit: &Unit,
    source: ProviderKind,
    target: &Target,
    store: &Store,
    pending: &HashSet<(String, String)>,
    names: &NameCheck,
) -> Result<&'static str, UnitError> {
    let provider = target.provider.as_ref();
    match &unit.action {
        Action::Unchanged { .. } => Ok("unchanged"),
        Action::Skip { .. } => Ok("skipped"),
        Action::Create { payload, hash } => {
            let prior_intent = pending.contains(&(unit.source_id.clone(), unit.target.clone()));
            // Known absent only without an earlier intent (see the module comment).
            let absent = !prior_intent && names.absent(provider, &unit.group_name).await;
            let create_unit = CreateUnit {
                payload,
                hash,
                prior_intent,
                absent,
            };
            create(unit, source, target, store, create_unit).await
        }
        Action::Update {
            target_id,
            payload,
            hash,
        } => {
            match provider.update(target_id, &unit.stable_key, payload).await {
                Err(e) if e.kind == ErrorKind::NotFound => {
                    return Err(UnitError::Vanished(target_id.clone()));
                }
                other => other?,
            }
            store
                .upsert_link(&link(unit, source, target_id, hash, "updated"))
                .await?;
            Ok("updated")
        }
        Action::Orphaned { target_id, then } => match then {
            OnSourceDeleted::Keep => Ok("kept"),
            OnSourceDeleted::Archive | OnSourceDeleted::Delete => {
                match provider.archive(target_id).await {
                    Err(e) if e.kind == ErrorKind::NotFound => {}
                    other => other?,
                }
                store
                    .delete_link(source, &unit.source_id, &unit.target)
                    .await?;
                Ok("archived")
            }
        },
    }
}

/// A target's group names as listed once in this run, and the names this run's units
/// have claimed since; `None` inside when no listing was cheap enough or it failed.
struct NameCheck {
    /// Calls the listing may take: fewer than the lookups it saves.
    max_calls: usize,
    listing: OnceCell<Option<Names>>,
}

struct Names {
    /// Trimmed and case-folded.
    listed: HashSet<String>,
    claimed: Mutex<HashSet<String>>,
}

fn fold(name: &str) -> String {
    name.trim().to_lowercase()
}

impl NameCheck {
    /// True when no group named `name` can be on the target: neither listed nor claimed
    /// by another unit of this run; then the name is claimed for the caller. The first
    /// caller reads the listing; the others wait for it.
    async fn absent(&self, provider: &dyn Provider, name: &str) -> bool {
        let names = self
            .listing
            .get_or_init(|| async {
                match provider.group_names(self.max_calls).await {
                    Ok(listed) => listed.map(|listed| Names {
                        listed: listed.iter().map(|n| fold(n)).collect(),
                        claimed: Mutex::default(),
                    }),
                    Err(e) => {
                        warn!(
                            "cannot list the target's groups; looking each new one up instead: {e}"
                        );
                        None
                    }
                }
            })
            .await;
        let Some(names) = names else {
            return false;
        };
        let folded = fold(name);
        if names.listed.contains(&folded) {
            return false;
        }
        names
            .claimed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(folded)
    }
}

/// What a create needs besides the unit.
struct CreateUnit<'a> {
    payload: &'a Payload,
    hash: &'a str,
    /// An earlier run recorded the intent to create this group.
    prior_intent: bool,
    /// The target is known to hold no group of this name, so no lookup is needed.
    absent: bool,
}

async fn create(
    unit: &Unit,
    source: ProviderKind,
    target: &Target,
    store: &Store,
    c: CreateUnit<'_>,
) -> Result<&'static str, UnitError> {
    let CreateUnit {
        payload,
        hash,
        prior_intent,
        absent,
    } = c;
    let provider = target.provider.as_ref();
    // Committed before any call to the target: from here on, a crash is recoverable.
    store
        .record_intent(&Intent {
            source_provider: source,
            source_id: unit.source_id.clone(),
            target: unit.target.clone(),
            target_provider: unit.target_provider,
            stable_key: unit.stable_key.clone(),
            group_name: unit.group_name.clone(),
            payload_hash: hash.to_owned(),
            created_at: Utc::now(),
        })
        .await?;
    let found = if absent {
        None
    } else {
        provider
            .find_by_key(&unit.group_name, &unit.stable_key)
            .await?
    };
    if let Some(found) = found {
        // Ours for sure when the target stores our key; by name only when an earlier
        // run recorded the intent to create it (it crashed before recording the link).
        let ours = found.key.as_deref() == Some(unit.stable_key.as_str()) || prior_intent;
        if !ours {
            store
                .drop_intent(source, &unit.source_id, &unit.target)
                .await?;
            return Err(UnitError::NotOurs(unit.group_name.clone()));
        }
        // Adopted with no hash: the next run re-pushes the current definition, which
        // may differ from what the interrupted run sent.
        let mut adopted = link(unit, source, &found.id, hash, "adopted");
        adopted.payload_hash = None;
        store.complete_intent(&adopted).await?;
        return Ok("adopted");
    }
    match provider.create(&unit.stable_key, payload).await {
        Ok(id) => {
            store
                .complete_intent(&link(unit, source, &id, hash, "created"))
                .await?;
            Ok("created")
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

fn link(unit: &Unit, source: ProviderKind, target_id: &str, hash: &str, result: &str) -> Link {
    let now = Utc::now();
    let (fidelity, reasons) = match &unit.fidelity {
        Some(Fidelity::Exact) | None => ("exact", String::new()),
        Some(f @ Fidelity::Lossy(_)) => ("lossy", reasons_text(f)),
        Some(f @ Fidelity::Impossible(_)) => ("impossible", reasons_text(f)),
    };
    Link {
        source_provider: source,
        source_id: unit.source_id.clone(),
        target: unit.target.clone(),
        target_provider: unit.target_provider,
        target_id: target_id.to_owned(),
        stable_key: unit.stable_key.clone(),
        group_name: unit.group_name.clone(),
        payload_hash: Some(hash.to_owned()),
        fidelity: fidelity.to_owned(),
        fidelity_reasons: reasons,
        last_result: Some(result.to_owned()),
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

/// The unit's event, and its result on the link when there is one. A store failure here
/// is logged, not fatal: the unit's own writes are already committed.
async fn record(
    store: &Store,
    run_id: i64,
    unit: &Unit,
    source: ProviderKind,
    outcome: &UnitOutcome,
) {
    let (result, error) = match &outcome.result {
        Ok(r) => (*r, None),
        Err(e) => ("failed", Some(e.as_str())),
    };
    // Logged and recorded in one step, so JSON logs carry every failure as an event.
    if let Some(e) = error {
        warn!(
            target_name = %unit.target,
            source_id = %unit.source_id,
            action = unit.action.label(),
            error = %e,
            "unit failed"
        );
    }
    if let Err(e) = store
        .record_event(
            run_id,
            &unit.source_id,
            &unit.target,
            unit.action.label(),
            result,
            error,
        )
        .await
    {
        warn!(
            "cannot record the event for {}/{}: {e}",
            unit.target, unit.source_id
        );
    }
    let linked = !matches!(
        outcome.result,
        Ok("created" | "adopted" | "updated" | "archived")
    );
    if linked
        && let Err(e) = store
            .set_link_result(source, &unit.source_id, &unit.target, result, error)
            .await
    {
        warn!(
            "cannot record the result for {}/{}: {e}",
            unit.target, unit.source_id
        );
    }
}
