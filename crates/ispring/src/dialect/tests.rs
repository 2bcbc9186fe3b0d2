//! The dialect's tests: the seeds decoded, what every rule becomes and back, and what
//! cannot be said in iSpring's rules.

use super::*;
use crate::wire::parse_groups;
use sgsync_model::mapping::{AttributeConfig, MappingConfig};
use sgsync_model::{EventField, Fidelity, Profile, evaluate};

const ADD_REQUEST: &str = include_str!("../../../../tests/fixtures/ispring/add_request_seed.xml");
const UPDATE_REQUEST: &str =
    include_str!("../../../../tests/fixtures/ispring/update_request_seed.xml");
const GET_RULES: &str = include_str!("../../../../tests/fixtures/ispring/get_rules_response.xml");

fn fixed(seed: &str) -> String {
    seed.replace(
        "<attributeType>1<attributeType>",
        "<attributeType>1</attributeType>",
    )
}

fn maps() -> Maps {
    maps_confirmed(true)
}

/// The test mapping, with iSpring's profile-field reading confirmed or not.
fn maps_confirmed(field_rules: bool) -> Maps {
    let mut cfg = MappingConfig::default();
    cfg.confirmed.ispring_field_rules = field_rules;
    for (name, field) in [("job_title", "JOB_TITLE"), ("country", "COUNTRY")] {
        cfg.attributes.insert(
            name.into(),
            AttributeConfig {
                gosquared: None,
                ispring_field: Some(field.into()),
            },
        );
    }
    cfg.attributes
        .insert("plan".into(), AttributeConfig::default());
    cfg.values.insert(
        "country".into(),
        [("CA".to_owned(), "country-ca".to_owned())].into(),
    );
    cfg.departments
        .insert("Sales".into(), "id_department".into());
    cfg.groups.insert("Managers".into(), "id_group".into());
    Maps::from_config(&cfg).unwrap()
}

fn group(rule: Rule) -> SmartGroup {
    SmartGroup {
        id: None,
        name: "G".into(),
        description: None,
        rule,
    }
}

fn dept(scope: DepartmentScope, key: &str) -> Rule {
    Rule::cond(
        Attribute::Department { scope },
        Op::Equals,
        Value::string(key),
    )
}
fn grp(key: &str) -> Rule {
    Rule::cond(Attribute::Group, Op::Equals, Value::string(key))
}
fn prop(name: &str, op: Op, value: Value) -> Rule {
    Rule::cond(Attribute::Property(name.into()), op, value)
}

/// encode → to_xml → parse → decode.
fn through_xml(payload: &SmartGroupPayload, maps: &Maps) -> SourceGroup {
    let groups = parse_groups(&payload.to_xml()).unwrap();
    assert_eq!(groups.len(), 1);
    decode(&groups[0], maps)
}

#[test]
fn seed_requests_decode_encode_and_decode_to_the_same_model() {
    for (seed, maps) in [
        (ADD_REQUEST, Maps::default()),
        (ADD_REQUEST, maps()),
        (UPDATE_REQUEST, Maps::default()),
        (UPDATE_REQUEST, maps()),
    ] {
        let wire = parse_groups(&fixed(seed)).unwrap();
        let first = decode(&wire[0], &maps);
        assert!(first.uncertain.is_empty());
        let (payload, findings) = encode(&first.group, crate::KIND, &maps);
        assert_eq!(findings.fidelity(), Fidelity::Exact);
        let second = through_xml(&payload.unwrap(), &maps);
        assert_eq!(second.group.rule, first.group.rule);
        assert_eq!(second.group.name, first.group.name);
    }
    // Shapes: one clause of three alternatives, never flattened.
    let wire = parse_groups(&fixed(ADD_REQUEST)).unwrap();
    let g = decode(&wire[0], &maps()).group;
    assert_eq!(g.name, " NEW GROUP");
    let Rule::All(clauses) = &g.rule else {
        panic!("{:?}", g.rule)
    };
    let Rule::Any(alts) = &clauses[0] else {
        panic!()
    };
    assert_eq!(alts[0], dept(DepartmentScope::WithDescendants, "Sales"));
    assert_eq!(alts[1], grp("Managers"));
    // JON_TITLE (the sample's typo) is just an unmapped field: kept opaque.
    assert!(matches!(&alts[2], Rule::Opaque(o)
        if o.dialect == crate::KIND && o.why.contains("JON_TITLE")
            && o.why.contains("mapping.attributes")));
    let update = parse_groups(&fixed(UPDATE_REQUEST)).unwrap();
    let u = decode(&update[0], &maps()).group;
    assert_eq!(
        u.id.as_deref(),
        Some("06a7dcfe-e05a-11e9-b1e5-0a580af40b37")
    );
    let expect = Rule::All(vec![Rule::Any(vec![
        dept(DepartmentScope::WithDescendants, "Sales"),
        grp("Managers"),
        prop("job_title", Op::Equals, Value::string("Sales Manager")),
    ])]);
    assert_eq!(u.rule, expect);
}

