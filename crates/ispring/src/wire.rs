//! iSpring Learn smart groups on the wire: SOAP 1.1 and REST XML
//! (`../shared/providers/ispring.md` §1 transport, §3 smart-group calls, §4 faults, §7 doc
//! inconsistencies; seeds `001_9683e19e4984e6cf.txt`, `002_fe184bf66e942611.txt`).
//!
//! The XML is read into a tiny element tree by our own reader over quick-xml events, so
//! every refusal is ours and names a line:
//! - elements are matched by **local name** only: the samples use `SOAP-ENV:`, `soap:`,
//!   `ns1:` or a default namespace, with `http://`, `https://` and even the placeholder
//!   `new.webservice.namespace` as URIs (§1 "Prefixes", §7.2, §7.3);
//! - no DOCTYPE and no entity other than the five predefined ones and character
//!   references, so nothing is ever expanded (no "billion laughs");
//! - bounded depth and element count; mismatched and unclosed tags are reported with the
//!   names and lines of both ends (the current AddSmartGroup sample has
//!   `<attributeType>1<attributeType>`, §3.2, §7.1).
//!
//! Rules are CNF (§3.1): every `<and>` is one clause that must hold; inside it any
//! `<or>`/`<rule>` may hold. The element names label the container, not the operator.

use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use std::fmt::Write as _;
use thiserror::Error;

/// Deepest element nesting accepted; a SOAP smart-group request needs 9.
pub const MAX_DEPTH: usize = 64;
/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 100_000;
/// The service namespace we emit: `http://`, as the older pages and the real server
/// almost certainly use (ispring.md §1, §7.3).
pub const SERVICE_NAMESPACE: &str = "http://ispringlearn.com/go/services/api/soap";

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
        "line {line}: entity reference &{name}; refused: only &lt; &gt; &amp; &apos; &quot; and numeric character references are accepted"
    )]
    Entity { line: usize, name: String },
    #[error("line {line}: elements nested deeper than {limit} levels")]
    TooDeep { line: usize, limit: usize },
    #[error("line {line}: more than {limit} elements in one document")]
    TooManyElements { line: usize, limit: usize },
    #[error("{at}: {why}")]
    Shape { at: String, why: String },
    #[error("iSpring answered with a SOAP fault (code {code:?}): {message}")]
    Fault { code: String, message: String },
}

impl WireError {
    fn shape(at: impl Into<String>, why: impl Into<String>) -> Self {
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

impl WireRule {
    /// The rule as a compact, escaped `<rule>…</rule>` fragment: how a rule the dialect
    /// does not understand is kept inside a canonical opaque node.
    pub fn to_fragment(&self) -> String {
        let mut out = String::from("<rule>");
        self.write_children(&mut out, "");
        out.push_str("</rule>");
        out
    }

    /// Reads a fragment written by [`WireRule::to_fragment`] (or any single `<rule>`).
    pub fn from_fragment(text: &str) -> Result<WireRule, WireError> {
        let root = parse_tree(text)?;
        if root.name != "rule" {
            return Err(WireError::shape(
                format!("line {}: <{}>", root.line, root.qname),
                "expected a <rule> fragment",
            ));
        }
        parse_rule(&root)
    }

    /// The four children in the documented order, each on its own line after `indent`
    /// (or all on one line when `indent` is empty). `attributeId` is always written,
    /// empty for types 1 and 2, as the docs do.
    fn write_children(&self, out: &mut String, indent: &str) {
        let nl = if indent.is_empty() { "" } else { "\n" };
        let id = self.attribute_id.as_deref().unwrap_or("");
        let _ = write!(
            out,
            "{nl}{indent}<attributeType>{}</attributeType>\
             {nl}{indent}<attributeId>{}</attributeId>\
             {nl}{indent}<operator>{}</operator>\
             {nl}{indent}<value>{}</value>{nl}",
            self.attribute_type,
            xml_text(id),
            self.operator,
            xml_text(&self.value),
        );
    }
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
}

/// What we send to add (or update) a smart group, before the client adds credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartGroupPayload {
    pub name: String,
    /// CNF: every inner list is one `<and>`, each rule one `<or>` in it.
    pub rules: Vec<Vec<WireRule>>,
}

impl SmartGroupPayload {
    /// An indented `<AddSmartGroupRequest>` element with `name` then `rules`, in the
    /// documented child order (ispring.md §1 "Child order"). Leaf text is written inline
    /// so reading it back gains no indentation.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "<AddSmartGroupRequest xmlns=\"{SERVICE_NAMESPACE}\">");
        let _ = writeln!(out, "  <name>{}</name>", xml_text(&self.name));
        out.push_str("  <rules>\n");
        for clause in &self.rules {
            out.push_str("    <and>\n");
            for rule in clause {
                out.push_str("      <or>\n        <rule>");
                rule.write_children(&mut out, "          ");
                out.push_str("        </rule>\n      </or>\n");
            }
            out.push_str("    </and>\n");
        }
        out.push_str("  </rules>\n</AddSmartGroupRequest>\n");
        out
    }
}

/// Text content escaped for XML. quick-xml escapes the markup characters; a carriage
/// return must also become a character reference, or every XML reader (ours included)
/// turns it into a line feed (XML 1.0 §2.11).
fn xml_text(s: &str) -> String {
    escape(s).replace('\r', "&#13;")
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
// Readers

/// Every smart group in `text`: a SOAP envelope whose Body holds `AddSmartGroupRequest`,
/// `updateSmartGroupRequest` (either case) or `GetSmartGroupRulesResult`; the REST
/// `<response><smartGroupRules>…` and `<request><name/><rules>…` bodies; a bare
/// `<AddSmartGroupRequest>` (what [`SmartGroupPayload::to_xml`] writes) or a bare
/// `<rules>`. Credentials are ignored. A SOAP fault anywhere is [`WireError::Fault`].
pub fn parse_groups(text: &str) -> Result<Vec<SmartGroupXml>, WireError> {
    let root = parse_tree(text)?;
    check_fault(&root)?;
    let mut groups = Vec::new();
    for candidate in body_elements(&root)? {
        read_groups(candidate, &mut groups)?;
    }
    Ok(groups)
}

/// The new group's id from an `AddSmartGroupResult` (ispring.md §3.2).
pub fn parse_add_result(text: &str) -> Result<String, WireError> {
    let root = parse_tree(text)?;
    check_fault(&root)?;
    let result = root
        .find(&|e| e.name.eq_ignore_ascii_case("AddSmartGroupResult"))
        .ok_or_else(|| WireError::shape("response", "has no <AddSmartGroupResult>"))?;
    let id = result.child("groupId")?.ok_or_else(|| {
        WireError::shape(
            format!("line {}: <{}>", result.line, result.qname),
            "has no <groupId>",
        )
    })?;
    let trimmed = id.text.trim();
    if trimmed.is_empty() {
        return Err(WireError::shape(
            format!("line {}: <groupId>", id.line),
            "is empty",
        ));
    }
    Ok(trimmed.to_owned())
}

/// The `success` flag of `updateSmartGroupResult`, `SuccessResult` or `successResult`
/// (the wrapper's spelling varies between pages, ispring.md §1, §7.4).
pub fn parse_success(text: &str) -> Result<bool, WireError> {
    let root = parse_tree(text)?;
    check_fault(&root)?;
    let result = root
        .find(&|e| {
            e.name.eq_ignore_ascii_case("updateSmartGroupResult")
                || e.name.eq_ignore_ascii_case("SuccessResult")
        })
        .ok_or_else(|| {
            WireError::shape(
                "response",
                "has no <updateSmartGroupResult>, <SuccessResult> or <successResult>",
            )
        })?;
    let flag = result.child("success")?.ok_or_else(|| {
        WireError::shape(
            format!("line {}: <{}>", result.line, result.qname),
            "has no <success>",
        )
    })?;
    parse_bool(flag)
}

/// A SOAP 1.1 `Fault` (`faultcode`/`faultstring`; iSpring sends the unqualified,
/// lower-case code `client`, ispring.md §4), or a SOAP 1.2 one (`Code/Value`,
/// `Reason/Text`) should the server ever answer so.
fn check_fault(root: &Element) -> Result<(), WireError> {
    let Some(fault) = root.find(&|e| e.name == "Fault") else {
        return Ok(());
    };
    let text_of = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| fault.find(&|e| e.name == *n))
            .map(|e| e.text.trim().to_owned())
            .unwrap_or_default()
    };
    let mut code = text_of(&["faultcode"]);
    if code.is_empty()
        && let Some(c) = fault.find(&|e| e.name == "Code")
    {
        code = c
            .find(&|e| e.name == "Value")
            .map(|v| v.text.trim().to_owned())
            .unwrap_or_default();
    }
    let mut message = text_of(&["faultstring"]);
    if message.is_empty() {
        message = text_of(&["Text"]);
    }
    Err(WireError::Fault { code, message })
}

