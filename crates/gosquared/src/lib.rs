//! GoSquared People API v1 client (`../shared/providers/gosquared.md`; docs page copy in
//! seed `000_03dd6fd6c40f756c.txt`).
//!
//! - **API docs used**: `gosquared.com/docs/api/people/smartgroups/` (list, add, get,
//!   members), `…/people/people` (search), `…/error-codes`, `…/rate-limits` (§2, §6, §7);
//!   `GET /auth/v1/tokeninfo` is known from third-party connectors only (§1 [3p]).
//! - **Auth**: `api_key` and `site_token` as query parameters on every call (§1). They
//!   travel only in [`Call::query`], which the HTTP layer never logs or puts in errors;
//!   `Call::path` (logged) never holds them.
//! - **Paging**: `GET smartgroups` returns every group at once with a `cardinality`; no
//!   paging is documented for it, so a `cardinality` above the rows we got is reported
//!   as malformed rather than silently truncated. That one answer holds every group of
//!   the account (≈ 360–540 bytes each, mostly `prefs`), so it is read as it arrives
//!   (`HttpClient::send_streamed`, `wire::read_list_answer`): only the decoded groups
//!   are held, and an answer cut off midway is an error, never a shorter list. People lists page with
//!   `limit=<offset>,<count>`, count at most 250, until a short page (§6).
//! - **Limits**: 750 units/minute per user, `X-RateLimit-*` headers, 429 + `Retry-After`
//!   (§7); the HTTP layer paces and honours them.
//! - **Quirks worked around**:
//!   - ruby-client posts bodies wrapped in an array; we send the plain object the docs
//!     describe (§1 "Quirk to avoid", §4).
//!   - The answer to `POST smartgroups` is unknown (§4): the id is read from it when it
//!     holds a group, else the new group is found by its exact name.
//!   - `GET smartgroups/{id}` may answer a bare group or the list envelope (§3): both read.
//!   - Two error envelopes, mapped by body `code` first, HTTP status second (§7).
//!   - No update or delete is documented (§2, §4): those calls are `Unsupported`, and
//!     GoSquared stores no key of ours, so groups are found by exact name.

pub mod client;
pub mod dialect;
pub mod wire;

use sgsync_model::ProviderKind;
use sgsync_model::mapping::Maps;
use sgsync_provider::http::HttpSettings;
use sgsync_provider::pacing::Shape;
use sgsync_provider::{Dialect, Payload, Provider, ProviderEntry, ProviderError, pretty_json};
use std::sync::Arc;

/// This provider, as the rest of sgsync names it.
pub const KIND: ProviderKind = ProviderKind::new("gosquared", "GoSquared");

/// HTTP defaults: 750 units per minute per user in a bucket that starts full and is
/// "replenished continuously" (documented, gosquared.md §7). Every People call is
/// counted as one unit (costs are not published; the client also stops when the
/// server's `X-RateLimit-Remaining` says the bucket is empty, which covers dashboards
/// sharing it).
pub fn http_defaults() -> HttpSettings {
    HttpSettings {
        limit_shape: Shape::Bucket,
        ..HttpSettings::with_rate(750)
    }
}

/// A payload holding `body`, as the client sends it.
pub fn payload(body: wire::NewSmartGroup) -> Payload {
    Payload::new(KIND, body.name.clone(), None, pretty_json(&body), body)
}

/// The program's registry entry for this provider.
pub struct GoSquared;

impl ProviderEntry for GoSquared {
    const KIND: ProviderKind = KIND;
    const HOLDS_MEMBERS: bool = false;
    const MEMBERSHIP_BY_DEFAULT: bool = false;
    type Config = client::GoSquaredConfig;

    fn http_defaults() -> HttpSettings {
        http_defaults()
    }

    fn urls(config: &Self::Config) -> Vec<(&'static str, &str)> {
        vec![("base_url", config.base_url.as_str())]
    }

    fn account_url(config: &Self::Config) -> &str {
        &config.base_url
    }

    /// Every GoSquared account shares the API URL; the site token names the project.
    fn account_key(config: &Self::Config) -> String {
        use secrecy::ExposeSecret;
        format!(
            "{}#{}",
            config.base_url,
            sgsync_provider::entry::fingerprint(config.site_token.expose_secret())
        )
    }

    fn dialect(maps: Arc<Maps>) -> Arc<dyn Dialect> {
        Arc::new(dialect::GoSquaredDialect::new(maps))
    }

    fn connect(
        config: &Self::Config,
        http: HttpSettings,
        maps: Arc<Maps>,
    ) -> Result<Arc<dyn Provider>, ProviderError> {
        Ok(Arc::new(client::GoSquaredClient::new(
            config.clone(),
            http,
            maps,
        )?))
    }
}

/// The other providers' kinds, for tests of what a group from another dialect becomes
/// (this crate knows no other provider).
#[cfg(test)]
#[allow(dead_code)] // each crate's tests name some of them
pub(crate) mod test_kinds {
    use sgsync_model::ProviderKind;
    pub const GOSQUARED: ProviderKind = ProviderKind::new("gosquared", "GoSquared");
    pub const ISPRING: ProviderKind = ProviderKind::new("ispring", "iSpring Learn");
    pub const EMFLUENCE: ProviderKind = ProviderKind::new("emfluence", "emfluence");
    pub const ALL: [ProviderKind; 3] = [GOSQUARED, ISPRING, EMFLUENCE];
}
