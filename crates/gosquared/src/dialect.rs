//! GoSquared filter nodes ↔ the canonical rule (`../shared/providers/gosquared.md` §5).
//! Pure: no I/O.
//!
//! What the node shapes mean is partly inferred (§5); this file fixes our reading, and
//! [`sgsync_model::evaluate`] states what each canonical operator means:
//! - The top-level `filters` array is an AND ([inferred] §5), `[]` is everyone (§3
//!   "Recently Created").
//! - `<` / `>` with `number` + `period: "days"` on a time: more / less than N days ago;
//!   `><` with `direction: "past"`: within the last N days ([inferred] from the default
//!   group names, §5).
//! - `{"key": "and", "filters": […]}` nests an AND ([sdk] ruby-client test, §5). That
//!   test used it in a `GET people` query; whether stored groups accept nested nodes is
//!   unknown (§5, §9), so a nested canonical `All` is written as one, unflagged.
//! - Event filters: stored groups say `triggered-event`, the docs `event` (§5). Both
//!   are read; `triggered-event` is written, like `GET` returns it.
//! - Equality, the negations and OR have no public spelling (§5 "no further operator
//!   spelling"). Their spellings come from `[mapping.gosquared_operators]`; a built-in
//!   guess is read and written, but marked assumed so translations across dialects say
//!   they cannot vouch for it.
//!
//! Anything else (another operator, period, direction, an extra field, a wrong type) is
//! kept verbatim as an opaque node (compact JSON; serde_json's `preserve_order` keeps its
//! key order) and written back byte for byte; nothing is dropped. Nodes we write use
//! GoSquared's own key order (§3): key, path|name, field, operator, value|direction,
//! number, period.

use crate::wire::{NewSmartGroup, SmartGroup as WireGroup};
use serde_json::{Map, Number, Value as Json};
use sgsync_model::mapping::{Maps, Spelling};
use sgsync_model::{
    Attribute, Condition, EventField, Findings, Op, Opaque, ProviderKind, Reason, Rule, RulePath,
    SmartGroup, SourceGroup, Value, describe, describe_condition,
};
use sgsync_provider::json::kind_of;

/// Deeper `and`/`or` nesting is kept opaque rather than recursed into. serde_json
/// already refuses input nested past 128 levels; this also bounds values built in code.
const MAX_DEPTH: usize = 64;

/// The event key written: what `GET smartgroups` returns (§3), although the docs text
/// says `event` (§5).
const EVENT_KEY: &str = "triggered-event";

/// Why several top-level filters cost fidelity between dialects unless confirmed.
const TOP_LEVEL_AND: &str = "several top-level filters are read as all of them (AND), which GoSquared does not document (the dashboard suggests it); set mapping.confirmed.gosquared_top_level_and = true once checked";

/// Why a relative date costs fidelity between dialects unless confirmed.
const RELATIVE_DATES: &str = "a relative date, read by the meaning GoSquared's default group names suggest (it is not documented); set mapping.confirmed.gosquared_relative_dates = true once checked";

/// A GoSquared group in canonical form.
pub fn decode(g: &WireGroup, maps: &Maps) -> SourceGroup {
    let mut reader = Reader {
        maps,
        assumed: Vec::new(),
        uncertain: Vec::new(),
    };
    let nodes = g
        .filters
        .iter()
        .enumerate()
        .map(|(i, node)| reader.node(node, &format!("filters[{i}]"), 0))
        .collect();
    if g.filters.len() > 1 && !maps.confirmed().gosquared_top_level_and {
        reader.assumed.push(Reason::new("filters", TOP_LEVEL_AND));
    }
    SourceGroup {
        provider: crate::KIND,
        account: String::new(),
        group: SmartGroup {
            id: g.id.clone(),
            name: g.name.clone(),
            // GoSquared groups carry no description (§3).
            description: None,
            rule: Rule::All(nodes),
        },
        uncertain: reader.uncertain,
        assumed: reader.assumed,
    }
}

struct Reader<'a> {
    maps: &'a Maps,
    assumed: Vec<Reason>,
    uncertain: Vec<Reason>,
}

