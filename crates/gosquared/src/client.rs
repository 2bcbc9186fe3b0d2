//! The GoSquared People API as a [`Provider`](sgsync_provider::Provider): list, get, find by name,
//! create; its people as a membership source.

use crate::{dialect, wire};
use async_trait::async_trait;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sgsync_model::mapping::Maps;
use sgsync_model::members::SourcePerson;
use sgsync_model::{Directory, ProviderKind};
use sgsync_provider::http::{self, Body, Call, HttpClient, HttpSettings, Reply};
use sgsync_provider::members::MemberSource;
use sgsync_provider::{
    Capabilities, ErrorKind, Listed, Listing, Payload, Provider, ProviderError, RemoteGroup,
    single_named,
};
use std::sync::Arc;
use std::time::SystemTime;

pub use super::wire::Person;

const PROVIDER: ProviderKind = crate::KIND;
const GROUPS_PATH: &str = "people/v1/smartgroups";
const PEOPLE_PATH: &str = "people/v1/people";
const TOKEN_INFO_PATH: &str = "auth/v1/tokeninfo";
/// The largest page the docs allow (§6).
pub const PAGE_SIZE: usize = 250;
/// Stops a server that ignores `limit`'s offset from paging us forever (4 M people).
const MAX_PAGES: usize = 16_000;
/// Fields asked for on member pages: all that [`Person`] keeps (§6).
const PERSON_FIELDS: &str = "id,email,name";
/// Longest server message kept in an error: enough to name the parameter (§7), never a
/// whole echoed body.
const MAX_MESSAGE_CHARS: usize = 300;

fn default_base_url() -> String {
    "https://api.gosquared.com".to_owned()
}

/// `[targets.gosquared]` / `[source.gosquared]`: where and how to reach GoSquared.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoSquaredConfig {
    /// API host, without `/people/v1` (default `https://api.gosquared.com`). HTTPS only,
    /// except loopback for the sandbox.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Account API key (Settings › API keys); needs access to the People API.
    pub api_key: SecretString,
    /// Project token, e.g. `GSN-106863-S` (Settings › Current Project › General).
    pub site_token: SecretString,
}

/// The GoSquared People API as a [`Provider`].
pub struct GoSquaredClient {
    http: HttpClient,
    api_key: SecretString,
    site_token: SecretString,
    maps: Arc<Maps>,
}

impl std::fmt::Debug for GoSquaredClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoSquaredClient").finish_non_exhaustive()
    }
}

impl GoSquaredClient {
    pub fn new(
        config: GoSquaredConfig,
        http: HttpSettings,
        maps: Arc<Maps>,
    ) -> Result<Self, ProviderError> {
        let config_error =
            |what: &str| ProviderError::new(PROVIDER, ErrorKind::Config, what, "must not be empty");
        if config.api_key.expose_secret().trim().is_empty() {
            return Err(config_error("api_key"));
        }
        if config.site_token.expose_secret().trim().is_empty() {
            return Err(config_error("site_token"));
        }
        Ok(GoSquaredClient {
            http: HttpClient::new(PROVIDER, &config.base_url, http)?,
            api_key: config.api_key,
            site_token: config.site_token,
            maps,
        })
    }

    /// Members of smart group `group_id`, every page (§2, §6).
    #[tracing::instrument(skip_all, fields(provider = "gosquared"))]
    pub async fn group_members(&self, group_id: &str) -> Result<Vec<Person>, ProviderError> {
        let path = format!("{GROUPS_PATH}/{}/people", path_segment(group_id)?);
        self.all_people("list group members", &path, Vec::new())
            .await
    }

    /// People matching `filters` (GoSquared filter nodes, §5), every page (§6).
    #[tracing::instrument(skip_all, fields(provider = "gosquared"))]
    pub async fn people(
        &self,
        filters: &[serde_json::Value],
    ) -> Result<Vec<Person>, ProviderError> {
        // JSON-encoded into the query string (§6); the HTTP layer percent-encodes it.
        let filters = serde_json::to_string(filters).map_err(|e| {
            ProviderError::new(PROVIDER, ErrorKind::Config, "search people", e.to_string())
        })?;
        self.all_people("search people", PEOPLE_PATH, vec![("filters", filters)])
            .await
    }

