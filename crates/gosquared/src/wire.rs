//! GoSquared People API v1: smart-group shapes (`../shared/providers/gosquared.md` §3–§5,
//! §7; docs page copy in seed `000_03dd6fd6c40f756c.txt`).
//!
//! - `GET people/v1/smartgroups` answers `{"list": [group, …], "cardinality": n}` (§3, a
//!   real 2016 response). Whether `GET smartgroups/{id}` answers a bare group or the same
//!   envelope is unknown (§3), so both are read, and so is a bare array.
//! - A group is `{id, name, filters, prefs, _links}`. `prefs` (dashboard columns and
//!   sorting) and `_links` do not affect membership and are ignored (§3 "Field notes").
//! - `filters` nodes are kept as raw JSON here: what they mean is the dialect's business,
//!   and a node it cannot read must still travel back verbatim (§5).
//! - Errors come in two envelopes: `{"code", "message"}` (current docs) and the older
//!   `{"success": false, "error": {"code", "message"}}` (node-gosquared) (§7).
//! - `POST people/v1/smartgroups` takes a plain object `{name, filters}` (§4). The
//!   ruby-client wraps bodies in an array; that quirk was never checked against the
//!   server and is not copied (§1).

use serde::Serialize;
use serde_json::Value as Json;
use sgsync_provider::json::{self, JsonError, kind_of};
use thiserror::Error;

/// A smart group as GoSquared returns it (or as a create body states it). Only what
/// decides membership is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct SmartGroup {
    /// The slug id (`last-seen-35-days`); absent in a create body.
    pub id: Option<String>,
    pub name: String,
    /// The filter nodes exactly as sent; their top-level array is an AND (§5).
    pub filters: Vec<Json>,
}

/// The body of `POST people/v1/smartgroups`: a plain object (§1, §4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewSmartGroup {
    pub name: String,
    pub filters: Vec<Json>,
}

#[derive(Debug, Error)]
pub enum WireError {
    #[error(transparent)]
    Json(#[from] JsonError),
    /// GoSquared's own error answer (gosquared.md §7: 4000 missing parameter, 4001 key
    /// not authorised, 4002 rate limited, 4003/4004 invalid parameter, 5xxx internal).
    #[error("GoSquared answered error {code}: {message}")]
    Api { code: i64, message: String },
    #[error("{at}: {why}")]
    Shape { at: String, why: String },
}

impl WireError {
    fn shape(at: impl Into<String>, why: impl Into<String>) -> Self {
        WireError::Shape {
            at: at.into(),
            why: why.into(),
        }
    }
}

/// Every group in `text`: the list envelope, a bare group (GET by id, or a create body),
/// or an array of groups. An error envelope becomes [`WireError::Api`].
pub fn parse_groups(text: &str) -> Result<Vec<SmartGroup>, WireError> {
    Ok(parse_group_list(text)?.groups)
}

/// The groups of an answer, with the `cardinality` the list envelope states (§3), if any.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupList<G = SmartGroup> {
    pub groups: Vec<G>,
    /// How many groups the server says exist; `None` for a bare group or array.
    pub cardinality: Option<u64>,
}

/// Like [`parse_groups`], keeping the envelope's `cardinality`.
pub fn parse_group_list(text: &str) -> Result<GroupList, WireError> {
    parse_group_list_with(text, |g| g)
}

/// [`parse_group_list`], turning each group into what the caller keeps (e.g. the
/// canonical model). The answer is parsed whole first, as it may be a bare group; the
/// answer of `GET smartgroups`, every group of an account, is read as it arrives by
/// [`read_list_answer`] instead.
pub fn parse_group_list_with<G>(
    text: &str,
    each: impl FnMut(SmartGroup) -> G,
) -> Result<GroupList<G>, WireError> {
    read_group_list(text, each)
}

