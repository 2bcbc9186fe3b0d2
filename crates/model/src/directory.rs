//! One account's directory: the departments (with their tree), groups and profile
//! fields (with their listed values) a rule may name, as that account lists them.
//!
//! Ids belong to one account. A rule travels by *name*: a dialect reads a rule's ids
//! into names through the source account's directory and writes names back as ids
//! through the target account's, so "Sales EMEA" in one account becomes "Sales EMEA"
//! in the other — never the first account's id. A name the target does not list is a
//! reason (Lossy or Impossible), never a copied id.
//!
//! Read from the account at the start of a run (one pass, cached for the run) where
//! its API lists these; a provider that lists none has an [`Directory::unlisted`] one,
//! and a directory that could not be read remembers why ([`Directory::failed`]), so the
//! units that need it fail with that reason and the others go on.

use std::collections::HashMap;

/// A department of the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub id: String,
    pub name: String,
    /// `None` for a root.
    pub parent: Option<String>,
}

/// A group (static or smart) of the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: String,
    pub name: String,
}

/// A user profile field, and the values it lists (a country field's countries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// What a rule names the field by (iSpring's Field ID: `COUNTRY`, `JOB_TITLE`).
    pub id: String,
    /// Other names people know it by (its name and label).
    pub names: Vec<String>,
    /// The listed values: (display name, id). Empty: free text.
    pub values: Vec<(String, String)>,
}

/// What an account's directory holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Listing {
    /// The account was read: these are all its entries.
    Read(Entries),
    /// The provider lists none of these (GoSquared, emfluence), or no account was read
    /// (`sgsync translate` on a file): names and ids cannot be checked.
    #[default]
    Unlisted,
    /// Reading it failed: the call and why (no secret in it).
    Failed(String),
}

/// The entries of a read directory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entries {
    pub departments: Vec<Department>,
    /// Every group the account holds, static or smart: also what tells a create that
    /// no group of its name exists yet.
    pub groups: Vec<Group>,
    pub fields: Vec<Field>,
}

/// One account's directory, with lookups both ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    /// The account's identity (its normalised URL): two connections to one account
    /// have the same. Empty for no account (`sgsync translate` on a file).
    pub id: String,
    /// The account, as reasons name it: `iSpring Learn account "lms"`.
    pub account: String,
    pub listing: Listing,
    department_by_id: HashMap<String, usize>,
    group_by_id: HashMap<String, usize>,
}

