//! What every provider implements, and what they share: the [`Provider`] trait (its API
//! as the engine sees it), the [`Dialect`] trait (its rules ↔ the canonical model), the
//! opaque [`Payload`] a dialect hands the engine, [`Capabilities`] and [`Limits`],
//! [`ProviderError`] with its [`ErrorKind`], the HTTP layer every client goes through
//! (`http`), fencing (`fence`), membership (`members`), JSON reading (`json`), and
//! [`ProviderEntry`]: what a provider crate offers the program's registry.
//!
//! A provider is a crate of its own (`crates/<name>`) that implements these; nothing here
//! names one.

pub mod dialect;
pub mod entry;
pub mod error;
pub mod fence;
pub mod http;
pub mod json;
pub mod members;
pub mod pacing;

pub use dialect::{DecodeError, Dialect, Translation, translate};
pub use entry::ProviderEntry;
pub use error::{ErrorKind, ProviderError};

use async_trait::async_trait;
use sgsync_model::{Directory, ProviderKind, SourceGroup};
use std::any::Any;
use std::sync::Arc;

/// What a target provider is sent to create or update a group, as its dialect wrote it.
/// Opaque to the engine, which needs only the text the provider will read (to hash, and
/// to show), the name and description (to check against the target's limits); the
/// provider's own client gets its typed body back with [`Payload::body`].
#[derive(Clone)]
pub struct Payload {
    provider: ProviderKind,
    name: String,
    description: Option<String>,
    rendered: String,
    body: Arc<dyn Any + Send + Sync>,
}

impl Payload {
    /// `body` for `provider`, which reads it as `rendered` (its JSON or XML text).
    pub fn new<T: Any + Send + Sync>(
        provider: ProviderKind,
        name: impl Into<String>,
        description: Option<String>,
        rendered: String,
        body: T,
    ) -> Payload {
        Payload {
            provider,
            name: name.into(),
            description,
            rendered,
            body: Arc::new(body),
        }
    }

    /// The payload as its provider reads it: pretty JSON, or XML. Its hash decides
    /// "changed since the last push".
    pub fn render(&self) -> &str {
        &self.rendered
    }

    pub fn provider(&self) -> ProviderKind {
        self.provider
    }

    /// The group name the payload writes.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The description the payload writes, where the provider holds one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The typed body, if this payload holds a `T` (a provider's own wire type).
    pub fn body<T: Any>(&self) -> Option<&T> {
        self.body.downcast_ref()
    }
}

/// Two payloads are equal when their provider reads the same text.
impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.provider == other.provider && self.rendered == other.rendered
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} payload {:?}", self.provider, self.name)
    }
}

/// Pretty JSON of a payload body (the JSON providers' [`Payload::render`]).
pub fn pretty_json(value: &impl serde::Serialize) -> String {
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

/// What a provider can truly do through its API (each provider crate's notes).
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

/// A group as a target's cheapest listing shows it: enough to tell that a linked copy
/// still exists, under its name, and is not archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub name: String,
    /// Hidden by its status (emfluence `Archived`).
    pub archived: bool,
}

/// A target's listing read within a budget.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listing {
    /// Every group the target holds, when the listing fit in the budget; `None` when it
    /// did not (or the provider has no listing).
    pub groups: Option<Vec<Listed>>,
    /// Calls made (0 when the listing came from what the run had already read).
    pub calls: usize,
}

/// Some pages of a target's listing, when the whole does not fit a run's budget: the
/// engine checks the copies it shows and goes on from `next_page` the next run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Window {
    pub groups: Vec<Listed>,
    /// Where the next window starts (wraps to the first page after the last).
    pub next_page: usize,
    pub calls: usize,
}

/// What reading a linked copy back found, compared with what sgsync last pushed there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// It holds what was pushed (as far as the provider shows it).
    Same,
    /// No group has this id any more.
    Missing,
    /// It was changed by hand; the words say what (renamed, archived, the rule edited).
    Differs(String),
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
    /// The account this client talks to (its normalised URL): two connections to the
    /// same account have the same, so ids and opaque nodes may travel between them.
    fn account(&self) -> String;
    /// The account's directory: departments, groups, profile fields and their values,
    /// where its API lists them (one pass; the engine reads it once per run). A provider
    /// that lists none has an unlisted one.
    async fn directory(&self) -> Result<Directory, ProviderError> {
        Ok(Directory::unlisted(
            self.account(),
            self.kind().display_name(),
        ))
    }
    /// Every group (all pages), decoded with the account's `directory`.
    async fn list_groups(&self, directory: &Directory) -> Result<Vec<RemoteGroup>, ProviderError>;
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
    /// A hint before the writes start: these groups (target ids, in the order their
    /// updates will come) are updated this run. A provider that must read a group
    /// before writing it (emfluence refuses Dynamic groups) may then read them in
    /// batches instead of one call per update. It must stay correct without the hint.
    fn will_update(&self, ids: Vec<String>) {
        let _ = ids;
    }
    /// Every group the target holds (id, name, status), if reading them all takes at
    /// most `max_calls` calls, with the calls made: drift detection's cheap read of
    /// existence and names. `directory` is what this run read of the account (a
    /// provider whose directory lists every group answers from it, with no call).
    async fn listing(
        &self,
        directory: &Directory,
        max_calls: usize,
    ) -> Result<Listing, ProviderError> {
        let _ = (directory, max_calls);
        Ok(Listing::default())
    }
    /// Up to `max_calls` pages of the listing from page `from_page` (1-based; past the
    /// last page starts again at the first), for a target whose listing does not fit a
    /// run's budget whole. By default none (a provider that lists in one call, or lists
    /// nothing, has no window to read).
    async fn listing_window(
        &self,
        from_page: usize,
        max_calls: usize,
    ) -> Result<Window, ProviderError> {
        let _ = (from_page, max_calls);
        Ok(Window::default())
    }
    /// Reads the copy `id` back and compares it with `payload`, what sgsync last pushed
    /// there (name, and the rule or description where the provider shows them), with
    /// the calls made. By default one `get_group`: existence and name only.
    async fn verify(
        &self,
        id: &str,
        payload: &Payload,
    ) -> Result<(Verified, usize), ProviderError> {
        let verified = match self.get_group(id).await? {
            None => Verified::Missing,
            Some(g) if g.name != payload.name() => {
                Verified::Differs(format!("renamed to \"{}\"", g.name))
            }
            Some(_) => Verified::Same,
        };
        Ok((verified, 1))
    }
    /// How many copies one [`Provider::verify_many`] call reads back at most: more than
    /// one where the API reads several groups in one call (emfluence `groups/lookup`
    /// takes 25 ids).
    fn verify_batch(&self) -> usize {
        1
    }
    /// [`Provider::verify`] for up to [`Provider::verify_batch`] copies (target id and
    /// what was pushed), in order, with the calls made. By default one `verify` each.
    async fn verify_many(
        &self,
        copies: &[(&str, &Payload)],
    ) -> Result<(Vec<Verified>, usize), ProviderError> {
        let mut found = Vec::with_capacity(copies.len());
        let mut calls = 0;
        for (id, payload) in copies {
            let (verified, n) = self.verify(id, payload).await?;
            found.push(verified);
            calls += n;
        }
        Ok((found, calls))
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
pub fn single_named(
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
