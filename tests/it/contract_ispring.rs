//! Contract tests: the iSpring client against the iSpring sandbox. Attempts, token
//! requests and waits are counted from the sandbox's request log, never timed.

use crate::common;

use reqwest::Method;
use secrecy::SecretString;
use sgsync::model::mapping::Maps;
use sgsync::provider::http::HttpSettings;
use sgsync::provider::{ErrorKind, Provider};
use sgsync::sandbox::ispring::{self as sandbox, Sandbox, ids};
use sgsync::sandbox::{Fault, LoggedRequest, Seed};
use sgsync_emfluence::wire::GroupSave;
use sgsync_ispring::client::{IspringClient, IspringConfig, IspringCredentials};
use sgsync_ispring::dialect;
use sgsync_ispring::wire::{self, Rules, SmartGroupPayload, SmartGroupXml, WireRule};
use std::sync::Arc;
use std::time::Duration;

const TOKEN_PATH: &str = "/api/v3/token";

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

fn client(config: IspringConfig) -> IspringClient {
    IspringClient::new(config, settings(), Arc::new(Maps::default())).expect("client builds")
}

async fn demo() -> Sandbox {
    Sandbox::start(Seed::Demo).await.expect("sandbox starts")
}

fn rule(t: u8, id: Option<&str>, op: u8, value: &str) -> WireRule {
    WireRule {
        attribute_type: t,
        attribute_id: id.map(str::to_owned),
        operator: op,
        value: value.to_owned(),
    }
}

/// (EMEA and below OR Newsletter members) AND job title = Sales Manager.
fn payload(name: &str) -> SmartGroupPayload {
    SmartGroupPayload {
        name: name.to_owned(),
        rules: vec![
            vec![
                rule(1, None, 2, ids::EMEA),
                rule(2, None, 1, ids::NEWSLETTER),
            ],
            vec![rule(3, Some("JOB_TITLE"), 1, "Sales Manager")],
        ],
    }
}

fn soap_requests(s: &Sandbox) -> Vec<LoggedRequest> {
    s.running
        .controls
        .requests()
        .into_iter()
        .filter(|r| r.path == sandbox::SOAP_PATH)
        .collect()
}

fn token_requests(s: &Sandbox) -> usize {
    s.running.controls.count(&Method::POST, TOKEN_PATH)
}

fn body(r: &LoggedRequest) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// A token the sandbox issued, fetched by hand (for raw seed requests).
async fn raw_token(s: &Sandbox) -> String {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{}{TOKEN_PATH}", s.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "client_id={}&client_secret={}&grant_type=client_credentials",
            sandbox::CLIENT_ID,
            sandbox::CLIENT_SECRET
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["expires_in"], 1800);
    assert_eq!(answer["token_type"], "bearer");
    answer["access_token"].as_str().unwrap().to_owned()
}

