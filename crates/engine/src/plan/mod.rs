//! Deciding what a run will do, before it does anything: for every (source group,
//! target) one action. Pure: the same snapshot, links and settings always give the same
//! plan, which is why `sgsync plan` can print exactly what `sgsync sync` would do.

use serde::{Deserialize, Serialize};
use sgsync_model::members::MembershipPolicy;
use sgsync_model::{Directory, Fidelity, ProviderKind, SmartGroup, SourceGroup, stable_key};
use sgsync_provider::{Capabilities, Dialect, Payload, translate};
use sgsync_store::{Link, UnitResult};
use sha2::{Digest, Sha256};

mod guard;
mod links;
mod report;

pub use guard::{OrphanGuard, OrphanPolicy, OrphanVerdict, RunFacts};
use links::hex;
pub use links::{LinkIndex, Linked, Recorded};
pub use report::{Plan, PlanOverview, PlanSummary, UnitSummary};
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

/// Policy for a copy changed on the target by hand (`on_drift`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDrift {
    /// Put it back as the source has it (the source is the truth): a deleted copy is
    /// created again, a renamed, archived or edited one is updated.
    #[default]
    Repair,
    /// Only report it (`plan`, `sync`, `status`, metrics).
    Report,
}

impl OnDrift {
    pub fn as_str(self) -> &'static str {
        match self {
            OnDrift::Repair => "repair",
            OnDrift::Report => "report",
        }
    }
}

/// What was found on one linked copy by reading the target (`crate::verify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// The copy no longer exists.
    pub vanished: bool,
    /// What was found, in words: `deleted by hand`, `renamed to "…"`, `archived by
    /// hand`, `its rules were edited`.
    pub what: String,
}

/// The drift found this run, by (source id, target position).
#[derive(Debug, Clone, Default)]
pub struct DriftIndex {
    pub by_unit: std::collections::HashMap<(String, usize), Drift>,
}

impl DriftIndex {
    pub fn get(&self, source_id: &str, t: usize) -> Option<&Drift> {
        self.by_unit.get(&(source_id.to_owned(), t))
    }
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
    /// What to do with a copy changed on the target by hand.
    pub on_drift: OnDrift,
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
    /// The copy was changed on the target by hand (deleted, renamed, archived, edited).
    /// `repair` holds what puts it back (`on_drift = "repair"` on a target that can);
    /// `None`: reported only, `reason` says why and what would change it.
    Drift {
        target_id: String,
        drift: Drift,
        repair: Option<(Payload, String)>,
        reason: Option<String>,
    },
    /// The source changed, but the target cannot update its copy (GoSquared): reported
    /// as stale (since `since`, as stored, when known) until it is recreated.
    Stale {
        target_id: String,
        since: Option<String>,
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
            Action::Drift { .. } => "drift",
            Action::Stale { .. } => "stale",
        }
    }

    /// Whether applying this action writes to the target.
    pub fn writes(&self) -> bool {
        match self {
            Action::Create { .. } | Action::Update { .. } => true,
            Action::Orphaned { then, .. } => *then != OnSourceDeleted::Keep,
            Action::Drift { repair, .. } => repair.is_some(),
            Action::Unchanged { .. }
            | Action::Skip { .. }
            | Action::Held { .. }
            | Action::Refused { .. }
            | Action::Stale { .. } => false,
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
    /// What the link holds of its last unit: a unit that ends the same way costs no
    /// statement in the store.
    pub recorded: Recorded,
}

/// What a first pass over the units learnt of one, for [`Planner::units_for_known`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    Unchanged,
    Skipped,
    /// Anything else: planned again, translation and all.
    Other,
}

