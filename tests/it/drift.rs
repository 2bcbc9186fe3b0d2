//! The target is checked, not assumed: copies edited, renamed, archived or deleted by
//! hand on the target are drift, found within each run's read budget, repaired under
//! `on_drift = "repair"` (the default) and reported under `"report"`; a GoSquared copy
//! whose source changed is stale, never healthy. Against the sandboxes, configured as a
//! user would; the hand edits are made on the sandboxes' state, as an admin UI would.

use crate::common;

use common::world::{Parts, Source, World, canada_rule, country_is};
use sgsync::engine::run::{Pipeline, RunOptions, RunSummary};
use sgsync::sandbox::Seed;
use sgsync::store::{RunOutcome, UnitResult};
use sgsync_ispring as ispring;

fn results(run: &RunSummary, target: &str) -> Vec<(&'static str, UnitResult)> {
    run.report
        .tally
        .iter()
        .filter(|((t, _, _), _)| t == target)
        .map(|((_, action, result), _)| (*action, *result))
        .collect()
}

fn us_rule() -> Vec<Vec<ispring::wire::WireRule>> {
    vec![vec![ispring::wire::WireRule {
        attribute_type: 3,
        attribute_id: Some("COUNTRY".into()),
        operator: 1,
        value: "840".into(),
    }]]
}

async fn lms_world(lms: &str) -> (World, Pipeline, String) {
    let w = World::start(Seed::Empty).await;
    w.gs.add_group("Canadians", vec![country_is("CA")]);
    let parts = Parts {
        lms: Some(lms.into()),
        newsletter: None,
        ..Parts::default()
    };
    let p = w.pipeline(&parts).await;
    let first = p.sync("t", RunOptions::default()).await.expect("run 1");
    assert_eq!(first.outcome, RunOutcome::Succeeded, "{:?}", first.report);
    let copy = w.is.smart_groups();
    assert_eq!(copy.len(), 1);
    let id = copy[0].id.clone();
    (w, p, id)
}

/// An iSpring copy whose rule was changed by hand to another country is put back in
/// the next run (plan shows it as drift first), and one deleted by hand is created
/// again; the run after each writes nothing.
#[tokio::test]
async fn an_ispring_copy_edited_or_deleted_by_hand_is_repaired() {
    let (w, p, id) = lms_world("on_lossy = \"skip\"").await;
    assert!(w.is.edit_group(&id, "Canadians", Some(us_rule())));

    let plan = p.dry_run().await.expect("plan");
    let drift: Vec<_> = plan
        .plan
        .units
        .iter()
        .filter(|u| u.action.label() == "drift")
        .collect();
    assert_eq!(drift.len(), 1, "{}", plan.plan);
    assert_eq!(plan.plan.writes(), 1, "the repair is a write");

    let second = p.sync("t", RunOptions::default()).await.expect("run 2");
    assert_eq!(second.outcome, RunOutcome::Succeeded, "{:?}", second.report);
    assert_eq!(results(&second, "lms"), [("drift", UnitResult::Repaired)]);
    assert_eq!(
        w.is.smart_groups()[0].rules,
        Some(canada_rule()),
        "the rule is the source's again"
    );
    w.clear_logs();
    let third = p.sync("t", RunOptions::default()).await.expect("run 3");
    assert_eq!((w.writes(), third.plan.writes()), ((0, 0), 0));
    assert_eq!(
        results(&third, "lms"),
        [("unchanged", UnitResult::Unchanged)]
    );

    // Deleted by hand: created again, and the link follows the new copy.
    assert!(w.is.remove_group(&id));
    let fourth = p.sync("t", RunOptions::default()).await.expect("run 4");
    assert_eq!(fourth.outcome, RunOutcome::Succeeded, "{:?}", fourth.report);
    assert_eq!(results(&fourth, "lms"), [("drift", UnitResult::Repaired)]);
    let again = w.is.smart_groups();
    assert_eq!(again.len(), 1, "exactly one copy");
    assert_ne!(again[0].id, id);
    let link = &p.store.links(Some("lms")).await.unwrap()[0];
    assert_eq!(link.target_id, again[0].id);
    w.clear_logs();
    let fifth = p.sync("t", RunOptions::default()).await.expect("run 5");
    assert_eq!((w.writes(), fifth.plan.writes()), ((0, 0), 0));
}

