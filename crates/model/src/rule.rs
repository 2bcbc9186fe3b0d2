//! The canonical rule tree every dialect decodes into and encodes from.
//!
//! A rule is a boolean tree over [`Condition`]s. Its meaning is fixed by
//! [`crate::evaluate`]: that function is the definition a translation is checked
//! against, so a change of meaning here is a change there, and the other way round.

use crate::ProviderKind;
use serde::Serialize;
use serde_json::Number;
use std::fmt;

/// A saved, rule-defined audience in canonical form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SmartGroup {
    /// The source provider's id for the group when the input carries one (GoSquared slug,
    /// iSpring UUID, emfluence `groupID`); it forms the stable key on targets.
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub rule: Rule,
}

/// A boolean tree of conditions. `All([])` selects everyone, `Any([])` no one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    All(Vec<Rule>),
    Any(Vec<Rule>),
    Not(Box<Rule>),
    Cond(Condition),
    /// A provider node we do not understand, kept verbatim so it is never dropped: only
    /// its own dialect can write it back, and [`crate::evaluate`] cannot decide it.
    Opaque(Opaque),
}

impl Rule {
    /// The rule that selects everyone.
    pub fn everyone() -> Self {
        Rule::All(Vec::new())
    }

    pub fn cond(attribute: Attribute, op: Op, value: Value) -> Self {
        Rule::Cond(Condition {
            attribute,
            op,
            value,
        })
    }

    /// Every leaf (condition or opaque node) with its path from the root, in order.
    pub fn leaves(&self) -> Vec<(RulePath, &Rule)> {
        fn walk<'a>(rule: &'a Rule, path: RulePath, out: &mut Vec<(RulePath, &'a Rule)>) {
            match rule {
                Rule::All(xs) => {
                    for (i, x) in xs.iter().enumerate() {
                        walk(x, path.child("all", i), out);
                    }
                }
                Rule::Any(xs) => {
                    for (i, x) in xs.iter().enumerate() {
                        walk(x, path.child("any", i), out);
                    }
                }
                Rule::Not(x) => walk(x, path.not(), out),
                Rule::Cond(_) | Rule::Opaque(_) => out.push((path, rule)),
            }
        }
        let mut out = Vec::new();
        walk(self, RulePath::root(), &mut out);
        out
    }
}

/// Where a node sits in a canonical rule, e.g. `rule.all[2].any[0]`; used to name the
/// condition a fidelity reason is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulePath(String);

impl RulePath {
    pub fn root() -> Self {
        RulePath("rule".to_owned())
    }
    pub fn child(&self, kind: &str, index: usize) -> Self {
        RulePath(format!("{}.{kind}[{index}]", self.0))
    }
    pub fn not(&self) -> Self {
        RulePath(format!("{}.not", self.0))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RulePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A provider node kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Opaque {
    /// The dialect the node came from: the only one that may write it back.
    pub dialect: ProviderKind,
    /// The account it came from (its directory's id): where its raw text names ids, only
    /// that account may have it written back.
    pub account: String,
    /// The node exactly as the provider sent it (compact JSON, or an XML fragment).
    pub raw: String,
    /// Why the node could not be understood, for fidelity reasons and messages.
    pub why: String,
    /// It could not be understood because the account's directory could not be read:
    /// a unit that needs it fails (with `why`) instead of being judged on a guess.
    pub unavailable: bool,
}

/// `attribute op value`, e.g. `last.seen MoreThanAgo 35 days`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Condition {
    pub attribute: Attribute,
    pub op: Op,
    pub value: Value,
}

/// What a condition looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribute {
    /// A person property by canonical name: a dot path into the person object
    /// (`last.location.country.code`). GoSquared paths are canonical names unless the
    /// attribute map says otherwise.
    Property(String),
    /// A derived value of a named event: when it last or first happened, or how often.
    Event { name: String, field: EventField },
    /// Membership of a department (value: department key), with or without its
    /// sub-departments.
    Department { scope: DepartmentScope },
    /// Membership of a group (value: group key).
    Group,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventField {
    /// Time of the most recent occurrence.
    Last,
    /// Time of the first occurrence.
    First,
    /// Number of occurrences.
    Count,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DepartmentScope {
    /// The department itself, not its sub-departments.
    Only,
    /// The department and all of its descendants.
    WithDescendants,
}

/// Operators. Their meaning is documented on [`crate::evaluate`]; every `Not…`
/// operator is exactly the negation of its positive twin, for every profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    Greater,
    Less,
    Between,
    Defined,
    NotDefined,
    /// A time within the last N days: `now − N days ≤ t ≤ now`.
    WithinLast,
    /// A time more than N days ago: `t < now − N days`.
    MoreThanAgo,
    /// A time less than N days ago, or in the future: `t > now − N days`.
    LessThanAgo,
}

impl Op {
    /// The operator that is exactly this one's negation, where one exists.
    pub fn negated(self) -> Option<Op> {
        Some(match self {
            Op::Equals => Op::NotEquals,
            Op::NotEquals => Op::Equals,
            Op::Contains => Op::NotContains,
            Op::NotContains => Op::Contains,
            Op::Defined => Op::NotDefined,
            Op::NotDefined => Op::Defined,
            _ => return None,
        })
    }

    /// Whether this operator is a `Not…` form of another.
    pub fn is_negative(self) -> bool {
        matches!(self, Op::NotEquals | Op::NotContains | Op::NotDefined)
    }
}

/// The right-hand side of a condition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// No operand (`Defined`, `NotDefined`).
    None,
    String(String),
    /// A JSON number, kept as written (integer or float) so it re-encodes as it came.
    Number(Number),
    Bool(bool),
    /// A relative duration in whole days (`WithinLast`, `MoreThanAgo`, `LessThanAgo`).
    Days(u32),
    /// An inclusive numeric range (`Between`).
    Range(Number, Number),
}

impl Value {
    pub fn string(s: impl Into<String>) -> Self {
        Value::String(s.into())
    }

    pub fn int(n: i64) -> Self {
        Value::Number(Number::from(n))
    }
}