async fn post_soap(s: &Sandbox, xml: String) -> (u16, String) {
    // The documented SOAPAction: the request element's method, camelCase (§10.1).
    let action = sandbox::parse_soap_call(&xml)
        .map(|c| sandbox::action_for(&c.method))
        .unwrap_or_default();
    let r = reqwest::Client::new()
        .post(format!("{}{}", s.url(), sandbox::SOAP_PATH))
        .header("content-type", "text/xml; charset=utf-8")
        .header("soapaction", action)
        .body(xml)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

// -- the seed samples --------------------------------------------------------------

/// The seeds with their documented typos fixed (ispring.md §7.1; `JON_TITLE` is a second
/// slip in seed 001) and their placeholders replaced by ids the sandbox knows.
fn seed(file: &str, token: &str) -> String {
    let raw = std::fs::read_to_string(format!("tests/fixtures/ispring/{file}")).unwrap();
    raw.replace(
        "<attributeType>1<attributeType>",
        "<attributeType>1</attributeType>",
    )
    .replace("JON_TITLE", "JOB_TITLE")
    .replace("p-1sJDjmULL5DdpXPJTcbm4jVIaWVHvNmrjAxATRbNE", token)
    .replace("id_department", ids::SALES)
    .replace("id_group", ids::NEWSLETTER)
}

#[tokio::test]
async fn the_seed_requests_are_accepted_by_the_sandbox_and_read_by_the_client() {
    let s = Sandbox::start(Seed::Empty).await.unwrap();
    let token = raw_token(&s).await;

    let (status, answer) = post_soap(&s, seed("add_request_seed.xml", &token)).await;
    assert_eq!(status, 200, "{answer}");
    let id = wire::parse_add_result(&answer).unwrap();
    let created = s.smart_groups();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].name, " NEW GROUP", "the name is kept verbatim");
    assert_eq!(created[0].rules.as_ref().unwrap()[0].len(), 3);

    let update = seed("update_request_seed.xml", &token)
        .replace("06a7dcfe-e05a-11e9-b1e5-0a580af40b37", &id);
    let (status, answer) = post_soap(&s, update).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains(sandbox::PLACEHOLDER_NAMESPACE));
    assert!(wire::parse_success(&answer).unwrap());
    assert_eq!(s.smart_groups()[0].name, "NEW GROUP");

    // The client reads what the seeds created.
    let c = client(s.config());
    let groups = c
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].id, id);
    assert!(
        groups[0].decoded.uncertain.is_empty(),
        "REST read is nested"
    );

    // As printed (malformed) or with the placeholders left in: `Wrong parameters`.
    let raw = std::fs::read_to_string("tests/fixtures/ispring/add_request_seed.xml")
        .unwrap()
        .replace("p-1sJDjmULL5DdpXPJTcbm4jVIaWVHvNmrjAxATRbNE", &token);
    for bad in [
        raw,
        seed("add_request_seed.xml", &token).replace(ids::SALES, "id_department"),
    ] {
        let (status, answer) = post_soap(&s, bad).await;
        assert_eq!(status, 500);
        assert!(
            matches!(wire::parse_groups(&answer), Err(wire::WireError::Fault { code, message })
                if code == "client" && message == "Wrong parameters"),
            "{answer}"
        );
    }
    // The seed's placeholder token is refused.
    let stale = seed(
        "add_request_seed.xml",
        "p-1sJDjmULL5DdpXPJTcbm4jVIaWVHvNmrjAxATRbNE",
    );
    let (_, answer) = post_soap(&s, stale).await;
    assert!(answer.contains("Authorization failed"), "{answer}");
}

// -- happy paths -------------------------------------------------------------------

#[tokio::test]
async fn check_departments_and_profile_fields() {
    let s = demo().await;
    let c = client(s.config());
    c.check().await.unwrap();
    let departments = c.departments().await.unwrap();
    assert_eq!(departments, s.departments());
    let emea = departments.iter().find(|d| d.id == ids::EMEA).unwrap();
    assert_eq!(emea.parent_id.as_deref(), Some(ids::SALES));
    assert!(departments.iter().any(|d| d.parent_id.is_none()));
    let fields = c.profile_fields().await.unwrap();
    let ids_of: Vec<&str> = fields.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids_of,
        ["FIRST_NAME", "LAST_NAME", "EMAIL", "JOB_TITLE", "COUNTRY"]
    );
    let country = fields.iter().find(|f| f.id == "COUNTRY").unwrap();
    assert!(
        country
            .values
            .iter()
            .any(|v| v.name == "Canada" && v.value == "124")
    );
    // Every SOAP request carried the documented headers and credentials first.
    for r in soap_requests(&s) {
        assert_eq!(r.headers["content-type"], "text/xml; charset=utf-8");
        let text = body(&r);
        let call = sandbox::parse_soap_call(&text).unwrap();
        assert_eq!(r.headers["soapaction"], sandbox::action_for(&call.method));
        assert!(
            !r.headers["soapaction"].is_empty() && r.headers["soapaction"] != "\"\"",
            "every SOAP call names its method"
        );
        assert!(text.contains("xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\""));
        assert!(text.contains("xmlns=\"http://ispringlearn.com/go/services/api/soap\""));
        let call = sandbox::parse_soap_call(&text).unwrap();
        assert!(call.credentials_first);
    }
}

#[tokio::test]
async fn listing_skips_plain_groups_and_reads_nested_rules_over_rest() {
    let s = demo().await;
    let c = client(s.config());
    let groups = c
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["Sales managers in Canada", "Support or Marketing"]);
    assert!(groups.iter().all(|g| g.decoded.uncertain.is_empty()));
    assert_eq!(
        s.running.controls.count(&Method::GET, "/group/smart/"),
        5,
        "one rules read per group, plain ones answered 404"
    );
    assert!(c.get_group(ids::NEWSLETTER).await.unwrap().is_none());
    assert!(c.get_group("no-such-group").await.unwrap().is_none());
    let one = c.get_group(&groups[1].id).await.unwrap().unwrap();
    assert_eq!(one, groups[1]);
}

