//! Membership materialisation, the pure part: who the source group's people are (email
//! identity, normalised), what differs from the member set last synced to a target
//! group, and whether a drop is large enough to hold its removals back.
//!
//! Pure and synchronous like `plan`: the same inputs always give the same decision, so
//! `sgsync plan` prints exactly what `sgsync sync` would send.
//!
//! The store keeps, per link, only the hashes of normalised emails (never profiles), so
//! the diff works on hashes; the people entering carry their display email and name,
//! because a target may have to create them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

/// Per target: when the members of a source group are copied into a static target group
/// (`membership`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MembershipMode {
    /// Never.
    Off,
    /// Only for groups whose rule the target cannot hold. On emfluence, which holds no
    /// rule at all, that is every group; on a target that holds rules (iSpring Learn),
    /// the groups whose translation is impossible become static groups with members.
    WhenRuleImpossible,
    /// As `WhenRuleImpossible`, and on a target that holds rules a group whose rule
    /// would travel only approximately (lossy) becomes a static group too, instead of
    /// following `on_lossy`.
    WhenRuleLossy,
    /// For every group synced to the target (on a target that holds rules: every
    /// group becomes a static group, even one whose rule would travel exactly).
    Always,
}

impl MembershipMode {
    /// On a target whose every group is static (emfluence): whether a group whose
    /// rule translated with `exact` fidelity gets its members.
    pub fn applies(self, exact: bool) -> bool {
        match self {
            MembershipMode::Off => false,
            MembershipMode::WhenRuleImpossible | MembershipMode::WhenRuleLossy => !exact,
            MembershipMode::Always => true,
        }
    }

    /// On a target that holds rules (iSpring Learn): whether a group whose rule
    /// translated with `fidelity` travels as a static group with its members instead.
    pub fn replaces_rule(self, fidelity: &crate::Fidelity) -> bool {
        use crate::Fidelity;
        match (self, fidelity) {
            (MembershipMode::Off, _) => false,
            (_, Fidelity::Impossible(_)) => true,
            (MembershipMode::WhenRuleLossy, Fidelity::Lossy(_)) => true,
            (MembershipMode::Always, _) => true,
            _ => false,
        }
    }
}

/// The `at` of the reason a static group stands in for a rule: how the engine tells a
/// unit whose audience travels as members from one whose rule travels.
pub const STATIC_GROUP_AT: &str = "membership";

/// The default share of the last synced members whose disappearance in one run is
/// treated as a probable source outage rather than real churn.
pub const DEFAULT_MAX_REMOVAL_FRACTION: f64 = 0.5;
/// By default a held drop is applied when a second consecutive run sees it too.
pub const DEFAULT_CONFIRM_RUNS: u32 = 2;

/// The mass-removal guard of one target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Guard {
    /// Removals are held when they would take away more than this share (0.0–1.0) of
    /// the last synced member count.
    pub max_removal_fraction: f64,
    /// A held drop is applied on the run that sees it for the `confirm_runs`-th time in
    /// a row (2: the second consecutive run); 0: only `--allow-mass-removal` applies it.
    pub confirm_runs: u32,
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            max_removal_fraction: DEFAULT_MAX_REMOVAL_FRACTION,
            confirm_runs: DEFAULT_CONFIRM_RUNS,
        }
    }
}

/// One target's membership settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MembershipPolicy {
    pub mode: MembershipMode,
    pub guard: Guard,
}

impl Default for MembershipPolicy {
    fn default() -> Self {
        MembershipPolicy {
            mode: MembershipMode::Off,
            guard: Guard::default(),
        }
    }
}

