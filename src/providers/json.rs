//! JSON reading shared by the JSON providers (GoSquared, emfluence): one syntax-error
//! type with the place it happened, and words for a value's JSON type in messages.

use serde_json::Value as Json;
use thiserror::Error;

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

/// Parses `text` as JSON, with a [`JsonError`] that says where it went wrong.
pub fn parse(text: &str) -> Result<Json, JsonError> {
    Ok(serde_json::from_str(text)?)
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