    /// Pages `limit=<offset>,250` until a page shorter than asked (§6 paging rule).
    async fn all_people(
        &self,
        operation: &str,
        path: &str,
        extra: Vec<(&'static str, String)>,
    ) -> Result<Vec<Person>, ProviderError> {
        let mut people = Vec::new();
        for _ in 0..MAX_PAGES {
            let mut query = extra.clone();
            query.push(("fields", PERSON_FIELDS.to_owned()));
            query.push(("limit", format!("{},{PAGE_SIZE}", people.len())));
            let call = self.call(Method::GET, path, query, None, true);
            let page = self
                .http
                .send(operation, &call, |reply| {
                    self.interpret(operation, reply, wire::parse_people)
                })
                .await?;
            let full = page.len() >= PAGE_SIZE;
            people.extend(page);
            if !full {
                return Ok(people);
            }
        }
        Err(ProviderError::new(
            PROVIDER,
            ErrorKind::Malformed,
            operation,
            format!("still full pages after {MAX_PAGES} pages of {PAGE_SIZE}; is `limit` ignored?"),
        ))
    }

    /// A call with the credentials in its query string (§1), never in `path`.
    fn call<'a>(
        &self,
        method: Method,
        path: &'a str,
        mut query: Vec<(&'static str, String)>,
        body: Option<Body>,
        idempotent: bool,
    ) -> Call<'a> {
        query.push(("api_key", self.api_key.expose_secret().to_owned()));
        query.push(("site_token", self.site_token.expose_secret().to_owned()));
        Call {
            method,
            path,
            query,
            headers: vec![(
                reqwest::header::ACCEPT,
                reqwest::header::HeaderValue::from_static("application/json"),
            )],
            body,
            idempotent,
        }
    }

    /// Reads `reply` with `read` (which also recognises both error envelopes), and turns
    /// what went wrong into an error: body `code` first, HTTP status second (§7).
    fn interpret<T>(
        &self,
        operation: &str,
        reply: Reply,
        read: impl Fn(&str) -> Result<T, wire::WireError>,
    ) -> Result<T, ProviderError> {
        let ok = reply.status.is_success();
        let parsed = match reply.text() {
            Ok(text) => read(text),
            Err(_) if !ok => return Err(reply.status_error(PROVIDER, operation)),
            Err(e) => {
                return Err(ProviderError::new(
                    PROVIDER,
                    ErrorKind::Malformed,
                    operation,
                    format!("answer is not UTF-8: {e}"),
                ));
            }
        };
        self.judge(operation, &reply, parsed)
    }

    /// What an answer read as `parsed` means: body `code` first, HTTP status second (§7).
    fn judge<T>(
        &self,
        operation: &str,
        reply: &Reply,
        parsed: Result<T, wire::WireError>,
    ) -> Result<T, ProviderError> {
        let ok = reply.status.is_success();
        match parsed {
            Ok(value) if ok => Ok(value),
            Err(wire::WireError::Api { code, message }) => {
                Err(self.api_error(operation, reply, code, &message))
            }
            // A failure status whose body is not an error envelope says only its status.
            _ if !ok => Err(reply.status_error(PROVIDER, operation)),
            Ok(value) => Ok(value),
            Err(e) => Err(ProviderError::new(
                PROVIDER,
                ErrorKind::Malformed,
                operation,
                format!("unexpected answer: {e}"),
            )),
        }
    }

    /// The error GoSquared's `code` means (§7 code table).
    fn api_error(&self, operation: &str, reply: &Reply, code: i64, message: &str) -> ProviderError {
        let kind = match code {
            4001 => ErrorKind::Auth,
            4002 => ErrorKind::RateLimited,
            // "Invalid parameter value" on a 404: the value was an id that does not exist.
            4004 if reply.status == reqwest::StatusCode::NOT_FOUND => ErrorKind::NotFound,
            4000 | 4003 | 4004 => ErrorKind::InvalidRequest,
            0 | 5000..=5999 => ErrorKind::Server,
            // Function-specific codes (≥ 7000) and the old envelope's codes (1011) are
            // not tabulated (§7): the status decides; on a 200 the call was refused.
            _ if reply.status.is_success() => ErrorKind::InvalidRequest,
            _ => reply.status_error(PROVIDER, operation).kind,
        };
        let text = self.scrub(message);
        // GoSquared's own message often starts with "Error 4001:" already: say it once.
        let message = if text
            .to_ascii_lowercase()
            .starts_with(&format!("error {code}"))
        {
            text
        } else {
            format!("error {code}: {text}")
        };
        ProviderError::new(PROVIDER, kind, operation, message)
            .with_retry_after(http::retry_after(&reply.headers, SystemTime::now()))
    }

