//! Membership materialisation end to end: GoSquared smart groups → static emfluence
//! groups holding the same people, against the sandboxes, configured as a user would.
//! Calls are counted from the sandboxes' request logs.

use crate::common;

use common::world::{Parts, Source, World, json_writes};
use serde_json::{Value, json};
use sgsync::config::load_str;
use sgsync::engine::materialise::{MemberOutcome, MemberReport};
use sgsync::engine::run::{Pipeline, RunOptions, RunSummary};
use sgsync::model::members::Removals;
use sgsync::observe::summary::RunRecord;
use sgsync::sandbox::{Fault, Seed};
use sgsync::store::RunOutcome;
use sgsync_emfluence::wire::GroupKind;
use std::time::Duration;

/// An empty GoSquared source; the test adds its group and people.
async fn world() -> World {
    World::start(Seed::Empty).await
}

/// GoSquared → emfluence `newsletter` only, its membership on (the default there).
/// `extra` goes into `[targets.newsletter]`; `http` into `[http]`.
fn parts(extra: &str, http: &str) -> Parts {
    Parts {
        lms: None,
        newsletter: Some(extra.into()),
        mapping: String::new(),
        http: format!("timeout_secs = 2\nbase_delay_ms = 5\nmax_delay_ms = 20\n{http}"),
        ..Parts::default()
    }
}

async fn connect(w: &World, extra: &str, http: &str) -> Pipeline {
    w.pipeline(&parts(extra, http)).await
}

/// The source group: everyone whose company name contains "Acme" (a documented operator).
fn acme() -> Vec<Value> {
    vec![
        json!({"key": "property", "path": "company.name", "operator": "contains", "value": "Acme"}),
    ]
}

fn person(i: usize, company: &str, email: bool) -> Value {
    json!({
        "id": format!("p{i:05}"),
        "email": email.then(|| format!("Person.{i}@Example.COM")),
        "name": format!("Person {i}"),
        "company": {"name": company},
        "last": {"seen": "2026-11-01T00:00:00.000Z"},
    })
}

/// Email of person `i` as the source spells it (emfluence keeps that spelling).
fn email(i: usize) -> String {
    format!("Person.{i}@Example.COM")
}

/// The group holds exactly `want`; on failure, only the difference is printed.
fn assert_members(w: &World, gid: i64, want: Vec<String>) {
    let have = w.em.member_emails(gid);
    if have != want {
        let missing: Vec<_> = want.iter().filter(|e| !have.contains(e)).take(5).collect();
        let extra: Vec<_> = have.iter().filter(|e| !want.contains(e)).take(5).collect();
        panic!(
            "group {gid}: {} members, want {}; missing e.g. {missing:?}, extra e.g. {extra:?}",
            have.len(),
            want.len()
        );
    }
}

fn join(w: &World, i: usize) {
    assert!(w.gs.set_property(&format!("p{i:05}"), "company.name", json!("Acme Ltd")));
}

fn leave(w: &World, i: usize) {
    assert!(w.gs.set_property(&format!("p{i:05}"), "company.name", json!("Globex")));
}

/// Calls to the emfluence sandbox by path, since its log was last cleared.
fn calls(w: &World, path: &str) -> usize {
    w.em.running.controls.count(&reqwest::Method::POST, path)
}

/// Membership requests to emfluence (contacts read or saved, members added or removed)
/// since its log was last cleared: what a run with no membership change must not make.
/// Every run also checks emfluence answers (`helper/ping`) and reads its groups back to
/// find drift (`groups/search`, `groups/lookup`); those are not membership calls.
fn only_the_check(w: &World) -> usize {
    w.em.running
        .controls
        .requests()
        .iter()
        .filter(|r| r.path.contains("ontacts"))
        .count()
}

fn write_calls(w: &World) -> usize {
    json_writes(&w.em.running.controls)
}

fn only(summary: &RunSummary) -> &MemberOutcome {
    one(&summary.membership)
}

