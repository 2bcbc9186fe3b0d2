//! Membership into iSpring Learn end to end (issue 16): a GoSquared group whose rule
//! iSpring cannot hold becomes a static iSpring group whose members are the source
//! group's people who have an iSpring account, matched by email — against the
//! sandboxes, configured as a user would. Calls are counted from the request log.

use crate::common;

use common::world::{Parts, World};
use serde_json::{Value, json};
use sgsync::engine::materialise::MemberOutcome;
use sgsync::engine::run::{Pipeline, RunOptions, RunSummary};
use sgsync::model::members::Removals;
use sgsync::observe::metrics::Metrics;
use sgsync::observe::summary::RunRecord;
use sgsync::sandbox::ispring::{SOAP_PATH, ids};
use sgsync::sandbox::{Fault, FaultPlan, Seed};
use sgsync::store::{MemberResult, RunOutcome};
use std::time::Duration;

async fn world() -> World {
    World::start(Seed::Empty).await
}

/// GoSquared → iSpring `lms` only, membership on for rules iSpring cannot hold.
fn parts(extra: &str) -> Parts {
    Parts {
        lms: Some(format!("membership = \"when_rule_impossible\"\n{extra}")),
        newsletter: None,
        http: "timeout_secs = 2\nbase_delay_ms = 5\nmax_delay_ms = 20\nmax_retries = 1".into(),
        ..Parts::default()
    }
}

async fn connect(w: &World, extra: &str) -> Pipeline {
    w.pipeline(&parts(extra)).await
}

/// `company.name contains "Acme"`: no iSpring rule can say it (impossible there).
fn acme() -> Vec<Value> {
    vec![
        json!({"key": "property", "path": "company.name", "operator": "contains", "value": "Acme"}),
    ]
}

fn email(i: usize) -> String {
    format!("Person.{i}@Example.COM")
}

fn add_person(w: &World, i: usize, company: &str) {
    w.gs.add_person(json!({
        "id": format!("p{i:05}"),
        "email": email(i),
        "name": format!("Person {i}"),
        "company": {"name": company},
        "last": {"seen": "2026-11-01T00:00:00.000Z"},
    }));
}

fn join(w: &World, i: usize) {
    assert!(w.gs.set_property(&format!("p{i:05}"), "company.name", json!("Acme Ltd")));
}

fn leave(w: &World, i: usize) {
    assert!(w.gs.set_property(&format!("p{i:05}"), "company.name", json!("Globex")));
}

/// An iSpring user for person `i` (the same address); its id.
fn account(w: &World, i: usize) -> String {
    w.is.add_user(&email(i), ids::SALES)
}

/// The static group sgsync made (the only plain group named so).
fn static_group(w: &World) -> String {
    let found: Vec<_> =
        w.is.groups()
            .into_iter()
            .filter(|g| g.name == "Acme people" && g.rules.is_none())
            .collect();
    assert_eq!(found.len(), 1, "one static group: {found:?}");
    found[0].id.clone()
}

/// The emails of the group's members, sorted.
fn member_emails(w: &World, gid: &str) -> Vec<String> {
    let ids = w.is.members(gid);
    let mut v: Vec<String> =
        w.is.users()
            .into_iter()
            .filter(|u| ids.contains(&u.id))
            .filter_map(|u| u.fields.get("EMAIL").cloned())
            .collect();
    v.sort();
    v
}

fn emails(range: impl IntoIterator<Item = usize>) -> Vec<String> {
    let mut v: Vec<String> = range.into_iter().map(email).collect();
    v.sort();
    v
}

/// SOAP calls of this request element since the log was last cleared.
fn calls(w: &World, element: &str) -> usize {
    let tag = format!("<{element}>");
    w.is.running
        .controls
        .requests()
        .iter()
        .filter(|r| r.path == SOAP_PATH && r.contains(&tag))
        .count()
}

/// Every membership call: lookups, member reads and writes.
fn member_calls(w: &World) -> usize {
    [
        "ListUsersRequest",
        "UpdateGroupMembersRequest",
        "AddUserToGroupRequest",
        "RemoveUserFromGroupRequest",
    ]
    .iter()
    .map(|e| calls(w, e))
    .sum()
}

