//! iSpring Learn smart-group rules ↔ the canonical model (`../shared/providers/ispring.md`
//! §3.1 rule structure, §3.4 flat read-back). Pure: no I/O.
//!
//! iSpring rules are CNF over three kinds of equality (§3.1): department membership
//! (type 1; operator 1 the department only, 2 with its descendants), group membership
//! (type 2) and "profile field equals text" (type 3). There is no negation, no contains,
//! no comparison, no "is set" and no event. Decoding is deterministic — always
//! `All(Any(…)…)`, one `Any` per `<and>` — so decode → encode → decode is a fixed point.
//! A rule we cannot read becomes an [`Opaque`] node holding its XML fragment, which only
//! this dialect writes back, verbatim.

use crate::wire::{Rules, SmartGroupPayload, SmartGroupXml, WireRule, first_non_xml_char};
use sgsync_model::directory::{Field, Resolved};
use sgsync_model::mapping::{IspringValue, Maps};
use sgsync_model::{
    Atom, Attribute, Condition, DepartmentScope, Directory, Findings, Literal, Op, Opaque,
    ProviderKind, Reason, Rule, SmartGroup, SourceGroup, Value, describe, describe_condition,
    to_cnf,
};

const DEPARTMENT: u8 = 1;
const GROUP: u8 = 2;
const PROFILE_FIELD: u8 = 3;
const OP_ONLY: u8 = 1;
const OP_WITH_DESCENDANTS: u8 = 2;

/// Why a profile-field rule costs fidelity between dialects unless confirmed.
const FIELD_RULES: &str = "sgsync's reading of iSpring profile-field rules (attributeId is the Field ID, a listed value such as a country is its id, text compares exactly and case-sensitively) is not documented; set mapping.confirmed.ispring_field_rules = true once checked on your account";

/// A group read without an account (a file): ids are kept as they are. See
/// [`decode_in`].
pub fn decode(g: &SmartGroupXml, maps: &Maps) -> SourceGroup {
    decode_in(g, maps, &Directory::none())
}

/// `group` (read from `source`) for no particular account, ids written as they came
/// (as if source and target were one account). See [`encode_for`].
pub fn encode(
    group: &SmartGroup,
    source: ProviderKind,
    maps: &Maps,
) -> (Option<SmartGroupPayload>, Findings) {
    encode_for(
        &SourceGroup::certain(source, group.clone()),
        maps,
        &Directory::none(),
    )
}

/// A group read from iSpring, its ids named through `directory` (the account it came
/// from). The flat `getSmartGroupRules` answer lost its AND/OR structure (§3.4), and a
/// shape iSpring does not document is read by inference, so such groups carry a doubt.
pub fn decode_in(g: &SmartGroupXml, maps: &Maps, directory: &Directory) -> SourceGroup {
    let mut uncertain: Vec<Reason> = g
        .inferred
        .iter()
        .map(|note| Reason::new("rules", note.clone()))
        .collect();
    let read = |r: &WireRule| decode_rule(r, maps, directory);
    let rule = match &g.rules {
        Rules::Nested(clauses) => Rule::All(
            clauses
                .iter()
                .map(|c| Rule::Any(c.iter().map(read).collect()))
                .collect(),
        ),
        Rules::Flat(rules) => {
            match rules.len() {
                0 => uncertain.push(Reason::new(
                    "rules",
                    "the SOAP read-back returned no rules; read as everyone, which iSpring cannot even express (set rest_url to read rules with their structure)",
                )),
                1 => {}
                n => uncertain.push(Reason::new(
                    "rules",
                    format!(
                        "the SOAP read-back returned {n} rules without their AND/OR structure; read as all of them (set rest_url to read the structure)"
                    ),
                )),
            }
            Rule::All(rules.iter().map(|r| Rule::Any(vec![read(r)])).collect())
        }
    };
    let all_rules = match &g.rules {
        Rules::Nested(clauses) => clauses.iter().flatten().collect::<Vec<_>>(),
        Rules::Flat(rules) => rules.iter().collect(),
    };
    let mut assumed = Vec::new();
    if !maps.confirmed().ispring_field_rules
        && all_rules.iter().any(|r| r.attribute_type == PROFILE_FIELD)
    {
        assumed.push(Reason::new("rules (profile field)", FIELD_RULES));
    }
    SourceGroup {
        provider: crate::KIND,
        account: directory.id.clone(),
        group: SmartGroup {
            id: g.id.clone(),
            name: g.name.clone().unwrap_or_default(),
            description: None,
            rule,
        },
        uncertain,
        assumed,
    }
}

