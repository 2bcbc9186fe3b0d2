//! emfluence Marketing Platform API v1: group shapes (`../shared/providers/emfluence.md`
//! §2–§4, seed `003_9559f763de08f12d.txt`).
//!
//! Every answer is HTTP 200 with an envelope `{success, code, errors, data, requestID}`;
//! `success: 0` is an error even then. Typing is loose on the wire: booleans arrive as
//! `0`/`1` or `true`/`false`, missing numbers as `""`, ids sometimes as strings. The
//! readers here accept all of those (emfluence.md §2 "Typing quirks").

use serde::Serialize;
use serde_json::Value as Json;
use sgsync_provider::json::{self, JsonError, kind_of};
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
        return groups_in(&required_data(open_envelope(json)?)?, "data");
    }
    groups_in(&json, "$")
}

/// The `data` of an answer, after the envelope said `success: 1` (emfluence.md §2). An
/// answer without `data` is an error here: every reader of `data` needs it, and a
/// missing part must never read as an empty one. The client's calls that ignore
/// `data` (ping, update, archive) use [`read_success`] instead.
pub fn read_envelope(text: &str) -> Result<Json, WireError> {
    required_data(read_success(text)?)
}

/// The `data` of an answer that said `success: 1`, `None` when it has no `data` key.
/// The one envelope reader: the client and every parser here go through it.
pub fn read_success(text: &str) -> Result<Option<Json>, WireError> {
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

/// `data`, which a successful answer read for its payload must hold (§2: "the payload").
/// `data: null`, `{}` or `[]` are kept: each reader says what an empty one means.
pub fn required_data(data: Option<Json>) -> Result<Json, WireError> {
    data.ok_or_else(|| missing("data"))
}

/// A part the answer must hold but does not. Never read as empty, zero or a default: an
/// empty search page would say "no such group" (and a create would follow), an empty
/// member list "nobody is in the group".
pub fn missing(at: impl Into<String>) -> WireError {
    WireError::shape(at, "is missing, though the answer says success")
}

fn open_envelope(mut json: Json) -> Result<Option<Json>, WireError> {
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
    Ok(json.get_mut("data").map(Json::take))
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

/// A search page's `records` (groups/search, contacts/search). The docs give every
/// search answer `{paging, records}` (§3.3, §3.6); "records empty" (§6) is an empty
/// array the server sent. Without `records` (or with `null`) the page is unreadable,
/// not empty: read as empty it would say "no group of that name" and a create would
/// skip its lookup, or "this group has no members".
pub fn records_in<'a>(data: &'a Json, at: &str) -> Result<&'a [Json], WireError> {
    match data.get("records") {
        Some(Json::Array(items)) => Ok(items),
        None | Some(Json::Null) => Err(missing(format!("{at}.records"))),
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
/// `totalPages` decides whether another page is asked for (§6), so a block without it
/// is an error, not "0 pages". `page`, `rpp` and `totalRecords` decide nothing (the page
/// asked stands in for `page`, see [`page_in`]): missing or `""` (the API's "no value",
/// §2) they read as 0.
pub fn paging_in(data: &Json) -> Result<Option<Paging>, WireError> {
    let Some(p) = data.get("paging").filter(|p| !p.is_null()) else {
        return Ok(None);
    };
    let int = |key: &str| -> Result<Option<i64>, WireError> {
        match p.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(v) if v.as_str() == Some("") => Ok(None),
            Some(v) => loose_int(v).map(Some).ok_or_else(|| {
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
        page: int("page")?.unwrap_or(0),
        rpp: int("rpp")?.unwrap_or(0),
        total_pages: int("totalPages")?.ok_or_else(|| missing("data.paging.totalPages"))?,
        total_records: int("totalRecords")?.unwrap_or(0),
        prev: text("prev"),
    }))
}

/// One page of a search answer, as the paging loops need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<'a> {
    pub records: &'a [Json],
    /// Whether to ask for the next page.
    pub more: bool,
    /// `data.paging.totalPages`; `None` on an empty page, which needs no paging.
    pub total_pages: Option<i64>,
}

/// The records of a search page and whether another page follows: `page < totalPages`
/// first, "records empty" as the fallback (emfluence.md §6). `records` is required (see
/// [`records_in`]); so is `paging` on a page that has records, since without it the
/// page cannot say whether it is the last one, and stopping there would silently
/// drop every later page.
pub fn page_in(data: &Json, asked: i64) -> Result<Page<'_>, WireError> {
    let records = records_in(data, "data")?;
    if records.is_empty() {
        return Ok(Page {
            records,
            more: false,
            total_pages: None,
        });
    }
    let paging = paging_in(data)?.ok_or_else(|| missing("data.paging"))?;
    Ok(Page {
        records,
        more: paging.page.max(asked) < paging.total_pages,
        total_pages: Some(paging.total_pages),
    })
}

/// Whether a search should ask for the page after `asked` ([`page_in`]).
pub fn has_next_page(data: &Json, asked: i64) -> Result<bool, WireError> {
    page_in(data, asked).map(|p| p.more)
}