fn one(membership: &MemberReport) -> &MemberOutcome {
    assert_eq!(membership.outcomes.len(), 1, "{membership:?}");
    &membership.outcomes[0]
}

/// The emfluence group sgsync made for `source_id`.
fn target_group(w: &World, source_id: &str) -> i64 {
    w.em.groups()
        .into_iter()
        .find(|g| g.external_id == format!("sgsync:gosquared:{source_id}"))
        .map(|g| g.id)
        .expect("the group exists on emfluence")
}

fn expected(range: impl IntoIterator<Item = usize>) -> Vec<String> {
    let mut v: Vec<String> = range.into_iter().map(email).collect();
    v.sort();
    v
}

#[tokio::test]
async fn initial_materialisation_no_op_and_people_entering_and_leaving() {
    let w = world().await;
    let group = w.gs.add_group("Acme people", acme());
    for i in 0..10 {
        w.gs.add_person(person(i, "Acme Ltd", true));
    }
    w.gs.add_person(person(10, "Acme Ltd", false)); // no email: counted, not synced
    w.gs.add_person(person(11, "Globex", true)); // not in the group
    w.gs.add_person(person(12, "Globex", true)); // enters later, already a contact
    w.gs.add_person(person(13, "Globex", true)); // enters later, new
    let known = w.em.add_contact(&email(12), "Twelve", "Known");
    let contacts_before = w.em.contacts().len();
    let p = connect(&w, "", "").await;

    // 1. Initial materialisation (membership defaults to "always" on emfluence, and
    //    the static shell is written although on_lossy defaults to "skip").
    let first = p.sync("t", RunOptions::default()).await.expect("run 1");
    assert_eq!(
        first.outcome,
        RunOutcome::Succeeded,
        "{:?}",
        first.membership
    );
    let o = only(&first);
    assert_eq!(
        (o.total, o.without_email, o.added, o.removed),
        (10, 1, 10, 0)
    );
    assert_eq!(o.result, Ok(sgsync::store::MemberResult::Synced));
    let gid = target_group(&w, &group);
    assert_members(&w, gid, expected(0..10));
    assert_eq!(calls(&w, "groups/save"), 1);
    assert_eq!(
        calls(&w, "contacts/search"),
        1,
        "the new group is read once"
    );
    // Ten unknown contacts: found-or-created by email (one save each, plus one to name
    // each new, unnamed contact).
    assert_eq!(calls(&w, "contacts/save"), 20);
    assert_eq!(w.em.contacts().len(), contacts_before + 10);
    let created =
        w.em.contacts()
            .into_iter()
            .find(|c| c.email == "Person.3@Example.COM");
    let created = created.expect("created with the source's spelling");
    assert_eq!(
        (created.first_name.as_str(), created.last_name.as_str()),
        ("Person", "3")
    );
    let link = p.store.links(None).await.unwrap();
    assert_eq!(link[0].fidelity, "snapshot");
    assert!(
        link[0].fidelity_reasons.contains(": 10 ("),
        "{}",
        link[0].fidelity_reasons
    );
    let m = &p.store.memberships().await.unwrap()[0];
    assert_eq!((m.member_count, m.without_email), (10, 1));
    assert!(m.synced_at.is_some());

    // 2. No membership change: no membership call to emfluence at all, so zero
    //    writes; the one request is the run's check that emfluence answers.
    w.em.running.controls.clear_log();
    let second = p.sync("t", RunOptions::default()).await.expect("run 2");
    assert_eq!(second.outcome, RunOutcome::Succeeded);
    assert_eq!(
        only(&second).result,
        Ok(sgsync::store::MemberResult::Unchanged)
    );
    assert_eq!(only_the_check(&w), 0);
    // Metrics and the run summary count membership units as action "members".
    let record = RunRecord::new(&Ok(second), Duration::ZERO, chrono::Utc::now());
    assert!(
        record
            .units
            .contains(&("newsletter".to_owned(), "members", "unchanged", 1)),
        "{:?}",
        record.units
    );

    // 3. Two leave, two enter: exactly those changes. Person 12 is an existing contact
    //    (kept name), person 13 is new.
    leave(&w, 0);
    leave(&w, 1);
    join(&w, 12);
    join(&w, 13);
    w.em.running.controls.clear_log();
    let third = p.sync("t", RunOptions::default()).await.expect("run 3");
    let o = only(&third);
    assert_eq!(
        (o.to_add, o.to_remove, o.added, o.removed),
        (2, 2, 2, 2),
        "{o:?}"
    );
    assert_members(&w, gid, expected((2..10).chain(12..14)));
    assert_eq!(calls(&w, "removeContacts"), 1, "one batch");
    assert_eq!(calls(&w, "addContacts"), 0, "neither id was known");
    assert_eq!(
        calls(&w, "contacts/save"),
        3,
        "12: one save; 13: save + name"
    );
    assert_eq!(
        calls(&w, "groups/lookup"),
        2,
        "the group is checked static once, and read back once by drift detection"
    );
    assert_eq!(write_calls(&w), 4);
    let kept = w.em.contacts().into_iter().find(|c| c.id == known).unwrap();
    assert_eq!(
        kept.first_name, "Twelve",
        "an existing contact's name is never overwritten"
    );
    assert_eq!(
        w.em.contacts().len(),
        contacts_before + 11,
        "removed from the group only"
    );

    // 4. Someone who left comes back: their id is known, so one batched add.
    join(&w, 0);
    w.em.running.controls.clear_log();
    let fourth = p.sync("t", RunOptions::default()).await.expect("run 4");
    assert_eq!(only(&fourth).added, 1);
    assert_eq!(calls(&w, "addContacts"), 1);
    assert_eq!(calls(&w, "contacts/save"), 0);
    assert!(w.em.member_emails(gid).contains(&email(0)));
}