impl Known {
    pub fn of(action: &Action) -> Known {
        match action {
            Action::Unchanged { .. } => Known::Unchanged,
            Action::Skip { .. } => Known::Skipped,
            _ => Known::Other,
        }
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

/// Plans unit by unit, on demand: a run over many groups never holds more of its plan
/// than the units in flight. Pure, like [`plan`], which is every unit of it at once.
#[derive(Clone, Copy)]
pub struct Planner<'a> {
    snapshot: &'a Snapshot,
    links: &'a LinkIndex,
    targets: &'a [TargetPolicy],
    /// Each target's directory this run (same order as `targets`): names become that
    /// account's ids.
    directories: &'a [Arc<Directory>],
    /// What the planner worked out once for the whole run.
    facts: &'a RunFacts,
    /// Drift found on the targets this run (none before verification).
    drift: Option<&'a DriftIndex>,
}

impl<'a> Planner<'a> {
    /// `links` and `directories` must be for `targets`, in the same order, and `facts`
    /// from the same snapshot and links.
    pub fn new(
        snapshot: &'a Snapshot,
        links: &'a LinkIndex,
        targets: &'a [TargetPolicy],
        directories: &'a [Arc<Directory>],
        facts: &'a RunFacts,
    ) -> Self {
        Planner {
            snapshot,
            links,
            targets,
            directories,
            facts,
            drift: None,
        }
    }

    /// The same planner, with the drift verification found this run.
    pub fn with_drift(self, drift: &'a DriftIndex) -> Self {
        Planner {
            drift: Some(drift),
            ..self
        }
    }

    pub fn links(&self) -> &'a LinkIndex {
        self.links
    }

    /// The unit of source group `source_id` on target `t`, `None` when the source no
    /// longer has the group.
    pub fn unit_of(&self, source_id: &str, t: usize) -> Option<Unit> {
        let g = self
            .snapshot
            .groups
            .iter()
            .find(|g| g.group.id.as_deref() == Some(source_id))?;
        Some(self.unit(g, source_id, t))
    }

    /// What target `t` would be sent for source group `source_id` if it had no copy
    /// yet: the payload a verification compares the copy with. `None` for a group the
    /// source no longer has, or one nothing is written for.
    pub fn payload_for(&self, source_id: &str, t: usize) -> Option<(Payload, String)> {
        let g = self
            .snapshot
            .groups
            .iter()
            .find(|g| g.group.id.as_deref() == Some(source_id))?;
        match self.unit_with(g, source_id, t, None).action {
            Action::Create { payload, hash } => Some((payload, hash)),
            _ => None,
        }
    }

