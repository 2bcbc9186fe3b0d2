//! Tests of `dialect`.

use super::*;
use serde_json::json;
use sgsync_model::mapping::{GoSquaredOperatorsConfig, MappingConfig};
use sgsync_model::{DepartmentScope, Fidelity, Profile, evaluate};

/// The real `GET smartgroups` response of gosquared.md §3 (all nine groups, filters
/// verbatim; `prefs` of the six groups the note does not print are made up).
const FIXTURE: &str = include_str!("../../../../tests/fixtures/gosquared/smartgroups_2016.json");

fn wire(filters: Json) -> WireGroup {
    WireGroup {
        id: Some("g".into()),
        name: "G".into(),
        filters: serde_json::from_value(filters).unwrap(),
    }
}

fn group(rule: Rule) -> SmartGroup {
    SmartGroup {
        id: Some("g".into()),
        name: "G".into(),
        description: None,
        rule,
    }
}

fn prop(path: &str, op: Op, value: Value) -> Rule {
    Rule::cond(Attribute::Property(path.into()), op, value)
}

fn maps_with(ops: GoSquaredOperatorsConfig) -> Maps {
    Maps::from_config(&MappingConfig {
        gosquared_operators: ops,
        ..MappingConfig::default()
    })
    .unwrap()
}

/// decode → encode (source GoSquared) gives the same filters byte for byte, the
/// same rule when decoded again, and claims Exact.
fn assert_round_trip(g: &WireGroup, maps: &Maps) -> SourceGroup {
    let source = decode(g, maps);
    let (payload, findings) = encode(&source.group, crate::KIND, maps);
    assert_eq!(findings.fidelity(), Fidelity::Exact, "{}", g.name);
    let payload = payload.unwrap();
    assert_eq!(
        serde_json::to_string(&payload.filters).unwrap(),
        serde_json::to_string(&g.filters).unwrap(),
        "{}",
        g.name
    );
    let body = serde_json::to_string(&payload).unwrap();
    let again = super::super::wire::parse_groups(&body).unwrap();
    assert_eq!(decode(&again[0], maps).group.rule, source.group.rule);
    source
}

fn encoded(rule: Rule, source: ProviderKind, maps: &Maps) -> (Option<Json>, Fidelity) {
    let (payload, findings) = encode(&group(rule), source, maps);
    (payload.map(|p| Json::Array(p.filters)), findings.fidelity())
}

/// `maps` with GoSquared's inferred readings (relative dates, top-level AND) confirmed.
fn confirmed(mut cfg: MappingConfig) -> Maps {
    cfg.confirmed.gosquared_relative_dates = true;
    cfg.confirmed.gosquared_top_level_and = true;
    Maps::from_config(&cfg).unwrap()
}

#[test]
fn unconfirmed_inferred_readings_of_the_real_dump_are_assumed_and_name_their_key() {
    let groups = super::super::wire::parse_groups(FIXTURE).unwrap();
    let maps = Maps::default();
    let mut flagged = 0;
    for g in &groups {
        let source = assert_round_trip(g, &maps);
        let dates = g.filters.iter().any(|f| {
            matches!(
                f.get("operator").and_then(Json::as_str),
                Some(">" | "<" | "><")
            ) && f.get("number").is_some()
        });
        let several = g.filters.len() > 1;
        let keys: Vec<&str> = source.assumed.iter().map(|r| r.why.as_str()).collect();
        assert_eq!(
            keys.iter()
                .any(|w| w.contains("mapping.confirmed.gosquared_relative_dates")),
            dates,
            "{}: {keys:?}",
            g.name
        );
        assert_eq!(
            keys.iter()
                .any(|w| w.contains("mapping.confirmed.gosquared_top_level_and")),
            several,
            "{}: {keys:?}",
            g.name
        );
        flagged += usize::from(dates || several);
    }
    // Four of the nine real groups rest on one inference or the other.
    assert_eq!(flagged, 4);
}

