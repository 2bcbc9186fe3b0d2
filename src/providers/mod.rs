//! One folder per provider: `wire.rs` (its request/response shapes), `dialect.rs` (its
//! rules ↔ the canonical model, pure).
//!
//! Every dialect has the same two entry points:
//! - `dialect::decode(&wire group, &Maps) -> SourceGroup`
//! - `dialect::encode(&SmartGroup, source: ProviderKind, &Maps) -> (Option<wire payload>, Findings)`
//!   where `source` is the provider the group was read from: an opaque node may only be
//!   written back to its own dialect, and an assumed spelling only costs fidelity when it
//!   is used for a group from another dialect.

pub mod emfluence;
pub mod error;
pub mod fence;
pub mod gosquared;
pub mod http;
pub mod ispring;
pub mod json;
pub mod members;
pub mod sandbox;

pub use error::{ErrorKind, ProviderError};

use crate::model::{ProviderKind, SourceGroup};
use async_trait::async_trait;

/// What a target provider is sent to create or update a group.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// Body of `POST people/smartgroups`.
    GoSquared(gosquared::wire::NewSmartGroup),
    /// `name` and CNF `rules` of `AddSmartGroup` / `updateSmartGroup`.
    Ispring(ispring::wire::SmartGroupPayload),
    /// Body of `POST groups/save` (without `groupID`).
    Emfluence(emfluence::wire::GroupSave),
}

impl Payload {
    /// The payload as its provider reads it: pretty JSON, or XML.
    pub fn render(&self) -> String {
        match self {
            Payload::GoSquared(p) => pretty_json(p),
            Payload::Ispring(p) => p.to_xml(),
            Payload::Emfluence(p) => pretty_json(p),
        }
    }

    pub fn provider(&self) -> ProviderKind {
        match self {
            Payload::GoSquared(_) => ProviderKind::GoSquared,
            Payload::Ispring(_) => ProviderKind::Ispring,
            Payload::Emfluence(_) => ProviderKind::Emfluence,
        }
    }

    /// The description the payload writes, where the provider holds one.
    pub fn description(&self) -> Option<&str> {
        match self {
            Payload::GoSquared(_) | Payload::Ispring(_) => None,
            Payload::Emfluence(p) => Some(p.description.as_str()),
        }
    }

    /// The group name the payload writes.
    pub fn name(&self) -> &str {
        match self {
            Payload::GoSquared(p) => &p.name,
            Payload::Ispring(p) => &p.name,
            Payload::Emfluence(p) => &p.group_name,
        }
    }
}

fn pretty_json(value: &impl serde::Serialize) -> String {
    // Serialising our own plain structs cannot fail (no maps with non-string keys, no
    // failing Serialize impls); say so rather than panic if that ever changes.
    serde_json::to_string_pretty(value)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise payload: {e}\"}}"))
}

/// The largest group a provider takes. None of the three documents a limit on names,
/// descriptions or rule sizes (provider notes), so these are sane caps: far above any
/// real group, far below what would hurt (a megabyte of name pushed and stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Characters in a group name (prefix included).
    pub name_chars: usize,
    /// Characters in a group description.
    pub description_chars: usize,
    /// Bytes of the payload as sent (rules included).
    pub payload_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            name_chars: 255,
            description_chars: 4000,
            payload_bytes: 256 * 1024,
        }
    }
}

/// What a provider can truly do through its API (provider notes in `../shared/providers/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub list: bool,
    pub get: bool,
    pub create: bool,
    /// GoSquared documents no update call (gosquared.md §2, §4).
    pub update: bool,
    /// Hide without deleting (emfluence `status: Archived`).
    pub archive: bool,
    pub delete: bool,
    /// Holds a rule (a smart group); emfluence holds member lists only.
    pub holds_rules: bool,
    /// Stores our stable key on the group (emfluence `externalID`); the others are found
    /// by exact name.
    pub stores_key: bool,
}

