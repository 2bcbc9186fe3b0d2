//! The emfluence API as a [`Provider`](sgsync_provider::Provider), plus the membership calls
//! static groups need.

use crate::dialect;
use crate::wire::{
    self, AUTH_ERROR_CODE, Contact, ContactResult, ContactSave, ContactSearch, Group, GroupArchive,
    GroupKind, GroupLookup, GroupSave, GroupSearch, MembershipChange, WireError,
};
use async_trait::async_trait;
use futures_util::StreamExt;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sgsync_model::mapping::Maps;
use sgsync_model::{Directory, ProviderKind};
use sgsync_provider::http::{Body, Call, HttpClient, HttpSettings, Reply};
use sgsync_provider::members::{
    GroupKind as MemberGroupKind, MemberTarget, RowResult, TargetContact,
};
use sgsync_provider::{
    Capabilities, ErrorKind, Listed, Listing, Payload, Provider, ProviderError, RemoteGroup,
    Verified, Window,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;
use tracing::instrument;

mod members;

const PROVIDER: ProviderKind = crate::KIND;
/// The largest page `groups/search` serves (§3.3); also used for contacts (§3.6, inferred).
const PAGE_SIZE: u32 = 250;
/// `groups/search` pages read at once after the first (which says how many there are):
/// as many as a target's default `concurrency`; the limiter still paces them, so a
/// listing of 40 pages takes four round trips instead of ten.
const LISTING_PAGES_AT_ONCE: usize = 16;
/// `groups/lookup` takes at most 25 `groupIDs` (§3.2).
const LOOKUP_BATCH: usize = 25;
/// `groups/addContacts` / `groups/removeContacts` take at most 1000 ids (§3.5).
const MEMBERSHIP_BATCH: usize = 1000;

/// Where and as whom to call emfluence (`[targets.emfluence]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmfluenceConfig {
    /// API root; `https://api.emailer.emfluence.com/v1` unless testing against a sandbox
    /// (plain http is allowed on loopback only).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// A user's API access token (Edit User → Security). Sent only in the
    /// `Authorization: Bearer` header; it does not expire (§1).
    pub token: SecretString,
}

fn default_base_url() -> String {
    "https://api.emailer.emfluence.com/v1".to_owned()
}

/// The emfluence [`Provider`], plus the membership calls static groups need.
pub struct EmfluenceClient {
    http: HttpClient,
    /// `Bearer <token>`, built once and marked sensitive so no `Debug` shows it.
    authorization: HeaderValue,
    /// The groups this run will update, read 25 to a `groups/lookup` when the first of
    /// each 25 is written ([`Provider::will_update`]).
    updates: Mutex<Arc<UpdateBatches>>,
}

/// The groups a run will update, in batches of [`LOOKUP_BATCH`] in the order the
/// updates come, each batch read once, by the first update that needs it (the others
/// wait for that answer). An update whose batch could not be read (say one group of
/// the 25 was deleted by hand: the batched answer lacks it) looks its group up alone.
#[derive(Default)]
struct UpdateBatches {
    batch_of: HashMap<i64, usize>,
    batches: Vec<(Vec<i64>, OnceCell<ReadBatch>)>,
}

/// A batch's groups by id, or `None` when its lookup failed.
type ReadBatch = Option<HashMap<i64, Group>>;

impl std::fmt::Debug for EmfluenceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmfluenceClient")
            .field("provider", &self.http.provider())
            .field("authorization", &"[redacted]")
            .finish()
    }
}