/// Why a node could not be read; it becomes the opaque node's `why`.
type Unread = String;

impl Reader<'_> {
    /// One node at `at` (`filters[1].filters[0]`): understood, or kept opaque.
    fn node(&mut self, node: &Json, at: &str, depth: usize) -> Rule {
        match self.read(node, at, depth) {
            Ok(rule) => rule,
            Err(why) => Rule::Opaque(Opaque {
                dialect: crate::KIND,
                // GoSquared filters name properties and events, no account's ids: a
                // kept node may go back to any GoSquared project.
                account: String::new(),
                raw: node.to_string(),
                why,
                unavailable: false,
            }),
        }
    }

    fn read(&mut self, node: &Json, at: &str, depth: usize) -> Result<Rule, Unread> {
        let Json::Object(obj) = node else {
            return Err(format!(
                "a filter node must be an object, found {}",
                kind_of(node)
            ));
        };
        let key = string(obj, "key")?;
        let or_key = self
            .maps
            .gosquared_operators()
            .or
            .as_ref()
            .filter(|s| s.text == key)
            .cloned();
        match key {
            "property" => self.property(obj, at),
            "triggered-event" | "event" => self.event(obj, key, at),
            "and" => self.compound(obj, at, depth, None),
            _ if or_key.is_some() => self.compound(obj, at, depth, or_key),
            _ => Err(format!("unknown filter key {key:?}")),
        }
    }

    /// `and`, or the configured `or` key: `{key, filters}` and nothing else.
    fn compound(
        &mut self,
        obj: &Map<String, Json>,
        at: &str,
        depth: usize,
        or: Option<Spelling>,
    ) -> Result<Rule, Unread> {
        only(obj, &["key", "filters"])?;
        let children = match obj.get("filters") {
            Some(Json::Array(items)) => items,
            Some(other) => return Err(format!("\"filters\" is {}, not an array", kind_of(other))),
            None => return Err("no \"filters\"".to_owned()),
        };
        if depth >= MAX_DEPTH {
            return Err(format!("nested more than {MAX_DEPTH} levels deep"));
        }
        if or.is_some() && children.is_empty() {
            // Canonically an empty OR selects no one, but whether GoSquared reads it so
            // (or as everyone, or refuses it) is unknown (§5: no OR node ever seen).
            return Err("an empty OR group, whose meaning GoSquared does not document".to_owned());
        }
        let rules = children
            .iter()
            .enumerate()
            .map(|(j, child)| self.node(child, &format!("{at}.filters[{j}]"), depth + 1))
            .collect();
        match or {
            None => Ok(Rule::All(rules)),
            Some(spelling) => {
                if spelling.assumed {
                    self.assumed.push(assumed_reading(
                        format!("{at}.key {:?}", spelling.text),
                        "an OR of its filters",
                        "or",
                    ));
                }
                Ok(Rule::Any(rules))
            }
        }
    }

    fn property(&mut self, obj: &Map<String, Json>, at: &str) -> Result<Rule, Unread> {
        const HEAD: [&str; 3] = ["key", "path", "operator"];
        let path = string(obj, "path")?;
        let operator = string(obj, "operator")?;
        let attribute = Attribute::Property(self.maps.canonical_from_gosquared(path).to_owned());
        let (op, value) = match operator {
            "contains" => {
                only(obj, &with(&HEAD, &["value"]))?;
                (
                    Op::Contains,
                    Value::String(string(obj, "value")?.to_owned()),
                )
            }
            ">" | "<" if obj.contains_key("value") => {
                only(obj, &with(&HEAD, &["value"]))?;
                let op = if operator == ">" {
                    Op::Greater
                } else {
                    Op::Less
                };
                // Numbers and numeric strings both occur (§5 "Value typing").
                match obj.get("value") {
                    Some(Json::Number(n)) => (op, Value::Number(n.clone())),
                    Some(Json::String(s)) => (op, Value::String(s.clone())),
                    other => return Err(wrong_type("value", other, "a number or a string")),
                }
            }
            ">" | "<" | "><" => self.relative_time(obj, operator, &HEAD, at)?,
            "defined" => {
                only(obj, &HEAD)?;
                (Op::Defined, Value::None)
            }
            _ => {
                let Some((op, spelling, key)) = table_operator(self.maps, operator) else {
                    return Err(format!("unknown operator {operator:?}"));
                };
                let value = match op {
                    Op::NotDefined => {
                        only(obj, &HEAD)?;
                        Value::None
                    }
                    Op::NotContains => {
                        only(obj, &with(&HEAD, &["value"]))?;
                        Value::String(string(obj, "value")?.to_owned())
                    }
                    _ => {
                        only(obj, &with(&HEAD, &["value"]))?;
                        match obj.get("value") {
                            Some(Json::String(s)) => Value::String(s.clone()),
                            Some(Json::Number(n)) => Value::Number(n.clone()),
                            Some(Json::Bool(b)) => Value::Bool(*b),
                            other => {
                                return Err(wrong_type(
                                    "value",
                                    other,
                                    "a string, a number or a boolean",
                                ));
                            }
                        }
                    }
                };
                if spelling.assumed {
                    self.assumed.push(assumed_reading(
                        format!("{at}.operator {operator:?}"),
                        op_words(op),
                        key,
                    ));
                }
                (op, value)
            }
        };
        Ok(Rule::cond(attribute, op, value))
    }

    /// A relative date, noted as assumed unless the user confirmed the reading.
    fn relative_time(
        &mut self,
        obj: &Map<String, Json>,
        operator: &str,
        head: &[&str],
        at: &str,
    ) -> Result<(Op, Value), Unread> {
        let read = relative_time(obj, operator, head)?;
        if !self.maps.confirmed().gosquared_relative_dates {
            self.assumed.push(Reason::new(
                format!("{at}.operator {operator:?}"),
                RELATIVE_DATES,
            ));
        }
        Ok(read)
    }

    /// `{key: "triggered-event" | "event", name, field: "last", operator, number, period}`.
    fn event(&mut self, obj: &Map<String, Json>, key: &str, at: &str) -> Result<Rule, Unread> {
        const HEAD: [&str; 4] = ["key", "name", "field", "operator"];
        let name = string(obj, "name")?;
        let field = string(obj, "field")?;
        if field != "last" {
            return Err(format!(
                "event field {field:?}: only \"last\" has been seen (GoSquared's People API documentation)"
            ));
        }
        let operator = string(obj, "operator")?;
        if !matches!(operator, ">" | "<" | "><") {
            return Err(format!("unknown event operator {operator:?}"));
        }
        let (op, value) = self.relative_time(obj, operator, &HEAD, at)?;
        if key != EVENT_KEY {
            // The docs say `event`, stored groups `triggered-event` (§5). We read both
            // the same and write `triggered-event`, so even a GoSquared-to-GoSquared copy
            // changes this key: say so.
            self.uncertain.push(Reason::new(
                format!("{at}.key {key:?}"),
                format!(
                    "read as the same as {EVENT_KEY:?} (the docs spell event filters {key:?}, stored groups {EVENT_KEY:?}, GoSquared's People API documentation) and written back as {EVENT_KEY:?}"
                ),
            ));
        }
        Ok(Rule::cond(
            Attribute::Event {
                name: name.to_owned(),
                field: EventField::Last,
            },
            op,
            value,
        ))
    }
}