fn only(summary: &RunSummary) -> &MemberOutcome {
    assert_eq!(
        summary.membership.outcomes.len(),
        1,
        "{:?}",
        summary.membership
    );
    &summary.membership.outcomes[0]
}

async fn sync(p: &Pipeline) -> RunSummary {
    p.sync("t", RunOptions::default()).await.expect("run")
}

#[tokio::test]
async fn an_impossible_rule_reaches_ispring_as_a_static_group_of_its_users_counted_and_no_op() {
    let w = world().await;
    w.gs.add_group("Acme people", acme());
    for i in 0..10 {
        add_person(&w, i, "Acme Ltd");
    }
    for i in 0..7 {
        account(&w, i);
    }
    // Spelled in another case on iSpring: still the same person (matching is not
    // documented, so sgsync folds case when it reads the answer back).
    w.is.add_user("person.9@example.com", ids::SALES);
    let users_before = w.is.users().len();
    let p = connect(&w, "").await;

    let first = sync(&p).await;
    assert_eq!(
        first.outcome,
        RunOutcome::Succeeded,
        "{:?}",
        first.membership
    );
    let o = only(&first);
    assert_eq!(o.result, Ok(MemberResult::Synced));
    let gid = static_group(&w);
    let mut want = emails(0..7);
    want.push("person.9@example.com".to_owned());
    want.sort();
    assert_eq!(member_emails(&w, &gid), want);
    assert_eq!((o.total, o.without_account), (8, Some(2)));
    assert_eq!(
        o.no_account_note().as_deref(),
        Some("2 of 10 have no iSpring Learn account")
    );
    assert!(
        first
            .membership
            .render(false)
            .contains("2 of 10 have no iSpring Learn account"),
        "{}",
        first.membership.render(false)
    );
    assert_eq!(
        w.is.users().len(),
        users_before,
        "no iSpring user is created"
    );
    // One batched lookup for ten emails, not ten; one addGroup; no smart group.
    assert_eq!(
        calls(&w, "ListUsersRequest"),
        2,
        "baseline read + one lookup"
    );
    assert_eq!(calls(&w, "AddGroupRequest"), 1);
    assert_eq!(calls(&w, "AddSmartGroupRequest"), 0);
    let m = &p.store.memberships().await.unwrap()[0];
    assert_eq!((m.member_count, m.without_account), (8, Some(2)));

    // No change: no membership call at all (people without an account included).
    w.is.running.controls.clear_log();
    let second = sync(&p).await;
    assert_eq!(only(&second).result, Ok(MemberResult::Unchanged));
    assert_eq!(only(&second).without_account, Some(2));
    assert_eq!(
        member_calls(&w),
        0,
        "{:?}",
        w.is.running.controls.requests()
    );

    // The metrics say it per group: 10 people, 2 without an account.
    let record = RunRecord::new(&Ok(second), Duration::ZERO, chrono::Utc::now());
    let metrics = Metrics::new();
    metrics.record_run(&record);
    let text = metrics.render();
    for line in [
        r#"sgsync_last_run_member_people{pipeline="default",target="lms",source_id="acme-people"} 10"#,
        r#"sgsync_last_run_members_without_account{pipeline="default",target="lms",source_id="acme-people"} 2"#,
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    // And `sgsync status`, from the store.
    w.write_config(&parts(""));
    let out = w.sgsync(&["status"]).output().expect("sgsync status");
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.contains("8 member(s) (2 of 10 have no iSpring Learn account)"),
        "{status}"
    );
}

