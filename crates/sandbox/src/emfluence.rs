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
use std::collections::{BTreeMap, BTreeSet};
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
        self.groups.insert(id, blank_group(id, name));
        id
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
        self.groups
            .values()
            .any(|g| Some(g.id) != except && g.name.trim().eq_ignore_ascii_case(name.trim()))
    }
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

// ---- parameter readers (loose, like the real data) ----

fn int(p: &Map<String, Json>, key: &str) -> Result<Option<i64>, Failure> {
    match p.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(v) if v.as_str().is_some_and(|s| s.trim().is_empty()) => Ok(None),
        Some(v) => loose_int(v)
            .map(Some)
            .ok_or_else(|| fail(BAD_REQUEST, format!("{key} must be an integer."))),
    }
}

fn flag(p: &Map<String, Json>, key: &str) -> Result<Option<bool>, Failure> {
    match p.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => loose_bool(v)
            .map(Some)
            .ok_or_else(|| fail(BAD_REQUEST, format!("{key} must be 0 or 1."))),
    }
}

fn text(p: &Map<String, Json>, key: &str) -> Result<Option<String>, Failure> {
    match p.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(Json::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(fail(BAD_REQUEST, format!("{key} must be a string."))),
    }
}

/// An int array; from a URL it arrives as `1,2,3` (choice). The console's `""` is empty.
fn ints(p: &Map<String, Json>, key: &str) -> Result<Option<Vec<i64>>, Failure> {
    let bad = || fail(BAD_REQUEST, format!("{key} must be an array of integers."));
    match p.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Array(items)) => items
            .iter()
            .map(|v| loose_int(v).ok_or_else(bad))
            .collect::<Result<_, _>>()
            .map(Some),
        Some(Json::String(s)) if s.trim().is_empty() => Ok(Some(Vec::new())),
        Some(Json::String(s)) => s
            .split(',')
            .map(|x| x.trim().parse().map_err(|_| bad()))
            .collect::<Result<_, _>>()
            .map(Some),
        Some(v) => loose_int(v).map(|n| Some(vec![n])).ok_or_else(bad),
    }
}

/// `page` (default 1, min 1) and `rpp` (default 20, 1..=250, §3.3).
fn page_and_rpp(p: &Map<String, Json>) -> Result<(i64, i64), Failure> {
    let page = int(p, "page")?.unwrap_or(1);
    let rpp = int(p, "rpp")?.unwrap_or(20);
    if page < 1 {
        return Err(fail(BAD_REQUEST, "page must be at least 1."));
    }
    if !(1..=250).contains(&rpp) {
        return Err(fail(BAD_REQUEST, "rpp must be between 1 and 250."));
    }
    Ok((page, rpp))
}

/// One page of `items` with the documented paging block (§6: `next`/`prev` are strings,
/// `""` when none; choice: the page number as their non-empty content).
fn paged(items: Vec<Json>, page: i64, rpp: i64) -> Json {
    let total = items.len() as i64;
    let records: Vec<Json> = items
        .into_iter()
        .skip(((page - 1) * rpp) as usize)
        .take(rpp as usize)
        .collect();
    page_of(records, total, page, rpp)
}

/// The answer for one page already cut out of `total` records.
fn page_of(records: Vec<Json>, total: i64, page: i64, rpp: i64) -> Json {
    let total_pages = (total + rpp - 1) / rpp;
    let paging = Paging {
        next: if page < total_pages {
            (page + 1).to_string()
        } else {
            String::new()
        },
        page,
        rpp,
        total_pages,
        total_records: total,
        prev: if page > 1 {
            (page - 1).to_string()
        } else {
            String::new()
        },
    };
    json!({"paging": paging, "records": records})
}

// ---- groups ----

fn kind_name(kind: GroupKind) -> &'static str {
    match kind {
        GroupKind::Static => "Static",
        GroupKind::Dynamic => "Dynamic",
    }
}

/// The full group object (§4), loosely typed like the real data.
fn full_group(g: &SandboxGroup) -> Json {
    let members = g.members.len();
    json!({
        "groupID": g.id,
        "groupName": g.name,
        "friendlyName": g.friendly_name,
        "description": g.description,
        "status": g.status,
        "type": kind_name(g.kind),
        "protected": u8::from(g.protected),
        "private": u8::from(g.private),
        "sendTests": 0,
        "userID": "",
        "userIDs": [],
        "notes": g.notes,
        "externalID": g.external_id,
        "autoResponseEmailID": "",
        "totalMembers": members,
        "activeMembers": members,
        "dateAdded": g.date_added,
        "dateModified": g.date_modified,
        "dateLastEmailSent": "",
    })
}