/// `<` / `>` + `number` + `period`, or `><` + `direction: "past"` + `number` + `period`.
fn relative_time(
    obj: &Map<String, Json>,
    operator: &str,
    head: &[&str],
) -> Result<(Op, Value), Unread> {
    let op = match operator {
        "<" => Op::MoreThanAgo,
        ">" => Op::LessThanAgo,
        _ => Op::WithinLast,
    };
    if op == Op::WithinLast {
        only(obj, &with(head, &["direction", "number", "period"]))?;
        let direction = string(obj, "direction")?;
        if direction != "past" {
            // `future` presumably mirrors `past`, but nothing shows it (§5).
            return Err(format!(
                "direction {direction:?}: only \"past\" has been seen (GoSquared's People API documentation)"
            ));
        }
    } else {
        only(obj, &with(head, &["number", "period"]))?;
    }
    let period = string(obj, "period")?;
    if period != "days" {
        return Err(format!(
            "period {period:?}: only \"days\" has been seen (GoSquared's People API documentation)"
        ));
    }
    let days = match obj.get("number") {
        Some(Json::Number(n)) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("\"number\" {n} is not a whole number of days"))?,
        other => return Err(wrong_type("number", other, "a number")),
    };
    Ok((op, Value::Days(days)))
}

/// The operator whose configured spelling is `text`, with the config key naming it.
fn table_operator(maps: &Maps, text: &str) -> Option<(Op, Spelling, &'static str)> {
    let ops = maps.gosquared_operators();
    [
        (&ops.equals, Op::Equals, "equals"),
        (&ops.not_equals, Op::NotEquals, "not_equals"),
        (&ops.not_contains, Op::NotContains, "not_contains"),
        (&ops.not_defined, Op::NotDefined, "not_defined"),
    ]
    .into_iter()
    .find_map(|(s, op, key)| {
        s.as_ref()
            .filter(|s| s.text == text)
            .map(|s| (op, s.clone(), key))
    })
}

