//! Deciding what a run will do, before it does anything: for every (source group,
//! target) one action. Pure: the same snapshot, links and settings always give the same
//! plan, which is why `sgsync plan` can print exactly what `sgsync sync` would do.

use serde::{Deserialize, Serialize};
use sgsync_model::members::MembershipPolicy;
use sgsync_model::{Fidelity, ProviderKind, SmartGroup, SourceGroup, stable_key};
use sgsync_provider::{Capabilities, Dialect, Payload, translate};
use sgsync_store::{Link, UnitResult};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::sync::Arc;

/// Policy for a `Lossy` translation on one target (`on_lossy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnLossy {
    /// Do not write it; report it as skipped, with the reasons. The default never widens
    /// or narrows an audience silently (DESIGN.md).
    #[default]
    Skip,
    /// Write the nearest rule the target can hold, and report the reasons.
    Push,
}

/// Policy for a target group whose source group is gone (`on_source_deleted`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnSourceDeleted {
    /// Leave it in place: reported as an orphan.
    #[default]
    Keep,
    /// Archive it where the target can (emfluence).
    Archive,
    /// Delete it where the target can (iSpring).
    Delete,
}

impl OnSourceDeleted {
    /// The policy as written in config.
    pub fn as_str(self) -> &'static str {
        match self {
            OnSourceDeleted::Keep => "keep",
            OnSourceDeleted::Archive => "archive",
            OnSourceDeleted::Delete => "delete",
        }
    }

    /// What the policy does, as a verb: `keep`, `archive`, `delete`.
    pub fn verb(self) -> &'static str {
        self.as_str()
    }

    /// What the policy did: kept, archived, deleted (a unit's result).
    pub fn result(self) -> UnitResult {
        match self {
            OnSourceDeleted::Keep => UnitResult::Kept,
            OnSourceDeleted::Archive => UnitResult::Archived,
            OnSourceDeleted::Delete => UnitResult::Deleted,
        }
    }
}

/// The orphan guard (`[sync] max_orphan_fraction`, `orphan_confirm_runs`): when more
/// than `max_fraction` of the links lose their source group in one run, archiving and
/// deleting are held back until the loss is seen on `confirm_runs` consecutive runs (or
/// allowed by `--allow-mass-delete`). A source answering a fraction of its groups —
/// a partial outage, a permission change — must not delete the rest on the targets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrphanGuard {
    /// 0.0–1.0; 0 holds every archive and delete until the flag allows it.
    pub max_fraction: f64,
    /// Consecutive runs that confirm a held loss; 0 = only the flag does.
    pub confirm_runs: u32,
}

impl Default for OrphanGuard {
    fn default() -> Self {
        OrphanGuard {
            max_fraction: 0.2,
            confirm_runs: 2,
        }
    }
}

/// The orphan guard as one run sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OrphanPolicy {
    pub guard: OrphanGuard,
    /// Consecutive runs before this one that held orphans back (from the store).
    pub held_runs: u32,
    /// `--allow-mass-delete`.
    pub allow: bool,
}

/// What the orphan guard decided for this run.
#[derive(Debug, Clone, PartialEq)]
pub enum OrphanVerdict {
    /// Orphans follow their target's policy; `confirmed` when a held loss was confirmed
    /// (by the flag or by consecutive runs).
    Apply { confirmed: bool },
    /// Archive and delete are held back; `held_runs` counts this run.
    Held { reason: String, held_runs: u32 },
}

/// Largest name, description and payload a target takes: what it documents, or a sane
/// cap where it documents none (`Provider::limits`).
pub use sgsync_provider::Limits;

/// One target as the planner needs it.
#[derive(Clone)]
pub struct TargetPolicy {
    /// `[targets.<name>]`.
    pub name: String,
    pub provider: ProviderKind,
    pub capabilities: Capabilities,
    pub limits: Limits,
    pub on_lossy: OnLossy,
    pub on_source_deleted: OnSourceDeleted,
    /// Put before every group name written on this target.
    pub name_prefix: Option<String>,
    /// Whether, and under which guard, source members are copied into static groups
    /// here (`sgsync_model::members`).
    pub membership: MembershipPolicy,
    /// Its dialect, translating with this account's maps.
    pub dialect: Arc<dyn Dialect>,
}

impl std::fmt::Debug for TargetPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "target {} ({})", self.name, self.provider)
    }
}

/// Every group the source holds, read completely (all pages) at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub source: ProviderKind,
    pub groups: Vec<SourceGroup>,
}

/// The decision for one unit.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// No link yet: look the key up on the target, create only if absent.
    Create {
        payload: Payload,
        hash: String,
    },
    /// The payload changed since the last push.
    Update {
        target_id: String,
        payload: Payload,
        hash: String,
    },
    Unchanged {
        target_id: String,
    },
    /// Nothing is written, on purpose; the reason says why and what would change it.
    Skip {
        reason: String,
    },
    /// The source group is gone; `then` is what the target's policy does about it
    /// (`Keep` only reports).
    Orphaned {
        target_id: String,
        then: OnSourceDeleted,
    },
    /// The source group is gone, but the orphan guard holds `then` back this run (too
    /// many links lost their source at once); reported, and the run exits 2.
    Held {
        target_id: String,
        then: OnSourceDeleted,
        reason: String,
    },
    /// This unit cannot be applied as it stands (a duplicated source id, a name or rule
    /// beyond what the target takes): it fails, with the reason, and the others go on.
    Refused {
        reason: String,
    },
}