/// Under `on_drift = "report"` a copy deleted by hand is not recreated: the run says
/// drift (exit 2) and `sgsync status` shows it with its time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_report_drift_is_reported_and_shown_in_status() {
    let (w, p, id) = lms_world("on_lossy = \"skip\"\non_drift = \"report\"").await;
    assert!(w.is.remove_group(&id));
    let run = p.sync("t", RunOptions::default()).await.expect("run 2");
    assert_eq!(results(&run, "lms"), [("drift", UnitResult::Drifted)]);
    assert_eq!(run.outcome, RunOutcome::Partial);
    assert_eq!(run.exit_code(), 2);
    assert_eq!(run.counts().drift, 1);
    assert!(w.is.smart_groups().is_empty(), "nothing recreated");
    let states = p.store.link_states().await.unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].drift.as_deref(), Some("deleted by hand"));
    assert!(states[0].drift_at.is_some());

    w.write_config(&Parts {
        lms: Some("on_lossy = \"skip\"\non_drift = \"report\"".into()),
        newsletter: None,
        ..Parts::default()
    });
    let out = w.sgsync(&["status"]).output().expect("status runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("DRIFT since "), "{text}");
    assert!(text.contains("deleted by hand"), "{text}");
}

/// emfluence copies archived or renamed by hand are put back (Active, their name), and
/// one whose description was edited (it says edits are overwritten) is overwritten.
#[tokio::test]
async fn emfluence_copies_changed_by_hand_are_put_back() {
    let w = World::start(Seed::Demo).await;
    // A budget that reads every copy back in one run (the default reads a day's share
    // of them: the listing, and one copy of these nine per run).
    let p = w
        .pipeline(&Parts {
            lms: None,
            newsletter: Some(
                "on_lossy = \"push\"\nmembership = \"off\"\nverify_calls_per_run = 20".into(),
            ),
            ..Parts::default()
        })
        .await;
    p.sync("t", RunOptions::default()).await.expect("run 1");
    let groups = w.em.groups();
    let (a, b, c) = (&groups[0], &groups[1], &groups[2]);
    w.em.edit_group(a.id, &a.name, "Archived");
    w.em.edit_group(b.id, "Renamed by hand", "Active");
    w.em.set_description(c.id, "edited by hand");
    let run = p.sync("t", RunOptions::default()).await.expect("run 2");
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{:?}", run.report);
    assert_eq!(run.counts().drift, 3, "{:?}", run.report);
    for (before, now) in [a, b, c]
        .into_iter()
        .map(|g| (g, w.em.group(g.id).unwrap()))
    {
        assert_eq!(now.status, "Active");
        assert_eq!(now.name, before.name);
        assert_eq!(now.description, before.description);
    }
    w.clear_logs();
    let third = p.sync("t", RunOptions::default()).await.expect("run 3");
    assert_eq!((w.writes(), third.plan.writes()), ((0, 0), 0));
}

