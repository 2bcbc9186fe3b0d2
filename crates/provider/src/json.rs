//! JSON reading shared by the JSON providers (GoSquared, emfluence): one syntax-error
//! type with the place it happened, and words for a value's JSON type in messages.
//!
//! An object that names the same key twice is refused ([`JsonError::DuplicateKey`]).
//! serde_json's own `Value` keeps the last one silently; but which one the sender meant
//! is unknowable, and two readers that pick differently (`{"success":0,"success":1}`)
//! are how a check is slipped past. The iSpring XML reader refuses a repeated child
//! element for the same reason.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value as Json};
use std::cell::RefCell;
use std::fmt;
use thiserror::Error;

/// How much of a repeated key an error shows (keys are the sender's text, of any size).
const KEY_SHOWN: usize = 64;

/// Text that is not JSON, or JSON nested past serde_json's recursion limit.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JsonError {
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// serde_json stops at 128 nested arrays/objects rather than overflow the stack; no
    /// real group comes near that.
    #[error("JSON nested too deeply at line {line}, column {column}")]
    TooDeep { line: usize, column: usize },
    /// Bytes that are not UTF-8, read as a stream ([`parse_streamed`]; text handed to
    /// [`parse`] is UTF-8 already).
    #[error("answer is not UTF-8 at line {line}, column {column}")]
    NotUtf8 { line: usize, column: usize },
    /// `key` is cut to its first 64 characters (then `…`).
    #[error("JSON object has the key {key:?} twice (the second at line {line}, column {column})")]
    DuplicateKey {
        key: String,
        line: usize,
        column: usize,
    },
}

impl From<serde_json::Error> for JsonError {
    fn from(e: serde_json::Error) -> Self {
        // serde_json has no public error code for this case; its message is stable
        // ("recursion limit exceeded").
        if e.to_string().starts_with("recursion limit exceeded") {
            return JsonError::TooDeep {
                line: e.line(),
                column: e.column(),
            };
        }
        // Likewise ("invalid unicode code point"): raised by a reader of bytes only.
        if e.to_string().starts_with("invalid unicode code point") {
            return JsonError::NotUtf8 {
                line: e.line(),
                column: e.column(),
            };
        }
        JsonError::Syntax {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}

/// Parses `text` as JSON, with a [`JsonError`] that says where it went wrong. An
/// object with a repeated key is an error (see the module comment).
pub fn parse(text: &str) -> Result<Json, JsonError> {
    read(serde_json::Deserializer::from_str(text), Mode::Plain)
}

/// Reads JSON from `reader` as [`parse`] does, without ever holding its one large array:
/// the elements of a top-level array, or of the array at key `list` of a top-level
/// object, go to `each` one at a time as they are read (with `""` or `list` for where
/// they are, and their index), and come back out of the result as an empty array. An
/// element that is an object keeps only the keys in `keep`; the others are checked as
/// JSON and skipped unbuilt (a key repeated in it is still refused).
/// Memory is one element, whatever the size of the answer.
pub fn parse_streamed(
    reader: impl std::io::Read,
    list: &str,
    keep: &[&str],
    each: impl FnMut(&str, usize, Json),
) -> Result<Json, JsonError> {
    let each = RefCell::new(each);
    let stream = Stream {
        list,
        keep,
        each: &each,
    };
    read(
        serde_json::Deserializer::from_reader(reader),
        Mode::Top(stream),
    )
}

fn read<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
    mode: Mode<'_>,
) -> Result<Json, JsonError> {
    let duplicate = RefCell::new(None);
    let parsed = UniqueKeys {
        duplicate: &duplicate,
        mode,
    }
    .deserialize(&mut de)
    .and_then(|value| de.end().map(|()| value));
    parsed.map_err(|e| match duplicate.take() {
        Some(key) => JsonError::DuplicateKey {
            key,
            line: e.line(),
            column: e.column(),
        },
        None => e.into(),
    })
}

/// Where [`parse_streamed`] sends the elements of the array it does not keep.
#[derive(Clone, Copy)]
struct Stream<'a> {
    list: &'a str,
    keep: &'a [&'a str],
    each: &'a RefCell<Each<'a>>,
}

