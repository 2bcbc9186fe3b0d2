//! Membership materialisation, the acting part: after the groups are applied, every
//! (source group, target) unit whose target takes members gets the source group's
//! people as the members of its static target group.
//!
//! Per unit: read the source group's people (all pages), diff their email hashes
//! against the set last synced (the store), and send only the difference — adds and
//! removes in batches of the target's limit, a contact unknown to us found or created
//! by email. A unit with no membership change makes no call to the target at all.
//!
//! A target that creates no one (an LMS: iSpring Learn, `MemberTarget::finder`) finds
//! its users by email in batches instead, counts the people without an account (and
//! does not look them up again on every run), and writes the difference per user or
//! replaces the whole membership in one call, whichever costs less (`lookup.rs`).
//!
//! Crash safety: the store is updated after every successful batch (and after every
//! contact found or created), in one transaction each; every call is idempotent (adding
//! a member twice, removing a non-member, saving a contact by email), so a crash at any
//! point leaves at most one batch unrecorded, which the next run's diff sends again:
//! nothing is lost and nothing is duplicated.

use super::lease::Fence;
use super::plan::{Action, Planner};
use chrono::Utc;
use sgsync_model::ProviderKind;
use sgsync_model::members::{self, Email, MemberHash, MemberSet, Removals, Synced};
use sgsync_provider::members::{GroupKind, MemberSource, MemberTarget};
use sgsync_provider::{Provider, ProviderError};
use sgsync_store::{MemberKey, MemberResult, MembershipEnd, Store, StoreError};
use std::collections::{HashMap, HashSet};
use tracing::{Instrument, info, info_span, warn};

use super::apply::Target;

mod lookup;

pub use lookup::{IDS_PER_CALL, RECHECK_NO_ACCOUNT, replace_is_cheaper};

/// How many entering emails / leaving contact ids a plan keeps for `--verbose`.
pub const PREVIEW: usize = 5;

/// Options a caller gives one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemberOptions {
    /// Apply removals the guard would hold (`--allow-mass-removal`).
    pub allow_mass_removal: bool,
}

/// What happened (or, for a dry run, would happen) to one membership unit.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberOutcome {
    pub source_id: String,
    pub target: String,
    /// The target's provider, for messages ("iSpring Learn").
    pub provider: String,
    pub group_name: String,
    /// Members the target group holds after this run: source people with a usable
    /// email (on a target that creates no one: those who have an account there).
    pub total: usize,
    /// On a target that creates no one: source people with an email but no account
    /// there (never created, counted); `None` on a target that creates contacts.
    pub without_account: Option<usize>,
    /// Of the adds, how many have no known contact id yet and are looked up by email.
    pub to_look_up: usize,
    /// The membership was written in one replace call rather than per member.
    pub replaced: bool,
    pub last_total: usize,
    pub without_email: usize,
    /// Adds and removals planned.
    pub to_add: usize,
    pub to_remove: usize,
    /// Adds and removals done (0 in a dry run).
    pub added: usize,
    pub removed: usize,
    /// Contacts the target did not know to us, found or created by email.
    pub by_email: usize,
    /// First entering emails (as the source wrote them) and leaving contact ids.
    pub add_preview: Vec<String>,
    pub remove_preview: Vec<String>,
    /// The guard's verdict when it tripped.
    pub guard: Option<Removals>,
    /// What became of it (never [`MemberResult::Failed`]), or the error.
    pub result: Result<MemberResult, String>,
}

impl MemberOutcome {
    /// A unit with nothing counted yet.
    fn new(
        source_id: &str,
        target: &str,
        group_name: &str,
        result: Result<MemberResult, String>,
    ) -> Self {
        MemberOutcome {
            source_id: source_id.to_owned(),
            target: target.to_owned(),
            provider: String::new(),
            group_name: group_name.to_owned(),
            total: 0,
            without_account: None,
            to_look_up: 0,
            replaced: false,
            last_total: 0,
            without_email: 0,
            to_add: 0,
            to_remove: 0,
            added: 0,
            removed: 0,
            by_email: 0,
            add_preview: Vec::new(),
            remove_preview: Vec::new(),
            guard: None,
            result,
        }
    }

    pub fn held(&self) -> bool {
        matches!(self.guard, Some(Removals::Held(_)))
    }