#[test]
fn flat_read_back_is_certain_only_for_one_rule() {
    let one = decode(&parse_groups(GET_RULES).unwrap()[0], &Maps::default());
    assert!(one.uncertain.is_empty());
    assert_eq!(one.provider, crate::KIND);
    assert_eq!(
        one.group.rule,
        Rule::All(vec![Rule::Any(vec![dept(
            DepartmentScope::WithDescendants,
            "d48bd4fa-0000-11e9-8000-0a580af40002"
        )])])
    );
    let rule =
        "<rule><attributeType>2</attributeType><operator>1</operator><value>g</value></rule>";
    let two = format!("<GetSmartGroupRulesResult>{rule}{rule}</GetSmartGroupRulesResult>");
    let two = decode(&parse_groups(&two).unwrap()[0], &Maps::default());
    assert_eq!(two.uncertain.len(), 1);
    assert!(
        two.uncertain[0]
            .why
            .contains("2 rules without their AND/OR structure")
    );
    assert!(matches!(&two.group.rule, Rule::All(c) if c.len() == 2));
    let none = decode(
        &parse_groups("<GetSmartGroupRulesResult/>").unwrap()[0],
        &Maps::default(),
    );
    assert_eq!(none.group.rule, Rule::All(vec![]));
    assert_eq!(none.uncertain.len(), 1);
}

#[test]
fn undocumented_or_unmapped_rules_decode_as_opaque_with_a_reason() {
    let m = maps();
    let cases = [
        (
            "<attributeType>7</attributeType><operator>1</operator>",
            "attributeType 7",
        ),
        (
            "<attributeType>1</attributeType><operator>3</operator>",
            "operator 3",
        ),
        (
            "<attributeType>2</attributeType><operator>2</operator>",
            "operator 2",
        ),
        (
            "<attributeType>3</attributeType><operator>1</operator>",
            "without an attributeId",
        ),
        (
            "<attributeType>3</attributeType><attributeId>COUNTRY</attributeId><operator>1</operator>",
            "mapping.values.country",
        ),
    ];
    for (body, why) in cases {
        let xml = format!("<rules><and><or><rule>{body}<value>v</value></rule></or></and></rules>");
        let mut g = decode(&parse_groups(&xml).unwrap()[0], &m).group;
        // A bare <rules> has no name; the group needs one to be written.
        assert_eq!(g.name, "");
        g.name = "G".into();
        let Rule::All(c) = &g.rule else { panic!() };
        let Rule::Any(a) = &c[0] else { panic!() };
        match &a[0] {
            Rule::Opaque(o) => {
                assert!(o.why.contains(why), "{} lacks {why}", o.why);
                // Written back verbatim, exactly.
                let (payload, f) = encode(&g, crate::KIND, &m);
                let fid = f.fidelity();
                assert!(fid.is_exact(), "{fid}");
                assert_eq!(through_xml(&payload.unwrap(), &m).group.rule, g.rule);
            }
            other => panic!("{other:?}"),
        }
    }
    // A mapped country value decodes to its canonical value.
    let xml = "<rules><and><or><rule><attributeType>3</attributeType><attributeId>COUNTRY</attributeId><operator>1</operator><value>country-ca</value></rule></or></and></rules>";
    let g = decode(&parse_groups(xml).unwrap()[0], &m).group;
    assert_eq!(
        g.rule,
        Rule::All(vec![Rule::Any(vec![prop(
            "country",
            Op::Equals,
            Value::string("CA")
        )])])
    );
}