/// Why a rule could not be read: plainly unreadable, or unreadable because the
/// account's directory could not be read (then the unit fails rather than guess).
enum Unread {
    Why(String),
    Unavailable(String),
}

fn decode_rule(r: &WireRule, maps: &Maps, directory: &Directory) -> Rule {
    match read_rule(r, maps, directory) {
        Ok(rule) => rule,
        Err(unread) => {
            let (why, unavailable) = match unread {
                Unread::Why(why) => (why, false),
                Unread::Unavailable(why) => (why, true),
            };
            Rule::Opaque(Opaque {
                dialect: crate::KIND,
                account: directory.id.clone(),
                raw: r.to_fragment(),
                why,
                unavailable,
            })
        }
    }
}

/// The canonical name of an id the directory lists: its name there, mapped back
/// through `canonical` (a `[mapping]` table read backwards), by name or, where the
/// user insisted on ids, by id.
fn named<'a>(
    directory: &'a Directory,
    id: &'a str,
    name_of: impl Fn(&'a Directory, &str) -> Option<&'a str>,
    canonical: impl Fn(&'a str) -> Option<&'a str>,
    what: &str,
) -> Result<String, Unread> {
    if let Some(why) = directory.failure() {
        return Err(Unread::Unavailable(format!(
            "the directory of {} could not be read ({why}), so {what} {id} cannot be named",
            directory.account
        )));
    }
    if !directory.is_read() {
        // No account (a file): the id is all there is.
        return Ok(canonical(id).unwrap_or(id).to_owned());
    }
    match name_of(directory, id) {
        Some(name) => Ok(canonical(name)
            .or_else(|| canonical(id))
            .unwrap_or(name)
            .to_owned()),
        None => Err(Unread::Why(format!(
            "{what} {id} is not in the directory of {}; kept as it is, for that account only",
            directory.account
        ))),
    }
}

fn read_rule(r: &WireRule, maps: &Maps, directory: &Directory) -> Result<Rule, Unread> {
    let value = r.value.as_str();
    match (r.attribute_type, r.operator) {
        (DEPARTMENT, OP_ONLY | OP_WITH_DESCENDANTS) => {
            let scope = if r.operator == OP_ONLY {
                DepartmentScope::Only
            } else {
                DepartmentScope::WithDescendants
            };
            let name = named(
                directory,
                value,
                |d, id| d.department_name(id),
                |native| maps.department_key_of(native),
                "department",
            )?;
            Ok(Rule::cond(
                Attribute::Department { scope },
                Op::Equals,
                Value::string(name),
            ))
        }
        (DEPARTMENT, op) => Err(Unread::Why(format!(
            "a department rule with operator {op}: iSpring documents only 1 (the department only) and 2 (with its sub-departments)"
        ))),
        (GROUP, OP_ONLY) => {
            let name = named(
                directory,
                value,
                |d, id| d.group_name(id),
                |native| maps.group_key_of(native),
                "group",
            )?;
            Ok(Rule::cond(
                Attribute::Group,
                Op::Equals,
                Value::string(name),
            ))
        }
        (GROUP, op) => Err(Unread::Why(format!(
            "a group rule with operator {op}: iSpring documents only 1 for groups"
        ))),
        (PROFILE_FIELD, OP_ONLY) => read_field_rule(r, maps, directory),
        (PROFILE_FIELD, op) => Err(Unread::Why(format!(
            "a profile-field rule with operator {op}: iSpring documents only 1 for profile fields"
        ))),
        (t, _) => Err(Unread::Why(format!(
            "attributeType {t} is not one iSpring documents (1 department, 2 group, 3 profile field)"
        ))),
    }
}

fn read_field_rule(r: &WireRule, maps: &Maps, directory: &Directory) -> Result<Rule, Unread> {
    let Some(field_id) = r.attribute_id.as_deref() else {
        return Err(Unread::Why(
            "a profile-field rule without an attributeId: which field it tests is unknown"
                .to_owned(),
        ));
    };
    let listed: Option<&Field> = match directory.field(field_id) {
        Ok(field) => field,
        Err(Resolved::Unavailable(why)) => {
            return Err(Unread::Unavailable(format!(
                "the directory of {} could not be read ({why}), so profile field {field_id} cannot be checked",
                directory.account
            )));
        }
        Err(_) => {
            return Err(Unread::Why(format!(
                "profile field {field_id} is not in the directory of {}",
                directory.account
            )));
        }
    };
    // The mapping may name the field by its id, name or label.
    let names: Vec<&str> = std::iter::once(field_id)
        .chain(
            listed
                .iter()
                .flat_map(|f| f.names.iter().map(String::as_str)),
        )
        .collect();
    let Some(name) = names
        .iter()
        .find_map(|n| maps.canonical_from_ispring_field(n))
    else {
        return Err(Unread::Why(format!(
            "iSpring profile field {field_id} is not mapped: set mapping.attributes.<name>.ispring_field = \"{field_id}\""
        )));
    };
    let value = r.value.as_str();
    // A field that lists its values (a country) holds the value's id: named through the
    // directory, then mapped back by name or by id.
    let shown = listed.and_then(|f| directory.field_value_name(f, value));
    let canonical = shown
        .and_then(|n| maps.canonical_value_from_ispring(name, n))
        .or_else(|| maps.canonical_value_from_ispring(name, value));
    let Some(v) = canonical else {
        return Err(Unread::Why(format!(
            "value {} of profile field {field_id} is not listed in mapping.values.{name}",
            shown.unwrap_or(value)
        )));
    };
    Ok(Rule::cond(
        Attribute::Property(name.to_owned()),
        Op::Equals,
        Value::string(v),
    ))
}

/// The add/update payload for `source` in the account whose directory is `directory`,
/// and how faithful it is.
///
/// The rule goes to CNF (with the configured size guard); each clause becomes one
/// `<and>`. A clause holding any literal iSpring cannot state is left out whole, which
/// makes the iSpring group wider (Lossy); if nothing is left, or the rule is constant,
/// there is no payload (Impossible). Names become this account's ids; a name it does
/// not list is such a literal, never a copied id.
pub fn encode_for(
    source: &SourceGroup,
    maps: &Maps,
    directory: &Directory,
) -> (Option<SmartGroupPayload>, Findings) {
    let group = &source.group;
    let mut findings = Findings::default();
    if group.name.trim().is_empty() {
        findings.impossible("name", "iSpring needs a non-empty smart group name");
        return (None, findings);
    }
    if let Some(c) = first_non_xml_char(&group.name) {
        findings.impossible(
            "name",
            format!(
                "contains U+{:04X}, which XML 1.0 cannot carry",
                u32::from(c)
            ),
        );
        return (None, findings);
    }
    let cnf = match to_cnf(&group.rule, maps.max_clauses()) {
        Ok(cnf) => cnf,
        Err(e) => {
            findings.impossible(
                "rule",
                format!("{e} (raise mapping.max_clauses to allow a larger rule)"),
            );
            return (None, findings);
        }
    };
    if cnf.0.is_empty() {
        findings.impossible(
            "rule",
            "iSpring rules need at least one condition; the source selects everyone",
        );
        return (None, findings);
    }
    if cnf.0.iter().any(|clause| clause.is_empty()) {
        findings.impossible(
            "rule",
            "the source selects no one, which no iSpring rule can state",
        );
        return (None, findings);
    }
    let writer = Writer {
        maps,
        directory,
        // Ids and kept nodes mean something in their own account only.
        same_account: source.account == directory.id,
    };
    let total = cnf.0.len();
    let mut clauses = Vec::with_capacity(total);
    for (i, clause) in cnf.0.iter().enumerate() {
        let mut wire = Vec::with_capacity(clause.len());
        let mut failed = Vec::new();
        for literal in clause {
            match writer.literal(literal) {
                Ok(rule) => wire.push(rule),
                Err(Unread::Unavailable(why)) => {
                    findings.unavailable(locate(&group.rule, literal), why)
                }
                Err(Unread::Why(why)) => failed.push((literal, why)),
            }
        }
        if failed.is_empty() {
            clauses.push(wire);
            continue;
        }
        for (literal, why) in failed {
            findings.lossy(
                locate(&group.rule, literal),
                format!(
                    "{why}; clause {} of {total} is left out, so the iSpring group is wider",
                    i + 1
                ),
            );
        }
    }
    if clauses.is_empty() {
        findings.impossible(
            "rule",
            "no condition of the rule can be written as an iSpring rule (reasons below)",
        );
        return (None, findings);
    }
    let writes_fields = clauses
        .iter()
        .flatten()
        .any(|r| r.attribute_type == PROFILE_FIELD);
    if writes_fields && source.provider != crate::KIND && !maps.confirmed().ispring_field_rules {
        findings.lossy("rule (profile field)", FIELD_RULES);
    }
    let payload = SmartGroupPayload {
        name: group.name.clone(),
        rules: clauses,
    };
    (Some(payload), findings)
}

/// Writes literals for one account.
struct Writer<'a> {
    maps: &'a Maps,
    directory: &'a Directory,
    same_account: bool,
}

