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
use sgsync_model::mapping::{IspringValue, Maps};
use sgsync_model::{
    Atom, Attribute, Condition, DepartmentScope, Findings, Literal, Op, Opaque, ProviderKind,
    Reason, Rule, SmartGroup, SourceGroup, Value, describe, describe_condition, to_cnf,
};

const DEPARTMENT: u8 = 1;
const GROUP: u8 = 2;
const PROFILE_FIELD: u8 = 3;
const OP_ONLY: u8 = 1;
const OP_WITH_DESCENDANTS: u8 = 2;

/// A group read from iSpring. The flat `getSmartGroupRules` answer lost its AND/OR
/// structure (ispring.md §3.4), so more than one rule (or none) is read with a doubt.
pub fn decode(g: &SmartGroupXml, maps: &Maps) -> SourceGroup {
    let mut uncertain = Vec::new();
    let rule = match &g.rules {
        Rules::Nested(clauses) => Rule::All(
            clauses
                .iter()
                .map(|c| Rule::Any(c.iter().map(|r| decode_rule(r, maps)).collect()))
                .collect(),
        ),
        Rules::Flat(rules) => {
            match rules.len() {
                0 => uncertain.push(Reason::new(
                    "rules",
                    "getSmartGroupRules returned no rules (flat SOAP read-back, iSpring's smart-group documentation); read as everyone, which iSpring cannot even express",
                )),
                1 => {}
                n => uncertain.push(Reason::new(
                    "rules",
                    format!(
                        "getSmartGroupRules returned {n} rules without their AND/OR structure (flat SOAP read-back, iSpring's smart-group documentation); read as all of them"
                    ),
                )),
            }
            Rule::All(
                rules
                    .iter()
                    .map(|r| Rule::Any(vec![decode_rule(r, maps)]))
                    .collect(),
            )
        }
    };
    SourceGroup {
        provider: crate::KIND,
        group: SmartGroup {
            id: g.id.clone(),
            name: g.name.clone().unwrap_or_default(),
            description: None,
            rule,
        },
        uncertain,
        assumed: Vec::new(),
    }
}

fn decode_rule(r: &WireRule, maps: &Maps) -> Rule {
    match read_rule(r, maps) {
        Ok(rule) => rule,
        Err(why) => Rule::Opaque(Opaque {
            dialect: crate::KIND,
            raw: r.to_fragment(),
            why,
        }),
    }
}

fn read_rule(r: &WireRule, maps: &Maps) -> Result<Rule, String> {
    let value = r.value.as_str();
    match (r.attribute_type, r.operator) {
        (DEPARTMENT, OP_ONLY | OP_WITH_DESCENDANTS) => {
            let scope = if r.operator == OP_ONLY {
                DepartmentScope::Only
            } else {
                DepartmentScope::WithDescendants
            };
            Ok(Rule::cond(
                Attribute::Department { scope },
                Op::Equals,
                Value::string(maps.department_key(value)),
            ))
        }
        (DEPARTMENT, op) => Err(format!(
            "department rule with operator {op}: iSpring documents only 1 (the department only) and 2 (with its sub-departments), iSpring's smart-group documentation"
        )),
        (GROUP, OP_ONLY) => Ok(Rule::cond(
            Attribute::Group,
            Op::Equals,
            Value::string(maps.group_key(value)),
        )),
        (GROUP, op) => Err(format!(
            "group rule with operator {op}: iSpring documents only 1 for groups, iSpring's smart-group documentation"
        )),
        (PROFILE_FIELD, OP_ONLY) => {
            let Some(field) = r.attribute_id.as_deref() else {
                return Err(
                    "profile-field rule without an attributeId: which field it tests is unknown"
                        .to_owned(),
                );
            };
            let Some(name) = maps.canonical_from_ispring_field(field) else {
                return Err(format!(
                    "iSpring profile field {field:?} is not mapped: set mapping.attributes.<name>.ispring_field = {field:?}"
                ));
            };
            let Some(v) = maps.canonical_value_from_ispring(name, value) else {
                return Err(format!(
                    "value {value:?} of iSpring profile field {field:?} is not listed in mapping.values.{name}"
                ));
            };
            Ok(Rule::cond(
                Attribute::Property(name.to_owned()),
                Op::Equals,
                Value::string(v),
            ))
        }
        (PROFILE_FIELD, op) => Err(format!(
            "profile-field rule with operator {op}: iSpring documents only 1 for profile fields, iSpring's smart-group documentation"
        )),
        (t, _) => Err(format!(
            "attributeType {t} is not documented (1 department, 2 group, 3 profile field; iSpring's smart-group documentation)"
        )),
    }
}