#[test]
fn unconfirmed_field_rules_make_a_foreign_field_rule_lossy_and_says_which_key_to_set() {
    let m = maps_confirmed(false);
    let rule = Rule::All(vec![prop("country", Op::Equals, Value::string("CA"))]);
    let (payload, findings) = encode(&group(rule.clone()), crate::test_kinds::GOSQUARED, &m);
    assert!(payload.is_some());
    let fidelity = findings.fidelity();
    assert!(matches!(fidelity, Fidelity::Lossy(_)), "{fidelity}");
    let reasons = fidelity.to_string();
    assert!(
        reasons.contains("mapping.confirmed.ispring_field_rules"),
        "{reasons}"
    );
    // Departments and groups alone do not rely on the reading.
    let rule = Rule::All(vec![Rule::Any(vec![grp("Managers")])]);
    let (_, findings) = encode(&group(rule), crate::test_kinds::GOSQUARED, &m);
    assert_eq!(findings.fidelity(), Fidelity::Exact);
}

#[test]
fn cnf_of_departments_groups_and_mapped_fields_is_exact() {
    let m = maps();
    // (Sales only ∨ Managers) ∧ country = CA ∧ (job = "Sales Manager" ∨ dept "Ops" subtree)
    let rule = Rule::All(vec![
        Rule::Any(vec![dept(DepartmentScope::Only, "Sales"), grp("Managers")]),
        prop("country", Op::Equals, Value::string("CA")),
        Rule::Any(vec![
            prop(
                "job_title",
                Op::Equals,
                Value::string(" Sales & <Manager> "),
            ),
            dept(DepartmentScope::WithDescendants, "Ops"),
        ]),
    ]);
    let (payload, findings) = encode(&group(rule.clone()), crate::test_kinds::GOSQUARED, &m);
    assert_eq!(findings.fidelity(), Fidelity::Exact);
    let payload = payload.unwrap();
    assert_eq!(
        payload.rules[0],
        vec![
            WireRule {
                attribute_type: 1,
                attribute_id: None,
                operator: 1,
                value: "id_department".into()
            },
            WireRule {
                attribute_type: 2,
                attribute_id: None,
                operator: 1,
                value: "id_group".into()
            },
        ]
    );
    assert_eq!(payload.rules[1][0].value, "country-ca");
    assert_eq!(payload.rules[1][0].attribute_id.as_deref(), Some("COUNTRY"));
    assert_eq!(payload.rules[2][1].operator, 2);
    let back = through_xml(&payload, &m).group.rule;
    assert_eq!(back, to_cnf(&rule, 64).unwrap().to_rule());
    // Same people for a few profiles.
    let people = [
        (vec!["Sales"], vec![], "CA", "x"),
        (vec!["Ops", "Team"], vec!["Managers"], "CA", "x"),
        (vec!["HQ", "Sales"], vec![], "CA", " Sales & <Manager> "),
        (vec!["Sales"], vec![], "US", " Sales & <Manager> "),
    ];
    for (path, groups, country, job) in people {
        let p = Profile {
            properties: serde_json::json!({"country": country, "job_title": job})
                .as_object()
                .cloned()
                .unwrap(),
            department_path: path.into_iter().map(String::from).collect(),
            groups: groups.into_iter().map(String::from).collect(),
            ..Profile::default()
        };
        assert_eq!(evaluate(&rule, &p, 0), evaluate(&back, &p, 0));
    }
}