impl Writer<'_> {
    /// One CNF literal as an iSpring rule, or why it cannot be one.
    fn literal(&self, literal: &Literal) -> Result<WireRule, Unread> {
        if let Atom::Opaque(o) = &literal.atom {
            if o.unavailable {
                return Err(Unread::Unavailable(o.why.clone()));
            }
            if literal.negated {
                return Err(Unread::Why(
                    "iSpring rules have no negation, not even of a kept rule".to_owned(),
                ));
            }
            if o.dialect != crate::KIND {
                return Err(Unread::Why(format!(
                    "an unrecognised {} condition can only be written back to {} ({})",
                    o.dialect.display_name(),
                    o.dialect.display_name(),
                    o.why
                )));
            }
            if o.account != self.directory.id {
                return Err(Unread::Why(format!(
                    "an unread rule of another iSpring account names that account's ids, so it is not copied into {} ({})",
                    self.directory.account, o.why
                )));
            }
            // Written back exactly as it came, so it selects the same people.
            return WireRule::from_fragment(&o.raw).map_err(|e| {
                Unread::Why(format!("the kept iSpring rule cannot be read back: {e}"))
            });
        }
        match literal.as_condition() {
            Some(c) => self.condition(&c),
            None => Err(Unread::Why("iSpring rules have no negation".to_owned())),
        }
    }

    fn condition(&self, c: &Condition) -> Result<WireRule, Unread> {
        let why = |s: &str| Err(Unread::Why(s.to_owned()));
        if let Attribute::Event { .. } = c.attribute {
            return why("iSpring rules cannot look at events");
        }
        match c.op {
            Op::Equals => {}
            Op::NotEquals | Op::NotContains | Op::NotDefined => {
                return why("iSpring rules have no negation");
            }
            Op::Contains => return why("iSpring rules have no \"contains\", only equality"),
            Op::Defined => return why("iSpring rules have no \"is set\""),
            Op::Greater | Op::Less | Op::Between => {
                return why("iSpring rules have no numeric comparison");
            }
            Op::WithinLast | Op::MoreThanAgo | Op::LessThanAgo => {
                return why("iSpring rules have no date comparison or time window");
            }
        }
        let text = match &c.value {
            Value::String(s) => s.as_str(),
            Value::Number(_) | Value::Bool(_) => {
                return why(
                    "iSpring profile fields compare text: equality with a number or boolean selects other people (40 is not \"40\")",
                );
            }
            _ => return why("equality needs a text operand"),
        };
        let rule = match &c.attribute {
            Attribute::Department { scope } => {
                let native = self.maps.department_native(text);
                let id = self.id_of(
                    self.directory.department(native),
                    "department",
                    text,
                    "mapping.departments",
                    || self.maps.department_key_of(native).unwrap_or(native),
                )?;
                WireRule {
                    attribute_type: DEPARTMENT,
                    attribute_id: None,
                    operator: match scope {
                        DepartmentScope::Only => OP_ONLY,
                        DepartmentScope::WithDescendants => OP_WITH_DESCENDANTS,
                    },
                    value: id,
                }
            }
            Attribute::Group => {
                let native = self.maps.group_native(text);
                let id = self.id_of(
                    self.directory.group(native),
                    "group",
                    text,
                    "mapping.groups",
                    || self.maps.group_key_of(native).unwrap_or(native),
                )?;
                WireRule {
                    attribute_type: GROUP,
                    attribute_id: None,
                    operator: OP_ONLY,
                    value: id,
                }
            }
            Attribute::Property(name) => self.field_rule(name, text)?,
            Attribute::Event { .. } => return why("iSpring rules cannot look at events"),
        };
        let carried = [rule.attribute_id.as_deref().unwrap_or(""), &rule.value];
        if let Some(bad) = carried.iter().find_map(|s| first_non_xml_char(s)) {
            return Err(Unread::Why(format!(
                "contains U+{:04X}, which XML 1.0 cannot carry",
                u32::from(bad)
            )));
        }
        Ok(rule)
    }

    /// This account's id for a department or group called `text` (after the mapping),
    /// or why there is none. `back` is what the written id would read back as, where no
    /// directory can check it.
    fn id_of<'b>(
        &self,
        resolved: Resolved<'b>,
        what: &str,
        text: &str,
        key: &str,
        back: impl Fn() -> &'b str,
    ) -> Result<String, Unread> {
        let account = &self.directory.account;
        match resolved {
            Resolved::Id(id) => Ok(id.to_owned()),
            Resolved::Missing { closest } => Err(Unread::Why(format!(
                "{what} \"{text}\" is not in {account}{}; name it there, or map it in {key}",
                did_you_mean(&closest)
            ))),
            Resolved::Ambiguous { ids } => Err(Unread::Why(format!(
                "{} {what}s are called \"{text}\" in {account}; rename one, or map it to an id in {key}",
                ids.len()
            ))),
            Resolved::Unavailable(why) => Err(Unread::Unavailable(format!(
                "the directory of {account} could not be read ({why})"
            ))),
            // Nothing to check against (no account): only a group from this same
            // "account" may carry its values as they are.
            Resolved::Unchecked if !self.same_account => Err(Unread::Why(format!(
                "{what} \"{text}\" cannot be checked against {account} (its directory was not read)"
            ))),
            Resolved::Unchecked => {
                let native = match what {
                    "department" => self.maps.department_native(text),
                    _ => self.maps.group_native(text),
                };
                let read_back = back();
                if read_back != text {
                    return Err(Unread::Why(format!(
                        "{what} \"{text}\" is not in {key}, and \"{native}\" is mapped from {what} \"{read_back}\", so it would read back as that one"
                    )));
                }
                Ok(native.to_owned())
            }
        }
    }

    fn field_rule(&self, name: &str, text: &str) -> Result<WireRule, Unread> {
        let account = &self.directory.account;
        let Some(configured) = self.maps.ispring_field(name) else {
            return Err(Unread::Why(format!(
                "attribute \"{name}\" has no iSpring profile field: set mapping.attributes.{name}.ispring_field"
            )));
        };
        let value = match self.maps.ispring_value(name, text) {
            IspringValue::Mapped(v) => v,
            IspringValue::Verbatim => text,
            IspringValue::Unmapped => {
                return Err(Unread::Why(format!(
                    "value \"{text}\" of \"{name}\" is not listed in mapping.values.{name}"
                )));
            }
        };
        let field = match self.directory.field(configured) {
            Ok(field) => field,
            Err(Resolved::Unavailable(why)) => {
                return Err(Unread::Unavailable(format!(
                    "the directory of {account} could not be read ({why})"
                )));
            }
            Err(Resolved::Missing { closest }) => {
                return Err(Unread::Why(format!(
                    "profile field \"{configured}\" is not in {account}{}; fix mapping.attributes.{name}.ispring_field",
                    did_you_mean(&closest)
                )));
            }
            Err(_) => {
                return Err(Unread::Why(format!(
                    "profile field \"{configured}\" cannot be found in {account}"
                )));
            }
        };
        let (attribute_id, value) = match field {
            // A listed field: its id, and the listed value's id.
            Some(f) => {
                let value = match self.directory.field_value(f, value) {
                    Resolved::Id(id) => id.to_owned(),
                    Resolved::Unchecked => value.to_owned(),
                    Resolved::Missing { closest } => {
                        return Err(Unread::Why(format!(
                            "\"{value}\" is not a value profile field \"{configured}\" lists in {account}{}; fix mapping.values.{name}",
                            did_you_mean(&closest)
                        )));
                    }
                    Resolved::Ambiguous { .. } => {
                        return Err(Unread::Why(format!(
                            "\"{value}\" names several values of profile field \"{configured}\" in {account}; map it to the value's id in mapping.values.{name}"
                        )));
                    }
                    Resolved::Unavailable(why) => {
                        return Err(Unread::Unavailable(format!(
                            "the directory of {account} could not be read ({why})"
                        )));
                    }
                };
                (f.id.clone(), value)
            }
            // No account to check against: as configured.
            None => (configured.to_owned(), value.to_owned()),
        };
        Ok(WireRule {
            attribute_type: PROFILE_FIELD,
            attribute_id: Some(attribute_id),
            operator: OP_ONLY,
            value,
        })
    }
}