/// The add/update payload for `group`, and how faithful it is.
///
/// The rule goes to CNF (with the configured size guard); each clause becomes one
/// `<and>`. A clause holding any literal iSpring cannot state is left out whole, which
/// makes the iSpring group wider (Lossy); if nothing is left, or the rule is constant,
/// there is no payload (Impossible). `source` does not matter here: an opaque node
/// carries its own dialect, and only iSpring's are written back.
pub fn encode(
    group: &SmartGroup,
    _source: ProviderKind,
    maps: &Maps,
) -> (Option<SmartGroupPayload>, Findings) {
    let mut findings = Findings::default();
    if group.name.trim().is_empty() {
        findings.impossible(
            "name",
            "iSpring needs a non-empty smart group name (iSpring's smart-group documentation)",
        );
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
            findings.impossible("rule", e.to_string());
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
    let total = cnf.0.len();
    let mut clauses = Vec::with_capacity(total);
    for (i, clause) in cnf.0.iter().enumerate() {
        let mut wire = Vec::with_capacity(clause.len());
        let mut failed = Vec::new();
        for literal in clause {
            match literal_to_wire(literal, maps) {
                Ok(rule) => wire.push(rule),
                Err(why) => failed.push((literal, why)),
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
                    "{why}; its whole OR-group (clause {} of {total} in conjunctive normal form) is left out, so the iSpring group is wider than the source",
                    i + 1
                ),
            );
        }
    }
    if clauses.is_empty() {
        findings.impossible(
            "rule",
            "no condition of the rule can be written as an iSpring rule (see the reasons that follow)",
        );
        return (None, findings);
    }
    let payload = SmartGroupPayload {
        name: group.name.clone(),
        rules: clauses,
    };
    (Some(payload), findings)
}

/// One CNF literal as an iSpring rule, or why it cannot be one.
fn literal_to_wire(literal: &Literal, maps: &Maps) -> Result<WireRule, String> {
    if let Atom::Opaque(o) = &literal.atom {
        if literal.negated {
            return Err(
                "iSpring rules have no negation (iSpring's smart-group documentation), not even of a kept rule"
                    .to_owned(),
            );
        }
        if o.dialect != crate::KIND {
            return Err(format!(
                "an unrecognised {} condition can only be written back to {} ({})",
                o.dialect.display_name(),
                o.dialect.display_name(),
                o.why
            ));
        }
        // Written back exactly as it came, so it selects the same people.
        return WireRule::from_fragment(&o.raw)
            .map_err(|e| format!("the kept iSpring rule cannot be read back: {e}"));
    }
    match literal.as_condition() {
        Some(c) => condition_to_wire(&c, maps),
        None => {
            Err("iSpring rules have no negation (iSpring's smart-group documentation)".to_owned())
        }
    }
}

