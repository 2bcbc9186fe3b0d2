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
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = UniqueKeys {
        duplicate: &duplicate,
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

/// Builds a `Value` as serde_json does, but fails on a repeated object key, leaving the
/// key in `duplicate` (serde_json's error then gives the position).
#[derive(Clone, Copy)]
struct UniqueKeys<'a> {
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = Json;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_> {
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
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let mut shown: String = key.chars().take(KEY_SHOWN).collect();
                if shown.len() < key.len() {
                    shown.push('…');
                }
                *self.duplicate.borrow_mut() = Some(shown);
                return Err(de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(self)?;
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