/// The elements that may hold groups: the Body's children in an envelope, else the root.
fn body_elements(root: &Element) -> Result<Vec<&Element>, WireError> {
    if root.name != "Envelope" {
        return Ok(vec![root]);
    }
    let body = root.child("Body")?.ok_or_else(|| {
        WireError::shape(
            format!("line {}: <{}>", root.line, root.qname),
            "has no <Body>",
        )
    })?;
    if body.children.is_empty() {
        return Err(WireError::shape(
            format!("line {}: <{}>", body.line, body.qname),
            "is empty",
        ));
    }
    Ok(body.children.iter().collect())
}

fn read_groups(e: &Element, out: &mut Vec<SmartGroupXml>) -> Result<(), WireError> {
    let name = e.name.as_str();
    if name.eq_ignore_ascii_case("AddSmartGroupRequest")
        || name.eq_ignore_ascii_case("UpdateSmartGroupRequest")
        || name == "request"
        || name == "smartGroupRules"
    {
        out.push(read_group(e)?);
    } else if name.eq_ignore_ascii_case("GetSmartGroupRulesResult") {
        out.push(read_flat_result(e)?);
    } else if name == "response" {
        let before = out.len();
        for child in e.children.iter().filter(|c| c.name == "smartGroupRules") {
            out.push(read_group(child)?);
        }
        if out.len() == before {
            // REST errors come as `<response><code/><message/></response>` (ispring.md §3.4).
            if let (Some(code), Some(message)) = (e.child("code")?, e.child("message")?) {
                return Err(WireError::Fault {
                    code: code.text.trim().to_owned(),
                    message: message.text.trim().to_owned(),
                });
            }
            return Err(WireError::shape(
                format!("line {}: <response>", e.line),
                "has no <smartGroupRules>",
            ));
        }
    } else if name == "rules" {
        out.push(SmartGroupXml {
            id: None,
            name: None,
            rules: read_rules(e)?,
        });
    } else {
        return Err(WireError::shape(
            format!("line {}: <{}>", e.line, e.qname),
            "is not a smart-group request or response this reader knows",
        ));
    }
    Ok(())
}

/// A request or REST record: `name`, `groupId`, `rules` (credentials ignored).
fn read_group(e: &Element) -> Result<SmartGroupXml, WireError> {
    let rules = e.child("rules")?.ok_or_else(|| {
        WireError::shape(format!("line {}: <{}>", e.line, e.qname), "has no <rules>")
    })?;
    Ok(SmartGroupXml {
        id: e.child("groupId")?.and_then(|g| non_blank(&g.text)),
        name: e.child("name")?.map(|n| n.text.clone()),
        rules: read_rules(rules)?,
    })
}

/// `GetSmartGroupRulesResult`: a flat list of `<rule>`, each may carry the `groupId`
/// (ispring.md §3.4).
fn read_flat_result(e: &Element) -> Result<SmartGroupXml, WireError> {
    if let Some(rules) = e.child("rules")? {
        return Ok(SmartGroupXml {
            id: e.child("groupId")?.and_then(|g| non_blank(&g.text)),
            name: None,
            rules: read_rules(rules)?,
        });
    }
    let mut id = e.child("groupId")?.and_then(|g| non_blank(&g.text));
    // An empty result is kept (`Rules::Flat(vec![])`): the element the answer must
    // hold is there, and the dialect reads "no rules" as uncertain, never as a
    // certain "everyone" (ispring/dialect.rs).
    let mut rules = Vec::new();
    for child in &e.children {
        match child.name.as_str() {
            "rule" => {
                if id.is_none() {
                    id = child.child("groupId")?.and_then(|g| non_blank(&g.text));
                }
                rules.push(parse_rule(child)?);
            }
            "groupId" => {}
            _ => return Err(unexpected(child, e)),
        }
    }
    Ok(SmartGroupXml {
        id,
        name: None,
        rules: Rules::Flat(rules),
    })
}

/// `<rules>` → `<and>`+ → `<or>`+ → `<rule>`. A `<rules>` holding only `<rule>`s is read
/// as the flat form; several `<rule>`s in one `<or>`, or a `<rule>` directly in an
/// `<and>`, are read as alternatives of that clause (ispring.md §3.1, [inferred]).
fn read_rules(rules: &Element) -> Result<Rules, WireError> {
    if !rules.children.is_empty() && rules.children.iter().all(|c| c.name == "rule") {
        return rules
            .children
            .iter()
            .map(parse_rule)
            .collect::<Result<_, _>>()
            .map(Rules::Flat);
    }
    let mut clauses = Vec::new();
    for and in &rules.children {
        if and.name != "and" {
            return Err(unexpected(and, rules));
        }
        let mut clause = Vec::new();
        for or in &and.children {
            match or.name.as_str() {
                "or" => {
                    let before = clause.len();
                    for rule in &or.children {
                        if rule.name != "rule" {
                            return Err(unexpected(rule, or));
                        }
                        clause.push(parse_rule(rule)?);
                    }
                    if clause.len() == before {
                        return Err(WireError::shape(
                            format!("line {}: <{}>", or.line, or.qname),
                            "has no <rule>",
                        ));
                    }
                }
                "rule" => clause.push(parse_rule(or)?),
                _ => return Err(unexpected(or, and)),
            }
        }
        if clause.is_empty() {
            // An empty clause would be "no one"; iSpring requires 1..n <or> (§3.1).
            return Err(WireError::shape(
                format!("line {}: <{}>", and.line, and.qname),
                "has no <or>",
            ));
        }
        clauses.push(clause);
    }
    if clauses.is_empty() {
        return Err(WireError::shape(
            format!("line {}: <{}>", rules.line, rules.qname),
            "has no <and>: iSpring requires at least one group of conditions (ispring.md §3.1)",
        ));
    }
    Ok(Rules::Nested(clauses))
}

