//! Which provider something belongs to: a small copyable handle, defined by each
//! provider crate (`sgsync_gosquared::KIND`, …), never a closed list here — the model
//! knows no provider by name, so a new one is a crate of its own.

use serde::{Serialize, Serializer};
use std::fmt;

/// A provider: its id (config, stable keys, the store, metrics labels) and its name for
/// people. Two kinds are the same provider exactly when their ids are equal.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderKind {
    id: &'static str,
    name: &'static str,
}

impl ProviderKind {
    /// `id`: lower case, as written in config (`provider = "gosquared"`).
    pub const fn new(id: &'static str, name: &'static str) -> ProviderKind {
        ProviderKind { id, name }
    }

    /// The lower-case id used in config, the CLI and stable keys.
    pub fn as_str(self) -> &'static str {
        self.id
    }

    /// The provider's own spelling, for messages meant for people.
    pub fn display_name(self) -> &'static str {
        self.name
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id)
    }
}

/// The id alone: what logs and test failures should show.
impl fmt::Debug for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id)
    }
}

impl Serialize for ProviderKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id)
    }
}