/// How a name (or an id a user insists on) resolves in one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved<'a> {
    /// The account's id for it.
    Id(&'a str),
    /// The account lists nothing of that name or id; the closest names it lists.
    Missing { closest: Vec<&'a str> },
    /// Several entries carry that name: which one is meant cannot be told.
    Ambiguous { ids: Vec<&'a str> },
    /// Nothing to check against (unlisted): the text passes as given.
    Unchecked,
    /// The directory could not be read: why.
    Unavailable(&'a str),
}

impl Directory {
    /// No account at all (a file to translate): nothing can be checked, and every
    /// group read without an account is from this same "account".
    pub fn none() -> Directory {
        Directory::new(String::new(), "no account", Listing::Unlisted)
    }

    /// The directory of account `id`, whose provider lists nothing.
    pub fn unlisted(id: impl Into<String>, account: impl Into<String>) -> Directory {
        Directory::new(id, account, Listing::Unlisted)
    }

    /// The directory of account `id` that could not be read, and why.
    pub fn failed(
        id: impl Into<String>,
        account: impl Into<String>,
        why: impl Into<String>,
    ) -> Directory {
        Directory::new(id, account, Listing::Failed(why.into()))
    }

    /// The directory of account `id`, read in full.
    pub fn read(id: impl Into<String>, account: impl Into<String>, entries: Entries) -> Directory {
        Directory::new(id, account, Listing::Read(entries))
    }

    /// The same directory, named `account` in reasons (the engine knows the
    /// connection's name; the provider does not).
    pub fn named(mut self, account: impl Into<String>) -> Directory {
        self.account = account.into();
        self
    }

    fn new(id: impl Into<String>, account: impl Into<String>, listing: Listing) -> Directory {
        let (department_by_id, group_by_id) = match &listing {
            Listing::Read(e) => (
                e.departments
                    .iter()
                    .enumerate()
                    .map(|(i, d)| (d.id.clone(), i))
                    .collect(),
                e.groups
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (g.id.clone(), i))
                    .collect(),
            ),
            _ => (HashMap::new(), HashMap::new()),
        };
        Directory {
            id: id.into(),
            account: account.into(),
            listing,
            department_by_id,
            group_by_id,
        }
    }

    fn entries(&self) -> Option<&Entries> {
        match &self.listing {
            Listing::Read(e) => Some(e),
            _ => None,
        }
    }

    /// Why the directory is unavailable, if reading it failed.
    pub fn failure(&self) -> Option<&str> {
        match &self.listing {
            Listing::Failed(why) => Some(why),
            _ => None,
        }
    }

    /// Every group of the account (id and name), when its directory was read.
    pub fn groups(&self) -> Option<&[Group]> {
        self.entries().map(|e| e.groups.as_slice())
    }

    /// Every group name of the account, when its directory was read.
    pub fn group_names(&self) -> Option<Vec<&str>> {
        self.entries()
            .map(|e| e.groups.iter().map(|g| g.name.as_str()).collect())
    }

    /// Whether names can be checked against this account.
    pub fn is_read(&self) -> bool {
        matches!(self.listing, Listing::Read(_))
    }

    /// The name of department `id`; `None` when not read or not listed.
    pub fn department_name(&self, id: &str) -> Option<&str> {
        let e = self.entries()?;
        self.department_by_id
            .get(id)
            .map(|&i| e.departments[i].name.as_str())
    }

    /// The name of group `id`; `None` when not read or not listed.
    pub fn group_name(&self, id: &str) -> Option<&str> {
        let e = self.entries()?;
        self.group_by_id.get(id).map(|&i| e.groups[i].name.as_str())
    }

    /// Department `name` in this account (or an id of one, where a user insists).
    pub fn department(&self, name: &str) -> Resolved<'_> {
        self.resolve(name, |e| {
            e.departments
                .iter()
                .map(|d| (d.id.as_str(), d.name.as_str()))
                .collect()
        })
    }

    /// Group `name` in this account (or an id of one, where a user insists).
    pub fn group(&self, name: &str) -> Resolved<'_> {
        self.resolve(name, |e| {
            e.groups
                .iter()
                .map(|g| (g.id.as_str(), g.name.as_str()))
                .collect()
        })
    }

    /// The profile field `name` (its id, name or label) in this account.
    pub fn field(&self, name: &str) -> Result<Option<&Field>, Resolved<'_>> {
        match &self.listing {
            Listing::Read(e) => {
                let found = e
                    .fields
                    .iter()
                    .find(|f| f.id == name || f.names.iter().any(|n| n.eq_ignore_ascii_case(name)));
                match found {
                    Some(f) => Ok(Some(f)),
                    None => Err(Resolved::Missing {
                        closest: closest(
                            name,
                            e.fields.iter().flat_map(|f| {
                                std::iter::once(f.id.as_str())
                                    .chain(f.names.iter().map(String::as_str))
                            }),
                        ),
                    }),
                }
            }
            Listing::Unlisted => Ok(None),
            Listing::Failed(why) => Err(Resolved::Unavailable(why)),
        }
    }

    /// The id of listed value `name` (or of the id itself) of `field`; a field that
    /// lists no values takes any text ([`Resolved::Unchecked`]).
    pub fn field_value<'a>(&'a self, field: &'a Field, name: &str) -> Resolved<'a> {
        if field.values.is_empty() {
            return Resolved::Unchecked;
        }
        let pairs: Vec<(&str, &str)> = field
            .values
            .iter()
            .map(|(n, id)| (id.as_str(), n.as_str()))
            .collect();
        resolve_in(name, &pairs)
    }

    /// The display name of `field`'s listed value `id`; `None` when it lists none, or
    /// not this one.
    pub fn field_value_name<'a>(&self, field: &'a Field, id: &str) -> Option<&'a str> {
        field
            .values
            .iter()
            .find(|(_, v)| v == id)
            .map(|(n, _)| n.as_str())
    }

    /// The departments below `id` (not itself), for "with descendants".
    pub fn descendants(&self, id: &str) -> Vec<&str> {
        let Some(e) = self.entries() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut frontier = vec![id];
        // Bounded by the number of departments: each is visited once (a cycle in a
        // malformed tree cannot loop).
        let mut seen = std::collections::HashSet::new();
        while let Some(parent) = frontier.pop() {
            for d in &e.departments {
                if d.parent.as_deref() == Some(parent) && seen.insert(d.id.as_str()) {
                    out.push(d.id.as_str());
                    frontier.push(d.id.as_str());
                }
            }
        }
        out
    }

    fn resolve<'a>(
        &'a self,
        name: &str,
        pairs: impl FnOnce(&'a Entries) -> Vec<(&'a str, &'a str)>,
    ) -> Resolved<'a> {
        match &self.listing {
            Listing::Read(e) => resolve_in(name, &pairs(e)),
            Listing::Unlisted => Resolved::Unchecked,
            Listing::Failed(why) => Resolved::Unavailable(why),
        }
    }
}