    /// A server message, shortened, and with our credentials cut out should the server
    /// ever echo its query string.
    fn scrub(&self, message: &str) -> String {
        let mut text: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
        for secret in [
            self.api_key.expose_secret(),
            self.site_token.expose_secret(),
        ] {
            text = text.replace(secret, "[redacted]");
        }
        text
    }

    fn remote(&self, group: wire::SmartGroup, fallback_id: Option<&str>) -> Option<RemoteGroup> {
        remote_group(group, fallback_id, &self.maps, &self.account())
    }

    fn unsupported(operation: &str) -> ProviderError {
        ProviderError::new(
            PROVIDER,
            ErrorKind::Unsupported,
            operation,
            "GoSquared documents no update or delete of a smart group (GoSquared's People API documentation); \
             change or remove it in the People dashboard",
        )
    }
}

#[async_trait]
impl Provider for GoSquaredClient {
    fn kind(&self) -> ProviderKind {
        PROVIDER
    }

    /// The API host: GoSquared rules name no account-specific ids (property paths and
    /// event names), so the host is identity enough.
    fn account(&self) -> String {
        self.http.base().to_string()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            list: true,
            get: true,
            create: true,
            update: false,
            archive: false,
            delete: false,
            holds_rules: true,
            stores_key: false,
        }
    }

    #[tracing::instrument(skip_all, fields(provider = "gosquared"))]
    async fn check(&self) -> Result<(), ProviderError> {
        let operation = "check credentials";
        let call = self.call(Method::GET, TOKEN_INFO_PATH, Vec::new(), None, true);
        let scopes = self
            .http
            .send(operation, &call, |reply| {
                self.interpret(operation, reply, wire::parse_token_info)
            })
            .await?;
        tracing::debug!(scopes = scopes.len(), "GoSquared API key accepted");
        Ok(())
    }

    /// One `GET smartgroups` (every smart group in one answer, gosquared.md §2): id and name of every
    /// group; GoSquared archives nothing.
    async fn listing(
        &self,
        directory: &Directory,
        max_calls: usize,
    ) -> Result<Listing, ProviderError> {
        if max_calls == 0 {
            return Ok(Listing::default());
        }
        let groups = self.list_groups(directory).await?;
        Ok(Listing {
            groups: Some(
                groups
                    .into_iter()
                    .map(|g| Listed {
                        id: g.id,
                        name: g.name,
                        archived: false,
                    })
                    .collect(),
            ),
            calls: 1,
        })
    }

    #[tracing::instrument(skip_all, fields(provider = "gosquared"))]
    async fn list_groups(&self, _directory: &Directory) -> Result<Vec<RemoteGroup>, ProviderError> {
        let operation = "list smart groups";
        let call = self.call(Method::GET, GROUPS_PATH, Vec::new(), None, true);
        let (maps, account) = (Arc::clone(&self.maps), self.account());
        // Read as it arrives, group by group (see the wire reader): an account's every
        // group is never held as text. An answer without its `list` is an error, not
        // one group or none.
        let decode = move |body: &mut dyn std::io::Read| {
            wire::read_list_answer(body, |g| remote_group(g, None, &maps, &account))
        };
        let list = self
            .http
            .send_streamed(operation, &call, decode, |reply, decoded| match decoded {
                Some(parsed) => self.judge(operation, &reply, parsed),
                None => self.interpret(operation, reply, |text| {
                    wire::parse_list_answer_with(text, |g| self.remote(g, None))
                }),
            })
            .await?;
        let malformed = |message: String| {
            ProviderError::new(PROVIDER, ErrorKind::Malformed, operation, message)
        };
        if let Some(total) = list.cardinality.filter(|&n| n > list.groups.len() as u64) {
            return Err(malformed(format!(
                "cardinality says {total} groups but the list holds {}, and no paging is \
                 documented for this call (GoSquared's People API documentation)",
                list.groups.len()
            )));
        }
        list.groups
            .into_iter()
            .enumerate()
            .map(|(i, g)| g.ok_or_else(|| malformed(format!("list[{i}] has no id"))))
            .collect()
    }

    #[tracing::instrument(skip_all, fields(provider = "gosquared"))]
    async fn get_group(&self, id: &str) -> Result<Option<RemoteGroup>, ProviderError> {
        let operation = "get smart group";
        let path = format!("{GROUPS_PATH}/{}", path_segment(id)?);
        let call = self.call(Method::GET, &path, Vec::new(), None, true);
        let found = self
            .http
            .send(operation, &call, |reply| {
                // Unknown ids: 404 and/or 4004 "invalid parameter value" (§7: which status
                // is [unknown]; the sandbox answers both).
                let read = |text: &str| match wire::parse_groups(text) {
                    Err(wire::WireError::Api { code: 4004, .. }) => Ok(None),
                    other => other.map(Some),
                };
                match self.interpret(operation, reply, read) {
                    Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
                    other => other,
                }
            })
            .await?;
        let Some(groups) = found else {
            return Ok(None);
        };
        // Kept tolerant: whether this call answers a bare group or the list envelope is
        // unknown (§3), and an envelope GoSquared sent without the group asked for
        // (`{"list": []}`) is an answer that it does not exist. An envelope missing
        // `list` altogether is still an error (read as a bare group, it has no name).
        // A bare group, or the list envelope around it (§3): take the one asked for.
        let one = match groups.len() {
            1 => groups.into_iter().next(),
            _ => groups.into_iter().find(|g| g.id.as_deref() == Some(id)),
        };
        Ok(one.and_then(|g| self.remote(g, Some(id))))
    }

    #[tracing::instrument(skip_all, fields(provider = "gosquared"))]
    async fn find_by_key(
        &self,
        name: &str,
        _key: &str,
    ) -> Result<Option<RemoteGroup>, ProviderError> {
        // GoSquared has no field to hold our key (§3): the exact name is all there is.
        let matches: Vec<RemoteGroup> = self
            .list_groups(&Directory::none())
            .await?
            .into_iter()
            .filter(|g| g.name == name)
            .collect();
        single_named(PROVIDER, "find smart group by name", name, matches)
    }

    /// One call: the list is not paged (§3).
    #[tracing::instrument(skip_all, fields(provider = "gosquared"))]
    async fn group_names(&self, max_calls: usize) -> Result<Option<Vec<String>>, ProviderError> {
        if max_calls == 0 {
            return Ok(None);
        }
        let groups = self.list_groups(&Directory::none()).await?;
        Ok(Some(groups.into_iter().map(|g| g.name).collect()))
    }

    #[tracing::instrument(skip_all, fields(provider = "gosquared"))]
    async fn create(&self, key: &str, payload: &Payload) -> Result<String, ProviderError> {
        let operation = "create smart group";
        let Some(body) = payload.body::<wire::NewSmartGroup>() else {
            return Err(ProviderError::new(
                PROVIDER,
                ErrorKind::Config,
                operation,
                format!("got a {} payload", payload.provider().display_name()),
            ));
        };
        // A plain object, not ruby-client's array (§1, §4).
        let bytes = serde_json::to_vec(body).map_err(|e| {
            ProviderError::new(PROVIDER, ErrorKind::Config, operation, e.to_string())
        })?;
        let call = self.call(
            Method::POST,
            GROUPS_PATH,
            Vec::new(),
            Some(Body::Json(bytes)),
            false,
        );
        let created = self
            .http
            .send(operation, &call, |reply| {
                self.interpret(operation, reply, created_id)
            })
            .await?;
        if let Some(id) = created {
            return Ok(id);
        }
        // The answer named no id (§4: its shape is unknown): the new group has our name.
        match self.find_by_key(&body.name, key).await? {
            Some(group) => Ok(group.id),
            None => Err(ProviderError::new(
                PROVIDER,
                ErrorKind::Malformed,
                operation,
                format!(
                    "the create was accepted without an id, and no group named {:?} exists",
                    body.name
                ),
            )),
        }
    }

    async fn update(&self, _id: &str, _key: &str, _payload: &Payload) -> Result<(), ProviderError> {
        Err(Self::unsupported("update smart group"))
    }

    async fn archive(&self, _id: &str) -> Result<(), ProviderError> {
        Err(Self::unsupported("archive smart group"))
    }

    fn member_source(&self) -> Option<&dyn MemberSource> {
        Some(self)
    }
}