fn assumed_reading(at: String, meaning: &str, key: &str) -> Reason {
    Reason::new(
        at,
        format!(
            "read as {meaning} by assumption: no public GoSquared source, its People API documentation included, shows this spelling; set [mapping.gosquared_operators] {key} after checking a group built in the dashboard"
        ),
    )
}

fn op_words(op: Op) -> &'static str {
    match op {
        Op::Equals => "equals",
        Op::NotEquals => "does not equal",
        Op::Contains => "contains",
        Op::NotContains => "does not contain",
        Op::Greater => "greater than",
        Op::Less => "less than",
        Op::Between => "between",
        Op::Defined => "is set",
        Op::NotDefined => "is not set",
        Op::WithinLast => "within the last",
        Op::MoreThanAgo => "more than … ago",
        Op::LessThanAgo => "less than … ago",
    }
}

fn string<'a>(obj: &'a Map<String, Json>, field: &str) -> Result<&'a str, Unread> {
    match obj.get(field) {
        Some(Json::String(s)) => Ok(s),
        other => Err(wrong_type(field, other, "a string")),
    }
}

fn wrong_type(field: &str, found: Option<&Json>, expected: &str) -> Unread {
    match found {
        None => format!("no {field:?}"),
        Some(v) => format!("{field:?} is {}, expected {expected}", kind_of(v)),
    }
}

/// Fails on any field not in `allowed`: an unknown field may change the meaning.
fn only(obj: &Map<String, Json>, allowed: &[&str]) -> Result<(), Unread> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("unexpected field {k:?}")),
        None => Ok(()),
    }
}

fn with<'a>(head: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
    head.iter().chain(tail).copied().collect()
}

/// The `POST people/v1/smartgroups` body for `group`, read from `source`.
pub fn encode(
    group: &SmartGroup,
    source: ProviderKind,
    maps: &Maps,
) -> (Option<NewSmartGroup>, Findings) {
    let mut w = Writer {
        maps,
        source,
        findings: Findings::default(),
    };
    if group.name.trim().is_empty() {
        w.findings.impossible(
            "name",
            "GoSquared requires a name (GoSquared's People API documentation)",
        );
        return (None, w.findings);
    }
    let root = RulePath::root();
    let filters: Vec<Option<Json>> = match &group.rule {
        // The top-level array is itself the AND (§5).
        Rule::All(xs) => xs
            .iter()
            .enumerate()
            .map(|(i, x)| w.rule(x, &root.child("all", i), false))
            .collect(),
        other => vec![w.rule(other, &root, false)],
    };
    let filters: Option<Vec<Json>> = filters.into_iter().collect();
    let several = filters.as_ref().is_some_and(|f| f.len() > 1);
    if several && source != crate::KIND && !maps.confirmed().gosquared_top_level_and {
        w.findings.lossy("rule", TOP_LEVEL_AND);
    }
    match filters {
        Some(filters) if !w.findings.has_impossible() => (
            Some(NewSmartGroup {
                name: group.name.clone(),
                filters,
            }),
            w.findings,
        ),
        _ => (None, w.findings),
    }
}