#[test]
fn every_group_of_the_real_dump_round_trips_exactly() {
    let maps = confirmed(MappingConfig::default());
    let groups = super::super::wire::parse_groups(FIXTURE).unwrap();
    assert_eq!(groups.len(), 9);
    for g in &groups {
        let source = assert_round_trip(g, &maps);
        assert!(source.assumed.is_empty() && source.uncertain.is_empty());
        for (path, leaf) in source.group.rule.leaves() {
            assert!(matches!(leaf, Rule::Cond(_)), "{}: {path} unread", g.name);
        }
        // Nothing assumed is used, so the copy to another dialect is exact too.
        let (_, f) = encode(&source.group, crate::test_kinds::ISPRING, &maps);
        assert!(f.fidelity().is_exact(), "{}", g.name);
    }
}

#[test]
fn the_real_dump_reads_as_documented() {
    let groups = super::super::wire::parse_groups(FIXTURE).unwrap();
    let rule = |i: usize| decode(&groups[i], &Maps::default()).group.rule;
    assert_eq!(
        rule(0),
        Rule::All(vec![prop(
            "totals.engaged_time",
            Op::Greater,
            Value::int(3_600_000)
        )])
    );
    assert_eq!(
        rule(1),
        Rule::All(vec![prop("last.seen", Op::WithinLast, Value::Days(1))])
    );
    assert_eq!(
        rule(2),
        Rule::All(vec![prop("last.seen", Op::MoreThanAgo, Value::Days(35))])
    );
    assert_eq!(rule(5), Rule::everyone());
    assert_eq!(
        rule(8),
        Rule::All(vec![
            prop("first.referrer.href", Op::Defined, Value::None),
            Rule::cond(
                Attribute::Event {
                    name: "Entered Smart Group".into(),
                    field: EventField::Last
                },
                Op::LessThanAgo,
                Value::Days(30)
            ),
        ])
    );
    let source = decode(&groups[8], &Maps::default());
    assert_eq!(source.group.id.as_deref(), Some("test-group"));
    assert_eq!(source.group.name, "Test Group");
}

#[test]
fn the_docs_example_and_a_nested_and_round_trip() {
    let maps = Maps::default();
    let docs =
        wire(json!([{"key":"property","path":"email","operator":"contains","value":"GoSquared"}]));
    let source = assert_round_trip(&docs, &maps);
    assert_eq!(
        source.group.rule,
        Rule::All(vec![prop(
            "email",
            Op::Contains,
            Value::string("GoSquared")
        )])
    );
    // In the spirit of the ruby-client's filter test (gosquared.md §5): an `and` node
    // beside a plain filter whose number is a string.
    let nested = wire(json!([
        {"key":"property","path":"totals.visits","operator":">","value":"1000"},
        {"key":"and","filters":[
            {"key":"property","path":"email","operator":"contains","value":"@gosquared.com"},
            {"key":"property","path":"last.seen","operator":"<","number":7,"period":"days"}
        ]}
    ]));
    let source = assert_round_trip(&nested, &maps);
    assert_eq!(
        source.group.rule,
        Rule::All(vec![
            prop("totals.visits", Op::Greater, Value::string("1000")),
            Rule::All(vec![
                prop("email", Op::Contains, Value::string("@gosquared.com")),
                prop("last.seen", Op::MoreThanAgo, Value::Days(7)),
            ]),
        ])
    );
}

