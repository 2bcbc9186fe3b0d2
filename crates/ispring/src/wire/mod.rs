//! iSpring Learn smart groups on the wire: SOAP 1.1 and REST XML
//! (`../shared/providers/ispring.md` §1 transport, §3 smart-group calls, §4 faults, §7 doc
//! inconsistencies; seeds `001_9683e19e4984e6cf.txt`, `002_fe184bf66e942611.txt`).
//!
//! This module holds the shared shapes (rules, groups, reference data) and the errors;
//! the work is done beside it:
//! - [`xml`]: the XML reader (roxmltree) with sgsync's refusals and limits, read by local
//!   name, errors that name a line;
//! - [`read`]: the answer readers the client uses (`parse_groups`, `parse_add_result`, …);
//! - [`write`]: the request writers (quick-xml's writer): [`SmartGroupPayload::to_xml`],
//!   the SOAP envelope and the credentials.
//!
//! The sandbox reads requests and writes answers with the same pieces; what only a
//! server needs (reading a request, writing a fault) lives in the sandbox crate.
//!
//! Rules are CNF (§3.1): every `<and>` is one clause that must hold; inside it any
//! `<or>`/`<rule>` may hold. The element names label the container, not the operator.

pub mod read;
mod scan;
pub mod write;
pub mod xml;

#[cfg(test)]
mod tests;

pub use read::{
    body_elements, parse_add_group_result, parse_add_result, parse_departments, parse_group_detail,
    parse_group_refs, parse_groups, parse_list_users, parse_profile_fields, parse_success,
    parse_users, read_rules,
};
pub use write::{
    ENVELOPE_NAMESPACE, Param, SERVICE_NAMESPACE, SoapCredentials, XmlWriter, soap_envelope,
    soap_request,
};
pub use xml::{MAX_DEPTH, MAX_ELEMENTS, MAX_NODES, MAX_UNDECLARED_PREFIXES};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum WireError {
    #[error("line {line}: malformed XML: {message}")]
    Malformed { line: usize, message: String },
    /// `found` is the closing tag that came instead (`</rule>`) or "the end of the input".
    #[error("line {line}: <{open}> is never closed (found {found} at line {found_line})")]
    Unclosed {
        open: String,
        line: usize,
        found: String,
        found_line: usize,
    },
    #[error(
        "line {line}: DOCTYPE refused: a document type declaration can define entities, and sgsync never expands them"
    )]
    DocType { line: usize },
    #[error(
        "line {line}: entity reference &{name}; refused: only &lt; &gt; &amp; &apos; &quot; and references to characters XML allows (&#65; or &#x41;) are accepted"
    )]
    Entity { line: usize, name: String },
    #[error("line {line}: elements nested deeper than {limit} levels")]
    TooDeep { line: usize, limit: usize },
    #[error("line {line}: more than {limit} elements in one document")]
    TooManyElements { line: usize, limit: usize },
    /// Elements, text runs, comments and processing instructions together: the cap the
    /// parser itself stops at, so a huge answer costs bounded memory.
    #[error("line {line}: more than {limit} XML nodes (elements, texts, comments) in one document")]
    TooManyNodes { line: usize, limit: usize },
    #[error("{at}: {why}")]
    Shape { at: String, why: String },
    #[error("iSpring answered with a SOAP fault (code \"{code}\"): {message}")]
    Fault { code: String, message: String },
}

impl WireError {
    pub(crate) fn shape(at: impl Into<String>, why: impl Into<String>) -> Self {
        WireError::Shape {
            at: at.into(),
            why: why.into(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rules and groups

/// One `<rule>`. Numbers are kept as sent, documented or not (`attributeType` 7 stays 7):
/// the dialect decides what they mean.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WireRule {
    /// 1 department, 2 group, 3 user profile field (ispring.md §3.1).
    pub attribute_type: u8,
    /// The profile field id for type 3. `None` when absent, empty or blank: the docs send
    /// `<attributeId></attributeId>` and `<attributeId> </attributeId>` for types 1 and 2.
    pub attribute_id: Option<String>,
    /// Departments: 1 only, 2 with descendants; groups and fields: always 1.
    pub operator: u8,
    /// Department id, group id or field value, verbatim (never trimmed).
    pub value: String,
}

/// A rule set as read: nested CNF, or the flat list `getSmartGroupRules` returns
/// without its AND/OR structure (ispring.md §3.4, §7.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rules {
    /// Clauses (`<and>`), each a list of alternatives (`<or>`/`<rule>`).
    Nested(Vec<Vec<WireRule>>),
    Flat(Vec<WireRule>),
}

/// One smart group found in a request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartGroupXml {
    pub id: Option<String>,
    /// Verbatim: the AddSmartGroup sample's name is `" NEW GROUP"`.
    pub name: Option<String>,
    pub rules: Rules,
    /// Shapes read by an inferred reading, in words (`read_rules_noting`).
    pub inferred: Vec<String>,
}

/// What we send to add (or update) a smart group, before the client adds credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartGroupPayload {
    pub name: String,
    /// CNF: every inner list is one `<and>`, each rule one `<or>` in it.
    pub rules: Vec<Vec<WireRule>>,
}

/// What we send to add (or rename) a static group (`addGroup`, `updateGroup`, ispring.md
/// §10.2): a name only; its members are written by the membership calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticGroupPayload {
    pub name: String,
}

/// One page of `ListUsers` (ispring.md §10.3): the users and the token of the next
/// page (`None` on the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersPage {
    pub users: Vec<User>,
    pub next_page_token: Option<String>,
}

/// The first character of `s` that XML 1.0 cannot carry at all (not even as a
/// character reference), e.g. U+0000 or U+0001.
pub fn first_non_xml_char(s: &str) -> Option<char> {
    s.chars().find(|&c| !is_xml_char(c))
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

// ---------------------------------------------------------------------------------------
// Reference data and members

/// One `<group>` of `getGroups` (ispring.md §3.4: id and name only, no `isSmart`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub id: String,
    pub name: String,
}

/// REST `GET /group/{groupId}` (`DetailedGroup`, ispring.md §3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDetail {
    pub id: String,
    pub name: String,
    /// `true/false` in one sample, `0/1` in another (§7.6); `None` when absent.
    pub is_smart: Option<bool>,
    pub user_ids: Vec<String>,
}

/// A user of REST `GET /user` (`UserV2`: `userId`, `fields.email`, `fields.first_name`,
/// `fields.last_name`; the spec shows JSON, the XML element names are [inferred] by
/// the same pattern as the other REST answers: root `<response>`, one `<user>` each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// One `<department>` of `getDepartments` (ispring.md §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub id: String,
    pub name: String,
    pub code: Option<String>,
    /// `None` for the root.
    pub parent_id: Option<String>,
}

/// One `<userFieldInfo>` of `getUserProfileFields` (ispring.md §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileField {
    /// The Field ID used as a rule's `attributeId` (`JOB_TITLE`, `COUNTRY`, …).
    pub id: String,
    pub name: String,
    pub label: String,
    /// `first_name`, `country`, `string`, …
    pub field_type: String,
    /// For the country type: the countries, `name` the display name and `value` the id
    /// (which is which is [inferred], §5.3).
    pub values: Vec<FieldValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldValue {
    pub name: String,
    pub value: String,
}
