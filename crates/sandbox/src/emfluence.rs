//! A stateful imitation of the emfluence API v1 groups and membership calls
//! (`../shared/providers/emfluence.md`), for tests and the demo.
//!
//! It behaves as DOCUMENTED, quirks included: every answer is HTTP 200 with the
//! envelope `{success, code, errors?, data, requestID}` (§2) and loose typing (`private: 1`,
//! `dateModified: ""`, `userID: ""`, `YYYY-MM-DD HH:MM:SS` dates); `groups/search` matches
//! names as a substring and its records carry no `externalID`/`protected` (§3.3);
//! `groups/lookup` answers an array for `groupIDs` (≤ 25); membership calls take ≤ 1000
//! ids and answer per-contact rows; URL parameters win over body parameters (§1).
//!
//! Where the docs are silent, the choice made here (each marked "choice" below) is the
//! most plausible one, and the client does not rely on it beyond what is documented.

use crate::{Controls, Running, Seed, Snapshot, serve, with_faults};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::Json as JsonReply;
use axum::routing::any;
use secrecy::SecretString;
use serde_json::{Map, Value as Json, json};
use sgsync_emfluence::wire::{
    AUTH_ERROR_CODE, ContactResult, GroupKind, Paging, loose_bool, loose_int,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use sgsync_emfluence::client::EmfluenceConfig;

/// The sandbox's token: distinctive, so a leak into a log or error is easy to find.
pub const SANDBOX_TOKEN: &str = "emfl-sandbox-TOKEN-7c1e-DISTINCTIVE";

/// A group as the sandbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxGroup {
    pub id: i64,
    pub name: String,
    pub friendly_name: String,
    pub description: String,
    /// `Active` or `Archived`.
    pub status: String,
    pub kind: GroupKind,
    pub protected: bool,
    pub private: bool,
    pub notes: String,
    pub external_id: String,
    pub date_added: String,
    pub date_modified: String,
    pub members: BTreeSet<i64>,
}

/// A contact as the sandbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxContact {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub date_added: String,
}

#[derive(Debug, Clone, Default)]
struct World {
    groups: BTreeMap<i64, SandboxGroup>,
    /// Every group's id by its folded name ([`fold`]), so a save checks uniqueness
    /// without a scan of all groups (the bench saves thousands).
    names: HashMap<String, i64>,
    contacts: BTreeMap<i64, SandboxContact>,
    next_group: i64,
    next_contact: i64,
    next_request: u64,
    token: String,
}

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