#[tokio::test]
async fn a_few_changes_go_per_user_and_many_in_one_replace() {
    let w = world().await;
    w.gs.add_group("Acme people", acme());
    for i in 0..40 {
        add_person(&w, i, if i < 20 { "Acme Ltd" } else { "Globex" });
        account(&w, i);
    }
    let p = connect(&w, "").await;
    let first = sync(&p).await;
    assert!(only(&first).replaced, "20 adds: one replace (1 + 1 < 20)");
    assert_eq!(calls(&w, "UpdateGroupMembersRequest"), 1);
    assert_eq!(calls(&w, "AddUserToGroupRequest"), 0);
    let gid = static_group(&w);
    assert_eq!(member_emails(&w, &gid), emails(0..20));

    // One in, one out: two per-user calls cost no more than one replace (1 + 1).
    join(&w, 20);
    leave(&w, 0);
    w.is.running.controls.clear_log();
    let small = sync(&p).await;
    assert_eq!(
        small.outcome,
        RunOutcome::Succeeded,
        "{:?}",
        small.membership
    );
    assert!(!only(&small).replaced);
    assert_eq!(
        (
            calls(&w, "AddUserToGroupRequest"),
            calls(&w, "RemoveUserFromGroupRequest"),
            calls(&w, "UpdateGroupMembersRequest")
        ),
        (1, 1, 0)
    );
    assert_eq!(member_emails(&w, &gid), emails(1..21));

    // Five in, two out: seven per-user calls, or one replace of 23 ids: the replace.
    for i in 21..26 {
        join(&w, i);
    }
    leave(&w, 1);
    leave(&w, 2);
    w.is.running.controls.clear_log();
    let big = sync(&p).await;
    assert!(only(&big).replaced);
    assert_eq!(
        (
            calls(&w, "AddUserToGroupRequest"),
            calls(&w, "RemoveUserFromGroupRequest"),
            calls(&w, "UpdateGroupMembersRequest")
        ),
        (0, 0, 1)
    );
    assert_eq!(member_emails(&w, &gid), emails(3..26));
    assert_eq!(
        (only(&big).added, only(&big).removed, only(&big).total),
        (5, 2, 23)
    );
}

#[tokio::test]
async fn a_repeated_add_or_remove_answered_already_counts_as_success() {
    let w = world().await;
    w.gs.add_group("Acme people", acme());
    for i in 0..6 {
        add_person(&w, i, if i < 4 { "Acme Ltd" } else { "Globex" });
        account(&w, i);
    }
    let p = connect(&w, "").await;
    sync(&p).await;
    let gid = static_group(&w);
    // The add happens but its answer is lost: the retry is answered "User already
    // group's member", which means the add holds.
    join(&w, 4);
    w.is.running.controls.set_plan(FaultPlan {
        only_containing: vec!["<AddUserToGroupRequest>".into()],
        script: [Fault::LoseResponse(Duration::from_secs(3))].into(),
        ..FaultPlan::default()
    });
    w.is.running.controls.clear_log();
    let run = sync(&p).await;
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{:?}", run.membership);
    assert_eq!(calls(&w, "AddUserToGroupRequest"), 2, "sent, then resent");
    assert_eq!(only(&run).added, 1);
    assert_eq!(member_emails(&w, &gid), emails(0..5));
    // The same for a removal: "User not a group's member" on the resend.
    leave(&w, 4);
    w.is.running.controls.set_plan(FaultPlan {
        only_containing: vec!["<RemoveUserFromGroupRequest>".into()],
        script: [Fault::LoseResponse(Duration::from_secs(3))].into(),
        ..FaultPlan::default()
    });
    w.is.running.controls.clear_log();
    let run = sync(&p).await;
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{:?}", run.membership);
    assert_eq!(calls(&w, "RemoveUserFromGroupRequest"), 2);
    assert_eq!(member_emails(&w, &gid), emails(0..4));
}

/// 300 members (two GoSquared pages of 250), five about to join: a replace is due.
async fn three_hundred_synced(w: &World) -> (Pipeline, String) {
    w.gs.add_group("Acme people", acme());
    for i in 0..305 {
        add_person(w, i, if i < 300 { "Acme Ltd" } else { "Globex" });
        account(w, i);
    }
    let p = connect(w, "").await;
    let first = sync(&p).await;
    assert_eq!(
        first.outcome,
        RunOutcome::Succeeded,
        "{:?}",
        first.membership
    );
    let gid = static_group(w);
    assert_eq!(member_emails(w, &gid).len(), 300);
    for i in 300..305 {
        join(w, i);
    }
    (p, gid)
}

