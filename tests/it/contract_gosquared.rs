//! GoSquared client ↔ sandbox: every call's happy path, every documented error as its
//! typed kind, retries and waits read from the sandbox's request log, creates never
//! resent blindly, the body cap, and the credentials kept out of logs and errors.

use crate::common;

use serde_json::{Value as Json, json};
use sgsync::model::Rule;
use sgsync::model::mapping::Maps;
use sgsync::provider::http::HttpSettings;
use sgsync::provider::{ErrorKind, Payload, Provider};
use sgsync::sandbox::gosquared::{API_KEY, SITE_TOKEN, Sandbox};
use sgsync::sandbox::{Fault, Seed};
use sgsync::translate::translate;
use sgsync_gosquared::client::{GoSquaredClient, GoSquaredConfig, PAGE_SIZE};
use sgsync_gosquared::wire::NewSmartGroup;
use std::sync::Arc;
use std::time::Duration;

const FIXTURE: &str = include_str!("../fixtures/gosquared/smartgroups_2016.json");

fn settings() -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_millis(800),
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
        max_body_bytes: 1024 * 1024,
        requests_per_minute: 60_000,
        ..HttpSettings::default()
    }
}

fn client_for(config: GoSquaredConfig) -> GoSquaredClient {
    GoSquaredClient::new(config, settings(), Arc::new(Maps::default())).expect("client builds")
}

async fn start(seed: Seed) -> (Sandbox, GoSquaredClient) {
    let sandbox = Sandbox::start(seed).await.expect("sandbox starts");
    let client = client_for(sandbox.config());
    (sandbox, client)
}

fn payload(name: &str, filters: Vec<Json>) -> Payload {
    sgsync_gosquared::payload(NewSmartGroup {
        name: name.to_owned(),
        filters,
    })
}

fn visits_over(n: i64) -> Json {
    json!({"key": "property", "path": "totals.visits", "operator": ">", "value": n})
}

fn fixture_names() -> Vec<String> {
    let raw: Json = serde_json::from_str(FIXTURE).unwrap();
    raw["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn check_proves_the_key_and_a_wrong_key_is_an_auth_error() {
    let (sandbox, client) = start(Seed::Empty).await;
    client.check().await.expect("sandbox key accepted");
    let log = sandbox.running.controls.requests();
    assert_eq!(log[0].path, "/auth/v1/tokeninfo");

    sandbox.set_credentials("rotated-key", SITE_TOKEN);
    let err = client.check().await.unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::Auth, 1), "{err}");
    assert!(err.message.contains("4001"), "{err}");
    let err = client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::Auth, 1), "{err}");
}

#[tokio::test]
async fn a_wrong_site_token_is_refused_like_a_wrong_key() {
    let (sandbox, client) = start(Seed::Demo).await;
    sandbox.set_credentials(API_KEY, "GSN-OTHER-1-S");
    let err = client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
    assert!(err.message.contains("not authorised"), "{err}");
}

#[tokio::test]
async fn all_nine_demo_groups_are_listed_and_translate_exactly() {
    let (_sandbox, client) = start(Seed::Demo).await;
    let groups = client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .expect("list");
    let names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
    assert_eq!(names, fixture_names());
    let maps = Maps::default();
    for g in &groups {
        assert_eq!(g.key, None, "GoSquared stores no key");
        assert_eq!(g.decoded.group.name, g.name);
        assert_eq!(g.decoded.group.id.as_deref(), Some(g.id.as_str()));
        let back = translate(&g.decoded, sgsync_gosquared::KIND, &maps);
        assert!(back.fidelity.is_exact(), "{}: {:?}", g.id, back.fidelity);
        assert_eq!(
            back.payload.as_ref().map(Payload::name),
            Some(g.name.as_str())
        );
    }
    let test_group = groups.iter().find(|g| g.id == "test-group").unwrap();
    assert!(matches!(&test_group.decoded.group.rule, Rule::All(xs) if xs.len() == 2));
}