/// `" (did you mean "A" or "B"?)"`, or nothing.
fn did_you_mean(closest: &[&str]) -> String {
    match closest {
        [] => String::new(),
        names => format!(
            " (closest: {})",
            names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Where a CNF literal came from in the original rule, with its words: the first leaf
/// stating the same atom, preferring one of the same polarity (`x ∧ ¬x` names the `¬x`
/// for the negated literal).
fn locate(rule: &Rule, literal: &Literal) -> String {
    let leaves = rule.leaves();
    for same_polarity in [true, false] {
        for (path, leaf) in &leaves {
            // Each `not` on the way flips the polarity, and so does a `Not…` operator.
            let mut negated = path.as_str().matches(".not").count() % 2 == 1;
            let found = match (leaf, &literal.atom) {
                (Rule::Cond(c), Atom::Cond(atom)) if same_atom(c, atom) => {
                    negated ^= c.op.is_negative();
                    Some(describe_condition(c))
                }
                (Rule::Opaque(o), Atom::Opaque(atom)) if o == atom => Some(describe(leaf)),
                _ => None,
            };
            if let Some(words) = found
                && (!same_polarity || negated == literal.negated)
            {
                return format!("{path} ({words})");
            }
        }
    }
    format!("rule ({})", describe(&literal.to_rule()))
}

/// `leaf` states `atom` (a condition with a positive operator) or its `Not…` twin.
fn same_atom(leaf: &Condition, atom: &Condition) -> bool {
    leaf.attribute == atom.attribute
        && leaf.value == atom.value
        && (leaf.op == atom.op || (leaf.op.is_negative() && leaf.op.negated() == Some(atom.op)))
}

/// This provider's dialect, translating with one account's maps.
pub struct IspringDialect {
    maps: std::sync::Arc<sgsync_model::mapping::Maps>,
}

impl IspringDialect {
    pub fn new(maps: std::sync::Arc<sgsync_model::mapping::Maps>) -> Self {
        IspringDialect { maps }
    }
}

impl sgsync_provider::Dialect for IspringDialect {
    fn kind(&self) -> ProviderKind {
        crate::KIND
    }

    fn decode(
        &self,
        text: &str,
        directory: &sgsync_model::Directory,
    ) -> Result<Vec<SourceGroup>, sgsync_provider::DecodeError> {
        let groups = crate::wire::parse_groups(text).map_err(|e| sgsync_provider::DecodeError {
            provider: crate::KIND,
            why: e.to_string(),
        })?;
        Ok(groups
            .iter()
            .map(|g| decode_in(g, &self.maps, directory))
            .collect())
    }

    fn encode(
        &self,
        source: &SourceGroup,
        directory: &sgsync_model::Directory,
    ) -> (Option<sgsync_provider::Payload>, Findings) {
        let (payload, findings) = encode_for(source, &self.maps, directory);
        (payload.map(crate::payload), findings)
    }

    fn check_mapping(&self, directory: &sgsync_model::Directory) -> Vec<String> {
        check::mapping_problems(&self.maps, directory)
    }

    /// A plain group with the name only (§10.2): its members are written separately.
    /// `None` for a name iSpring cannot carry (empty, or a character XML cannot hold).
    fn static_shell(&self, source: &SourceGroup) -> Option<sgsync_provider::Payload> {
        let name = &source.group.name;
        if name.trim().is_empty() || first_non_xml_char(name).is_some() {
            return None;
        }
        Some(crate::static_payload(crate::wire::StaticGroupPayload {
            name: name.clone(),
        }))
    }
}

mod check;

#[cfg(test)]
mod tests;
