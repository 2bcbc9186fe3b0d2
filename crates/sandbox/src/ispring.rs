//! A stateful imitation of the iSpring Learn API as documented
//! (`../shared/providers/ispring.md`), on 127.0.0.1, for the demo and contract tests.
//!
//! - `POST /api/v2/soap/2.0`: the SOAP endpoint at its documented path (§10.1).
//!   Requests are dispatched on the Body's first element by local name, any prefix and
//!   any namespace URI (§1 "Prefixes", §7.3); the `SOAPAction` header must name the same
//!   method in camelCase, quoted (`"updateGroup"`, §10.1; refusing a missing or other
//!   one as `Wrong parameters` is [inferred]); `<credentials>` must come first (§1
//!   "Child order", [inferred] from a WSDL sequence) and hold either the login form or a
//!   token this sandbox issued and that has not expired (§2.1).
//! - Static groups and members (§10, `ispring/members.rs`): `addGroup`, `updateGroup`,
//!   `updateGroupMembers` (replaces; a Department Administrator's call removes only
//!   members of its departments), `addUserToGroup` / `removeUserFromGroup` with their
//!   per-user faults, `RemoveUserFromGroups`, and `ListUsers` by group, department or
//!   email, paged by `pageToken`, seen through an administrator's limited view when a
//!   test sets one.
//! - `POST /api/v3/token`: OAuth client credentials → `{"access_token","expires_in",
//!   "token_type"}` (§2.2); the lifetime is 1800 s unless a test shortens it.
//! - `GET /group/smart/{id}/rules` (nested CNF) and `GET /group/{id}` (members): REST,
//!   `Authorization: Bearer` or the legacy `X-Auth-*` headers (§2.3, §3.4).
//!
//! Faults are `<SOAP-ENV:Fault><faultcode>client</faultcode><faultstring>…` with HTTP
//! 500 (§4; the status is SOAP 1.1 convention, undocumented). Where the docs are silent
//! the choice is marked [inferred] below.
//!
//! Beside this file: `ispring/soap.rs` reads request envelopes and writes what only an
//! answer holds (the fault), with the provider crate's XML reader and writer, which is
//! all of XML a client needs; `ispring/seed.rs` is the demo account.

use crate::{Controls, Running, Seed, Snapshot, serve, with_faults};
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secrecy::SecretString;
use sgsync_ispring::client::{IspringConfig, IspringCredentials};
use sgsync_ispring::wire::{self, Department, ProfileField, Rules, WireRule, XmlWriter};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

mod members;
mod seed;
mod soap;

pub use seed::ids;
use seed::new_id;
pub use soap::{CredentialsXml, SoapCall, action_for, parse_soap_call, soap_fault};

/// Distinctive credentials, so a test can look for leaks.
pub const ACCOUNT_URL: &str = "https://sandbox-acme.ispringlearn.com";
pub const EMAIL: &str = "sgsync-api@sandbox-acme.example";
pub const PASSWORD: &str = "ispring-PASSWORD-7c1e-DISTINCTIVE";
pub const CLIENT_ID: &str = "sgsync-sandbox-client";
pub const CLIENT_SECRET: &str = "ispring-CLIENT-SECRET-4b9d-DISTINCTIVE";
/// Every issued access token starts with this.
pub const TOKEN_PREFIX: &str = "ispring-TOKEN-";
/// The documented token lifetime (§2.2).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(1800);
/// The placeholder namespace of the updateSmartGroup response sample (seed 002, §7.2).
pub const PLACEHOLDER_NAMESPACE: &str = "https://new.webservice.namespace";

const DEPARTMENT: u8 = 1;
const GROUP: u8 = 2;
const PROFILE_FIELD: u8 = 3;

/// A group as the sandbox holds it: `rules` is `Some` for a smart group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxGroup {
    pub id: String,
    pub name: String,
    pub rules: Option<Vec<Vec<WireRule>>>,
}

/// A user: department, plain-group memberships and profile field values by Field ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxUser {
    pub id: String,
    pub department_id: String,
    pub groups: Vec<String>,
    pub fields: BTreeMap<String, String>,
}

