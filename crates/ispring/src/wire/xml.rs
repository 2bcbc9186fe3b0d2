//! The XML reader under every iSpring answer (and under the sandbox's request reader):
//! roxmltree parses, this module adds what sgsync needs on top and turns every refusal
//! into a [`WireError`] that names a line in plain words.
//!
//! - **No DTD, no entities**: roxmltree refuses any `<!DOCTYPE` (`allow_dtd: false`, its
//!   default), so no entity can be declared, let alone expanded (billion laughs,
//!   external entities); a reference to an undeclared entity is refused by name. What
//!   remains is the five predefined entities and references to characters XML allows.
//! - **Bounded**: roxmltree stops at [`MAX_NODES`] nodes while it parses, so a huge
//!   answer costs bounded memory; it has no depth option, so one pass here, after
//!   parsing and without recursion, refuses nesting deeper than [`MAX_DEPTH`] and more
//!   than [`MAX_ELEMENTS`] elements.
//! - **By local name**: the samples use `SOAP-ENV:`, `soap:`, `ns1:` or a default
//!   namespace, with `http://`, `https://` and even the placeholder
//!   `new.webservice.namespace` as URIs (§1 "Prefixes", §7.2, §7.3), so [`Element`]
//!   matches local names only. roxmltree is namespace-aware and refuses a prefix used
//!   without a declaration (as the sample fragments do); such a prefix is declared with a
//!   placeholder URI on the root element, on the root's own line so that every line
//!   number stays right, and the text parsed again, for at most
//!   [`MAX_UNDECLARED_PREFIXES`] prefixes.
//! - **Errors say what and where**: a closing tag that does not match names both ends
//!   with their lines (the AddSmartGroup sample has `<attributeType>1<attributeType>`,
//!   §3.2, §7.1), and so does an input that ends inside an element. roxmltree names the
//!   closing tag and its position; where the open element started, and the position of
//!   a refused DOCTYPE, are found by a scan of the text on the way to the error
//!   ([`super::scan`]).

use super::WireError;
use super::scan::{self, Kind};
use roxmltree::{Document, Error as XmlError, Node, ParsingOptions};
use std::borrow::Cow;

/// Deepest element nesting accepted; a SOAP smart-group request needs 9.
pub const MAX_DEPTH: usize = 64;
/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 100_000;
/// Most nodes (elements, runs of text, comments, processing instructions) roxmltree
/// keeps before it stops: room for [`MAX_ELEMENTS`] pretty-printed elements, each with
/// its text and the white space around it.
pub const MAX_NODES: usize = 3 * MAX_ELEMENTS;
/// Most prefixes a document may use without declaring them.
pub const MAX_UNDECLARED_PREFIXES: usize = 8;
/// The URI an undeclared prefix is given (followed by the prefix, so that two prefixes
/// never name one namespace).
const UNDECLARED: &str = "urn:sgsync:undeclared-prefix:";

/// Parses `text` and hands its root element to `read`: the one entry to this module.
pub fn read<T>(
    text: &str,
    read: impl FnOnce(Element<'_, '_>) -> Result<T, WireError>,
) -> Result<T, WireError> {
    match declaration_first(text) {
        Some(moved) => read_text(&moved, read),
        None => read_text(text, read),
    }
}

/// White space before the XML declaration (a server script that prints a line end
/// first) moved after it: roxmltree, as XML says, wants the declaration at the very
/// start. The same bytes, so every line after the declaration keeps its number.
fn declaration_first(text: &str) -> Option<String> {
    let declaration = text.trim_start();
    if declaration.len() == text.len() || !declaration.starts_with("<?xml") {
        return None;
    }
    let end = declaration.find("?>")? + 2;
    let space = &text[..text.len() - declaration.len()];
    Some(format!(
        "{}{space}{}",
        &declaration[..end],
        &declaration[end..]
    ))
}

fn read_text<T>(
    text: &str,
    read: impl FnOnce(Element<'_, '_>) -> Result<T, WireError>,
) -> Result<T, WireError> {
    match parse(text) {
        Ok(doc) => read_checked(&doc, read),
        Err(XmlError::UnknownNamespace(prefix, _)) => read_declaring(text, prefix, read),
        Err(e) => Err(error(text, e)),
    }
}

fn parse(text: &str) -> Result<Document<'_>, XmlError> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: u32::try_from(MAX_NODES).unwrap_or(u32::MAX),
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options)
}