/// A search record: not a complete group (§3.3); choice: without `externalID`,
/// `protected`, `notes`, `userIDs`, `sendTests` (the inferred omission).
fn search_record(g: &SandboxGroup) -> Json {
    let mut record = full_group(g);
    if let Json::Object(o) = &mut record {
        for key in ["externalID", "protected", "notes", "userIDs", "sendTests"] {
            o.remove(key);
        }
    }
    record
}

fn groups_save(world: &mut World, p: &Map<String, Json>) -> Outcome {
    if text(p, "type")?.is_some_and(|t| t.eq_ignore_ascii_case("dynamic")) {
        return Err(fail(
            BAD_REQUEST,
            "Dynamic groups cannot be created through the API.",
        ));
    }
    if text(p, "status")?.is_some_and(|s| s != "Active" && s != "Archived") {
        return Err(fail(
            BAD_REQUEST,
            "status must be one of: Active, Archived.",
        ));
    }
    // Choice (§3.1 unknown): groupID 0 or "" means "none", as the console defaults hint.
    let given = int(p, "groupID")?.filter(|id| *id != 0);
    let name = text(p, "groupName")?;
    if given.is_none() && name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(fail(
            BAD_REQUEST,
            "groupName is required to create a group.",
        ));
    }
    if let Some(name) = &name {
        if name.trim().is_empty() {
            return Err(fail(BAD_REQUEST, "groupName cannot be empty."));
        }
        if world.name_taken(name, given) {
            return Err(fail(
                BAD_REQUEST,
                format!("Group name \"{name}\" already exists."),
            ));
        }
    }
    // Every check passes before anything is stored: a refused create leaves no group.
    let mut group = match given {
        Some(id) => world
            .groups
            .get(&id)
            .cloned()
            .ok_or_else(|| fail(NOT_FOUND, format!("Group {id} not found.")))?,
        None => blank_group(world.next_group + 1, name.as_deref().unwrap_or_default()),
    };
    let created = given.is_none();
    // Choice (§3.1 unknown): a partial update — only the parameters passed change.
    // The client never relies on it: it sends the full group.
    if let Some(name) = name {
        if group.friendly_name == group.name && !p.contains_key("friendlyName") {
            group.friendly_name.clone_from(&name);
        }
        group.name = name;
    }
    let set = |field: &mut String, key: &str| -> Result<(), Failure> {
        if let Some(v) = text(p, key)? {
            *field = v;
        }
        Ok(())
    };
    set(&mut group.friendly_name, "friendlyName")?;
    set(&mut group.description, "description")?;
    set(&mut group.status, "status")?;
    set(&mut group.notes, "notes")?;
    set(&mut group.external_id, "externalID")?;
    if let Some(v) = flag(p, "private")? {
        group.private = v;
    }
    if let Some(v) = flag(p, "protected")? {
        group.protected = v;
    }
    // "Protected groups cannot be archived" (§3.4); unprotecting in the same call is
    // allowed (inferred).
    if group.protected
        && group.status == "Archived"
        && world
            .groups
            .get(&group.id)
            .is_none_or(|g| g.status != "Archived")
    {
        return Err(fail(BAD_REQUEST, "Protected groups cannot be archived."));
    }
    if created {
        world.next_group = group.id;
    } else {
        group.date_modified = now();
    }
    let answer = full_group(&group);
    world.groups.insert(group.id, group);
    Ok(answer)
}

fn groups_lookup(world: &World, p: &Map<String, Json>) -> Outcome {
    if let Some(ids) = ints(p, "groupIDs")? {
        if ids.len() > 25 {
            return Err(fail(BAD_REQUEST, "groupIDs accepts at most 25 ids."));
        }
        // Choice (§3.2 unknown): unknown ids are left out of the array.
        let found = ids
            .iter()
            .filter_map(|id| world.groups.get(id))
            .map(full_group);
        return Ok(Json::Array(found.collect()));
    }
    let id =
        int(p, "groupID")?.ok_or_else(|| fail(BAD_REQUEST, "groupID or groupIDs is required."))?;
    // Choice (§3.2 unknown): an unknown id is success 0, "not found".
    world
        .groups
        .get(&id)
        .map(full_group)
        .ok_or_else(|| fail(NOT_FOUND, format!("Group {id} not found.")))
}