fn parse_rule(e: &Element) -> Result<WireRule, WireError> {
    let at = format!("line {}: <{}>", e.line, e.qname);
    for child in &e.children {
        if !matches!(
            child.name.as_str(),
            "attributeType" | "attributeId" | "operator" | "value" | "groupId"
        ) {
            return Err(unexpected(child, e));
        }
    }
    let required = |name: &str| {
        e.child(name)?
            .ok_or_else(|| WireError::shape(at.clone(), format!("has no <{name}>")))
    };
    let integer = |name: &str| -> Result<u8, WireError> {
        let child = required(name)?;
        child.text.trim().parse::<u8>().map_err(|_| {
            WireError::shape(
                format!("line {}: <{}>", child.line, child.qname),
                format!("is not an integer from 0 to 255: {:?}", child.text),
            )
        })
    };
    Ok(WireRule {
        attribute_type: integer("attributeType")?,
        attribute_id: e.child("attributeId")?.and_then(|a| non_blank(&a.text)),
        operator: integer("operator")?,
        value: required("value")?.text.clone(),
    })
}

fn non_blank(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_owned())
}

fn unexpected(child: &Element, parent: &Element) -> WireError {
    WireError::shape(
        format!("line {}: <{}>", child.line, child.qname),
        format!("unexpected inside <{}>", parent.qname),
    )
}

// ---------------------------------------------------------------------------------------
// SOAP requests and responses beyond smart groups (client.rs and sandbox.rs)

/// The SOAP 1.1 envelope namespace (ispring.md §1; the `https://` spelling on current
/// pages is a doc slip, §7.3).
pub const ENVELOPE_NAMESPACE: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// What goes inside `<credentials>` (ispring.md §2.1). Borrowed, so a secret is only
/// ever copied into the request body it belongs in.
pub enum SoapCredentials<'a> {
    Login {
        account_url: &'a str,
        email: &'a str,
        password: &'a str,
    },
    Token(&'a str),
}

/// One parameter of a request element, written after `<credentials>` in this order.
pub enum Param<'a> {
    Text(&'static str, &'a str),
    /// CNF rules: every inner list one `<and>`, each rule one `<or>`.
    Rules(&'a [Vec<WireRule>]),
}

/// An indenting XML writer for our own element names; every text node goes through
/// quick-xml's escaping ([`xml_text`]), never raw into the markup.
#[derive(Default)]
pub struct XmlWriter {
    out: String,
    depth: usize,
}

impl XmlWriter {
    pub fn new() -> Self {
        XmlWriter::default()
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    /// `<name>` (with `xmlns` when given) on its own line.
    pub fn open(&mut self, name: &str, xmlns: Option<&str>) -> &mut Self {
        self.indent();
        match xmlns {
            Some(ns) => {
                let _ = writeln!(self.out, "<{name} xmlns=\"{}\">", xml_text(ns));
            }
            None => {
                let _ = writeln!(self.out, "<{name}>");
            }
        }
        self.depth += 1;
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        let _ = writeln!(self.out, "</{name}>");
        self
    }

    /// `<name>text</name>`, the text escaped.
    pub fn leaf(&mut self, name: &str, text: &str) -> &mut Self {
        self.indent();
        let _ = writeln!(self.out, "<{name}>{}</{name}>", xml_text(text));
        self
    }

    /// `<rules>` in the documented CNF shape (ispring.md §3.1).
    pub fn rules(&mut self, clauses: &[Vec<WireRule>]) -> &mut Self {
        self.open("rules", None);
        for clause in clauses {
            self.open("and", None);
            for rule in clause {
                self.open("or", None).open("rule", None);
                self.rule_children(rule);
                self.close("rule").close("or");
            }
            self.close("and");
        }
        self.close("rules")
    }

    /// A flat `<rule>` with its `groupId`, as `getSmartGroupRules` answers (§3.4).
    pub fn flat_rule(&mut self, group_id: &str, rule: &WireRule) -> &mut Self {
        self.open("rule", None).leaf("groupId", group_id);
        self.rule_children(rule);
        self.close("rule")
    }

    fn rule_children(&mut self, rule: &WireRule) {
        self.leaf("attributeType", &rule.attribute_type.to_string())
            .leaf("attributeId", rule.attribute_id.as_deref().unwrap_or(""))
            .leaf("operator", &rule.operator.to_string())
            .leaf("value", &rule.value);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A SOAP 1.1 envelope around `body` (already XML), with `namespace` as the default
/// namespace of the Body's children, as the samples print it (ispring.md §1).
pub fn soap_envelope(namespace: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <SOAP-ENV:Envelope xmlns:SOAP-ENV=\"{ENVELOPE_NAMESPACE}\" xmlns=\"{}\">\n\
         <SOAP-ENV:Body>\n{body}</SOAP-ENV:Body>\n</SOAP-ENV:Envelope>\n",
        xml_text(namespace)
    )
}

/// A whole request: `<{element}>` with `<credentials>` first, then `params` in order
/// (ispring.md §1 "Child order": a WSDL-generated server likely checks the sequence).
pub fn soap_request(
    element: &str,
    credentials: &SoapCredentials<'_>,
    params: &[Param<'_>],
) -> String {
    let mut w = XmlWriter::new();
    w.open(element, None).open("credentials", None);
    match credentials {
        SoapCredentials::Login {
            account_url,
            email,
            password,
        } => {
            w.leaf("accountUrl", account_url)
                .leaf("email", email)
                .leaf("password", password);
        }
        SoapCredentials::Token(token) => {
            w.leaf("token", token);
        }
    }
    w.close("credentials");
    for param in params {
        match param {
            Param::Text(name, text) => w.leaf(name, text),
            Param::Rules(clauses) => w.rules(clauses),
        };
    }
    w.close(element);
    soap_envelope(SERVICE_NAMESPACE, &w.finish())
}

/// The documented fault shape: unqualified lower-case `faultcode`, no `detail`
/// (ispring.md §4).
pub fn soap_fault(code: &str, message: &str) -> String {
    let mut w = XmlWriter::new();
    w.open("SOAP-ENV:Fault", None)
        .leaf("faultcode", code)
        .leaf("faultstring", message)
        .close("SOAP-ENV:Fault");
    soap_envelope(SERVICE_NAMESPACE, &w.finish())
}

/// The `<credentials>` of a request as the sandbox reads them. Debug never shows the
/// password or token.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CredentialsXml {
    pub account_url: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
}

impl std::fmt::Debug for CredentialsXml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "[REDACTED]");
        f.debug_struct("CredentialsXml")
            .field("account_url", &self.account_url)
            .field("email", &self.email)
            .field("password", &hidden(&self.password))
            .field("token", &hidden(&self.token))
            .finish()
    }
}

/// One SOAP request as a server reads it: the Body's first element by local name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapCall {
    /// Local name of the request element, e.g. `AddSmartGroupRequest`.
    pub method: String,
    /// `None` when the request has no `<credentials>`.
    pub credentials: Option<CredentialsXml>,
    /// Whether `<credentials>` is the request element's first child (§1 "Child order").
    pub credentials_first: bool,
    pub group_id: Option<String>,
    pub name: Option<String>,
    pub rules: Option<Rules>,
}

/// Reads a SOAP request envelope (any prefix, any namespace URI; ispring.md §1, §7).
pub fn parse_soap_call(text: &str) -> Result<SoapCall, WireError> {
    let root = parse_tree(text)?;
    if root.name != "Envelope" {
        return Err(WireError::shape(
            format!("line {}: <{}>", root.line, root.qname),
            "is not a SOAP Envelope",
        ));
    }
    let call = body_elements(&root)?
        .into_iter()
        .next()
        .ok_or_else(|| WireError::shape("Body", "is empty"))?;
    let credentials = match call.child("credentials")? {
        None => None,
        Some(c) => {
            let text_of = |name: &str| -> Result<Option<String>, WireError> {
                Ok(c.child(name)?.map(|e| e.text.trim().to_owned()))
            };
            Some(CredentialsXml {
                account_url: text_of("accountUrl")?,
                email: text_of("email")?,
                password: text_of("password")?,
                token: text_of("token")?,
            })
        }
    };
    Ok(SoapCall {
        method: call.name.clone(),
        credentials_first: call
            .children
            .first()
            .is_some_and(|c| c.name == "credentials"),
        credentials,
        group_id: call.child("groupId")?.map(|g| g.text.trim().to_owned()),
        name: call.child("name")?.map(|n| n.text.clone()),
        rules: call.child("rules")?.map(read_rules).transpose()?,
    })
}