    /// "N of M have no iSpring Learn account", on a target that creates no one. A plan
    /// looks nobody up, so it says how many are still to be looked up.
    pub fn no_account_note(&self) -> Option<String> {
        let n = self.without_account?;
        let m = self.total + n;
        let provider = &self.provider;
        Some(
            if self.to_look_up > 0 && matches!(self.result, Ok(MemberResult::Planned)) {
                format!(
                    "{n} of {m} known to have no {provider} account, {} to look up by email",
                    self.to_look_up
                )
            } else {
                format!("{n} of {m} have no {provider} account")
            },
        )
    }
}

/// Every membership unit of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberReport {
    pub outcomes: Vec<MemberOutcome>,
}

impl MemberReport {
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.result.is_err()).count()
    }
    pub fn held(&self) -> usize {
        self.outcomes.iter().filter(|o| o.held()).count()
    }
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
    }
}

impl MemberReport {
    /// One line per unit (`members  target  group  snapshot  +adds -removals …`), and
    /// with `verbose` the first entering emails and leaving contact ids.
    pub fn render(&self, verbose: bool) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for o in &self.outcomes {
            let counts = match &o.result {
                Ok(MemberResult::Planned) => format!("+{} -{}", o.to_add, o.to_remove),
                _ => format!("+{} -{}", o.added, o.removed),
            };
            let _ = write!(
                out,
                "{:<10} {:<12} {:<40} {:<10} {counts} → {} member(s) (was {})",
                "members",
                o.target,
                truncate(&o.group_name, 40),
                "snapshot",
                o.total,
                o.last_total,
            );
            if o.without_email > 0 {
                let _ = write!(out, ", {} without an email", o.without_email);
            }
            if let Some(note) = o.no_account_note() {
                let _ = write!(out, ", {note}");
            }
            if o.replaced {
                out.push_str(" (one replace call)");
            }
            match (&o.result, &o.guard) {
                (Err(e), _) => {
                    let _ = write!(out, "  FAILED: {e}");
                }
                (_, Some(Removals::Held(why) | Removals::Allowed(why))) => {
                    let _ = write!(out, "  {why}");
                }
                (Ok(r), _) => {
                    let _ = write!(out, "  {r}");
                }
            }
            out.push('\n');
            if verbose {
                if !o.add_preview.is_empty() {
                    let more = o.to_add.saturating_sub(o.add_preview.len());
                    let _ = writeln!(
                        out,
                        "           adds: {}{}",
                        o.add_preview.join(", "),
                        if more > 0 {
                            format!(" … and {more} more")
                        } else {
                            String::new()
                        }
                    );
                }
                if !o.remove_preview.is_empty() {
                    let more = o.to_remove.saturating_sub(o.remove_preview.len());
                    let _ = writeln!(
                        out,
                        "           removals (target contact ids; emails are not stored): {}{}",
                        o.remove_preview.join(", "),
                        if more > 0 {
                            format!(" … and {more} more")
                        } else {
                            String::new()
                        }
                    );
                }
            }
        }
        out
    }

    /// The units as JSON for `plan --json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.outcomes
                .iter()
                .map(|o| {
                    serde_json::json!({
                        "source_id": o.source_id,
                        "target": o.target,
                        "group_name": o.group_name,
                        "fidelity": "snapshot",
                        "members": o.total,
                        "last_members": o.last_total,
                        "without_email": o.without_email,
                        "without_account": o.without_account,
                        "to_look_up": o.to_look_up,
                        "replaced": o.replaced,
                        "adds": o.to_add,
                        "removals": o.to_remove,
                        "added": o.added,
                        "removed": o.removed,
                        "held": match &o.guard { Some(Removals::Held(why)) => Some(why), _ => None },
                        "error": o.result.as_ref().err(),
                    })
                })
                .collect(),
        )
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Why a membership unit failed.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    #[error(
        "target group {group_id} ({name:?}) is a Dynamic group: its members come from a query on {provider}, so sgsync never writes them; make it static or unlink it"
    )]
    DynamicGroup {
        provider: &'static str,
        group_id: String,
        name: String,
    },
    #[error("{0} cannot list a group's people")]
    NoSource(&'static str),
    #[error("{failed} of {tried} member change(s) refused by the target, e.g. {example}")]
    Rows {
        failed: usize,
        tried: usize,
        example: String,
    },
}

/// One unit to materialise: a plan unit whose target takes members, with its link.
struct Job<'a> {
    source_id: &'a str,
    target: &'a Target,
    group_name: &'a str,
    /// `None` in a dry run for a group not created yet.
    target_group: Option<String>,
}