impl EmfluenceClient {
    /// `maps` is accepted for symmetry with the other providers: emfluence groups hold
    /// no rule, so there are no attributes or values to map.
    pub fn new(
        config: EmfluenceConfig,
        http: HttpSettings,
        maps: Arc<Maps>,
    ) -> Result<Self, ProviderError> {
        drop(maps);
        let config_error =
            |why: &str| ProviderError::new(PROVIDER, ErrorKind::Config, "token", why.to_owned());
        let token = config.token.expose_secret().trim();
        if token.is_empty() {
            return Err(config_error("the emfluence access token is empty"));
        }
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                config_error("the access token holds characters not allowed in a header")
            })?;
        authorization.set_sensitive(true);
        Ok(EmfluenceClient {
            http: HttpClient::new(PROVIDER, &config.base_url, http)?,
            authorization,
            updates: Mutex::default(),
        })
    }

    /// The contacts of a static group (`contacts/search` by `groupID`, all pages, §3.6).
    #[instrument(skip_all, fields(group_id = %group_id))]
    pub async fn group_contacts(&self, group_id: &str) -> Result<Vec<Contact>, ProviderError> {
        let group_id = parse_id(group_id)?;
        let mut contacts = Vec::new();
        let mut page = 1;
        loop {
            let body = ContactSearch {
                group_id,
                fields: "contactID,email",
                rpp: PAGE_SIZE,
                page,
            };
            let (batch, more) = self
                .post("contacts/search", &body, true, |data| {
                    Ok((
                        wire::contacts_in(&data)?,
                        wire::has_next_page(&data, page.into())?,
                    ))
                })
                .await?;
            contacts.extend(batch);
            if !more {
                return Ok(contacts);
            }
            page += 1;
        }
    }

    /// Adds contacts to a static group, ≤ 1000 per call. The per-contact results say
    /// which rows failed (the call itself succeeds regardless, §3.5).
    #[instrument(skip_all, fields(group_id = %group_id, contacts = ids.len()))]
    pub async fn add_contacts(
        &self,
        group_id: &str,
        ids: &[i64],
    ) -> Result<Vec<ContactResult>, ProviderError> {
        self.change_membership("groups/addContacts", group_id, ids)
            .await
    }

    /// Removes contacts from a static group, ≤ 1000 per call (§3.5).
    #[instrument(skip_all, fields(group_id = %group_id, contacts = ids.len()))]
    pub async fn remove_contacts(
        &self,
        group_id: &str,
        ids: &[i64],
    ) -> Result<Vec<ContactResult>, ProviderError> {
        self.change_membership("groups/removeContacts", group_id, ids)
            .await
    }

    /// Creates or updates the contact with this email (`contacts/save`, which matches by
    /// email, §3.5/§5) and adds it to `add_group_ids`. Saving by email is an upsert, so
    /// it is safe to send twice. An email owned by another record is `Conflict` (code 301).
    #[instrument(skip_all, fields(groups = add_group_ids.len()))]
    pub async fn save_contact(
        &self,
        email: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
        add_group_ids: &[i64],
    ) -> Result<Contact, ProviderError> {
        let body = ContactSave {
            email: email.to_owned(),
            first_name: first_name.map(str::to_owned),
            last_name: last_name.map(str::to_owned),
            group_ids: add_group_ids.to_vec(),
        };
        self.post("contacts/save", &body, true, |data| {
            wire::read_contact(&data, "data")
        })
        .await
    }

    async fn change_membership(
        &self,
        path: &'static str,
        group_id: &str,
        ids: &[i64],
    ) -> Result<Vec<ContactResult>, ProviderError> {
        self.writable_group(path, group_id).await?;
        // The id asked for, which the lookup confirmed (`wire::lookup_one_in`).
        let group_id = parse_id(group_id)?;
        let mut results = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MEMBERSHIP_BATCH) {
            let body = MembershipChange {
                group_id,
                contact_ids: chunk.to_vec(),
            };
            // Adding a member twice or removing a non-member changes nothing: safe to resend.
            let rows = self
                .post(path, &body, true, |data| {
                    wire::contact_results_for(&data, chunk)
                })
                .await?;
            results.extend(rows);
        }
        Ok(results)
    }

    /// The group behind `id`, refusing a missing or Dynamic one: a dynamic group's
    /// members come from its query (§3.1, §4) and sgsync must never overwrite it.
    async fn writable_group(&self, operation: &str, id: &str) -> Result<Group, ProviderError> {
        let batched = match self.batched_lookup(id).await {
            Some(group) => Some(group),
            None => self.lookup(id).await?,
        };
        let group = batched.ok_or_else(|| {
            ProviderError::new(
                PROVIDER,
                ErrorKind::NotFound,
                operation,
                format!("group {id} does not exist"),
            )
        })?;
        if group.kind == Some(GroupKind::Dynamic) {
            return Err(ProviderError::new(
                PROVIDER,
                ErrorKind::InvalidRequest,
                operation,
                format!(
                    "refusing to write to group {id} ({:?}): it is a Dynamic group, whose members come from a query",
                    group.group_name
                ),
            ));
        }
        Ok(group)
    }

    /// The group `id` from its update batch, if `will_update` named it and its batch
    /// could be read; `None` sends the caller to a lookup of its own.
    async fn batched_lookup(&self, id: &str) -> Option<Group> {
        let asked = id.parse::<i64>().ok()?;
        let batches = self
            .updates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let (ids, cell) = batches.batches.get(*batches.batch_of.get(&asked)?)?;
        let read = cell
            .get_or_init(|| async {
                // Read leniently: a group the answer leaves out is looked up alone,
                // so one group deleted by hand costs one call, not the batch's retries.
                let body = GroupLookup::Many(ids.clone());
                let found = self
                    .post("groups/lookup", &body, true, |data| wire::lookup_found_in(&data))
                    .await;
                match found {
                    Ok(groups) => Some(
                        groups
                            .into_iter()
                            .filter_map(|g| g.group_id.map(|gid| (gid, g)))
                            .collect(),
                    ),
                    Err(e) => {
                        tracing::debug!(error = %e, "a batched lookup failed; each of its groups is looked up alone");
                        None
                    }
                }
            })
            .await;
        read.as_ref()?.get(&asked).cloned()
    }

    /// `groups/lookup {groupID}`. An unknown id is `None`: the real answer is unknown
    /// (§3.2); the sandbox says `success: 0` "not found", and an empty `data` is read
    /// the same way in case the real API answers that. An answer without `data`, or
    /// with a group lacking its `groupID`, is `Malformed` (`wire::lookup_one_in`).
    async fn lookup(&self, id: &str) -> Result<Option<Group>, ProviderError> {
        let asked = parse_id(id)?;
        let body = GroupLookup::One(asked);
        let found = self
            .post("groups/lookup", &body, true, |data| {
                wire::lookup_one_in(&data, asked)
            })
            .await;
        match found {
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            other => other,
        }
    }

    /// Full groups (with `externalID`) for these ids, ≤ 25 per call (§3.2). Every id
    /// must come back: one left out could be ours (`wire::lookup_groups_in`).
    async fn lookup_many(&self, ids: &[i64]) -> Result<Vec<Group>, ProviderError> {
        let mut groups = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(LOOKUP_BATCH) {
            let body = GroupLookup::Many(chunk.to_vec());
            let batch = self
                .post("groups/lookup", &body, true, |data| {
                    wire::lookup_groups_in(&data, chunk)
                })
                .await?;
            groups.extend(batch);
        }
        Ok(groups)
    }

    /// Every group `groups/search` returns for `name` (a substring filter) and `status`.
    async fn search(
        &self,
        name: Option<&str>,
        status: &'static str,
    ) -> Result<Vec<Group>, ProviderError> {
        Ok(self
            .search_within(name, status, u32::MAX)
            .await?
            .unwrap_or_default())
    }

    /// [`Self::search`], or `None` when the first page's `totalPages` says the answer
    /// takes more than `max_pages` pages.
    async fn search_within(
        &self,
        name: Option<&str>,
        status: &'static str,
        max_pages: u32,
    ) -> Result<Option<Vec<Group>>, ProviderError> {
        let (mut groups, mut more, pages) = self.search_page(name, status, 1).await?;
        if pages.is_some_and(|p| p > i64::from(max_pages)) {
            return Ok(None);
        }
        // The first page says how many there are: the others are read at once (a few
        // at a time; the limiter still paces them), in order. A page that says there is
        // no more ends the listing, as it would page by page.
        let mut page = 2;
        if more && let Some(last) = pages.and_then(|p| u32::try_from(p).ok()) {
            let rest: Vec<_> = futures_util::stream::iter(2..=last)
                .map(|p| self.search_page(name, status, p))
                .buffered(LISTING_PAGES_AT_ONCE)
                .collect()
                .await;
            for answer in rest {
                let (batch, more_after, _) = answer?;
                groups.extend(batch);
                page += 1;
                more = more_after;
                if !more {
                    break;
                }
            }
        }
        // More than the first page said (the account grew meanwhile): page on.
        while more {
            let (batch, more_after, _) = self.search_page(name, status, page).await?;
            groups.extend(batch);
            more = more_after;
            page += 1;
        }
        Ok(Some(groups))
    }

    /// One `groups/search` page: its groups, whether more follow, and `totalPages`.
    async fn search_page(
        &self,
        name: Option<&str>,
        status: &'static str,
        page: u32,
    ) -> Result<(Vec<Group>, bool, Option<i64>), ProviderError> {
        let body = GroupSearch {
            group_name: name.map(str::to_owned),
            status,
            rpp: PAGE_SIZE,
            page,
        };
        self.post("groups/search", &body, true, |data| {
            // `records` (and, on a page with records, `paging`) are required: a page
            // without them is not "no groups" (`wire::page_in`).
            let found = wire::page_in(&data, page.into())?;
            let batch = wire::search_groups_in(found.records)?;
            Ok((batch, found.more, found.total_pages))
        })
        .await
    }

    /// One JSON POST through the shared HTTP layer; `read` decodes the envelope's `data`,
    /// which the answer must hold (an answer without it is `Malformed`, never read as
    /// an empty one).
    async fn post<T>(
        &self,
        path: &'static str,
        body: &impl Serialize,
        idempotent: bool,
        read: impl Fn(Json) -> Result<T, WireError>,
    ) -> Result<T, ProviderError> {
        self.exchange(path, body, idempotent, |data| {
            read(wire::required_data(data)?)
        })
        .await
    }

    /// A POST whose answer only has to say `success: 1`: its `data`, if any, is not read.
    async fn post_ignoring_data(
        &self,
        path: &'static str,
        body: &impl Serialize,
        idempotent: bool,
    ) -> Result<(), ProviderError> {
        self.exchange(path, body, idempotent, |_| Ok(())).await
    }

    async fn exchange<T>(
        &self,
        path: &'static str,
        body: &impl Serialize,
        idempotent: bool,
        read: impl Fn(Option<Json>) -> Result<T, WireError>,
    ) -> Result<T, ProviderError> {
        let operation = format!("POST {path}");
        let bytes = serde_json::to_vec(body).map_err(|e| {
            ProviderError::new(
                PROVIDER,
                ErrorKind::Config,
                operation.as_str(),
                format!("cannot encode the request: {e}"),
            )
        })?;
        let call = Call {
            method: Method::POST,
            path,
            query: Vec::new(),
            headers: vec![
                (AUTHORIZATION, self.authorization.clone()),
                (ACCEPT, HeaderValue::from_static("application/json")),
            ],
            body: Some(Body::Json(bytes)),
            idempotent,
        };
        self.http
            .send(&operation, &call, |reply| {
                interpret(&operation, reply, &read)
            })
            .await
    }
}

