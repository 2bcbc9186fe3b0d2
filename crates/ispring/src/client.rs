//! iSpring Learn as a [`Provider`](sgsync_provider::Provider): smart groups over SOAP (rules
//! read over REST when configured), static groups whose members sgsync writes, and its
//! group members as a membership source (`client/members.rs`).

use crate::dialect;
use crate::wire::{
    self, Department, GroupRef, Param, ProfileField, SmartGroupXml, SoapCredentials, WireError,
    WireRule,
};
use async_trait::async_trait;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sgsync_model::directory;
use sgsync_model::mapping::Maps;
use sgsync_model::{Directory, ProviderKind};
use sgsync_provider::http::{Body, Call, HttpClient, HttpSettings, validate_base_url};
use sgsync_provider::members::{MemberSource, MemberTarget};
use sgsync_provider::{
    Capabilities, ErrorKind, Listed, Listing, Payload, Provider, ProviderError, RemoteGroup,
    Verified, single_named,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

mod members;
mod reply;
mod rules;
mod token;
use rules::canonical;

pub use reply::fault_kind;
use reply::{interpret, read_token, update_failed};

const PROVIDER: ProviderKind = crate::KIND;
/// Refresh a token when less than this remains of its life (§2.2 advises ~25 of 30 min).
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// The documented lifetime, used when the token answer leaves `expires_in` out (§2.2).
const DEFAULT_TOKEN_LIFETIME: u64 = 1800;

/// The documented SOAP endpoint path (ispring.md §10.1) on the REST host, which is the
/// likely SOAP host too ([inferred]: the host is not printed beside the path).
pub const DEFAULT_SOAP_URL: &str = "https://api-learn.ispringlearn.com/api/v2/soap/2.0";

fn default_soap_url() -> String {
    DEFAULT_SOAP_URL.to_owned()
}

fn default_token_url() -> String {
    "https://api-learn.ispringlearn.com/api/v3/token".to_owned()
}

/// `[targets.ispring]` / `[source.ispring]`: where and how to reach one iSpring account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IspringConfig {
    /// The SOAP endpoint URL. The path `/api/v2/soap/2.0` is documented (ispring.md
    /// §10.1); the host is not, and defaults to the REST host `api-learn.ispringlearn.com`
    /// ([inferred]; your account's own host may be the one). HTTPS, except on loopback.
    #[serde(default = "default_soap_url")]
    pub soap_url: String,
    /// Value of the `SOAPAction` header for every call. Unset (the default), each call
    /// sends its own camelCase method name in quotes (`"updateGroup"`), as documented
    /// on one page (§10.1); set it only for a server that wants one fixed value.
    #[serde(default)]
    pub soap_action: Option<String>,
    /// REST API base (e.g. `https://api-learn.ispringlearn.com`), used to read rules
    /// with their AND/OR structure (`GET /group/smart/{id}/rules`, §3.4) and group
    /// members. Without it rules are read over SOAP, flat and uncertain.
    #[serde(default)]
    pub rest_url: Option<String>,
    /// How to log in (§2).
    pub credentials: IspringCredentials,
}

/// The two documented ways to authenticate (ispring.md §2.1, §2.2).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum IspringCredentials {
    /// The original `<credentials>` form: account URL, login e-mail and password.
    Login {
        /// Base URL of the account, e.g. `https://myaccount.ispringlearn.com`.
        account_url: String,
        /// The API user's login e-mail.
        email: String,
        /// The API user's password.
        password: SecretString,
    },
    /// An API key (client id + secret) exchanged for 30-minute access tokens.
    Token {
        /// The OAuth token endpoint; `api-learn.ispringlearn.eu`, `.ispring.com` and
        /// `.ru` hosts exist too (§2.2).
        #[serde(default = "default_token_url")]
        token_url: String,
        /// The API key's client id.
        client_id: String,
        /// The API key's client secret.
        client_secret: SecretString,
    },
}