/// What [`parse_streamed`] calls with each element: where it was, its index, itself.
type Each<'a> = dyn FnMut(&str, usize, Json) + 'a;

/// What the value being read is, for [`parse_streamed`]; `Plain` everywhere in [`parse`].
#[derive(Clone, Copy)]
enum Mode<'a> {
    Plain,
    /// The answer itself: an array is streamed, an object's `list` key is [`Mode::List`].
    Top(Stream<'a>),
    /// The value at `list`: streamed if it is an array.
    List(Stream<'a>),
    /// One streamed element: only the `keep` keys of an object are built.
    Element(&'a [&'a str]),
}

/// Builds a `Value` as serde_json does, but fails on a repeated object key, leaving the
/// key in `duplicate` (serde_json's error then gives the position).
#[derive(Clone, Copy)]
struct UniqueKeys<'d, 'a> {
    duplicate: &'d RefCell<Option<String>>,
    mode: Mode<'a>,
}

impl UniqueKeys<'_, '_> {
    fn plain(self) -> Self {
        UniqueKeys {
            mode: Mode::Plain,
            ..self
        }
    }

    /// The error for a key seen twice in one object, leaving the key for the message.
    fn repeated<E: de::Error>(&self, key: &str) -> E {
        let mut shown: String = key.chars().take(KEY_SHOWN).collect();
        if shown.len() < key.len() {
            shown.push('…');
        }
        *self.duplicate.borrow_mut() = Some(shown);
        de::Error::custom("duplicate key")
    }
}

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_, '_> {
    type Value = Json;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_, '_> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        // The parser never yields NaN or ±inf (it refuses `1e400`); null as serde_json.
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let stream = match self.mode {
            Mode::Top(s) => Some((s, "")),
            Mode::List(s) => Some((s, s.list)),
            Mode::Plain | Mode::Element(_) => None,
        };
        if let Some((stream, at)) = stream {
            let element = UniqueKeys {
                mode: Mode::Element(stream.keep),
                ..self
            };
            let mut index = 0;
            while let Some(item) = seq.next_element_seed(element)? {
                (stream.each.borrow_mut())(at, index, item);
                index += 1;
            }
            return Ok(Json::Array(Vec::new()));
        }
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.plain())? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut object = Map::new();
        // Keys skipped unbuilt are remembered too, so none of them can come twice.
        let mut skipped = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) || skipped.contains(&key) {
                return Err(self.repeated(&key));
            }
            let value = match self.mode {
                Mode::Top(stream) if key == stream.list => map.next_value_seed(UniqueKeys {
                    mode: Mode::List(stream),
                    ..self
                })?,
                Mode::Element(keep) if !keep.contains(&key.as_str()) => {
                    map.next_value::<de::IgnoredAny>()?;
                    skipped.push(key);
                    continue;
                }
                _ => map.next_value_seed(self.plain())?,
            };
            object.insert(key, value);
        }
        Ok(Json::Object(object))
    }
}