#[tokio::test]
async fn get_group_reads_one_and_unknown_ids_are_none() {
    let (sandbox, client) = start(Seed::Demo).await;
    let g = client
        .get_group("last-seen-35-days")
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(g.name, "Last Seen > 35 Days");
    assert_eq!(client.get_group("no-such-group").await.unwrap(), None);
    // A hostile id stays one escaped path segment.
    assert_eq!(client.get_group("../smartgroups").await.unwrap(), None);
    let paths: Vec<String> = sandbox
        .running
        .controls
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths[2], "/people/v1/smartgroups/..%2Fsmartgroups");
    // A 200 with the list envelope (§3 allows either shape) is read too.
    sandbox.answer_next(200, serde_json::from_str(FIXTURE).unwrap(), None);
    let g = client.get_group("most-active").await.unwrap().unwrap();
    assert_eq!(
        (g.id.as_str(), g.name.as_str()),
        ("most-active", "Most Active")
    );
    // 4004 in the body alone also means "no such group".
    sandbox.answer_next(
        200,
        json!({"code": 4004, "message": "Error 4004: groupID"}),
        None,
    );
    assert_eq!(client.get_group("most-active").await.unwrap(), None);
}

#[tokio::test]
async fn create_answers_the_slug_id_and_the_group_reads_back() {
    let (sandbox, client) = start(Seed::Empty).await;
    let filters = vec![visits_over(1000)];
    let id = client
        .create(
            "sgsync:ispring:abc",
            &payload("Visited > 1000 (EU)", filters.clone()),
        )
        .await
        .expect("create");
    assert_eq!(id, "visited-1000-eu");
    let stored = sandbox.groups();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].filters, filters);
    let log = sandbox.running.controls.requests();
    let post = log.last().unwrap();
    let body: Json = serde_json::from_slice(&post.body).unwrap();
    assert!(body.is_object(), "a plain object, not ruby-client's array");
    assert_eq!(post.headers["content-type"], "application/json");
    let g = client.get_group(&id).await.unwrap().unwrap();
    assert_eq!(g.name, "Visited > 1000 (EU)");
}

#[tokio::test]
async fn the_same_name_twice_gets_a_suffixed_id_and_find_by_key_reports_the_clash() {
    let (_sandbox, client) = start(Seed::Empty).await;
    let p = payload("Trial Users", vec![]);
    assert_eq!(client.create("k", &p).await.unwrap(), "trial-users");
    let found = client
        .find_by_key("Trial Users", "k")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "trial-users");
    assert_eq!(
        client.find_by_key("Trial users", "k").await.unwrap(),
        None,
        "exact name only"
    );
    assert_eq!(client.create("k", &p).await.unwrap(), "trial-users-1");
    let err = client.find_by_key("Trial Users", "k").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(
        err.message.contains("trial-users, trial-users-1"),
        "names both ids: {err}"
    );
}

#[tokio::test]
async fn a_create_answer_without_an_id_is_resolved_by_name() {
    let (sandbox, client) = start(Seed::Empty).await;
    let existing = sandbox.add_group("Quiet Accounts", vec![]);
    // The ruby spec stub's answer: 200 with an empty object (§4).
    sandbox.answer_next(200, json!({}), None);
    let id = client
        .create("k", &payload("Quiet Accounts", vec![]))
        .await
        .unwrap();
    assert_eq!(id, existing);
}

#[tokio::test]
async fn create_refuses_another_providers_payload() {
    let (sandbox, client) = start(Seed::Empty).await;
    let other = sgsync_ispring::payload(sgsync_ispring::wire::SmartGroupPayload {
        name: "x".into(),
        rules: vec![],
    });
    let err = client.create("k", &other).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    assert!(sandbox.running.controls.requests().is_empty());
}

