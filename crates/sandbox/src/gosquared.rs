//! A stateful imitation of the GoSquared People API v1 on 127.0.0.1, for the demo and the
//! contract tests (`../shared/providers/gosquared.md`; docs page copy in seed
//! `000_03dd6fd6c40f756c.txt`).
//!
//! What it does, and where the docs are silent, which reading it picks:
//! - Every call needs `api_key` and `site_token` in the query string (§1);
//!   `/auth/v1/tokeninfo` checks the key alone (it describes a key, §1 [3p]). A wrong or
//!   missing credential answers `{"code":4001,…}` (§7) with HTTP 401: the status per code
//!   is not tabulated anywhere (§7 [unknown]), 401 is our choice.
//! - `GET smartgroups` answers `{"list", "cardinality"}` (§3); `GET smartgroups/{id}` a
//!   bare group (the docs say "a single Smart Group", §3), an unknown id 404 + 4004.
//! - `POST smartgroups` takes `{name, filters, prefs?}` (seed: "POST Body"); a missing one
//!   is 4000 "omitted parameter", a wrong type 4003 "invalid parameter" (§7). The id is
//!   the slug of the name, with `-1`, `-2`, … on a collision (§3 `recently-created-1`,
//!   §4 [inferred]); duplicate names are allowed (§4 [inferred]). The answer is 200 with
//!   the created group (§4: Composio's reading; the real one is [unknown]).
//! - No update or delete exists (§2): other methods on a group answer 405.
//! - Members (`smartgroups/{id}/people`) and search (`people?filters=`) select people with
//!   the crate's own reading of the filters (`dialect::decode` + `model::evaluate`) at the
//!   current time; a node we cannot read selects nobody. `limit=offset,count` with
//!   count ≤ 250 (§6), `fields` and `sort` (default `last.seen:desc`) are honoured; rows
//!   come under `list`, with the total as `cardinality` (§6 [inferred]).
//! - Every answer carries `X-RateLimit-Limit: 750`, `X-RateLimit-Remaining`,
//!   `X-RateLimit-Full` and `X-RateLimit-Cost: 1` from a bucket of 750 units that starts
//!   full and is replenished continuously (empty → 375 after 30 s); a call that costs
//!   more than remains is answered 429 + `Retry-After` + 4002 (§7; every call costs 1
//!   here, real costs are unpublished).

use crate::{Running, Seed, Snapshot, serve, with_faults};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value as Json, json};
use sgsync_gosquared::client::GoSquaredConfig;
use sgsync_gosquared::dialect;
use sgsync_gosquared::wire::{self, ErrorBody, SmartGroup as WireGroup};
use sgsync_model::mapping::Maps;
use sgsync_model::{Millis, Profile, Rule, evaluate};
use sgsync_provider::pacing::Shape;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// The sandbox's API key: distinctive, so a leak into a log or error is easy to find.
pub const API_KEY: &str = "gsq-SANDBOX-apikey-7Yq3Zt";
/// The sandbox's project token (real ones look like `GSN-106863-S`, §1).
pub const SITE_TOKEN: &str = "GSN-SANDBOX-58213-Q";
/// The documented budget, units per minute (§7).
pub const RATE_LIMIT: usize = 750;
/// The largest `count` in `limit=offset,count` (§6).
pub const MAX_PAGE: usize = 250;

const FIXTURE: &str = include_str!("../../../tests/fixtures/gosquared/smartgroups_2016.json");
const DAY_MS: i64 = 86_400_000;

/// A group as stored: what decides membership, plus what only the dashboard uses.
#[derive(Debug, Clone)]
struct StoredGroup {
    group: WireGroup,
    id: String,
    prefs: Json,
    links: Json,
}

impl StoredGroup {
    fn to_json(&self) -> Json {
        json!({
            "id": self.id,
            "name": self.group.name,
            "filters": self.group.filters,
            "prefs": self.prefs,
            "_links": self.links,
        })
    }
}

/// One person: the JSON profile the API returns (§6), and the event times the profile
/// summarises (GoSquared returns only `events.last`, but event filters need each event).
#[derive(Debug, Clone)]
struct StoredPerson {
    properties: Map<String, Json>,
    events: BTreeMap<String, Vec<Millis>>,
}

/// What [`Snapshot`] saves and restores.
#[derive(Debug, Clone, Default)]
struct Data {
    groups: Vec<StoredGroup>,
    people: Vec<StoredPerson>,
    /// Bumped by every change to `people`, so a cached selection knows it is stale
    /// (a restore after `LoseWrite` brings the old number back with the old people).
    people_version: u64,
}

