//! Whole runs against the three sandboxes, configured the way a user configures sgsync:
//! GoSquared → iSpring Learn + emfluence. Write calls are counted from the sandboxes'
//! request logs.

use crate::common;

use common::child;
use common::world::{Parts, Source, World, canada_rule, country_is};
use serde_json::json;
use sgsync::engine::run::{Pipeline, RunError, RunOptions};
use sgsync::sandbox::{Fault, FaultPlan, Seed};
use sgsync::store::Intent;
use sgsync::store::RunOutcome;
use sgsync_emfluence as emfluence;
use sgsync_ispring as ispring;
use std::time::Duration;

/// `$name` with the state in SQLite and `$pg` with it in PostgreSQL (said and skipped
/// without a test server, outside CI), both running `$body` on a world from `$world`.
macro_rules! on_both_backends {
    ($(#[$attr:meta])* $name:ident, $pg:ident = $body:ident($world:expr)) => {
        $(#[$attr])*
        async fn $name() {
            $body($world).await;
        }

        $(#[$attr])*
        async fn $pg() {
            if let Some(w) = $world.on_postgres("e2e").await {
                $body(w).await;
            }
        }
    };
}

/// The demo source (nine real groups) with empty targets. The world's default config:
/// lms skips lossy rules, the newsletter pushes them and archives orphans; membership
/// is off (these tests count group writes; membership has its own suite,
/// tests/it/membership.rs).
async fn world() -> World {
    World::start(Seed::Demo).await
}

async fn connect(w: &World) -> Pipeline {
    w.pipeline(&Parts::default()).await
}

async fn connect_with(w: &World, env: &[(&str, &str)]) -> Pipeline {
    w.pipeline_env(&Parts::default(), env).await
}

on_both_backends! {
    #[tokio::test]
    initial_sync_no_op_edit_and_delete, initial_sync_no_op_edit_and_delete_on_postgres = initial_sync_no_op_edit_and_delete_in(world().await)
}

async fn initial_sync_no_op_edit_and_delete_in(w: World) {
    let canadians = w.gs.add_group("Canadians", vec![country_is("CA")]);
    let p = connect(&w).await;

    // Initial sync: the one rule iSpring can hold goes there; all ten groups reach
    // emfluence as described static groups (on_lossy = "push").
    let first = p.sync("e2e", RunOptions::default()).await.expect("run 1");
    assert_eq!(first.outcome, RunOutcome::Succeeded, "{:?}", first.report);
    assert_eq!(first.exit_code(), 0);
    let counts = first.counts();
    assert_eq!(
        (counts.created, counts.skipped, counts.failed),
        (11, 9, 0),
        "{counts:?}"
    );
    let lms = w.is.smart_groups();
    assert_eq!(lms.len(), 1);
    assert_eq!(lms[0].name, "Canadians");
    let news = w.em.groups();
    assert_eq!(news.len(), 10);
    assert!(
        news.iter()
            .any(|g| g.external_id == format!("sgsync:gosquared:{canadians}"))
    );
    assert_eq!(w.writes(), (1, 10));

    // Nothing changed at the source: zero write calls anywhere.
    w.clear_logs();
    let second = p.sync("e2e", RunOptions::default()).await.expect("run 2");
    assert_eq!(w.writes(), (0, 0), "a no-op run writes nothing");
    assert_eq!(second.counts().unchanged, 11);
    assert_eq!(second.plan.writes(), 0);
    // Nor does it grow the store: no event, no link rewritten, for a unit that did
    // nothing (the run record counts them). A third no-op run proves the second one
    // left every link as it found it.
    let links_before = p.store.links(None).await.expect("links");
    let second_id = second.run_id;
    let again = p
        .sync("e2e", RunOptions::default())
        .await
        .expect("run 2 again");
    // And no statement per unit: the link index knows each link already holds
    // "unchanged" (or "skipped"), so nothing about a unit goes to the store.
    assert_eq!(again.report.recorded, 0, "{:?}", again.report);
    assert!(
        p.store.events(second_id).await.expect("events").is_empty()
            && p.store
                .events(again.run_id)
                .await
                .expect("events")
                .is_empty()
    );
    assert_eq!(p.store.links(None).await.expect("links"), links_before);
    assert_eq!(again.counts().unchanged, 11);
    assert_eq!(
        w.gs.running
            .controls
            .count(&reqwest::Method::POST, "smartgroups"),
        0
    );

    // An edit propagates as exactly one update per target.
    assert!(w.gs.set_filters(&canadians, vec![country_is("US")]));
    w.clear_logs();
    let third = p.sync("e2e", RunOptions::default()).await.expect("run 3");
    assert_eq!(third.counts().updated, 2, "{:?}", third.report);
    assert_eq!(w.writes(), (1, 1));
    assert_eq!(
        w.is.smart_groups().len(),
        1,
        "updated in place, not recreated"
    );

    // A deleted source group: lms keeps it (default policy), newsletter archives it.
    assert!(w.gs.remove_group(&canadians));
    w.clear_logs();
    let fourth = p.sync("e2e", RunOptions::default()).await.expect("run 4");
    assert_eq!(fourth.counts().orphaned, 2, "{:?}", fourth.report);
    assert_eq!(w.is.smart_groups().len(), 1, "kept on lms");
    let archived: Vec<_> =
        w.em.groups()
            .into_iter()
            .filter(|g| g.status == "Archived")
            .collect();
    assert_eq!(archived.len(), 1);
    assert_eq!(w.writes(), (0, 1));

    let runs = p.store.recent_runs(10).await.expect("runs are recorded");
    assert_eq!(runs.len(), 5);
    assert!(
        p.store
            .integrity_check()
            .await
            .expect("integrity check runs")
    );
}

on_both_backends! {
    #[tokio::test]
    a_run_while_another_holds_the_lock_does_not_start, a_run_while_another_holds_the_lock_does_not_start_on_postgres = a_run_while_another_holds_the_lock_does_not_start_in(world().await)
}

async fn a_run_while_another_holds_the_lock_does_not_start_in(w: World) {
    let p = connect(&w).await;
    let someone = sgsync::store::Holder::with_process("someone-else", None).expect("a holder");
    p.store
        .acquire_lock(&someone, Duration::from_secs(60), chrono::Utc::now())
        .await
        .expect("first holder takes the lock");
    let err = p
        .sync("e2e", RunOptions::default())
        .await
        .expect_err("the lock is held");
    assert!(
        matches!(err, RunError::LockHeld { ref holder, .. } if holder == "someone-else"),
        "{err}"
    );
    assert!(err.to_string().contains("someone-else"));
    assert_eq!(w.writes(), (0, 0));
}

on_both_backends! {
    #[tokio::test]
    a_dry_run_writes_nothing_anywhere, a_dry_run_writes_nothing_anywhere_on_postgres = a_dry_run_writes_nothing_anywhere_in(world().await)
}

async fn a_dry_run_writes_nothing_anywhere_in(w: World) {
    let p = connect(&w).await;
    let plan = p.dry_run().await.expect("dry run");
    assert!(plan.plan.writes() > 0, "there is work to do");
    assert_eq!(w.writes(), (0, 0));
    assert!(
        p.store.recent_runs(10).await.expect("runs").is_empty(),
        "no run recorded"
    );
    assert!(p.store.links(None).await.expect("links").is_empty());
}

on_both_backends! {
    /// The operator commands, as a user runs them, against the same sandboxes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    operator_commands_sync_status_check_resync_forget, operator_commands_sync_status_check_resync_forget_on_postgres = operator_commands_sync_status_check_resync_forget_in(world().await)
}

async fn operator_commands_sync_status_check_resync_forget_in(w: World) {
    w.gs.add_group("Canadians", vec![country_is("CA")]);
    w.write_config(&Parts::default());
    let config = w.config_path.clone();
    // (exit code, stdout, stderr)
    let call = |args: Vec<&'static str>| {
        let command = common::world::sgsync_with(&config, &args);
        async move {
            let out = child::ran(command, Duration::from_secs(60)).await;
            (out.code, out.stdout, out.stderr)
        }
    };

    let (code, out, err) = call(vec!["check"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out.matches("): ok").count(), 3, "{out}");

    let (code, out, err) = call(vec!["--sync-now", "--dry-run"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("11 write(s)"), "{out}");
    assert!(w.em.groups().is_empty(), "a dry run writes nothing");

    let (code, out, err) = call(vec!["--sync-now"]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("created 11"), "{out}");

    let (code, out, _) = call(vec!["status"]).await;
    assert_eq!(code, Some(0));
    assert!(out.contains("gosquared:canadians → lms"), "{out}");

    let (code, out, _) = call(vec!["resync", "--target", "newsletter"]).await;
    assert_eq!(code, Some(0));
    assert!(out.starts_with("10 link(s)"), "{out}");
    let (_, out, _) = call(vec!["plan", "--json"]).await;
    let plan: serde_json::Value = serde_json::from_str(&out).expect("plan --json is JSON");
    assert_eq!(plan["writes"], 10, "every forgotten hash is pushed again");

    let (code, _, err) = call(vec!["forget", "--target", "lms"]).await;
    assert_eq!(code, Some(1), "no TTY and no --yes: refused");
    assert!(err.contains("--yes"), "{err}");
    let (code, out, _) = call(vec!["forget", "--target", "lms", "--yes"]).await;
    assert_eq!(code, Some(0));
    assert!(out.contains("forgot 1 link(s)"), "{out}");
}

on_both_backends! {
    /// The write happened but its answer was lost (the same state as a crash after the
    /// request left): the create fails, its intent stays, and the next run finds the group
    /// by its key instead of creating a second one.
    #[tokio::test]
    a_lost_create_response_is_resolved_without_a_duplicate, a_lost_create_response_is_resolved_without_a_duplicate_on_postgres = a_lost_create_response_is_resolved_without_a_duplicate_in(world().await)
}

async fn a_lost_create_response_is_resolved_without_a_duplicate_in(w: World) {
    let p = connect_with(
        &w,
        &[
            ("SGSYNC__HTTP__TIMEOUT_SECS", "1"),
            ("SGSYNC__HTTP__MAX_RETRIES", "0"),
        ],
    )
    .await;
    w.em.running.controls.set_plan(FaultPlan {
        script: [Fault::LoseResponse(Duration::from_secs(3))].into(),
        only_paths: vec!["groups/save".into()],
        ..FaultPlan::default()
    });
    let first = p.sync("e2e", RunOptions::default()).await.expect("run 1");
    assert_eq!(first.counts().failed, 1, "{:?}", first.report);
    assert_eq!(first.exit_code(), 2, "some units failed");
    assert_eq!(
        p.store.intents(None).await.expect("intents").len(),
        1,
        "the intent survives"
    );
    assert_eq!(
        w.em.groups().len(),
        9,
        "yet all nine groups exist on emfluence"
    );

    let second = p.sync("e2e", RunOptions::default()).await.expect("run 2");
    assert_eq!(second.counts().failed, 0, "{:?}", second.report);
    assert!(
        second
            .report
            .outcomes
            .iter()
            .any(|o| o.result == Ok(sgsync::store::UnitResult::Adopted))
    );
    assert_eq!(w.em.groups().len(), 9, "no duplicate");
    assert!(p.store.intents(None).await.expect("intents").is_empty());
    assert_eq!(
        p.store
            .links(Some("newsletter"))
            .await
            .expect("links")
            .len(),
        9,
        "no link lost"
    );
    // The adopted group holds what the lost create sent, which is what the link
    // records: the next run has nothing to write.
    w.em.running.controls.clear_log();
    let third = p.sync("e2e", RunOptions::default()).await.expect("run 3");
    assert_eq!((w.writes(), third.plan.writes()), ((0, 0), 0));
}

on_both_backends! {
    /// A source group that went (its emfluence copy archived) and came back with the same
    /// id: its copy is found by key, adopted and active again in the same run, and the run
    /// after has nothing to write.
    #[tokio::test]
    a_source_group_that_comes_back_makes_its_archived_copy_active_at_once, a_source_group_that_comes_back_makes_its_archived_copy_active_at_once_on_postgres = a_source_group_that_comes_back_makes_its_archived_copy_active_at_once_in(world().await)
}

async fn a_source_group_that_comes_back_makes_its_archived_copy_active_at_once_in(w: World) {
    let canadians = w.gs.add_group("Canadians", vec![country_is("CA")]);
    let p = connect(&w).await;
    p.sync("e2e", RunOptions::default()).await.expect("run 1");
    let key = format!("sgsync:gosquared:{canadians}");
    let copy = |w: &World| {
        w.em.groups()
            .into_iter()
            .find(|g| g.external_id == key)
            .expect("the emfluence copy")
    };
    assert!(w.gs.remove_group(&canadians));
    p.sync("e2e", RunOptions::default()).await.expect("run 2");
    assert_eq!(copy(&w).status, "Archived");

    let again = w.gs.add_group("Canadians", vec![country_is("CA")]);
    assert_eq!(again, canadians, "the same id comes back");
    let third = p.sync("e2e", RunOptions::default()).await.expect("run 3");
    assert_eq!(third.counts().failed, 0, "{:?}", third.report);
    assert_eq!(
        copy(&w).status,
        "Active",
        "active in the run that adopted it"
    );
    w.clear_logs();
    let fourth = p.sync("e2e", RunOptions::default()).await.expect("run 4");
    assert_eq!((w.writes(), fourth.plan.writes()), ((0, 0), 0));
}

on_both_backends! {
    /// A crash after the create answered but before the link was committed leaves an intent
    /// and a group on the target. iSpring stores no key: the intent is what makes the group
    /// found by name ours.
    #[tokio::test]
    a_crash_before_the_link_commit_is_resolved_by_the_intent, a_crash_before_the_link_commit_is_resolved_by_the_intent_on_postgres = a_crash_before_the_link_commit_is_resolved_by_the_intent_in(world().await)
}

async fn a_crash_before_the_link_commit_is_resolved_by_the_intent_in(w: World) {
    let canadians = w.gs.add_group("Canadians", vec![country_is("CA")]);
    let p = connect(&w).await;
    let planned = p.dry_run().await.expect("plan");
    let unit = planned
        .plan
        .units
        .iter()
        .find(|u| u.target == "lms" && u.source_id == canadians)
        .expect("Canadians is planned for lms");
    p.store
        .record_intent(&Intent {
            source_provider: sgsync_gosquared::KIND.as_str().to_owned(),
            source_id: canadians.clone(),
            target: "lms".into(),
            target_provider: sgsync_ispring::KIND.as_str().to_owned(),
            stable_key: unit.stable_key.clone(),
            group_name: unit.group_name.clone(),
            payload_hash: "interrupted".into(),
            created_at: chrono::Utc::now(),
            // The create was sent (and answered) before the crash.
            sent: true,
        })
        .await
        .expect("intent recorded");
    w.is.add_group(&unit.group_name, Some(canada_rule()));

    let run = p.sync("e2e", RunOptions::default()).await.expect("run");
    assert_eq!(run.counts().failed, 0, "{:?}", run.report);
    let named: Vec<_> =
        w.is.groups()
            .into_iter()
            .filter(|g| g.name == unit.group_name)
            .collect();
    assert_eq!(named.len(), 1, "exactly one target group, adopted");
    assert!(p.store.intents(None).await.expect("intents").is_empty());
}

on_both_backends! {
    /// Without an intent, a group that merely has the same name is not sgsync's: it is
    /// reported, never adopted (and so never archived or deleted later).
    #[tokio::test]
    a_same_named_group_without_an_intent_is_not_adopted, a_same_named_group_without_an_intent_is_not_adopted_on_postgres = a_same_named_group_without_an_intent_is_not_adopted_in(world().await)
}

async fn a_same_named_group_without_an_intent_is_not_adopted_in(w: World) {
    w.gs.add_group("Canadians", vec![country_is("CA")]);
    w.is.add_group("Canadians", Some(canada_rule()));
    let p = connect(&w).await;
    let run = p.sync("e2e", RunOptions::default()).await.expect("run");
    let failures: Vec<_> = run
        .report
        .outcomes
        .iter()
        .filter(|o| o.result.is_err())
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(format!("{:?}", failures[0].result).contains("sgsync cannot prove it made it"));
    assert_eq!(run.exit_code(), 2);
    assert!(p.store.links(Some("lms")).await.expect("links").is_empty());
}

on_both_backends! {
    /// `sgsync run` as systemd runs it: syncs on the schedule, and SIGTERM ends it with
    /// exit 0 after the current run is recorded.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    the_daemon_syncs_on_schedule_and_stops_cleanly_on_sigterm, the_daemon_syncs_on_schedule_and_stops_cleanly_on_sigterm_on_postgres = the_daemon_syncs_on_schedule_and_stops_cleanly_on_sigterm_in(world().await)
}

async fn the_daemon_syncs_on_schedule_and_stops_cleanly_on_sigterm_in(w: World) {
    // No [metrics] table: the endpoint is on, on a free port (the default 9464 may be
    // taken on a shared machine).
    w.write_config(&Parts {
        metrics: None,
        ..Parts::default()
    });
    let mut command = w.sgsync(&["run", "--once-at-start"]);
    command
        .env("SGSYNC__SCHEDULE__CRON", "* * * * * *")
        .env("SGSYNC__METRICS__LISTEN", "127.0.0.1:0");
    let child = child::spawn(&mut command);
    let store = w.store().await;
    // Bounded wait: at most 20 s for two finished runs (one at start, one on a tick).
    let mut finished = 0;
    for _ in 0..200 {
        let runs = store.recent_runs(10).await.unwrap_or_default();
        finished = runs
            .iter()
            .filter(|r| r.outcome == RunOutcome::Succeeded)
            .count();
        if finished >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if finished < 2 {
        let out = child::ended_or_killed(child, Duration::ZERO).await;
        panic!("runs on schedule: {finished}; stderr: {}", out.stderr);
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let exit = child::ended(child, Duration::from_secs(60)).await;
    assert_eq!(exit.code, Some(0), "SIGTERM is a clean stop");
    let runs = store.recent_runs(100).await.expect("runs");
    assert!(
        runs.iter().all(|r| r.outcome != RunOutcome::Running),
        "every run recorded as finished: {runs:?}"
    );
    assert_eq!(
        w.em.groups().len(),
        9,
        "no duplicates across scheduled runs"
    );
}

on_both_backends! {
    /// Two `--sync-now` at once (a CronJob and a manual run): one runs, the other exits 1
    /// saying the lock is held.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    two_sync_now_processes_at_once_one_runs_the_other_exits_1, two_sync_now_processes_at_once_one_runs_the_other_exits_1_on_postgres = two_sync_now_processes_at_once_one_runs_the_other_exits_1_in(world().await)
}

async fn two_sync_now_processes_at_once_one_runs_the_other_exits_1_in(w: World) {
    // Slow answers keep the first run going while the second starts.
    w.em.running.controls.set_plan(FaultPlan {
        latency: Duration::from_millis(200),
        ..FaultPlan::default()
    });
    w.write_config(&Parts::default());
    let spawn = || child::spawn(&mut w.sgsync(&["--sync-now"]));
    let first = spawn();
    let store = w.store().await;
    // Bounded wait (≤ 10 s) until the first run is under way.
    for _ in 0..100 {
        let runs = store.recent_runs(1).await.unwrap_or_default();
        if runs
            .first()
            .is_some_and(|r| r.outcome == RunOutcome::Running)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second = spawn();
    let (a, b) = tokio::join!(
        child::ended(first, Duration::from_secs(120)),
        child::ended(second, Duration::from_secs(120))
    );
    assert_eq!(a.code, Some(0), "{}", a.stderr);
    assert_eq!(b.code, Some(1));
    assert!(b.stderr.contains("holds the run lock"), "{}", b.stderr);
    assert_eq!(
        w.em.groups().len(),
        9,
        "one run's worth of groups, no duplicates"
    );
}

/// iSpring Learn as the source → GoSquared + emfluence.
#[tokio::test]
async fn ispring_as_the_source() {
    ispring_as_the_source_in(World::start_seeded(Seed::Empty, Seed::Demo, Seed::Empty).await).await;
}

#[tokio::test]
async fn ispring_as_the_source_on_postgres() {
    let w = World::start_seeded(Seed::Empty, Seed::Demo, Seed::Empty).await;
    if let Some(w) = w.on_postgres("e2e").await {
        ispring_as_the_source_in(w).await;
    }
}

async fn ispring_as_the_source_in(w: World) {
    let job = w.is.add_group(
        "Sales Managers",
        Some(vec![vec![ispring::wire::WireRule {
            attribute_type: 3,
            attribute_id: Some("JOB_TITLE".into()),
            operator: 1,
            value: "Sales Manager".into(),
        }]]),
    );
    let p = w
        .pipeline(&Parts {
            source: Source::Ispring,
            lms: None,
            crm: Some(String::new()),
            newsletter: Some("on_lossy = \"push\"".into()),
            mapping: r#"[mapping.attributes.job_title]
gosquared = "custom.job_title"
ispring_field = "JOB_TITLE"
[mapping.confirmed]
ispring_field_rules = true
gosquared_relative_dates = true
gosquared_top_level_and = true
[mapping.gosquared_operators]
equals = "==""#
                .into(),
            ..Parts::default()
        })
        .await;

    let first = p.sync("e2e", RunOptions::default()).await.expect("run 1");
    assert_eq!(first.outcome, RunOutcome::Succeeded, "{:?}", first.report);
    let smart = w.is.smart_groups().len();
    assert_eq!(
        w.em.groups().len(),
        smart,
        "every iSpring smart group reaches emfluence"
    );
    let crm = w.gs.groups();
    assert_eq!(
        crm.len(),
        1,
        "only the job-title rule fits GoSquared (departments do not): {crm:?}"
    );
    assert_eq!(crm[0].name, "Sales Managers");
    assert_eq!(
        serde_json::Value::Array(crm[0].filters.clone()),
        json!([{"key": "property", "path": "custom.job_title", "operator": "==", "value": "Sales Manager"}])
    );
    let report = first.report;
    assert_eq!(
        report
            .tally
            .get(&("crm".to_owned(), "skip", sgsync::store::UnitResult::Skipped)),
        Some(&(smart - 1))
    );
    assert!(report.outcomes.iter().any(|o| o.source_id == job
        && o.target == "crm"
        && o.result == Ok(sgsync::store::UnitResult::Created)));

    w.gs.running.controls.clear_log();
    w.em.running.controls.clear_log();
    let second = p.sync("e2e", RunOptions::default()).await.expect("run 2");
    assert_eq!(second.plan.writes(), 0);
    assert_eq!(
        w.gs.running
            .controls
            .count(&reqwest::Method::POST, "smartgroups"),
        0
    );
    assert_eq!(w.writes().1, 0);
}

on_both_backends! {
    /// The run's future dropped while creates are in flight (what a crash does to it): the
    /// next run marks the dead run interrupted, resolves the intents by lookup, and ends
    /// with exactly one target group per source group and every link recorded.
    #[tokio::test]
    a_run_dropped_mid_create_leaves_no_duplicate_and_no_lost_link, a_run_dropped_mid_create_leaves_no_duplicate_and_no_lost_link_on_postgres = a_run_dropped_mid_create_leaves_no_duplicate_and_no_lost_link_in(world().await)
}

async fn a_run_dropped_mid_create_leaves_no_duplicate_and_no_lost_link_in(w: World) {
    w.em.running.controls.set_plan(FaultPlan {
        latency: Duration::from_millis(300),
        only_paths: vec!["groups/save".into()],
        ..FaultPlan::default()
    });
    let p = connect(&w).await;
    // Every emfluence call takes 300 ms: the run's check of the target and the name
    // listing end at ~600 ms, then the creates (300 ms each) are in flight.
    let cut = tokio::time::timeout(
        Duration::from_millis(1000),
        p.sync("e2e", RunOptions::default()),
    )
    .await;
    assert!(cut.is_err(), "the run was still going when dropped");
    let in_flight = p.store.intents(None).await.expect("intents").len();
    assert!(
        in_flight > 0,
        "creates were in flight when the run was dropped"
    );
    // Let the requests already sent land, as they would on a real server.
    tokio::time::sleep(Duration::from_millis(500)).await;
    w.em.running.controls.set_plan(FaultPlan::default());

    let next = p
        .sync("e2e", RunOptions::default())
        .await
        .expect("the next run");
    assert_eq!(next.counts().failed, 0, "{:?}", next.report);
    let names: std::collections::HashSet<_> = w.em.groups().into_iter().map(|g| g.name).collect();
    assert_eq!(w.em.groups().len(), 9, "no duplicate");
    assert_eq!(names.len(), 9);
    assert_eq!(
        p.store
            .links(Some("newsletter"))
            .await
            .expect("links")
            .len(),
        9,
        "no link lost"
    );
    assert!(p.store.intents(None).await.expect("intents").is_empty());
    let runs = p.store.recent_runs(10).await.expect("runs");
    assert_eq!(
        runs.iter()
            .filter(|r| r.outcome == RunOutcome::Interrupted)
            .count(),
        1,
        "{runs:?}"
    );
    assert!(p.store.integrity_check().await.expect("integrity check"));
}

on_both_backends! {
    /// `on_source_deleted = "delete"` on iSpring, the one target that can delete.
    #[tokio::test]
    a_deleted_source_group_is_deleted_on_ispring_under_the_delete_policy, a_deleted_source_group_is_deleted_on_ispring_under_the_delete_policy_on_postgres = a_deleted_source_group_is_deleted_on_ispring_under_the_delete_policy_in(world().await)
}

async fn a_deleted_source_group_is_deleted_on_ispring_under_the_delete_policy_in(w: World) {
    let canadians = w.gs.add_group("Canadians", vec![country_is("CA")]);
    let p = connect_with(&w, &[("SGSYNC__TARGETS__LMS__ON_SOURCE_DELETED", "delete")]).await;
    p.sync("e2e", RunOptions::default()).await.expect("run 1");
    assert_eq!(w.is.smart_groups().len(), 1);
    assert!(w.gs.remove_group(&canadians));
    let run = p.sync("e2e", RunOptions::default()).await.expect("run 2");
    assert_eq!(run.counts().failed, 0, "{:?}", run.report);
    assert!(w.is.smart_groups().is_empty(), "deleted on iSpring");
    assert!(
        p.store
            .link(sgsync_gosquared::KIND, &canadians, "lms")
            .await
            .expect("link read")
            .is_none()
    );
}

on_both_backends! {
    /// A first sync lists each target once instead of looking every new group up before
    /// creating it; a name the listing holds is still looked up, so a same-named group
    /// that is not sgsync's is refused, never adopted.
    #[tokio::test]
    creates_check_one_listing_per_target_and_still_refuse_a_group_not_ours, creates_check_one_listing_per_target_and_still_refuse_a_group_not_ours_on_postgres = creates_check_one_listing_per_target_and_still_refuse_a_group_not_ours_in(world().await)
}

async fn creates_check_one_listing_per_target_and_still_refuse_a_group_not_ours_in(w: World) {
    w.gs.add_group("Canadians", vec![country_is("CA")]);
    w.gs.add_group("Americans", vec![country_is("US")]);
    // Made by hand on emfluence under the name sgsync would give "Most Active".
    w.em.add_group(
        "Most Active",
        "someone-else",
        emfluence::wire::GroupKind::Static,
    );
    let p = connect(&w).await;
    let run = p.sync("e2e", RunOptions::default()).await.expect("run");
    let failures: Vec<_> = run
        .report
        .outcomes
        .iter()
        .filter(|o| o.result.is_err())
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].target, "newsletter");
    assert!(
        format!("{:?}", failures[0].result).contains("not sgsync's"),
        "{failures:?}"
    );
    // emfluence: one listing, plus the lookup (search + lookup) of the one listed name;
    // the other ten groups are created without a lookup each.
    let em = &w.em.running.controls;
    assert_eq!(em.count(&reqwest::Method::POST, "groups/search"), 2);
    assert_eq!(em.count(&reqwest::Method::POST, "groups/lookup"), 1);
    assert_eq!(em.count(&reqwest::Method::POST, "groups/save"), 10);
    // iSpring: one getGroups for both creates.
    let is = w.is.running.controls.requests();
    assert_eq!(
        is.iter().filter(|r| r.contains("GetGroupsRequest")).count(),
        1
    );
    assert_eq!(w.writes(), (2, 10));
    assert_eq!(
        w.em.groups().len(),
        11,
        "the hand-made group and ten of ours"
    );
}

on_both_backends! {
    /// A target that cannot be reached fails the run on a run with nothing to write: its
    /// credentials refused, then its endpoint answering 503. The run is `partial` (exit 2),
    /// says which target, is stored with the reason, and after the configured number of
    /// such runs `sgsync run` is not ready.
    #[tokio::test]
    a_dead_target_fails_a_run_that_has_nothing_to_write, a_dead_target_fails_a_run_that_has_nothing_to_write_on_postgres = a_dead_target_fails_a_run_that_has_nothing_to_write_in(world().await)
}

async fn a_dead_target_fails_a_run_that_has_nothing_to_write_in(w: World) {
    use sgsync::observe::health::Health;
    use sgsync::observe::summary::RunRecord;
    let p = connect_with(&w, &[("SGSYNC__HTTP__MAX_RETRIES", "0")]).await;
    let first = p.sync("e2e", RunOptions::default()).await.expect("run 1");
    assert_eq!(first.outcome, RunOutcome::Succeeded, "{:?}", first.report);
    assert!(
        first.targets.iter().all(|t| t.is_up()),
        "{:?}",
        first.targets
    );
    let health = Health::new(2);
    health.loop_started();

    // Our token is refused: nothing needs writing, yet the run fails.
    w.em.set_token("a-token-sgsync-does-not-have");
    let refused = p.sync("e2e", RunOptions::default()).await.expect("run 2");
    assert_eq!(refused.plan.writes(), 0, "nothing to write");
    assert_eq!(refused.outcome, RunOutcome::Partial);
    assert_eq!(refused.exit_code(), 2);
    let down: Vec<_> = refused.targets.iter().filter(|t| !t.is_up()).collect();
    assert_eq!(down.len(), 1, "{:?}", refused.targets);
    assert_eq!(down[0].target, "newsletter");
    let stored = &p.store.recent_runs(1).await.unwrap()[0];
    assert!(
        stored
            .error
            .as_deref()
            .is_some_and(|e| e.contains("\"newsletter\" cannot be reached")),
        "{stored:?}"
    );
    let record = RunRecord::new(&Ok(refused), Duration::from_secs(1), chrono::Utc::now());
    health.run_finished(&record);
    assert!(health.readiness().ok, "one failed run of two allowed");

    // The endpoint answers 503: the same.
    w.em.set_token(sgsync::sandbox::emfluence::SANDBOX_TOKEN);
    w.em.running.controls.set_plan(FaultPlan {
        script: std::iter::repeat_n(Fault::Status(503), 20).collect(),
        ..FaultPlan::default()
    });
    let unavailable = p.sync("e2e", RunOptions::default()).await.expect("run 3");
    assert_eq!(unavailable.exit_code(), 2);
    assert!(
        unavailable
            .targets
            .iter()
            .any(|t| t.target == "newsletter" && !t.is_up()),
        "{:?}",
        unavailable.targets
    );
    let record = RunRecord::new(&Ok(unavailable), Duration::from_secs(1), chrono::Utc::now());
    health.run_finished(&record);
    assert!(!health.readiness().ok, "{}", health.readiness().text);

    // Back up: the next run succeeds and readiness returns.
    w.em.running.controls.set_plan(FaultPlan::default());
    let back = p.sync("e2e", RunOptions::default()).await.expect("run 4");
    assert_eq!(back.outcome, RunOutcome::Succeeded, "{:?}", back.targets);
    health.run_finished(&RunRecord::new(
        &Ok(back),
        Duration::from_secs(1),
        chrono::Utc::now(),
    ));
    assert!(health.readiness().ok);
}

/// Two pipelines, GoSquared → iSpring (`lms`) and iSpring → GoSquared (`crm`), over the
/// same two accounts. `b_store` is the `[store]` line of the second pipeline's state
/// database and `b_source` its `[source]` lines.
async fn two_way(w: &World, b_store: &str, b_source: &str) -> (Pipeline, Pipeline) {
    let a = w
        .pipeline(&Parts {
            lms: Some("name_prefix = \"[from gs] \"".into()),
            newsletter: None,
            source_lines: "skip_name_prefixes = [\"[from lms] \"]".into(),
            ..Parts::default()
        })
        .await;
    let b_text = w
        .config(&Parts {
            source: Source::Ispring,
            source_lines: b_source.into(),
            lms: None,
            crm: Some("name_prefix = \"[from lms] \"\non_lossy = \"push\"".into()),
            newsletter: None,
            ..Parts::default()
        })
        .replace(&w.store_line(), b_store);
    let b = sgsync::config::load_str("b.toml", &b_text, &[]).expect("config b");
    (a, common::world::pipeline(&b).await)
}

/// Runs both pipelines `n` times, one after the other; the names each side then holds.
async fn run_both(w: &World, a: &Pipeline, b: &Pipeline, n: usize) -> (Vec<String>, Vec<String>) {
    for _ in 0..n {
        let ra = a.sync("a", RunOptions::default()).await.expect("a runs");
        assert_eq!(ra.outcome, RunOutcome::Succeeded, "{:?}", ra.report);
        let rb = b.sync("b", RunOptions::default()).await.expect("b runs");
        assert_eq!(rb.outcome, RunOutcome::Succeeded, "{:?}", rb.report);
    }
    let mut gs: Vec<String> = w.gs.groups().into_iter().map(|g| g.name).collect();
    let mut is: Vec<String> = w.is.groups().into_iter().map(|g| g.name).collect();
    gs.sort();
    is.sort();
    (gs, is)
}

/// A two-way setup never echoes: each side's copies are not read back as source
/// groups — by the other side's prefix (`[source] skip_name_prefixes`) when each
/// pipeline has its own state database, and by the links when they share one.
#[tokio::test]
async fn a_two_way_setup_does_not_echo() {
    for shared in [false, true] {
        let w = World::start(Seed::Empty).await;
        let b_store = if shared {
            w.store_line()
        } else {
            format!("path = \"{}\"", w.dir.path().join("b.db").display())
        };
        a_two_way_setup_does_not_echo_in(w, &b_store, shared).await;
    }
}

#[tokio::test]
async fn a_two_way_setup_does_not_echo_on_postgres() {
    for shared in [false, true] {
        let Some(w) = World::start(Seed::Empty).await.on_postgres("e2e").await else {
            return;
        };
        let other = match shared {
            true => None,
            false => crate::common::db::TempDb::postgres("e2e-b").await,
        };
        let b_store = other
            .as_ref()
            .map_or_else(|| w.store_line(), |db| db.config_lines().to_owned());
        a_two_way_setup_does_not_echo_in(w, &b_store, shared).await;
    }
}

async fn a_two_way_setup_does_not_echo_in(w: World, b_store: &str, shared: bool) {
    w.gs.add_group("Canadians", vec![country_is("CA")]);
    w.is.add_group("Learners in Canada", Some(canada_rule()));
    let before_is: usize = w.is.groups().len();
    // Sharing a database, the second pipeline needs no prefix list: the links say
    // which iSpring groups sgsync made.
    let b_source = if shared {
        ""
    } else {
        "skip_name_prefixes = [\"[from gs] \"]"
    };
    let (a, b) = two_way(&w, b_store, b_source).await;
    let (gs, is) = run_both(&w, &a, &b, 2).await;
    assert_eq!(
        gs,
        ["Canadians", "[from lms] Learners in Canada"],
        "shared store: {shared}"
    );
    assert_eq!(is.len(), before_is + 1, "shared store: {shared}: {is:?}");
    assert!(is.contains(&"[from gs] Canadians".to_owned()), "{is:?}");
    assert!(
        !is.iter().chain(&gs).any(|n| n.matches("[from").count() > 1),
        "no copy of a copy: {gs:?} {is:?}"
    );
    let plan = b.dry_run().await.expect("plan b");
    assert!(
        plan.plan
            .notes
            .iter()
            .any(|n| n.contains("sgsync's own copies")),
        "{:?}",
        plan.plan.notes
    );
    assert_eq!(plan.plan.writes(), 0);
}