/// A smart group's people (`GET smartgroups/{id}/people`, `fields=id,email,name`,
/// `limit=<offset>,250`, §2, §6). GoSquared is no membership target: its groups are
/// rules, and no writable list is documented.
#[async_trait]
impl MemberSource for GoSquaredClient {
    async fn group_people(&self, group_id: &str) -> Result<Vec<SourcePerson>, ProviderError> {
        Ok(self
            .group_members(group_id)
            .await?
            .into_iter()
            .map(|p| SourcePerson {
                id: p.id,
                email: p.email,
                name: p.name,
            })
            .collect())
    }
}

/// `group` as the engine sees it, decoded with this account's `maps`; `None` without
/// an id (`fallback_id`: the one it was asked for by).
fn remote_group(
    group: wire::SmartGroup,
    fallback_id: Option<&str>,
    maps: &Maps,
    account: &str,
) -> Option<RemoteGroup> {
    let id = group
        .id
        .clone()
        .or_else(|| fallback_id.map(str::to_owned))?;
    let mut decoded = dialect::decode(&group, maps);
    decoded.account = account.to_owned();
    Some(RemoteGroup {
        id,
        name: group.name,
        key: None,
        decoded,
    })
}

/// The id in the answer to `POST smartgroups`, if it holds one (§4 [unknown]: Composio
/// says the created group; the ruby stub answers an empty body). Kept tolerant: an
/// answer without an id is not read as success with some id; `create` then finds the
/// new group by its exact name, and fails if no group has it.
fn created_id(text: &str) -> Result<Option<String>, wire::WireError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let answer = wire::parse_answer(text)?;
    Ok(answer
        .get("id")
        .and_then(|id| id.as_str())
        .filter(|id| !id.is_empty())
        .map(str::to_owned))
}

