//! The user's attribute and value maps: how a canonical attribute is spelled by each
//! provider, and how canonical values become provider ids.
//!
//! [`MappingConfig`] is the raw serde layer (as written in `[mapping]` of the config);
//! [`Maps`] is the validated form the dialects use, with both directions precomputed.
//! Validation errors name the key at fault.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use thiserror::Error;

/// Default for [`MappingConfig::max_clauses`]: large enough for any rule a person builds
/// in iSpring's editor, small enough that a refusal is cheap.
pub const DEFAULT_MAX_CLAUSES: usize = 64;
const MAX_CLAUSES_CEILING: usize = 100_000;

/// `[mapping]` as written by the user.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// Canonical attribute name (a dot path) → its spelling per provider.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeConfig>,
    /// Canonical attribute name → (canonical value → the iSpring value's name, or its
    /// id), e.g. country code → "Canada". An attribute listed here only accepts the
    /// values listed; names are resolved to ids in each account.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// A department's canonical name → its name in the iSpring accounts (or, where you
    /// insist, an account's department id). Departments not listed travel by their own
    /// name: "Sales EMEA" in one account is "Sales EMEA" in another.
    #[serde(default)]
    pub departments: BTreeMap<String, String>,
    /// A group's canonical name → its name (or id) in the iSpring accounts; unlisted
    /// groups travel by their own name.
    #[serde(default)]
    pub groups: BTreeMap<String, String>,
    /// Spellings of GoSquared operators no public source shows (see the README).
    #[serde(default)]
    pub gosquared_operators: GoSquaredOperatorsConfig,
    /// Most clauses a normal form may have before the rule is refused.
    #[serde(default)]
    pub max_clauses: Option<usize>,
    /// Readings of provider semantics no documentation states, confirmed by the user on
    /// their own account: each turned on stops costing fidelity.
    #[serde(default)]
    pub confirmed: Confirmed,
}

/// `[mapping.confirmed]`: provider readings sgsync infers, confirmed by the user. An
/// unconfirmed reading makes a translation that relies on it Lossy, with the reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Confirmed {
    /// iSpring profile-field rules mean what sgsync reads: `attributeId` is the Field
    /// ID, a listed field's value (a country) is the value's id, and text compares
    /// exactly, case-sensitively.
    #[serde(default)]
    pub ispring_field_rules: bool,
    /// GoSquared relative dates mean what their default group names suggest (`<` N
    /// days: earlier than N days ago; `><` past N days: within the last N days).
    #[serde(default)]
    pub gosquared_relative_dates: bool,
    /// A GoSquared group's top-level `filters` array selects people who match all of
    /// them (AND), as the dashboard suggests.
    #[serde(default)]
    pub gosquared_top_level_and: bool,
}

/// One canonical attribute's spelling per provider.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeConfig {
    /// GoSquared property path; defaults to the canonical name itself.
    pub gosquared: Option<String>,
    /// iSpring profile field id (`JOB_TITLE`, `COUNTRY`, `USER_DEFINED_FIELD3`, …).
    pub ispring_field: Option<String>,
}

/// User overrides for GoSquared operator spellings that rest on assumptions. A value
/// set here is trusted; an empty string means "GoSquared has no such operator".
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GoSquaredOperatorsConfig {
    pub equals: Option<String>,
    pub not_equals: Option<String>,
    pub not_contains: Option<String>,
    pub not_defined: Option<String>,
    /// The `key` of an OR node (`{"key": "or", "filters": […]}`).
    pub or: Option<String>,
}

/// How one GoSquared operator is spelled, and whether we know or merely assume it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spelling {
    pub text: String,
    /// True for a built-in guess no public source confirms; false when documented or
    /// set by the user.
    pub assumed: bool,
}

/// The resolved GoSquared operator table. `None`: the operator cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoSquaredOperators {
    pub equals: Option<Spelling>,
    pub not_equals: Option<Spelling>,
    pub not_contains: Option<Spelling>,
    pub not_defined: Option<Spelling>,
    pub or: Option<Spelling>,
}