/// The last selection a people list computed: who matches which filters, in which
/// order. A 100 000-person group is read in 400 pages; evaluating every person for
/// every page would make the sandbox, not sgsync, the bottleneck of the benchmark.
#[derive(Debug, Clone, PartialEq)]
struct Selection {
    people_version: u64,
    filters: String,
    sort: String,
    /// Relative-date rules change with time: a selection is reused for 10 s at most.
    time_bucket: Millis,
    indices: Arc<Vec<usize>>,
}

#[derive(Debug, Clone)]
struct Credentials {
    api_key: String,
    site_token: String,
}

#[derive(Clone)]
struct Shared {
    data: Arc<Mutex<Data>>,
    credentials: Arc<Mutex<Credentials>>,
    /// When each request of the last minute arrived (rate-limit headers).
    meter: Arc<Mutex<crate::Bucket>>,
    /// The sandbox's own URL, for `_links`; known once it listens.
    base: Arc<OnceLock<String>>,
    maps: Arc<Maps>,
    /// Answers tests ask for, given before any check (see [`Sandbox::answer_next`]).
    canned: Arc<Mutex<VecDeque<Canned>>>,
    selection: Arc<Mutex<Option<Selection>>>,
}

/// A scripted answer: status, JSON body, optional `Retry-After` seconds.
#[derive(Debug, Clone)]
struct Canned {
    status: StatusCode,
    body: Json,
    retry_after: Option<u64>,
}

/// A handler that panicked must not wedge the sandbox.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Snapshot for Shared {
    type Saved = Data;
    fn save(&self) -> Data {
        lock(&self.data).clone()
    }
    fn restore(&self, saved: Data) {
        *lock(&self.data) = saved;
    }
}

/// A running GoSquared sandbox.
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
        let data = match seed {
            Seed::Empty => Data::default(),
            Seed::Demo => Data {
                groups: demo_groups()?,
                people: demo_people(now_ms()),
                people_version: 0,
            },
        };
        let state = Shared {
            data: Arc::new(Mutex::new(data)),
            credentials: Arc::new(Mutex::new(Credentials {
                api_key: API_KEY.to_owned(),
                site_token: SITE_TOKEN.to_owned(),
            })),
            meter: Arc::new(Mutex::new(crate::Bucket::full(RATE_LIMIT as u32))),
            base: Arc::default(),
            maps: Arc::default(),
            canned: Arc::default(),
            selection: Arc::default(),
        };
        let running = {
            let controls = crate::Controls::with_limit_shape(Shape::Bucket);
            let router = with_faults(router(state.clone()), controls.clone(), state.clone());
            serve(router, controls, port).await?
        };
        // Only this function sets it, once.
        let _ = state.base.set(running.url());
        Ok(Sandbox { running, state })
    }

    /// A client config pointing here, with the sandbox's credentials.
    pub fn config(&self) -> GoSquaredConfig {
        let credentials = lock(&self.state.credentials);
        GoSquaredConfig {
            base_url: self.url(),
            api_key: credentials.api_key.as_str().into(),
            site_token: credentials.site_token.as_str().into(),
        }
    }

    pub fn url(&self) -> String {
        self.running.url()
    }

    /// The `[<table>]` of a config file (e.g. `source.gosquared`) that reaches this
    /// sandbox with its credentials: demo, bench and tests write their configs with it.
    pub fn config_toml(&self, table: &str) -> String {
        format!(
            "[{table}]\nbase_url = \"{}\"\napi_key = \"{API_KEY}\"\nsite_token = \"{SITE_TOKEN}\"\n",
            self.url()
        )
    }

    /// Every group, in insertion order.
    pub fn groups(&self) -> Vec<WireGroup> {
        lock(&self.state.data)
            .groups
            .iter()
            .map(|g| g.group.clone())
            .collect()
    }

    /// Adds a group as the dashboard would (duplicate names allowed); returns its id.
    pub fn add_group(&self, name: &str, filters: Vec<Json>) -> String {
        let base = self.state.base.get().cloned().unwrap_or_default();
        let mut data = lock(&self.state.data);
        insert_group(&mut data, &base, name, filters, None)
    }

    /// Replaces a group's filters, as an edit in the dashboard would (the API itself
    /// documents no update, §2); false when no group has that id.
    pub fn set_filters(&self, id: &str, filters: Vec<Json>) -> bool {
        let mut data = lock(&self.state.data);
        match data.groups.iter_mut().find(|g| g.id == id) {
            Some(g) => {
                g.group.filters = filters;
                true
            }
            None => false,
        }
    }

    /// Removes a group, as a deletion in the dashboard would; false when absent.
    pub fn remove_group(&self, id: &str) -> bool {
        let mut data = lock(&self.state.data);
        let before = data.groups.len();
        data.groups.retain(|g| g.id != id);
        data.groups.len() < before
    }

    /// Adds a person (a §6 person object) who did no events.
    pub fn add_person(&self, person: Json) {
        self.add_person_with_events(person, BTreeMap::new());
    }

    /// Adds a person and the times (epoch ms) of each event they did.
    pub fn add_person_with_events(&self, person: Json, events: BTreeMap<String, Vec<Millis>>) {
        let properties = match person {
            Json::Object(m) => m,
            other => Map::from_iter([("value".to_owned(), other)]),
        };
        let mut data = lock(&self.state.data);
        data.people.push(StoredPerson { properties, events });
        data.people_version += 1;
    }

    /// Sets one property (a dot path, e.g. `custom.plan`) of the person whose `id` is
    /// `id`, as new tracking data would; false when no person has that id.
    pub fn set_property(&self, id: &str, path: &str, value: Json) -> bool {
        let mut data = lock(&self.state.data);
        let Some(person) = data
            .people
            .iter_mut()
            .find(|p| p.properties.get("id").and_then(Json::as_str) == Some(id))
        else {
            return false;
        };
        insert_path(&mut person.properties, path, value);
        data.people_version += 1;
        true
    }

    /// Sets one property on many people at once: `(person index in insertion order,
    /// path, value)`; for benchmarks that churn thousands of people per run.
    pub fn set_properties_at(&self, changes: &[(usize, &str, Json)]) {
        let mut data = lock(&self.state.data);
        for (i, path, value) in changes {
            if let Some(person) = data.people.get_mut(*i) {
                insert_path(&mut person.properties, path, value.clone());
            }
        }
        data.people_version += 1;
    }

    /// Every person's `email`, where they have one (in insertion order).
    pub fn emails(&self) -> Vec<String> {
        lock(&self.state.data)
            .people
            .iter()
            .filter_map(|p| p.properties.get("email").and_then(Json::as_str))
            .map(str::to_owned)
            .collect()
    }

    pub fn people_count(&self) -> usize {
        lock(&self.state.data).people.len()
    }

    /// Answers the next request with `status` and `body` (plus `Retry-After`), whatever
    /// it asks: for shapes the sandbox itself never writes, such as the older
    /// `{"success": false, "error": {…}}` envelope or function-specific codes (§7).
    pub fn answer_next(&self, status: u16, body: Json, retry_after_secs: Option<u64>) {
        lock(&self.state.canned).push_back(Canned {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
            retry_after: retry_after_secs,
        });
    }

    /// Changes the accepted credentials (a rotated or revoked key).
    pub fn set_credentials(&self, api_key: &str, site_token: &str) {
        *lock(&self.state.credentials) = Credentials {
            api_key: api_key.to_owned(),
            site_token: site_token.to_owned(),
        };
    }
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/auth/v1/tokeninfo", get(token_info))
        .route(
            "/people/v1/smartgroups",
            get(list_groups).post(create_group),
        )
        .route("/people/v1/smartgroups/{id}", get(get_group))
        .route("/people/v1/smartgroups/{id}/people", get(group_members))
        .route("/people/v1/people", get(search_people))
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