/// What one answer means: HTTP ≠ 200 is a transport error (§2), `success: 0` an
/// application error, anything unreadable `Malformed` (worth a retry for reads).
fn interpret<T>(
    operation: &str,
    reply: Reply,
    read: &impl Fn(Option<Json>) -> Result<T, WireError>,
) -> Result<T, ProviderError> {
    if reply.status != StatusCode::OK {
        return Err(reply.status_error(PROVIDER, operation));
    }
    let malformed =
        |why: String| ProviderError::new(PROVIDER, ErrorKind::Malformed, operation, why);
    let text = reply
        .text()
        .map_err(|e| malformed(format!("answer is not UTF-8: {e}")))?;
    let data = wire::read_success(text).map_err(|e| wire_error(operation, e))?;
    read(data).map_err(|e| wire_error(operation, e))
}

fn wire_error(operation: &str, e: WireError) -> ProviderError {
    match e {
        WireError::Failed { code, errors } => {
            let kind = classify(code, &errors);
            ProviderError::new(PROVIDER, kind, operation, format!("code {code}: {errors}"))
        }
        other => ProviderError::new(PROVIDER, ErrorKind::Malformed, operation, other.to_string()),
    }
}

/// The kind of a `success: 0` answer. The code table is unknown (§2, §9.2): codes we
/// know or chose for the sandbox first, then the words of the message.
pub fn classify(code: i64, errors: &str) -> ErrorKind {
    let text = errors.to_lowercase();
    let says = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if code == AUTH_ERROR_CODE || says(&["access token", "authoriz", "authentic"]) {
        ErrorKind::Auth
    } else if says(&["permission"]) {
        ErrorKind::PermissionDenied
    } else if code == 404 || says(&["not found", "does not exist", "doesn't exist", "no such"]) {
        ErrorKind::NotFound
    } else if code == 301 || says(&["exist", "unique", "belongs to another", "duplicate"]) {
        // 301: `Email "…" belongs to another record.` (§2); "already exists" / "must be
        // unique": the duplicate-group-name wording, whose real text is unknown (§3.1).
        ErrorKind::Conflict
    } else {
        ErrorKind::InvalidRequest
    }
}