/// A running emfluence sandbox.
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
        let mut world = World {
            next_group: 1000,
            next_contact: 5000,
            token: SANDBOX_TOKEN.to_owned(),
            ..World::default()
        };
        match seed {
            Seed::Demo => seed_demo(&mut world),
            Seed::Empty => seed_contacts(&mut world, 5),
        }
        let state = Shared(Arc::new(Mutex::new(world)));
        let controls = Controls::default();
        let router = Router::new()
            .route("/v1/{resource}/{method}", any(handle))
            .with_state(state.clone());
        let router = with_faults(router, controls.clone(), state.clone());
        let running = serve(router, controls, port).await?;
        Ok(Sandbox { running, state })
    }

    /// The API root, `http://127.0.0.1:<port>/v1`.
    pub fn url(&self) -> String {
        format!("{}/v1", self.running.url())
    }

    /// The `[<table>]` of a config file (e.g. `targets.newsletter.emfluence`) that
    /// reaches this sandbox with its token.
    pub fn config_toml(&self, table: &str) -> String {
        format!(
            "[{table}]\nbase_url = \"{}\"\ntoken = \"{SANDBOX_TOKEN}\"\n",
            self.url()
        )
    }

    /// A client configuration pointing here with the sandbox's token.
    pub fn config(&self) -> EmfluenceConfig {
        EmfluenceConfig {
            base_url: self.url(),
            token: SecretString::from(SANDBOX_TOKEN),
        }
    }

    pub fn groups(&self) -> Vec<SandboxGroup> {
        self.state.lock().groups.values().cloned().collect()
    }

    pub fn group(&self, id: i64) -> Option<SandboxGroup> {
        self.state.lock().groups.get(&id).cloned()
    }

    pub fn contacts(&self) -> Vec<SandboxContact> {
        self.state.lock().contacts.values().cloned().collect()
    }

    /// Adds a group as if made in the emfluence UI (which can make Dynamic ones).
    pub fn add_group(&self, name: &str, external_id: &str, kind: GroupKind) -> i64 {
        let mut world = self.state.lock();
        let id = world.new_group(name);
        if let Some(g) = world.groups.get_mut(&id) {
            g.external_id = external_id.to_owned();
            g.kind = kind;
        }
        id
    }

    /// Renames a group and sets its status (`Active`, `Archived`), as an edit in the
    /// emfluence UI would.
    pub fn edit_group(&self, id: i64, name: &str, status: &str) {
        let mut world = self.state.lock();
        // Through `put_group`, so the name index follows the rename: the old name is
        // free again and the new one taken, as the UI's uniqueness check would have it.
        if let Some(mut g) = world.groups.get(&id).cloned() {
            g.name = name.to_owned();
            g.status = status.to_owned();
            world.put_group(g);
        }
    }

    /// Replaces a group's description, as an edit in the emfluence UI would.
    pub fn set_description(&self, id: i64, description: &str) {
        if let Some(g) = self.state.lock().groups.get_mut(&id) {
            g.description = description.to_owned();
        }
    }

    /// Turns a group Static or Dynamic, as an edit in the emfluence UI would.
    pub fn set_kind(&self, id: i64, kind: GroupKind) {
        if let Some(g) = self.state.lock().groups.get_mut(&id) {
            g.kind = kind;
        }
    }

    /// The emails of a group's members, sorted: membership state for tests.
    pub fn member_emails(&self, id: i64) -> Vec<String> {
        let world = self.state.lock();
        let mut emails: Vec<String> = world
            .groups
            .get(&id)
            .map(|g| {
                g.members
                    .iter()
                    .filter_map(|c| world.contacts.get(c).map(|c| c.email.clone()))
                    .collect()
            })
            .unwrap_or_default();
        emails.sort();
        emails
    }

    /// Puts contacts into a group, as an import in the emfluence UI would.
    pub fn add_members(&self, id: i64, contacts: &[i64]) {
        if let Some(g) = self.state.lock().groups.get_mut(&id) {
            g.members.extend(contacts.iter().copied());
        }
    }

    /// Adds a contact as if imported by hand; returns its id.
    pub fn add_contact(&self, email: &str, first: &str, last: &str) -> i64 {
        self.state.lock().new_contact(email, first, last)
    }

    pub fn set_protected(&self, id: i64, protected: bool) {
        if let Some(g) = self.state.lock().groups.get_mut(&id) {
            g.protected = protected;
        }
    }

    /// Adds `n` contacts (`bulkN@example.com`); returns their ids.
    pub fn add_contacts(&self, n: usize) -> Vec<i64> {
        let mut world = self.state.lock();
        (0..n)
            .map(|i| world.new_contact(&format!("bulk{i}@example.com"), "", ""))
            .collect()
    }

    /// Changes the token the sandbox accepts (a revoked token).
    pub fn set_token(&self, token: &str) {
        self.state.lock().token = token.to_owned();
    }
}

const DEMO_PEOPLE: [(&str, &str); 30] = [
    ("Ada", "Lovelace"),
    ("Alan", "Turing"),
    ("Grace", "Hopper"),
    ("Edsger", "Dijkstra"),
    ("Barbara", "Liskov"),
    ("Donald", "Knuth"),
    ("Frances", "Allen"),
    ("Ken", "Thompson"),
    ("Margaret", "Hamilton"),
    ("Dennis", "Ritchie"),
    ("Radia", "Perlman"),
    ("John", "McCarthy"),
    ("Katherine", "Johnson"),
    ("Tony", "Hoare"),
    ("Shafi", "Goldwasser"),
    ("Niklaus", "Wirth"),
    ("Adele", "Goldberg"),
    ("Leslie", "Lamport"),
    ("Anita", "Borg"),
    ("Robin", "Milner"),
    ("Sophie", "Wilson"),
    ("Butler", "Lampson"),
    ("Mary", "Kenneth Keller"),
    ("Alonzo", "Church"),
    ("Hedy", "Lamarr"),
    ("Claude", "Shannon"),
    ("Karen", "Sparck Jones"),
    ("Vint", "Cerf"),
    ("Jean", "Sammet"),
    ("Bjarne", "Stroustrup"),
];