/// The membership units of what `planner` plans, applied (`run_id` given) or only
/// planned (`None`). Nothing starts once `fence` is closed, and a failed store write
/// closes it.
pub async fn materialise(
    planner: Planner<'_>,
    source: &dyn Provider,
    targets: &[Target],
    store: &Store,
    run_id: Option<i64>,
    options: MemberOptions,
    fence: &Fence,
) -> MemberReport {
    let mut report = MemberReport::default();
    let from = source.kind();
    for (t, target) in targets.iter().enumerate() {
        let policy = &target.policy.membership;
        if target.provider.member_target().is_none() || policy.mode == members::MembershipMode::Off
        {
            continue;
        }
        for unit in planner.units_for(t) {
            if fence.check(std::time::Duration::ZERO).is_err() {
                return report;
            }
            let Some(fidelity) = &unit.fidelity else {
                continue; // an orphan: its source group is gone
            };
            if !crate::audience::by_members(&target.policy, fidelity)
                || matches!(unit.action, Action::Skip { .. })
            {
                continue;
            }
            let link = match store.link(from, &unit.source_id, &unit.target).await {
                Ok(link) => link,
                Err(e) => {
                    fence.store_failed(store, &e);
                    report.outcomes.push(failed(&unit, target, e.to_string()));
                    continue;
                }
            };
            // Applying needs the group: a create that failed this run left no link.
            if link.is_none() && run_id.is_some() {
                continue;
            }
            let job = Job {
                source_id: &unit.source_id,
                target,
                group_name: &unit.group_name,
                target_group: link.map(|l| l.target_id),
            };
            let span = info_span!("members", source_id = %unit.source_id, target = %unit.target);
            let outcome = one(&job, source, from, store, run_id.is_some(), options, fence)
                .instrument(span)
                .await;
            if let Some(run_id) = run_id {
                record(store, run_id, &outcome, fence).await;
            }
            report.outcomes.push(outcome);
        }
    }
    report
}

fn failed(unit: &super::plan::Unit, target: &Target, error: String) -> MemberOutcome {
    MemberOutcome::new(
        &unit.source_id,
        &target.policy.name,
        &unit.group_name,
        Err(error),
    )
}

async fn record(store: &Store, run_id: i64, o: &MemberOutcome, fence: &Fence) {
    // Logged where it is recorded, as one event: stderr stays one JSON object per line.
    match (&o.result, &o.guard) {
        (Err(e), _) => warn!(
            target_name = %o.target,
            source_id = %o.source_id,
            error = %e,
            "members unit failed"
        ),
        (Ok(_), Some(Removals::Held(why))) => warn!(
            target_name = %o.target,
            source_id = %o.source_id,
            reason = %why,
            "member removals held back (apply with --allow-mass-removal)"
        ),
        _ => {}
    }
    let (result, error) = match &o.result {
        Ok(r) => (format!("{r}: +{} -{}", o.added, o.removed), None),
        Err(e) => ("failed".to_owned(), Some(e.as_str())),
    };
    if let Err(e) = store
        .record_event(run_id, &o.source_id, &o.target, "members", &result, error)
        .await
    {
        warn!(
            "cannot record the members event for {}/{}: {e}",
            o.target, o.source_id
        );
        fence.store_failed(store, &e);
    }
}

/// Counters a unit fills in as it goes, so a failure still reports what was done.
#[derive(Default)]
pub(super) struct Done {
    added: usize,
    removed: usize,
    by_email: usize,
    /// (refused rows, example error)
    refused: Vec<String>,
    tried: usize,
    /// Consecutive runs holding removals back, this one included, if it holds them.
    held_runs: u32,
}