#[test]
fn anything_not_understood_is_opaque_and_travels_back_verbatim() {
    let maps = Maps::default();
    let cases = [
        (
            json!({"key":"property","path":"email","operator":"startsWith","value":"a"}),
            "unknown operator \"startsWith\"",
        ),
        (
            json!({"key":"cohort","id":7}),
            "unknown filter key \"cohort\"",
        ),
        (
            json!({"key":"property","path":"email","operator":"contains","value":"a","caseSensitive":true}),
            "unexpected field \"caseSensitive\"",
        ),
        (
            json!({"key":"property","path":"last.seen","operator":"<","number":2,"period":"weeks"}),
            "period \"weeks\"",
        ),
        (
            json!({"key":"property","path":"last.seen","operator":"><","direction":"future","number":2,"period":"days"}),
            "direction \"future\"",
        ),
        (
            json!({"key":"property","path":"last.seen","operator":"<","number":1.5,"period":"days"}),
            "not a whole number",
        ),
        (
            json!({"key":"property","path":"last.seen","operator":"<","number":4_294_967_296_u64,"period":"days"}),
            "not a whole number",
        ),
        (
            json!({"key":"property","path":"x","operator":"contains","value":5}),
            "\"value\" is a number",
        ),
        (
            json!({"key":"property","path":"x","operator":">","value":null}),
            "\"value\" is null",
        ),
        (
            json!({"key":"property","path":"x","operator":"defined","value":1}),
            "unexpected field \"value\"",
        ),
        (
            json!({"key":"property","path":"last.seen","operator":"<","number":2,"period":"days","direction":"past"}),
            "unexpected field \"direction\"",
        ),
        (
            json!({"key":"triggered-event","name":"Signup","field":"last","operator":">","number":3,"period":"days","extra":1}),
            "unexpected field \"extra\"",
        ),
        (
            json!({"key":"and","filters":[],"negate":true}),
            "unexpected field \"negate\"",
        ),
        (
            json!({"key":"triggered-event","name":"Signup","field":"count","operator":">","value":3}),
            "event field \"count\"",
        ),
        (
            json!({"key":"triggered-event","name":"Signup","field":"last","operator":"contains","value":"a"}),
            "unknown event operator",
        ),
        (json!({"key":"and","filters":{}}), "not an array"),
        (json!({"key":"or","filters":[]}), "empty OR"),
        (json!({"path":"email"}), "no \"key\""),
        (json!("email"), "must be an object"),
    ];
    for (node, why) in cases {
        let g = wire(json!([node]));
        let source = assert_round_trip(&g, &maps);
        let Rule::All(nodes) = &source.group.rule else {
            panic!("not an All")
        };
        match &nodes[..] {
            [Rule::Opaque(o)] => {
                assert_eq!(o.dialect, crate::KIND);
                assert_eq!(o.raw, node.to_string());
                assert!(o.why.contains(why), "{} vs {why}", o.why);
            }
            other => panic!("{node} read as {other:?}"),
        }
        // Only GoSquared may write it back; another dialect's opaque node cannot.
        let foreign = Rule::Opaque(Opaque {
            dialect: crate::test_kinds::ISPRING,
            account: String::new(),
            unavailable: false,
            raw: node.to_string(),
            why: why.into(),
        });
        assert!(
            encoded(foreign, crate::test_kinds::ISPRING, &maps)
                .1
                .is_impossible()
        );
    }
    // An opaque node inside an `and` stays in place, the rest is read.
    let g = wire(json!([{"key":"and","filters":[
        {"key":"property","path":"a","operator":"defined"},
        {"key":"property","path":"b","operator":"~"}
    ]}]));
    let source = assert_round_trip(&g, &maps);
    let leaves = source.group.rule.leaves();
    assert!(matches!(leaves[0].1, Rule::Cond(_)));
    assert!(matches!(leaves[1].1, Rule::Opaque(_)));
}

