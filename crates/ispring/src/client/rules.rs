//! Rule sets compared as sets: what drift detection needs to tell an edited copy from
//! one iSpring merely answered in another order.

use super::*;

/// A rule set (clauses of alternatives) in an order of its own: each clause's rules
/// sorted and deduplicated, then the clauses; two sets of the same rules compare equal
/// whatever order they were written in.
pub(super) type Canonical = Vec<Vec<(u8, Option<String>, u8, String)>>;

pub(super) fn canonical(clauses: &[Vec<WireRule>]) -> Canonical {
    let mut out: Canonical = clauses
        .iter()
        .map(|c| {
            let mut rules: Vec<_> = c
                .iter()
                .map(|r| {
                    (
                        r.attribute_type,
                        r.attribute_id.clone(),
                        r.operator,
                        r.value.clone(),
                    )
                })
                .collect();
            rules.sort();
            rules.dedup();
            rules
        })
        .collect();
    out.sort();
    out.dedup();
    out
}