/// The answer of `GET smartgroups` (§3): the `{list, cardinality}` envelope, read as
/// [`parse_group_list_with`] does, except that an object without `list` is an error,
/// not a bare group: a list answer missing its list says nothing about the groups
/// the account holds, and read as one group (or none) every other group would look
/// deleted, or absent to a create's lookup. A bare array is still read whole (it holds
/// every group it names; only the `cardinality` cross-check is lost).
pub fn parse_list_answer_with<G>(
    text: &str,
    each: impl FnMut(SmartGroup) -> G,
) -> Result<GroupList<G>, WireError> {
    read_list_answer(text.as_bytes(), each)
}

/// [`parse_list_answer_with`], reading the answer as it arrives: each group is read
/// into its fields and through `each` as soon as its closing brace is read, and
/// `prefs` and `_links` — most of each group's bytes — are skipped unbuilt. Only
/// what `each` keeps is held, so a list of 100,000 groups never is, as text or as
/// JSON values. Errors are the general reader's: an error envelope first, then the
/// first group that is not one, then the envelope's shape.
pub fn read_list_answer<G>(
    reader: impl std::io::Read,
    mut each: impl FnMut(SmartGroup) -> G,
) -> Result<GroupList<G>, WireError> {
    let mut groups = Vec::new();
    let mut first_bad = None;
    let rest = json::parse_streamed(reader, "list", &["id", "name", "filters"], |at, i, item| {
        // Held until the whole answer is read: an error envelope around it says more.
        if first_bad.is_none() {
            match read_group(item, &format!("{at}[{i}]")) {
                Ok(group) => groups.push(each(group)),
                Err(e) => first_bad = Some(e),
            }
        }
    })?;
    let envelope = match &rest {
        Json::Array(_) => None,
        Json::Object(obj) => {
            if let Some(err) = api_error(obj) {
                return Err(err);
            }
            match obj.get("list") {
                Some(Json::Array(_)) => Some(obj),
                Some(other) => return Err(list_not_an_array(other)),
                None => return Err(missing_list()),
            }
        }
        other => return Err(not_a_group_answer(other)),
    };
    // In the general reader's order: the groups before the envelope's count.
    if let Some(e) = first_bad {
        return Err(e);
    }
    Ok(GroupList {
        groups,
        cardinality: envelope.map(cardinality).transpose()?.flatten(),
    })
}

fn list_not_an_array(list: &Json) -> WireError {
    WireError::shape(
        "list",
        format!("expected an array, found {}", kind_of(list)),
    )
}

fn missing_list() -> WireError {
    WireError::shape(
        "list",
        "is missing: the answer is not the {list, cardinality} envelope \
         GET smartgroups answers (GoSquared's People API documentation)",
    )
}

fn not_a_group_answer(json: &Json) -> WireError {
    WireError::shape(
        "$",
        format!(
            "expected a smart group, a list of them or an error, found {}",
            kind_of(json)
        ),
    )
}

fn read_group_list<G>(
    text: &str,
    each: impl FnMut(SmartGroup) -> G,
) -> Result<GroupList<G>, WireError> {
    let json = parse_answer(text)?;
    let (groups, cardinality) = match json {
        Json::Array(items) => (read_groups(items, "")?, None),
        Json::Object(mut obj) => match obj.remove("list") {
            Some(Json::Array(items)) => {
                let groups = read_groups(items, "list")?;
                (groups, cardinality(&obj)?)
            }
            Some(other) => return Err(list_not_an_array(&other)),
            None => (vec![read_group(Json::Object(obj), "")?], None),
        },
        other => return Err(not_a_group_answer(&other)),
    };
    Ok(GroupList {
        groups: groups.into_iter().map(each).collect(),
        cardinality,
    })
}

/// Any JSON answer that is not one of the two error envelopes (§7); an envelope becomes
/// [`WireError::Api`]. Every reader below starts here, so an answer is parsed once.
pub fn parse_answer(text: &str) -> Result<Json, WireError> {
    let json: Json = json::parse(text)?;
    if let Some(err) = json.as_object().and_then(api_error) {
        return Err(err);
    }
    Ok(json)
}