fn parse_id(id: &str) -> Result<i64, ProviderError> {
    id.trim().parse().map_err(|_| {
        ProviderError::new(
            PROVIDER,
            ErrorKind::InvalidRequest,
            "group id",
            format!("{id:?} is not an emfluence groupID (an integer)"),
        )
    })
}

fn remote(group: Group) -> Result<RemoteGroup, ProviderError> {
    let id = group.group_id.ok_or_else(|| {
        ProviderError::new(
            PROVIDER,
            ErrorKind::Malformed,
            "read group",
            format!("group {:?} came back without a groupID", group.group_name),
        )
    })?;
    Ok(RemoteGroup {
        id: id.to_string(),
        name: group.group_name.clone(),
        key: group.external_id.clone(),
        decoded: dialect::decode(&group),
    })
}

fn save_body<'a>(operation: &str, payload: &'a Payload) -> Result<&'a GroupSave, ProviderError> {
    payload.body::<GroupSave>().ok_or_else(|| {
        ProviderError::new(
            PROVIDER,
            ErrorKind::Config,
            operation,
            format!(
                "a {} payload cannot be sent to emfluence",
                payload.provider().display_name()
            ),
        )
    })
}

/// What a copy read back (`None`: no such group) shows against what was pushed.
fn compare(group: Option<&Group>, pushed: &GroupSave) -> Verified {
    match group {
        None => Verified::Missing,
        Some(g) if g.status.as_deref() == Some("Archived") => {
            Verified::Differs("archived by hand".to_owned())
        }
        Some(g) if !same_name(&g.group_name, &pushed.group_name) => {
            Verified::Differs(format!("renamed to \"{}\"", g.group_name))
        }
        Some(g) if g.description.trim() != pushed.description.trim() => {
            Verified::Differs("its description was edited".to_owned())
        }
        Some(_) => Verified::Same,
    }
}