/// The groups of a search page's `records` (§3.3), required.
pub fn search_groups_in(records: &[Json]) -> Result<Vec<Group>, WireError> {
    records
        .iter()
        .enumerate()
        .map(|(i, g)| read_group(g, &format!("data.records[{i}]")))
        .collect()
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
        // Kept tolerant: a member without an email matches no source person (the
        // engine skips it), so it is left in the group, never removed or re-added.
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
/// `contactResults` (field table) and `contactsResults` (inline example), §3.5: both are
/// read. The rows are documented ("same order as input"): an answer without them says
/// nothing about any contact, so it is an error, not "no row failed".
pub fn contact_results_in(data: &Json) -> Result<Vec<ContactResult>, WireError> {
    let rows = match data
        .get("contactResults")
        .or_else(|| data.get("contactsResults"))
    {
        Some(Json::Array(rows)) => rows.as_slice(),
        None | Some(Json::Null) => return Err(missing("data.contactResults")),
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

/// The rows of a membership answer for the contact ids `sent`: one row per id sent
/// (§3.5: "same order as input"). An id without a row is an error naming it: counted as
/// done it would be a member never added (or never removed) that the store records as
/// written.
pub fn contact_results_for(data: &Json, sent: &[i64]) -> Result<Vec<ContactResult>, WireError> {
    let rows = contact_results_in(data)?;
    let answered: std::collections::HashSet<i64> = rows.iter().map(|r| r.contact_id).collect();
    let unanswered: Vec<i64> = sent
        .iter()
        .copied()
        .filter(|id| !answered.contains(id))
        .collect();
    if !unanswered.is_empty() {
        return Err(WireError::shape(
            "data.contactResults",
            format!(
                "has no row for contactID {} ({} contact ids sent, {} rows answered)",
                first_few(&unanswered),
                sent.len(),
                rows.len()
            ),
        ));
    }
    Ok(rows)
}

/// The groups of a `groups/lookup {groupIDs}` answer (§3.2), which must hold every id
/// asked for: the ids come from a search that just found them, and a group left out
/// could be ours, so a `find_by_key` that dropped it would let a duplicate be created.
/// An empty `data` (`[]`, `{}`, `null`) is an answer that holds none of them.
pub fn lookup_groups_in(data: &Json, asked: &[i64]) -> Result<Vec<Group>, WireError> {
    let groups = lookup_found_in(data)?;
    let absent: Vec<i64> = asked
        .iter()
        .copied()
        .filter(|id| !groups.iter().any(|g| g.group_id == Some(*id)))
        .collect();
    if !absent.is_empty() {
        return Err(WireError::shape(
            "data",
            format!(
                "has no group for groupID {} ({} asked for, {} answered)",
                first_few(&absent),
                asked.len(),
                groups.len()
            ),
        ));
    }
    Ok(groups)
}

/// The groups a `groups/lookup {groupIDs}` answer holds, however many of those asked
/// for it leaves out (an empty `data` holds none): for a caller that looks each absent
/// one up alone.
pub fn lookup_found_in(data: &Json) -> Result<Vec<Group>, WireError> {
    let empty = match data {
        Json::Null => true,
        Json::Object(o) => o.is_empty(),
        Json::Array(a) => a.is_empty(),
        _ => false,
    };
    if empty {
        Ok(Vec::new())
    } else {
        groups_in(data, "data")
    }
}

/// The group of a `groups/lookup {groupID}` answer (§3.2), `None` when `data` is empty
/// (`{}`, `[]`, `null`, `false`, `""`). What the API answers for an unknown id is
/// unknown (§3.2); the vendor library turns an empty object into FALSE (§2), so an empty
/// `data` is read as "no such group", as before. An answer without `data` at all is
/// refused earlier ([`read_envelope`]). A group without `groupID` (the full object
/// always has one, §4) is an error: the client writes to the id the answer names, and
/// a `groups/save` without `groupID` creates (§3.1).
pub fn lookup_one_in(data: &Json, asked: i64) -> Result<Option<Group>, WireError> {
    let empty = match data {
        Json::Null | Json::Bool(false) => true,
        Json::Object(o) => o.is_empty(),
        Json::Array(a) => a.is_empty(),
        Json::String(s) => s.is_empty(),
        _ => false,
    };
    if empty {
        return Ok(None);
    }
    let groups = groups_in(data, "data")?;
    if let Some(g) = groups.iter().find(|g| g.group_id == Some(asked)) {
        return Ok(Some(g.clone()));
    }
    match groups.first().map(|g| g.group_id) {
        Some(Some(other)) => Err(WireError::shape(
            "data.groupID",
            format!("is {other}, not the {asked} asked for"),
        )),
        // A non-empty `data` always holds a group here (groups_in refuses the rest).
        _ => Err(missing("data.groupID")),
    }
}

/// `1, 2, 3, 4, 5 and 7 more`: ids for a message, never an unbounded list.
fn first_few(ids: &[i64]) -> String {
    const SHOWN: usize = 5;
    let shown: Vec<String> = ids.iter().take(SHOWN).map(i64::to_string).collect();
    match ids.len().saturating_sub(SHOWN) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
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
mod tests;