async fn one(
    job: &Job<'_>,
    source: &dyn Provider,
    from: ProviderKind,
    store: &Store,
    apply: bool,
    options: MemberOptions,
    fence: &Fence,
) -> MemberOutcome {
    let key = MemberKey {
        source_provider: from,
        source_id: job.source_id,
        target: &job.target.policy.name,
    };
    let mut outcome = MemberOutcome::new(
        job.source_id,
        &job.target.policy.name,
        job.group_name,
        Ok(MemberResult::Planned),
    );
    outcome.provider = job.target.provider.kind().display_name().to_owned();
    let mut done = Done::default();
    let result = run_unit(
        job,
        source,
        store,
        key,
        apply,
        options,
        &mut outcome,
        &mut done,
    )
    .await;
    if let Err(MemberError::Store(e)) = &result {
        fence.store_failed(store, e);
    }
    outcome.added = done.added;
    outcome.removed = done.removed;
    outcome.by_email = done.by_email;
    let result = result.and_then(|r| {
        if done.refused.is_empty() {
            Ok(r)
        } else {
            Err(MemberError::Rows {
                failed: done.refused.len(),
                tried: done.tried,
                example: done.refused[0].clone(),
            })
        }
    });
    outcome.result = result.map_err(|e| e.to_string());
    if apply {
        let held = match &outcome.guard {
            Some(Removals::Held(why)) => Some(why.as_str()),
            _ => None,
        };
        let synced = matches!(
            outcome.result,
            Ok(MemberResult::Synced | MemberResult::Unchanged)
        );
        let end = MembershipEnd {
            without_email: outcome.without_email as u64,
            without_account: outcome.without_account.map(|n| n as u64),
            synced_at: synced.then(Utc::now),
            held_runs: if held.is_some() { done.held_runs } else { 0 },
            held_reason: held,
            result: *outcome.result.as_ref().unwrap_or(&MemberResult::Failed),
            error: outcome.result.as_ref().err().map(String::as_str),
        };
        if let Err(e) = store.finish_members(key, &end).await {
            warn!(
                "cannot record membership of {}/{}: {e}",
                key.target, key.source_id
            );
            fence.store_failed(store, &e);
        }
        if synced
            && let Err(e) = store
                .set_link_fidelity(
                    key,
                    "snapshot",
                    &format!(
                        "members as of {}: {} (source people without an email: {}{})",
                        Utc::now().format("%Y-%m-%d %H:%M:%S UTC"),
                        outcome.total,
                        outcome.without_email,
                        outcome
                            .no_account_note()
                            .map(|n| format!("; {n}"))
                            .unwrap_or_default()
                    ),
                )
                .await
        {
            warn!(
                "cannot record the fidelity of {}/{}: {e}",
                key.target, key.source_id
            );
            fence.store_failed(store, &e);
        }
    }
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn run_unit(
    job: &Job<'_>,
    source: &dyn Provider,
    store: &Store,
    key: MemberKey<'_>,
    apply: bool,
    options: MemberOptions,
    outcome: &mut MemberOutcome,
    done: &mut Done,
) -> Result<MemberResult, MemberError> {
    let reader: &dyn MemberSource = source
        .member_source()
        .ok_or(MemberError::NoSource(source.kind().display_name()))?;
    let writer: &dyn MemberTarget =
        job.target
            .provider
            .member_target()
            .ok_or(MemberError::NoSource(
                job.target.provider.kind().display_name(),
            ))?;
    // Every page, or an error: a partial read never reaches the diff (nor a replace).
    let people = reader.group_people(job.source_id).await?;
    let mut current = MemberSet::from_people(people);
    if writer.finder().is_some() {
        // People a recent lookup found no account for are not members-to-be: counted,
        // not looked up again on every run (a run with no change makes no call).
        let hashes: Vec<MemberHash> = current.members.keys().cloned().collect();
        let since = Utc::now() - RECHECK_NO_ACCOUNT;
        let missing = store.no_account(key.target, &hashes, since).await?;
        current.members.retain(|h, _| !missing.contains(h));
        outcome.without_account = Some(missing.len());
    }
    outcome.total = current.len();
    outcome.without_email = current.without_email;
    if current.without_email > 0 {
        info!(
            without_email = current.without_email,
            examples = %serde_json::Value::from(current.without_email_ids.clone()),
            "source people without a usable email are not materialised"
        );
    }
    let mut checked = false;
    let synced = match store.synced_members(key).await? {
        Some((hashes, held_runs)) => Synced {
            initialised: true,
            hashes,
            held_runs,
        },
        None => match (&job.target_group, apply) {
            // First materialisation: what the group holds already is the starting point,
            // so existing members are neither re-added nor left unknown.
            (Some(group), true) => {
                check_static(writer, job, group).await?;
                checked = true;
                let baseline: Vec<(MemberHash, String)> = writer
                    .members(group)
                    .await?
                    .into_iter()
                    .filter_map(|c| Email::normalise(&c.email).map(|e| (e.hash(), c.id)))
                    .collect();
                store.init_members(key, &baseline).await?;
                Synced {
                    initialised: true,
                    hashes: baseline.into_iter().map(|(h, _)| h).collect(),
                    held_runs: 0,
                }
            }
            _ => Synced::default(),
        },
    };
    let diff = members::diff(
        &current,
        &synced,
        &job.target.policy.membership.guard,
        options.allow_mass_removal,
    );
    outcome.last_total = diff.last_total;
    outcome.to_add = diff.adds.len();
    outcome.to_remove = diff.removes.len();
    outcome.add_preview = diff
        .adds
        .iter()
        .take(PREVIEW)
        .map(|m| m.display.clone())
        .collect();
    if diff.removals != Removals::Apply {
        outcome.guard = Some(diff.removals.clone());
    }
    done.held_runs = synced.held_runs + 1;
    let ids = store
        .contact_ids(key.target, &diff.removes[..diff.removes.len().min(PREVIEW)])
        .await?;
    outcome.remove_preview = diff
        .removes
        .iter()
        .take(PREVIEW)
        .map(|h| ids.get(h).cloned().unwrap_or_else(|| format!("hash {h}")))
        .collect();
    if writer.finder().is_some() {
        let hashes: Vec<MemberHash> = diff.adds.iter().map(|m| m.hash).collect();
        let known = store.contact_ids(key.target, &hashes).await?;
        outcome.to_look_up = hashes.len() - known.len();
    }
    if !apply {
        return Ok(MemberResult::Planned);
    }
    let Some(group) = &job.target_group else {
        return Ok(MemberResult::Planned);
    };
    if diff.adds.is_empty() && diff.removes_applied().is_empty() {
        return Ok(if outcome.held() {
            MemberResult::Held
        } else {
            MemberResult::Unchanged
        });
    }
    if !checked {
        check_static(writer, job, group).await?;
    }
    if let Some(finder) = writer.finder() {
        let synced_after = lookup::write(
            writer, finder, store, key, group, &diff, &synced, outcome, done,
        )
        .await?;
        outcome.total = synced_after;
        return Ok(if outcome.held() {
            MemberResult::Held
        } else {
            MemberResult::Synced
        });
    }
    add(writer, store, key, group, &diff.adds, done).await?;
    remove(writer, store, key, group, diff.removes_applied(), done).await?;
    Ok(if outcome.held() {
        MemberResult::Held
    } else {
        MemberResult::Synced
    })
}

async fn check_static(
    writer: &dyn MemberTarget,
    job: &Job<'_>,
    group: &str,
) -> Result<(), MemberError> {
    match writer.group_kind(group).await? {
        GroupKind::Static => Ok(()),
        GroupKind::Dynamic { name } => Err(MemberError::DynamicGroup {
            provider: job.target.provider.kind().display_name(),
            group_id: group.to_owned(),
            name,
        }),
    }
}

/// Entering members: those whose contact id we know go in batches; the others (and
/// any stale id) are found or created by email one by one.
pub(super) async fn add(
    writer: &dyn MemberTarget,
    store: &Store,
    key: MemberKey<'_>,
    group: &str,
    adds: &[members::Member],
    done: &mut Done,
) -> Result<(), MemberError> {
    if adds.is_empty() {
        return Ok(());
    }
    let hashes: Vec<MemberHash> = adds.iter().map(|m| m.hash).collect();
    let known = store.contact_ids(key.target, &hashes).await?;
    let by_hash: HashMap<&MemberHash, &members::Member> =
        adds.iter().map(|m| (&m.hash, m)).collect();
    let mut unknown: Vec<&members::Member> = adds
        .iter()
        .filter(|m| !known.contains_key(&m.hash))
        .collect();
    // Sorted by id: two addresses differing only in the local part's case are two
    // members to us but may be one contact to the target; they share a batch and a row.
    let mut batch_members: Vec<(&MemberHash, &String)> = known.iter().collect();
    batch_members.sort_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
    for chunk in batch_members.chunks(writer.batch_limit().max(1)) {
        let mut ids: Vec<String> = chunk.iter().map(|(_, id)| (*id).clone()).collect();
        ids.dedup();
        let rows = writer.add(group, &ids).await?;
        let hashes_of = group_by_id(chunk);
        let mut ok = Vec::new();
        let mut stale = Vec::new();
        for row in &rows {
            let Some(hashes) = hashes_of.get(&row.id) else {
                continue;
            };
            if row.ok {
                ok.extend(hashes.iter().map(|h| (**h, row.id.clone())));
            } else if row.unknown_contact {
                stale.extend(hashes.iter().map(|h| **h));
            } else {
                done.refused
                    .push(row.error.clone().unwrap_or_else(|| "refused".to_owned()));
            }
        }
        done.tried += chunk.len();
        store.record_added(key, &ok).await?;
        done.added += ok.len();
        if !stale.is_empty() {
            store.forget_contact_ids(key.target, &stale).await?;
            unknown.extend(stale.iter().filter_map(|h| by_hash.get(h).copied()));
        }
    }
    if writer.finder().is_some() {
        // Stale ids were forgotten above: the next run looks them up by email again.
        // Such a target creates no one, so there is no find-or-create here.
        return Ok(());
    }
    unknown.sort_by(|a, b| a.email.cmp(&b.email));
    for m in unknown {
        done.tried += 1;
        match writer
            .add_by_email(group, &m.display, m.name.as_deref())
            .await
        {
            Ok(id) => {
                store.record_added(key, &[(m.hash, id)]).await?;
                done.added += 1;
                done.by_email += 1;
            }
            // One contact refused (e.g. its email belongs to another record) must not
            // stop the rest; anything temporary stops the unit (the next run resumes).
            Err(e) if !e.is_temporary() => done.refused.push(e.to_string()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The hashes behind each contact id of a batch.
fn group_by_id<'a>(
    chunk: &[(&'a MemberHash, &'a String)],
) -> HashMap<&'a String, Vec<&'a MemberHash>> {
    let mut by_id: HashMap<&String, Vec<&MemberHash>> = HashMap::new();
    for (h, id) in chunk {
        by_id.entry(*id).or_default().push(*h);
    }
    by_id
}

/// Leaving members, from the group only, in batches.
pub(super) async fn remove(
    writer: &dyn MemberTarget,
    store: &Store,
    key: MemberKey<'_>,
    group: &str,
    removes: &[MemberHash],
    done: &mut Done,
) -> Result<(), MemberError> {
    if removes.is_empty() {
        return Ok(());
    }
    let ids = store.contact_ids(key.target, removes).await?;
    // A hash without an id cannot be sent; it was never added by us, so forget it.
    let orphans: Vec<MemberHash> = removes
        .iter()
        .filter(|h| !ids.contains_key(*h))
        .cloned()
        .collect();
    if !orphans.is_empty() {
        warn!(
            count = orphans.len(),
            "members without a known contact id dropped from the synced set"
        );
        store.record_removed(key, &orphans).await?;
    }
    // A contact that still stands for a member who stays (an address differing only in
    // the local part's case: one contact to the target) stays in the group; only the
    // leaving hash is forgotten.
    let leaving: HashSet<&MemberHash> = removes.iter().collect();
    let contact_list: Vec<String> = ids.values().cloned().collect();
    let still_held: HashSet<String> = store
        .members_with_contacts(key, &contact_list)
        .await?
        .into_iter()
        .filter(|(h, _)| !leaving.contains(h))
        .map(|(_, id)| id)
        .collect();
    let kept: Vec<MemberHash> = ids
        .iter()
        .filter(|(_, id)| still_held.contains(*id))
        .map(|(h, _)| *h)
        .collect();
    if !kept.is_empty() {
        store.record_removed(key, &kept).await?;
        done.removed += kept.len();
    }
    let mut pairs: Vec<(&MemberHash, &String)> = ids
        .iter()
        .filter(|(_, id)| !still_held.contains(*id))
        .collect();
    pairs.sort_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
    for chunk in pairs.chunks(writer.batch_limit().max(1)) {
        let mut batch: Vec<String> = chunk.iter().map(|(_, id)| (*id).clone()).collect();
        batch.dedup();
        let rows = writer.remove(group, &batch).await?;
        let hashes_of = group_by_id(chunk);
        let mut gone = Vec::new();
        for row in &rows {
            let Some(hashes) = hashes_of.get(&row.id) else {
                continue;
            };
            // A contact the target no longer knows is not in the group either.
            if row.ok || row.unknown_contact {
                gone.extend(hashes.iter().map(|h| **h));
            } else {
                done.refused
                    .push(row.error.clone().unwrap_or_else(|| "refused".to_owned()));
            }
        }
        done.tried += chunk.len();
        store.record_removed(key, &gone).await?;
        done.removed += gone.len();
    }
    Ok(())
}
