//! Contract tests of iSpring's static groups and members (issue 16; ispring.md §10)
//! against the sandbox: each call the client makes, as documented — replace semantics,
//! the per-user faults, lookup by email with paging, the SOAP endpoint path and
//! SOAPAction, a Department Administrator's view — and with faults injected.

use reqwest::Method;
use sgsync::model::mapping::Maps;
use sgsync::provider::http::HttpSettings;
use sgsync::provider::members::GroupKind;
use sgsync::provider::{ErrorKind, Provider};
use sgsync::sandbox::ispring::{self as sandbox, SOAP_PATH, Sandbox, ids};
use sgsync::sandbox::{Fault, FaultPlan, Seed};
use sgsync_ispring::client::IspringClient;
use sgsync_ispring::wire::{self, StaticGroupPayload};
use std::sync::Arc;
use std::time::Duration;

fn settings() -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_millis(800),
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
        max_body_bytes: 16 * 1024 * 1024,
        requests_per_minute: 60_000,
        ..HttpSettings::default()
    }
}

async fn start() -> (Sandbox, IspringClient) {
    let s = Sandbox::start(Seed::Demo).await.expect("sandbox starts");
    let c = IspringClient::new(s.config(), settings(), Arc::new(Maps::default()))
        .expect("client builds");
    (s, c)
}

fn static_payload(name: &str) -> sgsync::provider::Payload {
    sgsync_ispring::static_payload(StaticGroupPayload {
        name: name.to_owned(),
    })
}