/// An error in the current envelope (§7).
fn api_error(status: StatusCode, code: i64, message: &str) -> Response {
    let text = format!("Error {code}: {message}");
    let body = ErrorBody {
        code,
        message: &text,
    };
    (status, axum::Json(body)).into_response()
}

fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Rate metering and credential checks before every handler; rate headers after.
async fn gate(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let (remaining, retry, full) = {
        let mut bucket = lock(&state.meter);
        let retry = bucket.take(SystemTime::now()).err();
        (bucket.remaining(), retry, bucket.secs_until_full())
    };
    let canned = lock(&state.canned).pop_front();
    let mut response = match (canned, retry) {
        (Some(c), _) => {
            let mut r = (c.status, axum::Json(c.body)).into_response();
            if let Some(v) = c.retry_after.map(HeaderValue::from) {
                r.headers_mut().insert("retry-after", v);
            }
            r
        }
        (None, retry) => match retry {
            Some(wait) => {
                let mut r = api_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    4002,
                    "Request rate limit exceeded",
                );
                if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                    r.headers_mut().insert("retry-after", v);
                }
                r
            }
            None if !authorised(&state, &request) => api_error(
                StatusCode::UNAUTHORIZED,
                4001,
                "Your API Key is not authorised for this endpoint",
            ),
            None => next.run(request).await,
        },
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(RATE_LIMIT));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-full", HeaderValue::from(full));
    headers.insert("x-ratelimit-cost", HeaderValue::from_static("1"));
    response
}

fn authorised(state: &Shared, request: &Request) -> bool {
    let query = request.uri().query().unwrap_or("");
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let credentials = lock(&state.credentials);
    let key_ok = params.get("api_key") == Some(&credentials.api_key);
    // The token-info call describes a key; it needs no project (§1 [3p]).
    if request.uri().path() == "/auth/v1/tokeninfo" {
        return key_ok;
    }
    key_ok && params.get("site_token") == Some(&credentials.site_token)
}