impl Action {
    pub fn label(&self) -> &'static str {
        match self {
            Action::Create { .. } => "create",
            Action::Update { .. } => "update",
            Action::Unchanged { .. } => "unchanged",
            Action::Skip { .. } => "skip",
            Action::Orphaned { .. } => "orphaned",
            Action::Held { .. } => "held",
            Action::Refused { .. } => "refused",
        }
    }

    /// Whether applying this action writes to the target.
    pub fn writes(&self) -> bool {
        match self {
            Action::Create { .. } | Action::Update { .. } => true,
            Action::Orphaned { then, .. } => *then != OnSourceDeleted::Keep,
            Action::Unchanged { .. }
            | Action::Skip { .. }
            | Action::Held { .. }
            | Action::Refused { .. } => false,
        }
    }
}

/// One (source group, target) pair and its action.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub source_id: String,
    pub target: String,
    pub target_provider: ProviderKind,
    /// The name written on the target (prefix included).
    pub group_name: String,
    pub stable_key: String,
    /// `None` for an orphan (there is no source group left to translate).
    pub fidelity: Option<Fidelity>,
    pub action: Action,
}

/// Everything one run will do, in a stable order (source order, then target order,
/// then orphans).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub units: Vec<Unit>,
    /// Decisions about the run as a whole, e.g. orphan handling suspended.
    pub notes: Vec<String>,
}

impl Plan {
    /// How many units will write to a target.
    pub fn writes(&self) -> usize {
        self.units.iter().filter(|u| u.action.writes()).count()
    }

    /// The plan as data for `--json`: every unit without its payload body.
    pub fn summary(&self) -> PlanSummary<'_> {
        PlanSummary {
            units: self
                .units
                .iter()
                .map(|u| UnitSummary {
                    source_id: &u.source_id,
                    target: &u.target,
                    group_name: &u.group_name,
                    stable_key: &u.stable_key,
                    action: u.action.label(),
                    target_id: match &u.action {
                        Action::Update { target_id, .. }
                        | Action::Unchanged { target_id }
                        | Action::Orphaned { target_id, .. }
                        | Action::Held { target_id, .. } => Some(target_id),
                        _ => None,
                    },
                    hash: match &u.action {
                        Action::Create { hash, .. } | Action::Update { hash, .. } => Some(hash),
                        _ => None,
                    },
                    reason: match &u.action {
                        Action::Skip { reason }
                        | Action::Held { reason, .. }
                        | Action::Refused { reason } => Some(reason),
                        _ => None,
                    },
                    then: match &u.action {
                        Action::Orphaned { then, .. } | Action::Held { then, .. } => Some(*then),
                        _ => None,
                    },
                    fidelity: u.fidelity.as_ref(),
                })
                .collect(),
            notes: &self.notes,
            writes: self.writes(),
        }
    }
}

/// What a plan holds, counted without keeping it (a sync plans unit by unit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOverview {
    pub units: usize,
    pub writes: usize,
    /// Decisions about the run as a whole, e.g. orphan handling suspended.
    pub notes: Vec<String>,
}

impl PlanOverview {
    /// How many units will write to a target.
    pub fn writes(&self) -> usize {
        self.writes
    }
}

#[derive(Debug, Serialize)]
pub struct PlanSummary<'a> {
    pub units: Vec<UnitSummary<'a>>,
    pub notes: &'a [String],
    pub writes: usize,
}

#[derive(Debug, Serialize)]
pub struct UnitSummary<'a> {
    pub source_id: &'a str,
    pub target: &'a str,
    pub group_name: &'a str,
    pub stable_key: &'a str,
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub then: Option<OnSourceDeleted>,
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub fidelity: Option<&'a Fidelity>,
}