fn groups_search(world: &World, p: &Map<String, Json>) -> Outcome {
    let (page, rpp) = page_and_rpp(p)?;
    let name = text(p, "groupName")?.unwrap_or_default().to_lowercase();
    let status = text(p, "status")?.unwrap_or_else(|| "Active".to_owned());
    let kind = text(p, "type")?.unwrap_or_else(|| "All".to_owned());
    let ids = ints(p, "groupIDs")?.filter(|ids| !ids.is_empty());
    if !["Active", "Archived", "All"].contains(&status.as_str()) {
        return Err(fail(
            BAD_REQUEST,
            "status must be one of: Active, Archived, All.",
        ));
    }
    if !["Static", "Dynamic", "All"].contains(&kind.as_str()) {
        return Err(fail(
            BAD_REQUEST,
            "type must be one of: Static, Dynamic, All.",
        ));
    }
    let mut found: Vec<&SandboxGroup> = world
        .groups
        .values()
        .filter(|g| g.name.to_lowercase().contains(&name))
        .filter(|g| status == "All" || g.status == status)
        .filter(|g| kind == "All" || kind_name(g.kind) == kind)
        .filter(|g| ids.as_ref().is_none_or(|ids| ids.contains(&g.id)))
        .collect();
    sort_groups(&mut found, p)?;
    Ok(paged(
        found.into_iter().map(search_record).collect(),
        page,
        rpp,
    ))
}

fn sort_groups(found: &mut [&SandboxGroup], p: &Map<String, Json>) -> Result<(), Failure> {
    let field = text(p, "sortField")?.unwrap_or_else(|| "groupName".to_owned());
    match field.as_str() {
        "groupID" => found.sort_by_key(|g| g.id),
        "groupName" => found.sort_by_key(|g| (g.name.to_lowercase(), g.id)),
        "dateAdded" => found.sort_by_key(|g| (g.date_added.clone(), g.id)),
        "dateModified" => found.sort_by_key(|g| (g.date_modified.clone(), g.id)),
        "totalMembers" | "activeMembers" => found.sort_by_key(|g| (g.members.len(), g.id)),
        "dateLastEmailSent" => found.sort_by_key(|g| g.id),
        other => {
            return Err(fail(
                BAD_REQUEST,
                format!("sortField {other:?} is not allowed."),
            ));
        }
    }
    match text(p, "sortDirection")?.as_deref() {
        None | Some("asc") => Ok(()),
        Some("desc") => {
            found.reverse();
            Ok(())
        }
        Some(other) => Err(fail(
            BAD_REQUEST,
            format!("sortDirection {other:?} is not asc or desc."),
        )),
    }
}

// ---- membership ----

fn membership(world: &mut World, p: &Map<String, Json>, add: bool) -> Outcome {
    let id = int(p, "groupID")?.ok_or_else(|| fail(BAD_REQUEST, "groupID is required."))?;
    let ids = ints(p, "contactIDs")?.unwrap_or_default();
    if ids.is_empty() {
        return Err(fail(BAD_REQUEST, "contactIDs is required."));
    }
    if ids.len() > 1000 {
        return Err(fail(BAD_REQUEST, "contactIDs accepts at most 1000 ids."));
    }
    let World {
        groups, contacts, ..
    } = world;
    let group = groups
        .get_mut(&id)
        .ok_or_else(|| fail(NOT_FOUND, format!("Group {id} not found.")))?;
    if group.kind == GroupKind::Dynamic {
        return Err(fail(
            BAD_REQUEST,
            "Contacts cannot be added to or removed from a dynamic group.",
        ));
    }
    let rows: Vec<ContactResult> = ids
        .iter()
        .map(|contact| {
            if !contacts.contains_key(contact) {
                return ContactResult {
                    contact_id: *contact,
                    success: false,
                    errors: vec!["Contact not found.".to_owned()],
                };
            }
            if add {
                group.members.insert(*contact);
            } else {
                group.members.remove(contact);
            }
            ContactResult {
                contact_id: *contact,
                success: true,
                errors: Vec::new(),
            }
        })
        .collect();
    let ok = rows.iter().filter(|r| r.success).count();
    Ok(json!({"totalSuccess": ok, "totalErrors": rows.len() - ok, "contactResults": rows}))
}

// ---- contacts ----

fn contact_object(world: &World, c: &SandboxContact) -> Json {
    let groups: Vec<i64> = world
        .groups
        .values()
        .filter(|g| g.members.contains(&c.id))
        .map(|g| g.id)
        .collect();
    json!({
        "contactID": c.id,
        "email": c.email,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "userID": "",
        "held": false,
        "suppressed": 0,
        "groupIDs": groups,
        "dateAdded": c.date_added,
        "dateModified": "",
    })
}

