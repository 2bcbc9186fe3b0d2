//! The meaning of a rule: which people it selects.
//!
//! [`evaluate`] is the definition every translation is verified against. Providers
//! document little about their own semantics (see `../shared/providers/`), so this file
//! states ours; the README lists where a dialect's mapping onto it rests on an assumption.

use super::rule::{Attribute, Condition, DepartmentScope, EventField, Op, Rule, Value};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

const DAY_MS: i64 = 86_400_000;

/// One person as the evaluator sees them: the union of what the providers know.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// The person object (JSON), looked up by dot path.
    pub properties: serde_json::Map<String, Json>,
    /// Every occurrence of each named event.
    pub events: BTreeMap<String, Vec<Millis>>,
    /// Department keys from the root to the person's own department; empty for none.
    pub department_path: Vec<String>,
    /// Keys of the groups the person belongs to.
    pub groups: BTreeSet<String>,
}

/// Whether `rule` selects the person described by `profile` at time `now`.
///
/// Returns `None` when the answer depends on an [`Rule::Opaque`] node, whose meaning we
/// do not know; `All`, `Any` and `Not` combine such unknowns by Kleene's three-valued
/// logic, so `All([false, unknown])` is still `Some(false)`.
///
/// Operators, where `p` is the attribute's value for the person:
/// - **Missing**: a property path that does not resolve, or resolves to JSON `null`, is
///   missing. Every positive operator is false on a missing value, so every `Not…`
///   operator is true on it (`NotEquals`, `NotContains`, `NotDefined` are exactly the
///   negations of `Equals`, `Contains`, `Defined`).
/// - **`Defined`**: `p` is present and not `null` (an empty string counts as defined).
///   On an event: it happened at least once. On `Department`: the person has one. On
///   `Group`: the person belongs to any group.
/// - **`Equals`**: same JSON type and same value. Strings compare exactly
///   (case-sensitive, no trimming); numbers numerically (`40` equals `40.0`); a number
///   never equals a numeric string (`40` ≠ `"40"`). When `p` is an array, any element
///   may equal. On `Department`: the person's own department is the key (`Only`) or the
///   key is on the path from the root to it (`WithDescendants`). On `Group`: the person
///   is in the group with that key.
/// - **`Contains`**: `p` is a string that contains the operand, ignoring case (Unicode
///   lower-casing of both sides); for an array `p`, any string element may contain it.
/// - **`Greater`, `Less`, `Between`** (inclusive bounds): numeric. `p` may be a number
///   or a string that parses as a finite decimal number after trimming (`" 1000"`), and
///   so may the operand; anything else is false.
/// - **`WithinLast N`**: `now − N days ≤ t ≤ now`; **`MoreThanAgo N`**: `t < now − N
///   days`; **`LessThanAgo N`**: `t > now − N days` (future times included). A day is
///   exactly 86 400 000 ms. `t` is `p` read as a time: a number is epoch milliseconds, a
///   string is RFC 3339; anything else is false. On an event, `t` is its `Last` or
///   `First` occurrence.
/// - An operator applied to an attribute or operand it does not fit (a `Contains` on a
///   department, a `Days` operand to `Equals`) is false, and its `Not…` twin true.
pub fn evaluate(rule: &Rule, profile: &Profile, now: Millis) -> Option<bool> {
    match rule {
        Rule::All(xs) => {
            let mut unknown = false;
            for x in xs {
                match evaluate(x, profile, now) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown { None } else { Some(true) }
        }
        Rule::Any(xs) => {
            let mut unknown = false;
            for x in xs {
                match evaluate(x, profile, now) {
                    Some(true) => return Some(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            if unknown { None } else { Some(false) }
        }
        Rule::Not(x) => evaluate(x, profile, now).map(|b| !b),
        Rule::Cond(c) => Some(condition_holds(c, profile, now)),
        Rule::Opaque(_) => None,
    }
}

/// Whether one condition holds; see [`evaluate`] for the meaning of each operator.
pub fn condition_holds(c: &Condition, profile: &Profile, now: Millis) -> bool {
    if let Some(positive) = c.op.negated().filter(|_| c.op.is_negative()) {
        let twin = Condition {
            attribute: c.attribute.clone(),
            op: positive,
            value: c.value.clone(),
        };
        return !condition_holds(&twin, profile, now);
    }
    match &c.attribute {
        Attribute::Property(path) => match lookup(&profile.properties, path) {
            Some(p) => value_holds(c.op, &c.value, p, now),
            None => false,
        },
        Attribute::Event { name, field } => {
            let Some(times) = profile.events.get(name).filter(|t| !t.is_empty()) else {
                return false;
            };
            let derived = match field {
                EventField::Last => times.iter().max().map(|t| Json::from(*t)),
                EventField::First => times.iter().min().map(|t| Json::from(*t)),
                EventField::Count => Some(Json::from(times.len() as u64)),
            };
            derived.is_some_and(|p| value_holds(c.op, &c.value, &p, now))
        }
        Attribute::Department { scope } => {
            let path = &profile.department_path;
            match (c.op, &c.value) {
                (Op::Defined, Value::None) => !path.is_empty(),
                (Op::Equals, Value::String(key)) => match scope {
                    DepartmentScope::Only => path.last() == Some(key),
                    DepartmentScope::WithDescendants => path.contains(key),
                },
                _ => false,
            }
        }
        Attribute::Group => match (c.op, &c.value) {
            (Op::Defined, Value::None) => !profile.groups.is_empty(),
            (Op::Equals, Value::String(key)) => profile.groups.contains(key),
            _ => false,
        },
    }
}

/// Resolves a dot path; `None` for a missing segment or a JSON `null`.
fn lookup<'a>(object: &'a serde_json::Map<String, Json>, path: &str) -> Option<&'a Json> {
    let mut segments = path.split('.');
    let mut current = object.get(segments.next()?)?;
    for segment in segments {
        current = current.as_object()?.get(segment)?;
    }
    (!current.is_null()).then_some(current)
}

/// A positive operator applied to a present, non-null value.
fn value_holds(op: Op, operand: &Value, p: &Json, now: Millis) -> bool {
    match (op, operand) {
        (Op::Defined, Value::None) => true,
        (Op::Equals, _) => match p {
            Json::Array(items) => items.iter().any(|item| json_equals(item, operand)),
            _ => json_equals(p, operand),
        },
        (Op::Contains, Value::String(needle)) => {
            let needle = needle.to_lowercase();
            let hit = |s: &Json| {
                s.as_str()
                    .is_some_and(|s| s.to_lowercase().contains(&needle))
            };
            match p {
                Json::Array(items) => items.iter().any(hit),
                _ => hit(p),
            }
        }
        (Op::Greater | Op::Less, operand) => {
            match (number_of_json(p), number_of_operand(operand)) {
                (Some(x), Some(y)) if op == Op::Greater => x > y,
                (Some(x), Some(y)) => x < y,
                _ => false,
            }
        }
        (Op::Between, Value::Range(lo, hi)) => {
            match (number_of_json(p), lo.as_f64(), hi.as_f64()) {
                (Some(x), Some(lo), Some(hi)) => lo <= x && x <= hi,
                _ => false,
            }
        }
        (Op::WithinLast | Op::MoreThanAgo | Op::LessThanAgo, Value::Days(days)) => {
            let Some(t) = time_of(p) else { return false };
            let edge = now.saturating_sub(i64::from(*days).saturating_mul(DAY_MS));
            match op {
                Op::WithinLast => edge <= t && t <= now,
                Op::MoreThanAgo => t < edge,
                _ => t > edge,
            }
        }
        _ => false,
    }
}

fn json_equals(p: &Json, operand: &Value) -> bool {
    match (p, operand) {
        (Json::String(a), Value::String(b)) => a == b,
        (Json::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        (Json::Bool(a), Value::Bool(b)) => a == b,
        _ => false,
    }
}

fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

fn number_of_json(p: &Json) -> Option<f64> {
    match p {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => parse_number(s),
        _ => None,
    }
}

fn number_of_operand(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_number(s),
        _ => None,
    }
}

/// A JSON value read as a point in time: epoch milliseconds, or an RFC 3339 string.
fn time_of(p: &Json) -> Option<Millis> {
    match p {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => chrono::DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.timestamp_millis()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn person(props: Json) -> Profile {
        Profile {
            properties: props.as_object().cloned().unwrap_or_default(),
            ..Profile::default()
        }
    }

    fn prop(path: &str, op: Op, value: Value) -> Rule {
        Rule::cond(Attribute::Property(path.into()), op, value)
    }

    const NOW: Millis = 1_700_000_000_000;

    #[test]
    fn missing_property_fails_positive_and_passes_negative_operators() {
        let p = person(json!({"a": null}));
        for (op, v) in [
            (Op::Equals, Value::string("x")),
            (Op::Contains, Value::string("x")),
            (Op::Defined, Value::None),
        ] {
            assert_eq!(evaluate(&prop("a", op, v.clone()), &p, NOW), Some(false));
            let neg = op.negated().unwrap_or(op);
            assert_eq!(evaluate(&prop("a", neg, v), &p, NOW), Some(true));
        }
    }

    #[test]
    fn equality_is_typed_and_case_sensitive() {
        let p = person(json!({"n": 40, "s": "40", "name": "Ada"}));
        assert_eq!(
            evaluate(&prop("n", Op::Equals, Value::int(40)), &p, NOW),
            Some(true)
        );
        assert_eq!(
            evaluate(&prop("s", Op::Equals, Value::int(40)), &p, NOW),
            Some(false)
        );
        assert_eq!(
            evaluate(&prop("name", Op::Equals, Value::string("ada")), &p, NOW),
            Some(false)
        );
    }

    #[test]
    fn contains_ignores_case_and_comparisons_read_numeric_strings() {
        let p = person(json!({"email": "me@gosquared.com", "visits": "1000"}));
        assert_eq!(
            evaluate(
                &prop("email", Op::Contains, Value::string("GoSquared")),
                &p,
                NOW
            ),
            Some(true)
        );
        assert_eq!(
            evaluate(&prop("visits", Op::Greater, Value::string("999")), &p, NOW),
            Some(true)
        );
        assert_eq!(
            evaluate(&prop("visits", Op::Less, Value::int(999)), &p, NOW),
            Some(false)
        );
    }

    #[test]
    fn relative_time_windows() {
        let day = DAY_MS;
        let p = person(
            json!({"recent": NOW - day / 2, "old": NOW - 40 * day, "iso": "2023-11-14T22:13:20Z"}),
        );
        assert_eq!(
            evaluate(&prop("recent", Op::WithinLast, Value::Days(1)), &p, NOW),
            Some(true)
        );
        assert_eq!(
            evaluate(&prop("old", Op::MoreThanAgo, Value::Days(35)), &p, NOW),
            Some(true)
        );
        assert_eq!(
            evaluate(&prop("old", Op::LessThanAgo, Value::Days(35)), &p, NOW),
            Some(false)
        );
        // 2023-11-14T22:13:20Z is exactly NOW.
        assert_eq!(
            evaluate(&prop("iso", Op::WithinLast, Value::Days(0)), &p, NOW),
            Some(true)
        );
    }

    #[test]
    fn departments_and_groups() {
        let p = Profile {
            department_path: vec!["root".into(), "sales".into(), "emea".into()],
            groups: ["g1".to_string()].into(),
            ..Profile::default()
        };
        let dept = |scope, key: &str| {
            Rule::cond(
                Attribute::Department { scope },
                Op::Equals,
                Value::string(key),
            )
        };
        assert_eq!(
            evaluate(&dept(DepartmentScope::Only, "emea"), &p, NOW),
            Some(true)
        );
        assert_eq!(
            evaluate(&dept(DepartmentScope::Only, "sales"), &p, NOW),
            Some(false)
        );
        assert_eq!(
            evaluate(&dept(DepartmentScope::WithDescendants, "sales"), &p, NOW),
            Some(true)
        );
        let group = Rule::cond(Attribute::Group, Op::Equals, Value::string("g1"));
        assert_eq!(evaluate(&group, &p, NOW), Some(true));
    }

    #[test]
    fn opaque_is_unknown_under_kleene_logic() {
        let opaque = Rule::Opaque(crate::Opaque {
            dialect: crate::ProviderKind::new("test", "Test"),
            account: String::new(),
            unavailable: false,
            raw: "{}".into(),
            why: "test".into(),
        });
        let f = prop("x", Op::Defined, Value::None);
        let p = Profile::default();
        assert_eq!(
            evaluate(&Rule::All(vec![f.clone(), opaque.clone()]), &p, NOW),
            Some(false)
        );
        assert_eq!(evaluate(&Rule::Any(vec![f, opaque.clone()]), &p, NOW), None);
        assert_eq!(evaluate(&Rule::Not(Box::new(opaque)), &p, NOW), None);
    }
}