/// A readable table: one line per unit, then the notes.
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<10} {:<12} {:<40} {:<10} detail",
            "action", "target", "group", "fidelity"
        )?;
        for u in &self.units {
            let fidelity = match &u.fidelity {
                Some(Fidelity::Exact) => "exact",
                Some(Fidelity::Lossy(_)) => "lossy",
                Some(Fidelity::Impossible(_)) => "impossible",
                None => "-",
            };
            let detail = match &u.action {
                Action::Create { .. } => String::new(),
                Action::Update { target_id, .. } | Action::Unchanged { target_id } => {
                    format!("id {target_id}")
                }
                Action::Skip { reason } => reason.clone(),
                Action::Orphaned { target_id, then } => {
                    format!("id {target_id}: source group gone, {}", then.verb())
                }
                Action::Held {
                    target_id,
                    then,
                    reason,
                } => {
                    format!(
                        "id {target_id}: source group gone; not {} this run: {reason}",
                        then.result()
                    )
                }
                Action::Refused { reason } => format!("refused: {reason}"),
            };
            writeln!(
                f,
                "{:<10} {:<12} {:<40} {:<10} {}",
                u.action.label(),
                u.target,
                truncate(&u.group_name, 40),
                fidelity,
                detail
            )?;
        }
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        write!(
            f,
            "{} unit(s), {} write(s)",
            self.units.len(),
            self.writes()
        )
    }
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A digest in hex, as the store keeps payload hashes.
fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A stored hex hash as bytes; `None` for anything else (then the group is pushed again,
/// which is always safe).
fn parse_hex(text: &str) -> Option<[u8; 32]> {
    let mut digest = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    for (byte, pair) in digest.iter_mut().zip(text.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(digest)
}

/// What the planner needs of one stored link: far less than a [`Link`], because a run
/// over tens of thousands of groups holds one of these per (group, target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    pub target_id: Box<str>,
    /// For an orphan's line in the plan.
    pub group_name: Box<str>,
    /// `None` after `resync` (or for an adopted group): pushed again.
    pub payload_hash: Option<[u8; 32]>,
}

impl Linked {
    pub fn new(target_id: &str, group_name: &str, payload_hash: Option<&str>) -> Self {
        Linked {
            target_id: target_id.into(),
            group_name: group_name.into(),
            payload_hash: payload_hash.and_then(parse_hex),
        }
    }
}

/// The source's links by source id and target, in source-id order (so orphans come out
/// in a stable order).
#[derive(Debug, Clone, Default)]
pub struct LinkIndex {
    targets: Vec<String>,
    by_source: BTreeMap<Box<str>, Box<[Option<Linked>]>>,
    /// Every link of this source, also those of targets no longer configured.
    total: usize,
}

impl LinkIndex {
    /// An empty index for these targets (their order is the index's).
    pub fn new(targets: &[TargetPolicy]) -> Self {
        LinkIndex {
            targets: targets.iter().map(|t| t.name.clone()).collect(),
            ..LinkIndex::default()
        }
    }

    /// The index of `links`, keeping those whose source is `source`.
    pub fn of(source: ProviderKind, links: &[Link], targets: &[TargetPolicy]) -> Self {
        let mut index = LinkIndex::new(targets);
        for l in links
            .iter()
            .filter(|l| l.source_provider == source.as_str())
        {
            index.insert(
                &l.source_id,
                &l.target,
                Linked::new(&l.target_id, &l.group_name, l.payload_hash.as_deref()),
            );
        }
        index
    }

    /// Adds one link of the source. A target not configured any more is only counted:
    /// its links are left alone (`sgsync forget`).
    pub fn insert(&mut self, source_id: &str, target: &str, linked: Linked) {
        self.total += 1;
        let Some(t) = self.targets.iter().position(|n| n == target) else {
            return;
        };
        let width = self.targets.len();
        let slots = self
            .by_source
            .entry(source_id.into())
            .or_insert_with(|| vec![None; width].into_boxed_slice());
        slots[t] = Some(linked);
    }

    fn get(&self, source_id: &str, target: usize) -> Option<&Linked> {
        self.by_source.get(source_id)?.get(target)?.as_ref()
    }
}

/// Plans unit by unit, on demand: a run over many groups never holds more of its plan
/// than the units in flight. Pure, like [`plan`], which is every unit of it at once.
#[derive(Clone, Copy)]
pub struct Planner<'a> {
    snapshot: &'a Snapshot,
    links: &'a LinkIndex,
    targets: &'a [TargetPolicy],
    /// What the planner worked out once for the whole run.
    facts: &'a RunFacts,
}

/// What holds for the whole run, worked out once from the snapshot and the links.
#[derive(Debug, Clone)]
pub struct RunFacts {
    /// Source ids present in the snapshot.
    present: HashSet<String>,
    /// Source ids the snapshot holds more than once: those units fail.
    duplicated: BTreeSet<String>,
    /// Links (of configured targets) whose source group is gone.
    orphan_links: usize,
    /// Links of configured targets.
    linked: usize,
    verdict: OrphanVerdict,
    /// The guard as this run saw it.
    policy: OrphanPolicy,
}

impl RunFacts {
    /// The facts of `snapshot` against `links`, with the orphan guard's `policy`.
    pub fn new(snapshot: &Snapshot, links: &LinkIndex, policy: OrphanPolicy) -> RunFacts {
        let mut present = HashSet::with_capacity(snapshot.groups.len());
        let mut duplicated = BTreeSet::new();
        for id in snapshot.groups.iter().filter_map(|g| g.group.id.as_deref()) {
            if !present.insert(id.to_owned()) {
                duplicated.insert(id.to_owned());
            }
        }
        let (mut linked, mut orphan_links) = (0, 0);
        for (id, slots) in &links.by_source {
            let n = slots.iter().filter(|s| s.is_some()).count();
            linked += n;
            if !present.contains(&**id) {
                orphan_links += n;
            }
        }
        let verdict = verdict(present.is_empty(), linked, orphan_links, policy);
        RunFacts {
            present,
            duplicated,
            orphan_links,
            linked,
            verdict,
            policy,
        }
    }