impl GoSquaredOperators {
    /// Built-in guesses, each marked assumed (README: "Assumptions").
    pub const ASSUMED_EQUALS: &'static str = "==";
    pub const ASSUMED_NOT_EQUALS: &'static str = "!=";
    pub const ASSUMED_NOT_CONTAINS: &'static str = "!contains";
    pub const ASSUMED_NOT_DEFINED: &'static str = "!defined";
    pub const ASSUMED_OR: &'static str = "or";

    fn resolve(cfg: &GoSquaredOperatorsConfig) -> Result<Self, MappingError> {
        let pick = |key: &str,
                    user: &Option<String>,
                    default: &str|
         -> Result<Option<Spelling>, MappingError> {
            match user {
                None => Ok(Some(Spelling {
                    text: default.to_owned(),
                    assumed: true,
                })),
                Some(s) if s.is_empty() => Ok(None),
                Some(s) if s.trim() != s => Err(MappingError::new(
                    format!("mapping.gosquared_operators.{key}"),
                    "has leading or trailing white space",
                )),
                Some(s) => Ok(Some(Spelling {
                    text: s.clone(),
                    assumed: false,
                })),
            }
        };
        let table = GoSquaredOperators {
            equals: pick("equals", &cfg.equals, Self::ASSUMED_EQUALS)?,
            not_equals: pick("not_equals", &cfg.not_equals, Self::ASSUMED_NOT_EQUALS)?,
            not_contains: pick(
                "not_contains",
                &cfg.not_contains,
                Self::ASSUMED_NOT_CONTAINS,
            )?,
            not_defined: pick("not_defined", &cfg.not_defined, Self::ASSUMED_NOT_DEFINED)?,
            or: pick("or", &cfg.or, Self::ASSUMED_OR)?,
        };
        // A spelling may not shadow a documented one or another entry, or decoding
        // would be ambiguous.
        let mut seen: Vec<(&str, &str)> = ["contains", ">", "<", "><", "defined"]
            .into_iter()
            .map(|d| (d, "documented operators"))
            .collect();
        for (key, spelling) in [
            ("equals", &table.equals),
            ("not_equals", &table.not_equals),
            ("not_contains", &table.not_contains),
            ("not_defined", &table.not_defined),
        ] {
            if let Some(s) = spelling {
                if let Some((_, other)) = seen.iter().find(|(t, _)| *t == s.text) {
                    return Err(MappingError::new(
                        format!("mapping.gosquared_operators.{key}"),
                        format!("{:?} is already used by {other}", s.text),
                    ));
                }
                seen.push((&s.text, key));
            }
        }
        if let Some(or) = &table.or
            && ["property", "event", "triggered-event", "and"].contains(&or.text.as_str())
        {
            return Err(MappingError::new(
                "mapping.gosquared_operators.or",
                format!("{:?} is already a GoSquared filter key", or.text),
            ));
        }
        Ok(table)
    }
}

/// A mapping that failed validation: which key, and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{key}: {why}")]
pub struct MappingError {
    pub key: String,
    pub why: String,
}

impl MappingError {
    fn new(key: impl Into<String>, why: impl Into<String>) -> Self {
        MappingError {
            key: key.into(),
            why: why.into(),
        }
    }
}

/// How a canonical value is written for an iSpring profile field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IspringValue<'a> {
    /// Listed in the attribute's value map.
    Mapped(&'a str),
    /// The attribute has no value map: the value passes verbatim.
    Verbatim,
    /// The attribute has a value map that does not list this value.
    Unmapped,
}

/// A two-way map between canonical keys and one provider's spellings.
#[derive(Debug, Clone, Default, PartialEq)]
struct TwoWay {
    forward: HashMap<String, String>,
    backward: HashMap<String, String>,
}