fn cardinality(obj: &serde_json::Map<String, Json>) -> Result<Option<u64>, WireError> {
    match obj.get("cardinality") {
        None | Some(Json::Null) => Ok(None),
        Some(v) => loose_int(v)
            .and_then(|n| u64::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                WireError::shape(
                    "cardinality",
                    format!("expected a count, found {}", kind_of(v)),
                )
            }),
    }
}

/// One row of `GET people` or `GET smartgroups/{id}/people`, reduced to what sgsync
/// uses (`fields=id,email,name`, §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// The rows of a people answer: `{"list": [person, …], …}` (§6, [3p] Ecosend client).
pub fn parse_people(text: &str) -> Result<Vec<Person>, WireError> {
    let json = parse_answer(text)?;
    let rows = match json.get("list") {
        Some(Json::Array(rows)) => rows,
        Some(other) => {
            return Err(WireError::shape(
                "list",
                format!("expected an array, found {}", kind_of(other)),
            ));
        }
        None => return Err(WireError::shape("list", "is missing")),
    };
    rows.iter()
        .enumerate()
        .map(|(i, row)| read_person(row, &format!("list[{i}]")))
        .collect()
}

fn read_person(row: &Json, at: &str) -> Result<Person, WireError> {
    let obj = row.as_object().ok_or_else(|| {
        WireError::shape(
            at,
            format!("expected a person object, found {}", kind_of(row)),
        )
    })?;
    // Person ids are strings in every sample (§6); a number is read as its digits.
    let id = match obj.get("id") {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Number(n)) => n.to_string(),
        None => return Err(WireError::shape(format!("{at}.id"), "is missing")),
        Some(other) => {
            return Err(WireError::shape(
                format!("{at}.id"),
                format!("expected a string, found {}", kind_of(other)),
            ));
        }
    };
    let text = |key: &str| match obj.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(WireError::shape(
            format!("{at}.{key}"),
            format!("expected a string, found {}", kind_of(other)),
        )),
    };
    Ok(Person {
        id,
        email: text("email")?,
        name: text("name")?,
    })
}

/// The scopes of `GET /auth/v1/tokeninfo`: `{"scopes": [name, …]}` (§1, [3p]).
pub fn parse_token_info(text: &str) -> Result<Vec<String>, WireError> {
    let json = parse_answer(text)?;
    let Some(Json::Array(scopes)) = json.get("scopes") else {
        return Err(WireError::shape(
            "scopes",
            "expected an array of scope names",
        ));
    };
    scopes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.as_str().map(str::to_owned).ok_or_else(|| {
                WireError::shape(
                    format!("scopes[{i}]"),
                    format!("expected a string, found {}", kind_of(s)),
                )
            })
        })
        .collect()
}

/// The current error envelope `{"code", "message"}` (§7), as the sandbox writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody<'a> {
    pub code: i64,
    pub message: &'a str,
}

/// The error in an error envelope, if `obj` is one (§7).
fn api_error(obj: &serde_json::Map<String, Json>) -> Option<WireError> {
    let from = |o: &serde_json::Map<String, Json>| WireError::Api {
        code: o.get("code").and_then(loose_int).unwrap_or(0),
        message: o
            .get("message")
            .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
            .unwrap_or_default(),
    };
    match obj.get("success") {
        // The older envelope; `error` may be missing, then nothing more is known.
        Some(Json::Bool(false)) => Some(match obj.get("error") {
            Some(Json::Object(e)) => from(e),
            Some(Json::String(s)) => WireError::Api {
                code: 0,
                message: s.clone(),
            },
            _ => WireError::Api {
                code: 0,
                message: "success: false with no error detail".to_owned(),
            },
        }),
        // A group never has `code`; a group list never has `code` either.
        _ if obj.contains_key("code") && !obj.contains_key("filters") => Some(from(obj)),
        _ => None,
    }
}

fn read_groups(items: Vec<Json>, at: &str) -> Result<Vec<SmartGroup>, WireError> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, g)| read_group(g, &format!("{at}[{i}]")))
        .collect()
}