/// "a string", "an array", … for messages such as "expected an array, found a string".
pub fn kind_of(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_serde_json() {
        let text = r#"{"b":[1,-2,3.5,true,null,"x\u00e9"],"a":{"n":18446744073709551615}}"#;
        let ours = parse(text).unwrap();
        let theirs: Json = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
        // Key order is kept (preserve_order), as with serde_json.
        assert_eq!(ours.as_object().unwrap().keys().next().unwrap(), "b");
    }

    #[test]
    fn a_repeated_key_is_refused_with_its_place() {
        let err = parse("{\"success\":0,\n \"success\":1}").unwrap_err();
        assert_eq!(
            err,
            JsonError::DuplicateKey {
                key: "success".into(),
                line: 2,
                column: 10
            }
        );
        assert_eq!(
            err.to_string(),
            "JSON object has the key \"success\" twice (the second at line 2, column 10)"
        );
        // Deep inside too, and the same key in sibling objects is fine.
        assert!(matches!(
            parse(r#"[{"a":1},{"a":2},{"b":{"c":1,"c":1}}]"#),
            Err(JsonError::DuplicateKey { .. })
        ));
        let long = "k".repeat(10_000);
        let err = parse(&format!(r#"{{"{long}":1,"{long}":2}}"#)).unwrap_err();
        assert!(err.to_string().len() < 200, "{err}");
    }

    type Handed = (String, usize, Json);

    /// Every element `parse_streamed` hands out, with where it was, and what it returns.
    fn streamed(text: &str, keep: &[&str]) -> (Result<Json, JsonError>, Vec<Handed>) {
        let mut seen = Vec::new();
        let rest = parse_streamed(text.as_bytes(), "list", keep, |at, i, item| {
            seen.push((at.to_owned(), i, item))
        });
        (rest, seen)
    }

    #[test]
    fn the_streamed_reader_hands_out_the_list_and_keeps_the_rest() {
        let text = r#"{"cardinality":2,"list":[{"id":"a","prefs":{"x":[1,2]},"name":"A"},7],"more":{"list":[1]}}"#;
        let (rest, seen) = streamed(text, &["id", "name"]);
        assert_eq!(
            rest.unwrap(),
            serde_json::json!({"cardinality": 2, "list": [], "more": {"list": [1]}})
        );
        assert_eq!(
            seen,
            vec![
                (
                    "list".into(),
                    0,
                    serde_json::json!({"id": "a", "name": "A"})
                ),
                ("list".into(), 1, serde_json::json!(7)),
            ]
        );
        // A bare array is streamed too; a `list` that is not an array is kept as it is.
        let (rest, seen) = streamed(r#"[{"id":"a"},[1]]"#, &["id"]);
        assert_eq!(rest.unwrap(), serde_json::json!([]));
        assert_eq!(seen[1], ("".into(), 1, serde_json::json!([1])));
        let (rest, seen) = streamed(r#"{"list":null}"#, &[]);
        assert_eq!(rest.unwrap(), serde_json::json!({"list": null}));
        assert!(seen.is_empty());
    }

    #[test]
    fn the_streamed_reader_refuses_what_parse_refuses() {
        for text in [
            r#"{"list":[],"list":[]}"#,
            r#"{"list":[{"id":"a","id":"b"}]}"#,
            // A skipped key, repeated: which one was meant is as unknowable.
            r#"{"list":[{"prefs":1,"prefs":2}]}"#,
            r#"{"list":[{"id":{"x":1,"x":2}}]}"#,
        ] {
            assert!(
                matches!(
                    streamed(text, &["id"]).0,
                    Err(JsonError::DuplicateKey { .. })
                ),
                "{text}"
            );
            assert!(matches!(parse(text), Err(JsonError::DuplicateKey { .. })));
        }
        for text in [
            "",
            "{\"list\":[1,",
            "{} x",
            "[1e400]",
            r#"{"list":[{"prefs":[}]}"#,
        ] {
            assert!(
                matches!(streamed(text, &[]).0, Err(JsonError::Syntax { .. })),
                "{text}"
            );
        }
        // As deep as `parse` allows, counted from the top of the answer.
        let deep = |n: usize| format!("{{\"list\":[{}{}]}}", "[".repeat(n), "]".repeat(n));
        assert!(streamed(&deep(125), &[]).0.is_ok());
        assert!(parse(&deep(125)).is_ok());
        assert!(matches!(
            streamed(&deep(126), &[]).0,
            Err(JsonError::TooDeep { .. })
        ));
        assert!(matches!(parse(&deep(126)), Err(JsonError::TooDeep { .. })));
    }

    #[test]
    fn errors_keep_their_kinds() {
        assert!(matches!(
            parse("{\"a\":1} x"),
            Err(JsonError::Syntax { .. })
        ));
        assert!(matches!(parse("1e400"), Err(JsonError::Syntax { .. })));
        let deep = "[".repeat(1000);
        assert!(matches!(parse(&deep), Err(JsonError::TooDeep { .. })));
    }
}