/// [`read`] for a document that uses prefixes it never declares: each is declared on
/// the root element, one more each time roxmltree names another.
fn read_declaring<T>(
    text: &str,
    first: String,
    read: impl FnOnce(Element<'_, '_>) -> Result<T, WireError>,
) -> Result<T, WireError> {
    let Some(name_end) = scan::root_name_end(text) else {
        return Err(WireError::Malformed {
            line: 1,
            message: format!("the namespace prefix {first} is used but never declared"),
        });
    };
    let mut prefixes = vec![first];
    loop {
        let mut patched = String::with_capacity(text.len() + 64 * prefixes.len());
        patched.push_str(&text[..name_end]);
        for prefix in &prefixes {
            patched.push_str(&format!(" xmlns:{prefix}=\"{UNDECLARED}{prefix}\""));
        }
        patched.push_str(&text[name_end..]);
        match parse(&patched) {
            Ok(doc) => return read_checked(&doc, read),
            Err(XmlError::UnknownNamespace(prefix, pos))
                if prefixes.len() >= MAX_UNDECLARED_PREFIXES || prefixes.contains(&prefix) =>
            {
                return Err(WireError::Malformed {
                    line: row(pos),
                    message: format!(
                        "the namespace prefix {prefix} is used but never declared (more than {MAX_UNDECLARED_PREFIXES} such prefixes are not read)"
                    ),
                });
            }
            Err(XmlError::UnknownNamespace(prefix, _)) => prefixes.push(prefix),
            Err(e) => return Err(error(&patched, e)),
        }
    }
}

fn read_checked<T>(
    doc: &Document<'_>,
    read: impl FnOnce(Element<'_, '_>) -> Result<T, WireError>,
) -> Result<T, WireError> {
    let root = Element::from(doc.root_element());
    check_limits(root)?;
    read(root)
}

/// Depth and element count, in one pass in document order, so the first element past
/// a limit is the one named. An explicit stack: the depth is not known to be sane yet.
fn check_limits(root: Element<'_, '_>) -> Result<(), WireError> {
    let mut stack = vec![(root.node, 1usize)];
    let mut elements = 0usize;
    while let Some((node, depth)) = stack.pop() {
        elements += 1;
        if depth > MAX_DEPTH {
            return Err(WireError::TooDeep {
                line: Element::from(node).line(),
                limit: MAX_DEPTH,
            });
        }
        if elements > MAX_ELEMENTS {
            return Err(WireError::TooManyElements {
                line: Element::from(node).line(),
                limit: MAX_ELEMENTS,
            });
        }
        stack.extend(
            node.children()
                .rev()
                .filter(Node::is_element)
                .map(|c| (c, depth + 1)),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Elements

/// An element, read by local name. Cheap to copy: a handle into the parsed document.
#[derive(Clone, Copy)]
pub struct Element<'a, 'input> {
    node: Node<'a, 'input>,
}

impl<'a, 'input> From<Node<'a, 'input>> for Element<'a, 'input> {
    fn from(node: Node<'a, 'input>) -> Self {
        Element { node }
    }
}

impl<'a, 'input> Element<'a, 'input> {
    /// The local name, prefix removed: what every lookup matches on.
    pub fn name(&self) -> &'input str {
        self.node.tag_name().name()
    }

    /// The name as written, prefix included: what messages show.
    pub fn qname(&self) -> &'a str {
        scan::name_at(
            self.node.document().input_text(),
            self.node.range().start + 1,
        )
    }

    /// The 1-based line of the start tag. Counts from the start of the text: for
    /// messages, not for loops.
    pub fn line(&self) -> usize {
        row(self.node.document().text_pos_at(self.node.range().start))
    }

    /// `line N: <qname>`, the place a [`WireError::Shape`] names.
    pub fn at(&self) -> String {
        format!("line {}: <{}>", self.line(), self.qname())
    }

    /// A shape error at this element.
    pub fn shape(&self, why: impl Into<String>) -> WireError {
        WireError::shape(self.at(), why)
    }

    /// This element where `parent` does not allow it.
    pub fn unexpected_in(&self, parent: &Element<'_, '_>) -> WireError {
        self.shape(format!("unexpected inside <{}>", parent.qname()))
    }

    /// The character data directly inside this element (entities resolved, CDATA
    /// included, line ends normalised as XML says), verbatim; children's text excluded.
    pub fn text(&self) -> Cow<'a, str> {
        let mut texts = self.node.children().filter(Node::is_text);
        let Some(first) = texts.next() else {
            return Cow::Borrowed("");
        };
        let first = first.text().unwrap_or("");
        match texts.next() {
            None => Cow::Borrowed(first),
            // Text split by a comment or a child element.
            Some(second) => {
                let mut all = String::from(first);
                all.push_str(second.text().unwrap_or(""));
                for t in texts {
                    all.push_str(t.text().unwrap_or(""));
                }
                Cow::Owned(all)
            }
        }
    }

    /// The child elements, in order.
    pub fn elements(
        &self,
    ) -> impl DoubleEndedIterator<Item = Element<'a, 'input>> + use<'a, 'input> {
        self.node
            .children()
            .filter(Node::is_element)
            .map(Element::from)
    }

    /// Whether this element has any child element.
    pub fn has_elements(&self) -> bool {
        self.elements().next().is_some()
    }

    /// The only child called `name`; two of them is an error (which one would count?).
    pub fn child(&self, name: &str) -> Result<Option<Element<'a, 'input>>, WireError> {
        let mut found = self.elements().filter(|c| c.name() == name);
        let first = found.next();
        if let Some(second) = found.next() {
            return Err(second.shape(format!("appears twice in <{}>", self.qname())));
        }
        Ok(first)
    }

    /// The child `name`, which must be there (its text may be empty).
    pub fn required(&self, name: &str) -> Result<Element<'a, 'input>, WireError> {
        self.child(name)?
            .ok_or_else(|| self.shape(format!("has no <{name}>")))
    }

    /// This element or its first descendant (in document order) that matches.
    pub fn find(&self, pred: impl Fn(&Element<'a, 'input>) -> bool) -> Option<Element<'a, 'input>> {
        self.node
            .descendants()
            .filter(Node::is_element)
            .map(Element::from)
            .find(|e| pred(e))
    }

    /// Every descendant (not this element) called `name`, in document order, without
    /// looking inside those found. Recursive, at most [`MAX_DEPTH`] deep.
    pub fn find_all(&self, name: &str) -> Vec<Element<'a, 'input>> {
        let mut out = Vec::new();
        self.collect(name, &mut out);
        out
    }

    fn collect(&self, name: &str, out: &mut Vec<Element<'a, 'input>>) {
        for c in self.elements() {
            if c.name() == name {
                out.push(c);
            } else {
                c.collect(name, out);
            }
        }
    }

    /// Where this element starts in the text: orders elements found separately.
    pub fn offset(&self) -> usize {
        self.node.range().start
    }
}