/// A group as a provider holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteGroup {
    /// The provider's id (GoSquared slug, iSpring UUID, emfluence `groupID`).
    pub id: String,
    pub name: String,
    /// Our stable key, where the provider stores one.
    pub key: Option<String>,
    /// The group decoded into the canonical model.
    pub decoded: SourceGroup,
}

/// One provider's API, as the engine sees it.
///
/// A trait object (`Arc<dyn Provider>`) rather than an enum over the three: the engine
/// holds a list of targets of mixed kinds, and tests substitute fakes; the boxed future
/// per call (async-trait) costs nothing next to a network round trip.
#[async_trait]
pub trait Provider: Send + Sync {
    fn kind(&self) -> ProviderKind;
    fn capabilities(&self) -> Capabilities;
    /// The largest group it takes.
    fn limits(&self) -> Limits {
        Limits::default()
    }
    /// A read-only call that proves the credentials work.
    async fn check(&self) -> Result<(), ProviderError>;
    /// Every group (all pages).
    async fn list_groups(&self) -> Result<Vec<RemoteGroup>, ProviderError>;
    /// One group, `None` if it does not exist.
    async fn get_group(&self, id: &str) -> Result<Option<RemoteGroup>, ProviderError>;
    /// The group sgsync created for `key`: found by `key` where the provider stores it
    /// (confirmed by reading it back), else by exact `name`.
    async fn find_by_key(
        &self,
        name: &str,
        key: &str,
    ) -> Result<Option<RemoteGroup>, ProviderError>;
    /// The name of every group the target holds, in every status (an archived group
    /// keeps its name), if one listing of at most `max_calls` calls can read them all;
    /// `None` when it cannot (or the provider has no such listing). The engine reads it
    /// once per run instead of looking every new group up (see `engine::apply`).
    async fn group_names(&self, max_calls: usize) -> Result<Option<Vec<String>>, ProviderError> {
        let _ = max_calls;
        Ok(None)
    }
    /// Creates a group; returns its id. Not retried blindly: a create that may have
    /// happened is reported, and the caller looks the key up before trying again.
    async fn create(&self, key: &str, payload: &Payload) -> Result<String, ProviderError>;
    /// Replaces the group's definition with `payload`.
    async fn update(&self, id: &str, key: &str, payload: &Payload) -> Result<(), ProviderError>;
    /// Archives a group sgsync created (hidden, not deleted: emfluence `Archived`).
    async fn archive(&self, id: &str) -> Result<(), ProviderError> {
        let _ = id;
        Err(ProviderError::new(
            self.kind(),
            ErrorKind::Unsupported,
            "archive group",
            format!("{} cannot archive a group", self.kind().display_name()),
        ))
    }
    /// Deletes a group sgsync created, for good (iSpring `removeGroup`).
    async fn delete(&self, id: &str) -> Result<(), ProviderError> {
        let _ = id;
        Err(ProviderError::new(
            self.kind(),
            ErrorKind::Unsupported,
            "delete group",
            format!("{} cannot delete a group", self.kind().display_name()),
        ))
    }
    /// The people of its groups can be read (membership materialisation, as a source).
    fn member_source(&self) -> Option<&dyn members::MemberSource> {
        None
    }
    /// Its static groups' members can be written (membership materialisation, as a
    /// target).
    fn member_target(&self) -> Option<&dyn members::MemberTarget> {
        None
    }
}

/// The one group in `matches` (groups found by exact name), `None` when there is none.
/// Several groups with the name are a [`ErrorKind::Conflict`] naming their ids: sgsync
/// never guesses which one it created.
pub(crate) fn single_named(
    provider: ProviderKind,
    operation: &str,
    name: &str,
    mut matches: Vec<RemoteGroup>,
) -> Result<Option<RemoteGroup>, ProviderError> {
    if matches.len() > 1 {
        let ids: Vec<&str> = matches.iter().map(|g| g.id.as_str()).collect();
        return Err(ProviderError::new(
            provider,
            ErrorKind::Conflict,
            operation,
            format!(
                "{} groups are named {name:?} (ids {}); rename or remove all but one",
                ids.len(),
                ids.join(", ")
            ),
        ));
    }
    Ok(matches.pop())
}