impl TwoWay {
    fn build(
        key_prefix: &str,
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, MappingError> {
        let mut map = TwoWay::default();
        for (canonical, native) in pairs {
            let key = format!("{key_prefix}.{canonical}");
            if canonical.trim().is_empty() {
                return Err(MappingError::new(key_prefix, "has an empty name"));
            }
            if native.trim().is_empty() {
                return Err(MappingError::new(key, "is empty"));
            }
            if let Some(other) = map.backward.get(&native) {
                return Err(MappingError::new(
                    key,
                    format!(
                        "{native:?} is already mapped from {other:?}; the reverse direction would be ambiguous"
                    ),
                ));
            }
            map.backward.insert(native.clone(), canonical.clone());
            map.forward.insert(canonical, native);
        }
        Ok(map)
    }
}

/// Validated maps, ready for the dialects.
#[derive(Debug, Clone, PartialEq)]
pub struct Maps {
    gosquared_paths: TwoWay,
    ispring_fields: TwoWay,
    values: HashMap<String, TwoWay>,
    departments: TwoWay,
    groups: TwoWay,
    gosquared_operators: GoSquaredOperators,
    max_clauses: usize,
    confirmed: Confirmed,
}

impl Default for Maps {
    fn default() -> Self {
        // The empty config is valid by construction; fall back to a literal table
        // rather than unwrap so this can never panic.
        Maps::from_config(&MappingConfig::default()).unwrap_or_else(|_| Maps {
            gosquared_paths: TwoWay::default(),
            ispring_fields: TwoWay::default(),
            values: HashMap::new(),
            departments: TwoWay::default(),
            groups: TwoWay::default(),
            gosquared_operators: GoSquaredOperators {
                equals: None,
                not_equals: None,
                not_contains: None,
                not_defined: None,
                or: None,
            },
            max_clauses: DEFAULT_MAX_CLAUSES,
            confirmed: Confirmed::default(),
        })
    }
}

impl Maps {
    pub fn from_config(cfg: &MappingConfig) -> Result<Self, MappingError> {
        let gosquared_paths = TwoWay::build(
            "mapping.attributes",
            cfg.attributes
                .iter()
                .filter_map(|(name, a)| a.gosquared.clone().map(|p| (name.clone(), p))),
        )?;
        // An attribute renamed on GoSquared must not collide with another canonical
        // name that keeps its own name as its path.
        for (name, path) in &gosquared_paths.forward {
            if path != name
                && !gosquared_paths.forward.contains_key(path)
                && cfg.attributes.contains_key(path)
            {
                return Err(MappingError::new(
                    format!("mapping.attributes.{name}.gosquared"),
                    format!(
                        "{path:?} is also the canonical name of another attribute with no gosquared path of its own"
                    ),
                ));
            }
        }
        let ispring_fields = TwoWay::build(
            "mapping.attributes",
            cfg.attributes
                .iter()
                .filter_map(|(name, a)| a.ispring_field.clone().map(|f| (name.clone(), f))),
        )?;
        let mut values = HashMap::new();
        for (attribute, table) in &cfg.values {
            if !ispring_fields.forward.contains_key(attribute) {
                return Err(MappingError::new(
                    format!("mapping.values.{attribute}"),
                    "names no attribute with an ispring_field in [mapping.attributes]",
                ));
            }
            let prefix = format!("mapping.values.{attribute}");
            values.insert(
                attribute.clone(),
                TwoWay::build(&prefix, table.iter().map(|(k, v)| (k.clone(), v.clone())))?,
            );
        }
        let departments = TwoWay::build(
            "mapping.departments",
            cfg.departments.iter().map(|(k, v)| (k.clone(), v.clone())),
        )?;
        let groups = TwoWay::build(
            "mapping.groups",
            cfg.groups.iter().map(|(k, v)| (k.clone(), v.clone())),
        )?;
        let max_clauses = cfg.max_clauses.unwrap_or(DEFAULT_MAX_CLAUSES);
        if max_clauses == 0 || max_clauses > MAX_CLAUSES_CEILING {
            return Err(MappingError::new(
                "mapping.max_clauses",
                format!("must be between 1 and {MAX_CLAUSES_CEILING}, got {max_clauses}"),
            ));
        }
        Ok(Maps {
            gosquared_paths,
            ispring_fields,
            values,
            departments,
            groups,
            gosquared_operators: GoSquaredOperators::resolve(&cfg.gosquared_operators)?,
            max_clauses,
            confirmed: cfg.confirmed,
        })
    }