/// One `<group>` of `getGroups` (ispring.md §3.4: id and name only, no `isSmart`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub id: String,
    pub name: String,
}

/// Every `<group>` in a `getGroups` answer, wherever its wrapper puts them inside the
/// `GetGroupsResult` (see [`result_element`]). Each needs its `<groupId>` and its
/// `<name>` element: a group read without its name would be missed by every lookup by
/// name, and the create that follows would make a second one.
pub fn parse_group_refs(text: &str) -> Result<Vec<GroupRef>, WireError> {
    let root = parse_tree(text)?;
    check_fault(&root)?;
    let result = result_element(&root, "GetGroupsResult")?;
    let mut groups = Vec::new();
    for e in result.find_all("group") {
        groups.push(GroupRef {
            id: required_text(e, "groupId")?,
            name: required(e, "name")?.text.clone(),
        });
    }
    Ok(groups)
}

/// The result element of a SOAP answer, found by local name in any letter case (the
/// docs spell the same wrapper `SuccessResult` and `successResult`, ispring.md §1,
/// §7.4). Every SOAP answer's Body holds one, named after the method in PascalCase +
/// `Result` (§1 "Element naming", no `…Response` wrapper). An answer without it is an
/// error, not an empty list: read as empty, a list of groups would say "no group of
/// that name" (and a create would skip its lookup) or "every group was deleted". An
/// empty result element the server sent (`<GetGroupsResult/>`) is a valid empty list.
fn result_element<'a>(root: &'a Element, name: &str) -> Result<&'a Element, WireError> {
    root.find(&|e| e.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| WireError::shape("response", format!("has no <{name}>")))
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

/// Reads `<response><groupId/><name/><userIds>…</userIds><isSmart/></response>`; the
/// item element inside `userIds` is not documented, so any child counts. `userIds` is
/// part of the documented `DetailedGroup` (§3.4): without it the members are unknown,
/// not none (read as none, every member would look removed). Only when `usersCount`
/// says 0 may it be left out: an empty array can vanish from XML.
pub fn parse_group_detail(text: &str) -> Result<GroupDetail, WireError> {
    let root = parse_tree(text)?;
    check_fault(&root)?;
    rest_error(&root)?;
    let is_smart = match root.child("isSmart")? {
        None => None,
        Some(e) => Some(parse_bool(e)?),
    };
    let user_ids = match root.child("userIds")? {
        None if root
            .child("usersCount")?
            .is_some_and(|n| n.text.trim() == "0") =>
        {
            Vec::new()
        }
        None => {
            return Err(WireError::shape(
                format!("line {}: <{}>", root.line, root.qname),
                "has no <userIds> (and no <usersCount> of 0)",
            ));
        }
        Some(ids) => ids
            .children
            .iter()
            .map(|c| c.text.trim().to_owned())
            .collect(),
    };
    Ok(GroupDetail {
        id: required_text(&root, "groupId")?,
        name: root
            .child("name")?
            .map(|n| n.text.clone())
            .unwrap_or_default(),
        is_smart,
        user_ids,
    })
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

/// The users of a REST user list: `<response>` (the REST answers' root, §3.4) holding
/// `<user>` items, or the older `GET /user` answer `<users><userProfile>…` (§10.3);
/// both item names are read under either root. Any other document is an error, not
/// an empty list: read as empty, the source group would have no members and every
/// member of its target would be removed.
pub fn parse_users(text: &str) -> Result<Vec<User>, WireError> {
    let root = parse_tree(text)?;
    check_fault(&root)?;
    rest_error(&root)?;
    if root.name != "response" && root.name != "users" {
        return Err(WireError::shape(
            format!("line {}: <{}>", root.line, root.qname),
            "is not a user list (<response> or <users>)",
        ));
    }
    let mut items = root.find_all("user");
    items.extend(root.find_all("userProfile"));
    items.sort_by_key(|u| u.line);
    items
        .into_iter()
        .map(|u| {
            let field = |name: &str| -> Result<Option<String>, WireError> {
                let Some(fields) = u.child("fields")? else {
                    return Ok(None);
                };
                Ok(fields
                    .child(name)?
                    .map(|e| e.text.trim().to_owned())
                    .filter(|t| !t.is_empty()))
            };
            Ok(User {
                id: required_text(u, "userId")?,
                email: field("email")?,
                first_name: field("first_name")?,
                last_name: field("last_name")?,
            })
        })
        .collect()
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

/// The departments of a `getDepartments` answer, inside its `GetDepartmentsResult`
/// ([`result_element`]). `departmentId` and `name` are required (rules name
/// departments by id, people by name); `code` and `parentDepartmentId` are optional
/// (the root has no parent, §5.1).
pub fn parse_departments(text: &str) -> Result<Vec<Department>, WireError> {
    let root = parse_tree(text)?;
    check_fault(&root)?;
    result_element(&root, "GetDepartmentsResult")?
        .find_all("department")
        .into_iter()
        .map(|e| {
            Ok(Department {
                id: required_text(e, "departmentId")?,
                name: required(e, "name")?.text.clone(),
                code: e.child("code")?.and_then(|c| non_blank(c.text.trim())),
                parent_id: e
                    .child("parentDepartmentId")?
                    .and_then(|p| non_blank(p.text.trim())),
            })
        })
        .collect()
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

/// The fields of a `getUserProfileFields` answer, inside its
/// `GetUserProfileFieldsResult` (§5.3, [`result_element`]). Required: the id (a rule's
/// `attributeId`), the `type` (it says whether `values` are countries) and, in each
/// `values/field`, both `name` and `value` (a country's id must not read as `""`).
/// `values` itself is optional (§5.3); `name` and `label` are display text, read as
/// `""` when absent.
pub fn parse_profile_fields(text: &str) -> Result<Vec<ProfileField>, WireError> {
    let root = parse_tree(text)?;
    check_fault(&root)?;
    let text_of = |e: &Element, name: &str| -> Result<String, WireError> {
        Ok(e.child(name)?
            .map(|n| n.text.trim().to_owned())
            .unwrap_or_default())
    };
    let required_of = |e: &Element, name: &str| -> Result<String, WireError> {
        Ok(required(e, name)?.text.trim().to_owned())
    };
    result_element(&root, "GetUserProfileFieldsResult")?
        .find_all("userFieldInfo")
        .into_iter()
        .map(|e| {
            let values = match e.child("values")? {
                None => Vec::new(),
                Some(v) => v
                    .find_all("field")
                    .into_iter()
                    .map(|f| {
                        Ok(FieldValue {
                            name: required_of(f, "name")?,
                            value: required_of(f, "value")?,
                        })
                    })
                    .collect::<Result<_, WireError>>()?,
            };
            Ok(ProfileField {
                id: required_text(e, "userFieldInfoId")?,
                name: text_of(e, "name")?,
                label: text_of(e, "label")?,
                field_type: required_of(e, "type")?,
                values,
            })
        })
        .collect()
}

/// A REST error body `<response><code/><message/></response>` (ispring.md §3.4).
fn rest_error(root: &Element) -> Result<(), WireError> {
    if root.name == "response"
        && let (Some(code), Some(message)) = (root.child("code")?, root.child("message")?)
    {
        return Err(WireError::Fault {
            code: code.text.trim().to_owned(),
            message: message.text.trim().to_owned(),
        });
    }
    Ok(())
}

/// The child `name` of `e`, which must be there (its text may be empty).
fn required<'a>(e: &'a Element, name: &str) -> Result<&'a Element, WireError> {
    e.child(name)?.ok_or_else(|| {
        WireError::shape(
            format!("line {}: <{}>", e.line, e.qname),
            format!("has no <{name}>"),
        )
    })
}

fn required_text(e: &Element, name: &str) -> Result<String, WireError> {
    let child = required(e, name)?;
    let text = child.text.trim();
    if text.is_empty() {
        return Err(WireError::shape(
            format!("line {}: <{}>", child.line, child.qname),
            "is empty",
        ));
    }
    Ok(text.to_owned())
}

fn parse_bool(e: &Element) -> Result<bool, WireError> {
    match e.text.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(WireError::shape(
            format!("line {}: <{}>", e.line, e.qname),
            format!("is not true, false, 1 or 0: {other:?}"),
        )),
    }
}