/// Names are unique on emfluence (§3.1); the collation is unknown, so a name that
/// differs only in case is treated as the same name (the sandbox refuses it too).
fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

#[async_trait]
impl Provider for EmfluenceClient {
    fn kind(&self) -> ProviderKind {
        PROVIDER
    }

    /// The API root: emfluence groups carry no ids of another account's (its rules are
    /// descriptions in words), so the root is identity enough.
    fn account(&self) -> String {
        self.http.base().to_string()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            list: true,
            get: true,
            create: true,
            update: true,
            archive: true,
            // No groups/delete found (§3.4).
            delete: false,
            holds_rules: false,
            stores_key: true,
        }
    }

    /// `helper/ping {}` (§1), as the vendor library does.
    #[instrument(skip_all)]
    async fn check(&self) -> Result<(), ProviderError> {
        self.post_ignoring_data("helper/ping", &serde_json::json!({}), true)
            .await
    }

    /// Active groups (archived ones are hidden by default, §3.1). Search records carry
    /// no `externalID` (§3.3, inferred), so `key` is set only where a record has one;
    /// `find_by_key` reads keys back with `groups/lookup`.
    #[instrument(skip_all)]
    async fn list_groups(&self, _directory: &Directory) -> Result<Vec<RemoteGroup>, ProviderError> {
        self.search(None, "Active")
            .await?
            .into_iter()
            .map(remote)
            .collect()
    }

    #[instrument(skip_all, fields(id = %id))]
    async fn get_group(&self, id: &str) -> Result<Option<RemoteGroup>, ProviderError> {
        // emfluence ids are integers: any other id names no group, which is an answer
        // ("none"), not a failure — as on the other providers.
        if parse_id(id).is_err() {
            return Ok(None);
        }
        self.lookup(id).await?.map(remote).transpose()
    }

    /// Search by name (a substring match, §3.3) in every status — an archived group
    /// still holds its name — keep exact names, then read `externalID` back. A group
    /// with the name but another key is someone else's: never adopted.
    #[instrument(skip_all)]
    async fn find_by_key(
        &self,
        name: &str,
        key: &str,
    ) -> Result<Option<RemoteGroup>, ProviderError> {
        // A record with the name but no `groupID` cannot be looked up, and dropping it
        // would read as "no such group" (then a create): an error instead.
        let ids: Vec<i64> = self
            .search(Some(name), "All")
            .await?
            .into_iter()
            .filter(|g| same_name(&g.group_name, name))
            .map(|g| {
                g.group_id.ok_or_else(|| {
                    ProviderError::new(
                        PROVIDER,
                        ErrorKind::Malformed,
                        "POST groups/search",
                        format!(
                            "data.records: the group named {:?} has no groupID",
                            g.group_name
                        ),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        if ids.is_empty() {
            return Ok(None);
        }
        let full = self.lookup_many(&ids).await?;
        let (ours, theirs): (Vec<Group>, Vec<Group>) = full
            .into_iter()
            .filter(|g| same_name(&g.group_name, name))
            .partition(|g| g.external_id.as_deref() == Some(key));
        if let Some(group) = ours.into_iter().next() {
            return remote(group).map(Some);
        }
        match theirs.first() {
            None => Ok(None),
            Some(other) => Err(ProviderError::new(
                PROVIDER,
                ErrorKind::Conflict,
                "find group by key",
                format!(
                    "a group named {:?} exists (groupID {}) but is not sgsync's: its externalID is {:?}, not {key:?}",
                    other.group_name,
                    other.group_id.unwrap_or_default(),
                    other.external_id.as_deref().unwrap_or("")
                ),
            )),
        }
    }

    /// Every status, as `find_by_key` searches (§3.3: a substring search with no name
    /// matches every group); `None` past `max_calls` pages of 250.
    #[instrument(skip_all)]
    async fn group_names(&self, max_calls: usize) -> Result<Option<Vec<String>>, ProviderError> {
        if max_calls == 0 {
            return Ok(None);
        }
        let max_pages = u32::try_from(max_calls).unwrap_or(u32::MAX);
        let groups = self.search_within(None, "All", max_pages).await?;
        Ok(groups.map(|groups| groups.into_iter().map(|g| g.group_name).collect()))
    }

    /// `groups/search` in every status (§3.3), pages of 250: id, name and status of
    /// every group, when `max_calls` pages hold them all.
    #[instrument(skip_all)]
    async fn listing(
        &self,
        _directory: &Directory,
        max_calls: usize,
    ) -> Result<Listing, ProviderError> {
        if max_calls == 0 {
            return Ok(Listing::default());
        }
        let max_pages = u32::try_from(max_calls).unwrap_or(u32::MAX);
        let groups = self.search_within(None, "All", max_pages).await?;
        let Some(groups) = groups else {
            // Only the first page was read: its totalPages said the rest would not fit.
            return Ok(Listing {
                groups: None,
                calls: 1,
            });
        };
        let calls = groups.len().div_ceil(PAGE_SIZE as usize).max(1);
        let listed = groups
            .into_iter()
            .filter_map(|g| {
                Some(Listed {
                    id: g.group_id?.to_string(),
                    archived: g.status.as_deref() == Some("Archived"),
                    name: g.group_name,
                })
            })
            .collect();
        Ok(Listing {
            groups: Some(listed),
            calls,
        })
    }

    /// `groups/search` pages `from_page`.. in every status (§3.3), at most `max_calls`:
    /// the first page read says how many there are, so a window past the end starts
    /// again at page 1.
    #[instrument(skip_all)]
    async fn listing_window(
        &self,
        from_page: usize,
        max_calls: usize,
    ) -> Result<Window, ProviderError> {
        let mut window = Window::default();
        let mut page = u32::try_from(from_page.max(1)).unwrap_or(1);
        while window.calls < max_calls {
            let body = GroupSearch {
                group_name: None,
                status: "All",
                rpp: PAGE_SIZE,
                page,
            };
            let (batch, total) = self
                .post("groups/search", &body, true, |data| {
                    let found = wire::page_in(&data, page.into())?;
                    let batch = wire::search_groups_in(found.records)?;
                    Ok((batch, found.total_pages))
                })
                .await?;
            window.calls += 1;
            let total = total.and_then(|t| u32::try_from(t).ok()).unwrap_or(0);
            if batch.is_empty() && page == 1 {
                // No group at all: nothing to read again.
                break;
            }
            if batch.is_empty() && page > 1 {
                // Past the end (the account shrank): the next window starts over.
                page = 1;
                continue;
            }
            window.groups.extend(batch.into_iter().filter_map(|g| {
                Some(Listed {
                    id: g.group_id?.to_string(),
                    archived: g.status.as_deref() == Some("Archived"),
                    name: g.group_name,
                })
            }));
            page = if page >= total { 1 } else { page + 1 };
        }
        window.next_page = page as usize;
        Ok(window)
    }

    /// `groups/lookup` (one call, §3.2): the copy's status, name and description (the
    /// rule in words, and the note saying edits are overwritten) against the pushed ones.
    #[instrument(skip_all, fields(id = %id))]
    async fn verify(
        &self,
        id: &str,
        payload: &Payload,
    ) -> Result<(Verified, usize), ProviderError> {
        let pushed = save_body("verify group", payload)?;
        if parse_id(id).is_err() {
            return Ok((Verified::Missing, 0));
        }
        let group = self.lookup(id).await?;
        Ok((compare(group.as_ref(), pushed), 1))
    }

    fn verify_batch(&self) -> usize {
        LOOKUP_BATCH
    }

    /// One `groups/lookup {groupIDs}` for up to 25 copies (§3.2); a copy the answer
    /// leaves out is looked up alone before it is called deleted (what the API answers
    /// for an unknown id among several is unknown).
    #[instrument(skip_all, fields(copies = copies.len()))]
    async fn verify_many(
        &self,
        copies: &[(&str, &Payload)],
    ) -> Result<(Vec<Verified>, usize), ProviderError> {
        let ids: Vec<i64> = copies
            .iter()
            .filter_map(|(id, _)| parse_id(id).ok())
            .collect();
        let mut calls = 0;
        let mut found: HashMap<i64, Group> = HashMap::new();
        for chunk in ids.chunks(LOOKUP_BATCH) {
            let body = GroupLookup::Many(chunk.to_vec());
            let batch = self
                .post("groups/lookup", &body, true, |data| {
                    wire::lookup_found_in(&data)
                })
                .await?;
            calls += 1;
            found.extend(
                batch
                    .into_iter()
                    .filter_map(|g| Some((g.group_id?, g)))
                    .filter(|(id, _)| chunk.contains(id)),
            );
        }
        let mut verified = Vec::with_capacity(copies.len());
        for (id, payload) in copies {
            let pushed = save_body("verify group", payload)?;
            let Ok(asked) = parse_id(id) else {
                verified.push(Verified::Missing);
                continue;
            };
            let group = match found.remove(&asked) {
                Some(group) => Some(group),
                None => {
                    calls += 1;
                    self.lookup(id).await?
                }
            };
            verified.push(compare(group.as_ref(), pushed));
        }
        Ok((verified, calls))
    }

    /// `groups/save` without `groupID` (§3.1); not resent after an unclear failure.
    #[instrument(skip_all)]
    fn will_update(&self, ids: Vec<String>) {
        // An id that is not a number is refused by `update` itself, as before.
        let ids: Vec<i64> = ids.iter().filter_map(|id| id.parse().ok()).collect();
        let mut batches = UpdateBatches::default();
        for chunk in ids.chunks(LOOKUP_BATCH) {
            for id in chunk {
                batches.batch_of.insert(*id, batches.batches.len());
            }
            batches.batches.push((chunk.to_vec(), OnceCell::new()));
        }
        *self.updates.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(batches);
    }

    async fn create(&self, key: &str, payload: &Payload) -> Result<String, ProviderError> {
        let body = GroupSave {
            group_id: None,
            external_id: Some(key.to_owned()),
            ..save_body("create group", payload)?.clone()
        };
        let group = self
            .post("groups/save", &body, false, |data| {
                wire::groups_in(&data, "data")?
                    .into_iter()
                    .next()
                    .ok_or_else(|| WireError::Shape {
                        at: "data".into(),
                        why: "no group in the answer".into(),
                    })
            })
            .await?;
        remote(group).map(|g| g.id)
    }

    /// Looks the group up first (a Dynamic group is refused), then saves the FULL group
    /// so nothing rests on partial-update semantics (§3.1). Full state: safe to resend.
    #[instrument(skip_all, fields(id = %id))]
    async fn update(&self, id: &str, key: &str, payload: &Payload) -> Result<(), ProviderError> {
        let save = save_body("update group", payload)?;
        self.writable_group("update group", id).await?;
        let body = GroupSave {
            // The id asked for, which the lookup confirmed: never `None`, which creates.
            group_id: Some(parse_id(id)?),
            external_id: Some(key.to_owned()),
            status: "Active".to_owned(),
            ..save.clone()
        };
        self.post_ignoring_data("groups/save", &body, true).await
    }

    /// `status: Archived` and `protected: 0` in one save (§3.4: protected groups cannot
    /// be archived; doing both in one call is inferred). Archived groups stay readable.
    #[instrument(skip_all, fields(id = %id))]
    async fn archive(&self, id: &str) -> Result<(), ProviderError> {
        let body = GroupArchive {
            group_id: parse_id(id)?,
            status: "Archived",
            protected: 0,
        };
        self.post_ignoring_data("groups/save", &body, true).await
    }

    fn member_target(&self) -> Option<&dyn MemberTarget> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::members::may_name;
    use super::*;

    #[test]
    fn error_codes_and_words_map_to_kinds() {
        assert_eq!(
            classify(400, r#"Group name "A" already exists."#),
            ErrorKind::Conflict
        );
        assert_eq!(
            classify(17, "groupName must be unique"),
            ErrorKind::Conflict
        );
        assert_eq!(
            classify(301, r#"Email "a@b.c" belongs to another record."#),
            ErrorKind::Conflict
        );
        assert_eq!(classify(404, "Group not found."), ErrorKind::NotFound);
        assert_eq!(classify(400, "Group does not exist."), ErrorKind::NotFound);
        assert_eq!(classify(AUTH_ERROR_CODE, "x"), ErrorKind::Auth);
        assert_eq!(classify(1, "Invalid access token."), ErrorKind::Auth);
        assert_eq!(
            classify(400, "rpp must be between 1 and 250"),
            ErrorKind::InvalidRequest
        );
    }

    #[test]
    fn a_name_is_written_only_over_a_name_shown_blank() {
        use serde_json::json;
        assert!(may_name(
            &json!({"contactID": 1, "firstName": "", "lastName": null})
        ));
        assert!(!may_name(
            &json!({"contactID": 1, "firstName": "Ada", "lastName": ""})
        ));
        // A name the answer leaves out is unknown, not blank: never overwritten.
        assert!(!may_name(&json!({"contactID": 1, "email": "a@b.c"})));
        assert!(!may_name(&json!({"contactID": 1, "firstName": ""})));
    }

    #[test]
    fn config_needs_a_token_and_knows_the_default_url() {
        let config: EmfluenceConfig = serde_json::from_str(r#"{"token":"t"}"#).unwrap();
        assert_eq!(config.base_url, "https://api.emailer.emfluence.com/v1");
        assert!(serde_json::from_str::<EmfluenceConfig>(r#"{"token":"t","extra":1}"#).is_err());
        assert!(serde_json::from_str::<EmfluenceConfig>(r#"{}"#).is_err());
    }
}