#[tokio::test]
async fn update_and_archive_are_unsupported_and_capabilities_say_so() {
    let (sandbox, client) = start(Seed::Demo).await;
    let caps = client.capabilities();
    assert!(caps.list && caps.get && caps.create && caps.holds_rules);
    assert!(!caps.update && !caps.archive && !caps.delete && !caps.stores_key);
    let err = client
        .update("most-active", "k", &payload("Most Active", vec![]))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unsupported);
    assert!(
        err.message.contains("GoSquared's People API documentation"),
        "{err}"
    );
    let err = client.archive("most-active").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unsupported);
    assert!(
        sandbox.running.controls.requests().is_empty(),
        "no call made"
    );
}

#[tokio::test]
async fn the_sandbox_refuses_bad_create_bodies_with_documented_codes() {
    let (sandbox, client) = start(Seed::Empty).await;
    let err = client
        .create("k", &payload("  ", vec![]))
        .await
        .unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::InvalidRequest, 1));
    assert!(
        err.message.contains("4003") && err.message.contains("name"),
        "{err}"
    );
    // Bodies the client never sends, straight at the sandbox.
    let http = reqwest::Client::new();
    let url = format!(
        "{}/people/v1/smartgroups?api_key={API_KEY}&site_token={SITE_TOKEN}",
        sandbox.url()
    );
    for (body, code) in [
        (json!({"filters": []}), 4000),
        (json!({"name": "x"}), 4000),
        (json!({"name": "x", "filters": "all"}), 4003),
        (json!([{"name": "x", "filters": []}]), 4003),
    ] {
        let answer = http.post(&url).json(&body).send().await.unwrap();
        assert_eq!(answer.status(), 400);
        let got: Json = answer.json().await.unwrap();
        assert_eq!(got["code"], code, "{body}");
    }
    assert!(sandbox.groups().is_empty());
}

#[tokio::test]
async fn both_error_envelopes_map_by_code_before_status() {
    let (sandbox, client) = start(Seed::Empty).await;
    let cases = [
        (
            401,
            json!({"code": 4001, "message": "Your API Key is not authorised for this endpoint"}),
            ErrorKind::Auth,
        ),
        (
            200,
            json!({"success": false, "error": {"code": 4001, "message": "no"}}),
            ErrorKind::Auth,
        ),
        (
            400,
            json!({"code": 4000, "message": "Error 4000: missing site_token"}),
            ErrorKind::InvalidRequest,
        ),
        (
            400,
            json!({"success": false, "error": {"code": 4003, "message": "Error 4003: bad sort"}}),
            ErrorKind::InvalidRequest,
        ),
        // Body code first: a 404 whose body says 4001 is an auth failure.
        (404, json!({"code": 4001, "message": "no"}), ErrorKind::Auth),
        // 4004 "invalid parameter value": an unknown id on a 404, else a bad value.
        (
            404,
            json!({"code": 4004, "message": "Error 4004: groupID"}),
            ErrorKind::NotFound,
        ),
        (
            400,
            json!({"code": 4004, "message": "Error 4004: sort"}),
            ErrorKind::InvalidRequest,
        ),
        // Codes §7 does not tabulate: the status decides.
        (
            403,
            json!({"code": 7001, "message": "Error 7001: plan"}),
            ErrorKind::PermissionDenied,
        ),
        (
            200,
            json!({"success": false, "error": {"code": 1011, "message": "params too large"}}),
            ErrorKind::InvalidRequest,
        ),
    ];
    for (status, body, kind) in cases {
        sandbox.answer_next(status, body.clone(), None);
        let err = client
            .list_groups(&sgsync::model::Directory::none())
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind, err.attempts),
            (kind, 1),
            "{status} {body}: {err}"
        );
    }
    sandbox.answer_next(
        400,
        json!({"code": 4003, "message": "Error 4003: Invalid parameter: limit"}),
        None,
    );
    let err = client.group_members("x").await.unwrap_err();
    assert!(err.message.contains("limit"), "keeps the parameter: {err}");
    // 5xxx and 0 are server errors: retried, then reported.
    for _ in 0..4 {
        sandbox.answer_next(
            500,
            json!({"success": false, "error": {"code": 0, "message": "?"}}),
            None,
        );
    }
    sandbox.running.controls.clear_log();
    let err = client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::Server, 4), "{err}");
    assert_eq!(sandbox.running.controls.requests().len(), 4);
}

