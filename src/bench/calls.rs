//! Calls counted from a sandbox's request log: reads, writes, token requests, and the
//! ones the sandbox refused for going over its rate limit.

use crate::model::ProviderKind;
use crate::sandbox::{Fault, LoggedRequest};
use serde::Serialize;
use std::time::SystemTime;

/// What one provider received during one sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Calls {
    /// Requests that change nothing (lists, lookups).
    pub reads: u64,
    /// Requests that create, update, archive or delete (or change membership).
    pub writes: u64,
    /// Token requests (iSpring's OAuth endpoint).
    pub auth: u64,
    /// Requests the sandbox answered 429 for (the client went over the limit).
    pub rate_limited: u64,
    /// Of the reads, those drift detection makes on a target: its listing pages and
    /// the content of the slice read back (emfluence `groups/search`, `groups/lookup`;
    /// iSpring `getSmartGroupRules`), and the per-run check that it answers (emfluence
    /// `helper/ping`). Counted in a run with nothing to create, where no other call
    /// reads these.
    pub verify: u64,
}

impl Calls {
    pub fn total(&self) -> u64 {
        self.reads + self.writes + self.auth
    }
}

/// Whether `r` changes state on `provider`: the write calls each client makes.
pub fn is_write(provider: ProviderKind, r: &LoggedRequest) -> bool {
    match provider {
        sgsync_gosquared::KIND => r.method == axum::http::Method::POST,
        sgsync_ispring::KIND => {
            r.path.ends_with(crate::sandbox::ispring::SOAP_PATH)
                && [
                    "AddSmartGroup",
                    "UpdateSmartGroup",
                    "RemoveGroup",
                    "updateSmartGroup",
                    "AddGroupRequest",
                    "UpdateGroupRequest",
                    "UpdateGroupMembersRequest",
                    "AddUserToGroupRequest",
                    "RemoveUserFromGroupRequest",
                ]
                .iter()
                .any(|m| r.contains(m))
        }
        sgsync_emfluence::KIND => [
            "groups/save",
            "groups/addContacts",
            "groups/removeContacts",
            "contacts/save",
        ]
        .iter()
        .any(|p| r.path.contains(p)),
        // No other provider has a sandbox.
        _ => false,
    }
}

/// Whether `r` is one of drift detection's reads (see [`Calls::verify`]).
pub fn is_verify(provider: ProviderKind, r: &LoggedRequest) -> bool {
    match provider {
        sgsync_ispring::KIND => r.contains("GetSmartGroupRules") || r.path.ends_with("/rules"),
        sgsync_emfluence::KIND => ["groups/search", "groups/lookup", "helper/ping"]
            .iter()
            .any(|p| r.path.contains(p)),
        _ => false,
    }
}

fn is_auth(provider: ProviderKind, r: &LoggedRequest) -> bool {
    provider == sgsync_ispring::KIND && r.path.ends_with("/token")
}

/// Counts `log` (the requests one sandbox saw) for `provider`.
pub fn count(provider: ProviderKind, log: &[LoggedRequest]) -> Calls {
    let mut c = Calls::default();
    for r in log {
        if matches!(r.fault, Some(Fault::RateLimited { .. })) {
            c.rate_limited += 1;
        } else if is_auth(provider, r) {
            c.auth += 1;
        } else if is_write(provider, r) {
            c.writes += 1;
        } else {
            c.reads += 1;
            c.verify += u64::from(is_verify(provider, r));
        }
    }
    c
}

/// When the first of these requests arrived.
pub fn first_arrival<'a>(logs: impl IntoIterator<Item = &'a LoggedRequest>) -> Option<SystemTime> {
    logs.into_iter().map(|r| r.at).min()
}