/// `at` is the group's JSON path (`list[3]`), empty for the root. Takes the group by
/// value: its filters, the bulk of it, move into the result instead of being copied.
fn read_group(g: Json, at: &str) -> Result<SmartGroup, WireError> {
    let field = |key: &str| {
        if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        }
    };
    let mut obj = match g {
        Json::Object(obj) => obj,
        other => {
            return Err(WireError::shape(
                if at.is_empty() { "$" } else { at },
                format!("expected a smart group object, found {}", kind_of(&other)),
            ));
        }
    };
    let id = match obj.remove("id") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s),
        Some(other) => {
            return Err(WireError::shape(
                field("id"),
                format!("expected a string, found {}", kind_of(&other)),
            ));
        }
    };
    let name = match obj.remove("name") {
        Some(Json::String(s)) => s,
        None => return Err(WireError::shape(field("name"), "is missing")),
        Some(other) => {
            return Err(WireError::shape(
                field("name"),
                format!("expected a string, found {}", kind_of(&other)),
            ));
        }
    };
    // `filters` is required in a create body (§4) and present on every stored group
    // (§3); a group without it would read as "everyone", so its absence is an error.
    let filters = match obj.remove("filters") {
        Some(Json::Array(items)) => items,
        None => return Err(WireError::shape(field("filters"), "is missing")),
        Some(other) => {
            return Err(WireError::shape(
                field("filters"),
                format!("expected an array, found {}", kind_of(&other)),
            ));
        }
    };
    Ok(SmartGroup { id, name, filters })
}

