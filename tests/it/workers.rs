//! Identical workers — `sgsync run` processes with the same config — sharing one
//! PostgreSQL: every pipeline's due time is run once, by one of them; a worker killed
//! with SIGKILL in the middle of a run is replaced by another that finishes the same due
//! time; no target group is duplicated and no link is lost.

use crate::common::child;
use crate::common::db::TempDb;
use crate::common::tenants::layout_with;
use crate::common::world::{World, sgsync_with};
use sgsync::sandbox::{FaultPlan, Seed};
use sgsync::store::{RunOutcome, Store};
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Every three seconds: several due times within a short test.
const SCHEDULE: &str = "[schedule]\ncron = \"*/3 * * * * *\"\n\n[metrics]\nenabled = false\n";

fn name(i: usize) -> String {
    format!("t{i:02}")
}

/// `n` tenants, each with sandboxes of its own, on one PostgreSQL database; the main
/// config; `None` without a test server.
async fn tenants(
    n: usize,
    label: &str,
) -> Option<(Vec<World>, TempDb, tempfile::TempDir, PathBuf)> {
    let db = TempDb::postgres(label).await?;
    let mut worlds = Vec::with_capacity(n);
    for _ in 0..n {
        worlds.push(World::start(Seed::Demo).await);
    }
    let dir = tempfile::tempdir().expect("dir");
    let names: Vec<String> = (0..n).map(name).collect();
    let pairs: Vec<(&str, &World)> = names.iter().map(String::as_str).zip(&worlds).collect();
    let main = layout_with(dir.path(), db.config_lines(), SCHEDULE, &pairs);
    Some((worlds, db, dir, main))
}

/// A worker, its output in `dir/worker-<i>.log`.
fn worker(main: &Path, dir: &Path, i: usize) -> Child {
    let log = std::fs::File::create(dir.join(format!("worker-{i}.log"))).expect("log file");
    let err = log.try_clone().expect("log file");
    sgsync_with(main, &["run"])
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("a worker starts")
}

fn log(dir: &Path, i: usize) -> String {
    std::fs::read_to_string(dir.join(format!("worker-{i}.log"))).unwrap_or_default()
}