#[derive(Clone)]
struct World {
    departments: Vec<Department>,
    groups: Vec<SandboxGroup>,
    fields: Vec<ProfileField>,
    users: Vec<SandboxUser>,
    /// Issued access tokens and when each expires.
    tokens: HashMap<String, Instant>,
    token_lifetime: Duration,
    /// A fault every authenticated SOAP call gets (a test's `Permission denied`).
    refusal: Option<String>,
    /// Faults by method (lower-case, without `Request`): every call of it answers this.
    method_faults: HashMap<String, String>,
    /// `Some`: the API user is a Department Administrator of these departments (and
    /// their sub-departments): it sees only their users (§10.3).
    admin_scope: Option<Vec<String>>,
}

/// The documented SOAP endpoint path (ispring.md §10.1).
pub const SOAP_PATH: &str = "/api/v2/soap/2.0";

#[derive(Clone)]
struct Shared(Arc<Mutex<World>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, World> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Snapshot for Shared {
    type Saved = World;
    fn save(&self) -> World {
        self.lock().clone()
    }
    fn restore(&self, saved: World) {
        *self.lock() = saved;
    }
}

/// A running iSpring sandbox.
pub struct Sandbox {
    pub running: Running,
    state: Shared,
}

impl Sandbox {
    /// Starts on a free loopback port.
    pub async fn start(seed: Seed) -> std::io::Result<Sandbox> {
        Self::start_on(seed, 0).await
    }

    /// Starts on 127.0.0.1:`port` (0: a free port).
    pub async fn start_on(seed: Seed, port: u16) -> std::io::Result<Sandbox> {
        Self::serve_world(World::seeded(seed), port).await
    }

    /// Starts a *second account* of the same company on a free loopback port: the same
    /// department, group and profile-field names as [`Sandbox::start`], each under this
    /// account's own ids (real accounts never share ids), except that it has no
    /// "Support" department (its people are in "Company") and no "Onboarding 2026"
    /// group. What an iSpring → iSpring sync between two accounts is tested against.
    pub async fn start_second_account(seed: Seed) -> std::io::Result<Sandbox> {
        Self::serve_world(World::seeded(seed).second_account(), 0).await
    }

    async fn serve_world(world: World, port: u16) -> std::io::Result<Sandbox> {
        let state = Shared(Arc::new(Mutex::new(world)));
        let controls = Controls::default();
        let router = Router::new()
            .route(SOAP_PATH, post(soap))
            .route("/api/v3/token", post(token))
            .route("/group/smart/{id}/rules", get(rest_rules))
            .route("/group/{id}", get(rest_group))
            .route("/user", get(rest_users))
            .with_state(state.clone());
        let router = with_faults(router, controls.clone(), state.clone());
        Ok(Sandbox {
            running: serve(router, controls, port).await?,
            state,
        })
    }

    pub fn url(&self) -> String {
        self.running.url()
    }

    /// The `[<table>]` of a config file (e.g. `targets.lms.ispring`) that reaches this
    /// sandbox as [`Sandbox::config`] does: token form, REST read.
    pub fn config_toml(&self, table: &str) -> String {
        let url = self.url();
        format!(
            "[{table}]\nsoap_url = \"{url}{SOAP_PATH}\"\nrest_url = \"{url}\"\n\
             [{table}.credentials]\nkind = \"token\"\ntoken_url = \"{url}/api/v3/token\"\n\
             client_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\n"
        )
    }

    /// A client config with the token form and the REST read (nested rules).
    pub fn config(&self) -> IspringConfig {
        IspringConfig {
            soap_url: format!("{}{SOAP_PATH}", self.url()),
            soap_action: None,
            rest_url: Some(self.url()),
            credentials: IspringCredentials::Token {
                token_url: format!("{}/api/v3/token", self.url()),
                client_id: CLIENT_ID.to_owned(),
                client_secret: SecretString::from(CLIENT_SECRET),
            },
        }
    }

    /// A client config with the login form and no REST (flat SOAP rules read).
    pub fn login_config(&self) -> IspringConfig {
        IspringConfig {
            soap_url: format!("{}{SOAP_PATH}", self.url()),
            soap_action: None,
            rest_url: None,
            credentials: IspringCredentials::Login {
                account_url: ACCOUNT_URL.to_owned(),
                email: EMAIL.to_owned(),
                password: SecretString::from(PASSWORD),
            },
        }
    }

    pub fn groups(&self) -> Vec<SandboxGroup> {
        self.state.lock().groups.clone()
    }

    pub fn smart_groups(&self) -> Vec<SandboxGroup> {
        self.groups()
            .into_iter()
            .filter(|g| g.rules.is_some())
            .collect()
    }

    pub fn departments(&self) -> Vec<Department> {
        self.state.lock().departments.clone()
    }

    pub fn users(&self) -> Vec<SandboxUser> {
        self.state.lock().users.clone()
    }

    /// Adds a group (smart when `rules` is given) without validation; returns its id.
    pub fn add_group(&self, name: &str, rules: Option<Vec<Vec<WireRule>>>) -> String {
        let id = new_id();
        self.state.lock().groups.push(SandboxGroup {
            id: id.clone(),
            name: name.to_owned(),
            rules,
        });
        id
    }

    /// Replaces a group's name and rules, as an edit in the iSpring admin would; false
    /// when no group has that id.
    pub fn edit_group(&self, id: &str, name: &str, rules: Option<Vec<Vec<WireRule>>>) -> bool {
        let mut state = self.state.lock();
        match state.groups.iter_mut().find(|g| g.id == id) {
            Some(g) => {
                g.name = name.to_owned();
                g.rules = rules;
                true
            }
            None => false,
        }
    }

    /// Deletes a group, as the iSpring admin would; false when absent.
    pub fn remove_group(&self, id: &str) -> bool {
        let mut state = self.state.lock();
        let before = state.groups.len();
        state.groups.retain(|g| g.id != id);
        state.groups.len() < before
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.state.lock().token_lifetime = lifetime;
    }

    /// Makes every issued token invalid, as if it had expired server-side.
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for expires in self.state.lock().tokens.values_mut() {
            *expires = now;
        }
    }

    /// Every access token issued so far (for leak checks).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.lock().tokens.keys().cloned().collect()
    }

    /// From now on every authenticated SOAP call answers this faultstring (e.g.
    /// `Permission denied` for a department admin, `Account subscription expired`);
    /// `None` ends it.
    pub fn refuse_with(&self, faultstring: Option<&str>) {
        self.state.lock().refusal = faultstring.map(str::to_owned);
    }

    /// Ids of the users a group holds (smart: its rules evaluated).
    pub fn members(&self, group_id: &str) -> Vec<String> {
        self.state.lock().members(group_id)
    }

    /// From now on every call of `method` (camelCase, e.g. `listUsers`) answers this
    /// faultstring; `None` ends it.
    pub fn fail_method(&self, method: &str, faultstring: Option<&str>) {
        let key = method.to_ascii_lowercase();
        let mut world = self.state.lock();
        match faultstring {
            Some(f) => world.method_faults.insert(key, f.to_owned()),
            None => world.method_faults.remove(&key),
        };
    }

    /// Makes the API user a Department Administrator of `departments` (and what is
    /// below them), or (`None`) an account administrator again (§10.3).
    pub fn set_admin_scope(&self, departments: Option<&[&str]>) {
        self.state.lock().admin_scope =
            departments.map(|d| d.iter().map(|s| (*s).to_owned()).collect());
    }

    /// Adds a user with this email (and name) to `department`; returns its id.
    pub fn add_user(&self, email: &str, department: &str) -> String {
        let id = new_id();
        let fields = [
            ("EMAIL", email),
            ("FIRST_NAME", "New"),
            ("LAST_NAME", "User"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        self.state.lock().users.push(SandboxUser {
            id: id.clone(),
            department_id: department.to_owned(),
            groups: Vec::new(),
            fields,
        });
        id
    }

    /// Puts user `user_id` into plain group `group_id` by hand (as a person in the LMS would).
    pub fn join(&self, user_id: &str, group_id: &str) {
        let mut world = self.state.lock();
        if let Some(u) = world.users.iter_mut().find(|u| u.id == user_id)
            && !u.groups.iter().any(|g| g == group_id)
        {
            u.groups.push(group_id.to_owned());
        }
    }

    /// Replaces the users with `users` (a benchmark's account).
    pub fn set_users(&self, users: Vec<SandboxUser>) {
        self.state.lock().users = users;
    }
}

// ---------------------------------------------------------------------------------------
// SOAP

enum Answer {
    Ok(String),
    Fault(String),
}

impl Answer {
    fn fault(message: &str) -> Answer {
        Answer::Fault(message.to_owned())
    }
}

const WRONG_PARAMETERS: &str = "Wrong parameters";
const AUTHORIZATION_FAILED: &str = "Authorization failed";
const UNKNOWN_GROUP: &str = "Unknown Group";

async fn soap(State(state): State<Shared>, headers: HeaderMap, body: String) -> Response {
    // Malformed XML (the seeds' own `<attributeType>1<attributeType>`) is refused as
    // `Wrong parameters` [inferred]: the docs have no separate parse error (§4).
    let action = headers.get("soapaction").and_then(|v| v.to_str().ok());
    let answer = match parse_soap_call(&body) {
        Err(_) => Answer::fault(WRONG_PARAMETERS),
        Ok(call) if action != Some(&soap::action_for(&call.method)) => {
            Answer::fault(WRONG_PARAMETERS)
        }
        Ok(call) => state.lock().handle(&call),
    };
    let (status, xml) = match answer {
        Answer::Ok(xml) => (StatusCode::OK, xml),
        Answer::Fault(message) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            soap_fault("client", &message),
        ),
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

fn result(namespace: &str, build: impl FnOnce(&mut XmlWriter)) -> Answer {
    let mut w = XmlWriter::new();
    build(&mut w);
    Answer::Ok(wire::soap_envelope(namespace, &w.finish()))
}

impl World {
    fn handle(&mut self, call: &SoapCall) -> Answer {
        let Some(credentials) = &call.credentials else {
            return Answer::fault(WRONG_PARAMETERS);
        };
        if !call.credentials_first {
            return Answer::fault(WRONG_PARAMETERS);
        }
        let login = credentials
            .account_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'))
            == Some(ACCOUNT_URL)
            && credentials.email.as_deref() == Some(EMAIL)
            && credentials.password.as_deref() == Some(PASSWORD);
        let token = credentials
            .token
            .as_deref()
            .is_some_and(|t| self.token_valid(t));
        if !(login || token) {
            return Answer::fault(AUTHORIZATION_FAILED);
        }
        if let Some(refusal) = &self.refusal {
            return Answer::Fault(refusal.clone());
        }
        let method = call.method.to_ascii_lowercase();
        let method = method.strip_suffix("request").unwrap_or(&method);
        if let Some(fault) = self.method_faults.get(method) {
            return Answer::Fault(fault.clone());
        }
        match method {
            "addgroup" => self.add_group(call),
            "updategroup" => self.update_group(call),
            "updategroupmembers" => self.update_group_members(call),
            "addusertogroup" => self.add_user_to_group(call),
            "removeuserfromgroup" => self.remove_user_from_group(call),
            "removeuserfromgroups" => self.remove_user_from_groups(call),
            "listusers" => self.list_users(call),
            "addsmartgroup" => self.add(call),
            "updatesmartgroup" => self.update(call),
            "getgroups" => self.get_groups(),
            "getsmartgrouprules" => self.get_rules(call),
            "getdepartments" => self.get_departments(),
            "getuserprofilefields" => self.get_fields(),
            "removegroup" => self.remove(call),
            // [inferred] an unknown operation: no documented fault, so the generic one.
            _ => Answer::fault(WRONG_PARAMETERS),
        }
    }

    fn token_valid(&self, token: &str) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|expires| *expires > Instant::now())
    }

    fn add(&mut self, call: &SoapCall) -> Answer {
        let Some(name) = call.name.as_deref().filter(|n| !n.trim().is_empty()) else {
            return Answer::fault(WRONG_PARAMETERS);
        };
        let Some(rules) = self.valid_rules(call.rules.as_ref()) else {
            return Answer::fault(WRONG_PARAMETERS);
        };
        // Names may repeat: nothing documents a uniqueness check (§3.2 [inferred]).
        let id = new_id();
        self.groups.push(SandboxGroup {
            id: id.clone(),
            name: name.to_owned(),
            rules: Some(rules),
        });
        result(wire::SERVICE_NAMESPACE, |w| {
            w.open("AddSmartGroupResult", None)
                .leaf("groupId", &id)
                .close("AddSmartGroupResult");
        })
    }

    fn update(&mut self, call: &SoapCall) -> Answer {
        let Some(id) = call.group_id.as_deref().filter(|i| !i.is_empty()) else {
            return Answer::fault(WRONG_PARAMETERS);
        };
        let Some(index) = self.smart_index(id) else {
            return Answer::fault(UNKNOWN_GROUP);
        };
        // Name and rules are optional on SOAP (§3.3); given rules replace the set whole
        // [inferred].
        let rules = match &call.rules {
            None => None,
            Some(r) => match self.valid_rules(Some(r)) {
                Some(rules) => Some(rules),
                None => return Answer::fault(WRONG_PARAMETERS),
            },
        };
        if call.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Answer::fault(WRONG_PARAMETERS);
        }
        let group = &mut self.groups[index];
        if let Some(name) = &call.name {
            group.name = name.clone();
        }
        if let Some(rules) = rules {
            group.rules = Some(rules);
        }
        // The response sample's placeholder namespace, reproduced (seed 002, §7.2).
        result(PLACEHOLDER_NAMESPACE, |w| {
            w.open("updateSmartGroupResult", None)
                .leaf("success", "true")
                .close("updateSmartGroupResult");
        })
    }

    fn get_groups(&self) -> Answer {
        result(wire::SERVICE_NAMESPACE, |w| {
            w.open("GetGroupsResult", None);
            for g in &self.groups {
                w.open("group", None)
                    .leaf("groupId", &g.id)
                    .leaf("name", &g.name)
                    .close("group");
            }
            w.close("GetGroupsResult");
        })
    }

    /// The flat list the sample shows: every rule with its groupId, no nesting (§3.4).
    fn get_rules(&self, call: &SoapCall) -> Answer {
        let Some(id) = call.group_id.as_deref().filter(|i| !i.is_empty()) else {
            return Answer::fault(WRONG_PARAMETERS);
        };
        let Some(rules) = self
            .smart_index(id)
            .and_then(|i| self.groups[i].rules.as_ref())
        else {
            return Answer::fault(UNKNOWN_GROUP);
        };
        result(wire::SERVICE_NAMESPACE, |w| {
            w.open("GetSmartGroupRulesResult", None);
            for rule in rules.iter().flatten() {
                soap::flat_rule(w, id, rule);
            }
            w.close("GetSmartGroupRulesResult");
        })
    }

    fn get_departments(&self) -> Answer {
        result(wire::SERVICE_NAMESPACE, |w| {
            w.open("GetDepartmentsResult", None);
            for d in &self.departments {
                w.open("department", None)
                    .leaf("departmentId", &d.id)
                    .leaf("name", &d.name)
                    .leaf("code", d.code.as_deref().unwrap_or(""))
                    .leaf("parentDepartmentId", d.parent_id.as_deref().unwrap_or(""))
                    .close("department");
            }
            w.close("GetDepartmentsResult");
        })
    }

    fn get_fields(&self) -> Answer {
        result(wire::SERVICE_NAMESPACE, |w| {
            w.open("GetUserProfileFieldsResult", None);
            for f in &self.fields {
                w.open("userFieldInfo", None)
                    .leaf("userFieldInfoId", &f.id)
                    .leaf("name", &f.name)
                    .leaf("label", &f.label)
                    .leaf("type", &f.field_type);
                if !f.values.is_empty() {
                    w.open("values", None);
                    for v in &f.values {
                        w.open("field", None)
                            .leaf("name", &v.name)
                            .leaf("value", &v.value)
                            .close("field");
                    }
                    w.close("values");
                }
                w.close("userFieldInfo");
            }
            w.close("GetUserProfileFieldsResult");
        })
    }

    /// An unknown id is `Wrong parameters`, as the removeGroup page says (§3.4).
    fn remove(&mut self, call: &SoapCall) -> Answer {
        let id = call.group_id.as_deref().unwrap_or("");
        let before = self.groups.len();
        self.groups.retain(|g| g.id != id);
        if self.groups.len() == before {
            return Answer::fault(WRONG_PARAMETERS);
        }
        for user in &mut self.users {
            user.groups.retain(|g| g != id);
        }
        result(wire::SERVICE_NAMESPACE, |w| {
            w.open("SuccessResult", None)
                .leaf("success", "true")
                .close("SuccessResult");
        })
    }

    fn smart_index(&self, id: &str) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.id == id && g.rules.is_some())
    }

    /// Nested rules whose every rule is documented and refers to something that exists
    /// (§3.1); `None` means `Wrong parameters`.
    fn valid_rules(&self, rules: Option<&Rules>) -> Option<Vec<Vec<WireRule>>> {
        let Some(Rules::Nested(clauses)) = rules else {
            return None;
        };
        clauses
            .iter()
            .flatten()
            .all(|r| self.valid_rule(r))
            .then(|| clauses.clone())
    }

    fn valid_rule(&self, r: &WireRule) -> bool {
        match (r.attribute_type, r.operator) {
            (DEPARTMENT, 1 | 2) => self.departments.iter().any(|d| d.id == r.value),
            (GROUP, 1) => self.groups.iter().any(|g| g.id == r.value),
            (PROFILE_FIELD, 1) => {
                let Some(field) = r
                    .attribute_id
                    .as_deref()
                    .and_then(|id| self.fields.iter().find(|f| f.id == id.trim()))
                else {
                    return false;
                };
                // Country rules take a country id (§3.1, §5.3); other values are free text.
                field.values.is_empty() || field.values.iter().any(|v| v.value == r.value)
            }
            _ => false,
        }
    }

    // -- membership (for group_users and the demo) -------------------------------

    fn members(&self, group_id: &str) -> Vec<String> {
        self.users
            .iter()
            .filter(|u| self.holds(group_id, u, 0))
            .map(|u| u.id.clone())
            .collect()
    }

    fn holds(&self, group_id: &str, user: &SandboxUser, depth: usize) -> bool {
        let Some(group) = self.groups.iter().find(|g| g.id == group_id) else {
            return false;
        };
        match &group.rules {
            None => user.groups.iter().any(|g| g == group_id),
            // A smart group referring to itself (or a cycle) stops matching past 8 levels.
            Some(_) if depth > 8 => false,
            Some(clauses) => clauses
                .iter()
                .all(|clause| clause.iter().any(|r| self.matches(r, user, depth))),
        }
    }

    fn matches(&self, r: &WireRule, user: &SandboxUser, depth: usize) -> bool {
        match (r.attribute_type, r.operator) {
            (DEPARTMENT, 1) => user.department_id == r.value,
            (DEPARTMENT, 2) => self.within(&user.department_id, &r.value),
            (GROUP, _) => self.holds(&r.value, user, depth + 1),
            (PROFILE_FIELD, _) => r
                .attribute_id
                .as_deref()
                .and_then(|f| user.fields.get(f))
                .is_some_and(|v| *v == r.value),
            _ => false,
        }
    }

    /// Whether `department` is `ancestor` or below it.
    fn within(&self, department: &str, ancestor: &str) -> bool {
        let mut current = Some(department.to_owned());
        for _ in 0..=self.departments.len() {
            match current {
                Some(ref d) if d == ancestor => return true,
                Some(ref d) => {
                    current = self
                        .departments
                        .iter()
                        .find(|x| &x.id == d)
                        .and_then(|x| x.parent_id.clone());
                }
                None => return false,
            }
        }
        false
    }
}