#[test]
fn inexpressible_conditions_are_never_exact_and_say_where() {
    let m = maps();
    let cases: Vec<(Rule, &str)> = vec![
        (Rule::Not(Box::new(grp("Others"))), "negation"),
        (
            prop("job_title", Op::NotEquals, Value::string("x")),
            "negation",
        ),
        (
            prop("job_title", Op::Contains, Value::string("Sales")),
            "contains",
        ),
        (prop("job_title", Op::Greater, Value::int(3)), "comparison"),
        (
            prop("job_title", Op::WithinLast, Value::Days(3)),
            "time window",
        ),
        (prop("job_title", Op::Defined, Value::None), "is set"),
        (
            Rule::cond(
                Attribute::Event {
                    name: "login".into(),
                    field: EventField::Last,
                },
                Op::WithinLast,
                Value::Days(30),
            ),
            "events",
        ),
        (
            prop("plan", Op::Equals, Value::string("pro")),
            "mapping.attributes.plan.ispring_field",
        ),
        (
            prop("country", Op::Equals, Value::string("US")),
            "mapping.values.country",
        ),
        (
            prop("job_title", Op::Equals, Value::int(40)),
            "compare text",
        ),
        (
            prop("job_title", Op::Equals, Value::Bool(true)),
            "compare text",
        ),
        (
            Rule::Opaque(Opaque {
                dialect: crate::test_kinds::GOSQUARED,
                account: String::new(),
                unavailable: false,
                raw: "{}".into(),
                why: "unknown".into(),
            }),
            "GoSquared",
        ),
        // Unmapped key equal to another key's iSpring id: would read back as "Sales".
        (dept(DepartmentScope::Only, "id_department"), "read back"),
        (grp("id_group"), "read back"),
        (
            prop("job_title", Op::Equals, Value::string("a\u{1}b")),
            "XML 1.0",
        ),
    ];
    for (bad, why) in cases {
        // Alone: nothing left to write.
        let (payload, findings) = encode(&group(bad.clone()), crate::test_kinds::GOSQUARED, &m);
        assert!(payload.is_none(), "{bad:?}");
        let fidelity = findings.fidelity();
        assert!(fidelity.is_impossible(), "{bad:?}: {fidelity}");
        // Next to an expressible clause: that clause survives, lossy (wider).
        let rule = Rule::All(vec![grp("Managers"), bad.clone()]);
        let (payload, findings) = encode(&group(rule), crate::test_kinds::GOSQUARED, &m);
        let fidelity = findings.fidelity();
        let Fidelity::Lossy(reasons) = &fidelity else {
            panic!("{bad:?}: {fidelity}")
        };
        assert_eq!(payload.unwrap().rules.len(), 1);
        assert_eq!(reasons.len(), 1);
        assert!(
            reasons[0].at.starts_with("rule.all[1]"),
            "{}",
            reasons[0].at
        );
        assert!(reasons[0].why.contains(why), "{bad:?}: {}", reasons[0].why);
        assert!(reasons[0].why.contains("wider"));
    }
}

#[test]
fn constant_rules_empty_names_and_explosions_are_impossible() {
    let m = maps();
    for rule in [Rule::All(vec![]), Rule::Any(vec![])] {
        let (payload, findings) = encode(&group(rule), crate::test_kinds::GOSQUARED, &m);
        assert!(payload.is_none());
        assert!(findings.fidelity().is_impossible());
    }
    let mut blank = group(grp("Managers"));
    blank.name = "  ".into();
    assert!(encode(&blank, crate::KIND, &m).1.fidelity().is_impossible());
    // A 12-term DNF of 2 literals each has 4 096 CNF clauses: over the default 64.
    let dnf = Rule::Any(
        (0..12)
            .map(|i| Rule::All(vec![grp(&format!("x{i}")), grp(&format!("y{i}"))]))
            .collect(),
    );
    let (payload, findings) = encode(&group(dnf), crate::test_kinds::GOSQUARED, &Maps::default());
    assert!(payload.is_none());
    match findings.fidelity() {
        Fidelity::Impossible(r) => assert!(r[0].why.contains("more than 64 clauses")),
        other => panic!("{other}"),
    }
}

#[test]
fn a_negated_kept_ispring_rule_is_not_written() {
    let kept = Rule::Opaque(Opaque {
        dialect: crate::KIND,
        account: String::new(),
        unavailable: false,
        raw: WireRule {
            attribute_type: 9,
            attribute_id: None,
            operator: 1,
            value: "v".into(),
        }
        .to_fragment(),
        why: "test".into(),
    });
    let (payload, findings) = encode(
        &group(Rule::Not(Box::new(kept))),
        crate::KIND,
        &Maps::default(),
    );
    assert!(payload.is_none());
    let fidelity = findings.fidelity();
    assert!(
        fidelity
            .reasons()
            .iter()
            .any(|r| r.at.starts_with("rule.not"))
    );
}