fn condition_to_wire(c: &Condition, maps: &Maps) -> Result<WireRule, String> {
    if let Attribute::Event { .. } = c.attribute {
        return Err(
            "iSpring rules cannot look at events (iSpring's smart-group documentation)".to_owned(),
        );
    }
    match c.op {
        Op::Equals => {}
        Op::NotEquals | Op::NotContains | Op::NotDefined => {
            return Err(
                "iSpring rules have no negation (iSpring's smart-group documentation)".to_owned(),
            );
        }
        Op::Contains => {
            return Err(
                "iSpring rules have no \"contains\", only equality (iSpring's smart-group documentation)".to_owned(),
            );
        }
        Op::Defined => {
            return Err(
                "iSpring rules have no \"is set\" (iSpring's smart-group documentation)".to_owned(),
            );
        }
        Op::Greater | Op::Less | Op::Between => {
            return Err(
                "iSpring rules have no numeric comparison (iSpring's smart-group documentation)"
                    .to_owned(),
            );
        }
        Op::WithinLast | Op::MoreThanAgo | Op::LessThanAgo => {
            return Err(
                "iSpring rules have no date comparison or time window (iSpring's smart-group documentation)".to_owned(),
            );
        }
    }
    let text = match &c.value {
        Value::String(s) => s.as_str(),
        Value::Number(_) | Value::Bool(_) => {
            return Err(
                "iSpring profile fields compare text: equality with a number or boolean selects other people (40 is not \"40\")"
                    .to_owned(),
            );
        }
        _ => return Err("equality needs a text operand".to_owned()),
    };
    let rule = match &c.attribute {
        Attribute::Department { scope } => {
            let id = maps.department_id(text);
            let back = maps.department_key(id);
            if back != text {
                return Err(format!(
                    "department {text:?} is not in mapping.departments, and {id:?} is the iSpring id of department {back:?}, so it would read back as that one"
                ));
            }
            WireRule {
                attribute_type: DEPARTMENT,
                attribute_id: None,
                operator: match scope {
                    DepartmentScope::Only => OP_ONLY,
                    DepartmentScope::WithDescendants => OP_WITH_DESCENDANTS,
                },
                value: id.to_owned(),
            }
        }
        Attribute::Group => {
            let id = maps.group_id(text);
            let back = maps.group_key(id);
            if back != text {
                return Err(format!(
                    "group {text:?} is not in mapping.groups, and {id:?} is the iSpring id of group {back:?}, so it would read back as that one"
                ));
            }
            WireRule {
                attribute_type: GROUP,
                attribute_id: None,
                operator: OP_ONLY,
                value: id.to_owned(),
            }
        }
        Attribute::Property(name) => {
            let Some(field) = maps.ispring_field(name) else {
                return Err(format!(
                    "attribute {name:?} has no iSpring profile field: set mapping.attributes.{name}.ispring_field"
                ));
            };
            let value = match maps.ispring_value(name, text) {
                IspringValue::Mapped(v) => v,
                IspringValue::Verbatim => text,
                IspringValue::Unmapped => {
                    return Err(format!(
                        "value {text:?} of {name:?} is not listed in mapping.values.{name}"
                    ));
                }
            };
            WireRule {
                attribute_type: PROFILE_FIELD,
                attribute_id: Some(field.to_owned()),
                operator: OP_ONLY,
                value: value.to_owned(),
            }
        }
        Attribute::Event { .. } => {
            return Err(
                "iSpring rules cannot look at events (iSpring's smart-group documentation)"
                    .to_owned(),
            );
        }
    };
    let carried = [rule.attribute_id.as_deref().unwrap_or(""), &rule.value];
    if let Some(bad) = carried.iter().find_map(|s| first_non_xml_char(s)) {
        return Err(format!(
            "contains U+{:04X}, which XML 1.0 cannot carry",
            u32::from(bad)
        ));
    }
    Ok(rule)
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

    fn decode(&self, text: &str) -> Result<Vec<SourceGroup>, sgsync_provider::DecodeError> {
        let groups = crate::wire::parse_groups(text).map_err(|e| sgsync_provider::DecodeError {
            provider: crate::KIND,
            why: e.to_string(),
        })?;
        Ok(groups.iter().map(|g| decode(g, &self.maps)).collect())
    }

    fn encode(
        &self,
        group: &SmartGroup,
        source: ProviderKind,
    ) -> (Option<sgsync_provider::Payload>, Findings) {
        let (payload, findings) = encode(group, source, &self.maps);
        (payload.map(crate::payload), findings)
    }
}

#[cfg(test)]
mod tests;