struct Writer<'a> {
    maps: &'a Maps,
    source: ProviderKind,
    findings: Findings,
}

impl Writer<'_> {
    /// `rule` (negated when `negated`) as one node; `None` after recording why not.
    /// GoSquared shows no NOT node, so negation is pushed down to the leaves.
    fn rule(&mut self, rule: &Rule, path: &RulePath, negated: bool) -> Option<Json> {
        match (rule, negated) {
            (Rule::Not(x), _) => self.rule(x, &path.not(), !negated),
            (Rule::All(xs), false) => self.and(xs, path, "all", false),
            // De Morgan: not (a or b) = (not a) and (not b).
            (Rule::Any(xs), true) => self.and(xs, path, "any", true),
            (Rule::Any(xs), false) => self.or(rule, xs, path, "any", false),
            // De Morgan: not (a and b) = (not a) or (not b).
            (Rule::All(xs), true) => self.or(rule, xs, path, "all", true),
            (Rule::Cond(c), _) => {
                let op = if negated {
                    let Some(op) = c.op.negated() else {
                        self.findings.impossible(
                            at(path, c),
                            format!(
                                "GoSquared has no negation of \"{}\" (no NOT node and no opposite operator)",
                                op_words(c.op)
                            ),
                        );
                        return None;
                    };
                    op
                } else {
                    c.op
                };
                self.cond(c, op, path)
            }
            (Rule::Opaque(o), true) => {
                self.findings.impossible(
                    format!("{path} ({})", describe(rule)),
                    format!(
                        "GoSquared has no NOT to put around a node we could not read ({})",
                        o.why
                    ),
                );
                None
            }
            (Rule::Opaque(o), false) if o.dialect == crate::KIND => {
                match serde_json::from_str(&o.raw) {
                    Ok(node) => Some(node),
                    Err(e) => {
                        self.findings.impossible(
                            format!("{path} ({})", describe(rule)),
                            format!("the kept GoSquared node is not valid JSON: {e}"),
                        );
                        None
                    }
                }
            }
            (Rule::Opaque(o), false) => {
                self.findings.impossible(
                    format!("{path} ({})", describe(rule)),
                    format!(
                        "an unrecognised {} condition cannot be written for GoSquared ({})",
                        o.dialect.display_name(),
                        o.why
                    ),
                );
                None
            }
        }
    }

    fn children(
        &mut self,
        xs: &[Rule],
        path: &RulePath,
        kind: &str,
        negate: bool,
    ) -> Option<Vec<Json>> {
        // Collect every child before giving up, so all reasons are reported.
        let nodes: Vec<Option<Json>> = xs
            .iter()
            .enumerate()
            .map(|(i, x)| self.rule(x, &path.child(kind, i), negate))
            .collect();
        nodes.into_iter().collect()
    }

    fn and(&mut self, xs: &[Rule], path: &RulePath, kind: &str, negate: bool) -> Option<Json> {
        let filters = self.children(xs, path, kind, negate)?;
        let mut node = Map::new();
        node.insert("key".into(), "and".into());
        node.insert("filters".into(), Json::Array(filters));
        Some(Json::Object(node))
    }

    fn or(
        &mut self,
        rule: &Rule,
        xs: &[Rule],
        path: &RulePath,
        kind: &str,
        negate: bool,
    ) -> Option<Json> {
        let words = || {
            let d = describe(rule);
            if negate { format!("not ({d})") } else { d }
        };
        match xs {
            [] => {
                self.findings.impossible(
                    format!("{path} ({})", words()),
                    "selects no one, and GoSquared has no filter that selects no one",
                );
                None
            }
            [x] => self.rule(x, &path.child(kind, 0), negate),
            _ => {
                let spelling = self.maps.gosquared_operators().or.clone();
                let filters = self.children(xs, path, kind, negate);
                let Some(spelling) = spelling else {
                    self.findings.impossible(
                        format!("{path} ({})", words()),
                        "GoSquared documents no OR (and [mapping.gosquared_operators] or is set to none)",
                    );
                    return None;
                };
                if spelling.assumed && self.source != crate::KIND {
                    self.findings.lossy(
                        format!("{path} ({})", words()),
                        assumed_writing(&format!("filter key {:?}", spelling.text), "OR", "or"),
                    );
                }
                let mut node = Map::new();
                node.insert("key".into(), spelling.text.into());
                node.insert("filters".into(), Json::Array(filters?));
                Some(Json::Object(node))
            }
        }
    }

    /// `c` with its operator replaced by `op` (the negated twin when pushed down).
    fn cond(&mut self, c: &Condition, op: Op, path: &RulePath) -> Option<Json> {
        let at = at(path, c);
        match &c.attribute {
            Attribute::Property(name) => self.property(name, op, &c.value, &at),
            Attribute::Event {
                name,
                field: EventField::Last,
            } => match (op, &c.value) {
                (Op::MoreThanAgo | Op::LessThanAgo | Op::WithinLast, Value::Days(n)) => {
                    let mut node = Map::new();
                    node.insert("key".into(), EVENT_KEY.into());
                    node.insert("name".into(), name.as_str().into());
                    node.insert("field".into(), "last".into());
                    time_fields(&mut node, op, *n);
                    Some(Json::Object(node))
                }
                _ => {
                    self.findings.impossible(
                        at,
                        format!(
                            "GoSquared's event filter only shows relative times in days (GoSquared's People API documentation), not \"{}\" with this operand",
                            op_words(op)
                        ),
                    );
                    None
                }
            },
            Attribute::Event { field, .. } => {
                let what = match field {
                    EventField::Count => "event counts",
                    _ => "the first time of an event",
                };
                self.findings.impossible(
                    at,
                    format!("GoSquared shows no filter on {what} (only \"last\", GoSquared's People API documentation)"),
                );
                None
            }
            Attribute::Department { .. } => {
                self.findings
                    .impossible(at, "GoSquared has no department filter");
                None
            }
            Attribute::Group => {
                self.findings
                    .impossible(at, "GoSquared has no group-membership filter");
                None
            }
        }
    }

    fn property(&mut self, name: &str, op: Op, value: &Value, at: &str) -> Option<Json> {
        let ops = self.maps.gosquared_operators();
        let mut node = Map::new();
        node.insert("key".into(), "property".into());
        node.insert("path".into(), self.maps.gosquared_path(name).into());
        let table = |s: &Option<Spelling>, key: &'static str| s.clone().map(|s| (s, key));
        let (spelling, operand): (Option<(Spelling, &'static str)>, Option<Json>) = match (
            op, value,
        ) {
            (Op::Contains, Value::String(s)) => (None, Some(s.as_str().into())),
            (Op::Defined, Value::None) => (None, None),
            (Op::Greater | Op::Less, Value::Number(n)) => (None, Some(n.clone().into())),
            (Op::Greater | Op::Less, Value::String(s)) => (None, Some(s.as_str().into())),
            (Op::MoreThanAgo | Op::LessThanAgo | Op::WithinLast, Value::Days(n)) => {
                time_fields(&mut node, op, *n);
                return Some(Json::Object(node));
            }
            (Op::Equals | Op::NotEquals, Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
                let (s, key) = if op == Op::Equals {
                    (&ops.equals, "equals")
                } else {
                    (&ops.not_equals, "not_equals")
                };
                let Some(spelling) = table(s, key) else {
                    return self.disabled(at, op, key);
                };
                (Some(spelling), Some(scalar(value)))
            }
            (Op::NotContains, Value::String(s)) => {
                let Some(spelling) = table(&ops.not_contains, "not_contains") else {
                    return self.disabled(at, op, "not_contains");
                };
                (Some(spelling), Some(s.as_str().into()))
            }
            (Op::NotDefined, Value::None) => {
                let Some(spelling) = table(&ops.not_defined, "not_defined") else {
                    return self.disabled(at, op, "not_defined");
                };
                (Some(spelling), None)
            }
            (Op::Between, _) => {
                self.findings.impossible(
                        at,
                        "GoSquared documents no numeric between, nor ≥ / ≤ to build one from (GoSquared's People API documentation)",
                    );
                return None;
            }
            (op, value) => {
                self.findings.impossible(
                    at,
                    format!(
                        "\"{}\" with {} cannot be written as a GoSquared filter",
                        op_words(op),
                        value_kind(value)
                    ),
                );
                return None;
            }
        };
        let operator = match &spelling {
            Some((s, key)) => {
                if s.assumed && self.source != crate::KIND {
                    self.findings.lossy(
                        at,
                        assumed_writing(&format!("operator {:?}", s.text), op_words(op), key),
                    );
                }
                s.text.clone()
            }
            None => match op {
                Op::Contains => "contains",
                Op::Defined => "defined",
                Op::Greater => ">",
                _ => "<",
            }
            .to_owned(),
        };
        node.insert("operator".into(), operator.into());
        if let Some(operand) = operand {
            node.insert("value".into(), operand);
        }
        Some(Json::Object(node))
    }

    fn disabled(&mut self, at: &str, op: Op, key: &str) -> Option<Json> {
        self.findings.impossible(
            at,
            format!(
                "GoSquared documents no \"{}\" operator (and [mapping.gosquared_operators] {key} is set to none)",
                op_words(op)
            ),
        );
        None
    }
}

