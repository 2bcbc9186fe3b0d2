//! Translation speed: the nine real GoSquared groups (gosquared.md §3) into iSpring, and
//! the CNF of a 12-term DNF (2 conditions each, 4 096 clauses after distribution).
//!
//! Run: `cargo bench --bench translate`. Criterion prints the median time per
//! iteration; translations per second = 9 / that median for the first benchmark.

use criterion::{Criterion, criterion_group, criterion_main};
use sgsync::model::mapping::{AttributeConfig, MappingConfig, Maps};
use sgsync::model::{Attribute, Op, Rule, Value, to_cnf};
use sgsync::translate::{decode, translate};
use std::collections::BTreeMap;
use std::hint::black_box;

const REAL_GROUPS: &str = include_str!("../tests/fixtures/gosquared/smartgroups_2016.json");

fn maps() -> Maps {
    let attributes = BTreeMap::from([(
        "first.referrer.href".to_owned(),
        AttributeConfig {
            gosquared: None,
            ispring_field: Some("REFERRER".into()),
        },
    )]);
    Maps::from_config(&MappingConfig {
        attributes,
        ..MappingConfig::default()
    })
    .unwrap_or_default()
}

fn nine_groups_to_ispring(c: &mut Criterion) {
    let maps = maps();
    let groups = match decode(sgsync_gosquared::KIND, REAL_GROUPS, &maps) {
        Ok(g) => g,
        Err(e) => panic!("fixture: {e}"),
    };
    assert_eq!(groups.len(), 9);
    c.bench_function("9 real GoSquared groups → iSpring", |b| {
        b.iter(|| {
            for g in &groups {
                black_box(translate(black_box(g), sgsync_ispring::KIND, &maps));
            }
        })
    });
    c.bench_function("9 real GoSquared groups: decode + → iSpring", |b| {
        b.iter(|| {
            let groups =
                decode(sgsync_gosquared::KIND, black_box(REAL_GROUPS), &maps).unwrap_or_default();
            for g in &groups {
                black_box(translate(g, sgsync_ispring::KIND, &maps));
            }
        })
    });
}

fn cnf_of_12_term_dnf(c: &mut Criterion) {
    let eq = |path: String| Rule::cond(Attribute::Property(path), Op::Equals, Value::string("v"));
    let dnf = Rule::Any(
        (0..12)
            .map(|i| Rule::All(vec![eq(format!("x{i}")), eq(format!("y{i}"))]))
            .collect(),
    );
    c.bench_function("CNF of a 12-term DNF (4096 clauses)", |b| {
        b.iter(|| {
            let cnf = to_cnf(black_box(&dnf), 4096).map(|c| c.0.len());
            assert_eq!(cnf, Ok(4096));
        })
    });
    c.bench_function("CNF of a 12-term DNF refused at 64 clauses", |b| {
        b.iter(|| assert!(to_cnf(black_box(&dnf), 64).is_err()))
    });
}

criterion_group!(benches, nine_groups_to_ispring, cnf_of_12_term_dnf);
criterion_main!(benches);