#[tokio::test]
async fn rate_limit_code_4002_waits_for_retry_after_then_succeeds() {
    let (sandbox, client) = start(Seed::Demo).await;
    sandbox.answer_next(
        429,
        json!({"code": 4002, "message": "Error 4002: rate limit"}),
        Some(1),
    );
    assert_eq!(
        client
            .list_groups(&sgsync::model::Directory::none())
            .await
            .unwrap()
            .len(),
        9
    );
    let log = sandbox.running.controls.requests();
    assert_eq!(log.len(), 2);
    let waited = log[1].at.duration_since(log[0].at).unwrap();
    assert!(waited >= Duration::from_secs(1), "retried after {waited:?}");
}

#[tokio::test]
async fn server_errors_and_429s_are_retried_and_counted_in_the_log() {
    let (sandbox, client) = start(Seed::Demo).await;
    let controls = &sandbox.running.controls;
    controls.script([Fault::Status(503), Fault::Status(500), Fault::Truncate]);
    assert_eq!(
        client
            .list_groups(&sgsync::model::Directory::none())
            .await
            .unwrap()
            .len(),
        9
    );
    let log = controls.requests();
    assert_eq!(log.len(), 4);
    assert_eq!(log.iter().filter(|r| r.fault.is_some()).count(), 3);

    controls.clear_log();
    controls.script([Fault::RateLimited {
        retry_after_secs: 1,
    }]);
    client.get_group("most-active").await.unwrap().unwrap();
    let log = controls.requests();
    assert_eq!(log.len(), 2);
    assert!(log[1].at.duration_since(log[0].at).unwrap() >= Duration::from_secs(1));

    // A create is resent after a 429 (certainly not processed), not after a 500.
    controls.clear_log();
    controls.script([Fault::RateLimited {
        retry_after_secs: 1,
    }]);
    client
        .create("k", &payload("After 429", vec![]))
        .await
        .unwrap();
    assert_eq!(controls.requests().len(), 2);
    controls.clear_log();
    controls.script([Fault::Status(500)]);
    let err = client
        .create("k", &payload("After 500", vec![]))
        .await
        .unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::Server, 1));
    assert_eq!(controls.requests().len(), 1);
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_not_resent_and_is_found_by_name() {
    let (sandbox, client) = start(Seed::Empty).await;
    sandbox
        .running
        .controls
        .script([Fault::LoseResponse(Duration::from_secs(2))]);
    let p = payload("Lost Answer", vec![visits_over(3)]);
    let err = client.create("k", &p).await.unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::Timeout, 1), "{err}");
    let posts = sandbox
        .running
        .controls
        .count(&reqwest::Method::POST, "/people/v1/smartgroups");
    assert_eq!(posts, 1, "not resent");
    assert_eq!(sandbox.groups().len(), 1, "exactly one group exists");
    // What the engine does with an unresolved intent.
    let found = client
        .find_by_key("Lost Answer", "k")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "lost-answer");
}

#[tokio::test]
async fn a_lost_write_leaves_no_group() {
    let (sandbox, client) = start(Seed::Empty).await;
    sandbox.running.controls.script([Fault::LoseWrite]);
    let id = client.create("k", &payload("Ghost", vec![])).await.unwrap();
    assert_eq!(id, "ghost");
    assert!(sandbox.groups().is_empty(), "rolled back");
    assert_eq!(client.get_group("ghost").await.unwrap(), None);
}