async fn token_info() -> Response {
    // People-specific scope names are [unknown] (§1); these are plausible stand-ins.
    axum::Json(json!({"scopes": ["read_people", "write_people", "read_account"]})).into_response()
}

async fn list_groups(State(state): State<Shared>) -> Response {
    let data = lock(&state.data);
    let list: Vec<Json> = data.groups.iter().map(StoredGroup::to_json).collect();
    axum::Json(json!({"list": list, "cardinality": data.groups.len()})).into_response()
}

async fn get_group(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    match lock(&state.data).groups.iter().find(|g| g.id == id) {
        Some(g) => axum::Json(g.to_json()).into_response(),
        None => unknown_group(),
    }
}

fn unknown_group() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        4004,
        "Invalid parameter value: groupID",
    )
}

async fn create_group(State(state): State<Shared>, body: Bytes) -> Response {
    let (name, filters, prefs) = match read_new_group(&body) {
        Ok(parts) => parts,
        Err(response) => return *response,
    };
    let base = state.base.get().cloned().unwrap_or_default();
    let mut data = lock(&state.data);
    let id = insert_group(&mut data, &base, &name, filters, prefs);
    match data.groups.iter().find(|g| g.id == id) {
        Some(g) => axum::Json(g.to_json()).into_response(),
        None => api_error(StatusCode::INTERNAL_SERVER_ERROR, 5000, "Internal error"),
    }
}

type NewGroupParts = (String, Vec<Json>, Option<Json>);

/// The documented POST body (seed "POST Body": `name` and `filters` required, `prefs`
/// optional), or the error answer it earns.
fn read_new_group(body: &[u8]) -> Result<NewGroupParts, Box<Response>> {
    let bad = |code, message: &str| Box::new(api_error(StatusCode::BAD_REQUEST, code, message));
    // ruby-client's array-wrapped body (§1) is refused: the docs describe an object.
    let Ok(Json::Object(obj)) = serde_json::from_slice::<Json>(body) else {
        return Err(bad(
            4003,
            "Invalid parameter: the body must be a JSON object",
        ));
    };
    let name = match obj.get("name") {
        None | Some(Json::Null) => return Err(bad(4000, "Missing required parameter: name")),
        Some(Json::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(_) => {
            return Err(bad(
                4003,
                "Invalid parameter: name must be a non-empty string",
            ));
        }
    };
    let filters = match obj.get("filters") {
        None | Some(Json::Null) => return Err(bad(4000, "Missing required parameter: filters")),
        Some(Json::Array(items)) => items.clone(),
        Some(_) => return Err(bad(4003, "Invalid parameter: filters must be an array")),
    };
    let prefs = match obj.get("prefs") {
        None | Some(Json::Null) => None,
        Some(p @ Json::Object(_)) => Some(p.clone()),
        Some(_) => return Err(bad(4003, "Invalid parameter: prefs must be an object")),
    };
    Ok((name, filters, prefs))
}

/// Stores a new group under a fresh slug id; returns the id.
fn insert_group(
    data: &mut Data,
    base: &str,
    name: &str,
    filters: Vec<Json>,
    prefs: Option<Json>,
) -> String {
    let id = unique_id(&slug(name), |c| data.groups.iter().any(|g| g.id == c));
    let href = format!("{base}/people/v1/smartgroups/{id}");
    data.groups.push(StoredGroup {
        group: WireGroup {
            id: Some(id.clone()),
            name: name.to_owned(),
            filters,
        },
        id: id.clone(),
        // The dashboard's defaults, as in the real groups (§3).
        prefs: prefs.unwrap_or_else(|| {
            json!({"sortField": "last.seen", "sortDir": "desc",
                   "fields": ["id", "email", "name", "last.seen", "totals.visits"]})
        }),
        links: json!([
            {"rel": "self", "href": href, "method": "GET"},
            {"rel": "members", "href": format!("{href}/people"), "method": "GET"},
        ]),
    });
    id
}

/// "Last Seen > 35 Days" → `last-seen-35-days` (§3): ASCII letters and digits
/// lower-cased, every other run one `-`, none at the ends. Non-ASCII letters count as
/// separators ([unknown] what GoSquared does); a name with no letter or digit becomes
/// `group`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('-');
            }
            gap = false;
            out.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    if out.is_empty() {
        "group".to_owned()
    } else {
        out
    }
}

/// `base`, or `base-1`, `base-2`, … whichever is free (§3 `recently-created-1`).
fn unique_id(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_owned();
    }
    (1u64..)
        .map(|n| format!("{base}-{n}"))
        .find(|c| !taken(c))
        .unwrap_or_else(|| base.to_owned())
}

mod people;
mod seed;

use people::*;
use seed::*;

#[cfg(test)]
mod tests;
