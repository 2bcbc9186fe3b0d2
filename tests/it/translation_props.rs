//! Property tests of the fidelity claims: whenever a translation says `Exact`, the rule
//! read back from the encoded wire payload must select exactly the people the source
//! rule selects, on every generated profile. And rules a dialect cannot express must
//! never be claimed `Exact`.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Number, Value as Json, json};
use sgsync::model::Directory;
use sgsync::model::mapping::{AttributeConfig, GoSquaredOperatorsConfig, MappingConfig, Maps};
use sgsync::model::{
    Attribute, Condition, DepartmentScope, EventField, Millis, Op, Profile, ProviderKind, Rule,
    SmartGroup, SourceGroup, Value, evaluate,
};
use sgsync::translate::{Payload, decode, translate};
use std::collections::BTreeMap;

const NOW: Millis = 1_700_000_000_000;
const DAY: i64 = 86_400_000;
/// Rules generated per run, and profiles each is evaluated on: enough that every dialect
/// pair has more than 10 000 (rule, profile) pairs evaluated under an Exact claim
/// (asserted at the end).
const CASES: u32 = 4_000;
const PROFILES_PER_RULE: usize = 64;

use sgsync_emfluence::KIND as Emfluence;
use sgsync_gosquared::KIND as GoSquared;
use sgsync_ispring::KIND as Ispring;

/// Maps with every GoSquared spelling set by the user (so trusted, and exactness is
/// decided by semantics alone), an iSpring field with a value map, one without, and
/// department/group ids that differ from their keys.
fn maps() -> Maps {
    let mut attributes = BTreeMap::new();
    attributes.insert(
        "country".to_owned(),
        AttributeConfig {
            gosquared: Some("last.location.country.code".into()),
            ispring_field: Some("COUNTRY".into()),
        },
    );
    attributes.insert(
        "a".to_owned(),
        AttributeConfig {
            gosquared: None,
            ispring_field: Some("FIELD_A".into()),
        },
    );
    let mut values = BTreeMap::new();
    values.insert(
        "country".to_owned(),
        BTreeMap::from([
            ("CA".to_owned(), "124".to_owned()),
            ("US".to_owned(), "840".to_owned()),
        ]),
    );
    let cfg = MappingConfig {
        attributes,
        values,
        departments: BTreeMap::from([
            ("Sales".to_owned(), "d-1".to_owned()),
            ("EMEA".to_owned(), "d-2".to_owned()),
        ]),
        groups: BTreeMap::from([("g1".to_owned(), "G-1".to_owned())]),
        gosquared_operators: GoSquaredOperatorsConfig {
            equals: Some("==".into()),
            not_equals: Some("!=".into()),
            not_contains: Some("!contains".into()),
            not_defined: Some("!defined".into()),
            or: Some("or".into()),
        },
        max_clauses: Some(64),
        // The readings these properties check are the ones sgsync assumes; confirmed
        // here so that what is claimed Exact is put to the test.
        confirmed: sgsync::model::mapping::Confirmed {
            ispring_field_rules: true,
            gosquared_relative_dates: true,
            gosquared_top_level_and: true,
        },
    };
    Maps::from_config(&cfg).expect("test maps are valid")
}

// ---- rules -------------------------------------------------------------------------

fn property() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("b.c"), Just("country"), Just("last.seen")].prop_map(String::from)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("x"),
        Just("X"),
        Just("CA"),
        Just("US"),
        Just("FR"),
        Just("40"),
        Just(" 40"),
        Just("")
    ]
    .prop_map(String::from)
}

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        Just(Number::from(0)),
        Just(Number::from(40)),
        Just(Number::from(1000)),
        Just(Number::from(-3)),
        Just(Number::from_f64(40.5).unwrap_or_else(|| Number::from(40))),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        text().prop_map(Value::String),
        number().prop_map(Value::Number),
        any::<bool>().prop_map(Value::Bool),
    ]
}

