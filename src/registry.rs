//! The one place that knows every provider. Each provider crate implements
//! [`ProviderEntry`]; this file lists them, and everything else — config, `check`,
//! `translate`, the daemon — finds a provider here by its id. Adding a provider is a
//! crate of its own plus one line in [`PROVIDERS`].

use crate::model::ProviderKind;
use crate::model::mapping::Maps;
use crate::provider::http::HttpSettings;
use crate::provider::{Dialect, Provider, ProviderEntry, ProviderError};
use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

/// Every provider sgsync speaks, one line each.
pub static PROVIDERS: &[&dyn Registered] = &[
    &Entry::<sgsync_gosquared::GoSquared>(PhantomData),
    &Entry::<sgsync_ispring::Ispring>(PhantomData),
    &Entry::<sgsync_emfluence::Emfluence>(PhantomData),
];

/// The provider with this id (as written in config: `provider = "gosquared"`).
pub fn find(id: &str) -> Option<&'static dyn Registered> {
    PROVIDERS
        .iter()
        .copied()
        .find(|p| p.kind().as_str().eq_ignore_ascii_case(id))
}

/// The provider of this kind. Every kind comes from a registered provider, so this only
/// fails for a kind made up elsewhere (a test's).
pub fn of(kind: ProviderKind) -> Option<&'static dyn Registered> {
    find(kind.as_str())
}

/// Every registered id, for messages: `gosquared, ispring or emfluence`.
pub fn ids() -> String {
    let ids: Vec<&str> = PROVIDERS.iter().map(|p| p.kind().as_str()).collect();
    match ids.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// A provider as the program uses it, whatever its crate's types.
pub trait Registered: Send + Sync {
    fn kind(&self) -> ProviderKind;
    fn holds_members(&self) -> bool;
    fn membership_by_default(&self) -> bool;
    fn http_defaults(&self) -> HttpSettings;
    fn dialect(&self, maps: Arc<Maps>) -> Arc<dyn Dialect>;
    /// Reads a connection block (secret files already resolved); on failure the key path
    /// inside the block and why.
    fn connection(&self, block: config::Value) -> Result<Arc<dyn Connection>, BlockError>;
}

/// A connection block that could not be read, with the key path inside the block.
pub type BlockError = Box<serde_path_to_error::Error<config::ConfigError>>;

/// One account's connection settings, read and typed by its provider's crate.
pub trait Connection: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> ProviderKind;
    /// Every URL it calls, with its key inside the block.
    fn urls(&self) -> Vec<(&'static str, &str)>;
    /// The URL naming the account.
    fn account_url(&self) -> &str;
    /// What tells the account from every other of its provider (no secret in it).
    fn account_key(&self) -> String;
    /// A client for the account.
    fn connect(
        &self,
        http: HttpSettings,
        maps: Arc<Maps>,
    ) -> Result<Arc<dyn Provider>, ProviderError>;
    /// The typed settings, for tests (`downcast_ref::<GoSquaredConfig>()`).
    fn as_any(&self) -> &dyn Any;
}

struct Entry<P>(PhantomData<fn() -> P>);

impl<P: ProviderEntry> Registered for Entry<P> {
    fn kind(&self) -> ProviderKind {
        P::KIND
    }

    fn holds_members(&self) -> bool {
        P::HOLDS_MEMBERS
    }

    fn membership_by_default(&self) -> bool {
        P::MEMBERSHIP_BY_DEFAULT
    }

    fn http_defaults(&self) -> HttpSettings {
        P::http_defaults()
    }

    fn dialect(&self, maps: Arc<Maps>) -> Arc<dyn Dialect> {
        P::dialect(maps)
    }

    fn connection(&self, block: config::Value) -> Result<Arc<dyn Connection>, BlockError> {
        let config: P::Config = serde_path_to_error::deserialize(block).map_err(Box::new)?;
        Ok(Arc::new(Typed::<P>(config)))
    }
}

/// A provider's typed connection settings.
struct Typed<P: ProviderEntry>(P::Config);

impl<P: ProviderEntry> std::fmt::Debug for Typed<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The config type's own Debug, which redacts its secrets.
        self.0.fmt(f)
    }
}

impl<P: ProviderEntry> Connection for Typed<P> {
    fn kind(&self) -> ProviderKind {
        P::KIND
    }

    fn urls(&self) -> Vec<(&'static str, &str)> {
        P::urls(&self.0)
    }

    fn account_url(&self) -> &str {
        P::account_url(&self.0)
    }

    fn account_key(&self) -> String {
        P::account_key(&self.0)
    }

    fn connect(
        &self,
        http: HttpSettings,
        maps: Arc<Maps>,
    ) -> Result<Arc<dyn Provider>, ProviderError> {
        P::connect(&self.0, http, maps)
    }

    fn as_any(&self) -> &dyn Any {
        &self.0
    }
}