// ---------------------------------------------------------------------------------------
// The element tree

#[derive(Debug)]
struct Element {
    /// Local name, prefix removed: what every lookup matches on.
    name: String,
    /// Name as written (with prefix): what a closing tag must repeat, and what messages show.
    qname: String,
    /// Character data directly inside this element, entities resolved, verbatim.
    text: String,
    children: Vec<Element>,
    /// 1-based line of the start tag.
    line: usize,
}

impl Element {
    /// The only child called `name`; two of them is an error (which one would count?).
    fn child(&self, name: &str) -> Result<Option<&Element>, WireError> {
        let mut found = self.children.iter().filter(|c| c.name == name);
        let first = found.next();
        if let Some(second) = found.next() {
            return Err(WireError::shape(
                format!("line {}: <{}>", second.line, second.qname),
                format!("appears twice in <{}>", self.qname),
            ));
        }
        Ok(first)
    }

    /// Every descendant (depth first, not this element) with local name `name`.
    fn find_all(&self, name: &str) -> Vec<&Element> {
        let mut out = Vec::new();
        for c in &self.children {
            if c.name == name {
                out.push(c);
            } else {
                out.extend(c.find_all(name));
            }
        }
        out
    }

    /// This element or its first descendant (depth first) that matches.
    fn find(&self, pred: &dyn Fn(&Element) -> bool) -> Option<&Element> {
        if pred(self) {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(pred))
    }
}

/// Turns byte offsets into 1-based line numbers, counting forward incrementally so a
/// 10 MB document is scanned once.
struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            bytes: text.as_bytes(),
            pos: 0,
            line: 1,
        }
    }

    fn at(&mut self, offset: u64) -> usize {
        let target = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        if target < self.pos {
            // Error offsets may point back; recount from the start (once, on failure).
            self.pos = 0;
            self.line = 1;
        }
        self.line += self.bytes[self.pos..target]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.pos = target;
        self.line
    }
}

fn parse_tree(text: &str) -> Result<Element, WireError> {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    // We check closing tags ourselves, to name both ends with their lines.
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.check_comments = true;
    let mut lines = Lines::new(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let start = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                let line = lines.at(reader.error_position());
                return Err(WireError::Malformed {
                    line,
                    message: e.to_string(),
                });
            }
        };
        let line = lines.at(start);
        // An empty-element tag `<x/>` opens and closes at once.
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(tag) | Event::Empty(tag) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(WireError::TooManyElements {
                        line,
                        limit: MAX_ELEMENTS,
                    });
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(WireError::TooDeep {
                        line,
                        limit: MAX_DEPTH,
                    });
                }
                let qname = String::from_utf8_lossy(tag.name().as_ref()).into_owned();
                if stack.is_empty() && root.is_some() {
                    return Err(WireError::Malformed {
                        line,
                        message: format!("a second root element <{qname}>"),
                    });
                }
                let element = Element {
                    name: String::from_utf8_lossy(tag.local_name().as_ref()).into_owned(),
                    qname,
                    text: String::new(),
                    children: Vec::new(),
                    line,
                };
                if empty {
                    attach(element, &mut stack, &mut root);
                } else {
                    stack.push(element);
                }
            }
            Event::End(tag) => {
                let closing = String::from_utf8_lossy(tag.name().as_ref()).into_owned();
                let Some(open) = stack.pop() else {
                    return Err(WireError::Malformed {
                        line,
                        message: format!("</{closing}> closes no open element"),
                    });
                };
                if open.qname != closing {
                    return Err(WireError::Unclosed {
                        open: open.qname,
                        line: open.line,
                        found: format!("</{closing}>"),
                        found_line: line,
                    });
                }
                attach(open, &mut stack, &mut root);
            }
            Event::Text(t) => {
                let s = t.xml10_content().map_err(|e| WireError::Malformed {
                    line,
                    message: e.to_string(),
                })?;
                push_text(&mut stack, &s, line)?;
            }
            Event::CData(t) => {
                let s = t.xml10_content().map_err(|e| WireError::Malformed {
                    line,
                    message: e.to_string(),
                })?;
                push_text(&mut stack, &s, line)?;
            }
            Event::GeneralRef(r) => {
                let name = String::from_utf8_lossy(&r).into_owned();
                let refused = || WireError::Entity {
                    line,
                    name: name.clone(),
                };
                let c = match name.as_str() {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "apos" => '\'',
                    "quot" => '"',
                    _ if r.is_char_ref() => match r.resolve_char_ref() {
                        Ok(Some(c)) if is_xml_char(c) => c,
                        _ => return Err(refused()),
                    },
                    _ => return Err(refused()),
                };
                push_text(&mut stack, c.encode_utf8(&mut [0; 4]), line)?;
            }
            Event::DocType(_) => return Err(WireError::DocType { line }),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    let end_line = lines.at(u64::MAX);
    if let Some(open) = stack.pop() {
        return Err(WireError::Unclosed {
            open: open.qname,
            line: open.line,
            found: "the end of the input".to_owned(),
            found_line: end_line,
        });
    }
    root.ok_or(WireError::Malformed {
        line: end_line,
        message: "no root element".to_owned(),
    })
}