/// By `contactID` or `email` (§3.5, §5): only passed parameters are saved; a new email
/// creates the contact; an email owned by another record is code 301 (§2).
fn contacts_save(world: &mut World, p: &Map<String, Json>) -> Outcome {
    let email = text(p, "email")?
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty());
    let owner = |world: &World, email: &str| {
        world
            .contacts
            .values()
            .find(|c| c.email.eq_ignore_ascii_case(email))
            .map(|c| c.id)
    };
    let id = match (int(p, "contactID")?.filter(|id| *id != 0), &email) {
        (Some(id), _) if !world.contacts.contains_key(&id) => {
            return Err(fail(NOT_FOUND, format!("Contact {id} not found.")));
        }
        (Some(id), Some(email)) => {
            if owner(world, email).is_some_and(|o| o != id) {
                return Err(fail(
                    EMAIL_TAKEN,
                    format!("Email \"{email}\" belongs to another record."),
                ));
            }
            id
        }
        (Some(id), None) => id,
        (None, Some(email)) => match owner(world, email) {
            Some(id) => id,
            None => world.new_contact(email, "", ""),
        },
        (None, None) => return Err(fail(BAD_REQUEST, "contactID or email is required.")),
    };
    let add = ints(p, "groupIDs")?.unwrap_or_default();
    let remove = ints(p, "removeGroupIDs")?.unwrap_or_default();
    for gid in add.iter().chain(&remove) {
        match world.groups.get(gid) {
            None => return Err(fail(NOT_FOUND, format!("Group {gid} not found."))),
            Some(g) if g.kind == GroupKind::Dynamic => {
                return Err(fail(
                    BAD_REQUEST,
                    format!("Group {gid} is dynamic; its contacts cannot be changed."),
                ));
            }
            Some(_) => {}
        }
    }
    let (first, last) = (text(p, "firstName")?, text(p, "lastName")?);
    if let Some(c) = world.contacts.get_mut(&id) {
        if let Some(email) = email {
            c.email = email;
        }
        if let Some(first) = first {
            c.first_name = first;
        }
        if let Some(last) = last {
            c.last_name = last;
        }
    }
    for gid in &add {
        if let Some(g) = world.groups.get_mut(gid) {
            g.members.insert(id);
        }
    }
    for gid in &remove {
        if let Some(g) = world.groups.get_mut(gid) {
            g.members.remove(&id);
        }
    }
    let contact = world
        .contacts
        .get(&id)
        .ok_or_else(|| fail(NOT_FOUND, "Contact vanished."))?;
    Ok(contact_object(world, contact))
}

fn contacts_search(world: &World, p: &Map<String, Json>) -> Outcome {
    let (page, rpp) = page_and_rpp(p)?;
    let fields: Option<Vec<String>> = text(p, "fields")?
        .filter(|f| !f.trim().is_empty())
        .map(|f| f.split(',').map(|x| x.trim().to_owned()).collect());
    // Only the asked page is built: a 100 000-member group is read in 400 pages.
    let (skip, take) = (((page - 1) * rpp) as usize, rpp as usize);
    let (total, contacts): (usize, Vec<&SandboxContact>) = match int(p, "groupID")? {
        Some(gid) => {
            let group = world
                .groups
                .get(&gid)
                .ok_or_else(|| fail(NOT_FOUND, format!("Group {gid} not found.")))?;
            let members = group
                .members
                .iter()
                .skip(skip)
                .take(take)
                .filter_map(|id| world.contacts.get(id))
                .collect();
            (group.members.len(), members)
        }
        None => (
            world.contacts.len(),
            world.contacts.values().skip(skip).take(take).collect(),
        ),
    };
    let records = contacts
        .into_iter()
        .map(|c| {
            let mut record = contact_object(world, c);
            if let (Some(fields), Json::Object(o)) = (&fields, &mut record) {
                o.retain(|k, _| k == "contactID" || fields.contains(k));
            }
            record
        })
        .collect();
    Ok(page_of(records, total as i64, page, rpp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_records_read_back_as_wire_contacts() {
        let mut world = World::default();
        seed_contacts(&mut world, 2);
        let c = world.contacts.values().next().cloned().unwrap();
        let read =
            sgsync_emfluence::wire::read_contact(&contact_object(&world, &c), "data").unwrap();
        assert_eq!(
            read,
            sgsync_emfluence::wire::Contact {
                contact_id: c.id,
                email: c.email
            }
        );
    }
}