// ---------------------------------------------------------------------------------------
// Token and REST

async fn token(State(state): State<Shared>, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return json_error(StatusCode::BAD_REQUEST, "unsupported grant_type");
    }
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return json_error(StatusCode::UNAUTHORIZED, "invalid client credentials");
    }
    let mut world = state.lock();
    let token = format!(
        "{TOKEN_PREFIX}{:016x}{:016x}",
        fastrand::u64(..),
        fastrand::u64(..)
    );
    let lifetime = world.token_lifetime;
    world
        .tokens
        .insert(token.clone(), Instant::now() + lifetime);
    let body = serde_json::json!({
        "access_token": token,
        "expires_in": lifetime.as_secs(),
        "token_type": "bearer",
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn json_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "code": status.as_u16(), "message": message });
    (status, axum::Json(body)).into_response()
}

/// `<response><code/><message/></response>` (spec `ErrorResponse`, §3.4).
fn rest_error(status: StatusCode, message: &str) -> Response {
    let mut w = XmlWriter::new();
    w.open("response", None)
        .leaf("code", &status.as_u16().to_string())
        .leaf("message", message)
        .close("response");
    xml_response(status, w.finish())
}

fn xml_response(status: StatusCode, xml: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/xml")], xml).into_response()
}

/// Bearer (with or without the `Bearer ` prefix the samples drop, §7.10) or `X-Auth-*`.
fn rest_authorised(world: &World, headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(auth) = text("authorization") {
        let token = auth.strip_prefix("Bearer ").unwrap_or(auth).trim();
        return world.token_valid(token);
    }
    text("x-auth-account-url").map(|u| u.trim_end_matches('/')) == Some(ACCOUNT_URL)
        && text("x-auth-email") == Some(EMAIL)
        && text("x-auth-password") == Some(PASSWORD)
}