#[test]
fn assumed_spellings_are_flagged_on_read_and_cost_fidelity_across_dialects() {
    let maps = Maps::default();
    let g = wire(json!([
        {"key":"property","path":"plan","operator":"==","value":"pro"},
        {"key":"or","filters":[
            {"key":"property","path":"a","operator":"!defined"},
            {"key":"property","path":"b","operator":"!contains","value":"x"},
            {"key":"property","path":"c","operator":"!=","value":false}
        ]}
    ]));
    let source = assert_round_trip(&g, &maps);
    let ats: Vec<&str> = source.assumed.iter().map(|r| r.at.as_str()).collect();
    assert_eq!(
        ats,
        [
            "filters[0].operator \"==\"",
            "filters[1].filters[0].operator \"!defined\"",
            "filters[1].filters[1].operator \"!contains\"",
            "filters[1].filters[2].operator \"!=\"",
            "filters[1].key \"or\"",
            "filters",
        ]
    );
    assert!(
        source.assumed[0]
            .why
            .contains("read as equals by assumption")
    );
    assert!(
        source.assumed[0]
            .why
            .contains("[mapping.gosquared_operators] equals")
    );
    assert_eq!(
        source.group.rule,
        Rule::All(vec![
            prop("plan", Op::Equals, Value::string("pro")),
            Rule::Any(vec![
                prop("a", Op::NotDefined, Value::None),
                prop("b", Op::NotContains, Value::string("x")),
                prop("c", Op::NotEquals, Value::Bool(false)),
            ]),
        ])
    );

    let equals = prop("plan", Op::Equals, Value::string("pro"));
    let (filters, fidelity) = encoded(equals.clone(), crate::test_kinds::ISPRING, &maps);
    assert_eq!(
        filters.unwrap().to_string(),
        r#"[{"key":"property","path":"plan","operator":"==","value":"pro"}]"#
    );
    match fidelity {
        Fidelity::Lossy(r) => {
            assert_eq!(r[0].at, "rule (plan is \"pro\")");
            assert!(r[0].why.contains("operator \"==\""), "{}", r[0].why);
        }
        other => panic!("{other}"),
    }
    // A spelling the user checked is trusted.
    let checked = maps_with(GoSquaredOperatorsConfig {
        equals: Some("is".into()),
        ..Default::default()
    });
    let (filters, fidelity) = encoded(equals, crate::test_kinds::ISPRING, &checked);
    assert_eq!(fidelity, Fidelity::Exact);
    assert_eq!(filters.unwrap()[0]["operator"], "is");
    let source = decode(
        &wire(json!([{"key":"property","path":"plan","operator":"is","value":"pro"}])),
        &checked,
    );
    assert!(source.assumed.is_empty());
    // …and the old guess is no longer a known spelling.
    let source = decode(
        &wire(json!([{"key":"property","path":"plan","operator":"==","value":"pro"}])),
        &checked,
    );
    assert!(matches!(source.group.rule.leaves()[0].1, Rule::Opaque(_)));
}