/// A group's members as iSpring reports them (REST `GET /group/{id}`, §3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupUsers {
    pub is_smart: Option<bool>,
    pub user_ids: Vec<String>,
}

struct CachedToken {
    token: SecretString,
    expires_at: Instant,
}

enum Auth {
    Login {
        account_url: String,
        email: String,
        password: SecretString,
    },
    Token {
        token_url: String,
        client_id: String,
        client_secret: SecretString,
        /// One refresh at a time: held across the token request.
        cached: Mutex<Option<CachedToken>>,
    },
}

/// A payload's body: a smart group's rules, or a static group's name.
enum Shape<'a> {
    Smart(&'a wire::SmartGroupPayload),
    Static(&'a wire::StaticGroupPayload),
}

/// What to send, before credentials are added.
enum Request<'a> {
    Soap {
        element: &'a str,
        params: &'a [Param<'a>],
        idempotent: bool,
    },
    RestGet {
        url: String,
    },
}

/// The iSpring Learn [`Provider`].
pub struct IspringClient {
    http: HttpClient,
    soap_url: String,
    /// A configured fixed `SOAPAction`; `None`: each method's own name.
    soap_action: Option<HeaderValue>,
    rest_url: Option<Url>,
    auth: Auth,
    maps: Arc<Maps>,
}

/// `raw` checked like every base URL (HTTPS off loopback, no query or userinfo), the
/// error naming the config key `what`.
fn checked_url(raw: &str, what: &str) -> Result<Url, ProviderError> {
    validate_base_url(PROVIDER, raw).map_err(|mut e| {
        e.operation = what.to_owned();
        e
    })
}

/// An exact endpoint URL: checked, but kept as written (no trailing slash added).
fn endpoint(raw: &str, what: &str) -> Result<String, ProviderError> {
    checked_url(raw, what)?;
    Ok(raw.to_owned())
}

