//! emfluence Marketing Platform API v1: group shapes (`../shared/providers/emfluence.md`
//! §2–§4, seed `003_9559f763de08f12d.txt`).
//!
//! Every answer is HTTP 200 with an envelope `{success, code, errors, data, requestID}`;
//! `success: 0` is an error even then. Typing is loose on the wire: booleans arrive as
//! `0`/`1` or `true`/`false`, missing numbers as `""`, ids sometimes as strings. The
//! readers here accept all of those (emfluence.md §2 "Typing quirks").

use crate::providers::json::{self, JsonError, kind_of};
use serde::Serialize;
use serde_json::Value as Json;
use thiserror::Error;

/// The body of `POST groups/save`. `groupID` absent creates (emfluence.md §3.1: send no
/// key rather than `0`, whose meaning is unknown); present updates, and then the full
/// group is sent so nothing depends on partial-update semantics the docs leave open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSave {
    #[serde(rename = "groupID", skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
    pub group_name: String,
    pub description: String,
    pub status: String,
    /// 1: hidden from the contact preferences page (the API's own default).
    pub private: u8,
    /// Our stable key (`sgsync:<provider>:<id>`), read back by `groups/lookup`.
    #[serde(rename = "externalID", skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub notes: String,
}

/// A group as emfluence returns it (lookup, save, search record) or as a save request
/// states it. Only the fields sgsync reads; the rest are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub group_id: Option<i64>,
    pub group_name: String,
    pub description: String,
    pub external_id: Option<String>,
    /// `Static` or `Dynamic`; `None` when the input does not say (a save request).
    pub kind: Option<GroupKind>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    Static,
    Dynamic,
}

#[derive(Debug, Error)]
pub enum WireError {
    #[error(transparent)]
    Json(#[from] JsonError),
    #[error("emfluence answered success: 0 (code {code}): {errors}")]
    Failed { code: i64, errors: String },
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

/// Every group in `text`: an envelope (`data` = a group, an array of groups, or
/// `{paging, records}`), a bare group object (e.g. a `groups/save` body), or an array.
pub fn parse_groups(text: &str) -> Result<Vec<Group>, WireError> {
    let json = json::parse(text)?;
    if json.get("success").is_some() {
        return groups_in(&open_envelope(json)?, "data");
    }
    groups_in(&json, "$")
}

/// The `data` of an answer, after the envelope said `success: 1` (emfluence.md §2). The
/// one envelope reader: the client and every parser here go through it.
pub fn read_envelope(text: &str) -> Result<Json, WireError> {
    let json = json::parse(text)?;
    if json.get("success").is_none() {
        return Err(WireError::shape(
            "$",
            format!(
                "expected the {{success, code, data}} envelope, found {}",
                kind_of(&json)
            ),
        ));
    }
    open_envelope(json)
}

fn open_envelope(mut json: Json) -> Result<Json, WireError> {
    let success = json.get("success").and_then(loose_bool).unwrap_or(false);
    if !success {
        let code = json.get("code").and_then(loose_int).unwrap_or(0);
        let errors = json
            .get("errors")
            .and_then(Json::as_array)
            .map(|e| strings(e).join("; "))
            .unwrap_or_default();
        return Err(WireError::Failed { code, errors });
    }
    Ok(json.get_mut("data").map(Json::take).unwrap_or(Json::Null))
}

fn strings(items: &[Json]) -> Vec<String> {
    items
        .iter()
        .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
        .collect()
}

/// The groups in an answer's `data`: one object (save, lookup by `groupID`), an array
/// (lookup by `groupIDs`, §3.2) or a search page's `records` (§3.3).
pub fn groups_in(data: &Json, at: &str) -> Result<Vec<Group>, WireError> {
    match data {
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, g)| read_group(g, &format!("{at}[{i}]")))
            .collect(),
        Json::Object(o) if o.contains_key("records") => records_in(data, at)?
            .iter()
            .enumerate()
            .map(|(i, g)| read_group(g, &format!("{at}.records[{i}]")))
            .collect(),
        Json::Object(_) => Ok(vec![read_group(data, at)?]),
        other => Err(WireError::shape(
            at,
            format!(
                "expected a group object or an array, found {}",
                kind_of(other)
            ),
        )),
    }
}

/// A search page's `records` (groups/search, contacts/search).
pub fn records_in<'a>(data: &'a Json, at: &str) -> Result<&'a [Json], WireError> {
    match data.get("records") {
        Some(Json::Array(items)) => Ok(items),
        // An empty page may come back without records (§6: stop on "records empty").
        None | Some(Json::Null) => Ok(&[]),
        Some(other) => Err(WireError::shape(
            format!("{at}.records"),
            format!("expected an array, found {}", kind_of(other)),
        )),
    }
}