/// `id` as one path segment: RFC 3986 unreserved characters kept, the rest
/// percent-encoded, so an id can never reach another path.
fn path_segment(id: &str) -> Result<String, ProviderError> {
    // `.` and `..` are dot segments even when percent-encoded (WHATWG URL): refuse them.
    if id.is_empty() || id == "." || id == ".." {
        return Err(ProviderError::new(
            PROVIDER,
            ErrorKind::InvalidRequest,
            "smart group id",
            format!("{id:?} is not a smart group id"),
        ));
    }
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_one_escaped_path_segment() {
        assert_eq!(
            path_segment("last-seen-35-days").unwrap(),
            "last-seen-35-days"
        );
        assert_eq!(path_segment("a/b?c d").unwrap(), "a%2Fb%3Fc%20d");
        assert_eq!(path_segment("é").unwrap(), "%C3%A9");
        for bad in ["", ".", ".."] {
            assert_eq!(
                path_segment(bad).unwrap_err().kind,
                ErrorKind::InvalidRequest
            );
        }
    }

    #[test]
    fn the_create_answer_gives_an_id_or_nothing() {
        assert_eq!(created_id("").unwrap(), None);
        assert_eq!(created_id("{}").unwrap(), None);
        assert_eq!(
            created_id(r#"{"id":"vip","name":"VIP","filters":[]}"#).unwrap(),
            Some("vip".to_owned())
        );
        assert!(matches!(
            created_id(r#"{"code":4000,"message":"Error 4000: name"}"#),
            Err(wire::WireError::Api { code: 4000, .. })
        ));
    }

    #[test]
    fn config_refuses_unknown_keys_and_empty_secrets() {
        let err = serde_json::from_str::<GoSquaredConfig>(
            r#"{"api_key":"k","site_token":"t","apikey":"x"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("apikey"), "{err}");
        let cfg: GoSquaredConfig =
            serde_json::from_str(r#"{"api_key":"k","site_token":" "}"#).unwrap();
        assert_eq!(cfg.base_url, "https://api.gosquared.com");
        let settings = crate::http_defaults();
        let err = GoSquaredClient::new(cfg, settings, Arc::default()).unwrap_err();
        assert_eq!(
            (err.kind, err.operation.as_str()),
            (ErrorKind::Config, "site_token")
        );
        let plain_http = GoSquaredConfig {
            base_url: "http://api.gosquared.com".into(),
            api_key: "k".into(),
            site_token: "t".into(),
        };
        let err =
            GoSquaredClient::new(plain_http, crate::http_defaults(), Arc::default()).unwrap_err();
        assert_eq!(
            (err.kind, err.operation.as_str()),
            (ErrorKind::Config, "base_url")
        );
    }
}