fn user_ids(s: &Sandbox, n: usize) -> Vec<String> {
    s.users().into_iter().take(n).map(|u| u.id).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// SOAP requests carrying `<element>`.
fn calls(s: &Sandbox, element: &str) -> Vec<sgsync::sandbox::LoggedRequest> {
    let tag = format!("<{element}>");
    s.running
        .controls
        .requests()
        .into_iter()
        .filter(|r| r.path == SOAP_PATH && r.contains(&tag))
        .collect()
}

#[tokio::test]
async fn a_static_group_is_added_renamed_found_by_name_and_told_from_a_smart_one() {
    let (s, c) = start().await;
    let id = c.create("k", &static_payload("Audience A")).await.unwrap();
    let g = s.groups().into_iter().find(|g| g.id == id).unwrap();
    assert_eq!((g.name.as_str(), g.rules.is_none()), ("Audience A", true));
    let writer = c.member_target().unwrap();
    assert_eq!(writer.group_kind(&id).await.unwrap(), GroupKind::Static);
    c.update(&id, "k", &static_payload("Audience B"))
        .await
        .unwrap();
    assert!(
        s.groups()
            .iter()
            .any(|g| g.id == id && g.name == "Audience B")
    );
    // The lookup by name that follows a lost create answer finds a plain group too.
    let found = c.find_by_key("Audience B", "k").await.unwrap().unwrap();
    assert_eq!(found.id, id);
    let smart = s.smart_groups()[0].clone();
    assert!(matches!(
        writer.group_kind(&smart.id).await.unwrap(),
        GroupKind::Dynamic { name } if name == smart.name
    ));
    let gone = writer.group_kind("no-such-group").await.unwrap_err();
    assert_eq!(gone.kind, ErrorKind::NotFound);
    // updateGroup on an unknown id: `Unknown Group` (§10.2).
    let err = c
        .update("no-such-group", "k", &static_payload("X"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    // The request shapes: AddGroupRequest with name only, UpdateGroupRequest with both.
    let add = &calls(&s, "AddGroupRequest")[0];
    let call = sandbox::parse_soap_call(std::str::from_utf8(&add.body).unwrap()).unwrap();
    assert_eq!(
        (call.name.as_deref(), call.user_ids),
        (Some("Audience A"), None)
    );
}

#[tokio::test]
async fn update_group_members_replaces_every_member_and_an_empty_list_empties_the_group() {
    let (s, c) = start().await;
    let gid = c.create("k", &static_payload("R")).await.unwrap();
    let replacer = c.member_target().unwrap().replacer().unwrap();
    let ids = user_ids(&s, 5);
    replacer.replace(&gid, &ids[..3]).await.unwrap();
    assert_eq!(sorted(s.members(&gid)), sorted(ids[..3].to_vec()));
    // Replace, not add: the first leaves.
    replacer.replace(&gid, &ids[1..5]).await.unwrap();
    assert_eq!(sorted(s.members(&gid)), sorted(ids[1..5].to_vec()));
    // The same list again is the same membership.
    replacer.replace(&gid, &ids[1..5]).await.unwrap();
    assert_eq!(s.members(&gid).len(), 4);
    // An unknown user id: refused, nothing changes.
    let err = replacer
        .replace(&gid, &["no-such-user".to_owned()])
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest, "{err}");
    assert_eq!(s.members(&gid).len(), 4);
    // The documented array shape `<userIds><id>…</id></userIds>` (§10.2).
    let body = String::from_utf8(calls(&s, "UpdateGroupMembersRequest")[0].body.to_vec()).unwrap();
    assert!(
        body.contains(&format!("<userIds>\n    <id>{}</id>", ids[0])),
        "{body}"
    );
    // An empty list removes everyone (§10.2).
    replacer.replace(&gid, &[]).await.unwrap();
    assert!(s.members(&gid).is_empty());
}

#[tokio::test]
async fn per_user_calls_take_already_and_not_a_member_as_done_and_report_unknown_users() {
    let (s, c) = start().await;
    let gid = c.create("k", &static_payload("P")).await.unwrap();
    let writer = c.member_target().unwrap();
    let ids = user_ids(&s, 2);
    for _ in 0..2 {
        // The second add is answered `User already group's member`: its effect holds.
        let rows = writer.add(&gid, &ids[..1]).await.unwrap();
        assert!(rows[0].ok, "{rows:?}");
    }
    assert_eq!(s.members(&gid), ids[..1].to_vec());
    let rows = writer
        .add(&gid, &["no-such-user".to_owned()])
        .await
        .unwrap();
    assert!(!rows[0].ok && rows[0].unknown_contact, "{rows:?}");
    for _ in 0..2 {
        // The second removal: `User not a group's member`.
        let rows = writer.remove(&gid, &ids[..1]).await.unwrap();
        assert!(rows[0].ok, "{rows:?}");
    }
    assert!(s.members(&gid).is_empty());
    // A smart group's members come from its rules: the add is refused as a row.
    let smart = s.smart_groups()[0].id.clone();
    let rows = writer.add(&smart, &ids[1..2]).await.unwrap();
    assert!(!rows[0].ok && !rows[0].unknown_contact, "{rows:?}");
    // An unknown group fails the call as a whole.
    let err = writer.add("no-such-group", &ids[..1]).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert_eq!(calls(&s, "AddUserToGroupRequest").len(), 5);
    // Never created: sgsync has no way to register a user.
    let err = writer
        .add_by_email(&gid, "new@x.test", None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unsupported);
}

#[tokio::test]
async fn users_are_found_by_email_in_one_call_and_group_members_read_page_by_page() {
    let (s, c) = start().await;
    let gid = c.create("k", &static_payload("Big")).await.unwrap();
    let mut emails = Vec::new();
    let mut added = Vec::new();
    for i in 0..2300 {
        let e = format!("user.{i}@bulk.example");
        added.push(s.add_user(&e, ids::SALES));
        emails.push(e);
    }
    let finder = c.member_target().unwrap().finder().unwrap();
    let limit = finder.lookup_limit();
    assert_eq!(limit, 500);
    s.running.controls.clear_log();
    let mut asked = emails[..limit - 2].to_vec();
    asked.push("nobody@bulk.example".to_owned());
    asked.push("USER.7@BULK.EXAMPLE".to_owned());
    let found = finder.find_by_email(&asked).await.unwrap();
    assert_eq!(found.len(), limit - 2, "the unknown address is absent");
    assert_eq!(
        calls(&s, "ListUsersRequest").len(),
        1,
        "one call for 500 emails"
    );
    // Membership read through ListUsers groupId, 1000 a page, pageToken followed.
    c.member_target()
        .unwrap()
        .replacer()
        .unwrap()
        .replace(&gid, &added)
        .await
        .unwrap();
    s.running.controls.clear_log();
    let members = c.member_target().unwrap().members(&gid).await.unwrap();
    assert_eq!(members.len(), 2300);
    let pages = calls(&s, "ListUsersRequest");
    assert_eq!(pages.len(), 3);
    assert!(!pages[0].contains("<pageToken>"));
    assert!(pages[1].contains("<pageToken>page-1000</pageToken>"));
    let people = c.member_source().unwrap().group_people(&gid).await.unwrap();
    assert_eq!(people.len(), 2300);
}

#[tokio::test]
async fn a_failed_or_endless_page_fails_the_whole_listing() {
    let (s, c) = start().await;
    let gid = c.create("k", &static_payload("Pages")).await.unwrap();
    let ids: Vec<String> = (0..1500)
        .map(|i| s.add_user(&format!("p.{i}@pages.example"), ids::SALES))
        .collect();
    let writer = c.member_target().unwrap();
    writer
        .replacer()
        .unwrap()
        .replace(&gid, &ids)
        .await
        .unwrap();
    // The second page fails (every retry): no partial list comes back.
    s.running.controls.set_plan(FaultPlan {
        only_containing: vec!["<pageToken>".into()],
        script: std::iter::repeat_n(Fault::Status(503), 8).collect(),
        ..FaultPlan::default()
    });
    let err = writer.members(&gid).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Server, "{err}");
    // A server that answers the same token again would page for ever: refused.
    let looping = wire::soap_envelope(
        wire::SERVICE_NAMESPACE,
        "<ListUsersResult><users/><nextPageToken>t1</nextPageToken></ListUsersResult>\n",
    );
    s.running.controls.set_plan(FaultPlan {
        only_containing: vec!["<ListUsersRequest>".into()],
        script: std::iter::repeat_n(
            Fault::Body {
                status: 200,
                body: looping,
            },
            3,
        )
        .collect(),
        ..FaultPlan::default()
    });
    let err = writer.members(&gid).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Malformed, "{err}");
}