#[test]
fn a_contradiction_names_the_negated_leaf() {
    let rule = Rule::All(vec![grp("Managers"), Rule::Not(Box::new(grp("Managers")))]);
    let (payload, findings) = encode(&group(rule), crate::test_kinds::GOSQUARED, &maps());
    assert!(payload.is_some());
    let fidelity = findings.fidelity();
    assert_eq!(fidelity.reasons().len(), 1, "{fidelity}");
    assert!(
        fidelity.reasons()[0].at.starts_with("rule.all[1].not ("),
        "{fidelity}"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn atom() -> impl Strategy<Value = Rule> {
        prop_oneof![
            prop::sample::select(vec!["Sales", "Ops", "id_department"]).prop_flat_map(|k| {
                prop_oneof![
                    Just(dept(DepartmentScope::Only, k)),
                    Just(dept(DepartmentScope::WithDescendants, k)),
                ]
            }),
            prop::sample::select(vec!["Managers", "Others", "id_group"]).prop_map(grp),
            prop::sample::select(vec!["a", "b"]).prop_map(|v| prop(
                "job_title",
                Op::Equals,
                Value::string(v)
            )),
            prop::sample::select(vec!["CA", "US"]).prop_map(|v| prop(
                "country",
                Op::Equals,
                Value::string(v)
            )),
            Just(prop("plan", Op::Equals, Value::string("pro"))),
            Just(prop("job_title", Op::Contains, Value::string("A"))),
        ]
    }

    fn rule() -> impl Strategy<Value = Rule> {
        atom().prop_recursive(3, 16, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Rule::All),
                prop::collection::vec(inner.clone(), 0..3).prop_map(Rule::Any),
                inner.prop_map(|r| Rule::Not(Box::new(r))),
            ]
        })
    }

    fn profile() -> impl Strategy<Value = Profile> {
        (
            prop::sample::subsequence(vec!["HQ", "Sales", "Ops", "id_department"], 0..3),
            prop::sample::subsequence(vec!["Managers", "Others", "id_group"], 0..3),
            prop::sample::select(vec!["a", "b", "Aa"]),
            prop::sample::select(vec!["CA", "US"]),
            any::<bool>(),
        )
            .prop_map(|(path, groups, job, country, pro)| Profile {
                properties: serde_json::json!({
                    "job_title": job,
                    "country": country,
                    "plan": if pro { "pro" } else { "free" },
                })
                .as_object()
                .cloned()
                .unwrap_or_default(),
                department_path: path.into_iter().map(String::from).collect(),
                groups: groups.into_iter().map(String::from).collect(),
                ..Profile::default()
            })
    }

    proptest! {
        /// Exact selects the same people after the XML round trip; Lossy only widens.
        #[test]
        fn fidelity_is_honest(rule in rule(), people in prop::collection::vec(profile(), 8)) {
            let m = maps();
            let (payload, findings) = encode(&group(rule.clone()), crate::test_kinds::GOSQUARED, &m);
            let fidelity = findings.fidelity();
            prop_assert_eq!(payload.is_none(), fidelity.is_impossible());
            if let Some(payload) = payload {
                let back = through_xml(&payload, &m).group.rule;
                for p in &people {
                    let (want, got) = (evaluate(&rule, p, 0), evaluate(&back, p, 0));
                    if fidelity.is_exact() {
                        prop_assert_eq!(want, got, "{:?} vs {:?}", rule, back);
                    } else if want == Some(true) {
                        prop_assert_eq!(got, Some(true), "narrowed: {:?} vs {:?}", rule, back);
                    }
                }
                // A second round trip is a fixed point.
                let (again, f2) = encode(&group(back.clone()), crate::KIND, &m);
                prop_assert!(f2.fidelity().is_exact());
                let again = again.map(|p| through_xml(&p, &m).group.rule);
                prop_assert_eq!(again, Some(back));
            }
        }
    }
}