/// A normalised email address: the identity of a person across providers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// Trimmed, with the domain lower-cased. The local part keeps its case: RFC 5321
    /// lets a server treat `Ann@x` and `ann@x` as different mailboxes, and merging two
    /// real people would be worse than keeping one person twice. Anything without a
    /// single `@` between a non-empty local part and domain is not an address (`None`).
    pub fn normalise(raw: &str) -> Option<Email> {
        let trimmed = raw.trim();
        let (local, domain) = trimmed.rsplit_once('@')?;
        if local.is_empty()
            || domain.is_empty()
            || local.contains('@')
            || trimmed.chars().any(char::is_whitespace)
        {
            return None;
        }
        Some(Email(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store keeps: 128 bits of SHA-256 of the normalised address, in hex.
    /// Enough to tell 10⁹ addresses apart (collision chance ≈ 10⁻²¹) and says nothing
    /// readable about the person.
    pub fn hash(&self) -> MemberHash {
        let digest = Sha256::digest(self.0.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        MemberHash(bytes)
    }
}

/// The stored form of a member: [`Email::hash`]. Held as its 16 bytes (a run over a
/// million members holds two of these each: as text they cost 72 bytes apiece, as bytes
/// 16, with no allocation); the store keeps it as 32 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberHash([u8; 16]);

impl MemberHash {
    /// Its 32 hex digits, as the store keeps them.
    pub fn to_hex(self) -> String {
        // A table, not `format!`: a baseline of a million members writes two million.
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(32);
        for b in self.0 {
            hex.push(char::from(DIGITS[usize::from(b >> 4)]));
            hex.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
        hex
    }

    /// From the store's 32 hex digits; `None` for anything else.
    pub fn from_hex(text: &str) -> Option<MemberHash> {
        if text.len() != 32 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(MemberHash(bytes))
    }
}

impl std::fmt::Display for MemberHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::fmt::Debug for MemberHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl Serialize for MemberHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One person of a source group as a provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePerson {
    /// The provider's own id (for messages).
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// A person with an address: what a target is asked to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub email: Email,
    /// The address as the source wrote it, for display and for creating a contact.
    pub display: String,
    pub name: Option<String>,
    pub hash: MemberHash,
}

/// A source group's people, read at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberSet {
    /// By hash; one entry per normalised address (duplicates collapse).
    pub members: HashMap<MemberHash, Member>,
    /// People without a usable address: counted and reported, never silently dropped.
    pub without_email: usize,
    /// Ids of the first few of them, for messages.
    pub without_email_ids: Vec<String>,
}

impl MemberSet {
    pub fn from_people(people: impl IntoIterator<Item = SourcePerson>) -> MemberSet {
        let mut set = MemberSet::default();
        for p in people {
            match p.email.as_deref().and_then(Email::normalise) {
                Some(email) => {
                    let hash = email.hash();
                    set.members.entry(hash).or_insert(Member {
                        display: p.email.as_deref().unwrap_or_default().trim().to_owned(),
                        name: p.name.filter(|n| !n.trim().is_empty()),
                        email,
                        hash,
                    });
                }
                None => {
                    set.without_email += 1;
                    if set.without_email_ids.len() < 5 {
                        set.without_email_ids.push(p.id);
                    }
                }
            }
        }
        set
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// What the store remembers of one link's members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synced {
    /// `false` until the first materialisation (then the target group is read once).
    pub initialised: bool,
    pub hashes: HashSet<MemberHash>,
    /// Consecutive runs before this one that held a mass removal back.
    pub held_runs: u32,
}

/// Whether this run's removals go ahead.
#[derive(Debug, Clone, PartialEq)]
pub enum Removals {
    Apply,
    /// Applied although the guard tripped, and why.
    Allowed(String),
    /// Held back; the text says why and how to apply them.
    Held(String),
}

/// The decision for one (source group, target) membership unit.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberDiff {
    /// Entering people, in a stable order (by normalised email).
    pub adds: Vec<Member>,
    /// Leaving members (hashes only: that is all the store has), sorted.
    pub removes: Vec<MemberHash>,
    pub removals: Removals,
    /// Member count after this run if everything is applied.
    pub total: usize,
    pub last_total: usize,
}

impl MemberDiff {
    pub fn is_empty(&self) -> bool {
        self.adds.is_empty() && self.removes.is_empty()
    }
    /// Removals this run will send.
    pub fn removes_applied(&self) -> &[MemberHash] {
        match self.removals {
            Removals::Held(_) => &[],
            _ => &self.removes,
        }
    }
}

/// Diffs `current` against what was last synced, and applies the guard.
pub fn diff(current: &MemberSet, synced: &Synced, guard: &Guard, allow_mass: bool) -> MemberDiff {
    let mut adds: Vec<Member> = current
        .members
        .values()
        .filter(|m| !synced.hashes.contains(&m.hash))
        .cloned()
        .collect();
    adds.sort_by(|a, b| a.email.cmp(&b.email));
    let mut removes: Vec<MemberHash> = synced
        .hashes
        .iter()
        .filter(|h| !current.members.contains_key(h))
        .cloned()
        .collect();
    removes.sort();
    let last_total = synced.hashes.len();
    let removals = judge(
        last_total,
        current.len(),
        removes.len(),
        synced,
        guard,
        allow_mass,
    );
    MemberDiff {
        adds,
        removes,
        removals,
        total: current.len(),
        last_total,
    }
}

/// The guard: a drop of the member count by more than `max_removal_fraction` of the
/// last synced count is held — an empty or truncated answer from a source in trouble
/// must not empty the target — unless allowed or seen on enough consecutive runs.
fn judge(
    last: usize,
    now: usize,
    removing: usize,
    synced: &Synced,
    guard: &Guard,
    allow_mass: bool,
) -> Removals {
    if removing == 0 || last == 0 {
        return Removals::Apply;
    }
    let drop = last.saturating_sub(now);
    if (drop as f64) <= guard.max_removal_fraction * last as f64 {
        return Removals::Apply;
    }
    let what = format!(
        "the member count drops from {last} to {now} ({:.0} % > max_removal_fraction {:.0} %)",
        100.0 * drop as f64 / last as f64,
        100.0 * guard.max_removal_fraction
    );
    if allow_mass {
        return Removals::Allowed(format!("{what}; applied: --allow-mass-removal"));
    }
    let seen = synced.held_runs + 1;
    if guard.confirm_runs >= 2 && seen >= guard.confirm_runs {
        return Removals::Allowed(format!("{what}; applied: seen on {seen} consecutive runs"));
    }
    let then = if guard.confirm_runs >= 2 {
        format!(
            "; applied when {} consecutive run(s) see it, or with --allow-mass-removal",
            guard.confirm_runs
        )
    } else {
        "; apply with --allow-mass-removal".to_owned()
    };
    Removals::Held(format!("{removing} removal(s) held: {what}{then}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_fidelity_travels_as_members_on_a_target_that_holds_rules() {
        use crate::{Fidelity, Reason};
        let exact = Fidelity::Exact;
        let lossy = Fidelity::Lossy(vec![Reason::new("rule", "wider")]);
        let impossible = Fidelity::Impossible(vec![Reason::new("rule", "no")]);
        let row = |m: MembershipMode| [&exact, &lossy, &impossible].map(|f| m.replaces_rule(f));
        assert_eq!(row(MembershipMode::Off), [false, false, false]);
        assert_eq!(
            row(MembershipMode::WhenRuleImpossible),
            [false, false, true]
        );
        assert_eq!(row(MembershipMode::WhenRuleLossy), [false, true, true]);
        assert_eq!(row(MembershipMode::Always), [true, true, true]);
        // On a target whose every group is static (emfluence) lossy is the norm.
        assert!(MembershipMode::WhenRuleLossy.applies(false));
        assert!(!MembershipMode::WhenRuleLossy.applies(true));
    }

    fn person(id: &str, email: Option<&str>) -> SourcePerson {
        SourcePerson {
            id: id.into(),
            email: email.map(str::to_owned),
            name: Some(format!("Person {id}")),
        }
    }

    fn set(emails: &[&str]) -> MemberSet {
        MemberSet::from_people(
            emails
                .iter()
                .enumerate()
                .map(|(i, e)| person(&i.to_string(), Some(e))),
        )
    }

    fn synced_from(s: &MemberSet, held_runs: u32) -> Synced {
        Synced {
            initialised: true,
            hashes: s.members.keys().cloned().collect(),
            held_runs,
        }
    }

    #[test]
    fn emails_are_trimmed_with_the_domain_lower_cased() {
        let e = Email::normalise("  Ada.Lovelace@Example.COM \n").unwrap();
        assert_eq!(e.as_str(), "Ada.Lovelace@example.com");
        assert_eq!(
            e.hash(),
            Email::normalise("Ada.Lovelace@example.com").unwrap().hash()
        );
        assert_ne!(
            e.hash(),
            Email::normalise("ada.lovelace@example.com").unwrap().hash(),
            "the local part keeps its case"
        );
        // What stores written before the hash became bytes hold: the same 32 digits.
        assert_eq!(e.hash().to_hex(), "9dee375ca4ae804ee58c8935ebe66318");
        assert_eq!(MemberHash::from_hex(&e.hash().to_hex()), Some(e.hash()));
        assert_eq!(e.hash().to_string(), e.hash().to_hex());
        for bad in [
            "",
            "9dee",
            "9dee375ca4ae804ee58c8935ebe6631g",
            "é9dee375ca4ae804ee58c8935ebe66",
        ] {
            assert_eq!(MemberHash::from_hex(bad), None, "{bad:?}");
        }
        for bad in ["", "   ", "no-at", "@x.com", "a@", "a b@x.com", "a@b@c"] {
            assert_eq!(Email::normalise(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn people_without_email_are_counted_and_duplicates_collapse() {
        let s = MemberSet::from_people([
            person("1", Some("a@x.com")),
            person("2", Some(" a@X.com")),
            person("3", None),
            person("4", Some("not an address")),
            person("5", Some("b@x.com")),
        ]);
        assert_eq!(s.len(), 2);
        assert_eq!(s.without_email, 2);
        assert_eq!(s.without_email_ids, ["3", "4"]);
        let a = &s.members[&Email::normalise("a@x.com").unwrap().hash()];
        assert_eq!(
            a.display, "a@x.com",
            "the first spelling is kept for display"
        );
    }

    #[test]
    fn the_diff_is_exactly_who_entered_and_who_left() {
        let before = set(&["a@x.com", "b@x.com", "c@x.com", "d@x.com"]);
        let now = set(&["b@x.com", "c@x.com", "d@x.com", "e@x.com"]);
        let d = diff(&now, &synced_from(&before, 0), &Guard::default(), false);
        let adds: Vec<_> = d.adds.iter().map(|m| m.email.as_str()).collect();
        assert_eq!(adds, ["e@x.com"]);
        assert_eq!(d.removes, [Email::normalise("a@x.com").unwrap().hash()]);
        assert_eq!(d.removals, Removals::Apply);
        assert_eq!((d.total, d.last_total), (4, 4));
        let same = diff(&now, &synced_from(&now, 0), &Guard::default(), false);
        assert!(same.is_empty(), "no change, nothing to send");
    }

    #[test]
    fn first_materialisation_adds_everyone() {
        let now = set(&["a@x.com", "b@x.com"]);
        let d = diff(&now, &Synced::default(), &Guard::default(), false);
        assert_eq!(d.adds.len(), 2);
        assert!(d.removes.is_empty());
    }

    #[test]
    fn a_large_drop_is_held_then_applied_by_flag_or_a_second_sighting() {
        let emails: Vec<String> = (0..10).map(|i| format!("p{i}@x.com")).collect();
        let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
        let before = set(&refs);
        let now = set(&refs[..4]); // 6 of 10 gone: 60 % > 50 %
        let g = Guard::default();
        let held = diff(&now, &synced_from(&before, 0), &g, false);
        assert!(
            matches!(&held.removals, Removals::Held(why) if why.contains("6 removal(s) held") && why.contains("from 10 to 4")),
            "{:?}",
            held.removals
        );
        assert!(held.removes_applied().is_empty());
        assert_eq!(held.removes.len(), 6);
        let flag = diff(&now, &synced_from(&before, 0), &g, true);
        assert!(matches!(flag.removals, Removals::Allowed(_)));
        assert_eq!(flag.removes_applied().len(), 6);
        let second = diff(&now, &synced_from(&before, 1), &g, false);
        assert!(
            matches!(&second.removals, Removals::Allowed(why) if why.contains("2 consecutive runs"))
        );
        let never = Guard {
            confirm_runs: 0,
            ..g
        };
        assert!(matches!(
            diff(&now, &synced_from(&before, 5), &never, false).removals,
            Removals::Held(_)
        ));
    }

    #[test]
    fn a_drop_within_the_fraction_and_an_empty_past_pass() {
        let emails: Vec<String> = (0..10).map(|i| format!("p{i}@x.com")).collect();
        let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
        let d = diff(
            &set(&refs[..5]),
            &synced_from(&set(&refs), 0),
            &Guard::default(),
            false,
        );
        assert_eq!(
            d.removals,
            Removals::Apply,
            "exactly 50 % is not more than 50 %"
        );
        // Churn without a count drop is never held, however many leave.
        let d = diff(
            &set(&["n1@x.com", "n2@x.com"]),
            &synced_from(&set(&["o1@x.com", "o2@x.com"]), 0),
            &Guard::default(),
            false,
        );
        assert_eq!(d.removals, Removals::Apply);
    }

    #[test]
    fn modes() {
        assert!(!MembershipMode::Off.applies(false));
        assert!(MembershipMode::WhenRuleImpossible.applies(false));
        assert!(!MembershipMode::WhenRuleImpossible.applies(true));
        assert!(MembershipMode::Always.applies(true));
    }
}