#[tokio::test]
async fn every_soap_call_is_posted_to_the_documented_path_with_its_method_as_soapaction() {
    let (s, c) = start().await;
    let gid = c.create("k", &static_payload("A")).await.unwrap();
    let writer = c.member_target().unwrap();
    let ids = user_ids(&s, 1);
    writer.add(&gid, &ids).await.unwrap();
    writer.remove(&gid, &ids).await.unwrap();
    writer
        .replacer()
        .unwrap()
        .replace(&gid, &ids)
        .await
        .unwrap();
    writer
        .finder()
        .unwrap()
        .find_by_email(&["a@x.test".into()])
        .await
        .unwrap();
    c.update(&gid, "k", &static_payload("B")).await.unwrap();
    let requests = s.running.controls.requests();
    let soap: Vec<_> = requests
        .iter()
        .filter(|r| r.method == Method::POST && r.path != "/api/v3/token")
        .collect();
    assert!(soap.len() >= 6);
    for r in &soap {
        assert_eq!(r.path, "/api/v2/soap/2.0");
        let call = sandbox::parse_soap_call(std::str::from_utf8(&r.body).unwrap()).unwrap();
        assert_eq!(r.headers["soapaction"], sandbox::action_for(&call.method));
    }
    for (element, action) in [
        ("AddGroupRequest", "\"addGroup\""),
        ("UpdateGroupRequest", "\"updateGroup\""),
        ("UpdateGroupMembersRequest", "\"updateGroupMembers\""),
        ("AddUserToGroupRequest", "\"addUserToGroup\""),
        ("RemoveUserFromGroupRequest", "\"removeUserFromGroup\""),
        ("ListUsersRequest", "\"listUsers\""),
    ] {
        let r = &calls(&s, element)[0];
        assert_eq!(r.headers["soapaction"], action, "{element}");
    }
    // A call naming another method (or none) is refused by the sandbox.
    let body = String::from_utf8(calls(&s, "UpdateGroupRequest")[0].body.to_vec()).unwrap();
    for action in [Some("\"addGroup\""), None] {
        let mut req = reqwest::Client::new()
            .post(format!("{}{SOAP_PATH}", s.url()))
            .body(body.clone());
        if let Some(a) = action {
            req = req.header("soapaction", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 500);
        assert!(r.text().await.unwrap().contains("Wrong parameters"));
    }
}

#[tokio::test]
async fn a_department_administrator_sees_and_removes_only_its_departments_users() {
    let (s, c) = start().await;
    let gid = c.create("k", &static_payload("D")).await.unwrap();
    let sales = s.add_user("s@d.example", ids::EMEA);
    let marketing = s.add_user("m@d.example", ids::MARKETING);
    let writer = c.member_target().unwrap();
    writer
        .replacer()
        .unwrap()
        .replace(&gid, &[sales.clone(), marketing.clone()])
        .await
        .unwrap();
    s.set_admin_scope(Some(&[ids::SALES]));
    // Marketing's user is out of sight: not found by email.
    let found = writer
        .finder()
        .unwrap()
        .find_by_email(&["s@d.example".into(), "m@d.example".into()])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, sales);
    // A replace by this administrator removes only what it manages (§10.2).
    writer.replacer().unwrap().replace(&gid, &[]).await.unwrap();
    s.set_admin_scope(None);
    assert_eq!(s.members(&gid), vec![marketing]);
    // A lookup the account may not make says what that means.
    s.fail_method("listUsers", Some("Permission denied"));
    let err = writer
        .finder()
        .unwrap()
        .find_by_email(&["s@d.example".into()])
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::PermissionDenied);
    assert!(
        err.to_string().contains("Department Administrator"),
        "{err}"
    );
}

