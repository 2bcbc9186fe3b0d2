//! The orphan guard and what a run works out once before planning: which source ids
//! are present or duplicated, and how many links lost their source group.

use super::LinkIndex;
use super::Snapshot;
use std::collections::{BTreeSet, HashSet};

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

/// What holds for the whole run, worked out once from the snapshot and the links.
#[derive(Debug, Clone)]
pub struct RunFacts {
    /// Source ids present in the snapshot.
    pub(super) present: HashSet<String>,
    /// Source ids the snapshot holds more than once: those units fail.
    pub(super) duplicated: BTreeSet<String>,
    /// Links (of configured targets) whose source group is gone.
    pub(super) orphan_links: usize,
    /// Links of configured targets.
    pub(super) linked: usize,
    pub(super) verdict: OrphanVerdict,
    /// The guard as this run saw it.
    pub(super) policy: OrphanPolicy,
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
