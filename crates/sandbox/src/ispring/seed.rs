//! The sandbox's seed data: the demo account's departments, profile fields, groups and
//! twenty users, with fixed ids so configs and tests can name them.

use super::{
    DEFAULT_TOKEN_LIFETIME, DEPARTMENT, GROUP, PROFILE_FIELD, SandboxGroup, SandboxUser, World,
};
use crate::Seed;
use sgsync_ispring::wire::{Department, FieldValue, ProfileField, WireRule};
use std::collections::HashMap;

/// A UUID-shaped id (iSpring ids are UUIDs, §5.2).
pub(super) fn new_id() -> String {
    format!(
        "{:08x}-{:04x}-11f0-{:04x}-{:012x}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u16(0x8000..0xc000),
        fastrand::u64(..0x1_0000_0000_0000)
    )
}

/// Fixed ids for the demo reference data, so configs and tests can name them.
pub mod ids {
    pub const COMPANY: &str = "d0000000-0000-11f0-8000-000000000001";
    pub const SALES: &str = "d0000000-0000-11f0-8000-000000000002";
    pub const EMEA: &str = "d0000000-0000-11f0-8000-000000000003";
    pub const AMERICAS: &str = "d0000000-0000-11f0-8000-000000000004";
    pub const MARKETING: &str = "d0000000-0000-11f0-8000-000000000005";
    pub const SUPPORT: &str = "d0000000-0000-11f0-8000-000000000006";
    pub const NEWSLETTER: &str = "a0000000-0000-11f0-8000-000000000001";
    pub const MANAGERS: &str = "a0000000-0000-11f0-8000-000000000002";
    pub const ONBOARDING: &str = "a0000000-0000-11f0-8000-000000000003";
    pub const CANADA: &str = "124";
    pub const UNITED_STATES: &str = "840";
    pub const UNITED_KINGDOM: &str = "826";
    pub const GERMANY: &str = "276";
}

fn department(id: &str, name: &str, code: &str, parent: Option<&str>) -> Department {
    Department {
        id: id.to_owned(),
        name: name.to_owned(),
        code: Some(code.to_owned()),
        parent_id: parent.map(str::to_owned),
    }
}

fn field(id: &str, label: &str, field_type: &str, values: &[(&str, &str)]) -> ProfileField {
    ProfileField {
        id: id.to_owned(),
        name: id.to_ascii_lowercase(),
        label: label.to_owned(),
        field_type: field_type.to_owned(),
        values: values
            .iter()
            .map(|(name, value)| FieldValue {
                name: (*name).to_owned(),
                value: (*value).to_owned(),
            })
            .collect(),
    }
}

fn rule(attribute_type: u8, attribute_id: Option<&str>, operator: u8, value: &str) -> WireRule {
    WireRule {
        attribute_type,
        attribute_id: attribute_id.map(str::to_owned),
        operator,
        value: value.to_owned(),
    }
}

impl World {
    pub(super) fn seeded(seed: Seed) -> World {
        use ids::*;
        let departments = vec![
            department(COMPANY, "Company", "ACME", None),
            department(SALES, "Sales", "SALES", Some(COMPANY)),
            department(EMEA, "EMEA", "SALES-EMEA", Some(SALES)),
            department(AMERICAS, "Americas", "SALES-AM", Some(SALES)),
            department(MARKETING, "Marketing", "MKT", Some(COMPANY)),
            department(SUPPORT, "Support", "SUP", Some(COMPANY)),
        ];
        let fields = vec![
            field("FIRST_NAME", "First Name", "first_name", &[]),
            field("LAST_NAME", "Last Name", "last_name", &[]),
            field("EMAIL", "Email", "email", &[]),
            field("JOB_TITLE", "Job Title", "job_title", &[]),
            field(
                "COUNTRY",
                "Country",
                "country",
                &[
                    ("Canada", CANADA),
                    ("United States", UNITED_STATES),
                    ("United Kingdom", UNITED_KINGDOM),
                    ("Germany", GERMANY),
                ],
            ),
        ];
        let mut groups = vec![
            SandboxGroup {
                id: NEWSLETTER.to_owned(),
                name: "Newsletter".to_owned(),
                rules: None,
            },
            SandboxGroup {
                id: MANAGERS.to_owned(),
                name: "Managers".to_owned(),
                rules: None,
            },
            SandboxGroup {
                id: ONBOARDING.to_owned(),
                name: "Onboarding 2026".to_owned(),
                rules: None,
            },
        ];
        if seed == Seed::Demo {
            groups.push(SandboxGroup {
                id: "5a000000-0000-11f0-8000-000000000001".to_owned(),
                name: "Sales managers in Canada".to_owned(),
                rules: Some(vec![
                    vec![rule(DEPARTMENT, None, 2, SALES)],
                    vec![rule(PROFILE_FIELD, Some("JOB_TITLE"), 1, "Sales Manager")],
                    vec![rule(PROFILE_FIELD, Some("COUNTRY"), 1, CANADA)],
                ]),
            });
            groups.push(SandboxGroup {
                id: "5a000000-0000-11f0-8000-000000000002".to_owned(),
                name: "Support or Marketing".to_owned(),
                rules: Some(vec![vec![
                    rule(DEPARTMENT, None, 1, SUPPORT),
                    rule(DEPARTMENT, None, 1, MARKETING),
                ]]),
            });
        }
        World {
            departments,
            groups,
            fields,
            users: demo_users(),
            tokens: HashMap::new(),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            refusal: None,
            method_faults: HashMap::new(),
            admin_scope: None,
        }
    }
}

