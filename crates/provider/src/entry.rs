//! What a provider crate offers the program: one type implementing [`ProviderEntry`]
//! per crate, named once in the program's registry (`src/registry.rs`). Everything the
//! program needs to configure, check and connect a provider goes through it, so nothing
//! outside the provider's crate and that one registry line names the provider.

use crate::http::HttpSettings;
use crate::{Dialect, Provider, ProviderError};
use serde::de::DeserializeOwned;
use sgsync_model::ProviderKind;
use sgsync_model::mapping::Maps;
use std::sync::Arc;

/// A provider, as the program's registry sees it.
pub trait ProviderEntry: 'static {
    /// Its id (`provider = "<id>"`, and the name of its connection block) and name.
    const KIND: ProviderKind;
    /// Whether its static groups can hold materialised members (a membership target),
    /// and so `membership` may be on for it; `membership` is on by default where its
    /// groups are nothing but member lists (`MEMBERSHIP_BY_DEFAULT`).
    const HOLDS_MEMBERS: bool;
    const MEMBERSHIP_BY_DEFAULT: bool;
    /// The connection block (`[source.<id>]`, `[targets.<name>.<id>]`) as written, with
    /// `*_file` secrets already read. Its `Debug` must not show secrets.
    type Config: DeserializeOwned + Clone + Send + Sync + std::fmt::Debug + 'static;

    /// HTTP defaults for this provider (its documented or a conservative rate limit).
    fn http_defaults() -> HttpSettings;

    /// Every URL the connection will call, with its key inside the block (each must be
    /// https, or loopback).
    fn urls(config: &Self::Config) -> Vec<(&'static str, &str)>;

    /// The URL that names the account the connection talks to (a target on the
    /// source's own account is refused).
    fn account_url(config: &Self::Config) -> &str;

    /// What tells this account from every other of the provider (two pipelines on one
    /// account are refused: its rate limit stays with one). By default the account URL;
    /// where every account shares one URL, the credential that names the account, as a
    /// [`fingerprint`] (never the secret itself).
    fn account_key(config: &Self::Config) -> String {
        Self::account_url(config).to_owned()
    }

    /// Its dialect, translating with `maps`.
    fn dialect(maps: Arc<Maps>) -> Arc<dyn Dialect>;

    /// A client for the account.
    fn connect(
        config: &Self::Config,
        http: HttpSettings,
        maps: Arc<Maps>,
    ) -> Result<Arc<dyn Provider>, ProviderError>;
}

/// A short SHA-256 fingerprint of `secret`: tells two credentials apart without holding
/// either.
pub fn fingerprint(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
