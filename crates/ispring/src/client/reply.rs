//! How an iSpring reply becomes a value or a [`ProviderError`]: the token answer, the
//! SOAP fault kinds (§4), REST errors by status, and a failed update.

use super::PROVIDER;
use crate::wire::WireError;
use secrecy::SecretString;
use serde::Deserialize;
use sgsync_provider::http::Reply;
use sgsync_provider::{ErrorKind, ProviderError};

/// `{"access_token","expires_in","token_type"}` (§2.2).
#[derive(Deserialize)]
pub(super) struct TokenAnswer {
    pub(super) access_token: SecretString,
    pub(super) expires_in: Option<u64>,
}

pub(super) fn read_token(reply: Reply) -> Result<TokenAnswer, ProviderError> {
    if !reply.status.is_success() {
        return Err(reply.status_error(PROVIDER, "token"));
    }
    serde_json::from_slice::<TokenAnswer>(&reply.body).map_err(|e| {
        // serde_json's message names the position and the expected type, never the value.
        ProviderError::new(
            PROVIDER,
            ErrorKind::Malformed,
            "token",
            format!("the token answer is not the documented JSON: {e}"),
        )
    })
}

/// The kind a SOAP fault means (§4): by `faultstring`, case-insensitively; an unknown
/// string is `Server` only when `faultcode` says so, else `InvalidRequest`.
pub fn fault_kind(code: &str, message: &str) -> ErrorKind {
    match message.trim().to_ascii_lowercase().as_str() {
        "authorization failed" => ErrorKind::Auth,
        "account subscription expired" => ErrorKind::SubscriptionExpired,
        "permission denied" => ErrorKind::PermissionDenied,
        "unknown group" => ErrorKind::NotFound,
        "wrong parameters" => ErrorKind::InvalidRequest,
        _ => {
            let local = code.rsplit(':').next().unwrap_or(code).trim();
            if local.eq_ignore_ascii_case("server") {
                ErrorKind::Server
            } else {
                ErrorKind::InvalidRequest
            }
        }
    }
}

/// A reply as `read` sees it: a SOAP fault (any status) is classified by its string; a
/// REST error by its status; a failed status without a readable error by the status.
pub(super) fn interpret<T>(
    reply: Reply,
    operation: &str,
    rest: bool,
    read: fn(&str) -> Result<T, WireError>,
) -> Result<T, ProviderError> {
    let ok = reply.status.is_success();
    let parsed = match reply.text() {
        Ok(text) => read(text),
        Err(_) if !ok => return Err(reply.status_error(PROVIDER, operation)),
        Err(e) => {
            return Err(ProviderError::new(
                PROVIDER,
                ErrorKind::Malformed,
                operation,
                format!("the answer is not UTF-8: {e}"),
            ));
        }
    };
    match parsed {
        Ok(value) if ok => Ok(value),
        Err(WireError::Fault { code, message }) if !rest => Err(ProviderError::new(
            PROVIDER,
            fault_kind(&code, &message),
            operation,
            format!("SOAP fault \"{code}\": {message}"),
        )),
        Err(WireError::Fault { message, .. }) if !ok => {
            let mut e = reply.status_error(PROVIDER, operation);
            e.message = format!("{}: {message}", e.message);
            Err(e)
        }
        _ if !ok => Err(reply.status_error(PROVIDER, operation)),
        // More than the XML reader takes: the same answer next time, so not retried.
        Err(e @ (WireError::TooManyNodes { .. } | WireError::TooManyElements { .. })) => Err(
            ProviderError::new(PROVIDER, ErrorKind::BodyTooLarge, operation, e.to_string()),
        ),
        Err(e) => Err(ProviderError::new(
            PROVIDER,
            ErrorKind::Malformed,
            operation,
            e.to_string(),
        )),
        Ok(_) => Err(reply.status_error(PROVIDER, operation)),
    }
}

pub(super) fn update_failed(operation: &str) -> ProviderError {
    ProviderError::new(
        PROVIDER,
        ErrorKind::Server,
        operation,
        "iSpring answered success = false",
    )
}