impl World {
    /// The same names under fresh ids, without the Support department (its people move
    /// to Company) and the Onboarding 2026 group (see `Sandbox::start_second_account`).
    pub(super) fn second_account(mut self) -> World {
        use ids::*;
        let mut fresh: HashMap<String, String> = HashMap::new();
        let mut id_for =
            |old: &str| -> String { fresh.entry(old.to_owned()).or_insert_with(new_id).clone() };
        self.departments.retain(|d| d.id != SUPPORT);
        self.groups.retain(|g| g.id != ONBOARDING);
        for user in &mut self.users {
            if user.department_id == SUPPORT {
                user.department_id = COMPANY.to_owned();
            }
            user.groups.retain(|g| g != ONBOARDING);
        }
        for d in &mut self.departments {
            d.id = id_for(&d.id);
            d.parent_id = d.parent_id.as_deref().map(&mut id_for);
        }
        for g in &mut self.groups {
            g.id = id_for(&g.id);
            for rule in g.rules.iter_mut().flatten().flatten() {
                if rule.attribute_type == DEPARTMENT || rule.attribute_type == GROUP {
                    rule.value = id_for(&rule.value);
                }
            }
        }
        for user in &mut self.users {
            user.id = new_id();
            user.department_id = id_for(&user.department_id);
            for g in &mut user.groups {
                *g = id_for(g);
            }
        }
        self
    }
}

/// First name, last name, department, job title, country id, plain groups.
type Person = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

fn demo_users() -> Vec<SandboxUser> {
    use ids::*;
    #[rustfmt::skip]
    let people: [Person; 20] = [
        ("Ada", "Lovelace", EMEA, "Sales Manager", UNITED_KINGDOM, &[MANAGERS]),
        ("Grace", "Hopper", AMERICAS, "Sales Manager", UNITED_STATES, &[MANAGERS, NEWSLETTER]),
        ("Alan", "Turing", EMEA, "Account Executive", UNITED_KINGDOM, &[NEWSLETTER]),
        ("Margaret", "Hamilton", AMERICAS, "Account Executive", CANADA, &[]),
        ("Katherine", "Johnson", AMERICAS, "Sales Manager", CANADA, &[MANAGERS]),
        ("Konrad", "Zuse", EMEA, "Sales Manager", GERMANY, &[MANAGERS]),
        ("Emmy", "Noether", EMEA, "Account Executive", GERMANY, &[ONBOARDING]),
        ("Donald", "Knuth", SALES, "Head of Sales", UNITED_STATES, &[MANAGERS]),
        ("Barbara", "Liskov", MARKETING, "Marketing Manager", UNITED_STATES, &[MANAGERS, NEWSLETTER]),
        ("Frances", "Allen", MARKETING, "Content Writer", CANADA, &[NEWSLETTER]),
        ("Edsger", "Dijkstra", MARKETING, "Designer", GERMANY, &[]),
        ("Tim", "Berners-Lee", SUPPORT, "Support Lead", UNITED_KINGDOM, &[MANAGERS]),
        ("Radia", "Perlman", SUPPORT, "Support Engineer", UNITED_STATES, &[ONBOARDING]),
        ("Ken", "Thompson", SUPPORT, "Support Engineer", CANADA, &[]),
        ("Dennis", "Ritchie", SUPPORT, "Support Engineer", UNITED_STATES, &[NEWSLETTER]),
        ("Hedy", "Lamarr", COMPANY, "CEO", UNITED_STATES, &[MANAGERS]),
        ("John", "McCarthy", AMERICAS, "Account Executive", UNITED_STATES, &[ONBOARDING]),
        ("Sophie", "Wilson", EMEA, "Account Executive", UNITED_KINGDOM, &[]),
        ("Karen", "Sparck Jones", MARKETING, "Analyst", UNITED_KINGDOM, &[NEWSLETTER]),
        ("Leslie", "Lamport", AMERICAS, "Sales Manager", UNITED_STATES, &[MANAGERS]),
    ];
    people
        .iter()
        .enumerate()
        .map(|(i, (first, last, dept, title, country, groups))| {
            let email = format!("{}.{}@acme.example", first, last.replace(' ', "")).to_lowercase();
            let fields = [
                ("FIRST_NAME", (*first).to_owned()),
                ("LAST_NAME", (*last).to_owned()),
                ("EMAIL", email),
                ("JOB_TITLE", (*title).to_owned()),
                ("COUNTRY", (*country).to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            SandboxUser {
                id: format!("e0000000-0000-11f0-8000-{:012}", i + 1),
                department_id: (*dept).to_owned(),
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
                fields,
            }
        })
        .collect()
}