#[tokio::test]
async fn a_partial_source_read_never_replaces_the_membership() {
    let w = world().await;
    let (p, gid) = three_hundred_synced(&w).await;
    // The second page of the group's people fails: read as the whole, its 250 people
    // would replace 305 (55 removals, under the guard's 50 %).
    w.gs.running.controls.set_plan(FaultPlan {
        only_paths: vec!["/people".into()],
        script: [Fault::Pass, Fault::Malformed, Fault::Malformed].into(),
        ..FaultPlan::default()
    });
    w.is.running.controls.clear_log();
    let run = sync(&p).await;
    assert_eq!(run.outcome, RunOutcome::Partial, "{:?}", run.membership);
    assert!(only(&run).result.is_err());
    assert_eq!(
        member_calls(&w),
        0,
        "no lookup, no write after a partial read"
    );
    assert_eq!(member_emails(&w, &gid).len(), 300);
    // The next complete read goes ahead.
    w.gs.running.controls.set_plan(FaultPlan::default());
    let run = sync(&p).await;
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{:?}", run.membership);
    assert_eq!(member_emails(&w, &gid), emails(0..305));
}

#[tokio::test]
async fn a_failed_lookup_writes_nothing_and_the_next_run_completes() {
    let w = world().await;
    let (p, gid) = three_hundred_synced(&w).await;
    leave(&w, 0);
    w.is.fail_method("listUsers", Some("Wrong parameters"));
    w.is.running.controls.clear_log();
    let run = sync(&p).await;
    assert_eq!(run.outcome, RunOutcome::Partial, "{:?}", run.membership);
    assert_eq!(calls(&w, "UpdateGroupMembersRequest"), 0);
    assert_eq!(calls(&w, "RemoveUserFromGroupRequest"), 0);
    assert_eq!(calls(&w, "AddUserToGroupRequest"), 0);
    assert_eq!(member_emails(&w, &gid), emails(0..300));
    // Nobody was marked as having no account on a failed lookup.
    let m = &p.store.memberships().await.unwrap()[0];
    assert_eq!(m.without_account, Some(0));
    w.is.fail_method("listUsers", None);
    let run = sync(&p).await;
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{:?}", run.membership);
    assert_eq!(member_emails(&w, &gid), emails(1..305));
    assert_eq!(only(&run).without_account, Some(0));
}

#[tokio::test]
async fn the_mass_removal_guard_holds_on_ispring_and_a_replace_keeps_the_held() {
    let w = world().await;
    w.gs.add_group("Acme people", acme());
    for i in 0..40 {
        add_person(&w, i, if i < 20 { "Acme Ltd" } else { "Globex" });
        account(&w, i);
    }
    let p = connect(&w, "").await;
    sync(&p).await;
    let gid = static_group(&w);
    // Sixteen of twenty leave while five join (20 → 9, over 50 %): the adds go, the
    // removals wait — and the replace that carries the adds keeps the sixteen.
    for i in 0..16 {
        leave(&w, i);
    }
    for i in 20..25 {
        join(&w, i);
    }
    let run = sync(&p).await;
    let o = only(&run);
    assert!(matches!(o.guard, Some(Removals::Held(_))), "{o:?}");
    assert!(o.replaced, "five adds: one replace, holding the sixteen");
    assert_eq!(member_emails(&w, &gid), emails(0..25));
    // The second sighting applies them.
    let run = sync(&p).await;
    assert!(matches!(only(&run).guard, Some(Removals::Allowed(_))));
    assert_eq!(member_emails(&w, &gid), emails(16..25));
}

#[tokio::test]
async fn a_department_administrators_limited_view_is_counted_and_a_refused_lookup_said_so() {
    let w = world().await;
    w.gs.add_group("Acme people", acme());
    for i in 0..4 {
        add_person(&w, i, "Acme Ltd");
    }
    account(&w, 0);
    account(&w, 1);
    w.is.add_user(&email(2), ids::MARKETING);
    w.is.add_user(&email(3), ids::MARKETING);
    // The API user administers Sales only: Marketing's users are out of its sight.
    w.is.set_admin_scope(Some(&[ids::SALES]));
    let p = connect(&w, "").await;
    let run = sync(&p).await;
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{:?}", run.membership);
    assert_eq!(only(&run).without_account, Some(2));
    assert_eq!(member_emails(&w, &static_group(&w)), emails(0..2));
    // A lookup the account may not make is reported as that limited view.
    add_person(&w, 4, "Acme Ltd");
    w.is.fail_method("listUsers", Some("Permission denied"));
    let run = sync(&p).await;
    let err = only(&run).result.clone().unwrap_err();
    assert!(err.contains("Department Administrator"), "{err}");
}