/// `operator`, [`direction`], `number`, `period`, in GoSquared's own key order (§3).
fn time_fields(node: &mut Map<String, Json>, op: Op, days: u32) {
    let operator = match op {
        Op::MoreThanAgo => "<",
        Op::LessThanAgo => ">",
        _ => "><",
    };
    node.insert("operator".into(), operator.into());
    if op == Op::WithinLast {
        node.insert("direction".into(), "past".into());
    }
    node.insert("number".into(), Json::Number(Number::from(days)));
    node.insert("period".into(), "days".into());
}

/// The `value` of an equality filter. Only called with a string, number or boolean
/// (checked by the caller's match); anything else would be a bug, written as `null`
/// rather than a panic.
fn scalar(value: &Value) -> Json {
    match value {
        Value::String(s) => Json::String(s.clone()),
        Value::Number(n) => Json::Number(n.clone()),
        Value::Bool(b) => Json::Bool(*b),
        _ => Json::Null,
    }
}

fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::None => "no operand",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Days(_) => "a number of days",
        Value::Range(_, _) => "a range",
    }
}

fn assumed_writing(spelling: &str, meaning: &str, key: &str) -> String {
    format!(
        "written as {spelling}, a spelling no public GoSquared source shows (its People API documentation included), so we cannot vouch that it means {meaning:?}; set [mapping.gosquared_operators] {key} after checking a group built in the dashboard"
    )
}

fn at(path: &RulePath, c: &Condition) -> String {
    format!("{path} ({})", describe_condition(c))
}

/// This provider's dialect, translating with one account's maps.
pub struct GoSquaredDialect {
    maps: std::sync::Arc<sgsync_model::mapping::Maps>,
}

impl GoSquaredDialect {
    pub fn new(maps: std::sync::Arc<sgsync_model::mapping::Maps>) -> Self {
        GoSquaredDialect { maps }
    }
}

impl sgsync_provider::Dialect for GoSquaredDialect {
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
            .map(|g| SourceGroup {
                account: directory.id.clone(),
                ..decode(g, &self.maps)
            })
            .collect())
    }

    fn encode(
        &self,
        source: &SourceGroup,
        directory: &sgsync_model::Directory,
    ) -> (Option<sgsync_provider::Payload>, Findings) {
        // No account-specific ids in this dialect: the directory changes nothing.
        let _ = directory;
        let (payload, findings) = encode(&source.group, source.provider, &self.maps);
        (payload.map(crate::payload), findings)
    }
}

#[cfg(test)]
mod tests;