    pub fn verdict(&self) -> &OrphanVerdict {
        &self.verdict
    }

    /// Consecutive runs that had held orphans back before this one.
    pub fn held_before(&self) -> u32 {
        self.policy.held_runs
    }

    /// Links of the configured targets, and how many of them lost their source group.
    pub fn orphan_links(&self) -> (usize, usize) {
        (self.orphan_links, self.linked)
    }
}

/// The orphan guard's decision for a run in which `orphans` of `linked` links lost
/// their source group (`empty`: the source answered no group at all).
fn verdict(empty: bool, linked: usize, orphans: usize, policy: OrphanPolicy) -> OrphanVerdict {
    let OrphanPolicy {
        guard,
        held_runs,
        allow,
    } = policy;
    if orphans == 0 {
        return OrphanVerdict::Apply { confirmed: false };
    }
    if empty {
        // An empty answer while links exist is far more likely an outage than a deletion
        // of everything: only the flag acts on it, never a count of runs.
        return if allow {
            OrphanVerdict::Apply { confirmed: true }
        } else {
            OrphanVerdict::Held {
                reason: format!(
                    "the source returned no groups while {linked} link(s) exist; if every group was really deleted, run once with --allow-mass-delete"
                ),
                held_runs: held_runs.saturating_add(1),
            }
        };
    }
    let fraction = orphans as f64 / linked.max(1) as f64;
    if fraction <= guard.max_fraction && guard.max_fraction > 0.0 {
        return OrphanVerdict::Apply { confirmed: false };
    }
    let now_held = held_runs.saturating_add(1);
    if allow || (guard.confirm_runs > 0 && now_held >= guard.confirm_runs) {
        return OrphanVerdict::Apply { confirmed: true };
    }
    let confirm = if guard.confirm_runs > 0 {
        format!(
            "applied once seen on {} consecutive runs (this is run {now_held}), or",
            guard.confirm_runs
        )
    } else {
        "applied only".to_owned()
    };
    OrphanVerdict::Held {
        reason: format!(
            "{orphans} of {linked} link(s) lost their source group in one run (more than max_orphan_fraction = {}); {confirm} with --allow-mass-delete",
            guard.max_fraction
        ),
        held_runs: now_held,
    }
}

impl<'a> Planner<'a> {
    /// `links` must have been built for `targets`, in the same order, and `facts` from
    /// the same snapshot and links.
    pub fn new(
        snapshot: &'a Snapshot,
        links: &'a LinkIndex,
        targets: &'a [TargetPolicy],
        facts: &'a RunFacts,
    ) -> Self {
        Planner {
            snapshot,
            links,
            targets,
            facts,
        }
    }