fn days() -> impl Strategy<Value = Value> {
    prop_oneof![Just(0u32), Just(1), Just(7), Just(35)].prop_map(Value::Days)
}

fn department_key() -> impl Strategy<Value = String> {
    // "d-1" is Sales's iSpring id: as a key of its own it must not pass as an id.
    prop_oneof![
        Just("Sales"),
        Just("EMEA"),
        Just("root"),
        Just("d-9"),
        Just("d-1")
    ]
    .prop_map(String::from)
}

fn scope() -> impl Strategy<Value = DepartmentScope> {
    prop_oneof![
        Just(DepartmentScope::Only),
        Just(DepartmentScope::WithDescendants)
    ]
}

fn group_key() -> impl Strategy<Value = String> {
    prop_oneof![Just("g1"), Just("g2"), Just("G-1")].prop_map(String::from)
}

fn cond(attribute: Attribute, op: Op, value: Value) -> Rule {
    Rule::Cond(Condition {
        attribute,
        op,
        value,
    })
}

/// Conditions both GoSquared and iSpring can hold: text equality on a mapped field.
fn shared_leaf() -> impl Strategy<Value = Rule> {
    (prop_oneof![Just("country"), Just("a")], text())
        .prop_map(|(p, v)| cond(Attribute::Property(p.into()), Op::Equals, Value::String(v)))
}

/// Conditions iSpring can hold: department, group and mapped text-field equality.
fn ispring_leaf() -> impl Strategy<Value = Rule> {
    prop_oneof![
        (scope(), department_key()).prop_map(|(scope, k)| cond(
            Attribute::Department { scope },
            Op::Equals,
            Value::String(k)
        )),
        group_key().prop_map(|k| cond(Attribute::Group, Op::Equals, Value::String(k))),
        shared_leaf(),
    ]
}

/// Conditions GoSquared can hold: property and event conditions.
fn gosquared_leaf() -> impl Strategy<Value = Rule> {
    let time_op = prop_oneof![
        Just(Op::WithinLast),
        Just(Op::MoreThanAgo),
        Just(Op::LessThanAgo)
    ];
    prop_oneof![
        (
            property(),
            prop_oneof![Just(Op::Equals), Just(Op::NotEquals)],
            scalar()
        )
            .prop_map(|(p, op, v)| cond(Attribute::Property(p), op, v)),
        (
            property(),
            prop_oneof![Just(Op::Contains), Just(Op::NotContains)],
            text()
        )
            .prop_map(|(p, op, v)| cond(Attribute::Property(p), op, Value::String(v))),
        (
            property(),
            prop_oneof![Just(Op::Greater), Just(Op::Less)],
            prop_oneof![
                number().prop_map(Value::Number),
                text().prop_map(Value::String)
            ]
        )
            .prop_map(|(p, op, v)| cond(Attribute::Property(p), op, v)),
        (
            property(),
            prop_oneof![Just(Op::Defined), Just(Op::NotDefined)]
        )
            .prop_map(|(p, op)| cond(Attribute::Property(p), op, Value::None)),
        (property(), time_op.clone(), days()).prop_map(|(p, op, v)| cond(
            Attribute::Property(p),
            op,
            v
        )),
        (time_op, days()).prop_map(|(op, v)| cond(
            Attribute::Event {
                name: "Signed Up".into(),
                field: EventField::Last
            },
            op,
            v
        )),
    ]
}

/// Conditions no target writes exactly everywhere.
fn awkward_leaf() -> impl Strategy<Value = Rule> {
    prop_oneof![
        (property(), number(), number()).prop_map(|(p, lo, hi)| cond(
            Attribute::Property(p),
            Op::Between,
            Value::Range(lo, hi)
        )),
        (
            prop_oneof![Just(EventField::First), Just(EventField::Count)],
            days()
        )
            .prop_map(|(field, v)| cond(
                Attribute::Event {
                    name: "Signed Up".into(),
                    field
                },
                Op::WithinLast,
                v
            )),
        (
            property(),
            prop_oneof![Just(Op::Greater), Just(Op::Defined)],
            scalar()
        )
            .prop_map(|(p, op, v)| cond(Attribute::Property(p), op, v)),
    ]
}

