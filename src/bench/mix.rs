//! The benchmark's source groups: a realistic mix built from the nine real GoSquared
//! groups of 2016 (`tests/fixtures/gosquared/smartgroups_2016.json`) and groups shaped
//! like the demo's translatable ones, so every fidelity class reaches the targets.
//!
//! Each block of ten consecutive groups holds (fidelity towards iSpring Learn, with the
//! bench's mapping):
//! - 4 × a real group's filters (engaged time, last seen, visits, referrer, Klout score,
//!   events…): **Impossible** (iSpring has none of those fields), so skipped there;
//! - 2 × `country == X`, 2 × `country == X AND job title == Y`: **Exact**;
//! - 2 × `country == X AND totals.visits > n`: **Lossy** (the visits clause is left out,
//!   so the iSpring group is wider), pushed (`on_lossy = "push"`).
//!
//! emfluence holds no rules: every group goes there as a described static group
//! (lossy, pushed). So 60 % of the groups are written to iSpring and 100 % to emfluence.

use serde_json::{Value as Json, json};

/// A source group's fidelity towards iSpring Learn, which decides whether it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Exact,
    Lossy,
    Impossible,
}

/// Countries the bench's value map knows (an unmapped country would be Impossible).
pub const COUNTRIES: [(&str, &str); 4] =
    [("CA", "124"), ("US", "840"), ("GB", "826"), ("DE", "276")];
const JOBS: [&str; 3] = ["Sales Manager", "Engineer", "Account Executive"];

/// The nine real groups: (name, filters), in the fixture's order.
fn real_groups() -> Vec<(String, Vec<Json>)> {
    let raw: Json = serde_json::from_str(include_str!(
        "../../tests/fixtures/gosquared/smartgroups_2016.json"
    ))
    .unwrap_or(Json::Null);
    raw["list"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|g| {
                    (
                        g["name"].as_str().unwrap_or("Group").to_owned(),
                        g["filters"].as_array().cloned().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The source groups of a bench run, and how to change one of them.
pub struct Mix {
    real: Vec<(String, Vec<Json>)>,
}

/// One source group to seed.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedGroup {
    pub name: String,
    pub filters: Vec<Json>,
    pub class: Class,
}

fn property(path: &str, operator: &str, value: Json) -> Json {
    json!({"key": "property", "path": path, "operator": operator, "value": value})
}

fn country(code: &str) -> Json {
    property("last.location.country.code", "==", json!(code))
}

impl Mix {
    pub fn new() -> Mix {
        Mix {
            real: real_groups(),
        }
    }

    /// The fidelity class of group `i` (stays the same when it is changed).
    pub fn class(i: usize) -> Class {
        match i % 10 {
            0..=3 => Class::Impossible,
            4..=7 => Class::Exact,
            _ => Class::Lossy,
        }
    }

    /// Group `i` as first seeded (`variant` 0) or after a change (`variant` 1): same
    /// name and class, other filters.
    pub fn group(&self, i: usize, variant: usize) -> SeedGroup {
        let block = i / 10 + variant;
        let (cc, _) = COUNTRIES[block % COUNTRIES.len()];
        let class = Self::class(i);
        let (label, filters) = match i % 10 {
            slot @ 0..=3 if !self.real.is_empty() => {
                let r = self.real.len();
                // The name stays the seeded group's; a change takes another real
                // group's filters (four places on: never an identical pair).
                let (name, _) = &self.real[((i / 10) * 4 + slot) % r];
                let (_, filters) = &self.real[(block * 4 + slot) % r];
                (name.clone(), filters.clone())
            }
            0..=3 => ("Group".to_owned(), Vec::new()),
            4 | 5 => (
                format!("Visitors from {}", COUNTRIES[(i / 10) % 4].0),
                vec![country(cc)],
            ),
            6 | 7 => {
                let job = JOBS[(block + i) % JOBS.len()];
                (
                    format!("Staff in {}", COUNTRIES[(i / 10) % 4].0),
                    vec![country(cc), property("custom.job_title", "==", json!(job))],
                )
            }
            _ => (
                format!("Active visitors from {}", COUNTRIES[(i / 10) % 4].0),
                vec![
                    country(cc),
                    property("totals.visits", ">", json!(1 + (block % 5))),
                ],
            ),
        };
        SeedGroup {
            name: format!("{label} #{i:05}"),
            filters,
            class,
        }
    }

    /// Whether group `i` is among the 10 % changed by the bench: one group per block of
    /// ten, at a slot that moves from block to block, so every class gets changed.
    pub fn changed(i: usize) -> bool {
        i % 10 == (i / 10) % 10
    }
}

impl Default for Mix {
    fn default() -> Self {
        Mix::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_40_40_20_and_a_change_keeps_name_and_class_but_not_filters() {
        let mix = Mix::new();
        assert_eq!(mix.real.len(), 9, "the nine real groups are read");
        let n = 1000;
        let count = |c| (0..n).filter(|&i| Mix::class(i) == c).count();
        assert_eq!(
            (
                count(Class::Impossible),
                count(Class::Exact),
                count(Class::Lossy)
            ),
            (400, 400, 200)
        );
        let names: std::collections::HashSet<_> = (0..n).map(|i| mix.group(i, 0).name).collect();
        assert_eq!(names.len(), n, "names are unique");
        let changed: Vec<usize> = (0..n).filter(|&i| Mix::changed(i)).collect();
        assert_eq!(changed.len(), 100);
        for c in [Class::Impossible, Class::Exact, Class::Lossy] {
            assert!(
                changed.iter().any(|&i| Mix::class(i) == c),
                "{c:?} changes too"
            );
        }
        for &i in &changed {
            let (before, after) = (mix.group(i, 0), mix.group(i, 1));
            assert_eq!((&before.name, before.class), (&after.name, after.class));
            assert_ne!(before.filters, after.filters, "group {i}");
        }
    }
}