// ---------------------------------------------------------------------------------------
// Errors

fn row(pos: roxmltree::TextPos) -> usize {
    usize::try_from(pos.row).unwrap_or(usize::MAX)
}

/// roxmltree's refusal as ours, in plain words with a line.
fn error(text: &str, e: XmlError) -> WireError {
    let line = row(e.pos());
    let malformed = |message: String| WireError::Malformed { line, message };
    match e {
        XmlError::UnexpectedCloseTag(expected, actual, pos) => {
            let close = scan::offset_of(text, pos);
            let open_line = match scan::open_elements(text, close) {
                Ok(open) => open.last().map(|&at| scan::line_at(text, at)),
                Err(_) => None,
            };
            WireError::Unclosed {
                open: expected,
                line: open_line.unwrap_or(line),
                found: format!("</{actual}>"),
                found_line: line,
            }
        }
        XmlError::UnclosedRootNode | XmlError::UnexpectedEndOfStream => ended_early(text),
        XmlError::DtdDetected => WireError::DocType {
            line: scan::doctype(text).map_or(1, |at| scan::line_at(text, at)),
        },
        XmlError::UnknownEntityReference(name, _) => WireError::Entity { line, name },
        XmlError::MalformedEntityReference(pos) => {
            // `&#0;` (a character XML does not allow) or a bare `&`.
            let at = scan::offset_of(text, pos);
            let rest = text.get(at + 1..).unwrap_or("");
            let name = rest.find(';').filter(|&n| n <= 32).map(|n| &rest[..n]);
            match name {
                Some(name)
                    if !name.is_empty()
                        && name
                            .chars()
                            .all(|c| c.is_alphanumeric() || "#_-.:".contains(c)) =>
                {
                    WireError::Entity {
                        line,
                        name: name.to_owned(),
                    }
                }
                _ => malformed("a bare & (the character itself is written &amp;)".to_owned()),
            }
        }
        XmlError::NodesLimitReached => WireError::TooManyNodes {
            line: scan::line_at(text, scan::node_past(text, MAX_NODES)),
            limit: MAX_NODES,
        },
        XmlError::NoRootNode => WireError::Malformed {
            line: scan::line_at(text, text.len()),
            message: "no root element".to_owned(),
        },
        XmlError::UnknownToken(pos) => malformed(stray(text, scan::offset_of(text, pos))),
        XmlError::UnknownNamespace(prefix, _) => malformed(format!(
            "the namespace prefix {prefix} is used but never declared"
        )),
        XmlError::DuplicatedNamespace(prefix, _) => malformed(format!(
            "the namespace prefix {prefix} is declared twice on one element"
        )),
        XmlError::InvalidXmlPrefixUri(_)
        | XmlError::UnexpectedXmlUri(_)
        | XmlError::UnexpectedXmlnsUri(_)
        | XmlError::InvalidElementNamePrefix(_) => {
            malformed("a misuse of the reserved xml or xmlns prefix or URI".to_owned())
        }
        XmlError::DuplicatedAttribute(name, _) => {
            malformed(format!("the attribute {name} appears twice on one element"))
        }
        XmlError::NonXmlChar(c, _) => malformed(format!(
            "the character U+{:04X}, which XML does not allow",
            u32::from(c)
        )),
        XmlError::InvalidChar(expected, actual, _) => malformed(format!(
            "expected {} but found {}",
            byte(expected),
            byte(actual)
        )),
        XmlError::InvalidChar2(expected, actual, _) => {
            malformed(format!("expected {expected} but found {}", byte(actual)))
        }
        XmlError::InvalidString(expected, _) => malformed(format!("expected {expected}")),
        XmlError::InvalidName(_) => malformed("a name that is not a valid XML name".to_owned()),
        XmlError::InvalidAttributeValue(_) => malformed("a < inside an attribute value".to_owned()),
        XmlError::InvalidComment(_) => malformed("a comment holding -- or ending in -".to_owned()),
        XmlError::InvalidCharacterData(_) => {
            malformed("]]> in text (it only ends a CDATA section)".to_owned())
        }
        XmlError::UnexpectedDeclaration(_) => {
            malformed("an XML declaration anywhere but at the very start".to_owned())
        }
        // Only with a DTD, which is refused before any of these can happen.
        XmlError::UnexpectedEntityCloseTag(_)
        | XmlError::EntityReferenceLoop(_)
        | XmlError::InvalidExternalID(_)
        | XmlError::EntityResolver(..) => malformed("an entity this reader refuses".to_owned()),
        XmlError::AttributesLimitReached | XmlError::NamespacesLimitReached => {
            malformed("too many attributes or namespaces".to_owned())
        }
    }
}