    pub fn targets(&self) -> &'a [TargetPolicy] {
        self.targets
    }

    pub fn facts(&self) -> &'a RunFacts {
        self.facts
    }

    /// Decisions about the run as a whole.
    pub fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self
            .snapshot
            .groups
            .iter()
            .filter(|g| g.group.id.is_none())
            .map(|g| {
                format!(
                    "source group {} has no id and cannot be tracked; skipped",
                    quoted(&g.group.name)
                )
            })
            .collect();
        if !self.facts.duplicated.is_empty() {
            notes.push(format!(
                "the source answered these group ids more than once: {}; their units fail until it answers each once",
                self.facts.duplicated.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        if let OrphanVerdict::Held { reason, .. } = &self.facts.verdict {
            notes.push(format!(
                "archiving and deleting held back this run: {reason}"
            ));
        }
        notes
    }

    /// The units of target number `t` (its position in `targets`), in source order, then
    /// its orphans.
    pub fn units_for(self, t: usize) -> impl Iterator<Item = Unit> + Send + 'a {
        let target = &self.targets[t];
        let facts = self.facts;
        self.snapshot
            .groups
            .iter()
            .filter_map(move |g| {
                let id = g.group.id.as_deref()?;
                Some(self.unit(g, id, t))
            })
            .chain(self.orphans_for(t).map(move |(id, linked)| {
                orphan(self.snapshot.source, id, linked, target, &facts.verdict)
            }))
    }

    /// Every unit: source order, then target order, then orphans.
    pub fn plan(self) -> Plan {
        let mut units = Vec::with_capacity(self.snapshot.groups.len() * self.targets.len());
        for g in &self.snapshot.groups {
            if let Some(id) = g.group.id.as_deref() {
                units.extend((0..self.targets.len()).map(|t| self.unit(g, id, t)));
            }
        }
        for (t, target) in self.targets.iter().enumerate() {
            units.extend(self.orphans_for(t).map(|(id, linked)| {
                orphan(
                    self.snapshot.source,
                    id,
                    linked,
                    target,
                    &self.facts.verdict,
                )
            }));
        }
        Plan {
            units,
            notes: self.notes(),
        }
    }

    fn unit(&self, source: &SourceGroup, source_id: &str, t: usize) -> Unit {
        let target = &self.targets[t];
        let from = self.snapshot.source;
        let id_chars = source_id.chars().count();
        if id_chars > MAX_SOURCE_ID_CHARS {
            // Nothing of it is kept whole: not in a key, a link, an event or a log line.
            let shown = truncate(source_id, 40);
            return Unit {
                source_id: shown.clone(),
                target: target.name.clone(),
                target_provider: target.provider,
                group_name: truncate(&source.group.name, 80),
                stable_key: stable_key(from, &shown),
                fidelity: None,
                action: Action::Refused {
                    reason: format!(
                        "the source group id has {id_chars} characters; sgsync tracks ids of up to {MAX_SOURCE_ID_CHARS}"
                    ),
                },
            };
        }
        let group_name = format!(
            "{}{}",
            target.name_prefix.as_deref().unwrap_or(""),
            source.group.name
        );
        let base = Unit {
            source_id: source_id.to_owned(),
            target: target.name.clone(),
            target_provider: target.provider,
            group_name,
            stable_key: stable_key(from, source_id),
            fidelity: None,
            action: Action::Skip {
                reason: String::new(),
            },
        };
        if self.facts.duplicated.contains(source_id) {
            return Unit {
                action: Action::Refused {
                    reason: format!(
                        "the source answered group id {source_id:?} more than once; nothing is written for it until each id is unique"
                    ),
                },
                ..base
            };
        }
        let renamed = SourceGroup {
            group: SmartGroup {
                name: base.group_name.clone(),
                ..source.group.clone()
            },
            ..source.clone()
        };
        let translation = translate(&renamed, target.dialect.as_ref());
        let link = self.links.get(source_id, t);
        let action = decide(&translation.fidelity, translation.payload, target, link);
        Unit {
            fidelity: Some(translation.fidelity),
            action,
            ..base
        }
    }

    /// Target `t`'s links whose source group is gone.
    fn orphans_for(self, t: usize) -> impl Iterator<Item = (&'a str, &'a Linked)> + Send + 'a {
        let present = &self.facts.present;
        self.links
            .by_source
            .iter()
            .filter(move |(id, _)| !present.contains(&***id))
            .filter_map(move |(id, slots)| Some((&**id, slots.get(t)?.as_ref()?)))
    }
}

/// The longest source group id sgsync keeps (ids are slugs, UUIDs and numbers; one
/// beyond this is a broken source, and would be copied into every key, link and log).
pub const MAX_SOURCE_ID_CHARS: usize = 255;

/// `name` in quotes, cut to a readable length (a source may send a megabyte of name).
pub fn quoted(name: &str) -> String {
    format!("\"{}\"", truncate(name, 80))
}

/// One action per (source group, target), plus orphan actions for linked groups the
/// source no longer has.
pub fn plan(snapshot: &Snapshot, links: &[Link], targets: &[TargetPolicy]) -> Plan {
    let index = LinkIndex::of(snapshot.source, links, targets);
    let facts = RunFacts::new(snapshot, &index, OrphanPolicy::default());
    Planner::new(snapshot, &index, targets, &facts).plan()
}

fn decide(
    fidelity: &Fidelity,
    payload: Option<Payload>,
    target: &TargetPolicy,
    link: Option<&Linked>,
) -> Action {
    let reasons = || {
        fidelity
            .reasons()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    };
    let payload = match (fidelity, payload) {
        (Fidelity::Impossible(_), _) | (_, None) => {
            return Action::Skip {
                reason: format!(
                    "impossible in {}: {}",
                    target.provider.display_name(),
                    reasons()
                ),
            };
        }
        // A group whose members are materialised carries the audience itself (fidelity
        // `Snapshot`): its static shell is written whatever `on_lossy` says.
        (Fidelity::Lossy(_), Some(_))
            if target.on_lossy == OnLossy::Skip && !target.membership.mode.applies(false) =>
        {
            return Action::Skip {
                reason: format!(
                    "lossy (set on_lossy = \"push\" to write it anyway): {}",
                    reasons()
                ),
            };
        }
        (_, Some(payload)) => payload,
    };
    let rendered = payload.render();
    if let Some(reason) = beyond_limits(&payload, target) {
        return Action::Refused { reason };
    }
    // The hash that decides "changed since the last push": SHA-256 of the payload
    // exactly as the provider reads it.
    let digest: [u8; 32] = Sha256::digest(rendered.as_bytes()).into();
    match link {
        None => Action::Create {
            payload,
            hash: hex(&digest),
        },
        Some(link) if link.payload_hash == Some(digest) => Action::Unchanged {
            target_id: link.target_id.to_string(),
        },
        Some(_) if !target.capabilities.update => Action::Skip {
            reason: format!(
                "changed, but {} cannot update a group; recreate by hand or enable replace",
                target.provider.display_name()
            ),
        },
        Some(link) => Action::Update {
            target_id: link.target_id.to_string(),
            payload,
            hash: hex(&digest),
        },
    }
}