#[tokio::test]
async fn a_replace_or_add_whose_answer_was_lost_is_resent_safely() {
    let (s, c) = start().await;
    let gid = c.create("k", &static_payload("L")).await.unwrap();
    let writer = c.member_target().unwrap();
    let ids = user_ids(&s, 3);
    let lose_one = |element: &str| FaultPlan {
        only_containing: vec![format!("<{element}>")],
        script: [Fault::LoseResponse(Duration::from_secs(2))].into(),
        ..FaultPlan::default()
    };
    s.running
        .controls
        .set_plan(lose_one("UpdateGroupMembersRequest"));
    writer
        .replacer()
        .unwrap()
        .replace(&gid, &ids[..2])
        .await
        .unwrap();
    assert_eq!(sorted(s.members(&gid)), sorted(ids[..2].to_vec()));
    s.running
        .controls
        .set_plan(lose_one("AddUserToGroupRequest"));
    let rows = writer.add(&gid, &ids[2..]).await.unwrap();
    assert!(
        rows[0].ok,
        "the resend answered 'already a member': {rows:?}"
    );
    assert_eq!(s.members(&gid).len(), 3);
    assert_eq!(calls(&s, "UpdateGroupMembersRequest").len(), 2);
    assert_eq!(calls(&s, "AddUserToGroupRequest").len(), 2);
}

#[tokio::test]
async fn remove_user_from_groups_takes_one_user_out_of_several() {
    let (s, c) = start().await;
    let a = c.create("k", &static_payload("G1")).await.unwrap();
    let b = c.create("k", &static_payload("G2")).await.unwrap();
    let user = user_ids(&s, 1).remove(0);
    let writer = c.member_target().unwrap();
    writer.add(&a, std::slice::from_ref(&user)).await.unwrap();
    writer.add(&b, std::slice::from_ref(&user)).await.unwrap();
    let xml = wire::soap_request(
        "RemoveUserFromGroupsRequest",
        &wire::SoapCredentials::Login {
            account_url: sandbox::ACCOUNT_URL,
            email: sandbox::EMAIL,
            password: sandbox::PASSWORD,
        },
        &[
            wire::Param::Text("userId", &user),
            wire::Param::List("groupIds", "id", &[a.clone(), b.clone()]),
        ],
    );
    let r = reqwest::Client::new()
        .post(format!("{}{SOAP_PATH}", s.url()))
        .header("soapaction", "\"removeUserFromGroups\"")
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(wire::parse_success(&r.text().await.unwrap()).unwrap());
    assert!(s.members(&a).is_empty() && s.members(&b).is_empty());
}