/// iSpring → GoSquared: GoSquared cannot update a group, so a copy whose source
/// changed is `stale` (exit 2, the time kept from the first run that saw it, the real
/// way out named); deleted by hand on GoSquared, it is created again from the source.
#[tokio::test]
async fn a_gosquared_copy_whose_source_changed_is_stale_until_recreated() {
    let w = World::start(Seed::Empty).await;
    let source = w.is.add_group("Learners in Canada", Some(canada_rule()));
    let p = w
        .pipeline(&Parts {
            source: Source::Ispring,
            lms: None,
            crm: Some("on_lossy = \"push\"".into()),
            newsletter: None,
            ..Parts::default()
        })
        .await;
    let first = p.sync("t", RunOptions::default()).await.expect("run 1");
    assert_eq!(first.outcome, RunOutcome::Succeeded, "{:?}", first.report);
    let copy = w.gs.groups();
    assert_eq!(copy.len(), 1);

    assert!(w.is.edit_group(&source, "Learners in Canada", Some(us_rule())));
    let plan = p.dry_run().await.expect("plan");
    let unit = &plan.plan.units[0];
    assert_eq!(unit.action.label(), "stale", "{}", plan.plan);
    let second = p.sync("t", RunOptions::default()).await.expect("run 2");
    assert_eq!(results(&second, "crm"), [("stale", UnitResult::Stale)]);
    assert_eq!(second.exit_code(), 2, "a stale copy is never healthy");
    assert_eq!(second.counts().stale, 1);
    let since = p.store.link_states().await.unwrap()[0]
        .stale_since
        .expect("stale since");
    let third = p.sync("t", RunOptions::default()).await.expect("run 3");
    assert_eq!(third.exit_code(), 2);
    assert_eq!(
        p.store.link_states().await.unwrap()[0].stale_since,
        Some(since),
        "the time it went stale is kept"
    );
    let plan = p.dry_run().await.expect("plan");
    let sgsync::engine::plan::Action::Stale {
        reason,
        since: shown,
        ..
    } = &plan.plan.units[0].action
    else {
        panic!("{}", plan.plan)
    };
    assert!(shown.is_some(), "the plan shows since when");
    assert!(reason.contains("delete this copy in GoSquared"), "{reason}");
    assert!(!reason.contains("replace"), "{reason}");
    assert_eq!(
        third
            .stale_since
            .iter()
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>(),
        ["crm"]
    );

    // The way out the message names: delete it by hand; the next run creates it anew.
    assert!(w.gs.remove_group(copy[0].id.as_deref().expect("an id")));
    let fourth = p.sync("t", RunOptions::default()).await.expect("run 4");
    assert_eq!(fourth.outcome, RunOutcome::Succeeded, "{:?}", fourth.report);
    assert_eq!(results(&fourth, "crm"), [("drift", UnitResult::Repaired)]);
    let now = w.gs.groups();
    assert_eq!(now.len(), 1);
    assert!(
        serde_json::to_string(&now[0].filters)
            .unwrap()
            .contains("US"),
        "the current rule: {:?}",
        now[0].filters
    );
    assert!(
        p.store.link_states().await.unwrap().is_empty(),
        "healthy again"
    );
    let fifth = p.sync("t", RunOptions::default()).await.expect("run 5");
    assert_eq!(fifth.outcome, RunOutcome::Succeeded);
    assert_eq!(fifth.plan.writes(), 0);
}

/// A small budget is kept, and the content check rotates: an edit nobody's listing can
/// see (the description) is found within as many runs as there are copies, and every
/// run stays within its calls. `sgsync verify` (a child process) reads everything at
/// once, even with scheduled checks off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_is_kept_the_slice_rotates_and_verify_reads_everything() {
    let w = World::start(Seed::Demo).await;
    let parts = |budget: usize| Parts {
        lms: None,
        newsletter: Some(format!(
            "on_lossy = \"push\"\nmembership = \"off\"\nverify_calls_per_run = {budget}"
        )),
        ..Parts::default()
    };
    let p = w.pipeline(&parts(2)).await;
    p.sync("t", RunOptions::default()).await.expect("run 1");
    let groups = w.em.groups();
    let links = groups.len();
    let edited = &groups[links - 1];
    w.em.set_description(edited.id, "edited by hand");
    let mut found_in = None;
    for run in 1..=links {
        let r = p.sync("t", RunOptions::default()).await.expect("run");
        let v = &r.verified[0];
        assert!(v.calls() <= 2, "within the budget: {v:?}");
        assert!(v.listed, "one page lists them all");
        if r.counts().drift > 0 {
            found_in = Some(run);
            break;
        }
    }
    assert!(found_in.is_some(), "found within {links} runs");
    assert_eq!(
        w.em.group(edited.id).unwrap().description,
        edited.description
    );

    // Scheduled checks off; the same edit is then found only by `sgsync verify`.
    w.write_config(&parts(0));
    w.em.set_description(edited.id, "edited by hand again");
    let sync = w.sgsync(&["sync"]).output().expect("sync runs");
    assert_eq!(
        sync.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&sync.stderr)
    );
    assert_eq!(
        w.em.group(edited.id).unwrap().description,
        "edited by hand again"
    );
    let verify = w
        .sgsync(&["verify", "--json"])
        .output()
        .expect("verify runs");
    let doc: serde_json::Value = serde_json::from_slice(&verify.stdout).expect("JSON");
    assert_eq!(verify.status.code(), Some(0), "{doc}");
    assert_eq!(doc["counts"]["drift"], 1, "{doc}");
    assert_eq!(doc["verified"][0]["content_checked"], links, "{doc}");
    assert_eq!(
        w.em.group(edited.id).unwrap().description,
        edited.description
    );
}