/// `name` among (id, name) pairs: by exact name, then (an id a user insists on) by id.
fn resolve_in<'a>(name: &str, pairs: &[(&'a str, &'a str)]) -> Resolved<'a> {
    let named: Vec<&str> = pairs
        .iter()
        .filter(|(_, n)| *n == name)
        .map(|(id, _)| *id)
        .collect();
    match named.as_slice() {
        [one] => return Resolved::Id(one),
        [] => {}
        _ => return Resolved::Ambiguous { ids: named },
    }
    if let Some((id, _)) = pairs.iter().find(|(id, _)| *id == name) {
        return Resolved::Id(id);
    }
    Resolved::Missing {
        closest: closest(name, pairs.iter().map(|(_, n)| *n)),
    }
}

/// Up to three of `candidates` closest to `name` (case-folded edit distance), for
/// "did you mean" in messages.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let folded = name.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .map(|c| (distance(&folded, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.chars().count().max(folded.chars().count()) / 2).max(2))
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// Levenshtein distance, over chars; bounded work for the short names it compares.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> Directory {
        Directory::read(
            "https://a.example",
            "iSpring Learn account \"lms\"",
            Entries {
                departments: vec![
                    Department {
                        id: "d1".into(),
                        name: "Company".into(),
                        parent: None,
                    },
                    Department {
                        id: "d2".into(),
                        name: "Sales EMEA".into(),
                        parent: Some("d1".into()),
                    },
                    Department {
                        id: "d3".into(),
                        name: "Berlin".into(),
                        parent: Some("d2".into()),
                    },
                ],
                groups: vec![
                    Group {
                        id: "g1".into(),
                        name: "Managers".into(),
                    },
                    Group {
                        id: "g2".into(),
                        name: "Twin".into(),
                    },
                    Group {
                        id: "g3".into(),
                        name: "Twin".into(),
                    },
                ],
                fields: vec![Field {
                    id: "COUNTRY".into(),
                    names: vec!["country".into(), "Country".into()],
                    values: vec![("Canada".into(), "124".into())],
                }],
            },
        )
    }

    #[test]
    fn names_resolve_to_this_accounts_ids_and_back() {
        let d = dir();
        assert_eq!(d.department("Sales EMEA"), Resolved::Id("d2"));
        assert_eq!(d.department_name("d2"), Some("Sales EMEA"));
        // An id a user insists on is accepted, if this account has it.
        assert_eq!(d.department("d3"), Resolved::Id("d3"));
        assert_eq!(
            d.department("Sales Emea"),
            Resolved::Missing {
                closest: vec!["Sales EMEA"]
            }
        );
        assert_eq!(d.group("Managers"), Resolved::Id("g1"));
        assert_eq!(
            d.group("Twin"),
            Resolved::Ambiguous {
                ids: vec!["g2", "g3"]
            }
        );
        let country = d.field("Country").unwrap().unwrap();
        assert_eq!(d.field_value(country, "Canada"), Resolved::Id("124"));
        assert_eq!(d.field_value(country, "124"), Resolved::Id("124"));
        assert!(matches!(
            d.field_value(country, "Kanada"),
            Resolved::Missing { .. }
        ));
        assert_eq!(d.field_value_name(country, "124"), Some("Canada"));
        assert_eq!(d.descendants("d1"), vec!["d2", "d3"]);
    }

    #[test]
    fn unlisted_and_failed_directories_say_so() {
        let u = Directory::unlisted("https://g.example", "GoSquared account \"source\"");
        assert_eq!(u.department("x"), Resolved::Unchecked);
        assert_eq!(u.department_name("x"), None);
        let f = Directory::failed(
            "https://a.example",
            "iSpring Learn account \"lms\"",
            "getDepartments: timed out",
        );
        assert_eq!(
            f.group("x"),
            Resolved::Unavailable("getDepartments: timed out")
        );
        assert_eq!(f.failure(), Some("getDepartments: timed out"));
    }
}