    /// The GoSquared path of a canonical attribute (the name itself unless mapped).
    pub fn gosquared_path<'a>(&'a self, canonical: &'a str) -> &'a str {
        self.gosquared_paths
            .forward
            .get(canonical)
            .map_or(canonical, String::as_str)
    }

    /// The canonical attribute of a GoSquared path (the path itself unless mapped).
    pub fn canonical_from_gosquared<'a>(&'a self, path: &'a str) -> &'a str {
        self.gosquared_paths
            .backward
            .get(path)
            .map_or(path, String::as_str)
    }

    /// The iSpring profile field of a canonical attribute, if mapped.
    pub fn ispring_field(&self, canonical: &str) -> Option<&str> {
        self.ispring_fields
            .forward
            .get(canonical)
            .map(String::as_str)
    }

    /// The canonical attribute of an iSpring profile field, if mapped.
    pub fn canonical_from_ispring_field(&self, field: &str) -> Option<&str> {
        self.ispring_fields.backward.get(field).map(String::as_str)
    }

    /// How `value` of canonical attribute `attribute` is written for iSpring.
    pub fn ispring_value<'a>(&'a self, attribute: &str, value: &str) -> IspringValue<'a> {
        match self.values.get(attribute) {
            None => IspringValue::Verbatim,
            Some(table) => table
                .forward
                .get(value)
                .map_or(IspringValue::Unmapped, |v| IspringValue::Mapped(v)),
        }
    }

    /// The canonical value of an iSpring value of `attribute`: `None` when the attribute
    /// has a value map that does not list it.
    pub fn canonical_value_from_ispring<'a>(
        &'a self,
        attribute: &str,
        value: &'a str,
    ) -> Option<&'a str> {
        match self.values.get(attribute) {
            None => Some(value),
            Some(table) => table.backward.get(value).map(String::as_str),
        }
    }

    /// How a canonical department is named in iSpring accounts: its name there (or an
    /// id the user insists on), from `mapping.departments`; the canonical name itself
    /// unless mapped.
    pub fn department_native<'a>(&'a self, canonical: &'a str) -> &'a str {
        self.departments
            .forward
            .get(canonical)
            .map_or(canonical, String::as_str)
    }

    /// The canonical department `mapping.departments` maps from `native` (a name or an
    /// id in an iSpring account), if it lists it.
    pub fn department_key_of(&self, native: &str) -> Option<&str> {
        self.departments.backward.get(native).map(String::as_str)
    }

    /// How a canonical group is named in iSpring accounts (`mapping.groups`).
    pub fn group_native<'a>(&'a self, canonical: &'a str) -> &'a str {
        self.groups
            .forward
            .get(canonical)
            .map_or(canonical, String::as_str)
    }

    /// The canonical group `mapping.groups` maps from `native`, if it lists it.
    pub fn group_key_of(&self, native: &str) -> Option<&str> {
        self.groups.backward.get(native).map(String::as_str)
    }

    /// Provider readings the user has confirmed (`[mapping.confirmed]`).
    pub fn confirmed(&self) -> Confirmed {
        self.confirmed
    }

    /// Every `mapping.departments` and `mapping.groups` entry: (config key, native).
    pub fn department_entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.departments
            .forward
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every `mapping.groups` entry: (canonical, native).
    pub fn group_entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.groups
            .forward
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every attribute with an iSpring field: (canonical, configured field).
    pub fn ispring_field_entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.ispring_fields
            .forward
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every listed value of an attribute: (canonical value, native).
    pub fn value_entries(&self, attribute: &str) -> Vec<(&str, &str)> {
        self.values
            .get(attribute)
            .map(|t| {
                t.forward
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// iSpring department id of a department key (the key itself unless mapped).
    pub fn department_id<'a>(&'a self, key: &'a str) -> &'a str {
        self.departments
            .forward
            .get(key)
            .map_or(key, String::as_str)
    }

    /// Department key of an iSpring department id (the id itself unless mapped).
    pub fn department_key<'a>(&'a self, id: &'a str) -> &'a str {
        self.departments.backward.get(id).map_or(id, String::as_str)
    }

    /// iSpring group id of a group key (the key itself unless mapped).
    pub fn group_id<'a>(&'a self, key: &'a str) -> &'a str {
        self.groups.forward.get(key).map_or(key, String::as_str)
    }

    /// Group key of an iSpring group id (the id itself unless mapped).
    pub fn group_key<'a>(&'a self, id: &'a str) -> &'a str {
        self.groups.backward.get(id).map_or(id, String::as_str)
    }

    pub fn gosquared_operators(&self) -> &GoSquaredOperators {
        &self.gosquared_operators
    }

    pub fn max_clauses(&self) -> usize {
        self.max_clauses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<Maps, String> {
        let cfg: MappingConfig = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        Maps::from_config(&cfg).map_err(|e| e.to_string())
    }

    #[test]
    fn maps_both_ways_with_identity_defaults() {
        let maps = parse(
            r#"
            [attributes.country]
            gosquared = "last.location.country.code"
            ispring_field = "COUNTRY"
            [values.country]
            CA = "124"
            [departments]
            Sales = "d-1"
            "#,
        )
        .unwrap();
        assert_eq!(maps.gosquared_path("country"), "last.location.country.code");
        assert_eq!(
            maps.canonical_from_gosquared("last.location.country.code"),
            "country"
        );
        assert_eq!(maps.gosquared_path("totals.visits"), "totals.visits");
        assert_eq!(maps.ispring_field("country"), Some("COUNTRY"));
        assert_eq!(
            maps.ispring_value("country", "CA"),
            IspringValue::Mapped("124")
        );
        assert_eq!(maps.ispring_value("country", "US"), IspringValue::Unmapped);
        assert_eq!(
            maps.canonical_value_from_ispring("country", "124"),
            Some("CA")
        );
        assert_eq!(maps.department_id("Sales"), "d-1");
        assert_eq!(maps.department_key("d-2"), "d-2");
        assert!(maps.gosquared_operators().equals.as_ref().unwrap().assumed);
    }

    #[test]
    fn errors_name_the_key() {
        let err =
            parse("[attributes.a]\nispring_field = \"F\"\n[attributes.b]\nispring_field = \"F\"")
                .unwrap_err();
        assert!(err.starts_with("mapping.attributes.b:"), "{err}");
        let err = parse("[values.nope]\nx = \"1\"").unwrap_err();
        assert!(err.starts_with("mapping.values.nope:"), "{err}");
        let err = parse("max_clauses = 0").unwrap_err();
        assert!(err.starts_with("mapping.max_clauses:"), "{err}");
        let err = parse("[gosquared_operators]\nequals = \"contains\"").unwrap_err();
        assert!(
            err.starts_with("mapping.gosquared_operators.equals:"),
            "{err}"
        );
        let err = parse("[attributes.a]\ngosquared_path = \"x\"").unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn user_spellings_are_trusted_and_empty_disables() {
        let maps = parse("[gosquared_operators]\nequals = \"is\"\nor = \"\"").unwrap();
        let ops = maps.gosquared_operators();
        assert_eq!(
            ops.equals,
            Some(Spelling {
                text: "is".into(),
                assumed: false
            })
        );
        assert_eq!(ops.or, None);
    }
}
