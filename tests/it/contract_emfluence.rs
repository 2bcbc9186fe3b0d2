//! Contract tests: the emfluence client against its sandbox (and, for the §8 response
//! fixtures, against a tiny replay server). Attempts and waits are read from the
//! sandbox's request log, never from the wall clock of the test.

use crate::common;

use axum::Router;
use axum::extract::Path;
use axum::routing::post;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value as Json, json};
use sgsync::model::mapping::Maps;
use sgsync::provider::http::HttpSettings;
use sgsync::provider::{ErrorKind, Payload, Provider, Verified};
use sgsync::sandbox::emfluence::{SANDBOX_TOKEN, Sandbox};
use sgsync::sandbox::{Controls, Fault, FaultPlan, LoggedRequest, Seed, serve};
use sgsync_emfluence::client::{EmfluenceClient, EmfluenceConfig};
use sgsync_emfluence::wire::{GroupKind, GroupSave};
use sgsync_gosquared::wire::NewSmartGroup;
use std::sync::Arc;
use std::time::Duration;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/emfluence");
const KEY: &str = "sgsync:gosquared:team-a";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("fixture exists")
}

fn settings() -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_millis(800),
        max_retries: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(5),
        max_body_bytes: 4 * 1024 * 1024,
        requests_per_minute: 60_000,
        ..HttpSettings::default()
    }
}

fn client_for(config: EmfluenceConfig) -> EmfluenceClient {
    EmfluenceClient::new(config, settings(), Arc::new(Maps::default())).expect("client builds")
}

async fn started(seed: Seed) -> (Sandbox, EmfluenceClient) {
    let sandbox = Sandbox::start(seed).await.expect("sandbox starts");
    let client = client_for(sandbox.config());
    (sandbox, client)
}

fn payload(name: &str) -> Payload {
    sgsync_emfluence::payload(GroupSave {
        group_id: None,
        group_name: name.to_owned(),
        description: "country is DE".to_owned(),
        status: "Active".to_owned(),
        private: 1,
        external_id: None,
        notes: "Managed by sgsync".to_owned(),
    })
}

fn body(r: &LoggedRequest) -> Json {
    serde_json::from_slice(&r.body).expect("JSON body")
}

fn calls(controls: &Controls, path: &str) -> Vec<LoggedRequest> {
    controls
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(path))
        .collect()
}

/// A raw request to the sandbox, as a fixture or a hand-made body.
async fn raw(sandbox: &Sandbox, path: &str, body: &str, token: Option<&str>) -> Json {
    let mut request = reqwest::Client::new()
        .post(format!("{}/{path}", sandbox.url()))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("sandbox answers");
    assert_eq!(response.status(), 200, "emfluence always answers HTTP 200");
    response.json().await.expect("JSON envelope")
}