#[test]
fn what_gosquared_cannot_say_is_never_exact() {
    let maps = Maps::default();
    let no_or = maps_with(GoSquaredOperatorsConfig {
        or: Some(String::new()),
        ..Default::default()
    });
    let a = prop("a", Op::Defined, Value::None);
    let b = prop("b", Op::Defined, Value::None);
    let cases = [
        (
            prop(
                "n",
                Op::Between,
                Value::Range(Number::from(1), Number::from(5)),
            ),
            &maps,
            "no numeric between",
        ),
        (
            Rule::cond(
                Attribute::Department {
                    scope: DepartmentScope::Only,
                },
                Op::Equals,
                Value::string("Sales"),
            ),
            &maps,
            "no department filter",
        ),
        (
            Rule::cond(Attribute::Group, Op::Equals, Value::string("vip")),
            &maps,
            "no group-membership filter",
        ),
        (
            Rule::Not(Box::new(prop("n", Op::Greater, Value::int(5)))),
            &maps,
            "no negation of \"greater than\"",
        ),
        (
            Rule::cond(
                Attribute::Event {
                    name: "Signup".into(),
                    field: EventField::Count,
                },
                Op::Greater,
                Value::int(3),
            ),
            &maps,
            "event counts",
        ),
        (
            Rule::Any(vec![a.clone(), b.clone()]),
            &no_or,
            "documents no OR",
        ),
        (Rule::Any(vec![]), &maps, "selects no one"),
        (
            Rule::Not(Box::new(Rule::everyone())),
            &maps,
            "selects no one",
        ),
        (
            prop("n", Op::Equals, Value::Days(3)),
            &maps,
            "cannot be written",
        ),
        (
            prop("n", Op::Contains, Value::int(3)),
            &maps,
            "cannot be written",
        ),
    ];
    for (rule, maps, why) in cases {
        for source in crate::test_kinds::ALL {
            let (filters, fidelity) = encoded(rule.clone(), source, maps);
            assert!(filters.is_none(), "{rule:?}");
            match &fidelity {
                Fidelity::Impossible(r) => {
                    assert!(r[0].why.contains(why), "{} vs {why}", r[0].why)
                }
                other => panic!("{rule:?}: {other}"),
            }
        }
    }
    // Every reason of a rule is reported, each at its canonical path in words.
    let rule = Rule::All(vec![
        a,
        Rule::cond(
            Attribute::Department {
                scope: DepartmentScope::Only,
            },
            Op::Equals,
            Value::string("Sales"),
        ),
        Rule::cond(Attribute::Group, Op::Equals, Value::string("vip")),
    ]);
    let (_, fidelity) = encoded(rule, crate::test_kinds::ISPRING, &maps);
    let ats: Vec<&str> = fidelity.reasons().iter().map(|r| r.at.as_str()).collect();
    assert_eq!(
        ats,
        [
            "rule.all[1] (department is Sales)",
            "rule.all[2] (member of group vip)"
        ]
    );
    let (payload, findings) = encode(
        &SmartGroup {
            name: "  ".into(),
            ..group(Rule::everyone())
        },
        crate::KIND,
        &maps,
    );
    assert!(payload.is_none() && findings.fidelity().is_impossible());
}