fn seed_demo(world: &mut World) {
    let contacts: Vec<i64> = DEMO_PEOPLE
        .iter()
        .map(|(first, last)| {
            let email = format!(
                "{}.{}@example.com",
                first.to_lowercase(),
                last.to_lowercase().replace(' ', "-")
            );
            world.new_contact(&email, first, last)
        })
        .collect();
    let groups = [
        (
            "Newsletter",
            "Monthly product newsletter",
            true,
            GroupKind::Static,
            0..20,
        ),
        (
            "Customers",
            "Paying customers",
            false,
            GroupKind::Static,
            0..12,
        ),
        (
            "Customers EMEA",
            "Customers in Europe, Middle East, Africa",
            false,
            GroupKind::Static,
            4..9,
        ),
        (
            "Webinar Attendees",
            "Registered for a webinar",
            false,
            GroupKind::Static,
            15..30,
        ),
        (
            "Engaged (last 90 days)",
            "Opened or clicked in the last 90 days",
            false,
            GroupKind::Dynamic,
            0..10,
        ),
    ];
    for (name, description, protected, kind, members) in groups {
        let id = world.new_group(name);
        if let Some(g) = world.groups.get_mut(&id) {
            g.description = description.to_owned();
            g.protected = protected;
            g.kind = kind;
            g.members = contacts[members].iter().copied().collect();
        }
    }
}

fn seed_contacts(world: &mut World, n: usize) {
    for (first, last) in DEMO_PEOPLE.iter().take(n) {
        let email = format!("{}@example.com", first.to_lowercase());
        world.new_contact(&email, first, last);
    }
}

/// `YYYY-MM-DD HH:MM:SS`, no zone (§2; GMT by the vendor lib's hint for schedules).
fn blank_group(id: i64, name: &str) -> SandboxGroup {
    SandboxGroup {
        id,
        name: name.to_owned(),
        friendly_name: name.to_owned(),
        description: String::new(),
        status: "Active".to_owned(),
        kind: GroupKind::Static,
        protected: false,
        private: true,
        notes: String::new(),
        external_id: String::new(),
        date_added: now(),
        date_modified: String::new(),
        members: BTreeSet::new(),
    }
}

fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

impl World {
    fn new_group(&mut self, name: &str) -> i64 {
        self.next_group += 1;
        let id = self.next_group;
        self.put_group(blank_group(id, name));
        id
    }

    /// Stores `group` (new, or replacing the one with its id) and indexes its name.
    fn put_group(&mut self, group: SandboxGroup) {
        if let Some(old) = self.groups.get(&group.id) {
            let old = fold(&old.name);
            if self.names.get(&old) == Some(&group.id) {
                self.names.remove(&old);
            }
        }
        self.names.insert(fold(&group.name), group.id);
        self.groups.insert(group.id, group);
    }

    fn new_contact(&mut self, email: &str, first: &str, last: &str) -> i64 {
        self.next_contact += 1;
        let id = self.next_contact;
        self.contacts.insert(
            id,
            SandboxContact {
                id,
                email: email.to_owned(),
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                date_added: now(),
            },
        );
        id
    }

    /// Names are unique among ALL groups, archived ones included (§3.1). Choice: the
    /// comparison ignores case, as a database collation typically would.
    fn name_taken(&self, name: &str, except: Option<i64>) -> bool {
        self.names
            .get(&fold(name))
            .is_some_and(|id| Some(*id) != except)
    }
}