#[tokio::test]
async fn a_cardinality_beyond_the_list_is_malformed() {
    let (sandbox, client) = start(Seed::Empty).await;
    let mut answer: Json = serde_json::from_str(FIXTURE).unwrap();
    answer["cardinality"] = json!(12);
    sandbox.answer_next(200, answer, None);
    let err = client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::Malformed, 1));
    assert!(err.message.contains("cardinality says 12"), "{err}");
}

#[tokio::test]
async fn demo_groups_have_members() {
    let (sandbox, client) = start(Seed::Demo).await;
    let most_active = client.group_members("most-active").await.unwrap();
    assert!(!most_active.is_empty() && most_active.len() < sandbox.people_count());
    assert!(most_active.iter().any(|p| p.email.is_some()));
    let everyone = client.group_members("recently-created-1").await.unwrap();
    assert_eq!(everyone.len(), sandbox.people_count(), "[] is everyone");
    let err = client.group_members("no-such-group").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    let log = sandbox.running.controls.requests();
    let q = log[0].query.as_deref().unwrap();
    assert!(
        q.contains("fields=id%2Cemail%2Cname") && q.contains("limit=0%2C250"),
        "{q}"
    );
}

#[tokio::test]
async fn members_and_people_page_past_250() {
    let (sandbox, client) = start(Seed::Empty).await;
    for i in 0..620 {
        let visits = if i % 10 == 0 { 1 } else { 5 };
        sandbox.add_person(json!({
            "id": format!("p{i:04}"),
            "email": format!("p{i}@example.org"),
            "name": format!("Person {i}"),
            "totals": {"visits": visits},
        }));
    }
    let id = sandbox.add_group("Returning", vec![visits_over(1)]);
    let members = client.group_members(&id).await.unwrap();
    assert_eq!(members.len(), 558);
    let mut ids: Vec<&str> = members.iter().map(|p| p.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 558, "no person twice across pages");
    let limits: Vec<String> = sandbox
        .running
        .controls
        .requests()
        .iter()
        .filter_map(|r| r.query.clone())
        .map(|q| {
            q.split('&')
                .find(|p| p.starts_with("limit="))
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        limits,
        ["limit=0%2C250", "limit=250%2C250", "limit=500%2C250"]
    );
    assert_eq!(PAGE_SIZE, 250);

    let everyone = client.people(&[]).await.unwrap();
    assert_eq!(everyone.len(), 620);
    let once = client
        .people(&[json!({"key": "and", "filters": [visits_over(4)]})])
        .await
        .unwrap();
    assert_eq!(once.len(), 558);
    assert_eq!(
        once[0]
            .email
            .as_deref()
            .map(|e| e.ends_with("@example.org")),
        Some(true)
    );
}

#[tokio::test]
async fn the_sandbox_speaks_the_documented_paging_and_rate_headers() {
    let (sandbox, _client) = start(Seed::Demo).await;
    let http = reqwest::Client::new();
    let base = format!(
        "{}/people/v1/people?api_key={API_KEY}&site_token={SITE_TOKEN}",
        sandbox.url()
    );
    let answer = http
        .get(format!("{base}&limit=0,251"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let h = answer.headers().clone();
    assert_eq!(answer.json::<Json>().await.unwrap()["code"], 4003);
    assert_eq!(h["x-ratelimit-limit"], "750");
    assert_eq!(h["x-ratelimit-cost"], "1");
    assert_eq!(h["x-ratelimit-remaining"], "749");
    let answer = http
        .get(format!(
            "{base}&limit=2,3&fields=id,last.seen&sort=totals.visits:desc"
        ))
        .send()
        .await
        .unwrap();
    // The bucket refills continuously (12.5 units a second), so a slow second call may
    // find the unit of the first one back.
    let remaining = answer.headers()["x-ratelimit-remaining"].to_str().unwrap();
    assert!(["748", "749"].contains(&remaining), "{remaining}");
    assert!(answer.headers().contains_key("x-ratelimit-full"));
    let page: Json = answer.json().await.unwrap();
    let rows = page["list"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(page["cardinality"], sandbox.people_count());
    for row in rows {
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "last"], "fields restrict the row");
        assert!(row["last"]["seen"].is_string());
    }
    let answer = http
        .get(format!("{base}&filters=notjson"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let answer = http
        .delete(format!(
            "{}/people/v1/smartgroups/most-active?api_key={API_KEY}&site_token={SITE_TOKEN}",
            sandbox.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 405, "no documented delete");
}

#[tokio::test]
async fn the_docs_example_filter_is_accepted_and_selects_by_email() {
    let (sandbox, client) = start(Seed::Empty).await;
    sandbox.add_person(json!({"id": "a", "email": "dev@GoSquared.com", "name": "A"}));
    sandbox.add_person(json!({"id": "b", "email": "x@example.org"}));
    sandbox.add_person(json!({"id": "c"}));
    // The seed page's example: key 'property', path 'email', operator 'contains',
    // value 'GoSquared'.
    let example =
        json!({"key": "property", "path": "email", "operator": "contains", "value": "GoSquared"});
    let id = client
        .create("k", &payload("GoSquared staff", vec![example.clone()]))
        .await
        .unwrap();
    let g = client.get_group(&id).await.unwrap().unwrap();
    let back = translate(&g.decoded, sgsync_gosquared::KIND, &Maps::default());
    assert!(back.fidelity.is_exact(), "{:?}", back.fidelity);
    let members = client.group_members(&id).await.unwrap();
    assert_eq!(
        members.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["a"]
    );
    // A node nobody can read selects nobody.
    let odd = json!({"key": "property", "path": "email", "operator": "sounds-like", "value": "x"});
    let id = sandbox.add_group("Odd", vec![odd]);
    assert!(client.group_members(&id).await.unwrap().is_empty());
}

#[tokio::test]
async fn demo_groups_recreated_from_their_translation_read_back_the_same() {
    let (demo, client) = start(Seed::Demo).await;
    let (empty, target) = start(Seed::Empty).await;
    let maps = Maps::default();
    for g in client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap()
    {
        let t = translate(&g.decoded, sgsync_gosquared::KIND, &maps);
        let id = target
            .create("k", t.payload.as_ref().unwrap())
            .await
            .unwrap();
        // `recently-created-1` was itself a suffixed id; a fresh project gives the slug.
        assert_eq!(id.trim_end_matches("-1"), g.id.trim_end_matches("-1"));
    }
    let originals = demo.groups();
    let copies = empty.groups();
    assert_eq!(originals.len(), copies.len());
    for (a, b) in originals.iter().zip(&copies) {
        assert_eq!((&a.name, &a.filters), (&b.name, &b.filters));
    }
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused() {
    let sandbox = Sandbox::start(Seed::Demo).await.unwrap();
    let none = sgsync::model::Directory::none();
    // The list is read as it arrives, so only the stream's cap bounds it: an account's
    // every group may be far more than one answer held whole.
    let mut small = settings();
    small.max_body_bytes = 64;
    let client = GoSquaredClient::new(sandbox.config(), small.clone(), Arc::default()).unwrap();
    assert_eq!(client.list_groups(&none).await.unwrap().len(), 9);
    let err = client.get_group("most-active").await.unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::BodyTooLarge, 1));
    small.max_streamed_bytes = 512;
    let client = GoSquaredClient::new(sandbox.config(), small, Arc::default()).unwrap();
    let err = client.list_groups(&none).await.unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::BodyTooLarge, 1));
    assert!(err.to_string().contains("512-byte cap"), "{err}");
}

#[tokio::test]
async fn credentials_travel_only_in_query_strings_and_reach_no_log_or_error() {
    let logs = common::capture_logs();

    let (sandbox, client) = start(Seed::Demo).await;
    client.check().await.unwrap();
    client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap();
    client.group_members("most-active").await.unwrap();
    client
        .create("k", &payload("Leak Test", vec![]))
        .await
        .unwrap();
    sandbox
        .running
        .controls
        .script(std::iter::repeat_n(Fault::Status(500), 4));
    let served = client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap_err();
    // A server that echoes the query string in its message.
    sandbox.answer_next(
        400,
        json!({"code": 4003, "message": format!("bad api_key={API_KEY}&site_token={SITE_TOKEN}")}),
        None,
    );
    let echoed = client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap_err();
    assert!(echoed.message.contains("[redacted]"), "{echoed}");
    let mut config = sandbox.config();
    config.base_url = "http://127.0.0.1:1".into();
    let refused = client_for(config.clone())
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Connect);

    let logged = logs.text();
    assert!(logged.contains("provider_call"), "the calls were traced");
    for text in [
        format!("{served} {served:?}"),
        format!("{echoed} {echoed:?}"),
        format!("{refused} {refused:?}"),
        format!("{client:?} {config:?}"),
        logged,
    ] {
        for secret in [API_KEY, SITE_TOKEN] {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
    let log = sandbox.running.controls.requests();
    assert!(log.len() >= 8);
    for r in &log {
        let q = r.query.as_deref().unwrap_or("");
        assert!(q.contains(&format!("api_key={API_KEY}")), "{} {q}", r.path);
        if r.path != "/auth/v1/tokeninfo" {
            assert!(
                q.contains(&format!("site_token={SITE_TOKEN}")),
                "{} {q}",
                r.path
            );
        }
        let elsewhere = format!(
            "{} {:?} {}",
            r.path,
            r.headers,
            String::from_utf8_lossy(&r.body)
        );
        for secret in [API_KEY, SITE_TOKEN] {
            assert!(
                !elsewhere.contains(secret),
                "{secret} outside the query: {elsewhere}"
            );
        }
    }
}

#[tokio::test]
async fn a_group_list_answer_without_its_list_is_an_error_not_one_group_or_none() {
    use sgsync::sandbox::FaultPlan;
    let (sandbox, client) = start(Seed::Demo).await;
    let controls = &sandbox.running.controls;
    let answer = |body: &str| {
        // Every attempt of the (retried) read gets it.
        controls.set_plan(FaultPlan {
            only_paths: vec!["/people/v1/smartgroups".to_owned()],
            script: std::iter::repeat_n(
                Fault::Body {
                    status: 200,
                    body: body.to_owned(),
                },
                10,
            )
            .collect(),
            ..FaultPlan::default()
        });
    };
    // A bare group where the list was asked for: the other eight would look deleted,
    // and absent to a create's lookup by name.
    let bare = r#"{"id":"most-active","name":"Most Active","filters":[]}"#;
    answer(bare);
    let list = client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap_err();
    answer(bare);
    let names = client.group_names(1).await.unwrap_err();
    answer(bare);
    let found = client.find_by_key("Test Group", "k").await.unwrap_err();
    for err in [list, names, found] {
        assert_eq!(err.kind, ErrorKind::Malformed, "{err}");
        assert!(
            err.message
                .starts_with("unexpected answer: list: is missing"),
            "{err}"
        );
    }
    answer(r#"{"cardinality":9}"#);
    let err = client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap_err();
    assert!(err.message.contains("list: is missing"), "{err}");
    // The empty list GoSquared sent is an empty list.
    answer(r#"{"list":[],"cardinality":0}"#);
    assert_eq!(
        client
            .list_groups(&sgsync::model::Directory::none())
            .await
            .unwrap(),
        []
    );
    answer(r#"{"list":[],"cardinality":0}"#);
    assert_eq!(client.find_by_key("Test Group", "k").await.unwrap(), None);
    controls.set_plan(FaultPlan::default());
    assert_eq!(
        client
            .list_groups(&sgsync::model::Directory::none())
            .await
            .unwrap()
            .len(),
        9
    );
}
