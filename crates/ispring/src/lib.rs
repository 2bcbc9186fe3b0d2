//! iSpring Learn smart groups over SOAP 1.1, with an optional REST read for nested rules
//! (`../shared/providers/ispring.md`; the numbers below are its sections).
//!
//! - **API docs used**: the SOAP pages for `addSmartGroup`, `updateSmartGroup`,
//!   `getSmartGroupRules`, `getGroups`, `removeGroup`, `getDepartments`,
//!   `getUserProfileFields`; the REST `GET /group/smart/{id}/rules` and `GET /group/{id}`
//!   pages and iSpring's OpenAPI file for the nested read (§3.4) and the token (§2.2).
//! - **Endpoint** (§10.1): the path `/api/v2/soap/2.0` and `SOAPAction: "<method>"`
//!   (camelCase, quoted) are documented on the "Editing a Group" page; the host is not,
//!   so `soap_url` defaults to the REST host with that path ([inferred]) and stays
//!   configurable. Every SOAP call sends its own method as `SOAPAction`.
//! - **Static groups and members** (§10, `client/members.rs`): an audience whose rule
//!   iSpring cannot hold travels as a plain group sgsync owns (`addGroup`,
//!   `updateGroup`), members written per user or replaced in one `updateGroupMembers`,
//!   users found by email with `ListUsers` — never created.
//! - **Auth** (§2): every request element carries `<credentials>` first (§1 "Child
//!   order"): either the login form (account URL, e-mail, password) or an access token
//!   from the OAuth client-credentials endpoint. Tokens live 1800 s; we refresh when less
//!   than five minutes remain and once more after an `Authorization failed` fault (the
//!   fault an expired token most likely gets, §2.2 [inferred]), then resend that call
//!   once — safe even for a create, since a refused login did nothing. One refresh at a
//!   time: the cached token sits behind a tokio mutex, so concurrent calls wait for the
//!   one request to the token endpoint instead of each sending their own.
//! - **Faults** (§4): read from the body whatever the HTTP status (500 by SOAP 1.1
//!   convention; the docs do not say), matched on `faultstring` case-insensitively (the
//!   pages disagree on case). An unknown faultstring is `Server` (temporary) only when
//!   `faultcode` says `server`; iSpring's documented code is `client`, and a business
//!   refusal repeated is a refusal again, so anything else is `InvalidRequest`.
//!   Business faults are never retried (§6): their kinds are not temporary.
//! - **Paging and limits**: `getGroups` and `getDepartments` answer everything at once
//!   (§3.4, §5.1); no rate limit is published (§6), so the shared HTTP layer's
//!   conservative default applies.
//! - **Quirks worked around**: namespaces and prefixes vary across samples, so replies
//!   are read by local name (§7.2, §7.3, `wire/xml.rs`); there is no smart-only list, so
//!   listing reads every group's rules and skips those that are not smart (§3.4); the
//!   SOAP rules read is flat and loses the AND/OR structure, so `rest_url` is used for it
//!   when configured, and the dialect marks a flat read uncertain (§3.4, §7.8);
//!   `updateSmartGroup` always gets both name and rules (SOAP says rules optional, REST
//!   says required, §3.3); names are not known to be unique, so a lookup by name that
//!   finds two is a `Conflict` (§3.2); iSpring has no archive, so [`Provider::archive`]
//!   **deletes** (`removeGroup`, §3.4).

pub mod client;
pub mod dialect;
pub mod wire;

use sgsync_model::ProviderKind;
use sgsync_model::mapping::Maps;
use sgsync_provider::http::HttpSettings;
use sgsync_provider::{Dialect, Payload, Provider, ProviderEntry, ProviderError};
use std::sync::Arc;

/// This provider, as the rest of sgsync names it.
pub const KIND: ProviderKind = ProviderKind::new("ispring", "iSpring Learn");

/// HTTP defaults: none published (ispring.md §6): a conservative 100 per minute,
/// counted over a sliding minute (the safe reading of a per-minute budget).
pub fn http_defaults() -> HttpSettings {
    HttpSettings::with_rate(100)
}

/// A payload holding `body`, as the client sends it.
pub fn payload(body: wire::SmartGroupPayload) -> Payload {
    Payload::new(KIND, body.name.clone(), None, body.to_xml(), body)
}

/// A static group's payload (`addGroup` / `updateGroup`, §10.2).
pub fn static_payload(body: wire::StaticGroupPayload) -> Payload {
    Payload::new(KIND, body.name.clone(), None, body.to_xml(), body)
}

/// The program's registry entry for this provider.
pub struct Ispring;

impl ProviderEntry for Ispring {
    const KIND: ProviderKind = KIND;
    // Static groups whose members are iSpring users found by email (§10).
    const HOLDS_MEMBERS: bool = true;
    const MEMBERSHIP_BY_DEFAULT: bool = false;
    type Config = client::IspringConfig;

    fn http_defaults() -> HttpSettings {
        http_defaults()
    }

    fn urls(config: &Self::Config) -> Vec<(&'static str, &str)> {
        let mut urls = vec![("soap_url", config.soap_url.as_str())];
        if let Some(rest) = &config.rest_url {
            urls.push(("rest_url", rest.as_str()));
        }
        urls.push(match &config.credentials {
            client::IspringCredentials::Login { account_url, .. } => {
                ("credentials.account_url", account_url.as_str())
            }
            client::IspringCredentials::Token { token_url, .. } => {
                ("credentials.token_url", token_url.as_str())
            }
        });
        urls
    }

    fn account_url(config: &Self::Config) -> &str {
        &config.soap_url
    }

    fn dialect(maps: Arc<Maps>) -> Arc<dyn Dialect> {
        Arc::new(dialect::IspringDialect::new(maps))
    }

    fn connect(
        config: &Self::Config,
        http: HttpSettings,
        maps: Arc<Maps>,
    ) -> Result<Arc<dyn Provider>, ProviderError> {
        Ok(Arc::new(client::IspringClient::new(
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