#[tokio::test]
async fn create_update_and_read_back_round_trip() {
    let s = Sandbox::start(Seed::Empty).await.unwrap();
    let c = client(s.config());
    let maps = Maps::default();
    let sent = payload("EMEA sales managers & friends <3");
    let id = c
        .create("sgsync:gosquared:x", &sgsync_ispring::payload(sent.clone()))
        .await
        .unwrap();
    assert_eq!(id.len(), 36, "a UUID-like id: {id}");
    assert_eq!(s.smart_groups()[0].rules.as_ref(), Some(&sent.rules));

    let expected = |p: &SmartGroupPayload| {
        dialect::decode(
            &SmartGroupXml {
                id: Some(id.clone()),
                name: Some(p.name.clone()),
                rules: Rules::Nested(p.rules.clone()),
                inferred: Vec::new(),
            },
            &maps,
        )
    };
    let read = c.get_group(&id).await.unwrap().unwrap();
    assert_eq!(
        read.decoded,
        expected(&sent),
        "REST read-back equals what was sent"
    );

    let mut changed = payload("Renamed");
    changed.rules = vec![vec![rule(3, Some("COUNTRY"), 1, ids::CANADA)]];
    c.update(&id, "k", &sgsync_ispring::payload(changed.clone()))
        .await
        .unwrap();
    let update = soap_requests(&s)
        .into_iter()
        .map(|r| body(&r))
        .find(|b| b.contains("UpdateSmartGroupRequest"))
        .unwrap();
    let call = sandbox::parse_soap_call(&update).unwrap();
    assert_eq!(call.name.as_deref(), Some("Renamed"), "name always sent");
    assert!(call.rules.is_some(), "rules always sent");
    let read = c.get_group(&id).await.unwrap().unwrap();
    assert_eq!(read.name, "Renamed");
    assert_eq!(read.decoded, expected(&changed));
    assert_eq!(
        c.find_by_key("Renamed", "k").await.unwrap().map(|g| g.id),
        Some(id.clone())
    );
    assert!(c.find_by_key("renamed", "k").await.unwrap().is_none());

    c.delete(&id).await.unwrap();
    assert!(s.smart_groups().is_empty(), "archive deletes");
    // Deleting again (the first answer lost, or a run killed before recording it) is
    // NotFound, which the engine takes as done; never a lasting InvalidRequest.
    assert_eq!(c.delete(&id).await.unwrap_err().kind, ErrorKind::NotFound);
    assert!(c.get_group(&id).await.unwrap().is_none());
    let caps = c.capabilities();
    assert!(caps.delete && !caps.archive && caps.holds_rules && !caps.stores_key);
}

#[tokio::test]
async fn the_flat_soap_read_is_marked_uncertain() {
    let s = Sandbox::start(Seed::Empty).await.unwrap();
    let c = client(s.login_config());
    let id = c
        .create("k", &sgsync_ispring::payload(payload("Flat")))
        .await
        .unwrap();
    let read = c.get_group(&id).await.unwrap().unwrap();
    assert!(!read.decoded.uncertain.is_empty(), "{:?}", read.decoded);
    assert_eq!(s.running.controls.count(&Method::GET, "/group/"), 0);
    // A single rule survives the flat read exactly.
    let single = SmartGroupPayload {
        name: "One".to_owned(),
        rules: vec![vec![rule(1, None, 1, ids::SUPPORT)]],
    };
    let id = c
        .create("k", &sgsync_ispring::payload(single))
        .await
        .unwrap();
    assert!(
        c.get_group(&id)
            .await
            .unwrap()
            .unwrap()
            .decoded
            .uncertain
            .is_empty()
    );
}