fn tree(leaf: impl Strategy<Value = Rule> + 'static) -> impl Strategy<Value = Rule> {
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Rule::All),
            vec(inner.clone(), 0..4).prop_map(Rule::Any),
            inner.prop_map(|r| Rule::Not(Box::new(r))),
        ]
    })
}

/// Mostly rules in one dialect's reach (so that `Exact` is often claimed and checked),
/// some across both, some with awkward conditions.
fn any_rule() -> impl Strategy<Value = Rule> {
    // Already in iSpring's shape (an AND of OR-clauses) and GoSquared's (an AND).
    let ispring_native =
        vec(vec(ispring_leaf(), 1..4).prop_map(Rule::Any), 1..4).prop_map(Rule::All);
    let gosquared_native = vec(gosquared_leaf(), 0..4).prop_map(Rule::All);
    prop_oneof![
        4 => ispring_native,
        1 => gosquared_native,
        2 => tree(shared_leaf()),
        2 => tree(ispring_leaf()),
        2 => tree(gosquared_leaf()),
        1 => tree(prop_oneof![ispring_leaf(), gosquared_leaf()]),
        1 => tree(prop_oneof![ispring_leaf(), gosquared_leaf(), awkward_leaf()]),
    ]
}

// ---- profiles ----------------------------------------------------------------------

fn json_value() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(Json::Null),
        text().prop_map(Json::String),
        number().prop_map(Json::Number),
        any::<bool>().prop_map(Json::Bool),
        (-80i64..10).prop_map(|half_days| json!(NOW + half_days * DAY / 2)),
        prop_oneof![Just(0i64), Just(1), Just(7), Just(35)].prop_map(|d| json!(NOW - d * DAY)),
        Just(json!("2023-11-01T00:00:00Z")),
        vec(text(), 0..3).prop_map(|v| json!(v)),
    ]
}

fn profile() -> impl Strategy<Value = Profile> {
    let department = prop_oneof![
        Just(vec![]),
        Just(vec!["root"]),
        Just(vec!["root", "Sales"]),
        Just(vec!["root", "Sales", "EMEA"]),
        Just(vec!["root", "d-9"]),
        Just(vec!["root", "d-1"]),
    ];
    (
        proptest::option::of(json_value()),
        proptest::option::of(json_value()),
        proptest::option::of(json_value()),
        proptest::option::of(json_value()),
        vec(-80i64..10, 0..3),
        department,
        proptest::sample::subsequence(vec!["g1", "g2", "G-1"], 0..=3),
    )
        .prop_map(|(a, bc, country, seen, events, department, groups)| {
            let mut properties = serde_json::Map::new();
            if let Some(a) = a {
                properties.insert("a".into(), a);
            }
            if let Some(bc) = bc {
                properties.insert("b".into(), json!({ "c": bc }));
            }
            if let Some(country) = country {
                properties.insert("country".into(), country);
            }
            if let Some(seen) = seen {
                properties.insert("last".into(), json!({ "seen": seen }));
            }
            Profile {
                properties,
                events: BTreeMap::from([(
                    "Signed Up".to_owned(),
                    events.iter().map(|h| NOW + h * DAY / 2).collect(),
                )]),
                department_path: department.into_iter().map(String::from).collect(),
                groups: groups.into_iter().map(String::from).collect(),
            }
        })
}

// ---- checks ------------------------------------------------------------------------

fn group(rule: Rule) -> SmartGroup {
    SmartGroup {
        id: Some("g-1".into()),
        name: "Generated".into(),
        description: None,
        rule,
    }
}

