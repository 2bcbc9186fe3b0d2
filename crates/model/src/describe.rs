//! A rule in plain English, deterministic (the same rule always reads the same), e.g.
//! `country is "CA" and (department is Sales or its sub-departments)`.
//!
//! Used where a target cannot hold a rule (emfluence's description) and in messages.

use super::rule::{Attribute, Condition, DepartmentScope, EventField, Op, Rule, Value};

/// The rule in words. `All([])` reads "everyone" and `Any([])` "no one".
pub fn describe(rule: &Rule) -> String {
    match rule {
        Rule::All(xs) if xs.is_empty() => "everyone".to_owned(),
        Rule::Any(xs) if xs.is_empty() => "no one".to_owned(),
        Rule::All(xs) => join(xs, " and "),
        Rule::Any(xs) => join(xs, " or "),
        Rule::Not(x) => format!("not ({})", describe(x)),
        Rule::Cond(c) => describe_condition(c),
        Rule::Opaque(o) => format!(
            "[unrecognised {} condition {}]",
            o.dialect.display_name(),
            o.raw
        ),
    }
}

fn join(xs: &[Rule], sep: &str) -> String {
    xs.iter()
        .map(|x| match x {
            // Parenthesise a nested compound so that "a and (b or c)" stays unambiguous.
            Rule::All(ys) | Rule::Any(ys) if ys.len() > 1 => format!("({})", describe(x)),
            _ => describe(x),
        })
        .collect::<Vec<_>>()
        .join(sep)
}

/// One condition in words, e.g. `last.seen is more than 35 days ago`.
pub fn describe_condition(c: &Condition) -> String {
    let subject = match &c.attribute {
        Attribute::Property(path) => path.clone(),
        Attribute::Event { name, field } => match field {
            EventField::Last => format!("last time of event {}", quote(name)),
            EventField::First => format!("first time of event {}", quote(name)),
            EventField::Count => format!("number of times event {} happened", quote(name)),
        },
        Attribute::Department { scope } => {
            return match (c.op, &c.value, scope) {
                (Op::Equals, Value::String(d), DepartmentScope::Only) => {
                    format!("department is {d}")
                }
                (Op::Equals, Value::String(d), DepartmentScope::WithDescendants) => {
                    format!("department is {d} or its sub-departments")
                }
                (Op::NotEquals, Value::String(d), DepartmentScope::Only) => {
                    format!("department is not {d}")
                }
                (Op::NotEquals, Value::String(d), DepartmentScope::WithDescendants) => {
                    format!("department is neither {d} nor one of its sub-departments")
                }
                _ => format!("department {}", predicate(c.op, &c.value)),
            };
        }
        Attribute::Group => {
            return match (c.op, &c.value) {
                (Op::Equals, Value::String(g)) => format!("member of group {g}"),
                (Op::NotEquals, Value::String(g)) => format!("not a member of group {g}"),
                _ => format!("group {}", predicate(c.op, &c.value)),
            };
        }
    };
    format!("{subject} {}", predicate(c.op, &c.value))
}

fn predicate(op: Op, value: &Value) -> String {
    let v = operand(value);
    match op {
        Op::Equals => format!("is {v}"),
        Op::NotEquals => format!("is not {v}"),
        Op::Contains => format!("contains {v}"),
        Op::NotContains => format!("does not contain {v}"),
        Op::Greater => format!("is greater than {v}"),
        Op::Less => format!("is less than {v}"),
        Op::Between => format!("is between {v}"),
        Op::Defined => "is set".to_owned(),
        Op::NotDefined => "is not set".to_owned(),
        Op::WithinLast => format!("is within the last {v}"),
        Op::MoreThanAgo => format!("is more than {v} ago"),
        Op::LessThanAgo => format!("is less than {v} ago or in the future"),
    }
}

fn operand(value: &Value) -> String {
    match value {
        Value::None => String::new(),
        Value::String(s) => quote(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Days(1) => "1 day".to_owned(),
        Value::Days(n) => format!("{n} days"),
        Value::Range(lo, hi) => format!("{lo} and {hi} inclusive"),
    }
}

fn quote(s: &str) -> String {
    // JSON string escaping: quotes and control characters stay visible and unambiguous.
    serde_json::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_the_issue_example() {
        let rule = Rule::All(vec![
            Rule::cond(
                Attribute::Property("country".into()),
                Op::Equals,
                Value::string("CA"),
            ),
            Rule::Any(vec![
                Rule::cond(
                    Attribute::Department {
                        scope: DepartmentScope::WithDescendants,
                    },
                    Op::Equals,
                    Value::string("Sales"),
                ),
                Rule::cond(Attribute::Group, Op::Equals, Value::string("vip")),
            ]),
        ]);
        assert_eq!(
            describe(&rule),
            r#"country is "CA" and (department is Sales or its sub-departments or member of group vip)"#
        );
        assert_eq!(describe(&Rule::everyone()), "everyone");
    }
}
