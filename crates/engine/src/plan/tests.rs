//! The planner's decisions, unit by unit, against a fake dialect.
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
    fn decode(
        &self,
        _: &str,
        _: &Directory,
    ) -> Result<Vec<SourceGroup>, sgsync_provider::DecodeError> {
        Ok(Vec::new())
    }
    fn encode(&self, source: &SourceGroup, _: &Directory) -> (Option<Payload>, Findings) {
        let group = &source.group;
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
        on_drift: super::OnDrift::Repair,
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
                last_result: Some(UnitResult::Created),
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
    // Where the target cannot update, the copy is stale: never "unchanged" or a quiet
    // skip, and the reason names what really helps (no option that does not exist).
    assert_eq!(a, ["stale", "update", "skip"]);
    let Action::Stale { reason, since, .. } = &p.units[0].action else {
        unreachable!()
    };
    assert_eq!(*since, None, "stale from this run");
    assert!(
        reason.contains("cannot update a group; delete this copy"),
        "{reason}"
    );
    assert!(!reason.contains("replace"), "{reason}");
    assert_eq!(p.writes(), 1, "exactly one update: {p}");
}

/// The plan of `snapshot` against `links` with the orphan guard as `policy`.
fn plan_guarded(snapshot: &Snapshot, links: &[Link], policy: OrphanPolicy) -> Plan {
    let t = targets();
    let index = LinkIndex::of(snapshot.source, links, &t);
    let facts = RunFacts::new(snapshot, &index, policy);
    Planner::new(snapshot, &index, &t, &[], &facts).plan()
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
