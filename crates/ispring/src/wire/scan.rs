//! What roxmltree does not report, found in the text itself: where the element a bad
//! closing tag (or the end of the input) left open was opened, the line of a refused
//! DOCTYPE, roughly where the node limit struck, and where the root element's name ends
//! (to declare a prefix the document uses without declaring it, see [`super::xml`]).
//!
//! Every use but the last is on the way to an error, after roxmltree has accepted the
//! text up to the point it names; so this only tells markup from character data (quotes
//! in tags, comments, CDATA, processing instructions), it checks nothing. One pass,
//! no recursion: the work is bounded by the length of the text.

/// What a piece of markup is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Start,
    Empty,
    End,
    Comment,
    Pi,
    CData,
    /// `<!DOCTYPE …>` or any other `<!…>` declaration.
    Declaration,
}

/// One piece of markup: `text[at..end]`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Markup {
    pub at: usize,
    pub end: usize,
    pub kind: Kind,
}

/// The markup of `text` in order; `Err(at, kind)` for a piece that starts at `at` and
/// never ends, after which nothing more is yielded.
pub(super) fn markup(text: &str) -> impl Iterator<Item = Result<Markup, (usize, Kind)>> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let at = pos + text.get(pos..)?.find('<')?;
        let rest = &text[at..];
        let (kind, end) = if rest.starts_with("<!--") {
            (Kind::Comment, after(text, at + 4, "-->"))
        } else if rest.starts_with("<![CDATA[") {
            (Kind::CData, after(text, at + 9, "]]>"))
        } else if rest.starts_with("<?") {
            (Kind::Pi, after(text, at + 2, "?>"))
        } else if rest.starts_with("<!") {
            (Kind::Declaration, after(text, at + 2, ">"))
        } else if rest.starts_with("</") {
            (Kind::End, after(text, at + 2, ">"))
        } else {
            match tag_end(text, at + 1) {
                Some((end, true)) => (Kind::Empty, Some(end)),
                Some((end, false)) => (Kind::Start, Some(end)),
                None => (Kind::Start, None),
            }
        };
        match end {
            Some(end) => {
                pos = end;
                Some(Ok(Markup { at, end, kind }))
            }
            None => {
                pos = text.len();
                Some(Err((at, kind)))
            }
        }
    })
}

/// The offset just past the first `pattern` at or after `from`.
fn after(text: &str, from: usize, pattern: &str) -> Option<usize> {
    let found = text.get(from..)?.find(pattern)?;
    Some(from + found + pattern.len())
}

/// The end of a start tag whose name begins at `from` (a `>` outside quoted attribute
/// values), and whether it is an empty-element tag (`/>`).
fn tag_end(text: &str, from: usize) -> Option<(usize, bool)> {
    let bytes = text.as_bytes();
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some((i + 1, i > from && bytes[i - 1] == b'/')),
            _ => {}
        }
    }
    None
}

/// The start tags still open at `end` (their offsets, outermost first), or the piece of
/// markup the text before `end` leaves unfinished.
pub(super) fn open_elements(text: &str, end: usize) -> Result<Vec<usize>, (usize, Kind)> {
    let mut open = Vec::new();
    for item in markup(text.get(..end).unwrap_or(text)) {
        let item = item?;
        match item.kind {
            Kind::Start => open.push(item.at),
            Kind::End => {
                open.pop();
            }
            _ => {}
        }
    }
    Ok(open)
}

/// Where a `<!DOCTYPE` stands before the root element, if one does.
pub(super) fn doctype(text: &str) -> Option<usize> {
    for item in markup(text) {
        match item {
            Ok(m) if matches!(m.kind, Kind::Comment | Kind::Pi) => {}
            Ok(m) if m.kind == Kind::Declaration => return Some(m.at),
            Err((at, Kind::Declaration)) => return Some(at),
            _ => return None,
        }
    }
    None
}

/// The offset just past the root element's name in its start tag.
pub(super) fn root_name_end(text: &str) -> Option<usize> {
    markup(text)
        .map_while(Result::ok)
        .find(|m| matches!(m.kind, Kind::Start | Kind::Empty))
        .map(|m| m.at + 1 + name_at(text, m.at + 1).len())
}

/// The piece of markup (or text) at which a parser that keeps one node per element,
/// comment, processing instruction and run of character data (the way roxmltree counts,
/// the document node being the first) holds more than `limit` nodes. Approximate
/// (entity references and CDATA next to text are one run), which is all a line number
/// in a message needs.
pub(super) fn node_past(text: &str, limit: usize) -> usize {
    let mut nodes = 1usize;
    let mut depth = 0usize;
    let mut pos = 0;
    let mut in_text = false;
    for item in markup(text) {
        let Ok(m) = item else { break };
        if depth > 0 && !in_text && m.at > pos {
            nodes += 1;
            if nodes > limit {
                return pos;
            }
        }
        in_text = false;
        let counted = match m.kind {
            Kind::Start => {
                depth += 1;
                true
            }
            Kind::End => {
                depth = depth.saturating_sub(1);
                false
            }
            Kind::Empty | Kind::Comment => true,
            // The XML declaration is no node.
            Kind::Pi => !text[m.at..].starts_with("<?xml "),
            Kind::CData => {
                in_text = true;
                depth > 0
            }
            Kind::Declaration => false,
        };
        if counted {
            nodes += 1;
            if nodes > limit {
                return m.at;
            }
        }
        pos = m.end;
    }
    pos
}

/// The name written at `from` (an element's qualified name after `<` or `</`).
pub(super) fn name_at(text: &str, from: usize) -> &str {
    let rest = text.get(from..).unwrap_or("");
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The 1-based line of byte `offset`.
pub(super) fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// The byte offset of a roxmltree position (1-based line, 1-based column in characters).
pub(super) fn offset_of(text: &str, pos: roxmltree::TextPos) -> usize {
    let mut start = 0;
    for _ in 1..pos.row {
        match text[start..].find('\n') {
            Some(nl) => start += nl + 1,
            None => return text.len(),
        }
    }
    let column = usize::try_from(pos.col)
        .unwrap_or(usize::MAX)
        .saturating_sub(1);
    text[start..]
        .char_indices()
        .nth(column)
        .map_or(text.len(), |(i, _)| start + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_elements_skip_comments_cdata_and_quoted_brackets() {
        let text = "<a x='>'><!-- <b> --><![CDATA[<c>]]><d/><e><f></f>";
        let open = open_elements(text, text.len()).unwrap();
        let names: Vec<_> = open.iter().map(|&at| name_at(text, at + 1)).collect();
        assert_eq!(names, ["a", "e"]);
        assert_eq!(
            open_elements("<a><b", 5).unwrap_err(),
            (3, Kind::Start),
            "an unfinished tag is named"
        );
    }

    #[test]
    fn positions_and_names() {
        let text = "<?xml version=\"1.0\"?>\n<!-- c -->\n<!DOCTYPE r>\n<r/>";
        assert_eq!(doctype(text).map(|at| line_at(text, at)), Some(3));
        assert_eq!(doctype("<r/><!DOCTYPE r>"), None);
        assert_eq!(
            root_name_end("<?xml version=\"1.0\"?><ns:r a='1'/>"),
            Some(26)
        );
        let pos = roxmltree::TextPos::new(2, 3);
        assert_eq!(offset_of("ab\nçdef", pos), 6);
        assert_eq!(node_past("<a><b/>x<c/></a>", 3), 7);
    }
}
