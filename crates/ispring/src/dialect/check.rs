//! `sgsync check` for an iSpring account: every department, group, profile field and
//! listed value the mapping names must exist in the account, under that name (or id).

use super::did_you_mean;
use sgsync_model::Directory;
use sgsync_model::directory::Resolved;
use sgsync_model::mapping::Maps;

/// One line per mapping entry that cannot work in `directory`'s account; nothing when
/// the directory was not read (a failed read is reported by the caller).
pub(super) fn mapping_problems(maps: &Maps, directory: &Directory) -> Vec<String> {
    if !directory.is_read() {
        return Vec::new();
    }
    let account = &directory.account;
    let mut problems = Vec::new();
    for (key, native) in maps.department_entries() {
        if let Some(why) = unresolved(directory.department(native), "department", native) {
            problems.push(format!("mapping.departments.{key}: {why} in {account}"));
        }
    }
    for (key, native) in maps.group_entries() {
        if let Some(why) = unresolved(directory.group(native), "group", native) {
            problems.push(format!("mapping.groups.{key}: {why} in {account}"));
        }
    }
    for (attribute, configured) in maps.ispring_field_entries() {
        let field = match directory.field(configured) {
            Ok(Some(field)) => field,
            Ok(None) => continue,
            Err(resolved) => {
                if let Some(why) = unresolved(resolved, "profile field", configured) {
                    problems.push(format!(
                        "mapping.attributes.{attribute}.ispring_field: {why} in {account}"
                    ));
                }
                continue;
            }
        };
        for (canonical, native) in maps.value_entries(attribute) {
            let resolved = directory.field_value(field, native);
            if let Some(why) = unresolved(resolved, "value", native) {
                problems.push(format!(
                    "mapping.values.{attribute}.{canonical}: {why} of profile field \"{}\" in {account}",
                    field.id
                ));
            }
        }
    }
    // The mapping's tables are unordered; people read the lines sorted.
    problems.sort();
    problems
}

/// Why `resolved` is no single id of the account's; `None` when it is (or cannot be
/// checked).
fn unresolved(resolved: Resolved<'_>, what: &str, name: &str) -> Option<String> {
    match resolved {
        Resolved::Id(_) | Resolved::Unchecked => None,
        Resolved::Missing { closest } => Some(format!(
            "there is no {what} \"{name}\"{}",
            did_you_mean(&closest)
        )),
        Resolved::Ambiguous { ids } => Some(format!(
            "{} entries are called {what} \"{name}\"; map it to one of their ids ({})",
            ids.len(),
            ids.join(", ")
        )),
        Resolved::Unavailable(why) => Some(format!("the directory could not be read ({why})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sgsync_model::directory::{Department, Entries, Field, Group};
    use sgsync_model::mapping::{AttributeConfig, MappingConfig};

    fn directory() -> Directory {
        Directory::read(
            "https://b.example",
            "iSpring Learn account \"b\"",
            Entries {
                departments: vec![Department {
                    id: "d1".into(),
                    name: "Sales EMEA".into(),
                    parent: None,
                }],
                groups: vec![Group {
                    id: "g1".into(),
                    name: "Managers".into(),
                }],
                fields: vec![Field {
                    id: "COUNTRY".into(),
                    names: vec!["country".into()],
                    values: vec![("Canada".into(), "124".into())],
                }],
            },
        )
    }

    #[test]
    fn every_entry_the_account_lacks_is_one_line_with_its_key_and_the_closest_names() {
        let mut cfg = MappingConfig::default();
        cfg.departments.insert("emea".into(), "Sales EMEA".into());
        cfg.departments.insert("apac".into(), "Sales APAC".into());
        cfg.groups.insert("managers".into(), "g1".into());
        cfg.groups.insert("leads".into(), "Leads".into());
        cfg.attributes.insert(
            "country".into(),
            AttributeConfig {
                gosquared: None,
                ispring_field: Some("COUNTRY".into()),
            },
        );
        cfg.attributes.insert(
            "title".into(),
            AttributeConfig {
                gosquared: None,
                ispring_field: Some("JOB_TITEL".into()),
            },
        );
        cfg.values.insert(
            "country".into(),
            [
                ("CA".to_owned(), "Canada".to_owned()),
                ("DE".to_owned(), "Germnay".to_owned()),
            ]
            .into(),
        );
        let maps = Maps::from_config(&cfg).unwrap();
        let problems = mapping_problems(&maps, &directory());
        assert_eq!(
            problems,
            vec![
                "mapping.attributes.title.ispring_field: there is no profile field \"JOB_TITEL\" in iSpring Learn account \"b\"",
                "mapping.departments.apac: there is no department \"Sales APAC\" (closest: \"Sales EMEA\") in iSpring Learn account \"b\"",
                "mapping.groups.leads: there is no group \"Leads\" in iSpring Learn account \"b\"",
                "mapping.values.country.DE: there is no value \"Germnay\" of profile field \"COUNTRY\" in iSpring Learn account \"b\"",
            ],
            "{problems:#?}"
        );
        // An account not read: nothing to say here.
        assert!(mapping_problems(&maps, &Directory::none()).is_empty());
    }
}
