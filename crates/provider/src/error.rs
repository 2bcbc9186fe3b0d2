//! One error type for every provider call, split by *what* failed, with an "is it worth
//! trying again" answer (the OpenDAL and lychee pattern in STYLE.md). Messages never
//! hold a secret: URLs are reduced to their path, bodies are never echoed whole.

use sgsync_model::ProviderKind;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Credentials refused (GoSquared 4001, iSpring `Authorization failed`, HTTP 401).
    Auth,
    /// The account may not do this (iSpring `Permission denied`, HTTP 403).
    PermissionDenied,
    /// iSpring `Account subscription expired`.
    SubscriptionExpired,
    /// Told to slow down (HTTP 429, GoSquared 4002); `retry_after` says for how long.
    RateLimited,
    /// The request was refused as malformed (GoSquared 4000/4003/4004, iSpring `Wrong
    /// parameters`, emfluence `success: 0`).
    InvalidRequest,
    /// The group does not exist (iSpring `Unknown Group`, HTTP 404).
    NotFound,
    /// A write collided with existing state (emfluence duplicate `groupName`).
    Conflict,
    /// No answer in time; a write may or may not have happened.
    Timeout,
    /// Could not connect: the request never reached the provider.
    Connect,
    /// The provider failed (HTTP 5xx, SOAP server fault).
    Server,
    /// The answer was larger than the configured cap.
    BodyTooLarge,
    /// The answer could not be read (truncated, not JSON/XML, wrong shape).
    Malformed,
    /// The provider cannot do this at all (see `Capabilities`).
    Unsupported,
    /// The payload is for another provider, or the configuration is unusable.
    Config,
    /// Not sent: the run stopped writing (it lost its lease, or the state store failed).
    Stopped,
}

impl ErrorKind {
    /// A short name in snake case, for metrics labels and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::SubscriptionExpired => "subscription_expired",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connect",
            ErrorKind::Server => "server",
            ErrorKind::BodyTooLarge => "body_too_large",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Config => "config",
            ErrorKind::Stopped => "stopped",
        }
    }

    /// Whether the same call may succeed if tried again later.
    pub fn is_temporary(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited
                | ErrorKind::Timeout
                | ErrorKind::Connect
                | ErrorKind::Server
                | ErrorKind::Malformed
        )
    }

    /// Whether the provider certainly did not act on the request, so even a
    /// non-idempotent write may be sent again.
    pub fn request_not_processed(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Connect | ErrorKind::Stopped
        )
    }
}

/// A failed provider call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    pub provider: ProviderKind,
    pub kind: ErrorKind,
    /// What we were doing, e.g. `POST /people/v1/smartgroups` or `AddSmartGroup`.
    pub operation: String,
    /// What went wrong, in words, without secrets.
    pub message: String,
    /// How long the provider asked us to wait, when it said.
    pub retry_after: Option<Duration>,
    /// How many attempts were made before giving up.
    pub attempts: u32,
}

impl ProviderError {
    pub fn new(
        provider: ProviderKind,
        kind: ErrorKind,
        operation: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ProviderError {
            provider,
            kind,
            operation: operation.into(),
            message: message.into(),
            retry_after: None,
            attempts: 1,
        }
    }

    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    pub fn is_temporary(&self) -> bool {
        self.kind.is_temporary()
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ErrorKind::Auth => "credentials refused",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::SubscriptionExpired => "subscription expired",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::InvalidRequest => "request refused",
            ErrorKind::NotFound => "not found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Connect => "cannot connect",
            ErrorKind::Server => "provider error",
            ErrorKind::BodyTooLarge => "answer too large",
            ErrorKind::Malformed => "unreadable answer",
            ErrorKind::Unsupported => "not supported",
            ErrorKind::Config => "configuration",
            ErrorKind::Stopped => "not sent",
        };
        write!(
            f,
            "{} {}: {kind}: {}",
            self.provider.display_name(),
            self.operation,
            self.message
        )?;
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

impl std::error::Error for ProviderError {}