#[tokio::test]
async fn batches_of_1000_and_a_crash_mid_batch_loses_and_duplicates_nothing() {
    let w = world().await;
    let group = w.gs.add_group("Acme people", acme());
    let n = 2100;
    for i in 0..n {
        w.gs.add_person(person(i, "Acme Ltd", true));
        w.em.add_contact(&email(i), "Person", &i.to_string());
    }
    let contacts = w.em.contacts().len();
    // No retries: a lost answer fails the unit, as a crash would end the run.
    let p = connect(&w, "", "max_retries = 0").await;
    let first = p.sync("t", RunOptions::default()).await.expect("run 1");
    assert_eq!(only(&first).added, n, "{:?}", first.membership);
    // Existing, named contacts: one save each, no naming call.
    assert_eq!(calls(&w, "contacts/save"), n);
    let gid = target_group(&w, &group);

    // 2050 leave: 98 % of the group, so allowed explicitly; three remove batches.
    for i in 50..n {
        leave(&w, i);
    }
    w.em.running.controls.clear_log();
    let options = RunOptions {
        allow_mass_removal: true,
        ..RunOptions::default()
    };
    let second = p.sync("t", options).await.expect("run 2");
    assert_eq!(only(&second).removed, 2050, "{:?}", second.membership);
    assert_eq!(calls(&w, "removeContacts"), 3);
    let sizes: Vec<usize> =
        w.em.running
            .controls
            .requests()
            .iter()
            .filter(|r| r.path.contains("removeContacts"))
            .map(|r| {
                let body: Value = serde_json::from_slice(&r.body).unwrap();
                body["contactIDs"].as_array().unwrap().len()
            })
            .collect();
    assert_eq!(sizes, [1000, 1000, 50]);
    assert_eq!(w.em.member_emails(gid).len(), 50);

    // They all come back; the second add batch's answer is lost after emfluence acted.
    for i in 50..n {
        join(&w, i);
    }
    w.em.running.controls.clear_log();
    w.em.running.controls.set_plan(sgsync::sandbox::FaultPlan {
        only_paths: vec!["addContacts".into()],
        // A zero hang lets the first batch through untouched.
        script: [
            Fault::Hang(Duration::ZERO),
            Fault::LoseResponse(Duration::from_secs(3)),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    });
    let third = p.sync("t", RunOptions::default()).await.expect("run 3");
    assert_eq!(third.outcome, RunOutcome::Partial);
    assert_eq!(third.exit_code(), 2);
    let o = only(&third);
    assert!(o.result.is_err(), "{o:?}");
    w.em.running.controls.set_plan(Default::default());
    w.em.running.controls.clear_log();

    // The next run sends what is not recorded (the lost batch again, and the rest).
    let fourth = p.sync("t", RunOptions::default()).await.expect("run 4");
    assert_eq!(
        fourth.outcome,
        RunOutcome::Succeeded,
        "{:?}",
        fourth.membership
    );
    assert_members(&w, gid, expected(0..n));
    assert_eq!(w.em.contacts().len(), contacts, "no contact created twice");
    let m = &p.store.memberships().await.unwrap()[0];
    assert_eq!(m.member_count, n as u64, "the store agrees with the target");
    w.em.running.controls.clear_log();
    let fifth = p.sync("t", RunOptions::default()).await.expect("run 5");
    assert_eq!(
        only(&fifth).result,
        Ok(sgsync::store::MemberResult::Unchanged)
    );
    assert_eq!(only_the_check(&w), 0);
}

#[tokio::test]
async fn the_mass_removal_guard_holds_then_the_flag_or_a_second_sighting_applies() {
    let w = world().await;
    let group = w.gs.add_group("Acme people", acme());
    for i in 0..10 {
        w.gs.add_person(person(i, "Acme Ltd", true));
    }
    w.gs.add_person(person(20, "Globex", true));
    let p = connect(&w, "", "").await;
    p.sync("t", RunOptions::default()).await.expect("run 1");
    let gid = target_group(&w, &group);

    // 7 of 10 leave (70 % > 50 %) while one joins: the join goes through, the
    // removals are held, the run says so (exit 2) and so does the store (`status`).
    for i in 3..10 {
        leave(&w, i);
    }
    join(&w, 20);
    w.em.running.controls.clear_log();
    let held = p.sync("t", RunOptions::default()).await.expect("run 2");
    assert_eq!(held.outcome, RunOutcome::Partial);
    assert_eq!(held.exit_code(), 2);
    let o = only(&held);
    assert_eq!((o.added, o.removed, o.to_remove), (1, 0, 7), "{o:?}");
    assert_eq!(o.result, Ok(sgsync::store::MemberResult::Held));
    assert!(
        matches!(&o.guard, Some(Removals::Held(why)) if why.contains("from 10 to 4")),
        "{o:?}"
    );
    assert_eq!(calls(&w, "removeContacts"), 0);
    assert_members(&w, gid, expected((0..10).chain([20])));
    let m = &p.store.memberships().await.unwrap()[0];
    assert_eq!(m.held_runs, 1);
    assert!(
        m.held_reason
            .as_deref()
            .unwrap_or("")
            .contains("7 removal(s) held"),
        "{m:?}"
    );

    // Allowed by the flag.
    let allowed = p
        .sync(
            "t",
            RunOptions {
                allow_mass_removal: true,
                ..RunOptions::default()
            },
        )
        .await
        .expect("run 3");
    assert_eq!(allowed.outcome, RunOutcome::Succeeded);
    assert_eq!(only(&allowed).removed, 7);
    assert_members(&w, gid, expected([0, 1, 2, 20]));
    let m = &p.store.memberships().await.unwrap()[0];
    assert_eq!((m.held_runs, m.held_reason.as_deref()), (0, None));

    // Another drop (4 → 1): held on the first sighting, applied on the second.
    for i in [0, 1, 2] {
        leave(&w, i);
    }
    let first_sighting = p.sync("t", RunOptions::default()).await.expect("run 4");
    assert_eq!(first_sighting.exit_code(), 2);
    assert_eq!(only(&first_sighting).removed, 0);
    let second_sighting = p.sync("t", RunOptions::default()).await.expect("run 5");
    assert_eq!(second_sighting.outcome, RunOutcome::Succeeded);
    let o = only(&second_sighting);
    assert_eq!(o.removed, 3);
    assert!(matches!(&o.guard, Some(Removals::Allowed(why)) if why.contains("2 consecutive runs")));
    assert_members(&w, gid, expected([20]));
}

#[tokio::test]
async fn a_dynamic_target_group_is_a_typed_error_and_is_never_written() {
    let w = world().await;
    let group = w.gs.add_group("Acme people", acme());
    for i in 0..3 {
        w.gs.add_person(person(i, "Acme Ltd", true));
    }
    let p = connect(&w, "", "").await;
    p.sync("t", RunOptions::default()).await.expect("run 1");
    let gid = target_group(&w, &group);
    w.em.set_kind(gid, GroupKind::Dynamic);
    leave(&w, 0);
    w.em.running.controls.clear_log();
    let run = p.sync("t", RunOptions::default()).await.expect("run 2");
    assert_eq!(run.exit_code(), 2);
    let error = only(&run).result.clone().unwrap_err();
    assert!(error.contains("is a Dynamic group"), "{error}");
    assert_eq!(write_calls(&w), 0);
    assert_members(&w, gid, expected(0..3));
}

#[tokio::test]
async fn plan_shows_counts_and_the_first_emails_and_writes_nothing() {
    let w = world().await;
    w.gs.add_group("Acme people", acme());
    for i in 0..8 {
        w.gs.add_person(person(i, "Acme Ltd", true));
    }
    let p = connect(&w, "", "").await;
    let dry = p.dry_run().await.expect("plan");
    let o = one(&dry.membership);
    assert_eq!((o.to_add, o.to_remove, o.added), (8, 0, 0));
    assert_eq!(o.add_preview.len(), 5);
    assert_eq!(o.add_preview[0], email(0));
    assert_eq!(
        only_the_check(&w),
        0,
        "the group does not exist yet: nothing read"
    );
    p.sync("t", RunOptions::default()).await.expect("run");
    leave(&w, 7);
    w.em.running.controls.clear_log();
    let dry = p.dry_run().await.expect("plan");
    assert_eq!(
        (one(&dry.membership).to_add, one(&dry.membership).to_remove),
        (0, 1)
    );
    assert_eq!(write_calls(&w), 0);
}

/// iSpring Learn as the membership source: a smart group's users, by e-mail.
#[tokio::test]
async fn ispring_group_users_become_emfluence_members() {
    let w = World::start_seeded(Seed::Empty, Seed::Demo, Seed::Empty).await;
    let p = w
        .pipeline(&Parts {
            source: Source::Ispring,
            lms: None,
            newsletter: Some(String::new()),
            mapping: String::new(),
            ..Parts::default()
        })
        .await;
    let (is, em) = (&w.is, &w.em);
    let run = p.sync("t", RunOptions::default()).await.expect("run");
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{:?}", run.membership);
    assert_eq!(run.membership.outcomes.len(), is.smart_groups().len());
    for g in is.smart_groups() {
        let ids = is.members(&g.id);
        let mut want: Vec<String> = is
            .users()
            .into_iter()
            .filter(|u| ids.contains(&u.id))
            .filter_map(|u| u.fields.get("EMAIL").cloned())
            .collect();
        want.sort();
        assert!(!want.is_empty(), "{} has members", g.name);
        let target = em
            .groups()
            .into_iter()
            .find(|t| t.external_id == format!("sgsync:ispring:{}", g.id))
            .expect("linked group");
        assert_eq!(em.member_emails(target.id), want, "{}", g.name);
    }
}

#[test]
fn membership_settings_are_validated_with_the_key_named() {
    let base = |target: &str| {
        format!(
            r#"
[source]
provider = "gosquared"
[source.gosquared]
api_key = "k"
site_token = "t"
{target}
"#
        )
    };
    let ispring = r#"
[targets.lms]
provider = "ispring"
membership = "always"
[targets.lms.ispring]
soap_url = "https://lms.example/soap"
[targets.lms.ispring.credentials]
kind = "login"
account_url = "https://lms.example"
email = "a@b.c"
password = "p"
"#;
    // iSpring holds static groups of existing users (issue 16): accepted.
    let settings = load_str("m.toml", &base(ispring), &[]).unwrap();
    assert_eq!(
        settings.targets[0].membership.mode,
        sgsync::model::members::MembershipMode::Always
    );
    // GoSquared has no static groups sgsync can write.
    let gosquared = r#"
[targets.gs2]
provider = "gosquared"
membership = "when_rule_lossy"
[targets.gs2.gosquared]
base_url = "https://other.gosquared.example"
api_key = "k"
site_token = "t"
"#;
    let err = load_str("m.toml", &base(gosquared), &[]).unwrap_err();
    assert_eq!(err.key(), Some("targets.gs2.membership"), "{err}");
    assert!(
        err.to_string().contains("only iSpring Learn, emfluence")
            || err.to_string().contains("only emfluence, iSpring Learn"),
        "{err}"
    );
    let emfluence = |extra: &str| {
        base(&format!(
            "[targets.news]\nprovider = \"emfluence\"\n{extra}\n[targets.news.emfluence]\ntoken = \"x\"\n"
        ))
    };
    let err = load_str("m.toml", &emfluence("max_removal_fraction = 1.5"), &[]).unwrap_err();
    assert_eq!(
        err.key(),
        Some("targets.news.max_removal_fraction"),
        "{err}"
    );
    let err = load_str("m.toml", &emfluence("mass_removal_confirm_runs = 1"), &[]).unwrap_err();
    assert_eq!(
        err.key(),
        Some("targets.news.mass_removal_confirm_runs"),
        "{err}"
    );
    let err = load_str("m.toml", &emfluence("membership = \"sometimes\""), &[]).unwrap_err();
    assert_eq!(err.key(), Some("targets.news.membership"), "{err}");
    let ok = load_str("m.toml", &emfluence(""), &[]).unwrap();
    assert_eq!(
        ok.targets[0].membership.mode,
        sgsync::model::members::MembershipMode::Always,
        "emfluence defaults to always"
    );
}

/// The run's future dropped while contacts are being created (what a crash does to it):
/// the next run sends what was not recorded, and no contact or member is doubled or lost.
#[tokio::test]
async fn a_run_dropped_mid_materialisation_is_completed_by_the_next() {
    let w = world().await;
    let group = w.gs.add_group("Acme people", acme());
    for i in 0..3 {
        w.gs.add_person(person(i, "Acme Ltd", true));
    }
    for i in 3..9 {
        w.gs.add_person(person(i, "Globex", true));
    }
    let p = connect(&w, "", "").await;
    p.sync("t", RunOptions::default()).await.expect("run 1");
    let gid = target_group(&w, &group);
    let contacts = w.em.contacts().len();
    for i in 3..9 {
        join(&w, i);
    }
    w.em.running.controls.set_plan(sgsync::sandbox::FaultPlan {
        latency: Duration::from_millis(150),
        only_paths: vec!["contacts/save".into()],
        ..Default::default()
    });
    let cut = tokio::time::timeout(
        Duration::from_millis(700),
        p.sync("t", RunOptions::default()),
    )
    .await;
    assert!(cut.is_err(), "the run was still going when dropped");
    // Let the request already sent land, as it would on a real server.
    tokio::time::sleep(Duration::from_millis(400)).await;
    w.em.running.controls.set_plan(Default::default());
    let done_before = w.em.member_emails(gid).len();
    assert!(
        (3..9).contains(&done_before),
        "cut mid-way: {done_before} members"
    );

    let next = p
        .sync("t", RunOptions::default())
        .await
        .expect("the next run");
    assert_eq!(next.outcome, RunOutcome::Succeeded, "{:?}", next.membership);
    assert_members(&w, gid, expected(0..9));
    assert_eq!(
        w.em.contacts().len(),
        contacts + 6,
        "no contact created twice"
    );
    assert_eq!(p.store.memberships().await.unwrap()[0].member_count, 9);
}

/// Two people whose addresses differ only in the local part's case are two members to
/// sgsync (RFC 5321 lets a server tell them apart) but one contact to emfluence, which
/// matches emails case-insensitively: the contact leaves the group only when both left.
#[tokio::test]
async fn addresses_differing_in_local_case_share_one_contact_safely() {
    let w = world().await;
    let group = w.gs.add_group("Acme people", acme());
    for (i, email) in [(1, "Ann.Case@example.com"), (2, "ann.case@EXAMPLE.com")] {
        w.gs.add_person(json!({
            "id": format!("p{i:05}"), "email": email, "name": "Ann Case",
            "company": {"name": "Acme Ltd"},
        }));
    }
    let p = connect(&w, "max_removal_fraction = 1.0", "").await;
    let first = p.sync("t", RunOptions::default()).await.expect("run 1");
    assert_eq!(only(&first).total, 2, "two members by hash");
    let gid = target_group(&w, &group);
    assert_eq!(w.em.member_emails(gid).len(), 1, "one contact");
    leave(&w, 1);
    w.em.running.controls.clear_log();
    let second = p.sync("t", RunOptions::default()).await.expect("run 2");
    assert_eq!(
        second.outcome,
        RunOutcome::Succeeded,
        "{:?}",
        second.membership
    );
    assert_eq!(
        calls(&w, "removeContacts"),
        0,
        "the contact still stands for p00002"
    );
    assert_eq!(w.em.member_emails(gid).len(), 1);
    leave(&w, 2);
    w.em.running.controls.clear_log();
    p.sync("t", RunOptions::default()).await.expect("run 3");
    assert_eq!(calls(&w, "removeContacts"), 1);
    assert!(w.em.member_emails(gid).is_empty());
    w.em.running.controls.clear_log();
    let fourth = p.sync("t", RunOptions::default()).await.expect("run 4");
    assert_eq!(
        only(&fourth).result,
        Ok(sgsync::store::MemberResult::Unchanged)
    );
    assert_eq!(write_calls(&w), 0);
}

/// A run whose only failure is a membership unit counts it: the counts say `failed 1`
/// (in the summary, the stored run and `sgsync status`), not `failed 0` beside exit 2.
#[tokio::test]
async fn a_run_failing_only_in_membership_counts_the_failure() {
    let w = world().await;
    w.gs.add_group("Acme people", acme());
    for i in 0..3 {
        w.gs.add_person(person(i, "Acme Ltd", true));
    }
    let p = connect(&w, "", "max_retries = 0").await;
    w.em.running.controls.set_plan(sgsync::sandbox::FaultPlan {
        only_paths: vec!["addContacts".into(), "contacts/save".into()],
        script: std::iter::repeat_n(Fault::Status(500), 50).collect(),
        ..Default::default()
    });
    let run = p.sync("t", RunOptions::default()).await.expect("run");
    assert_eq!(
        run.report.counts.failed, 0,
        "the group unit itself succeeded"
    );
    assert!(only(&run).result.is_err(), "{:?}", run.membership);
    assert_eq!(run.exit_code(), 2);
    assert_eq!(run.counts().failed, 1, "the membership failure is counted");
    let stored = &p.store.recent_runs(1).await.unwrap()[0];
    assert_eq!(stored.counts.failed, 1, "and stored with the run");
    assert!(
        stored.counts.to_string().contains("failed 1"),
        "{}",
        stored.counts
    );
}