/// SIGTERM to every worker still running, then each reaped (bounded).
async fn stop(workers: Vec<Child>) {
    for w in &workers {
        let pid = rustix::process::Pid::from_child(w);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    tokio::task::spawn_blocking(move || {
        for mut w in workers {
            let started = Instant::now();
            while w.try_wait().expect("wait").is_none() {
                if started.elapsed() > Duration::from_secs(60) {
                    let _ = w.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = w.wait();
        }
    })
    .await
    .expect("workers reaped");
}

/// Polls until `done` holds, at most `limit`.
async fn until<F, Fut>(what: &str, limit: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Pipeline `name`'s runs, oldest first.
async fn runs(store: &Store, name: &str) -> Vec<sgsync::store::Run> {
    let mut runs = store
        .for_pipeline(name)
        .recent_runs(10_000)
        .await
        .expect("runs");
    runs.reverse();
    runs
}

/// Every pipeline's target groups once each, linked; no intent left; each due time run
/// at most once to success.
async fn assert_exactly_once(worlds: &[World], store: &Store, ctx: &str) {
    for (i, w) in worlds.iter().enumerate() {
        let p = name(i);
        let news = w.em.groups();
        let keys: HashSet<_> = news.iter().map(|g| g.external_id.clone()).collect();
        assert_eq!(
            keys.len(),
            news.len(),
            "{ctx}: {p}: duplicate emfluence groups"
        );
        assert_eq!(news.len(), 9, "{ctx}: {p}: emfluence groups");
        let lms = w.is.smart_groups();
        let names: HashSet<_> = lms.iter().map(|g| g.name.clone()).collect();
        assert_eq!(
            names.len(),
            lms.len(),
            "{ctx}: {p}: duplicate iSpring groups"
        );
        let handle = store.for_pipeline(&p);
        let links = handle.links(None).await.expect("links");
        let ids: BTreeSet<String> = news
            .iter()
            .map(|g| g.id.to_string())
            .chain(lms.iter().map(|g| g.id.clone()))
            .collect();
        let linked: BTreeSet<String> = links.iter().map(|l| l.target_id.clone()).collect();
        assert_eq!(linked, ids, "{ctx}: {p}: links and target groups differ");
        assert!(
            handle.intents(None).await.expect("intents").is_empty(),
            "{ctx}: {p}"
        );
        let mut served = HashSet::new();
        // A worker's runs serve a due time each; a `--sync-now` serves none.
        for run in runs(store, &p).await {
            if let (Some(due), RunOutcome::Succeeded) = (run.due, run.outcome) {
                assert!(
                    served.insert(due),
                    "{ctx}: {p}: the run due at {due} ran twice"
                );
            }
        }
    }
}

async fn workers_share_pipelines(workers: usize, pipelines: usize) {
    let label = format!("workers{workers}");
    let Some((worlds, db, dir, main)) = tenants(pipelines, &label).await else {
        return;
    };
    let store = db.open().await;
    let children: Vec<Child> = (0..workers).map(|i| worker(&main, dir.path(), i)).collect();
    // Two due times served for every pipeline.
    until(
        "two runs of every pipeline",
        Duration::from_secs(120),
        || async {
            for i in 0..pipelines {
                let done = runs(&store, &name(i))
                    .await
                    .iter()
                    .filter(|r| r.outcome == RunOutcome::Succeeded)
                    .count();
                if done < 2 {
                    return false;
                }
            }
            true
        },
    )
    .await;
    stop(children).await;
    let ctx = format!("{workers} workers, {pipelines} pipelines");
    assert_exactly_once(&worlds, &store, &ctx).await;
    // The first run created each group; no later run wrote anything.
    for (i, w) in worlds.iter().enumerate() {
        assert_eq!(w.writes().1, 9, "{ctx}: {}: emfluence writes", name(i));
    }
    // The work was shared.
    let busy = (0..workers)
        .filter(|i| log(dir.path(), *i).contains("\"message\":\"run finished\",\"run_id\""))
        .count();
    assert!(busy >= 2, "{ctx}: only {busy} worker(s) ran anything");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_run_fifty_pipelines_once_per_due_time() {
    workers_share_pipelines(2, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_workers_run_fifty_pipelines_once_per_due_time() {
    workers_share_pipelines(4, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_run_is_replaced_and_nothing_is_duplicated() {
    let Some((worlds, db, dir, main)) = tenants(3, "killed").await else {
        return;
    };
    // t00's run writes slowly: long enough to be cut.
    worlds[0].em.running.controls.set_plan(FaultPlan {
        latency: Duration::from_millis(700),
        ..FaultPlan::default()
    });
    let store = db.open().await;
    let mut children: Vec<Child> = (0..2).map(|i| worker(&main, dir.path(), i)).collect();
    // Wait for a worker to hold t00 mid-run, then kill that worker.
    let started = Instant::now();
    let holder = loop {
        let states = store.pipelines().await.expect("pipelines");
        if let Some((holder, _)) = states
            .into_iter()
            .find(|p| p.name == "t00")
            .and_then(|p| p.holder)
        {
            break holder;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no worker took t00"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Mid-run: some groups are there, not all.
    until("t00 half written", Duration::from_secs(30), || async {
        !worlds[0].em.groups().is_empty()
    })
    .await;
    let pid: i32 = holder
        .strip_prefix("sgsync pid ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("a worker's holder name: {holder}"));
    let at = children
        .iter()
        .position(|c| c.id() as i32 == pid)
        .unwrap_or_else(|| panic!("{holder} is none of the workers"));
    let mut killed = children.remove(at);
    killed.kill().expect("SIGKILL");
    killed.wait().expect("reaped");
    let cut = runs(&store, "t00").await;
    let cut_due = cut
        .last()
        .and_then(|r| r.due)
        .expect("the cut run's due time");
    assert!(
        worlds[0].em.groups().len() < 9,
        "the kill came after the run had written everything"
    );
    // The other worker takes the pipeline over and finishes that same due time.
    until(
        "t00 finished by the other worker",
        Duration::from_secs(90),
        || async {
            runs(&store, "t00")
                .await
                .iter()
                .any(|r| r.due == Some(cut_due) && r.outcome == RunOutcome::Succeeded)
        },
    )
    .await;
    stop(children).await;
    let t00 = runs(&store, "t00").await;
    assert!(
        t00.iter()
            .any(|r| r.due == Some(cut_due) && r.outcome == RunOutcome::Interrupted),
        "the killed run is recorded as interrupted: {:?}",
        t00.iter()
            .map(|r| (r.id, r.outcome, r.due))
            .collect::<Vec<_>>()
    );
    assert_exactly_once(&worlds, &store, "after a worker was killed").await;
}

/// The state database drops every connection in the middle of a run (a failover, a
/// restart): the run goes on on new connections or ends with a clear error (exit 0, 1
/// or 2, never a panic), and the next run leaves every group once and every link in
/// place.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_database_connection_mid_run_loses_and_duplicates_nothing() {
    let Some((worlds, db, dir, main)) = tenants(1, "lostconn").await else {
        return;
    };
    worlds[0].em.running.controls.set_plan(FaultPlan {
        latency: Duration::from_millis(300),
        ..FaultPlan::default()
    });
    let store = db.open().await;
    let database: (String,) = sqlx::query_as("SELECT current_database()::text")
        .fetch_one(store.pool())
        .await
        .expect("database name");
    let run = child::spawn(&mut sgsync_with(&main, &["--sync-now"]));
    // Mid-run: some groups written, not all; then the server ends every session on it.
    until("half written", Duration::from_secs(60), || async {
        !worlds[0].em.groups().is_empty()
    })
    .await;
    let admin = TempDb::postgres("lostconn-admin")
        .await
        .expect("a second database");
    let admin_store = admin.open().await;
    let killed: Vec<(bool,)> =
        sqlx::query_as("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(&database.0)
            .fetch_all(admin_store.pool())
            .await
            .expect("sessions ended");
    assert!(!killed.is_empty(), "the run held no session");
    let ended = child::ended(run, Duration::from_secs(120)).await;
    let text = ended.text();
    assert!(matches!(ended.code, Some(0..=2)), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    // The next run finishes the job: each group once, each linked.
    let next = child::ran(
        sgsync_with(&main, &["--sync-now"]),
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(next.code, Some(0), "{}", next.text());
    drop(store);
    let store = db.open().await;
    worlds[0].em.running.controls.set_plan(FaultPlan::default());
    assert_exactly_once(&worlds, &store, "after the connections were lost").await;
    let _ = dir;
}