#[tokio::test]
async fn duplicate_names_are_a_conflict_naming_both_ids() {
    let s = Sandbox::start(Seed::Empty).await.unwrap();
    let c = client(s.config());
    let a = c
        .create("k", &sgsync_ispring::payload(payload("Twin")))
        .await
        .unwrap();
    let b = c
        .create("k", &sgsync_ispring::payload(payload("Twin")))
        .await
        .unwrap();
    assert_ne!(a, b, "iSpring does not refuse a duplicate name (§3.2)");
    let err = c.find_by_key("Twin", "k").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(
        err.message.contains(&a) && err.message.contains(&b),
        "{err}"
    );
}

#[tokio::test]
async fn group_users_lists_members_of_plain_and_smart_groups() {
    let s = demo().await;
    let c = client(s.config());
    let plain = c.group_users(ids::MANAGERS).await.unwrap();
    assert_eq!(plain.is_smart, Some(false));
    assert_eq!(plain.user_ids, s.members(ids::MANAGERS));
    let smart_id = &s.smart_groups()[0].id;
    let smart = c.group_users(smart_id).await.unwrap();
    assert_eq!(smart.is_smart, Some(true));
    // Katherine Johnson: Americas (under Sales), Sales Manager, Canada.
    assert_eq!(smart.user_ids, ["e0000000-0000-11f0-8000-000000000005"]);
    let soap_only = client(s.login_config());
    let err = soap_only.group_users(ids::MANAGERS).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unsupported);
}

#[tokio::test]
async fn a_payload_of_another_provider_is_a_config_error() {
    let s = demo().await;
    let c = client(s.config());
    let other = sgsync_emfluence::payload(GroupSave {
        group_id: None,
        group_name: "x".to_owned(),
        description: String::new(),
        status: "Active".to_owned(),
        private: 1,
        external_id: None,
        notes: String::new(),
    });
    assert_eq!(
        c.create("k", &other).await.unwrap_err().kind,
        ErrorKind::Config
    );
    assert_eq!(
        c.update("id", "k", &other).await.unwrap_err().kind,
        ErrorKind::Config
    );
    assert!(s.running.controls.requests().is_empty());
}

// -- tokens ------------------------------------------------------------------------

#[tokio::test]
async fn a_token_is_issued_once_and_shared_by_concurrent_calls() {
    let s = demo().await;
    let c = Arc::new(client(s.config()));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.check().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    c.list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap();
    assert_eq!(token_requests(&s), 1);
    let token_call = &s
        .running
        .controls
        .requests()
        .into_iter()
        .find(|r| r.path == TOKEN_PATH)
        .unwrap();
    assert_eq!(
        token_call.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert!(body(token_call).contains("grant_type=client_credentials"));
}

#[tokio::test]
async fn a_token_near_its_expiry_is_refreshed_before_use() {
    let s = demo().await;
    // Less than the five-minute margin from the start: every call refreshes first.
    s.set_token_lifetime(Duration::from_secs(1));
    let c = client(s.config());
    c.check().await.unwrap();
    c.check().await.unwrap();
    assert_eq!(token_requests(&s), 2);
    let tokens: Vec<String> = soap_requests(&s)
        .iter()
        .map(|r| {
            sandbox::parse_soap_call(&body(r))
                .unwrap()
                .credentials
                .unwrap()
                .token
                .unwrap()
        })
        .collect();
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1], "the second call used the new token");
}

#[tokio::test]
async fn an_authorization_fault_refreshes_the_token_and_resends_once() {
    let s = demo().await;
    let c = client(s.config());
    c.check().await.unwrap();
    s.expire_tokens();
    // Even a create: a refused login did nothing, so it may be sent again.
    let id = c
        .create("k", &sgsync_ispring::payload(payload("After expiry")))
        .await
        .unwrap();
    assert_eq!(token_requests(&s), 2);
    let adds: Vec<_> = soap_requests(&s)
        .into_iter()
        .filter(|r| body(r).contains("AddSmartGroupRequest"))
        .collect();
    assert_eq!(adds.len(), 2, "refused once, resent once");
    assert_eq!(s.smart_groups().iter().filter(|g| g.id == id).count(), 1);

    // REST too.
    s.expire_tokens();
    c.get_group(&id).await.unwrap().unwrap();
    assert_eq!(token_requests(&s), 3);
}