/// The `SOAPAction` of a request element: the configured value, else the method name in
/// camelCase (`AddSmartGroupRequest` → `"addSmartGroup"`, ispring.md §10.1: methods are
/// camelCase, request elements PascalCase + `Request`, §1).
pub fn action_of(configured: Option<&HeaderValue>, element: &str) -> HeaderValue {
    if let Some(v) = configured {
        return v.clone();
    }
    let method = element.strip_suffix("Request").unwrap_or(element);
    let mut chars = method.chars();
    let camel: String = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    // Our own element names: ASCII letters only, always a valid header value.
    HeaderValue::from_str(&format!("\"{camel}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

/// SOAP 1.1 §6.1.1: the header is a quoted string.
fn soap_action(configured: &str) -> Result<HeaderValue, ProviderError> {
    let raw = configured;
    let quoted = if raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"') {
        raw.to_owned()
    } else {
        format!("\"{raw}\"")
    };
    HeaderValue::from_str(&quoted).map_err(|_| {
        ProviderError::new(
            PROVIDER,
            ErrorKind::Config,
            "soap_action",
            "is not a valid HTTP header value",
        )
    })
}

impl IspringClient {
    pub fn new(
        config: IspringConfig,
        http: HttpSettings,
        maps: Arc<Maps>,
    ) -> Result<Self, ProviderError> {
        let soap_url = endpoint(&config.soap_url, "soap_url")?;
        let rest_url = config
            .rest_url
            .as_deref()
            .map(|raw| checked_url(raw, "rest_url"))
            .transpose()?;
        let auth = match config.credentials {
            IspringCredentials::Login {
                account_url,
                email,
                password,
            } => Auth::Login {
                account_url: endpoint(&account_url, "credentials.account_url")?,
                email,
                password,
            },
            IspringCredentials::Token {
                token_url,
                client_id,
                client_secret,
            } => Auth::Token {
                token_url: endpoint(&token_url, "credentials.token_url")?,
                client_id,
                client_secret,
                cached: Mutex::new(None),
            },
        };
        Ok(IspringClient {
            // One client for the three hosts: every call's `path` is an absolute URL
            // (SOAP endpoint, token endpoint, REST), which `Url::join` takes as it is, so
            // the base only anchors the client. None of them carries a secret.
            http: HttpClient::new(PROVIDER, &soap_url, http)?,
            soap_action: config.soap_action.as_deref().map(soap_action).transpose()?,
            soap_url,
            rest_url,
            auth,
            maps,
        })
    }

    /// Who this client is in: the account URL of a login, or the token endpoint and
    /// client id of an API key (an API key belongs to one account). Never a secret.
    fn identity(&self) -> String {
        match &self.auth {
            Auth::Login { account_url, .. } => account_url.trim_end_matches('/').to_owned(),
            Auth::Token {
                token_url,
                client_id,
                ..
            } => format!("{}#{client_id}", token_url.trim_end_matches('/')),
        }
    }

    /// The department tree (`getDepartments`, §5.1).
    pub async fn departments(&self) -> Result<Vec<Department>, ProviderError> {
        self.soap_read(
            "getDepartments",
            "GetDepartmentsRequest",
            &[],
            wire::parse_departments,
        )
        .await
    }

    /// Profile fields with their ids and, for the country field, the country ids
    /// (`getUserProfileFields`, §5.3).
    pub async fn profile_fields(&self) -> Result<Vec<ProfileField>, ProviderError> {
        self.soap_read(
            "getUserProfileFields",
            "GetUserProfileFieldsRequest",
            &[],
            wire::parse_profile_fields,
        )
        .await
    }

    /// Members of a group (REST `GET /group/{id}`, §3.4). Needs `rest_url`: the SOAP
    /// `getGroupInformation` answer is only known from old pages.
    pub async fn group_users(&self, group_id: &str) -> Result<GroupUsers, ProviderError> {
        let url = self.rest_path("getGroup", &["group", group_id])?;
        let detail = self
            .call(
                "getGroup",
                Request::RestGet { url },
                wire::parse_group_detail,
            )
            .await?;
        Ok(GroupUsers {
            is_smart: detail.is_smart,
            user_ids: detail.user_ids,
        })
    }

    // -- reads ----------------------------------------------------------------------

    async fn group_refs(&self) -> Result<Vec<GroupRef>, ProviderError> {
        self.soap_read("getGroups", "GetGroupsRequest", &[], wire::parse_group_refs)
            .await
    }

    /// The group with its rules, decoded with `directory`; `None` if it is not a smart
    /// group (or gone).
    async fn smart_group(
        &self,
        group: &GroupRef,
        directory: &Directory,
    ) -> Result<Option<RemoteGroup>, ProviderError> {
        let mut xml = match self.rules_of(&group.id).await {
            Ok(xml) => xml,
            // A plain group has no smart rules: SOAP `Unknown Group`, REST 404 (§3.4).
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        xml.id = Some(group.id.clone());
        xml.name = Some(group.name.clone());
        Ok(Some(RemoteGroup {
            id: group.id.clone(),
            name: group.name.clone(),
            key: None,
            decoded: dialect::decode_in(&xml, &self.maps, directory),
        }))
    }

    /// Nested over REST when configured, else flat over SOAP (§3.4).
    async fn rules_of(&self, id: &str) -> Result<SmartGroupXml, ProviderError> {
        let operation = "getSmartGroupRules";
        let groups = match &self.rest_url {
            Some(_) => {
                let url = self.rest_path(operation, &["group", "smart", id, "rules"])?;
                self.call(operation, Request::RestGet { url }, wire::parse_groups)
                    .await?
            }
            None => {
                let params = [Param::Text("groupId", id)];
                self.soap_read(
                    operation,
                    "GetSmartGroupRulesRequest",
                    &params,
                    wire::parse_groups,
                )
                .await?
            }
        };
        groups.into_iter().next().ok_or_else(|| {
            ProviderError::new(
                PROVIDER,
                ErrorKind::Malformed,
                operation,
                "the answer holds no rules",
            )
        })
    }

    /// `{rest_url}/a/b/c`, every segment percent-encoded (ids come from the network).
    fn rest_path(&self, operation: &str, segments: &[&str]) -> Result<String, ProviderError> {
        let unsupported = || {
            ProviderError::new(
                PROVIDER,
                ErrorKind::Unsupported,
                operation,
                "needs rest_url in the iSpring configuration",
            )
        };
        let mut url = self.rest_url.clone().ok_or_else(unsupported)?;
        url.path_segments_mut()
            .map_err(|()| unsupported())?
            .pop_if_empty()
            .extend(segments);
        Ok(url.into())
    }

    async fn soap_read<T>(
        &self,
        operation: &str,
        element: &str,
        params: &[Param<'_>],
        read: fn(&str) -> Result<T, WireError>,
    ) -> Result<T, ProviderError> {
        let request = Request::Soap {
            element,
            params,
            idempotent: true,
        };
        self.call(operation, request, read).await
    }

    // -- transport ------------------------------------------------------------------

    /// Sends `request` with fresh credentials; after an `Authorization failed` with a
    /// token, refreshes it and sends once more (§2.2, §6).
    async fn call<T>(
        &self,
        operation: &str,
        request: Request<'_>,
        read: fn(&str) -> Result<T, WireError>,
    ) -> Result<T, ProviderError> {
        let token = self.bearer().await?;
        match self.send(operation, &request, token.as_ref(), read).await {
            Err(e) if e.kind == ErrorKind::Auth && token.is_some() => {
                if let Some(failed) = &token {
                    self.forget(failed).await;
                }
                let token = self.bearer().await?;
                self.send(operation, &request, token.as_ref(), read).await
            }
            other => other,
        }
    }

    async fn send<T>(
        &self,
        operation: &str,
        request: &Request<'_>,
        token: Option<&SecretString>,
        read: fn(&str) -> Result<T, WireError>,
    ) -> Result<T, ProviderError> {
        let call = match request {
            Request::Soap {
                element,
                params,
                idempotent,
            } => {
                let credentials = self.soap_credentials(token);
                Call {
                    method: Method::POST,
                    path: &self.soap_url,
                    query: vec![],
                    headers: vec![(
                        HeaderName::from_static("soapaction"),
                        action_of(self.soap_action.as_ref(), element),
                    )],
                    body: Some(Body::Xml(wire::soap_request(element, &credentials, params))),
                    idempotent: *idempotent,
                }
            }
            Request::RestGet { url } => Call {
                method: Method::GET,
                path: url,
                query: vec![],
                headers: self.rest_headers(operation, token)?,
                body: None,
                idempotent: true,
            },
        };
        let rest = matches!(request, Request::RestGet { .. });
        self.http
            .send(operation, &call, |reply| {
                interpret(reply, operation, rest, read)
            })
            .await
    }

    fn soap_credentials<'a>(&'a self, token: Option<&'a SecretString>) -> SoapCredentials<'a> {
        match (&self.auth, token) {
            (
                Auth::Login {
                    account_url,
                    email,
                    password,
                },
                _,
            ) => SoapCredentials::Login {
                account_url,
                email,
                password: password.expose_secret(),
            },
            (Auth::Token { .. }, Some(token)) => SoapCredentials::Token(token.expose_secret()),
            // `bearer` always yields a token in token mode; an empty one is refused by
            // the server as `Authorization failed` rather than panicking here.
            (Auth::Token { .. }, None) => SoapCredentials::Token(""),
        }
    }

    /// Bearer token (spec scheme, §2.3), or the legacy `X-Auth-*` headers for a login.
    fn rest_headers(
        &self,
        operation: &str,
        token: Option<&SecretString>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, ProviderError> {
        let header = |value: String| {
            let mut v = HeaderValue::from_str(&value).map_err(|_| {
                ProviderError::new(
                    PROVIDER,
                    ErrorKind::Config,
                    operation,
                    "a credential is not a valid HTTP header value",
                )
            })?;
            v.set_sensitive(true);
            Ok::<_, ProviderError>(v)
        };
        let mut headers = vec![(ACCEPT, HeaderValue::from_static("application/xml"))];
        match (&self.auth, token) {
            (Auth::Token { .. }, Some(token)) => headers.push((
                AUTHORIZATION,
                header(format!("Bearer {}", token.expose_secret()))?,
            )),
            (
                Auth::Login {
                    account_url,
                    email,
                    password,
                },
                _,
            ) => {
                headers.push((
                    HeaderName::from_static("x-auth-account-url"),
                    header(account_url.clone())?,
                ));
                headers.push((
                    HeaderName::from_static("x-auth-email"),
                    header(email.clone())?,
                ));
                headers.push((
                    HeaderName::from_static("x-auth-password"),
                    header(password.expose_secret().to_owned())?,
                ));
            }
            (Auth::Token { .. }, None) => {}
        }
        Ok(headers)
    }

    fn ispring_payload<'a>(
        &self,
        operation: &str,
        payload: &'a Payload,
    ) -> Result<Shape<'a>, ProviderError> {
        if let Some(p) = payload.body::<wire::SmartGroupPayload>() {
            return Ok(Shape::Smart(p));
        }
        payload
            .body::<wire::StaticGroupPayload>()
            .map(Shape::Static)
            .ok_or_else(|| {
                ProviderError::new(
                    PROVIDER,
                    ErrorKind::Config,
                    operation,
                    format!(
                        "got a {} payload; iSpring takes only its own",
                        payload.provider().display_name()
                    ),
                )
            })
    }
}

#[async_trait]
impl Provider for IspringClient {
    fn kind(&self) -> ProviderKind {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            list: true,
            get: true,
            create: true,
            update: true,
            // No archive in iSpring, only removeGroup (§3.4).
            archive: false,
            delete: true,
            holds_rules: true,
            stores_key: false,
        }
    }

    #[tracing::instrument(skip_all, fields(provider = "ispring"))]
    async fn check(&self) -> Result<(), ProviderError> {
        self.departments().await.map(|_| ())
    }

    fn account(&self) -> String {
        self.identity()
    }

    /// Departments (`getDepartments`), groups (`getGroups`) and profile fields with
    /// their listed values (`getUserProfileFields`): three calls, once per run.
    #[tracing::instrument(skip_all, fields(provider = "ispring"))]
    async fn directory(&self) -> Result<Directory, ProviderError> {
        // Three independent reads, at once: a run waits for one round trip, not three
        // (the token is fetched once, under its lock; the rate limiter still paces).
        let (departments, groups, fields) =
            tokio::try_join!(self.departments(), self.group_refs(), self.profile_fields())?;
        let entries = directory::Entries {
            departments: departments
                .into_iter()
                .map(|d| directory::Department {
                    id: d.id,
                    name: d.name,
                    parent: d.parent_id,
                })
                .collect(),
            groups: groups
                .into_iter()
                .map(|g| directory::Group {
                    id: g.id,
                    name: g.name,
                })
                .collect(),
            fields: fields
                .into_iter()
                .map(|f| directory::Field {
                    id: f.id,
                    names: [f.name, f.label]
                        .into_iter()
                        .filter(|n| !n.is_empty())
                        .collect(),
                    // `name` the display name, `value` the id ([inferred], §5.3).
                    values: f.values.into_iter().map(|v| (v.name, v.value)).collect(),
                })
                .collect(),
        };
        Ok(Directory::read(
            self.identity(),
            PROVIDER.display_name(),
            entries,
        ))
    }

    #[tracing::instrument(skip_all, fields(provider = "ispring"))]
    async fn list_groups(&self, directory: &Directory) -> Result<Vec<RemoteGroup>, ProviderError> {
        let mut groups = Vec::new();
        for group in self.group_refs().await? {
            if let Some(g) = self.smart_group(&group, directory).await? {
                groups.push(g);
            }
        }
        Ok(groups)
    }

    #[tracing::instrument(skip_all, fields(provider = "ispring", group_id = id))]
    async fn get_group(&self, id: &str) -> Result<Option<RemoteGroup>, ProviderError> {
        match self.group_refs().await?.into_iter().find(|g| g.id == id) {
            Some(group) => self.smart_group(&group, &Directory::none()).await,
            None => Ok(None),
        }
    }

    /// The groups this run's directory read with `getGroups` (§3.4): every group, at
    /// no further call. iSpring has no archive, so none is archived.
    async fn listing(
        &self,
        directory: &Directory,
        _max_calls: usize,
    ) -> Result<Listing, ProviderError> {
        Ok(Listing {
            groups: directory.groups().map(|groups| {
                groups
                    .iter()
                    .map(|g| Listed {
                        id: g.id.clone(),
                        name: g.name.clone(),
                        archived: false,
                    })
                    .collect()
            }),
            calls: 0,
        })
    }

    /// The copy's rules (`getSmartGroupRules`, one call) against the pushed ones, as
    /// sets of clauses (the order iSpring answers in is not ours). Its name is checked
    /// by the listing. A flat rule list (§3.4, SOAP) matches when it holds the pushed
    /// rules under either reading (all one clause, or one clause each).
    #[tracing::instrument(skip_all, fields(provider = "ispring", group_id = id))]
    async fn verify(
        &self,
        id: &str,
        payload: &Payload,
    ) -> Result<(Verified, usize), ProviderError> {
        let pushed = match self.ispring_payload("verify group", payload)? {
            Shape::Smart(pushed) => pushed,
            // A static group holds no rule: what can drift is its existence and name
            // (its members are the membership stage's to keep).
            Shape::Static(_) => {
                // `getGroups` lists plain groups too (`get_group` reads smart ones).
                let listed = self.group_refs().await?.into_iter().find(|g| g.id == id);
                let verified = match listed {
                    None => Verified::Missing,
                    Some(g) if g.name != payload.name() => {
                        Verified::Differs(format!("renamed to \"{}\"", g.name))
                    }
                    Some(_) => Verified::Same,
                };
                return Ok((verified, 1));
            }
        };
        let read = match self.rules_of(id).await {
            Ok(xml) => xml,
            Err(e) if e.kind == ErrorKind::NotFound => return Ok((Verified::Missing, 1)),
            Err(e) => return Err(e),
        };
        let same = match &read.rules {
            wire::Rules::Nested(clauses) => canonical(clauses) == canonical(&pushed.rules),
            wire::Rules::Flat(rules) => {
                let all = canonical(std::slice::from_ref(rules));
                let each: Vec<Vec<WireRule>> = rules.iter().map(|r| vec![r.clone()]).collect();
                let want = canonical(&pushed.rules);
                all == want || canonical(&each) == want
            }
        };
        Ok((
            if same {
                Verified::Same
            } else {
                Verified::Differs("its rules were edited".to_owned())
            },
            1,
        ))
    }

    /// By exact name: iSpring stores no key of ours, and names may repeat (§3.2).
    #[tracing::instrument(skip_all, fields(provider = "ispring"))]
    async fn find_by_key(
        &self,
        name: &str,
        _key: &str,
    ) -> Result<Option<RemoteGroup>, ProviderError> {
        let mut found = Vec::new();
        for group in self
            .group_refs()
            .await?
            .into_iter()
            .filter(|g| g.name == name)
        {
            // Found to be linked or refused, never decoded for a plan: no directory. A
            // plain group counts too: the static groups of membership are ours by name.
            match self.smart_group(&group, &Directory::none()).await? {
                Some(g) => found.push(g),
                None => found.push(self.plain_group(&group)),
            }
        }
        single_named(PROVIDER, "findByName", name, found)
    }

    /// One `getGroups` call: every group, smart or not, at once (§3.4) — the same
    /// names `find_by_key` searches.
    #[tracing::instrument(skip_all, fields(provider = "ispring"))]
    async fn group_names(&self, max_calls: usize) -> Result<Option<Vec<String>>, ProviderError> {
        if max_calls == 0 {
            return Ok(None);
        }
        let refs = self.group_refs().await?;
        Ok(Some(refs.into_iter().map(|g| g.name).collect()))
    }

    #[tracing::instrument(skip_all, fields(provider = "ispring"))]
    async fn create(&self, _key: &str, payload: &Payload) -> Result<String, ProviderError> {
        let p = match self.ispring_payload("addSmartGroup", payload)? {
            Shape::Smart(p) => p,
            Shape::Static(p) => return self.add_static(p).await,
        };
        let operation = "addSmartGroup";
        let params = [Param::Text("name", &p.name), Param::Rules(&p.rules)];
        let request = Request::Soap {
            element: "AddSmartGroupRequest",
            params: &params,
            idempotent: false,
        };
        self.call(operation, request, wire::parse_add_result).await
    }

    #[tracing::instrument(skip_all, fields(provider = "ispring", group_id = id))]
    async fn update(&self, id: &str, _key: &str, payload: &Payload) -> Result<(), ProviderError> {
        let operation = "updateSmartGroup";
        let p = match self.ispring_payload(operation, payload)? {
            Shape::Smart(p) => p,
            Shape::Static(p) => return self.rename_static(id, p).await,
        };
        // Both always: SOAP says rules optional, REST says required (§3.3).
        let params = [
            Param::Text("groupId", id),
            Param::Text("name", &p.name),
            Param::Rules(&p.rules),
        ];
        let request = Request::Soap {
            element: "UpdateSmartGroupRequest",
            params: &params,
            idempotent: true,
        };
        match self.call(operation, request, wire::parse_success).await? {
            true => Ok(()),
            false => Err(update_failed(operation)),
        }
    }

    /// Deletes for good: iSpring has no archive (§3.4). An unknown id is `Wrong parameters`, as
    /// the removeGroup page documents; since that answer also means a malformed request,
    /// the group list decides: a group that is no longer listed is [`ErrorKind::NotFound`]
    /// (already deleted — by an earlier attempt whose answer was lost, or by a run killed
    /// before it recorded the deletion), one still listed keeps the `InvalidRequest`.
    #[tracing::instrument(skip_all, fields(provider = "ispring", group_id = id))]
    async fn delete(&self, id: &str) -> Result<(), ProviderError> {
        let operation = "removeGroup";
        let params = [Param::Text("groupId", id)];
        let request = Request::Soap {
            element: "RemoveGroupRequest",
            params: &params,
            // Removing twice removes nothing more.
            idempotent: true,
        };
        match self.call(operation, request, wire::parse_success).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(update_failed(operation)),
            Err(e) if e.kind == ErrorKind::InvalidRequest => {
                if self.group_refs().await?.iter().any(|g| g.id == id) {
                    Err(e)
                } else {
                    Err(ProviderError::new(
                        PROVIDER,
                        ErrorKind::NotFound,
                        operation,
                        format!("group {id} does not exist (any more)"),
                    ))
                }
            }
            Err(e) => Err(e),
        }
    }

    fn member_source(&self) -> Option<&dyn MemberSource> {
        Some(self)
    }

    fn member_target(&self) -> Option<&dyn MemberTarget> {
        Some(self)
    }
}

#[cfg(test)]
mod tests;