#[tokio::test]
async fn check_pings_with_the_bearer_header_and_json() {
    let (sandbox, client) = started(Seed::Empty).await;
    client.check().await.expect("ping succeeds");
    let ping = &calls(&sandbox.running.controls, "helper/ping")[0];
    assert_eq!(ping.method, Method::POST);
    assert_eq!(
        ping.headers["authorization"],
        format!("Bearer {SANDBOX_TOKEN}").as_str()
    );
    assert_eq!(ping.headers["content-type"], "application/json");
    assert_eq!(ping.headers["accept"], "application/json");
    assert_eq!(body(ping), json!({}));
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_an_auth_error() {
    let (sandbox, _) = started(Seed::Empty).await;
    let wrong = client_for(EmfluenceConfig {
        base_url: sandbox.url(),
        token: SecretString::from("not-the-token"),
    });
    assert_eq!(wrong.check().await.unwrap_err().kind, ErrorKind::Auth);
    assert_eq!(
        wrong
            .list_groups(&sgsync::model::Directory::none())
            .await
            .unwrap_err()
            .kind,
        ErrorKind::Auth
    );
    let answer = raw(&sandbox, "helper/ping", "{}", None).await;
    assert_eq!(answer["success"], 0);
    // The deprecated body token is not accepted (§1).
    let body = format!(r#"{{"accessToken":"{SANDBOX_TOKEN}"}}"#);
    assert_eq!(
        raw(&sandbox, "helper/ping", &body, None).await["success"],
        0
    );
}

#[tokio::test]
async fn the_self_authored_save_requests_are_accepted_by_the_sandbox() {
    let (sandbox, _) = started(Seed::Empty).await;
    let created = raw(
        &sandbox,
        "groups/save",
        &fixture("groups_save_create_request.json"),
        Some(SANDBOX_TOKEN),
    )
    .await;
    assert_eq!(created["success"], 1, "{created}");
    let id = created["data"]["groupID"].as_i64().expect("an id");
    assert_eq!(created["data"]["protected"], 1);
    assert_eq!(
        created["data"]["dateModified"], "",
        "loose typing on output"
    );
    let update = fixture("groups_save_update_request.json").replace("4242", &id.to_string());
    let updated = raw(&sandbox, "groups/save", &update, Some(SANDBOX_TOKEN)).await;
    assert_eq!(updated["success"], 1, "{updated}");
    assert_eq!(updated["data"]["friendlyName"], "Team A (renamed)");
    // A protected group cannot be archived unless the same save unprotects it (§3.4).
    let archive_only = format!(r#"{{"groupID":{id},"status":"Archived"}}"#);
    let refused = raw(&sandbox, "groups/save", &archive_only, Some(SANDBOX_TOKEN)).await;
    assert_eq!(refused["success"], 0, "{refused}");
    let archive = fixture("groups_save_archive_request.json").replace("4242", &id.to_string());
    let archived = raw(&sandbox, "groups/save", &archive, Some(SANDBOX_TOKEN)).await;
    assert_eq!(archived["data"]["status"], "Archived", "{archived}");
    // Names stay unique, archived groups included.
    let again = raw(
        &sandbox,
        "groups/save",
        &fixture("groups_save_create_request.json"),
        Some(SANDBOX_TOKEN),
    )
    .await;
    assert_eq!(again["success"], 0);
    assert_eq!(again["code"], 400);
    assert_eq!(
        again["errors"][0],
        "Group name \"Daemon Sync – Team A\" already exists."
    );
}

#[tokio::test]
async fn the_sandbox_follows_documented_lookup_search_and_get_rules() {
    let (sandbox, _) = started(Seed::Demo).await;
    let ids: Vec<i64> = sandbox.groups().iter().map(|g| g.id).collect();
    let too_many = json!({ "groupIDs": (0..26).collect::<Vec<i64>>() }).to_string();
    let answer = raw(&sandbox, "groups/lookup", &too_many, Some(SANDBOX_TOKEN)).await;
    assert_eq!(answer["success"], 0);
    let many = json!({ "groupIDs": ids }).to_string();
    let answer = raw(&sandbox, "groups/lookup", &many, Some(SANDBOX_TOKEN)).await;
    assert!(answer["data"].is_array(), "groupIDs answers an array");
    // GET with query parameters; the URL wins over the body (§1).
    let response = reqwest::Client::new()
        .get(format!(
            "{}/groups/lookup?groupID={}",
            sandbox.url(),
            ids[1]
        ))
        .bearer_auth(SANDBOX_TOKEN)
        .header("content-type", "application/json")
        .body(json!({ "groupID": ids[0] }).to_string())
        .send()
        .await
        .unwrap();
    let answer: Json = response.json().await.unwrap();
    assert_eq!(answer["data"]["groupID"], ids[1]);
    // Search: substring, records without externalID, string paging links.
    let search = json!({"groupName": "customers", "rpp": 1}).to_string();
    let answer = raw(&sandbox, "groups/search", &search, Some(SANDBOX_TOKEN)).await;
    let paging = &answer["data"]["paging"];
    assert_eq!(paging["totalRecords"], 2);
    assert_eq!(
        (paging["next"].as_str(), paging["prev"].as_str()),
        (Some("2"), Some(""))
    );
    assert!(answer["data"]["records"][0].get("externalID").is_none());
    let bad = json!({"rpp": 251}).to_string();
    assert_eq!(
        raw(&sandbox, "groups/search", &bad, Some(SANDBOX_TOKEN)).await["success"],
        0
    );
    // Writes must be POST.
    let response = reqwest::Client::new()
        .get(format!("{}/groups/save?groupName=X", sandbox.url()))
        .bearer_auth(SANDBOX_TOKEN)
        .send()
        .await
        .unwrap();
    let answer: Json = response.json().await.unwrap();
    assert_eq!(answer["success"], 0);
    // Dynamic groups cannot be created (§3.1).
    let dynamic = json!({"groupName": "Dyn", "type": "Dynamic"}).to_string();
    assert_eq!(
        raw(&sandbox, "groups/save", &dynamic, Some(SANDBOX_TOKEN)).await["success"],
        0
    );
}

/// Serves the §8 response fixtures, so the client reads exactly those bytes.
async fn replay() -> sgsync::sandbox::Running {
    let router = Router::new().route(
        "/v1/{resource}/{method}",
        post(
            |Path((resource, method)): Path<(String, String)>, body: String| async move {
                let request: Json = serde_json::from_str(&body).unwrap_or(Json::Null);
                let name = match (resource.as_str(), method.as_str()) {
                    ("groups", "save") if request["groupName"] == "Taken" => {
                        "groups_save_error_duplicate_name.json"
                    }
                    ("groups", "save") => "groups_save_success.json",
                    ("groups", "search") if request["page"] == 1 => "groups_search_page1of2.json",
                    ("groups", "search") => {
                        return r#"{"success":1,"code":0,"data":{"paging":{"next":"","page":2,"rpp":2,"totalPages":2,"totalRecords":3,"prev":"1"},"records":[{"groupID":12,"groupName":"Gamma","status":"Active","type":"Static","private":"1","userID":"","dateModified":""}]}}"#.to_owned();
                    }
                    ("groups", "lookup") => "groups_lookup_multi.json",
                    ("groups", "addContacts") => "groups_addContacts_partial.json",
                    ("contacts", "search") => "contacts_search_by_group.json",
                    _ => return r#"{"success":1,"code":0,"data":{}}"#.to_owned(),
                };
                fixture(name)
            },
        ),
    );
    let controls = Controls::default();
    serve(router, controls, 0).await.expect("replay binds")
}

#[tokio::test]
async fn the_self_authored_responses_are_read_by_the_client() {
    let server = replay().await;
    let client = client_for(EmfluenceConfig {
        base_url: format!("{}/v1", server.url()),
        token: SecretString::from(SANDBOX_TOKEN),
    });
    assert_eq!(
        client.create(KEY, &payload("Anything")).await.unwrap(),
        "4242"
    );
    let err = client.create(KEY, &payload("Taken")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
    let groups = client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["Alpha", "Beta", "Gamma"]);
    // Lookup of Alpha: externalID "" is not ours, so an exact "Alpha" is a conflict.
    let err = client.find_by_key("Alpha", KEY).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    let rows = client.add_contacts("10", &[1, 999_999]).await.unwrap();
    assert!(rows[0].success && !rows[1].success);
    assert_eq!(rows[1].errors, ["Contact not found."]);
    let contacts = client.group_contacts("10").await.unwrap();
    assert_eq!(contacts[1].email, "b@example.com");
}

#[tokio::test]
async fn create_get_list_and_duplicate_names() {
    let (sandbox, client) = started(Seed::Empty).await;
    let id = client.create(KEY, &payload("Team A")).await.unwrap();
    let save = &calls(&sandbox.running.controls, "groups/save")[0];
    let sent = body(save);
    assert!(
        sent.get("groupID").is_none(),
        "a create omits groupID: {sent}"
    );
    assert_eq!(sent["externalID"], KEY);
    let group = client.get_group(&id).await.unwrap().expect("exists");
    assert_eq!(
        (group.name.as_str(), group.key.as_deref()),
        ("Team A", Some(KEY))
    );
    assert_eq!(
        client
            .list_groups(&sgsync::model::Directory::none())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(client.get_group("999999").await.unwrap(), None);
    let err = client
        .create("other", &payload("team a"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
    assert_eq!(sandbox.groups().len(), 1);
}

#[tokio::test]
async fn find_by_key_keeps_exact_names_and_never_adopts_a_stranger() {
    let (sandbox, client) = started(Seed::Empty).await;
    sandbox.add_group("Sales EMEA", "", GroupKind::Static);
    assert_eq!(client.find_by_key("Sales", KEY).await.unwrap(), None);
    let id = client.create(KEY, &payload("Sales")).await.unwrap();
    let found = client
        .find_by_key("Sales", KEY)
        .await
        .unwrap()
        .expect("ours");
    assert_eq!(found.id, id);
    assert!(
        calls(&sandbox.running.controls, "groups/lookup")
            .iter()
            .any(|r| body(r).get("groupIDs").is_some()),
        "externalID is read back with groupIDs"
    );
    sandbox.add_group("Marketing", "someone-elses-id", GroupKind::Static);
    let err = client.find_by_key("Marketing", KEY).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(err.message.contains("not sgsync's"), "{err}");
    // An archived group of ours still holds its name: found, not recreated.
    client.archive(&id).await.unwrap();
    assert_eq!(
        client.find_by_key("Sales", KEY).await.unwrap().unwrap().id,
        id
    );
}

#[tokio::test]
async fn search_pages_over_more_than_250_groups() {
    let (sandbox, client) = started(Seed::Empty).await;
    for i in 0..600 {
        sandbox.add_group(&format!("Group {i:03}"), "", GroupKind::Static);
    }
    let groups = client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap();
    assert_eq!(groups.len(), 600);
    let searches = calls(&sandbox.running.controls, "groups/search");
    assert_eq!(searches.len(), 3);
    assert_eq!(body(&searches[2])["page"], 3);
    assert!(searches.iter().all(|r| body(r)["rpp"] == 250));
    // find_by_key pages too (every name contains "Group") and reads keys in ≤ 25s.
    sandbox.add_group("Group", KEY, GroupKind::Static);
    assert!(client.find_by_key("Group", KEY).await.unwrap().is_some());
}

#[tokio::test]
async fn update_sends_the_full_group_after_a_lookup() {
    let (sandbox, client) = started(Seed::Empty).await;
    let id = client.create(KEY, &payload("Team A")).await.unwrap();
    sandbox.running.controls.clear_log();
    client
        .update(&id, KEY, &payload("Team A (renamed)"))
        .await
        .unwrap();
    let log = sandbox.running.controls.requests();
    assert!(log[0].path.ends_with("groups/lookup"));
    let sent = body(&log[1]);
    for field in [
        "groupID",
        "groupName",
        "description",
        "status",
        "private",
        "externalID",
        "notes",
    ] {
        assert!(sent.get(field).is_some(), "update sends {field}: {sent}");
    }
    assert_eq!(sent["status"], "Active");
    let group = sandbox.group(id.parse().unwrap()).unwrap();
    assert_eq!(
        (group.name.as_str(), group.external_id.as_str()),
        ("Team A (renamed)", KEY)
    );
    let err = client
        .update("424242", KEY, &payload("X"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn copies_are_read_back_25_to_a_lookup_and_a_missing_one_alone() {
    let (sandbox, client) = started(Seed::Empty).await;
    let mut copies = Vec::new();
    for i in 0..30 {
        let pushed = payload(&format!("Group {i}"));
        let id = client.create(&format!("key-{i}"), &pushed).await.unwrap();
        copies.push((id, pushed));
    }
    // By hand: one renamed, one archived, one description edited, one deleted.
    let id = |i: usize| copies[i].0.parse::<i64>().unwrap();
    sandbox.edit_group(id(1), "Renamed by hand", "Active");
    sandbox.edit_group(id(2), "Group 2", "Archived");
    sandbox.set_description(id(26), "edited by hand");
    copies[28].0 = "424242".to_owned();
    assert_eq!(client.verify_batch(), 25);
    sandbox.running.controls.clear_log();

    let asked: Vec<(&str, &Payload)> = copies.iter().map(|(id, p)| (id.as_str(), p)).collect();
    let (first, first_calls) = client.verify_many(&asked[..25]).await.unwrap();
    let (rest, rest_calls) = client.verify_many(&asked[25..]).await.unwrap();

    // One lookup for 25 copies, one for five, and the one the answer left out alone.
    let c = &sandbox.running.controls;
    assert_eq!(calls(c, "groups/lookup").len(), 3);
    assert_eq!((first_calls, rest_calls), (1, 2));
    let found: Vec<Verified> = first.into_iter().chain(rest).collect();
    assert_eq!(found.len(), 30);
    for (i, v) in found.iter().enumerate() {
        let want = match i {
            1 => Verified::Differs("renamed to \"Renamed by hand\"".into()),
            2 => Verified::Differs("archived by hand".into()),
            26 => Verified::Differs("its description was edited".into()),
            28 => Verified::Missing,
            _ => Verified::Same,
        };
        assert_eq!(*v, want, "copy {i}");
    }
    // The same as one `verify` each, in fewer calls.
    for i in [1, 2, 26, 28, 0] {
        let (one, _) = client.verify(&copies[i].0, &copies[i].1).await.unwrap();
        assert_eq!(one, found[i], "copy {i} alone");
    }
}

#[tokio::test]
async fn updates_named_in_advance_read_their_groups_25_to_a_lookup() {
    let (sandbox, client) = started(Seed::Empty).await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let id = client
            .create(&format!("key-{i}"), &payload(&format!("Group {i}")))
            .await
            .unwrap();
        ids.push(id);
    }
    // By hand: one of the first 25 made Dynamic, one of the last five gone.
    sandbox.set_kind(ids[3].parse().unwrap(), GroupKind::Dynamic);
    ids[27] = "424242".to_owned();
    let dynamic_before = sandbox.group(ids[3].parse().unwrap());
    client.will_update(ids.clone());
    sandbox.running.controls.clear_log();

    // All at once, as the engine sends them (16 at a time there).
    let client = Arc::new(client);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, id) in ids.iter().enumerate() {
        let (client, id) = (client.clone(), id.clone());
        tasks.spawn(async move {
            let update = client
                .update(&id, &format!("key-{i}"), &payload(&format!("Group {i} v2")))
                .await;
            (i, update)
        });
    }
    let mut results: Vec<_> = tasks.join_all().await;
    results.sort_by_key(|(i, _)| *i);
    let results: Vec<_> = results.into_iter().map(|(_, r)| r).collect();

    let c = &sandbox.running.controls;
    // One lookup for the first 25, one for the last five; its answer lacks 424242,
    // which is then looked up alone (and found missing).
    assert_eq!(calls(c, "groups/lookup").len(), 1 + 1 + 1);
    assert_eq!(calls(c, "groups/save").len(), 28, "all but the two refused");
    assert_eq!(
        results[3].as_ref().unwrap_err().kind,
        ErrorKind::InvalidRequest
    );
    assert_eq!(results[27].as_ref().unwrap_err().kind, ErrorKind::NotFound);
    for (i, r) in results.iter().enumerate() {
        if i != 3 && i != 27 {
            assert!(r.is_ok(), "update {i}: {r:?}");
        }
    }
    assert_eq!(sandbox.group(ids[3].parse().unwrap()), dynamic_before);

    // A run that names no updates forgets the last run's batches.
    client.will_update(Vec::new());
    c.clear_log();
    client
        .update(&ids[0], "key-0", &payload("Group 0 v3"))
        .await
        .unwrap();
    assert_eq!(calls(c, "groups/lookup").len(), 1);
}

#[tokio::test]
async fn dynamic_groups_are_never_written() {
    let (sandbox, client) = started(Seed::Demo).await;
    let dynamic = sandbox
        .groups()
        .into_iter()
        .find(|g| g.kind == GroupKind::Dynamic)
        .expect("demo has a dynamic group");
    let id = dynamic.id.to_string();
    let err = client
        .update(&id, KEY, &payload("Mine now"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    assert!(err.message.contains("Dynamic"), "{err}");
    let err = client.add_contacts(&id, &[1]).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    let err = client.remove_contacts(&id, &[1]).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    let c = &sandbox.running.controls;
    assert_eq!(
        calls(c, "groups/save").len() + calls(c, "Contacts").len(),
        0
    );
    assert_eq!(sandbox.group(dynamic.id), Some(dynamic));
}

#[tokio::test]
async fn archive_unprotects_in_the_same_call() {
    let (sandbox, client) = started(Seed::Demo).await;
    let protected = sandbox.groups().into_iter().find(|g| g.protected).unwrap();
    client.archive(&protected.id.to_string()).await.unwrap();
    let after = sandbox.group(protected.id).unwrap();
    assert_eq!(
        (after.status.as_str(), after.protected),
        ("Archived", false)
    );
    assert_eq!(calls(&sandbox.running.controls, "groups/save").len(), 1);
    assert!(
        client
            .list_groups(&sgsync::model::Directory::none())
            .await
            .unwrap()
            .iter()
            .all(|g| g.id != after.id.to_string())
    );
    let caps = client.capabilities();
    assert!(caps.archive && caps.stores_key && !caps.delete && !caps.holds_rules);
}

#[tokio::test]
async fn membership_goes_in_chunks_of_1000_with_per_contact_errors() {
    let (sandbox, client) = started(Seed::Empty).await;
    let group = client.create(KEY, &payload("Team A")).await.unwrap();
    let mut ids = sandbox.add_contacts(2499);
    ids.push(999_999);
    let rows = client.add_contacts(&group, &ids).await.unwrap();
    assert_eq!(rows.len(), 2500);
    let failed: Vec<_> = rows.iter().filter(|r| !r.success).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].contact_id, failed[0].errors[0].as_str()),
        (999_999, "Contact not found.")
    );
    let c = &sandbox.running.controls;
    let adds = calls(c, "groups/addContacts");
    assert_eq!(adds.len(), 3);
    assert!(
        adds.iter()
            .all(|r| body(r)["contactIDs"].as_array().unwrap().len() <= 1000)
    );
    let members = client.group_contacts(&group).await.unwrap();
    assert_eq!(members.len(), 2499);
    assert_eq!(calls(c, "contacts/search").len(), 10, "250 per page");
    client.remove_contacts(&group, &ids).await.unwrap();
    assert_eq!(calls(c, "groups/removeContacts").len(), 3);
    assert!(client.group_contacts(&group).await.unwrap().is_empty());
}

#[tokio::test]
async fn save_contact_creates_by_email_and_reports_email_conflicts() {
    let (sandbox, client) = started(Seed::Demo).await;
    let group = sandbox
        .groups()
        .into_iter()
        .find(|g| g.name == "Customers")
        .unwrap();
    let contact = client
        .save_contact(
            "new.person@example.com",
            Some("New"),
            Some("Person"),
            &[group.id],
        )
        .await
        .unwrap();
    assert!(
        sandbox
            .group(group.id)
            .unwrap()
            .members
            .contains(&contact.contact_id)
    );
    let again = client
        .save_contact("new.person@example.com", None, None, &[])
        .await
        .unwrap();
    assert_eq!(
        again.contact_id, contact.contact_id,
        "by email: the same record"
    );
    let other = sandbox.contacts()[0].email.clone();
    let body = json!({"contactID": contact.contact_id, "email": other}).to_string();
    let answer = raw(&sandbox, "contacts/save", &body, Some(SANDBOX_TOKEN)).await;
    assert_eq!(answer["code"], 301);
    assert_eq!(
        answer["errors"][0],
        format!("Email \"{other}\" belongs to another record.")
    );
}

#[tokio::test]
async fn server_errors_and_429_are_retried_for_reads_and_updates() {
    let (sandbox, client) = started(Seed::Demo).await;
    let c = &sandbox.running.controls;
    c.script([Fault::Status(503), Fault::Status(500)]);
    assert_eq!(
        client
            .list_groups(&sgsync::model::Directory::none())
            .await
            .unwrap()
            .len(),
        5
    );
    assert_eq!(calls(c, "groups/search").len(), 3);
    c.clear_log();
    c.script([
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        Fault::Malformed,
    ]);
    client.check().await.unwrap();
    let log = c.requests();
    assert_eq!(log.len(), 3);
    let waited = log[1].at.duration_since(log[0].at).unwrap();
    assert!(
        waited >= Duration::from_secs(1),
        "Retry-After honoured: {waited:?}"
    );
    // A create is not resent after a 5xx: it may have happened.
    c.clear_log();
    c.script([Fault::Status(502)]);
    let err = client.create(KEY, &payload("Team A")).await.unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::Server, 1));
    assert_eq!(c.requests().len(), 1);
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_not_resent() {
    let (sandbox, client) = started(Seed::Empty).await;
    let c = &sandbox.running.controls;
    c.script([Fault::LoseResponse(Duration::from_secs(2))]);
    let err = client.create(KEY, &payload("Team A")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert_eq!(calls(c, "groups/save").len(), 1);
    assert_eq!(sandbox.groups().len(), 1, "the write landed once");
    // The engine resolves the intent by key, not by creating again.
    let found = client
        .find_by_key("Team A", KEY)
        .await
        .unwrap()
        .expect("found");
    assert_eq!(found.id, sandbox.groups()[0].id.to_string());
}

#[tokio::test]
async fn a_lost_write_is_seen_as_missing() {
    let (sandbox, client) = started(Seed::Empty).await;
    sandbox.running.controls.script([Fault::LoseWrite]);
    let id = client.create(KEY, &payload("Team A")).await.unwrap();
    assert_eq!(client.get_group(&id).await.unwrap(), None);
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused() {
    let sandbox = Sandbox::start(Seed::Demo).await.unwrap();
    let mut small = settings();
    small.max_body_bytes = 200;
    let client = EmfluenceClient::new(sandbox.config(), small, Arc::new(Maps::default())).unwrap();
    let err = client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::BodyTooLarge, 1));
}

#[tokio::test]
async fn config_errors_are_typed() {
    let (_sandbox, client) = started(Seed::Empty).await;
    let gosquared = sgsync_gosquared::payload(NewSmartGroup {
        name: "x".into(),
        filters: vec![],
    });
    assert_eq!(
        client.create(KEY, &gosquared).await.unwrap_err().kind,
        ErrorKind::Config
    );
    let plain_http = EmfluenceConfig {
        base_url: "http://api.emailer.emfluence.com/v1".into(),
        token: SecretString::from("t"),
    };
    let err = EmfluenceClient::new(plain_http, settings(), Arc::new(Maps::default())).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    let empty = EmfluenceConfig {
        base_url: "https://api.emailer.emfluence.com/v1".into(),
        token: SecretString::from(""),
    };
    assert!(EmfluenceClient::new(empty, settings(), Arc::new(Maps::default())).is_err());
}

#[tokio::test]
async fn the_token_reaches_no_log_error_or_debug_and_only_the_auth_header() {
    let logs = common::capture_logs();

    let (sandbox, client) = started(Seed::Demo).await;
    let c = &sandbox.running.controls;
    let group = sandbox.groups()[1].id.to_string();
    client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap();
    client.add_contacts(&group, &[1, 2]).await.unwrap();
    c.script(std::iter::repeat_n(Fault::Status(500), 4));
    let served = client.check().await.unwrap_err();
    sandbox.set_token("rotated");
    let refused = client.get_group(&group).await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Auth);
    let unreachable = client_for(EmfluenceConfig {
        base_url: "http://127.0.0.1:1/v1".into(),
        token: SecretString::from(SANDBOX_TOKEN),
    });
    let connect = unreachable.check().await.unwrap_err();
    assert_eq!(connect.kind, ErrorKind::Connect);

    let logged = logs.text();
    assert!(logged.contains("provider_call"), "calls were traced");
    for text in [
        format!("{served} {served:?}"),
        format!("{refused} {refused:?}"),
        format!("{connect} {connect:?}"),
        format!("{client:?} {:?}", sandbox.config()),
        logged,
    ] {
        assert!(!text.contains(SANDBOX_TOKEN), "token leaked into: {text}");
    }
    for r in c.requests() {
        let auth = r.headers["authorization"].to_str().unwrap();
        assert_eq!(auth, format!("Bearer {SANDBOX_TOKEN}"));
        let mut others = r.clone();
        others.headers.remove("authorization");
        assert!(
            !others.contains(SANDBOX_TOKEN),
            "token outside the header: {r:?}"
        );
    }
}

/// Every request to a path containing `path` (each attempt of a retried read too) is
/// answered `body` at HTTP 200 instead of by the sandbox.
fn answer_with(controls: &Controls, path: &str, body: &str) {
    controls.set_plan(FaultPlan {
        only_paths: vec![path.to_owned()],
        script: std::iter::repeat_n(
            Fault::Body {
                status: 200,
                body: body.to_owned(),
            },
            20,
        )
        .collect(),
        ..FaultPlan::default()
    });
}

const SUCCESS_WITHOUT_DATA: &str = r#"{"success":1,"code":0}"#;

#[tokio::test]
async fn a_search_answering_success_without_data_is_an_error_not_no_groups() {
    let (sandbox, client) = started(Seed::Demo).await;
    let c = &sandbox.running.controls;
    let groups = client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap();
    let name = groups[0].name.clone();
    let key = groups[0].key.clone().unwrap_or_default();
    answer_with(c, "groups/search", SUCCESS_WITHOUT_DATA);
    let list = client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap_err();
    let names = client.group_names(10).await.unwrap_err();
    let found = client.find_by_key(&name, &key).await.unwrap_err();
    for err in [list, names, found] {
        assert_eq!(err.kind, ErrorKind::Malformed, "{err}");
        assert_eq!(err.operation, "POST groups/search");
        assert_eq!(
            err.message, "data: is missing, though the answer says success",
            "{err}"
        );
    }
    // `data` without `records` is no better than no `data`.
    answer_with(
        c,
        "groups/search",
        r#"{"success":1,"code":0,"data":{"paging":{"next":"","page":1,"rpp":250,"totalPages":1,"totalRecords":0,"prev":""}}}"#,
    );
    let err = client.group_names(10).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Malformed, "{err}");
    assert!(err.message.starts_with("data.records: is missing"), "{err}");
    // Records without paging could be the first of many pages.
    answer_with(
        c,
        "groups/search",
        r#"{"success":1,"code":0,"data":{"records":[{"groupID":1,"groupName":"A","type":"Static"}]}}"#,
    );
    let err = client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap_err();
    assert!(err.message.starts_with("data.paging: is missing"), "{err}");
    // The empty page the server sent is an empty list.
    answer_with(
        c,
        "groups/search",
        r#"{"success":1,"code":0,"data":{"paging":{"next":"","page":1,"rpp":250,"totalPages":0,"totalRecords":0,"prev":""},"records":[]}}"#,
    );
    assert_eq!(
        client
            .list_groups(&sgsync::model::Directory::none())
            .await
            .unwrap(),
        []
    );
    assert_eq!(client.group_names(10).await.unwrap(), Some(vec![]));
    assert_eq!(client.find_by_key(&name, &key).await.unwrap(), None);
    c.set_plan(FaultPlan::default());
    assert_eq!(
        client
            .list_groups(&sgsync::model::Directory::none())
            .await
            .unwrap(),
        groups
    );
}

#[tokio::test]
async fn a_lookup_missing_a_group_or_its_id_is_an_error_never_absent_or_a_create() {
    let (sandbox, client) = started(Seed::Empty).await;
    let c = &sandbox.running.controls;
    let id = client.create(KEY, &payload("Team A")).await.unwrap();
    // The search finds "Team A"; a lookup that leaves it out must not read as "none".
    for body in [r#"{"success":1,"code":0,"data":[]}"#, SUCCESS_WITHOUT_DATA] {
        answer_with(c, "groups/lookup", body);
        let err = client.find_by_key("Team A", KEY).await.unwrap_err();
        assert_eq!(
            (err.kind, err.operation.as_str()),
            (ErrorKind::Malformed, "POST groups/lookup"),
            "{err}"
        );
    }
    answer_with(c, "groups/lookup", r#"{"success":1,"code":0,"data":[]}"#);
    let err = client.find_by_key("Team A", KEY).await.unwrap_err();
    assert_eq!(
        err.message,
        format!("data: has no group for groupID {id} (1 asked for, 0 answered)")
    );
    // get_group: no `data` is not "the group is gone".
    answer_with(c, "groups/lookup", SUCCESS_WITHOUT_DATA);
    let err = client.get_group(&id).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Malformed, "{err}");
    // A looked-up group without its groupID: an update must not turn into a create.
    answer_with(
        c,
        "groups/lookup",
        r#"{"success":1,"code":0,"data":{"groupName":"Team A","type":"Static","externalID":"sgsync:gosquared:team-a"}}"#,
    );
    c.clear_log();
    let err = client
        .update(&id, KEY, &payload("Team A (renamed)"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Malformed, "{err}");
    assert!(err.message.starts_with("data.groupID: is missing"), "{err}");
    assert!(calls(c, "groups/save").is_empty(), "nothing was written");
    assert_eq!(sandbox.groups().len(), 1);
    c.set_plan(FaultPlan::default());
    assert_eq!(
        client.find_by_key("Team A", KEY).await.unwrap().unwrap().id,
        id
    );
}

#[tokio::test]
async fn membership_answers_missing_rows_or_records_are_errors() {
    let (sandbox, client) = started(Seed::Empty).await;
    let c = &sandbox.running.controls;
    let group = client.create(KEY, &payload("Team A")).await.unwrap();
    let ids = sandbox.add_contacts(3);
    let strings: Vec<String> = ids.iter().map(i64::to_string).collect();
    let target = client.member_target().unwrap();
    for body in [
        r#"{"success":1,"code":0,"data":{"totalSuccess":3,"totalErrors":0}}"#.to_owned(),
        SUCCESS_WITHOUT_DATA.to_owned(),
        format!(
            r#"{{"success":1,"code":0,"data":{{"totalSuccess":1,"totalErrors":0,"contactResults":[{{"contactID":{},"success":1,"errors":[]}}]}}}}"#,
            ids[0]
        ),
    ] {
        answer_with(c, "groups/addContacts", &body);
        let err = client.add_contacts(&group, &ids).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Malformed, "{err}");
        let err = target.add(&group, &strings).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Malformed, "{err}");
        assert!(err.message.starts_with("data"), "{err}");
    }
    answer_with(c, "groups/removeContacts", SUCCESS_WITHOUT_DATA);
    let err = target.remove(&group, &strings).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Malformed, "{err}");
    // A member list without records is not an empty group.
    answer_with(c, "contacts/search", r#"{"success":1,"code":0,"data":{}}"#);
    let err = target.members(&group).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Malformed, "{err}");
    assert!(err.message.starts_with("data.records: is missing"), "{err}");
    c.set_plan(FaultPlan::default());
    assert_eq!(client.add_contacts(&group, &ids).await.unwrap().len(), 3);
    assert_eq!(target.members(&group).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_saved_contact_whose_answer_leaves_its_name_out_keeps_its_name() {
    let (sandbox, client) = started(Seed::Empty).await;
    let c = &sandbox.running.controls;
    let group = client.create(KEY, &payload("Team A")).await.unwrap();
    let contact = sandbox.add_contact("ada@example.com", "Ada", "Lovelace");
    // The save's answer holds no firstName/lastName: the name is unknown, not blank.
    c.set_plan(FaultPlan {
        only_paths: vec!["contacts/save".to_owned()],
        script: [Fault::Body {
            status: 200,
            body: format!(
                r#"{{"success":1,"code":0,"data":{{"contactID":{contact},"email":"ada@example.com"}}}}"#
            ),
        }]
        .into(),
        ..FaultPlan::default()
    });
    let target = client.member_target().unwrap();
    let id = target
        .add_by_email(&group, "ada@example.com", Some("Someone Else"))
        .await
        .unwrap();
    assert_eq!(id, contact.to_string());
    assert_eq!(
        calls(c, "contacts/save").len(),
        1,
        "no second save, no rename"
    );
    let saved = sandbox
        .contacts()
        .into_iter()
        .find(|x| x.id == contact)
        .unwrap();
    assert_eq!(
        (saved.first_name.as_str(), saved.last_name.as_str()),
        ("Ada", "Lovelace")
    );
}