/// `data.paging` of a search answer (emfluence.md §6). `next`/`prev` are strings, `""`
/// when there is none; their non-empty content is unknown, so they are kept opaque.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    pub next: String,
    pub page: i64,
    pub rpp: i64,
    pub total_pages: i64,
    pub total_records: i64,
    pub prev: String,
}

/// The paging block of a search answer, `None` when the answer has none.
pub fn paging_in(data: &Json) -> Result<Option<Paging>, WireError> {
    let Some(p) = data.get("paging").filter(|p| !p.is_null()) else {
        return Ok(None);
    };
    let int = |key: &str| -> Result<i64, WireError> {
        match p.get(key) {
            None | Some(Json::Null) => Ok(0),
            Some(v) if v.as_str() == Some("") => Ok(0),
            Some(v) => loose_int(v).ok_or_else(|| {
                WireError::shape(
                    format!("data.paging.{key}"),
                    format!("expected an integer, found {v}"),
                )
            }),
        }
    };
    let text = |key: &str| match p.get(key) {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    Ok(Some(Paging {
        next: text("next"),
        page: int("page")?,
        rpp: int("rpp")?,
        total_pages: int("totalPages")?,
        total_records: int("totalRecords")?,
        prev: text("prev"),
    }))
}

/// Whether a search should ask for the page after `asked`: `page < totalPages` first,
/// "records empty" as the fallback (emfluence.md §6).
pub fn has_next_page(data: &Json, asked: i64) -> Result<bool, WireError> {
    if records_in(data, "data")?.is_empty() {
        return Ok(false);
    }
    Ok(match paging_in(data)? {
        Some(p) => p.page.max(asked) < p.total_pages,
        None => false,
    })
}

/// A contact as `contacts/search` (with `fields: "contactID,email"`) or `contacts/save`
/// returns it; only what membership sync needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    #[serde(rename = "contactID")]
    pub contact_id: i64,
    pub email: String,
}

/// The contacts of a `contacts/search` page.
pub fn contacts_in(data: &Json) -> Result<Vec<Contact>, WireError> {
    records_in(data, "data")?
        .iter()
        .enumerate()
        .map(|(i, c)| read_contact(c, &format!("data.records[{i}]")))
        .collect()
}

/// One contact object (the `data` of `contacts/save`).
pub fn read_contact(c: &Json, at: &str) -> Result<Contact, WireError> {
    let contact_id = c.get("contactID").and_then(loose_int).ok_or_else(|| {
        WireError::shape(format!("{at}.contactID"), "is missing or not an integer")
    })?;
    let email = match c.get("email") {
        Some(Json::String(s)) => s.clone(),
        None | Some(Json::Null) => String::new(),
        Some(other) => {
            return Err(WireError::shape(
                format!("{at}.email"),
                format!("expected a string, found {}", kind_of(other)),
            ));
        }
    };
    Ok(Contact { contact_id, email })
}

/// One row of a `groups/addContacts` / `groups/removeContacts` answer (§3.5): the call
/// can succeed while single rows fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactResult {
    #[serde(rename = "contactID")]
    pub contact_id: i64,
    #[serde(serialize_with = "as_int")]
    pub success: bool,
    pub errors: Vec<String>,
}

fn as_int<S: serde::Serializer>(b: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(u8::from(*b))
}

/// The per-contact rows of a membership answer. The docs name the key both
/// `contactResults` (field table) and `contactsResults` (inline example), §3.5: both are read.
pub fn contact_results_in(data: &Json) -> Result<Vec<ContactResult>, WireError> {
    let rows = match data
        .get("contactResults")
        .or_else(|| data.get("contactsResults"))
    {
        Some(Json::Array(rows)) => rows.as_slice(),
        None | Some(Json::Null) => &[],
        Some(other) => {
            return Err(WireError::shape(
                "data.contactResults",
                format!("expected an array, found {}", kind_of(other)),
            ));
        }
    };
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let at = format!("data.contactResults[{i}]");
            let contact_id = row.get("contactID").and_then(loose_int).ok_or_else(|| {
                WireError::shape(format!("{at}.contactID"), "is missing or not an integer")
            })?;
            let success = row.get("success").and_then(loose_bool).ok_or_else(|| {
                WireError::shape(format!("{at}.success"), "is missing or not 0/1")
            })?;
            let errors = row
                .get("errors")
                .and_then(Json::as_array)
                .map(|e| strings(e))
                .unwrap_or_default();
            Ok(ContactResult {
                contact_id,
                success,
                errors,
            })
        })
        .collect()
}