    pub fn targets(&self) -> &'a [TargetPolicy] {
        self.targets
    }

    pub fn facts(&self) -> &'a RunFacts {
        self.facts
    }

    /// Target `t`'s directory this run ([`Directory::none`] when none was read).
    pub fn directory(&self, t: usize) -> &'a Directory {
        static NONE: std::sync::OnceLock<Directory> = std::sync::OnceLock::new();
        self.directories
            .get(t)
            .map(|d| d.as_ref())
            .unwrap_or_else(|| NONE.get_or_init(Directory::none))
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

    /// As [`Self::units_for`], after a first pass over the same units told `known`
    /// (one per unit, in order): a unit known unchanged or skipped is not translated
    /// again. The snapshot and links are the same, so it would come out the same; a
    /// skipped unit's reason is left out (the apply pass only counts it).
    pub fn units_for_known(
        self,
        t: usize,
        known: Vec<Known>,
    ) -> impl Iterator<Item = Unit> + Send + 'a {
        let target = &self.targets[t];
        let facts = self.facts;
        let mut known = known.into_iter();
        self.snapshot
            .groups
            .iter()
            .filter_map(move |g| {
                let id = g.group.id.as_deref()?;
                Some(match known.next() {
                    Some(k @ (Known::Unchanged | Known::Skipped)) => self.known_unit(g, id, t, k),
                    _ => self.unit(g, id, t),
                })
            })
            .chain(self.orphans_for(t).map(move |(id, linked)| {
                orphan(self.snapshot.source, id, linked, target, &facts.verdict)
            }))
    }

    /// The unit a first pass found unchanged or skipped, without translating it.
    fn known_unit(&self, source: &SourceGroup, source_id: &str, t: usize, known: Known) -> Unit {
        let target = &self.targets[t];
        let link = self.links.get(source_id, t);
        let action = match (known, link) {
            (Known::Unchanged, Some(link)) => Action::Unchanged {
                target_id: link.target_id.to_string(),
            },
            (Known::Skipped, _) => Action::Skip {
                reason: String::new(),
            },
            // Not what the first pass saw: plan it afresh.
            _ => return self.unit(source, source_id, t),
        };
        Unit {
            source_id: source_id.to_owned(),
            target: target.name.clone(),
            target_provider: target.provider,
            group_name: format!(
                "{}{}",
                target.name_prefix.as_deref().unwrap_or(""),
                source.group.name
            ),
            stable_key: stable_key(self.snapshot.source, source_id),
            fidelity: None,
            action,
            recorded: link.map_or(Recorded::NoLink, |l| l.recorded),
        }
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
        let link = self.links.get(source_id, t);
        let mut unit = self.unit_with(source, source_id, t, link);
        let (Some(link), Some(drift)) = (link, self.drift.and_then(|d| d.get(source_id, t))) else {
            return unit;
        };
        let target = &self.targets[t];
        // A copy found changed by hand, on a unit that would otherwise write nothing
        // (an update puts it back anyway) or only report it stale.
        let again = || self.unit_with(source, source_id, t, None).action;
        match &unit.action {
            Action::Unchanged { .. } | Action::Stale { .. } => {}
            _ => return unit,
        }
        let repairable = drift.vanished || target.capabilities.update;
        let repair = match (target.on_drift, repairable, again()) {
            (OnDrift::Repair, true, Action::Create { payload, hash }) => Some((payload, hash)),
            _ => None,
        };
        let reason = repair.is_none().then(|| {
            if target.on_drift == OnDrift::Report {
                "on_drift = \"report\"; set on_drift = \"repair\" to put it back as the source has it".to_owned()
            } else {
                format!(
                    "{} cannot update a group: delete it there by hand and the next run creates it again from the source",
                    target.provider.display_name()
                )
            }
        });
        unit.action = Action::Drift {
            target_id: link.target_id.to_string(),
            drift: drift.clone(),
            repair,
            reason,
        };
        unit
    }

    fn unit_with(
        &self,
        source: &SourceGroup,
        source_id: &str,
        t: usize,
        link: Option<&Linked>,
    ) -> Unit {
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
                recorded: Recorded::NoLink,
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
            recorded: link.map_or(Recorded::NoLink, |l| l.recorded),
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
        let directory = self.directory(t);
        let translation = translate(&renamed, target.dialect.as_ref(), directory);
        // Where the rule cannot travel, the audience can: a static group (issue 16).
        let translation = crate::audience::shell(translation, &renamed, target);
        if let Some(first) = translation.unavailable.first() {
            // Judged on a guess it would be written wrong or skipped wrongly: it fails,
            // saying what could not be read, and the next run tries again.
            return Unit {
                fidelity: Some(translation.fidelity),
                action: Action::Refused {
                    reason: first.to_string(),
                },
                ..base
            };
        }
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
    Planner::new(snapshot, &index, targets, &[], &facts).plan()
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
            if target.on_lossy == OnLossy::Skip
                && !crate::audience::by_members(target, fidelity) =>
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
        // The copy no longer matches its source and never will by itself: stale, never
        // healthy, until it is recreated (deleted by hand on the target, then the next
        // run's check finds it gone and creates it again).
        Some(link) if !target.capabilities.update => Action::Stale {
            target_id: link.target_id.to_string(),
            since: link.stale_since.as_deref().map(str::to_owned),
            reason: format!(
                "stale{}: the source group changed, and {provider}'s API cannot update a group; delete this copy in {provider} by hand and the next run creates it again with the current rule (or leave it, and it stays reported stale)",
                link.stale_since
                    .as_deref()
                    .map(|t| format!(" since {t}"))
                    .unwrap_or_default(),
                provider = target.provider.display_name()
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
        recorded: linked.recorded,
    }
}

#[cfg(test)]
mod tests;