/// Why `payload` is more than `target` takes, if it is: a name, description or rule
/// beyond its limits is refused before anything is sent or stored.
fn beyond_limits(payload: &Payload, target: &TargetPolicy) -> Option<String> {
    let rendered = payload.render();
    let limits = &target.limits;
    let provider = target.provider.display_name();
    let name = payload.name().chars().count();
    if name > limits.name_chars {
        return Some(format!(
            "the group name has {name} characters; {provider} takes at most {}",
            limits.name_chars
        ));
    }
    if let Some(description) = payload.description() {
        let chars = description.chars().count();
        if chars > limits.description_chars {
            return Some(format!(
                "the group description has {chars} characters; {provider} takes at most {}",
                limits.description_chars
            ));
        }
    }
    if rendered.len() > limits.payload_bytes {
        return Some(format!(
            "the group's definition is {} bytes; {provider} takes at most {} (simplify the rule)",
            rendered.len(),
            limits.payload_bytes
        ));
    }
    None
}

/// The unit for a linked group whose source group is gone.
fn orphan(
    from: ProviderKind,
    source_id: &str,
    linked: &Linked,
    target: &TargetPolicy,
    verdict: &OrphanVerdict,
) -> Unit {
    let then = target.on_source_deleted;
    let possible = match then {
        OnSourceDeleted::Keep => true,
        OnSourceDeleted::Archive => target.capabilities.archive,
        OnSourceDeleted::Delete => target.capabilities.delete,
    };
    let target_id = linked.target_id.to_string();
    let action = match verdict {
        _ if !possible => Action::Skip {
            reason: format!(
                "source group gone, but {} cannot {} a group; left in place",
                target.provider.display_name(),
                then.verb()
            ),
        },
        OrphanVerdict::Held { reason, .. } if then != OnSourceDeleted::Keep => Action::Held {
            target_id,
            then,
            reason: reason.clone(),
        },
        _ => Action::Orphaned { target_id, then },
    };
    Unit {
        source_id: source_id.to_owned(),
        target: target.name.clone(),
        target_provider: target.provider,
        group_name: linked.group_name.to_string(),
        // Every link's key is the stable key of its source group (both written from
        // `stable_key`).
        stable_key: stable_key(from, source_id),
        fidelity: None,
        action,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use sgsync_model::{Attribute, Findings, Op, Rule, Value};

    const CRM: ProviderKind = ProviderKind::new("crm", "A CRM");
    const LISTS: ProviderKind = ProviderKind::new("lists", "A list provider");

    /// A dialect that writes the rule as text: exact, or lossy (a list provider holds no
    /// rule), as the test needs.
    struct Fake {
        kind: ProviderKind,
        lossy: bool,
    }

    impl Dialect for Fake {
        fn kind(&self) -> ProviderKind {
            self.kind
        }
        fn decode(&self, _: &str) -> Result<Vec<SourceGroup>, sgsync_provider::DecodeError> {
            Ok(Vec::new())
        }
        fn encode(&self, group: &SmartGroup, _: ProviderKind) -> (Option<Payload>, Findings) {
            let mut findings = Findings::default();
            if self.lossy {
                findings.lossy("rule", "membership is not kept in sync by rule");
            }
            let text = format!("{} {:?}", group.name, group.rule);
            let payload = Payload::new(self.kind, group.name.clone(), None, text, ());
            (Some(payload), findings)
        }
    }

    fn caps(update: bool, archive: bool, delete: bool) -> Capabilities {
        Capabilities {
            list: true,
            get: true,
            create: true,
            update,
            archive,
            delete,
            holds_rules: true,
            stores_key: false,
        }
    }

    fn target(
        name: &str,
        provider: ProviderKind,
        caps: Capabilities,
        on_lossy: OnLossy,
        gone: OnSourceDeleted,
    ) -> TargetPolicy {
        TargetPolicy {
            name: name.into(),
            provider,
            capabilities: caps,
            limits: Limits::default(),
            on_lossy,
            on_source_deleted: gone,
            name_prefix: None,
            membership: MembershipPolicy::default(),
            dialect: Arc::new(Fake {
                kind: provider,
                lossy: provider == LISTS,
            }),
        }
    }

    fn group(id: &str, text: &str) -> SourceGroup {
        SourceGroup::certain(
            CRM,
            SmartGroup {
                id: Some(id.into()),
                name: format!("Group {id}"),
                description: None,
                rule: Rule::All(vec![Rule::cond(
                    Attribute::Property("email".into()),
                    Op::Contains,
                    Value::string(text),
                )]),
            },
        )
    }

    fn snapshot(groups: Vec<SourceGroup>) -> Snapshot {
        Snapshot {
            source: CRM,
            groups,
        }
    }

    /// The links a successful run would leave behind.
    fn links_after(plan: &Plan) -> Vec<Link> {
        plan.units
            .iter()
            .filter_map(|u| match &u.action {
                Action::Create { hash, .. } => Some(Link {
                    source_provider: CRM.as_str().to_owned(),
                    source_id: u.source_id.clone(),
                    target: u.target.clone(),
                    target_provider: u.target_provider.as_str().to_owned(),
                    target_id: format!("t-{}", u.source_id),
                    stable_key: u.stable_key.clone(),
                    group_name: u.group_name.clone(),
                    payload_hash: Some(hash.clone()),
                    fidelity: "exact".into(),
                    fidelity_reasons: String::new(),
                    last_result: Some("created".into()),
                    last_error: None,
                    created_at: Utc::now(),
                    updated_at: Utc::now(),
                }),
                _ => None,
            })
            .collect()
    }

    fn targets() -> Vec<TargetPolicy> {
        vec![
            target(
                "crm",
                CRM,
                caps(false, false, false),
                OnLossy::Skip,
                OnSourceDeleted::Archive,
            ),
            target(
                "news",
                LISTS,
                caps(true, true, false),
                OnLossy::Push,
                OnSourceDeleted::Archive,
            ),
            target(
                "news-strict",
                LISTS,
                caps(true, true, false),
                OnLossy::Skip,
                OnSourceDeleted::Keep,
            ),
        ]
    }

    #[test]
    fn first_run_creates_what_fits_and_skips_the_rest_with_reasons() {
        let p = plan(&snapshot(vec![group("a", "x")]), &[], &targets());
        let labels: Vec<_> = p
            .units
            .iter()
            .map(|u| (u.target.as_str(), u.action.label()))
            .collect();
        assert_eq!(
            labels,
            [
                ("crm", "create"),
                ("news", "create"),
                ("news-strict", "skip")
            ]
        );
        let Action::Skip { reason } = &p.units[2].action else {
            unreachable!()
        };
        assert!(
            reason.starts_with("lossy (set on_lossy = \"push\""),
            "{reason}"
        );
        assert_eq!(p.units[0].stable_key, "sgsync:crm:a");
        assert_eq!(p.writes(), 2);
    }

    #[test]
    fn a_second_run_without_change_writes_nothing() {
        let s = snapshot(vec![group("a", "x"), group("b", "y")]);
        let first = plan(&s, &[], &targets());
        let second = plan(&s, &links_after(&first), &targets());
        assert_eq!(second.writes(), 0, "{second}");
        assert!(
            second
                .units
                .iter()
                .all(|u| matches!(u.action, Action::Unchanged { .. } | Action::Skip { .. }))
        );
        assert_eq!(
            plan(&s, &links_after(&first), &targets()),
            second,
            "deterministic"
        );
    }

    #[test]
    fn an_edit_updates_where_possible_and_says_so_where_not() {
        let first = plan(
            &snapshot(vec![group("a", "x"), group("b", "y")]),
            &[],
            &targets(),
        );
        let edited = snapshot(vec![group("a", "CHANGED"), group("b", "y")]);
        let p = plan(&edited, &links_after(&first), &targets());
        let a: Vec<_> = p
            .units
            .iter()
            .filter(|u| u.source_id == "a")
            .map(|u| u.action.label())
            .collect();
        assert_eq!(a, ["skip", "update", "skip"]);
        let Action::Skip { reason } = &p.units[0].action else {
            unreachable!()
        };
        assert!(
            reason.contains("cannot update a group; recreate by hand or enable replace"),
            "{reason}"
        );
        assert_eq!(p.writes(), 1, "exactly one update: {p}");
    }

    /// The plan of `snapshot` against `links` with the orphan guard as `policy`.
    fn plan_guarded(snapshot: &Snapshot, links: &[Link], policy: OrphanPolicy) -> Plan {
        let t = targets();
        let index = LinkIndex::of(snapshot.source, links, &t);
        let facts = RunFacts::new(snapshot, &index, policy);
        Planner::new(snapshot, &index, &t, &facts).plan()
    }

    fn orphans_of<'p>(p: &'p Plan, id: &str) -> Vec<(&'p str, &'p Action)> {
        p.units
            .iter()
            .filter(|u| u.source_id == id)
            .map(|u| (u.target.as_str(), &u.action))
            .collect()
    }

    /// Ten groups linked, and the source now answering only `kept` of them.
    fn ten_linked_then(kept: usize) -> (Snapshot, Vec<Link>) {
        let ids: Vec<String> = (0..10).map(|i| format!("g{i}")).collect();
        let all = snapshot(ids.iter().map(|id| group(id, id)).collect());
        let first = plan(&all, &[], &targets());
        let now = snapshot(ids[..kept].iter().map(|id| group(id, id)).collect());
        (now, links_after(&first))
    }

    #[test]
    fn a_deleted_source_group_follows_each_policy() {
        // One of ten gone: 10 % of the links, under the guard's 20 %.
        let (now, links) = ten_linked_then(9);
        let p = plan_guarded(&now, &links, OrphanPolicy::default());
        let orphans = orphans_of(&p, "g9");
        assert!(
            matches!(&orphans[0], ("crm", Action::Skip { reason }) if reason.contains("cannot archive")),
            "{orphans:?}"
        );
        assert!(matches!(
            &orphans[1],
            (
                "news",
                Action::Orphaned {
                    then: OnSourceDeleted::Archive,
                    ..
                }
            )
        ));
        assert_eq!(
            orphans.len(),
            2,
            "news-strict never linked g9 (lossy skipped)"
        );
    }

    #[test]
    fn a_source_answering_a_fraction_of_its_groups_holds_every_archive() {
        // One of ten answered: nine links lose their source at once.
        let (now, links) = ten_linked_then(1);
        let first = plan_guarded(&now, &links, OrphanPolicy::default());
        assert_eq!(first.writes(), 0, "{first}");
        let held: Vec<_> = first
            .units
            .iter()
            .filter(|u| matches!(u.action, Action::Held { .. }))
            .collect();
        assert_eq!(held.len(), 9, "{first}");
        assert!(
            first
                .notes
                .iter()
                .any(|n| n.contains("18 of 20 link(s)") && n.contains("--allow-mass-delete")),
            "{:?}",
            first.notes
        );
        // Seen again on the next run (held once before): confirmed, applied.
        let second = plan_guarded(
            &now,
            &links,
            OrphanPolicy {
                held_runs: 1,
                ..OrphanPolicy::default()
            },
        );
        assert_eq!(second.writes(), 9, "{second}");
        // Or allowed by the flag at once.
        let allowed = plan_guarded(
            &now,
            &links,
            OrphanPolicy {
                allow: true,
                ..OrphanPolicy::default()
            },
        );
        assert_eq!(allowed.writes(), 9);
        // 0 confirm runs: only the flag applies it, however many runs see it.
        let flag_only = plan_guarded(
            &now,
            &links,
            OrphanPolicy {
                guard: OrphanGuard {
                    confirm_runs: 0,
                    ..OrphanGuard::default()
                },
                held_runs: 7,
                allow: false,
            },
        );
        assert_eq!(flag_only.writes(), 0);
    }

    #[test]
    fn an_empty_source_never_orphans_anything_without_the_flag() {
        let (now, links) = ten_linked_then(0);
        for held_runs in [0, 1, 5] {
            let p = plan_guarded(
                &now,
                &links,
                OrphanPolicy {
                    held_runs,
                    ..OrphanPolicy::default()
                },
            );
            assert_eq!(p.writes(), 0, "{p}");
            assert!(
                p.notes.iter().any(|n| n.contains("returned no groups")),
                "{:?}",
                p.notes
            );
        }
        let allowed = plan_guarded(
            &now,
            &links,
            OrphanPolicy {
                allow: true,
                ..OrphanPolicy::default()
            },
        );
        assert_eq!(allowed.writes(), 10);
    }

    #[test]
    fn duplicated_source_ids_are_refused_and_the_others_go_on() {
        let p = plan(
            &snapshot(vec![group("a", "x"), group("b", "y"), group("a", "z")]),
            &[],
            &targets(),
        );
        let refused: Vec<_> = p
            .units
            .iter()
            .filter(|u| matches!(u.action, Action::Refused { .. }))
            .map(|u| u.source_id.as_str())
            .collect();
        assert_eq!(refused, ["a"; 6], "both copies of a, on every target: {p}");
        assert!(
            p.units
                .iter()
                .any(|u| u.source_id == "b" && matches!(u.action, Action::Create { .. }))
        );
        assert!(p.notes.iter().any(|n| n.contains("more than once: a")));
    }

    #[test]
    fn a_name_beyond_the_targets_limit_is_refused_before_anything_is_sent() {
        let mut g = group("a", "x");
        g.group.name = "n".repeat(1024 * 1024);
        let p = plan(&snapshot(vec![g]), &[], &targets());
        for u in &p.units {
            match &u.action {
                Action::Refused { reason } => {
                    assert!(reason.contains("1048576 characters"), "{reason}")
                }
                // news-strict skips the lossy group before its size matters.
                Action::Skip { .. } => assert_eq!(u.target, "news-strict"),
                other => panic!("{}: {other:?}", u.target),
            }
        }
        assert_eq!(p.writes(), 0);
    }

    #[test]
    fn prefix_and_output_forms() {
        let mut t = targets();
        t[1].name_prefix = Some("[sync] ".into());
        let p = plan(&snapshot(vec![group("a", "x")]), &[], &t);
        assert_eq!(p.units[1].group_name, "[sync] Group a");
        let Action::Create { payload, .. } = &p.units[1].action else {
            unreachable!()
        };
        assert_eq!(payload.name(), "[sync] Group a");
        let json = serde_json::to_value(p.summary()).unwrap();
        assert_eq!(json["writes"], 2);
        assert_eq!(json["units"][2]["action"], "skip");
        assert!(p.to_string().contains("2 write(s)"));
    }
}