/// The rule a provider would hold: the payload written out as its wire text and read
/// back through that provider's decoder.
fn read_back(payload: &Payload, maps: &Maps) -> Result<SourceGroup, TestCaseError> {
    let text = payload.render();
    let mut groups = decode(payload.provider(), text, maps).map_err(|e| {
        TestCaseError::fail(format!("cannot read back our own payload: {e}\n{text}"))
    })?;
    prop_assert_eq!(groups.len(), 1);
    Ok(groups.remove(0))
}

fn same_people(a: &Rule, b: &Rule, profiles: &[Profile], what: &str) -> Result<(), TestCaseError> {
    for p in profiles {
        let (x, y) = (evaluate(a, p, NOW), evaluate(b, p, NOW));
        prop_assert!(
            x.is_some() && x == y,
            "{what} claimed Exact but selects differently: {x:?} vs {y:?}\nsource: {a:?}\ntarget: {b:?}\nprofile: {p:?}"
        );
    }
    Ok(())
}

#[derive(Default, Debug)]
struct Counts {
    /// Exact claims checked, per (from, to).
    exact: BTreeMap<(ProviderKind, ProviderKind), usize>,
    /// (rule, profile) pairs actually evaluated on both sides of an Exact claim, per
    /// (from, to): what the 0-mismatch figure rests on.
    evaluated: BTreeMap<(ProviderKind, ProviderKind), usize>,
    /// Lossy translations whose every reason says the target is wider, checked to
    /// select everyone the source selects, per (from, to).
    wider: BTreeMap<(ProviderKind, ProviderKind), usize>,
}

/// Every lossy reason says the target group is wider (a clause left out), so the
/// target must select at least everyone the source selects.
fn only_widened(fidelity: &sgsync::model::Fidelity) -> bool {
    matches!(fidelity, sgsync::model::Fidelity::Lossy(reasons)
        if reasons.iter().all(|r| r.why.contains("wider")))
}

fn at_least_the_same_people(
    narrow: &Rule,
    wide: &Rule,
    profiles: &[Profile],
    what: &str,
) -> Result<(), TestCaseError> {
    for p in profiles {
        if evaluate(narrow, p, NOW) == Some(true) {
            prop_assert_eq!(
                evaluate(wide, p, NOW),
                Some(true),
                "{} said only \"wider\" but drops someone\nsource: {:?}\ntarget: {:?}\nprofile: {:?}",
                what,
                narrow,
                wide,
                p
            );
        }
    }
    Ok(())
}