async fn rest_rules(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let world = state.lock();
    if !rest_authorised(&world, &headers) {
        return rest_error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    // [inferred] 404 for an unknown or plain group: the spec lists only 400/401/403.
    let Some(rules) = world
        .smart_index(&id)
        .and_then(|i| world.groups[i].rules.as_ref())
    else {
        return rest_error(StatusCode::NOT_FOUND, "Group not found");
    };
    let mut w = XmlWriter::new();
    w.open("response", None)
        .open("smartGroupRules", None)
        .leaf("groupId", &id)
        .rules(rules)
        .close("smartGroupRules")
        .close("response");
    xml_response(StatusCode::OK, w.finish())
}

async fn rest_group(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let world = state.lock();
    if !rest_authorised(&world, &headers) {
        return rest_error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let Some(group) = world.groups.iter().find(|g| g.id == id) else {
        return rest_error(StatusCode::NOT_FOUND, "Group not found");
    };
    let members = world.members(&id);
    let mut w = XmlWriter::new();
    w.open("response", None)
        .leaf("usersCount", &members.len().to_string())
        .leaf("groupId", &group.id);
    w.open("userIds", None);
    for m in &members {
        w.leaf("userId", m);
    }
    w.close("userIds")
        .leaf("name", &group.name)
        .leaf(
            "isSmart",
            if group.rules.is_some() {
                "true"
            } else {
                "false"
            },
        )
        .close("response");
    xml_response(StatusCode::OK, w.finish())
}

/// `GET /user[?groups[]=<id>…]` ([spec] "Get user list"): every user, or those in any
/// of the groups named (smart groups by their rules). XML like the other REST answers.
async fn rest_users(
    State(state): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let world = state.lock();
    if !rest_authorised(&world, &headers) {
        return rest_error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let groups: Vec<String> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "groups[]")
        .map(|(_, v)| v.into_owned())
        .collect();
    let selected: Option<std::collections::HashSet<String>> =
        (!groups.is_empty()).then(|| groups.iter().flat_map(|g| world.members(g)).collect());
    let mut w = XmlWriter::new();
    w.open("response", None);
    for u in world
        .users
        .iter()
        .filter(|u| selected.as_ref().is_none_or(|s| s.contains(&u.id)))
    {
        w.open("user", None)
            .leaf("userId", &u.id)
            .leaf("departmentId", &u.department_id);
        w.open("fields", None);
        for (key, field) in [
            ("login", "EMAIL"),
            ("email", "EMAIL"),
            ("first_name", "FIRST_NAME"),
            ("last_name", "LAST_NAME"),
        ] {
            if let Some(v) = u.fields.get(field) {
                w.leaf(key, v);
            }
        }
        w.close("fields").close("user");
    }
    w.close("response");
    xml_response(StatusCode::OK, w.finish())
}
