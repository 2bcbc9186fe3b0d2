//! The links a run plans from, held lean: a run over tens of thousands of groups keeps
//! one [`Linked`] per (group, target), looked up by source id.

use super::TargetPolicy;
use sgsync_model::ProviderKind;
use sgsync_store::{Link, UnitResult};
use std::collections::BTreeMap;

/// A digest in hex, as the store keeps payload hashes.
pub(super) fn hex(digest: &[u8; 32]) -> String {
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
    /// The result the link holds, so a unit ending the same way writes nothing.
    pub recorded: Recorded,
    /// Since when the copy is stale (RFC 3339, as stored), if it is.
    pub stale_since: Option<Box<str>>,
}

/// What a link row says of its last unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Recorded {
    /// There is no link: a result has nowhere to go.
    #[default]
    NoLink,
    /// This result, without an error.
    Result(UnitResult),
    /// An error, or a word this version does not know: rewritten by the next result.
    Other,
}

impl Recorded {
    /// From a link row's `last_result` (`None`: unknown) and whether it holds a
    /// `last_error`.
    pub fn of(last_result: Option<UnitResult>, has_error: bool) -> Recorded {
        match last_result {
            Some(result) if !has_error => Recorded::Result(result),
            _ => Recorded::Other,
        }
    }

    /// Whether a unit ending with `result` (and `error`) must rewrite the link's result.
    /// A link keeps the last thing done to its copy: a unit that finds it unchanged
    /// leaves "created", "updated", … as they are (else the first run after a sync of
    /// N groups would rewrite N rows to say that nothing happened); an error, a held or
    /// skipped unit, or anything else is rewritten by the next result.
    pub fn differs(self, result: UnitResult, error: Option<&str>) -> bool {
        match self {
            Recorded::NoLink => false,
            Recorded::Result(
                UnitResult::Created
                | UnitResult::Adopted
                | UnitResult::Updated
                | UnitResult::Repaired
                | UnitResult::Unchanged,
            ) if result == UnitResult::Unchanged && error.is_none() => false,
            Recorded::Result(r) => r != result || error.is_some(),
            Recorded::Other => true,
        }
    }
}

impl Linked {
    pub fn new(target_id: &str, group_name: &str, payload_hash: Option<&str>) -> Self {
        Linked {
            target_id: target_id.into(),
            group_name: group_name.into(),
            payload_hash: payload_hash.and_then(parse_hex),
            recorded: Recorded::Other,
            stale_since: None,
        }
    }

    /// With what the row says of its last unit (see [`Recorded::of`]).
    pub fn recorded(self, recorded: Recorded) -> Self {
        Linked { recorded, ..self }
    }

    /// The same, stale since `since` (as stored).
    pub fn stale_since(mut self, since: Option<&str>) -> Self {
        self.stale_since = since.map(Into::into);
        self
    }
}

/// The source's links by source id and target, in source-id order (so orphans come out
/// in a stable order).
#[derive(Debug, Clone, Default)]
pub struct LinkIndex {
    pub(super) targets: Vec<String>,
    pub(super) by_source: BTreeMap<Box<str>, Box<[Option<Linked>]>>,
    /// Every link of this source, also those of targets no longer configured.
    pub(super) total: usize,
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
                Linked::new(&l.target_id, &l.group_name, l.payload_hash.as_deref())
                    .recorded(Recorded::of(l.last_result, l.last_error.is_some())),
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

    /// Target `t`'s links, in source-id order.
    pub fn of_target(&self, t: usize) -> impl Iterator<Item = (&str, &Linked)> {
        self.by_source
            .iter()
            .filter_map(move |(id, slots)| Some((&**id, slots.get(t)?.as_ref()?)))
    }

    pub(super) fn get(&self, source_id: &str, target: usize) -> Option<&Linked> {
        self.by_source.get(source_id)?.get(target)?.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_is_rewritten_only_when_the_link_says_otherwise() {
        use UnitResult::{Failed, Skipped, Unchanged};
        let clean = Recorded::of(Some(Unchanged), false);
        assert!(!clean.differs(Unchanged, None), "same result, no error");
        assert!(clean.differs(Skipped, None));
        assert!(clean.differs(Failed, Some("boom")));
        // A link holding an error is rewritten by any result, so the error goes.
        assert!(Recorded::of(Some(Unchanged), true).differs(Unchanged, None));
        // A word this version does not know is rewritten too.
        assert!(Recorded::of(None, false).differs(Unchanged, None));
        // No link: nothing to rewrite.
        assert!(!Recorded::NoLink.differs(Failed, Some("boom")));
        // The last change stays when nothing changes after it; anything else replaces it.
        use UnitResult::{Created, Held, Updated};
        for done in [Created, Updated] {
            let link = Recorded::of(Some(done), false);
            assert!(!link.differs(Unchanged, None), "{done:?} then unchanged");
            assert!(link.differs(Unchanged, Some("boom")));
            assert!(link.differs(Held, None));
        }
        assert!(Recorded::of(Some(Skipped), false).differs(Unchanged, None));
    }
}