/// The body of `groups/search` (§3.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSearch {
    /// A SUBSTRING filter on the server (§3.3): exact matching is the caller's job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// `Active` (the API's default), `Archived` or `All`.
    pub status: &'static str,
    pub rpp: u32,
    pub page: u32,
}

/// The body of `groups/lookup` (§3.2): one `groupID` answers an object, `groupIDs`
/// (≤ 25) an array. Serialises as `{"groupID": n}` or `{"groupIDs": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum GroupLookup {
    #[serde(rename = "groupID")]
    One(i64),
    #[serde(rename = "groupIDs")]
    Many(Vec<i64>),
}

/// The body of an archiving `groups/save`: unprotect in the same call, because a
/// protected group cannot be archived (§3.4; that one call may do both is inferred).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupArchive {
    #[serde(rename = "groupID")]
    pub group_id: i64,
    pub status: &'static str,
    pub protected: u8,
}

/// The body of `groups/addContacts` / `groups/removeContacts` (≤ 1000 ids, §3.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MembershipChange {
    #[serde(rename = "groupID")]
    pub group_id: i64,
    #[serde(rename = "contactIDs")]
    pub contact_ids: Vec<i64>,
}

/// The body of `contacts/search` by group (§3.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactSearch {
    #[serde(rename = "groupID")]
    pub group_id: i64,
    /// Comma-separated fields to return (`contactID,email`).
    pub fields: &'static str,
    pub rpp: u32,
    pub page: u32,
}

/// The body of `contacts/save` by email (§3.5, §5): creates the contact when the email
/// is new; only the parameters passed are saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactSave {
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "groupIDs", skip_serializing_if = "Vec::is_empty")]
    pub group_ids: Vec<i64>,
}

/// The `code` the sandbox answers for a missing or refused token. The real code is
/// unknown (emfluence.md §2, §9.2): the client recognises this one and the message text.
pub const AUTH_ERROR_CODE: i64 = 401;

fn read_group(g: &Json, at: &str) -> Result<Group, WireError> {
    let obj = g.as_object().ok_or_else(|| {
        WireError::shape(at, format!("expected a group object, found {}", kind_of(g)))
    })?;
    let text = |key: &str| -> Result<Option<String>, WireError> {
        match obj.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(Json::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(WireError::shape(
                format!("{at}.{key}"),
                format!("expected a string, found {}", kind_of(other)),
            )),
        }
    };
    let group_name = text("groupName")?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| WireError::shape(format!("{at}.groupName"), "is missing or empty"))?;
    let group_id = match obj.get("groupID") {
        None | Some(Json::Null) => None,
        Some(v) => match loose_int(v) {
            Some(id) => Some(id),
            // `""` stands for "no value" on this API.
            None if v.as_str() == Some("") => None,
            None => {
                return Err(WireError::shape(
                    format!("{at}.groupID"),
                    format!("expected an integer, found {v}"),
                ));
            }
        },
    };
    let kind = match text("type")?.as_deref() {
        None | Some("") => None,
        Some(t) if t.eq_ignore_ascii_case("static") => Some(GroupKind::Static),
        Some(t) if t.eq_ignore_ascii_case("dynamic") => Some(GroupKind::Dynamic),
        Some(t) => {
            return Err(WireError::shape(
                format!("{at}.type"),
                format!("expected Static or Dynamic, found {t:?}"),
            ));
        }
    };
    Ok(Group {
        group_id,
        group_name,
        description: text("description")?.unwrap_or_default(),
        external_id: text("externalID")?.filter(|s| !s.is_empty()),
        kind,
        status: text("status")?.filter(|s| !s.is_empty()),
    })
}