/// A repair that was cut off after its create was sent (an intent marked sent, the new
/// copy on the target, no link to it yet) is finished by the next run: the copy is
/// recognised by the intent and linked, never refused as someone else's or duplicated.
#[tokio::test]
async fn an_interrupted_repair_is_finished_by_the_next_run() {
    let (w, p, id) = lms_world("on_lossy = \"skip\"").await;
    assert!(w.is.remove_group(&id));
    let plan = p.dry_run().await.expect("plan");
    let unit = plan.plan.units[0].clone();
    let sgsync::engine::plan::Action::Drift {
        repair: Some((_, hash)),
        ..
    } = &unit.action
    else {
        panic!("{}", plan.plan)
    };
    // What the cut-off run left: its intent, sent, and the copy it made.
    p.store
        .record_intent(&sgsync::store::Intent {
            source_provider: "gosquared".into(),
            source_id: unit.source_id.clone(),
            target: "lms".into(),
            target_provider: "ispring".into(),
            stable_key: unit.stable_key.clone(),
            group_name: unit.group_name.clone(),
            payload_hash: hash.clone(),
            created_at: chrono::Utc::now(),
            sent: true,
        })
        .await
        .expect("intent");
    let made = w.is.add_group(&unit.group_name, Some(canada_rule()));
    let run = p.sync("t", RunOptions::default()).await.expect("run");
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{:?}", run.report);
    assert_eq!(w.is.smart_groups().len(), 1, "no duplicate");
    assert_eq!(p.store.links(Some("lms")).await.unwrap()[0].target_id, made);
    assert!(p.store.intents(None).await.unwrap().is_empty());
}

/// More copies than the budget lists at once (520 emfluence copies, 3 pages, 2 calls a
/// run): the first page says the whole does not fit, and each run then reads one page
/// of the listing in turn; a copy archived by hand on the third page is found by the
/// run whose window reaches it, and not before.
#[tokio::test]
async fn a_listing_too_long_for_the_budget_is_read_in_a_rotating_window() {
    let w = World::start(Seed::Empty).await;
    for i in 0..520 {
        w.gs.add_group(&format!("Group {i:03}"), vec![country_is("CA")]);
    }
    let p = w
        .pipeline(&Parts {
            lms: None,
            newsletter: Some(
                "on_lossy = \"push\"\nmembership = \"off\"\nverify_calls_per_run = 2".into(),
            ),
            ..Parts::default()
        })
        .await;
    let first = p.sync("t", RunOptions::default()).await.expect("run 1");
    assert_eq!(first.outcome, RunOutcome::Succeeded, "{:?}", first.report);
    let mut groups = w.em.groups();
    assert_eq!(groups.len(), 520);
    // By name, as the listing pages them (its default sort): the copies are created
    // concurrently, so their ids are not in name order, and the 511th id may sit on
    // any page.
    groups.sort_by_cached_key(|g| (g.name.to_lowercase(), g.id));
    let target = &groups[510];
    w.em.edit_group(target.id, &target.name, "Archived");

    let mut found = Vec::new();
    for _ in 0..3 {
        let run = p.sync("t", RunOptions::default()).await.expect("run");
        let v = &run.verified[0];
        assert!(!v.listed, "three pages do not fit two calls: {v:?}");
        assert_eq!(
            v.listing_calls, 2,
            "the first page, then a window of one: {v:?}"
        );
        assert_eq!(v.content_calls, 0, "{v:?}");
        found.push(run.counts().drift);
    }
    assert_eq!(
        found,
        [0, 0, 1],
        "the window reaches page 3 on the third run"
    );
    assert_eq!(w.em.group(target.id).unwrap().status, "Active");
}