#[tokio::test]
async fn a_refused_login_or_api_key_is_auth_and_not_retried() {
    let s = demo().await;
    let mut login = s.login_config();
    login.credentials = IspringCredentials::Login {
        account_url: sandbox::ACCOUNT_URL.to_owned(),
        email: sandbox::EMAIL.to_owned(),
        password: SecretString::from("wrong-password"),
    };
    let err = client(login).check().await.unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::Auth, 1));
    assert_eq!(soap_requests(&s).len(), 1);

    let mut key = s.config();
    key.credentials = IspringCredentials::Token {
        token_url: format!("{}{TOKEN_PATH}", s.url()),
        client_id: sandbox::CLIENT_ID.to_owned(),
        client_secret: SecretString::from("wrong-secret"),
    };
    let err = client(key).check().await.unwrap_err();
    assert_eq!(
        (err.kind, err.operation.as_str()),
        (ErrorKind::Auth, "token")
    );
    assert_eq!(token_requests(&s), 1);
    assert_eq!(soap_requests(&s).len(), 1, "no SOAP call without a token");
}

// -- faults and retries ------------------------------------------------------------

#[tokio::test]
async fn every_documented_fault_maps_to_its_kind_and_is_not_retried() {
    let s = demo().await;
    let c = client(s.login_config());
    for (faultstring, kind) in [
        ("Permission denied", ErrorKind::PermissionDenied),
        ("Permission Denied", ErrorKind::PermissionDenied),
        (
            "Account subscription expired",
            ErrorKind::SubscriptionExpired,
        ),
        ("Wrong Parameters", ErrorKind::InvalidRequest),
        ("Unknown group", ErrorKind::NotFound),
        ("URL is busy", ErrorKind::InvalidRequest),
    ] {
        s.refuse_with(Some(faultstring));
        s.running.controls.clear_log();
        let err = c.check().await.unwrap_err();
        assert_eq!((err.kind, err.attempts), (kind, 1), "{faultstring}: {err}");
        assert!(err.message.contains(faultstring), "{err}");
        assert_eq!(soap_requests(&s).len(), 1, "{faultstring} not retried");
    }
    s.refuse_with(None);
    s.running.controls.clear_log();

    // Real refusals by the sandbox's own checks.
    let err = c
        .update("no-such-group", "k", &sgsync_ispring::payload(payload("x")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "Unknown Group: {err}");
    let mut bad = payload("Bad");
    bad.rules = vec![vec![rule(1, None, 3, ids::SALES)]];
    let err = c
        .create("k", &sgsync_ispring::payload(bad))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest, "{err}");
    let mut unknown_field = payload("Bad");
    unknown_field.rules = vec![vec![rule(3, Some("SHOE_SIZE"), 1, "42")]];
    let err = c
        .create("k", &sgsync_ispring::payload(unknown_field))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    // removeGroup answers `Wrong parameters` for an unknown id; the group list, read
    // once, shows it is absent: NotFound, so a delete that already happened converges.
    let err = c.delete("no-such-group").await.unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::NotFound,
        "removeGroup: Wrong parameters"
    );
    assert_eq!(
        soap_requests(&s).len(),
        5,
        "one request each, none retried, and one getGroups"
    );
    assert!(s.smart_groups().len() == 2);
}

#[tokio::test]
async fn server_errors_and_malformed_answers_are_retried_for_reads() {
    let s = demo().await;
    let c = client(s.login_config());
    s.running
        .controls
        .script([Fault::Status(503), Fault::Status(500), Fault::Malformed]);
    c.departments().await.unwrap();
    let log = soap_requests(&s);
    assert_eq!(log.len(), 4);
    assert_eq!(log.iter().filter(|r| r.fault.is_some()).count(), 3);
}

#[tokio::test]
async fn a_rate_limit_is_waited_out() {
    let s = demo().await;
    let c = client(s.login_config());
    s.running.controls.script([Fault::RateLimited {
        retry_after_secs: 1,
    }]);
    c.check().await.unwrap();
    let log = soap_requests(&s);
    assert_eq!(log.len(), 2);
    let waited = log[1].at.duration_since(log[0].at).unwrap();
    assert!(waited >= Duration::from_secs(1), "retried after {waited:?}");
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_not_resent_and_is_found_by_name() {
    let s = Sandbox::start(Seed::Empty).await.unwrap();
    let c = client(s.login_config());
    s.running
        .controls
        .script([Fault::LoseResponse(Duration::from_secs(2))]);
    let err = c
        .create("k", &sgsync_ispring::payload(payload("Lost answer")))
        .await
        .unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::Timeout, 1));
    assert_eq!(soap_requests(&s).len(), 1, "not resent");
    assert_eq!(s.smart_groups().len(), 1, "the write happened once");
    let found = c.find_by_key("Lost answer", "k").await.unwrap().unwrap();
    assert_eq!(found.id, s.smart_groups()[0].id);

    // A 5xx on a create is not resent either.
    s.running.controls.clear_log();
    s.running.controls.script([Fault::Status(503)]);
    let err = c
        .create("k", &sgsync_ispring::payload(payload("Other")))
        .await
        .unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::Server, 1));
    assert_eq!(soap_requests(&s).len(), 1);
}