/// `1`, `0`, `true`, `false`, `"1"`, `"0"`.
pub fn loose_bool(v: &Json) -> Option<bool> {
    match v {
        Json::Bool(b) => Some(*b),
        Json::Number(n) => n.as_i64().map(|n| n != 0),
        Json::String(s) => match s.trim() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An integer, or a string holding one.
pub fn loose_int(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Self-authored fixtures from emfluence.md §8 (shapes documented, values invented).
    const SAVE_SUCCESS: &str = r#"{"success":1,"code":0,"requestID":"req-0001","data":{"groupID":4242,"groupName":"Daemon Sync – Team A","friendlyName":"Team A","description":"Synced by daemon","status":"Active","type":"Static","protected":1,"private":1,"sendTests":0,"userID":77,"userIDs":[77],"notes":"managed by sync daemon","externalID":"team-a","autoResponseEmailID":"","totalMembers":0,"activeMembers":0,"dateAdded":"2024-05-01 12:00:00","dateModified":"","dateLastEmailSent":""}}"#;
    const SEARCH_PAGE: &str = r#"{"success":1,"code":0,"data":{"paging":{"next":"2","page":1,"rpp":2,"totalPages":2,"totalRecords":3,"prev":""},"records":[{"groupID":10,"groupName":"Alpha","status":"Active","type":"Static","friendlyName":"Alpha","description":"","private":1,"userID":"","autoResponseEmailID":"","dateAdded":"2020-01-01 00:00:00","dateModified":"","dateLastEmailSent":"","totalMembers":5,"activeMembers":4},{"groupID":11,"groupName":"Beta","status":"Active","type":"Dynamic","friendlyName":"Beta","description":"","private":0,"userID":3,"autoResponseEmailID":12,"dateAdded":"2020-01-02 00:00:00","dateModified":"2021-01-01 10:00:00","dateLastEmailSent":"","totalMembers":0,"activeMembers":0}]}}"#;
    const DUPLICATE: &str = r#"{"success":0,"code":400,"errors":["Group name \"Daemon Sync – Team A\" already exists."],"data":{}}"#;

    #[test]
    fn reads_envelopes_records_and_bare_groups() {
        let g = parse_groups(SAVE_SUCCESS).unwrap();
        assert_eq!(g[0].group_id, Some(4242));
        assert_eq!(g[0].external_id.as_deref(), Some("team-a"));
        let g = parse_groups(SEARCH_PAGE).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[1].kind, Some(GroupKind::Dynamic));
        let g = parse_groups(r#"{"groupName":"X","description":"d","private":1,"protected":1,"externalID":"team-a"}"#).unwrap();
        assert_eq!(g[0].group_id, None);
    }

    #[test]
    fn failure_envelope_is_an_error_even_at_http_200() {
        let err = parse_groups(DUPLICATE).unwrap_err();
        assert!(matches!(err, WireError::Failed { code: 400, .. }), "{err}");
        assert!(err.to_string().contains("already exists"));
    }

    #[test]
    fn malformed_input_is_a_typed_error() {
        assert!(matches!(
            parse_groups("{\"groupName\": "),
            Err(WireError::Json(_))
        ));
        let err = parse_groups(r#"{"groupName": 5.5, "groupID": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("groupID"), "{err}");
        let err = parse_groups(r#"[{"groupName": ""}]"#).unwrap_err();
        assert_eq!(err.to_string(), "$[0].groupName: is missing or empty");
    }

    #[test]
    fn paging_continues_while_page_is_below_total_pages() {
        let data = read_envelope(SEARCH_PAGE).unwrap();
        let paging = paging_in(&data).unwrap().unwrap();
        assert_eq!(
            (paging.page, paging.total_pages, paging.next.as_str()),
            (1, 2, "2")
        );
        assert!(has_next_page(&data, 1).unwrap());
        let last = serde_json::json!({"paging": {"page": "2", "totalPages": "2", "next": "", "prev": "1"}, "records": [{}]});
        assert!(!has_next_page(&last, 2).unwrap());
        // An empty page ends the loop whatever the paging block says (§6 fallback).
        let empty = serde_json::json!({"paging": {"page": 3, "totalPages": 9}, "records": []});
        assert!(!has_next_page(&empty, 3).unwrap());
    }

    #[test]
    fn membership_rows_are_read_under_either_documented_key() {
        for key in ["contactResults", "contactsResults"] {
            let data = serde_json::json!({ key: [
                {"contactID": "7", "success": true, "errors": []},
                {"contactID": 8, "success": 0, "errors": ["Contact not found."]},
            ]});
            let rows = contact_results_in(&data).unwrap();
            assert_eq!(
                rows[0],
                ContactResult {
                    contact_id: 7,
                    success: true,
                    errors: vec![]
                }
            );
            assert!(!rows[1].success);
            assert_eq!(rows[1].errors, ["Contact not found."]);
        }
    }

    #[test]
    fn requests_serialise_as_documented() {
        let lookup = serde_json::to_value(GroupLookup::Many(vec![1, 2])).unwrap();
        assert_eq!(lookup, serde_json::json!({"groupIDs": [1, 2]}));
        let archive = GroupArchive {
            group_id: 4242,
            status: "Archived",
            protected: 0,
        };
        let expected: Json =
            serde_json::from_str(r#"{"groupID":4242,"status":"Archived","protected":0}"#).unwrap();
        assert_eq!(serde_json::to_value(archive).unwrap(), expected);
        let row = ContactResult {
            contact_id: 1,
            success: true,
            errors: vec![],
        };
        assert_eq!(serde_json::to_value(row).unwrap()["success"], 1);
    }

    #[test]
    fn an_answer_without_the_envelope_is_a_shape_error() {
        let err = read_envelope(r#"{"groupID": 1}"#).unwrap_err();
        assert!(matches!(err, WireError::Shape { .. }), "{err}");
    }
}
