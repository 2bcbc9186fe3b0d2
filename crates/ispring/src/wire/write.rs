//! The request writers: a smart group's payload ([`SmartGroupPayload::to_xml`]), a
//! rule kept inside a canonical opaque node ([`WireRule::to_fragment`]), the SOAP
//! envelope and a whole SOAP request with its `<credentials>`. Everything goes through
//! quick-xml's writer and escaping; no text reaches the markup unescaped.
//!
//! The layout is the docs' (ispring.md §1 "Child order": `<credentials>` first, then the
//! parameters in the documented order): one element per line, indented by two spaces,
//! leaf text inline so that reading it back gains no white space.

use super::{SmartGroupPayload, StaticGroupPayload, WireRule};
use quick_xml::Writer;
use quick_xml::escape::escape;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

/// The service namespace we emit: `http://`, as the older pages and the real server
/// almost certainly use (ispring.md §1, §7.3).
pub const SERVICE_NAMESPACE: &str = "http://ispringlearn.com/go/services/api/soap";

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
    /// An array: `<{container}><{item}>…</{item}>…</{container}>`, the shape of the
    /// documented `<userIds><id>…</id></userIds>` (ispring.md §10.2). Written even when
    /// empty: `updateGroupMembers` with no ids empties the group, on purpose only.
    List(&'static str, &'static str, &'a [String]),
}

impl StaticGroupPayload {
    /// An indented `<AddGroupRequest>` with the name only (ispring.md §10.2).
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new();
        w.open("AddGroupRequest", Some(SERVICE_NAMESPACE))
            .leaf("name", &self.name)
            .close("AddGroupRequest");
        w.finish()
    }
}

impl SmartGroupPayload {
    /// An indented `<AddSmartGroupRequest>` element with `name` then `rules`, in the
    /// documented child order (ispring.md §1 "Child order").
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new();
        w.open("AddSmartGroupRequest", Some(SERVICE_NAMESPACE))
            .leaf("name", &self.name)
            .rules(&self.rules)
            .close("AddSmartGroupRequest");
        w.finish()
    }
}

impl WireRule {
    /// The rule as a compact, escaped `<rule>…</rule>` fragment: how a rule the dialect
    /// does not understand is kept inside a canonical opaque node.
    pub fn to_fragment(&self) -> String {
        let mut w = XmlWriter {
            w: Writer::new(Vec::new()),
        };
        w.open("rule", None);
        w.rule_children(self);
        w.close("rule");
        // Compact: no line end after the fragment either.
        string(w.w.into_inner())
    }
}

/// An indenting writer for our own element names (never escaped: they are ours); every
/// text and attribute value goes through quick-xml's escaping.
pub struct XmlWriter {
    w: Writer<Vec<u8>>,
}

impl Default for XmlWriter {
    fn default() -> Self {
        XmlWriter {
            w: Writer::new_with_indent(Vec::new(), b' ', 2),
        }
    }
}

impl XmlWriter {
    pub fn new() -> Self {
        XmlWriter::default()
    }

    fn event(&mut self, event: Event<'_>) -> &mut Self {
        // Writing into a Vec<u8> cannot fail: there is no error to report.
        let _ = self.w.write_event(event);
        self
    }

    /// `<name>` (with `xmlns` when given) on its own line.
    pub fn open(&mut self, name: &str, xmlns: Option<&str>) -> &mut Self {
        let mut start = BytesStart::new(name);
        if let Some(ns) = xmlns {
            start.push_attribute(("xmlns", ns));
        }
        self.event(Event::Start(start))
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        self.event(Event::End(BytesEnd::new(name)))
    }

    /// `<name>text</name>`, the text escaped. The text is written even when empty: it
    /// keeps the closing tag on the same line (`<attributeId></attributeId>`).
    pub fn leaf(&mut self, name: &str, text: &str) -> &mut Self {
        self.event(Event::Start(BytesStart::new(name)))
            .event(Event::Text(text_event(text)))
            .event(Event::End(BytesEnd::new(name)))
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

    /// A rule's four children in the documented order (§3.1). `attributeId` is always
    /// written, empty for types 1 and 2, as the docs do.
    pub fn rule_children(&mut self, rule: &WireRule) -> &mut Self {
        self.leaf("attributeType", &rule.attribute_type.to_string())
            .leaf("attributeId", rule.attribute_id.as_deref().unwrap_or(""))
            .leaf("operator", &rule.operator.to_string())
            .leaf("value", &rule.value)
    }

    /// The text written, every line ended (the last one too).
    pub fn finish(self) -> String {
        let mut bytes = self.w.into_inner();
        if !bytes.is_empty() {
            bytes.push(b'\n');
        }
        string(bytes)
    }
}

/// Text content, escaped by quick-xml; a carriage return also becomes a character
/// reference, or every XML reader turns it into a line feed (XML 1.0 §2.11).
fn text_event(s: &str) -> BytesText<'static> {
    let escaped = escape(s);
    if escaped.contains('\r') {
        BytesText::from_escaped(escaped.replace('\r', "&#13;"))
    } else {
        BytesText::from_escaped(escaped.into_owned())
    }
}

/// What a writer wrote, as text: only `&str` went in, so it is UTF-8.
fn string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A SOAP 1.1 envelope around `body` (XML from an [`XmlWriter`]), with `namespace` as
/// the default namespace of the Body's children, as the samples print it (ispring.md
/// §1).
pub fn soap_envelope(namespace: &str, body: &str) -> String {
    let mut w = Writer::new(Vec::new());
    let mut envelope = BytesStart::new("SOAP-ENV:Envelope");
    envelope.push_attribute(("xmlns:SOAP-ENV", ENVELOPE_NAMESPACE));
    envelope.push_attribute(("xmlns", namespace));
    let line_end = || Event::Text(BytesText::new("\n"));
    for event in [
        Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)),
        line_end(),
        Event::Start(envelope),
        line_end(),
        Event::Start(BytesStart::new("SOAP-ENV:Body")),
        line_end(),
    ] {
        // Into a Vec<u8>: cannot fail.
        let _ = w.write_event(event);
    }
    // The body is XML already, written and escaped by an XmlWriter.
    w.get_mut().extend_from_slice(body.as_bytes());
    for event in [
        Event::End(BytesEnd::new("SOAP-ENV:Body")),
        line_end(),
        Event::End(BytesEnd::new("SOAP-ENV:Envelope")),
        line_end(),
    ] {
        let _ = w.write_event(event);
    }
    string(w.into_inner())
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
            Param::List(container, item, values) => {
                w.open(container, None);
                for v in *values {
                    w.leaf(item, v);
                }
                w.close(container)
            }
        };
    }
    w.close(element);
    soap_envelope(SERVICE_NAMESPACE, &w.finish())
}