/// The input ended inside an element (named, with the line it opened on) or inside a
/// tag, comment or other markup.
fn ended_early(text: &str) -> WireError {
    let end_line = scan::line_at(text, text.len());
    match scan::open_elements(text, text.len()) {
        Err((at, kind)) => WireError::Malformed {
            line: scan::line_at(text, at),
            message: match kind {
                Kind::Start | Kind::Empty => format!(
                    "the input ends inside the tag <{}",
                    scan::name_at(text, at + 1)
                ),
                Kind::End => "the input ends inside a closing tag".to_owned(),
                Kind::Comment => "the input ends inside a comment".to_owned(),
                Kind::CData => "the input ends inside a CDATA section".to_owned(),
                Kind::Pi | Kind::Declaration => {
                    "the input ends inside a <? or <! declaration".to_owned()
                }
            },
        },
        Ok(open) => match open.last() {
            Some(&at) => WireError::Unclosed {
                open: scan::name_at(text, at + 1).to_owned(),
                line: scan::line_at(text, at),
                found: "the end of the input".to_owned(),
                found_line: end_line,
            },
            None => WireError::Malformed {
                line: end_line,
                message: "the input ends too early".to_owned(),
            },
        },
    }
}

/// What stands where roxmltree expected nothing more (after the root element).
fn stray(text: &str, at: usize) -> String {
    let rest = text.get(at..).unwrap_or("");
    if rest.starts_with("</") {
        format!("</{}> closes no open element", scan::name_at(text, at + 2))
    } else if rest.starts_with('<')
        && rest[1..].starts_with(|c: char| c.is_alphabetic() || c == '_')
    {
        format!("a second root element <{}>", scan::name_at(text, at + 1))
    } else if rest.starts_with('<') {
        "markup that cannot stand here".to_owned()
    } else {
        "text outside the root element".to_owned()
    }
}

/// A byte roxmltree expected or found, as a reader would name it.
fn byte(b: u8) -> String {
    match b {
        b'!'..=b'~' => format!("'{}'", char::from(b)),
        b' ' => "a space".to_owned(),
        b'\n' | b'\r' | b'\t' => "a line break or tab".to_owned(),
        0x80.. => "a non-ASCII character".to_owned(),
        _ => format!("the control character U+{b:04X}"),
    }
}