/// A group name as uniqueness compares it: trimmed, ASCII case ignored.
fn fold(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

/// A `success: 0` answer (HTTP 200, §2).
struct Failure {
    code: i64,
    errors: Vec<String>,
}

fn fail(code: i64, message: impl Into<String>) -> Failure {
    Failure {
        code,
        errors: vec![message.into()],
    }
}

type Outcome = Result<Json, Failure>;

/// Error codes: the real table is unknown (§2, §9.2). Choice: HTTP-like numbers;
/// 301 is documented for a contact email conflict.
const BAD_REQUEST: i64 = 400;
const NOT_FOUND: i64 = 404;
const NOT_POST: i64 = 405;
const EMAIL_TAKEN: i64 = 301;

async fn handle(
    State(shared): State<Shared>,
    Path((resource, method)): Path<(String, String)>,
    verb: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> JsonReply<Json> {
    let mut world = shared.lock();
    world.next_request += 1;
    let request_id = format!("sandbox-req-{:06}", world.next_request);
    let outcome = authorize(&world, &headers)
        .and_then(|()| params(&verb, &headers, query.as_deref(), &body))
        .and_then(|p| route(&mut world, &verb, &resource, &method, &p));
    JsonReply(match outcome {
        Ok(data) => json!({"success": 1, "code": 0, "data": data, "requestID": request_id}),
        Err(f) => {
            json!({"success": 0, "code": f.code, "errors": f.errors, "data": {}, "requestID": request_id})
        }
    })
}

/// The token must come in `Authorization: Bearer` (§1); the deprecated body/query
/// `accessToken` is not accepted here (choice: the docs say "must", §1).
fn authorize(world: &World, headers: &HeaderMap) -> Result<(), Failure> {
    let refused = |why: &str| fail(AUTH_ERROR_CODE, why);
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| refused("An access token is required in the Authorization header."))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| refused("The Authorization header must be \"Bearer <accessToken>\"."))?;
    if token.trim() != world.token {
        return Err(refused("Invalid access token."));
    }
    Ok(())
}

/// Body parameters (JSON, `Content-Type: application/json`, §1) overlaid by URL
/// parameters, which take precedence (§1).
fn params(
    verb: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Map<String, Json>, Failure> {
    let mut params = Map::new();
    if !body.is_empty() {
        let json_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if *verb == Method::POST && !json_type {
            return Err(fail(
                BAD_REQUEST,
                "POST bodies must be JSON (Content-Type: application/json).",
            ));
        }
        match serde_json::from_slice::<Json>(body) {
            Ok(Json::Object(o)) => params = o,
            _ => return Err(fail(BAD_REQUEST, "The request body is not a JSON object.")),
        }
    }
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        params.insert(k.into_owned(), Json::String(v.into_owned()));
    }
    Ok(params)
}

fn route(
    world: &mut World,
    verb: &Method,
    resource: &str,
    method: &str,
    p: &Map<String, Json>,
) -> Outcome {
    let reads = matches!(
        (resource, method),
        ("helper", "ping") | ("groups", "lookup" | "search") | ("contacts", "search")
    );
    // "Any request that modifies data must be POST" (§1).
    if *verb != Method::POST && !(reads && *verb == Method::GET) {
        return Err(fail(
            NOT_POST,
            format!("{resource}/{method} must be called with POST."),
        ));
    }
    match (resource, method) {
        ("helper", "ping") => Ok(json!({"pong": 1})),
        ("groups", "save") => groups_save(world, p),
        ("groups", "lookup") => groups_lookup(world, p),
        ("groups", "search") => groups_search(world, p),
        ("groups", "addContacts") => membership(world, p, true),
        ("groups", "removeContacts") => membership(world, p, false),
        ("contacts", "save") => contacts_save(world, p),
        ("contacts", "search") => contacts_search(world, p),
        _ => Err(fail(
            NOT_FOUND,
            format!("Unknown method {resource}/{method}."),
        )),
    }
}

mod calls;
mod params;

use calls::*;

#[cfg(test)]
mod tests;