#[tokio::test]
async fn plan_shows_who_has_no_account_and_writes_nothing() {
    let w = world().await;
    w.gs.add_group("Acme people", acme());
    for i in 0..5 {
        add_person(&w, i, "Acme Ltd");
    }
    account(&w, 0);
    let p = connect(&w, "").await;
    sync(&p).await;
    add_person(&w, 5, "Acme Ltd");
    w.is.running.controls.clear_log();
    let dry = p.dry_run().await.expect("plan");
    let text = dry.membership.render(true);
    assert!(
        text.contains("4 of 6 known to have no iSpring Learn account, 1 to look up by email"),
        "{text}"
    );
    assert_eq!(member_calls(&w), 0, "a plan looks nobody up");
}

/// The static group's create is sent, happens, and its answer is lost: the next run
/// finds the plain group by its name and links it — one group, never two.
#[tokio::test]
async fn a_static_group_whose_create_answer_was_lost_is_found_not_made_twice() {
    let w = world().await;
    w.gs.add_group("Acme people", acme());
    for i in 0..3 {
        add_person(&w, i, "Acme Ltd");
        account(&w, i);
    }
    w.is.running.controls.set_plan(FaultPlan {
        only_containing: vec!["<AddGroupRequest>".into()],
        script: [Fault::LoseResponse(Duration::from_secs(3))].into(),
        ..FaultPlan::default()
    });
    let p = connect(&w, "").await;
    let first = sync(&p).await;
    assert_ne!(
        first.outcome,
        RunOutcome::Succeeded,
        "the create's answer was lost"
    );
    let second = sync(&p).await;
    assert_eq!(
        second.outcome,
        RunOutcome::Succeeded,
        "{:?}",
        second.membership
    );
    assert_eq!(calls(&w, "AddGroupRequest"), 1, "never sent twice");
    assert_eq!(member_emails(&w, &static_group(&w)), emails(0..3));
}

/// A rule iSpring holds only approximately (a clause left out: wider) is still skipped
/// under `on_lossy = "skip"` with `when_rule_impossible` — membership on never pushes a
/// lossy smart group nor fills one — and becomes a static group with `when_rule_lossy`.
#[tokio::test]
async fn a_lossy_rule_follows_on_lossy_unless_when_rule_lossy_makes_it_static() {
    let w = world().await;
    let lossy = vec![
        json!({"key": "property", "path": "last.location.country.code", "operator": "==", "value": "CA"}),
        json!({"key": "property", "path": "last.location.city", "operator": "==", "value": "Toronto"}),
    ];
    w.gs.add_group("Toronto", lossy);
    w.gs.add_person(json!({
        "id": "p1",
        "email": email(1),
        "last": {"location": {"country": {"code": "CA"}, "city": "Toronto"}},
    }));
    account(&w, 1);
    let p = connect(&w, "").await;
    let run = sync(&p).await;
    assert!(run.membership.is_empty(), "{:?}", run.membership);
    assert!(
        w.is.groups().iter().all(|g| !g.name.contains("Toronto")),
        "skipped: nothing written"
    );
    let p = w
        .pipeline(&Parts {
            lms: Some("membership = \"when_rule_lossy\"".into()),
            ..parts("")
        })
        .await;
    let run = sync(&p).await;
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{:?}", run.membership);
    let g =
        w.is.groups()
            .into_iter()
            .find(|g| g.name == "Toronto")
            .expect("the static group");
    assert!(g.rules.is_none(), "static, not a lossy smart group");
    assert_eq!(member_emails(&w, &g.id), vec![email(1)]);
}