#[tokio::test]
async fn answers_over_the_body_cap_are_refused() {
    let s = demo().await;
    let mut small = settings();
    small.max_body_bytes = 300;
    let c = IspringClient::new(s.login_config(), small, Arc::new(Maps::default())).unwrap();
    let err = c
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::BodyTooLarge, 1));
}

// -- redaction ---------------------------------------------------------------------

/// `text` with every `<credentials>…</credentials>` removed.
fn without_credentials(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<credentials>") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("</credentials>").expect("closed") + start;
        rest = &rest[end + "</credentials>".len()..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn secrets_reach_no_error_debug_or_log_and_only_their_place_on_the_wire() {
    let s = demo().await;
    let logs = common::capture_logs();

    let token_client = client(s.config());
    let login_client = client(s.login_config());
    let mut errors = Vec::new();
    token_client
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap();
    s.expire_tokens();
    token_client.check().await.unwrap();
    let issued = s.issued_tokens();
    s.running
        .controls
        .script(std::iter::repeat_n(Fault::Status(500), 10));
    errors.push(token_client.check().await.unwrap_err());
    errors.push(login_client.check().await.unwrap_err());
    s.running.controls.set_plan(Default::default());
    s.refuse_with(Some("Permission denied"));
    errors.push(
        login_client
            .list_groups(&sgsync::model::Directory::none())
            .await
            .unwrap_err(),
    );
    errors.push(
        token_client
            .list_groups(&sgsync::model::Directory::none())
            .await
            .unwrap_err(),
    );
    s.refuse_with(None);
    let unreachable = IspringConfig {
        soap_url: "http://127.0.0.1:1/soap".to_owned(),
        ..s.login_config()
    };
    errors.push(client(unreachable).check().await.unwrap_err());

    let mut secrets = vec![
        sandbox::PASSWORD.to_owned(),
        sandbox::CLIENT_SECRET.to_owned(),
    ];
    secrets.extend(issued.iter().cloned());
    assert!(secrets.len() >= 3);
    let logged = logs.text();
    assert!(logged.contains("provider_call"), "the calls were traced");
    let mut texts = vec![
        logged,
        format!("{:?}", s.config()),
        format!("{:?}", s.login_config()),
    ];
    for e in &errors {
        texts.push(format!("{e}"));
        texts.push(format!("{e:?}"));
    }
    for text in &texts {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{secret} leaked into: {text}"
            );
        }
    }

    // On the wire: the password and tokens only inside <credentials> or the Bearer
    // header, the client secret only in the token form.
    let requests = s.running.controls.requests();
    assert!(requests.iter().any(|r| r.contains(sandbox::PASSWORD)));
    assert!(requests.iter().any(|r| r.contains(&issued[0])));
    for r in &requests {
        let rest = without_credentials(&body(r));
        for secret in &secrets {
            let in_body = rest.contains(secret.as_str());
            let in_headers = r
                .headers
                .iter()
                .any(|(_, v)| String::from_utf8_lossy(v.as_bytes()).contains(secret.as_str()));
            let allowed_body = r.path == TOKEN_PATH && secret == sandbox::CLIENT_SECRET;
            let bearer = format!("Bearer {secret}");
            let allowed_header = r.path.starts_with("/group/")
                && r.headers
                    .get("authorization")
                    .is_some_and(|v| v == bearer.as_str());
            assert!(
                !in_body || allowed_body,
                "{secret} in the body of {}",
                r.path
            );
            assert!(
                !in_headers || allowed_header,
                "{secret} in a header of {}",
                r.path
            );
            assert!(!r.path.contains(secret.as_str()));
            assert!(
                r.query
                    .as_deref()
                    .is_none_or(|q| !q.contains(secret.as_str()))
            );
        }
    }
}