/// An integer, or a string holding one.
fn loose_int(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/gosquared/smartgroups_2016.json");

    #[test]
    fn the_streamed_list_reads_what_the_general_reader_reads() {
        use serde_json::json;
        let streamed = |text: &str| parse_list_answer_with(text, |g| g);
        // The real answer, prefs and links included.
        assert_eq!(
            streamed(FIXTURE).unwrap(),
            parse_group_list(FIXTURE).unwrap()
        );
        // Read in pieces of any size, as a stream arrives: the same groups.
        struct Trickle<'a>(&'a [u8], usize);
        impl std::io::Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.1.min(buf.len()).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        for size in [1, 7, 4096] {
            let list = read_list_answer(Trickle(FIXTURE.as_bytes(), size), |g| g).unwrap();
            assert_eq!(list, parse_group_list(FIXTURE).unwrap());
        }
        // Every failure says what the general reader says.
        for text in [
            json!({"list": [{"id": "a", "name": null, "filters": []}], "cardinality": 1})
                .to_string(),
            json!({"list": [{"id": "a", "filters": []}]}).to_string(),
            json!({"list": [{"id": 7, "name": "A", "filters": []}]}).to_string(),
            json!({"list": [{"id": "a", "name": "A", "filters": "x"}]}).to_string(),
            json!({"list": [["a", "A", []]]}).to_string(),
            json!({"list": [], "cardinality": "many"}).to_string(),
            // A broken group and a broken count: the group is named, by both.
            json!({"list": [{"id": 7, "name": "A", "filters": []}], "cardinality": "many"})
                .to_string(),
            json!({"list": {}}).to_string(),
            json!([{"id": "a", "name": "A", "filters": []}, 7]).to_string(),
            json!("x").to_string(),
            r#"{"code": 4001, "message": "no"}"#.to_owned(),
            r#"{"success": false, "error": {"code": 4002, "message": "slow down"}}"#.to_owned(),
            // An error envelope wins over a broken group inside it.
            r#"{"list": [7], "code": 4001, "message": "no"}"#.to_owned(),
            r#"{"list": [{"id": "a", "name": "A", "filters": []}"#.to_owned(),
        ] {
            assert_eq!(
                streamed(&text).unwrap_err().to_string(),
                parse_group_list(&text).unwrap_err().to_string(),
                "{text}"
            );
        }
        assert!(matches!(
            streamed(r#"{"code": 4001, "message": "no"}"#),
            Err(WireError::Api { code: 4001, .. })
        ));
        // A repeated key is refused too (its column may differ by the one byte a
        // reader looks ahead).
        for text in [
            r#"{"list": [], "list": [{"id": "a", "name": "A", "filters": []}]}"#,
            r#"{"list": [{"id": "a", "name": "A", "name": "B", "filters": []}]}"#,
        ] {
            assert!(matches!(
                streamed(text),
                Err(WireError::Json(JsonError::DuplicateKey { .. }))
            ));
        }
    }

    #[test]
    fn reads_the_real_list_envelope() {
        let groups = parse_groups(FIXTURE).unwrap();
        assert_eq!(groups.len(), 9);
        assert_eq!(groups[2].id.as_deref(), Some("last-seen-35-days"));
        assert_eq!(groups[2].name, "Last Seen > 35 Days");
        assert_eq!(groups[5].filters, Vec::<Json>::new());
        assert_eq!(groups[8].filters.len(), 2);
    }

    #[test]
    fn reads_a_bare_group_an_array_and_a_create_body() {
        let bare = r#"{"id":"most-active","name":"Most Active","filters":[{"key":"property","path":"totals.visits","operator":">","value":1}],"prefs":{"sortDir":"desc"},"_links":[]}"#;
        let g = parse_groups(bare).unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].id.as_deref(), Some("most-active"));
        let g = parse_groups(&format!("[{bare},{bare}]")).unwrap();
        assert_eq!(g.len(), 2);
        let body = NewSmartGroup {
            name: "Visited > 1000".into(),
            filters: vec![
                serde_json::json!({"key":"property","path":"totals.visits","operator":">","value":1000}),
            ],
        };
        let text = serde_json::to_string(&body).unwrap();
        assert!(
            text.starts_with("{\"name\":"),
            "a plain object, not an array: {text}"
        );
        let g = parse_groups(&text).unwrap();
        assert_eq!((g[0].id.clone(), g[0].name.clone()), (None, body.name));
        assert_eq!(g[0].filters, body.filters);
    }

    #[test]
    fn both_error_envelopes_are_api_errors() {
        let err = parse_groups(
            r#"{"code":4001,"message":"Your API Key is not authorised for this endpoint"}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&err, WireError::Api { code: 4001, message } if message.contains("not authorised")),
            "{err}"
        );
        let err =
            parse_groups(r#"{"success":false,"error":{"code":1011,"message":"params too large"}}"#)
                .unwrap_err();
        assert!(
            matches!(&err, WireError::Api { code: 1011, message } if message == "params too large"),
            "{err}"
        );
        let err = parse_groups(r#"{"success":false}"#).unwrap_err();
        assert!(matches!(err, WireError::Api { code: 0, .. }), "{err}");
    }

    #[test]
    fn malformed_input_is_a_typed_error_naming_the_place() {
        let truncated = &FIXTURE[..FIXTURE.len() / 2];
        assert!(matches!(
            parse_groups(truncated),
            Err(WireError::Json(JsonError::Syntax { line, .. })) if line > 1
        ));
        let err = parse_groups(r#"{"list":[{"id":"a","name":"A","filters":[]},{"id":"b","name":"B","filters":[]},{"id":"c","name":"C","filters":[]},{"id":"d","name":"D","filters":"x"}],"cardinality":4}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "list[3].filters: expected an array, found a string"
        );
        let err = parse_groups(r#"{"list":{}}"#).unwrap_err();
        assert_eq!(err.to_string(), "list: expected an array, found an object");
        let err = parse_groups(r#"{"name":"x"}"#).unwrap_err();
        assert_eq!(err.to_string(), "filters: is missing");
        let err = parse_groups(r#"[{"id":7,"name":"x","filters":[]}]"#).unwrap_err();
        assert_eq!(err.to_string(), "[0].id: expected a string, found a number");
        let err = parse_groups(r#"{"id":"x","name":null,"filters":[]}"#).unwrap_err();
        assert_eq!(err.to_string(), "name: expected a string, found null");
        let err = parse_groups("42").unwrap_err();
        assert!(matches!(err, WireError::Shape { .. }), "{err}");
        assert!(matches!(
            parse_groups(""),
            Err(WireError::Json(JsonError::Syntax { .. }))
        ));
    }

    #[test]
    fn huge_and_deep_inputs_fail_without_panicking() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(
            parse_groups(&deep),
            Err(WireError::Json(JsonError::TooDeep { .. }))
        ));
        let deep_in_filters = format!(
            r#"{{"name":"x","filters":[{}{}]}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(matches!(
            parse_groups(&deep_in_filters),
            Err(WireError::Json(JsonError::TooDeep { .. }))
        ));
        let big = "x".repeat(10 * 1024 * 1024);
        let err = parse_groups(&format!(r#"{{"name":"x","filters":"{big}"}}"#)).unwrap_err();
        // The message names the shape, never echoes the 10 MB.
        assert_eq!(
            err.to_string(),
            "filters: expected an array, found a string"
        );
        let g = parse_groups(&format!(
            r#"{{"name":"x","filters":[{{"key":"property","path":"email","operator":"contains","value":"{big}"}}]}}"#
        ))
        .unwrap();
        assert_eq!(
            g[0].filters[0]["value"].as_str().map(str::len),
            Some(big.len())
        );
    }

    #[test]
    fn a_list_answer_without_its_list_is_an_error_not_one_group_or_none() {
        let list = |text: &str| parse_list_answer_with(text, |g| g);
        for text in [
            r#"{"cardinality":9}"#,
            "{}",
            // A bare group where the list was asked for: every other group would
            // look deleted.
            r#"{"id":"a","name":"A","filters":[]}"#,
        ] {
            let err = list(text).unwrap_err();
            assert!(
                err.to_string().starts_with("list: is missing"),
                "{text}: {err}"
            );
        }
        assert_eq!(
            list(r#"{"list":null,"cardinality":0}"#)
                .unwrap_err()
                .to_string(),
            "list: expected an array, found null"
        );
        // The empty list GoSquared sent is an empty list; a bare array is read whole.
        let empty = list(r#"{"list":[],"cardinality":0}"#).unwrap();
        assert_eq!((empty.groups.len(), empty.cardinality), (0, Some(0)));
        assert!(list("[]").unwrap().groups.is_empty());
        assert_eq!(list(FIXTURE).unwrap().groups.len(), 9);
        // A file to translate may still hold one bare group.
        assert_eq!(
            parse_groups(r#"{"id":"a","name":"A","filters":[]}"#)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn reads_cardinality_people_and_token_info() {
        let list = parse_group_list(FIXTURE).unwrap();
        assert_eq!((list.groups.len(), list.cardinality), (9, Some(9)));
        let err = parse_group_list(r#"{"list":[],"cardinality":"many"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cardinality: expected a count, found a string"
        );
        let people = parse_people(
            r#"{"list":[{"id":"u1","email":"a@b.c","name":"A"},{"id":7,"email":null}],"cardinality":2}"#,
        )
        .unwrap();
        assert_eq!(
            people,
            vec![
                Person {
                    id: "u1".into(),
                    email: Some("a@b.c".into()),
                    name: Some("A".into())
                },
                Person {
                    id: "7".into(),
                    email: None,
                    name: None
                },
            ]
        );
        assert_eq!(
            parse_people(r#"{"list":[{"email":"x"}]}"#)
                .unwrap_err()
                .to_string(),
            "list[0].id: is missing"
        );
        assert!(matches!(
            parse_people(r#"{"code":4003,"message":"limit"}"#),
            Err(WireError::Api { code: 4003, .. })
        ));
        assert_eq!(
            parse_token_info(r#"{"scopes":["read_now"]}"#).unwrap(),
            vec!["read_now".to_owned()]
        );
        assert!(parse_token_info(r#"{"scopes":"all"}"#).is_err());
        let body = serde_json::to_string(&ErrorBody {
            code: 4001,
            message: "no",
        })
        .unwrap();
        assert!(matches!(
            parse_answer(&body),
            Err(WireError::Api { code: 4001, .. })
        ));
    }
}