#[test]
fn negation_is_pushed_down_and_keeps_the_meaning() {
    let maps = Maps::default();
    let rule = Rule::Not(Box::new(Rule::All(vec![
        prop("plan", Op::Equals, Value::string("pro")),
        Rule::Not(Box::new(Rule::Any(vec![
            prop("email", Op::Contains, Value::string("@gs.com")),
            prop("phone", Op::NotDefined, Value::None),
        ]))),
    ])));
    let (filters, fidelity) = encoded(rule.clone(), crate::test_kinds::EMFLUENCE, &maps);
    let filters = filters.unwrap();
    assert_eq!(
        filters.to_string(),
        r#"[{"key":"or","filters":[{"key":"property","path":"plan","operator":"!=","value":"pro"},{"key":"or","filters":[{"key":"property","path":"email","operator":"contains","value":"@gs.com"},{"key":"property","path":"phone","operator":"!defined"}]}]}]"#
    );
    // Assumed spellings from another dialect: lossy, one reason per use.
    assert_eq!(fidelity.reasons().len(), 4, "{fidelity}");
    assert!(matches!(fidelity, Fidelity::Lossy(_)));
    // Read back, it selects the same people as the original.
    let back = decode(&wire(filters), &maps).group.rule;
    let now = 1_700_000_000_000;
    for props in [
        json!({}),
        json!({"plan": "pro"}),
        json!({"plan": "pro", "email": "x@GS.com"}),
        json!({"plan": "pro", "phone": null}),
        json!({"plan": "pro", "phone": "1", "email": "x@y.z"}),
        json!({"plan": "free", "phone": "1"}),
    ] {
        let p = Profile {
            properties: props.as_object().cloned().unwrap(),
            ..Profile::default()
        };
        assert_eq!(
            evaluate(&back, &p, now),
            evaluate(&rule, &p, now),
            "{props}"
        );
    }
    // Double negation cancels; a one-branch OR is its branch; Not(Any) is an AND.
    let x = prop("a", Op::Contains, Value::string("x"));
    let (f, fid) = encoded(
        Rule::Any(vec![Rule::Not(Box::new(Rule::Not(Box::new(x))))]),
        crate::test_kinds::ISPRING,
        &maps,
    );
    assert_eq!(fid, Fidelity::Exact);
    assert_eq!(
        f.unwrap().to_string(),
        r#"[{"key":"property","path":"a","operator":"contains","value":"x"}]"#
    );
    let (f, fid) = encoded(
        Rule::Not(Box::new(Rule::Any(vec![]))),
        crate::test_kinds::ISPRING,
        &maps,
    );
    assert_eq!(fid, Fidelity::Exact);
    assert_eq!(f.unwrap().to_string(), r#"[{"key":"and","filters":[]}]"#);
}

#[test]
fn written_nodes_follow_gosquared_key_order_and_attribute_map() {
    let maps = confirmed(
        toml::from_str::<MappingConfig>(
            "[attributes.country]\ngosquared = \"last.location.country.code\"",
        )
        .unwrap(),
    );
    let seen = Attribute::Event {
        name: "Signup".into(),
        field: EventField::Last,
    };
    let rule = Rule::All(vec![
        prop("country", Op::Contains, Value::string("CA")),
        Rule::cond(seen.clone(), Op::WithinLast, Value::Days(7)),
        Rule::cond(seen, Op::MoreThanAgo, Value::Days(0)),
        prop("last.seen", Op::LessThanAgo, Value::Days(u32::MAX)),
        prop(
            "score",
            Op::Less,
            Value::Number(serde_json::from_str("2.5").unwrap()),
        ),
    ]);
    let (filters, fidelity) = encoded(rule.clone(), crate::test_kinds::ISPRING, &maps);
    assert_eq!(fidelity, Fidelity::Exact);
    let filters = filters.unwrap();
    assert_eq!(
        filters.to_string(),
        concat!(
            r#"[{"key":"property","path":"last.location.country.code","operator":"contains","value":"CA"},"#,
            r#"{"key":"triggered-event","name":"Signup","field":"last","operator":"><","direction":"past","number":7,"period":"days"},"#,
            r#"{"key":"triggered-event","name":"Signup","field":"last","operator":"<","number":0,"period":"days"},"#,
            r#"{"key":"property","path":"last.seen","operator":">","number":4294967295,"period":"days"},"#,
            r#"{"key":"property","path":"score","operator":"<","value":2.5}]"#
        )
    );
    assert_eq!(decode(&wire(filters), &maps).group.rule, rule);
}

#[test]
fn the_documented_event_key_is_read_but_flagged() {
    let maps = Maps::default();
    let g = wire(json!([
        {"key":"event","name":"Signup","field":"last","operator":">","number":3,"period":"days"}
    ]));
    let source = decode(&g, &maps);
    assert_eq!(source.uncertain.len(), 1);
    assert_eq!(source.uncertain[0].at, "filters[0].key \"event\"");
    let (payload, findings) = encode(&source.group, crate::KIND, &maps);
    assert!(findings.fidelity().is_exact());
    assert_eq!(payload.unwrap().filters[0]["key"], "triggered-event");
}

#[test]
fn opaque_nodes_cannot_be_negated() {
    let maps = Maps::default();
    let source = decode(
        &wire(json!([{"key":"property","path":"a","operator":"~"}])),
        &maps,
    );
    let Rule::All(nodes) = source.group.rule else {
        panic!()
    };
    let (f, fidelity) = encoded(Rule::Not(Box::new(nodes[0].clone())), crate::KIND, &maps);
    assert!(f.is_none() && fidelity.is_impossible());
}

mod properties {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    const NOW: i64 = 1_700_000_000_000;
    const DAY: i64 = 86_400_000;

    fn leaf() -> impl Strategy<Value = Rule> {
        let scalar = prop_oneof![
            Just(Value::string("x")),
            Just(Value::string("X")),
            Just(Value::int(1)),
            Just(Value::Bool(true)),
        ];
        let needle = prop_oneof![Just(Value::string("x")), Just(Value::string("Y"))];
        let number = prop_oneof![
            Just(Value::int(1)),
            Just(Value::int(5)),
            Just(Value::string("3"))
        ];
        let days = prop_oneof![Just(0u32), Just(1), Just(10)].prop_map(Value::Days);
        let path = prop_oneof![Just("a"), Just("b")];
        let time_op = prop_oneof![
            Just(Op::MoreThanAgo),
            Just(Op::LessThanAgo),
            Just(Op::WithinLast)
        ];
        prop_oneof![
            (
                path.clone(),
                prop_oneof![Just(Op::Equals), Just(Op::NotEquals)],
                scalar
            )
                .prop_map(|(p, op, v)| prop(p, op, v)),
            (
                path.clone(),
                prop_oneof![Just(Op::Contains), Just(Op::NotContains)],
                needle
            )
                .prop_map(|(p, op, v)| prop(p, op, v)),
            (
                path.clone(),
                prop_oneof![Just(Op::Defined), Just(Op::NotDefined)]
            )
                .prop_map(|(p, op)| prop(p, op, Value::None)),
            (path, prop_oneof![Just(Op::Greater), Just(Op::Less)], number)
                .prop_map(|(p, op, v)| prop(p, op, v)),
            (time_op.clone(), days.clone()).prop_map(|(op, d)| prop("t", op, d)),
            (time_op, days).prop_map(|(op, d)| Rule::cond(
                Attribute::Event {
                    name: "E".into(),
                    field: EventField::Last
                },
                op,
                d
            )),
        ]
    }

    fn rule() -> impl Strategy<Value = Rule> {
        leaf().prop_recursive(3, 24, 3, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..3).prop_map(Rule::All),
                vec(inner.clone(), 0..3).prop_map(Rule::Any),
                inner.prop_map(|x| Rule::Not(Box::new(x))),
            ]
        })
    }

    fn profile() -> impl Strategy<Value = Profile> {
        let value = prop_oneof![
            Just(None),
            Just(Some(Json::Null)),
            Just(Some(json!("x"))),
            Just(Some(json!("X"))),
            Just(Some(json!("xy"))),
            Just(Some(json!(1))),
            Just(Some(json!(5))),
            Just(Some(json!("3"))),
            Just(Some(json!(true))),
            Just(Some(json!(["x", 1]))),
        ];
        let time = prop_oneof![
            Just(None),
            Just(Some(NOW - DAY / 2)),
            Just(Some(NOW - 5 * DAY)),
            Just(Some(NOW - 20 * DAY)),
            Just(Some(NOW + DAY)),
        ];
        (value.clone(), value, time.clone(), vec(time, 0..3)).prop_map(|(a, b, t, e)| {
            let mut properties = Map::new();
            for (k, v) in [("a", a), ("b", b), ("t", t.map(Json::from))] {
                if let Some(v) = v {
                    properties.insert(k.into(), v);
                }
            }
            let events: Vec<i64> = e.into_iter().flatten().collect();
            Profile {
                properties,
                events: [("E".to_string(), events)].into(),
                ..Profile::default()
            }
        })
    }

    proptest! {
        /// Whatever is written, read back, selects the same people; and a group read
        /// from GoSquared is written back as it came.
        #[test]
        fn written_filters_mean_the_rule(rule in rule(), people in vec(profile(), 8)) {
            let maps = Maps::default();
            let (payload, findings) = encode(&group(rule.clone()), crate::test_kinds::ISPRING, &maps);
            let fidelity = findings.fidelity();
            prop_assert_eq!(payload.is_none(), fidelity.is_impossible());
            if let Some(payload) = payload {
                let back = decode(&wire(Json::Array(payload.filters.clone())), &maps);
                for p in &people {
                    prop_assert_eq!(evaluate(&back.group.rule, p, NOW), evaluate(&rule, p, NOW));
                }
                let (again, f) = encode(&back.group, crate::KIND, &maps);
                prop_assert!(f.fidelity().is_exact());
                prop_assert_eq!(again.map(|a| a.filters), Some(payload.filters));
            }
        }
    }
}