/// Every request to a path containing `path` (each attempt of a retried read too) is
/// answered `body` at HTTP 200 instead of by the sandbox.
fn answer_with(s: &Sandbox, path: &str, body: &str) {
    s.running.controls.set_plan(sgsync::sandbox::FaultPlan {
        only_paths: vec![path.to_owned()],
        script: std::iter::repeat_n(
            Fault::Body {
                status: 200,
                body: body.to_owned(),
            },
            4,
        )
        .collect(),
        ..Default::default()
    });
}

#[tokio::test]
async fn a_group_list_without_its_result_element_is_an_error_not_no_groups() {
    let s = demo().await;
    let c = client(s.login_config());
    let groups = c
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap();
    let name = groups[0].name.clone();
    // A SOAP answer whose Body lacks the GetGroupsResult: no groups is not what it says.
    let empty_body = wire::soap_envelope(wire::SERVICE_NAMESPACE, "");
    answer_with(&s, "/soap", &empty_body);
    let list = c
        .list_groups(&sgsync::model::Directory::none())
        .await
        .unwrap_err();
    answer_with(&s, "/soap", &empty_body);
    let names = c.group_names(1).await.unwrap_err();
    answer_with(&s, "/soap", &empty_body);
    let found = c.find_by_key(&name, "k").await.unwrap_err();
    for err in [list, names, found] {
        assert_eq!(
            (err.kind, err.operation.as_str(), err.attempts),
            (ErrorKind::Malformed, "getGroups", 4),
            "{err}"
        );
        assert_eq!(err.message, "response: has no <GetGroupsResult>");
    }
    // The empty result iSpring sent is an empty list.
    let none = wire::soap_envelope(wire::SERVICE_NAMESPACE, "<GetGroupsResult/>\n");
    answer_with(&s, "/soap", &none);
    assert_eq!(c.group_names(1).await.unwrap(), Some(vec![]));
    s.running.controls.set_plan(Default::default());
    assert_eq!(
        c.list_groups(&sgsync::model::Directory::none())
            .await
            .unwrap(),
        groups
    );
}

#[tokio::test]
async fn a_member_list_that_is_no_user_list_is_an_error_and_the_older_shape_is_read() {
    let s = demo().await;
    let c = client(s.config());
    let group = s.smart_groups()[0].id.clone();
    let source = c.member_source().unwrap();
    let people = source.group_people(&group).await.unwrap();
    assert!(!people.is_empty());
    // Read through the documented ListUsers with groupId, never GET /user (§10.3).
    let requests = s.running.controls.requests();
    assert!(requests.iter().all(|r| !r.path.starts_with("/user")));
    assert!(
        requests
            .iter()
            .any(|r| r.path == sandbox::SOAP_PATH && r.contains("<ListUsersRequest>"))
    );
    answer_with(
        &s,
        sandbox::SOAP_PATH,
        "<html><body>Service unavailable</body></html>",
    );
    let err = source.group_people(&group).await.unwrap_err();
    assert_eq!(
        (err.kind, err.operation.as_str()),
        (ErrorKind::Malformed, "listUsers"),
        "{err}"
    );
    // An envelope without ListUsersResult is no list of nobody.
    answer_with(
        &s,
        sandbox::SOAP_PATH,
        &wire::soap_envelope(wire::SERVICE_NAMESPACE, "<OtherResult/>\n"),
    );
    assert_eq!(
        source.group_people(&group).await.unwrap_err().kind,
        ErrorKind::Malformed
    );
    // A `user` item inside the result is read like a `userProfile`.
    answer_with(
        &s,
        sandbox::SOAP_PATH,
        &wire::soap_envelope(
            wire::SERVICE_NAMESPACE,
            "<ListUsersResult><users><user><userId>u1</userId><fields><email>a@x.test</email><first_name>A</first_name></fields></user></users></ListUsersResult>\n",
        ),
    );
    let read = source.group_people(&group).await.unwrap();
    assert_eq!(
        (
            read.len(),
            read[0].email.as_deref(),
            read[0].name.as_deref()
        ),
        (1, Some("a@x.test"), Some("A"))
    );
}