#[test]
fn exact_translations_select_the_same_people() {
    let maps = maps();
    let counts = std::cell::RefCell::new(Counts::default());
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        ..Config::default()
    });
    let strategy = (any_rule(), vec(profile(), PROFILES_PER_RULE));
    let result = runner.run(&strategy, |(rule, profiles)| {
        let mut counts = counts.borrow_mut();
        // A generated rule is first written in each source dialect and read back, so the
        // source side is what that provider really holds.
        let origin = SourceGroup::certain(Emfluence, group(rule.clone()));
        for from in [GoSquared, Ispring] {
            let into_source = translate(&origin, from, &maps);
            let Some(payload) = &into_source.payload else {
                continue;
            };
            // Even a lossy write is a real group of that provider once read back.
            let source = read_back(payload, &maps)?;
            if into_source.fidelity.is_exact() {
                same_people(
                    &rule,
                    &source.group.rule,
                    &profiles,
                    &format!("generated → {from}"),
                )?;
            }
            for to in sgsync::translate::kinds() {
                let t = translate(&source, to, &maps);
                if to == Emfluence {
                    prop_assert!(
                        !t.fidelity.is_exact(),
                        "emfluence cannot hold a rule yet was claimed Exact"
                    );
                    continue;
                }
                let Some(payload) = &t.payload else {
                    continue;
                };
                let target = read_back(payload, &maps)?;
                if t.fidelity.is_exact() {
                    *counts.exact.entry((from, to)).or_default() += 1;
                    *counts.evaluated.entry((from, to)).or_default() += profiles.len();
                    same_people(
                        &source.group.rule,
                        &target.group.rule,
                        &profiles,
                        &format!("{from} → {to}"),
                    )?;
                } else if only_widened(&t.fidelity) {
                    *counts.wider.entry((from, to)).or_default() += 1;
                    at_least_the_same_people(
                        &source.group.rule,
                        &target.group.rule,
                        &profiles,
                        &format!("{from} → {to}"),
                    )?;
                }
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let counts = counts.into_inner();
    for ((from, to), exact) in &counts.exact {
        let evaluated = counts.evaluated.get(&(*from, *to)).copied().unwrap_or(0);
        let wider = counts.wider.get(&(*from, *to)).copied().unwrap_or(0);
        eprintln!(
            "{from} → {to}: {exact} Exact claims, {evaluated} (rule, profile) pairs evaluated, {wider} widening Lossy claims checked"
        );
    }
    for from in [GoSquared, Ispring] {
        for to in [GoSquared, Ispring] {
            let exact = counts.exact.get(&(from, to)).copied().unwrap_or(0);
            assert!(
                exact >= 50,
                "only {exact} Exact claims checked for {from} → {to}: the generator is too weak"
            );
        }
    }
    // Only iSpring leaves clauses out (GoSquared writes all of a rule or nothing).
    let wider = counts
        .wider
        .get(&(GoSquared, Ispring))
        .copied()
        .unwrap_or(0);
    assert!(
        wider >= 50,
        "only {wider} widening Lossy claims checked for GoSquared → iSpring"
    );
    let fewest = counts.evaluated.values().min().copied().unwrap_or(0);
    assert!(
        fewest >= 10_000,
        "only {fewest} (rule, profile) pairs evaluated for some dialect pair: {counts:?}"
    );
}

/// A condition over an attribute the rest of the rule does not use, which the target
/// cannot write, makes the whole rule inexpressible there: never Exact.
#[test]
fn inexpressible_rules_are_never_exact() {
    let maps = maps();
    let cannot_ispring = prop_oneof![
        (
            prop_oneof![Just(Op::Contains), Just(Op::NotEquals), Just(Op::Greater)],
            text()
        )
            .prop_map(|(op, v)| cond(
                Attribute::Property("b.c".into()),
                op,
                Value::String(v)
            )),
        days().prop_map(|d| cond(Attribute::Property("last.seen".into()), Op::WithinLast, d)),
        days().prop_map(|d| cond(
            Attribute::Event {
                name: "Signed Up".into(),
                field: EventField::Last
            },
            Op::MoreThanAgo,
            d
        )),
        number().prop_map(|n| cond(
            Attribute::Property("a".into()),
            Op::Equals,
            Value::Number(n)
        )),
    ];
    let cannot_gosquared = prop_oneof![
        (scope(), department_key()).prop_map(|(scope, k)| cond(
            Attribute::Department { scope },
            Op::Equals,
            Value::String(k)
        )),
        group_key().prop_map(|k| cond(Attribute::Group, Op::Equals, Value::String(k))),
        (number(), number()).prop_map(|(lo, hi)| cond(
            Attribute::Property("zz".into()),
            Op::Between,
            Value::Range(lo, hi)
        )),
        days().prop_map(|d| cond(
            Attribute::Event {
                name: "Other".into(),
                field: EventField::Count
            },
            Op::Greater,
            d
        )),
    ];
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        ..Config::default()
    });
    let strategy = (
        cannot_ispring,
        tree(ispring_leaf()),
        cannot_gosquared,
        tree(gosquared_leaf()),
    );
    let result = runner.run(&strategy, |(bad_is, ok_is, bad_gs, ok_gs)| {
        for (bad, ok, to) in [(bad_is, ok_is, Ispring), (bad_gs, ok_gs, GoSquared)] {
            for from in [GoSquared, Ispring, Emfluence] {
                let source =
                    SourceGroup::certain(from, group(Rule::All(vec![bad.clone(), ok.clone()])));
                let t = translate(&source, to, &maps);
                prop_assert!(
                    !t.fidelity.is_exact(),
                    "{from} → {to} claimed Exact for {:?}",
                    source.group.rule
                );
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// emfluence holds no rule, so nothing read from it can become a rule elsewhere.
#[test]
fn emfluence_groups_travel_nowhere_as_rules() {
    let maps = maps();
    let text = r#"{"success":1,"code":0,"data":{"groupID":10,"groupName":"Alpha","description":"","type":"Static"}}"#;
    let source = decode(Emfluence, text, &maps)
        .expect("fixture parses")
        .remove(0);
    for to in [GoSquared, Ispring] {
        let t = translate(&source, to, &maps);
        assert!(t.fidelity.is_impossible(), "{to}: {:?}", t.fidelity);
        assert!(t.payload.is_none());
    }
}

// ---- foreign shapes and other accounts -------------------------------------------

/// One iSpring rule of account A: (attributeType, attributeId, operator, value).
fn ispring_wire_rule() -> impl Strategy<Value = (u8, Option<&'static str>, u8, &'static str)> {
    prop_oneof![
        (
            prop_oneof![Just("a-sales"), Just("a-emea"), Just("a-support")],
            1u8..=2
        )
            .prop_map(|(id, op)| (1u8, None, op, id)),
        prop_oneof![Just("a-managers"), Just("a-newsletter")].prop_map(|id| (2u8, None, 1u8, id)),
        prop_oneof![Just("124"), Just("840")].prop_map(|v| (3u8, Some("COUNTRY"), 1u8, v)),
    ]
}

/// How a clause is written: as documented (one `<rule>` per `<or>`), or in a shape no
/// sample shows (several `<rule>`s in one `<or>`, a `<rule>` directly in `<and>`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Documented,
    SeveralInOneOr,
    BareInAnd,
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        3 => Just(Shape::Documented),
        1 => Just(Shape::SeveralInOneOr),
        1 => Just(Shape::BareInAnd),
    ]
}

fn rule_xml((kind, field, op, value): &(u8, Option<&str>, u8, &str)) -> String {
    format!(
        "<rule><attributeType>{kind}</attributeType><attributeId>{}</attributeId><operator>{op}</operator><value>{value}</value></rule>",
        field.unwrap_or("")
    )
}

fn clause_xml(rules: &[(u8, Option<&'static str>, u8, &'static str)], shape: Shape) -> String {
    let inner: String = match shape {
        Shape::Documented => rules
            .iter()
            .map(|r| format!("<or>{}</or>", rule_xml(r)))
            .collect(),
        Shape::SeveralInOneOr => format!(
            "<or>{}</or>",
            rules.iter().map(rule_xml).collect::<String>()
        ),
        Shape::BareInAnd => rules.iter().map(rule_xml).collect(),
    };
    format!("<and>{inner}</and>")
}

/// Account A and account B of iSpring: the same names under different ids, and B has
/// no "Support" department.
fn accounts() -> (sgsync::model::Directory, sgsync::model::Directory) {
    use sgsync::model::directory::{Department, Entries, Field, Group};
    let entries = |prefix: &str, support: bool| Entries {
        departments: [("sales", "Sales", None), ("emea", "EMEA", Some("sales"))]
            .into_iter()
            .chain(support.then_some(("support", "Support", None)))
            .map(|(id, name, parent)| Department {
                id: format!("{prefix}-{id}"),
                name: name.into(),
                parent: parent.map(|p| format!("{prefix}-{p}")),
            })
            .collect(),
        groups: [("managers", "Managers"), ("newsletter", "Newsletter")]
            .into_iter()
            .map(|(id, name)| Group {
                id: format!("{prefix}-{id}"),
                name: name.into(),
            })
            .collect(),
        fields: vec![Field {
            id: "COUNTRY".into(),
            names: vec!["country".into()],
            values: vec![
                ("Canada".into(), "124".into()),
                ("United States".into(), "840".into()),
            ],
        }],
    };
    (
        sgsync::model::Directory::read("https://a.example", "account A", entries("a", true)),
        sgsync::model::Directory::read("https://b.example", "account B", entries("b", false)),
    )
}

/// Groups read from one iSpring account in any shape, written for another account and
/// for GoSquared: a shape no sample shows is never Exact anywhere, a name B lacks is
/// never Exact in B, and no id of account A ever reaches account B.
#[test]
fn foreign_shapes_and_other_accounts_are_never_exact_and_never_carry_ids_across() {
    let mut cfg = MappingConfig::default();
    cfg.attributes.insert(
        "country".into(),
        AttributeConfig {
            gosquared: Some("last.location.country.code".into()),
            ispring_field: Some("COUNTRY".into()),
        },
    );
    cfg.values.insert(
        "country".into(),
        BTreeMap::from([
            ("CA".to_owned(), "Canada".to_owned()),
            ("US".to_owned(), "United States".to_owned()),
        ]),
    );
    cfg.confirmed.ispring_field_rules = true;
    let maps = Maps::from_config(&cfg).expect("test maps are valid");
    let ispring = sgsync::translate::dialect(Ispring, &maps).expect("iSpring is registered");
    let gosquared = sgsync::translate::dialect(GoSquared, &maps).expect("GoSquared is registered");
    let (a, b) = accounts();
    let a_ids = [
        "a-sales",
        "a-emea",
        "a-support",
        "a-managers",
        "a-newsletter",
    ];
    let mut runner = TestRunner::new(Config {
        cases: 1_000,
        ..Config::default()
    });
    let strategy = vec((vec(ispring_wire_rule(), 1..4), shape()), 1..4);
    let exact_into_b = std::cell::Cell::new(0usize);
    let result = runner.run(&strategy, |clauses| {
        let xml = format!(
            "<rules>{}</rules>",
            clauses
                .iter()
                .map(|(rules, shape)| clause_xml(rules, *shape))
                .collect::<String>()
        );
        let foreign = clauses
            .iter()
            .any(|(rules, shape)| *shape != Shape::Documented && rules.len() > 1)
            || clauses.iter().any(|(_, shape)| *shape == Shape::BareInAnd);
        let names_support = clauses
            .iter()
            .flat_map(|(rules, _)| rules)
            .any(|r| r.3 == "a-support");
        let mut source = ispring
            .decode(&xml, &a)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?
            .remove(0);
        source.group.name = "Generated".into();
        let into_b = sgsync::provider::translate(&source, ispring.as_ref(), &b);
        prop_assert!(into_b.unavailable.is_empty());
        if let Some(payload) = &into_b.payload {
            let text = payload.render();
            prop_assert!(
                a_ids.iter().all(|id| !text.contains(id)),
                "an id of account A reached account B:\n{}\nfrom {}",
                text,
                xml
            );
        }
        if foreign {
            prop_assert!(
                !into_b.fidelity.is_exact(),
                "foreign shape Exact in B: {}",
                xml
            );
        }
        if names_support {
            prop_assert!(
                !into_b.fidelity.is_exact(),
                "B has no Support, yet Exact: {}",
                xml
            );
        }
        exact_into_b.set(exact_into_b.get() + usize::from(into_b.fidelity.is_exact()));

        let into_gs = sgsync::provider::translate(&source, gosquared.as_ref(), &Directory::none());
        if foreign {
            prop_assert!(
                !into_gs.fidelity.is_exact(),
                "foreign shape Exact in GoSquared: {}",
                xml
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The documented shapes over names B has do travel exactly: the property is not
    // satisfied by refusing everything.
    let exact_into_b = exact_into_b.get();
    assert!(exact_into_b >= 50, "only {exact_into_b} Exact into B");
}
