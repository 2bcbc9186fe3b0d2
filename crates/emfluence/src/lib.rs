//! The emfluence Marketing Platform API v1 client (`../shared/providers/emfluence.md`).
//!
//! - **Docs used:** apidocs.emailer.emfluence.com/v1 (getting started, changelog,
//!   groups/save|lookup|search|addContacts|removeContacts, contacts/save|search), the
//!   vendor PHP library, and the seed `003_9559f763de08f12d.txt` (groups/save).
//! - **Auth:** `Authorization: Bearer <token>` (§1). Never the deprecated `accessToken`
//!   body or query parameter: the token goes into exactly one header, marked sensitive.
//! - **Calls:** `POST {base}/{resource}/{method}` with a JSON body (`Content-Type` and
//!   `Accept: application/json`, §1).
//! - **Envelope:** HTTP is always 200 (§2), so any other status is a transport error
//!   ([`Reply::status_error`]); `success: 0` at HTTP 200 is an application error, mapped
//!   from `code` and `errors` by [`classify`]. Loose typing (`0`/`1`/`true`, `""` for
//!   none, string ids) is read by `wire`.
//! - **Paging:** `page` (1-based) + `rpp` ≤ 250; continue while `page < totalPages`,
//!   stop on an empty page (§6).
//! - **Limits:** none published; 100 requests in any 60 s client-side, as a sliding
//!   window (§6: the only figure found, Microsoft's connector's). `groups/lookup` ≤ 25
//!   ids, add/removeContacts ≤ 1000.
//!
//! Quirks worked around:
//! - `groups/search` matches `groupName` as a SUBSTRING and cannot filter on
//!   `externalID` (§3.3), and its records lack `externalID`: `find_by_key` keeps exact
//!   names and reads `externalID` back with `groups/lookup`.
//! - Partial-update semantics of `groups/save` are unknown (§3.1): an update sends the
//!   full group; a create omits `groupID` rather than sending `0`.
//! - The duplicate-name error is unknown (§3.1): recognised by the sandbox's code and by
//!   any message that speaks of "exist"/"unique".
//! - A protected group cannot be archived (§3.4): archive unprotects in the same call.
//! - Dynamic groups are query-defined (§3.1, §4): sgsync refuses to write to them, so
//!   an update reads its group first — 25 to a `groups/lookup`, for the groups the
//!   engine names before the run's writes (`Provider::will_update`). Drift detection
//!   reads copies back the same way, 25 to a lookup (`Provider::verify_many`); a copy
//!   the answer leaves out is looked up alone before it is called deleted, since what
//!   `groupIDs` answers for an unknown id is undocumented.
//! - A new contact costs two `contacts/save`: by email without a name (an upsert that
//!   writes only the fields passed, §3.5/§5, so an existing contact keeps its name),
//!   then the name by `contactID` only when the answer shows it blank. One call would
//!   need either to drop the name or to risk overwriting a name a person entered; the
//!   notes document no "set if blank", so the second call stays.
//! - No `groups/delete` exists that we know of (§3.4): `delete` is not a capability.

pub mod client;
pub mod dialect;
pub mod wire;

use sgsync_model::ProviderKind;
use sgsync_model::mapping::Maps;
use sgsync_provider::http::HttpSettings;
use sgsync_provider::{Dialect, Payload, Provider, ProviderEntry, ProviderError, pretty_json};
use std::sync::Arc;

/// This provider, as the rest of sgsync names it.
pub const KIND: ProviderKind = ProviderKind::new("emfluence", "emfluence");

/// HTTP defaults: none published (emfluence.md §6): 100 calls in any 60 seconds, the
/// only figure found (Microsoft's connector's limit), as a sliding window.
pub fn http_defaults() -> HttpSettings {
    HttpSettings::with_rate(100)
}

/// A payload holding `body`, as the client sends it.
pub fn payload(body: wire::GroupSave) -> Payload {
    Payload::new(
        KIND,
        body.group_name.clone(),
        Some(body.description.clone()),
        pretty_json(&body),
        body,
    )
}

/// The program's registry entry for this provider.
pub struct Emfluence;

impl ProviderEntry for Emfluence {
    const KIND: ProviderKind = KIND;
    const HOLDS_MEMBERS: bool = true;
    const MEMBERSHIP_BY_DEFAULT: bool = true;
    type Config = client::EmfluenceConfig;

    fn http_defaults() -> HttpSettings {
        http_defaults()
    }

    fn urls(config: &Self::Config) -> Vec<(&'static str, &str)> {
        vec![("base_url", config.base_url.as_str())]
    }

    fn account_url(config: &Self::Config) -> &str {
        &config.base_url
    }

    /// Every emfluence account shares the API URL; the access token belongs to one.
    fn account_key(config: &Self::Config) -> String {
        use secrecy::ExposeSecret;
        format!(
            "{}#{}",
            config.base_url,
            sgsync_provider::entry::fingerprint(config.token.expose_secret())
        )
    }

    fn dialect(maps: Arc<Maps>) -> Arc<dyn Dialect> {
        Arc::new(dialect::EmfluenceDialect::new(maps))
    }

    fn connect(
        config: &Self::Config,
        http: HttpSettings,
        maps: Arc<Maps>,
    ) -> Result<Arc<dyn Provider>, ProviderError> {
        Ok(Arc::new(client::EmfluenceClient::new(
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