fn attach(element: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn push_text(stack: &mut [Element], s: &str, line: usize) -> Result<(), WireError> {
    match stack.last_mut() {
        Some(open) => {
            open.text.push_str(s);
            Ok(())
        }
        // Outside the root only white space (and a byte-order mark) may appear.
        None if s
            .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
            .is_empty() =>
        {
            Ok(())
        }
        None => Err(WireError::Malformed {
            line,
            message: "text outside the root element".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADD_REQUEST: &str = include_str!("../../../tests/fixtures/ispring/add_request_seed.xml");
    const ADD_RESPONSE: &str =
        include_str!("../../../tests/fixtures/ispring/add_response_seed.xml");
    const UPDATE_REQUEST: &str =
        include_str!("../../../tests/fixtures/ispring/update_request_seed.xml");
    const UPDATE_RESPONSE: &str =
        include_str!("../../../tests/fixtures/ispring/update_response_seed.xml");
    const GET_RULES: &str = include_str!("../../../tests/fixtures/ispring/get_rules_response.xml");
    const REST_RULES: &str =
        include_str!("../../../tests/fixtures/ispring/rest_rules_response.xml");
    const FAULT: &str = include_str!("../../../tests/fixtures/ispring/fault.xml");

    /// The seed with only the documented typo corrected (ispring.md §7.1).
    pub(crate) fn fixed(seed: &str) -> String {
        seed.replace(
            "<attributeType>1<attributeType>",
            "<attributeType>1</attributeType>",
        )
    }

    fn rule(t: u8, id: Option<&str>, op: u8, value: &str) -> WireRule {
        WireRule {
            attribute_type: t,
            attribute_id: id.map(str::to_owned),
            operator: op,
            value: value.to_owned(),
        }
    }

    #[test]
    fn seed_add_request_with_its_typo_is_rejected_naming_element_and_lines() {
        let err = parse_groups(ADD_REQUEST).unwrap_err();
        assert!(
            matches!(&err, WireError::Unclosed { open, line: 14, found, found_line: 18 }
                if open == "attributeType" && found == "</rule>"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "line 14: <attributeType> is never closed (found </rule> at line 18)"
        );
    }

    #[test]
    fn seed_update_request_with_its_typo_is_rejected_naming_element_and_lines() {
        let err = parse_groups(UPDATE_REQUEST).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 15: <attributeType> is never closed (found </rule> at line 19)"
        );
    }

    #[test]
    fn corrected_seed_requests_parse() {
        let add = parse_groups(&fixed(ADD_REQUEST)).unwrap();
        assert_eq!(add.len(), 1);
        assert_eq!(add[0].name.as_deref(), Some(" NEW GROUP"));
        assert_eq!(add[0].id, None);
        assert_eq!(
            add[0].rules,
            Rules::Nested(vec![vec![
                rule(1, None, 2, "id_department"),
                rule(2, None, 1, "id_group"),
                rule(3, Some("JON_TITLE"), 1, "Sales Manager"),
            ]])
        );
        let update = parse_groups(&fixed(UPDATE_REQUEST)).unwrap();
        assert_eq!(update.len(), 1);
        assert_eq!(
            update[0].id.as_deref(),
            Some("06a7dcfe-e05a-11e9-b1e5-0a580af40b37")
        );
        assert_eq!(update[0].name.as_deref(), Some("NEW GROUP"));
        let Rules::Nested(clauses) = &update[0].rules else {
            panic!("{:?}", update[0].rules)
        };
        assert_eq!(
            clauses[0][2],
            rule(3, Some("JOB_TITLE"), 1, "Sales Manager")
        );
    }

    #[test]
    fn seed_responses_parse() {
        assert_eq!(parse_add_result(ADD_RESPONSE).unwrap(), "string");
        // Placeholder namespace https://new.webservice.namespace (ispring.md §7.2).
        assert!(parse_success(UPDATE_RESPONSE).unwrap());
        let lower = "<successResult><success>0</success></successResult>";
        assert!(!parse_success(lower).unwrap());
        let bad = "<SuccessResult><success>yes</success></SuccessResult>";
        assert!(matches!(parse_success(bad), Err(WireError::Shape { .. })));
        assert!(matches!(
            parse_add_result(UPDATE_RESPONSE),
            Err(WireError::Shape { .. })
        ));
    }

    #[test]
    fn fault_is_reported_by_every_reader() {
        for result in [
            parse_groups(FAULT).map(|_| ()),
            parse_add_result(FAULT).map(|_| ()),
            parse_success(FAULT).map(|_| ()),
        ] {
            match result {
                Err(WireError::Fault { code, message }) => {
                    assert_eq!(code, "client");
                    assert_eq!(message, "Wrong parameters");
                }
                other => panic!("{other:?}"),
            }
        }
        let bare = "<SOAP-ENV:Fault><faultcode>client</faultcode><faultstring>Wrong parameters</faultstring></SOAP-ENV:Fault>";
        assert!(matches!(parse_groups(bare), Err(WireError::Fault { .. })));
    }

    #[test]
    fn flat_get_rules_result_and_rest_shapes() {
        let flat = parse_groups(GET_RULES).unwrap();
        assert_eq!(
            flat[0].id.as_deref(),
            Some("e7fa2c2a-0000-11e9-8000-0a580af40001")
        );
        assert_eq!(
            flat[0].rules,
            Rules::Flat(vec![rule(
                1,
                None,
                2,
                "d48bd4fa-0000-11e9-8000-0a580af40002"
            )])
        );
        let rest = parse_groups(REST_RULES).unwrap();
        assert_eq!(
            rest[0].id.as_deref(),
            Some("06a7dcfe-e05a-11e9-b1e5-0a580af40b37")
        );
        let Rules::Nested(clauses) = &rest[0].rules else {
            panic!()
        };
        assert_eq!(clauses.len(), 1);
        assert_eq!(clauses[0].len(), 3);
        let request = "<request><name>Active Sales</name><rules><and><or><rule><attributeType>2</attributeType><operator>1</operator><value>g</value></rule></or></and><and><or><rule><attributeType>2</attributeType><operator>1</operator><value>h</value></rule><rule><attributeType>2</attributeType><operator>1</operator><value>i</value></rule></or></and></rules></request>";
        let g = parse_groups(request).unwrap();
        assert_eq!(g[0].name.as_deref(), Some("Active Sales"));
        assert_eq!(
            g[0].rules,
            Rules::Nested(vec![
                vec![rule(2, None, 1, "g")],
                vec![rule(2, None, 1, "h"), rule(2, None, 1, "i")],
            ])
        );
        let error = "<response><code>403</code><message>Permission denied</message></response>";
        assert!(matches!(parse_groups(error), Err(WireError::Fault { code, .. }) if code == "403"));
    }

    #[test]
    fn payload_round_trips_exactly_through_to_xml() {
        let payload = SmartGroupPayload {
            name: "  Sales & <Marketing> \"EU\" 'x'\r\n\ttabs ".to_owned(),
            rules: vec![
                vec![
                    rule(1, None, 2, " id with spaces "),
                    rule(2, None, 1, "a&b"),
                ],
                vec![rule(3, Some("JOB_TITLE"), 1, "line1\r\nline2\rx]]>")],
                vec![rule(7, Some("X"), 9, "")],
            ],
        };
        let xml = payload.to_xml();
        assert!(xml.starts_with(
            "<AddSmartGroupRequest xmlns=\"http://ispringlearn.com/go/services/api/soap\">\n  <name>"
        ));
        assert!(xml.contains("<attributeId></attributeId>"));
        let back = parse_groups(&xml).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].name.as_deref(), Some(payload.name.as_str()));
        assert_eq!(back[0].rules, Rules::Nested(payload.rules.clone()));
        for clause in &payload.rules {
            for r in clause {
                assert_eq!(&WireRule::from_fragment(&r.to_fragment()).unwrap(), r);
            }
        }
    }

    #[test]
    fn soap_requests_escape_user_text_and_put_credentials_first() {
        let evil = "x</name><credentials><token>stolen</token></credentials><name>";
        let rules = vec![vec![rule(3, Some("JOB_TITLE"), 1, "a & <b>")]];
        let xml = soap_request(
            "AddSmartGroupRequest",
            &SoapCredentials::Login {
                account_url: "https://a.test",
                email: "e@x.test",
                password: "p<&>\"",
            },
            &[Param::Text("name", evil), Param::Rules(&rules)],
        );
        let call = parse_soap_call(&xml).unwrap();
        assert_eq!(call.method, "AddSmartGroupRequest");
        assert!(call.credentials_first);
        let credentials = call.credentials.clone().unwrap();
        assert_eq!(credentials.password.as_deref(), Some("p<&>\""));
        assert_eq!(credentials.token, None);
        assert!(!format!("{credentials:?}").contains("p<&>"));
        assert_eq!(call.name.as_deref(), Some(evil));
        assert_eq!(call.rules, Some(Rules::Nested(rules)));
    }

    #[test]
    fn soap_calls_are_read_by_local_name_with_any_prefix_or_namespace() {
        let soapui = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap="https://ispringlearn.com/go/services/api/soap">
   <soapenv:Header/>
   <soapenv:Body>
      <soap:getGroupsRequest>
         <soap:credentials><soap:token>t</soap:token></soap:credentials>
      </soap:getGroupsRequest>
   </soapenv:Body>
</soapenv:Envelope>"#;
        // A SOAP Header before the Body is skipped: only the Body's children count.
        let call = parse_soap_call(soapui).unwrap();
        assert_eq!(call.method, "getGroupsRequest");
        assert_eq!(call.credentials.unwrap().token.as_deref(), Some("t"));
        assert!(matches!(
            parse_soap_call("<rules/>"),
            Err(WireError::Shape { .. })
        ));
    }

    #[test]
    fn reference_data_readers() {
        let groups = "<r><GetGroupsResult><group><groupId> g1 </groupId><name>A</name></group><group><groupId>g2</groupId><name>B &amp; C</name></group></GetGroupsResult></r>";
        let refs = parse_group_refs(groups).unwrap();
        assert_eq!(
            refs,
            [
                GroupRef {
                    id: "g1".into(),
                    name: "A".into()
                },
                GroupRef {
                    id: "g2".into(),
                    name: "B & C".into()
                },
            ]
        );
        assert!(matches!(
            parse_group_refs("<r><group><name>no id</name></group></r>"),
            Err(WireError::Shape { .. })
        ));
        let deps = "<r><GetDepartmentsResult><department><departmentId>d1</departmentId><name>Root</name><code></code><parentDepartmentId></parentDepartmentId></department></GetDepartmentsResult></r>";
        let d = &parse_departments(deps).unwrap()[0];
        assert_eq!((d.code.as_deref(), d.parent_id.as_deref()), (None, None));
        let fields = "<r><GetUserProfileFieldsResult><userFieldInfo><userFieldInfoId>COUNTRY</userFieldInfoId><name>country</name><label>Country</label><type>country</type><values><field><name>Canada</name><value>124</value></field></values></userFieldInfo></GetUserProfileFieldsResult></r>";
        let f = &parse_profile_fields(fields).unwrap()[0];
        assert_eq!(
            f.values,
            [FieldValue {
                name: "Canada".into(),
                value: "124".into()
            }]
        );
        let detail = "<response><usersCount>1</usersCount><groupId>g</groupId><userIds><id>u1</id></userIds><name>N</name><isSmart>1</isSmart></response>";
        let d = parse_group_detail(detail).unwrap();
        assert_eq!(
            (d.is_smart, d.user_ids),
            (Some(true), vec!["u1".to_owned()])
        );
        assert!(matches!(
            parse_departments(FAULT),
            Err(WireError::Fault { .. })
        ));
    }

    fn envelope(body: &str) -> String {
        soap_envelope(SERVICE_NAMESPACE, body)
    }

    fn shape_why(err: WireError) -> String {
        match err {
            WireError::Shape { why, .. } => why,
            other => panic!("expected a shape error, got {other}"),
        }
    }

    #[test]
    fn a_list_answer_without_its_result_element_is_an_error_not_an_empty_list() {
        // An empty Body, a Body holding another call's result, or no SOAP at all.
        let answers = [
            envelope(""),
            envelope("<GetDepartmentsResult/>\n"),
            "<html><body>Service unavailable</body></html>".to_owned(),
        ];
        for text in &answers {
            let err = parse_group_refs(text).unwrap_err();
            assert_eq!(
                err.to_string(),
                "response: has no <GetGroupsResult>",
                "{text}"
            );
        }
        for text in [envelope(""), envelope("<GetGroupsResult/>\n")] {
            assert_eq!(
                shape_why(parse_departments(&text).unwrap_err()),
                "has no <GetDepartmentsResult>"
            );
            assert_eq!(
                shape_why(parse_profile_fields(&text).unwrap_err()),
                "has no <GetUserProfileFieldsResult>"
            );
        }
        // The empty result the server sent is an empty list, in any letter case.
        for result in ["<GetGroupsResult/>", "<getGroupsResult></getGroupsResult>"] {
            assert!(parse_group_refs(&envelope(result)).unwrap().is_empty());
        }
        assert!(
            parse_departments(&envelope("<GetDepartmentsResult/>"))
                .unwrap()
                .is_empty()
        );
        assert!(
            parse_profile_fields(&envelope("<GetUserProfileFieldsResult/>"))
                .unwrap()
                .is_empty()
        );
        let refs = parse_group_refs(&envelope(
            "<ns1:GetGroupsResult><group><groupId>g</groupId><name></name></group></ns1:GetGroupsResult>",
        ))
        .unwrap();
        assert_eq!(refs[0].name, "", "an empty name the server sent is kept");
    }

    #[test]
    fn list_items_without_their_required_parts_are_errors() {
        let group =
            envelope("<GetGroupsResult><group><groupId>g1</groupId></group></GetGroupsResult>");
        assert_eq!(
            shape_why(parse_group_refs(&group).unwrap_err()),
            "has no <name>"
        );
        let department = envelope(
            "<GetDepartmentsResult><department><departmentId>d1</departmentId><code>C</code></department></GetDepartmentsResult>",
        );
        assert_eq!(
            shape_why(parse_departments(&department).unwrap_err()),
            "has no <name>"
        );
        let field = |inner: &str| {
            envelope(&format!(
                "<GetUserProfileFieldsResult><userFieldInfo><userFieldInfoId>COUNTRY</userFieldInfoId>{inner}</userFieldInfo></GetUserProfileFieldsResult>"
            ))
        };
        assert_eq!(
            shape_why(parse_profile_fields(&field("<name>country</name>")).unwrap_err()),
            "has no <type>"
        );
        let no_value =
            field("<type>country</type><values><field><name>Canada</name></field></values>");
        assert_eq!(
            shape_why(parse_profile_fields(&no_value).unwrap_err()),
            "has no <value>"
        );
        // `values` is optional, and so are the display texts.
        let plain = parse_profile_fields(&field("<type>string</type>")).unwrap();
        assert_eq!((plain[0].label.as_str(), plain[0].values.len()), ("", 0));
    }

    #[test]
    fn group_members_are_required_unless_the_count_says_none() {
        let detail =
            |inner: &str| format!("<response><groupId>g</groupId><name>N</name>{inner}</response>");
        for inner in ["<usersCount>3</usersCount>", ""] {
            let err = parse_group_detail(&detail(inner)).unwrap_err();
            assert_eq!(
                shape_why(err),
                "has no <userIds> (and no <usersCount> of 0)"
            );
        }
        for inner in [
            "<usersCount>0</usersCount>",
            "<usersCount>0</usersCount><userIds/>",
            "<userIds/>",
        ] {
            assert!(
                parse_group_detail(&detail(inner))
                    .unwrap()
                    .user_ids
                    .is_empty(),
                "{inner}"
            );
        }
    }

    #[test]
    fn unknown_numbers_are_kept_and_blank_attribute_ids_are_none() {
        let r = WireRule::from_fragment(
            "<rule><attributeType> 7 </attributeType><attributeId>\n </attributeId><operator>1</operator><value> v </value></rule>",
        )
        .unwrap();
        assert_eq!(r, rule(7, None, 1, " v "));
    }

    #[test]
    fn wrong_types_and_missing_children_are_shape_errors() {
        let bad_op = "<rules><and><or><rule><attributeType>1</attributeType>\n<operator>x</operator><value>v</value></rule></or></and></rules>";
        let err = parse_groups(bad_op).unwrap_err();
        assert!(matches!(&err, WireError::Shape { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "line 2: <operator>: is not an integer from 0 to 255: \"x\""
        );
        let no_value = "<rules>\n<and><or><rule><attributeType>1</attributeType><operator>1</operator></rule></or></and></rules>";
        assert_eq!(
            parse_groups(no_value).unwrap_err().to_string(),
            "line 2: <rule>: has no <value>"
        );
        let twice = "<rule><attributeType>1</attributeType><operator>1</operator><value>a</value><value>b</value></rule>";
        assert!(matches!(
            WireRule::from_fragment(twice),
            Err(WireError::Shape { .. })
        ));
        let stray = "<rules><and><or><rule><attributeType>1</attributeType><operator>1</operator><value>a</value><negate>1</negate></rule></or></and></rules>";
        assert!(matches!(parse_groups(stray), Err(WireError::Shape { .. })));
        for empty in [
            "<rules/>",
            "<rules><and/></rules>",
            "<rules><and><or/></and></rules>",
        ] {
            assert!(
                matches!(parse_groups(empty), Err(WireError::Shape { .. })),
                "{empty}"
            );
        }
        assert!(matches!(
            parse_groups("<Something/>"),
            Err(WireError::Shape { .. })
        ));
    }

    #[test]
    fn every_truncation_of_a_request_is_an_error_not_a_panic() {
        let text = fixed(UPDATE_REQUEST);
        let mut cut = 0;
        for (i, _) in text.char_indices() {
            // The whole document minus its last newline is still complete.
            if text[i..].trim().is_empty() {
                break;
            }
            assert!(
                parse_groups(&text[..i]).is_err(),
                "prefix of {i} bytes parsed"
            );
            cut += 1;
        }
        assert!(cut > 1000);
        let err = parse_groups(&text[..text.len() / 2]).unwrap_err();
        assert!(
            matches!(err, WireError::Unclosed { ref found, .. } if found == "the end of the input"),
            "{err:?}"
        );
        assert!(matches!(parse_groups(""), Err(WireError::Malformed { .. })));
        assert!(matches!(
            parse_groups("<rules><and"),
            Err(WireError::Malformed { .. })
        ));
    }

    #[test]
    fn doctype_is_refused_and_never_expanded() {
        let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<request><name>&lol9;</name><rules/></request>"#;
        assert!(matches!(
            parse_groups(laughs),
            Err(WireError::DocType { line: 2 })
        ));
        let external = "<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><rules/>";
        assert!(matches!(
            parse_groups(external),
            Err(WireError::DocType { .. })
        ));
    }

    #[test]
    fn only_predefined_entities_and_character_references_are_accepted() {
        let unknown = "<rules>\n<and><or><rule><attributeType>1</attributeType><operator>1</operator><value>&foo;</value></rule></or></and></rules>";
        match parse_groups(unknown) {
            Err(WireError::Entity { line, name }) => {
                assert_eq!((line, name.as_str()), (2, "foo"));
            }
            other => panic!("{other:?}"),
        }
        let ok = "<rule><attributeType>1</attributeType><operator>1</operator><value>&lt;&amp;&gt;&quot;&apos;&#65;&#x42;</value></rule>";
        assert_eq!(WireRule::from_fragment(ok).unwrap().value, "<&>\"'AB");
        let nul = "<rule><attributeType>1</attributeType><operator>1</operator><value>&#0;</value></rule>";
        assert!(matches!(
            WireRule::from_fragment(nul),
            Err(WireError::Entity { .. })
        ));
        let dangling = "<rule><value>a & b</value></rule>";
        assert!(WireRule::from_fragment(dangling).is_err());
    }

    #[test]
    fn nesting_and_element_count_are_bounded() {
        let deep = format!("{}{}", "<a>".repeat(200), "</a>".repeat(200));
        assert!(matches!(
            parse_groups(&deep),
            Err(WireError::TooDeep { limit: 64, .. })
        ));
        let ok_depth = format!("{}{}", "<a>".repeat(64), "</a>".repeat(64));
        assert!(matches!(
            parse_groups(&ok_depth),
            Err(WireError::Shape { .. })
        ));
        let many = format!("<a>{}</a>", "<b/>".repeat(MAX_ELEMENTS));
        assert!(matches!(
            parse_groups(&many),
            Err(WireError::TooManyElements { .. })
        ));
    }

    #[test]
    fn a_ten_megabyte_text_node_parses() {
        let big = "x".repeat(10 * 1024 * 1024);
        let xml = format!(
            "<rules><and><or><rule><attributeType>1</attributeType><operator>1</operator><value>{big}</value></rule></or></and></rules>"
        );
        let groups = parse_groups(&xml).unwrap();
        let Rules::Nested(clauses) = &groups[0].rules else {
            panic!()
        };
        assert_eq!(clauses[0][0].value.len(), big.len());
        // And unterminated, it is an error naming the open element.
        let cut = &xml[..xml.len() - 60];
        assert!(matches!(
            parse_groups(cut),
            Err(WireError::Unclosed { ref open, .. }) if open == "value"
        ));
    }

    #[test]
    fn mismatches_and_stray_content_are_errors() {
        assert!(matches!(
            parse_groups("<rules></and>"),
            Err(WireError::Unclosed { .. })
        ));
        assert!(matches!(
            parse_groups("<rules/></x>"),
            Err(WireError::Malformed { .. })
        ));
        assert!(matches!(
            parse_groups("<rules/><rules/>"),
            Err(WireError::Malformed { .. })
        ));
        assert!(matches!(
            parse_groups("<rules/>junk"),
            Err(WireError::Malformed { .. })
        ));
        // Prefixes must match between start and end tags even though lookups ignore them.
        assert!(matches!(
            parse_groups("<a:rules></b:rules>"),
            Err(WireError::Unclosed { .. })
        ));
    }
}

#[cfg(test)]
mod user_list_tests {
    use super::*;

    #[test]
    fn users_are_read_by_local_name_with_optional_fields() {
        let xml = r#"<?xml version="1.0"?>
<response>
  <user><userId>u1</userId><fields><login>ada</login><email> Ada@Example.com </email>
    <first_name>Ada</first_name><last_name>Lovelace</last_name></fields></user>
  <user><userId>u2</userId><fields><login>nobody</login></fields></user>
</response>"#;
        let users = parse_users(xml).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].email.as_deref(), Some("Ada@Example.com"));
        assert_eq!(users[0].first_name.as_deref(), Some("Ada"));
        assert_eq!(
            users[1].email, None,
            "no email: counted by the engine, not an error"
        );
        assert!(parse_users("<response><user><fields/></user></response>").is_err());
        // The older GET /user answer (ispring.md §10.3) is read too.
        let older = "<users><userProfile><userId>u3</userId><status>1</status><groups><id>g</id></groups><fields><login>l</login><email>c@x.test</email></fields></userProfile></users>";
        let users = parse_users(older).unwrap();
        assert_eq!(
            (users[0].id.as_str(), users[0].email.as_deref()),
            ("u3", Some("c@x.test"))
        );
        // An empty list the server sent is empty; a document that is no user list is
        // an error, not a group without members.
        assert!(parse_users("<response/>").unwrap().is_empty());
        assert!(parse_users("<users></users>").unwrap().is_empty());
        for text in [
            "<html><body>Service unavailable</body></html>",
            "<r><user><userId>u</userId></user></r>",
        ] {
            let err = parse_users(text).unwrap_err();
            assert!(
                err.to_string()
                    .ends_with("is not a user list (<response> or <users>)"),
                "{err}"
            );
        }
        let fault = "<response><code>403</code><message>Permission denied</message></response>";
        assert!(matches!(parse_users(fault), Err(WireError::Fault { .. })));
    }
}
