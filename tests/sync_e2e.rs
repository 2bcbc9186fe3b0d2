//! Whole runs against the three sandboxes, configured the way a user configures sgsync:
//! GoSquared → iSpring Learn + emfluence. Write calls are counted from the sandboxes'
//! request logs.

use serde_json::json;
use sgsync::config::load_str;
use sgsync::daemon::pipeline;
use sgsync::engine::run::{Pipeline, RunError};
use sgsync::providers::sandbox::{Controls, Seed};
use sgsync::providers::{emfluence, gosquared, ispring};
use sgsync::store::RunOutcome;
use std::path::PathBuf;
use std::time::Duration;

struct World {
    gs: gosquared::sandbox::Sandbox,
    is: ispring::sandbox::Sandbox,
    em: emfluence::sandbox::Sandbox,
    db: PathBuf,
}

impl Drop for World {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.db.display()));
        }
    }
}

async fn world(name: &str) -> World {
    let db = std::env::temp_dir().join(format!("sgsync-e2e-{name}-{}.db", std::process::id()));
    World {
        gs: gosquared::sandbox::Sandbox::start(Seed::Demo)
            .await
            .expect("GoSquared sandbox"),
        is: ispring::sandbox::Sandbox::start(Seed::Empty)
            .await
            .expect("iSpring sandbox"),
        em: emfluence::sandbox::Sandbox::start(Seed::Empty)
            .await
            .expect("emfluence sandbox"),
        db,
    }
}

fn config(w: &World) -> String {
    format!(
        r#"
[source]
provider = "gosquared"
rate_limit_per_minute = 60000
[source.gosquared]
base_url = "{gs}"
api_key = "{gs_key}"
site_token = "{gs_site}"

[targets.lms]
provider = "ispring"
on_lossy = "skip"
rate_limit_per_minute = 60000
[targets.lms.ispring]
soap_url = "{is}/soap"
rest_url = "{is}"
[targets.lms.ispring.credentials]
kind = "token"
token_url = "{is}/api/v3/token"
client_id = "{is_id}"
client_secret = "{is_secret}"

[targets.newsletter]
provider = "emfluence"
on_lossy = "push"
on_source_deleted = "archive"
rate_limit_per_minute = 60000
[targets.newsletter.emfluence]
base_url = "{em}"
token = "{em_token}"

[mapping.attributes.country]
gosquared = "last.location.country.code"
ispring_field = "COUNTRY"
[mapping.values.country]
CA = "124"
US = "840"
[mapping.gosquared_operators]
equals = "=="

[store]
path = "{db}"
[http]
timeout_secs = 5
base_delay_ms = 5
max_delay_ms = 50
"#,
        gs = w.gs.url(),
        gs_key = gosquared::sandbox::API_KEY,
        gs_site = gosquared::sandbox::SITE_TOKEN,
        is = w.is.url(),
        is_id = ispring::sandbox::CLIENT_ID,
        is_secret = ispring::sandbox::CLIENT_SECRET,
        em = w.em.url(),
        em_token = emfluence::sandbox::SANDBOX_TOKEN,
        db = w.db.display(),
    )
}

async fn connect(w: &World) -> Pipeline {
    let settings = load_str("e2e.toml", &config(w), &[]).unwrap_or_else(|e| panic!("config: {e}"));
    pipeline(&settings)
        .await
        .unwrap_or_else(|e| panic!("pipeline: {e}"))
}

fn country_is(code: &str) -> serde_json::Value {
    json!({"key": "property", "path": "last.location.country.code", "operator": "==", "value": code})
}

/// Write calls each target sandbox received since its log was last cleared.
fn writes(w: &World) -> (usize, usize) {
    let soap_writes = |c: &Controls| {
        c.requests()
            .iter()
            .filter(|r| {
                ["AddSmartGroup", "pdateSmartGroup", "RemoveGroup"]
                    .iter()
                    .any(|m| r.contains(m))
            })
            .count()
    };
    let json_writes = |c: &Controls| {
        c.requests()
            .iter()
            .filter(|r| {
                [
                    "groups/save",
                    "addContacts",
                    "removeContacts",
                    "contacts/save",
                ]
                .iter()
                .any(|p| r.path.contains(p))
            })
            .count()
    };
    (
        soap_writes(&w.is.running.controls),
        json_writes(&w.em.running.controls),
    )
}

fn clear_logs(w: &World) {
    w.gs.running.controls.clear_log();
    w.is.running.controls.clear_log();
    w.em.running.controls.clear_log();
}

#[tokio::test]
async fn initial_sync_no_op_edit_and_delete() {
    let w = world("lifecycle").await;
    let canadians = w.gs.add_group("Canadians", vec![country_is("CA")]);
    let p = connect(&w).await;

    // Initial sync: the one rule iSpring can hold goes there; all ten groups reach
    // emfluence as described static groups (on_lossy = "push").
    let first = p.sync_once("e2e").await.expect("run 1");
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
    assert_eq!(writes(&w), (1, 10));

    // Nothing changed at the source: zero write calls anywhere.
    clear_logs(&w);
    let second = p.sync_once("e2e").await.expect("run 2");
    assert_eq!(writes(&w), (0, 0), "a no-op run writes nothing");
    assert_eq!(second.counts().unchanged, 11);
    assert_eq!(second.plan.writes(), 0);
    assert_eq!(
        w.gs.running
            .controls
            .count(&reqwest::Method::POST, "smartgroups"),
        0
    );

    // An edit propagates as exactly one update per target.
    assert!(w.gs.set_filters(&canadians, vec![country_is("US")]));
    clear_logs(&w);
    let third = p.sync_once("e2e").await.expect("run 3");
    assert_eq!(third.counts().updated, 2, "{:?}", third.report);
    assert_eq!(writes(&w), (1, 1));
    assert_eq!(
        w.is.smart_groups().len(),
        1,
        "updated in place, not recreated"
    );

    // A deleted source group: lms keeps it (default policy), newsletter archives it.
    assert!(w.gs.remove_group(&canadians));
    clear_logs(&w);
    let fourth = p.sync_once("e2e").await.expect("run 4");
    assert_eq!(fourth.counts().orphaned, 2, "{:?}", fourth.report);
    assert_eq!(w.is.smart_groups().len(), 1, "kept on lms");
    let archived: Vec<_> =
        w.em.groups()
            .into_iter()
            .filter(|g| g.status == "Archived")
            .collect();
    assert_eq!(archived.len(), 1);
    assert_eq!(writes(&w), (0, 1));

    let runs = p.store.recent_runs(10).await.expect("runs are recorded");
    assert_eq!(runs.len(), 4);
    assert!(
        p.store
            .integrity_check()
            .await
            .expect("integrity check runs")
    );
}

#[tokio::test]
async fn a_run_while_another_holds_the_lock_does_not_start() {
    let w = world("lock").await;
    let p = connect(&w).await;
    p.store
        .acquire_lock("someone-else", Duration::from_secs(60), chrono::Utc::now())
        .await
        .expect("first holder takes the lock");
    let err = p.sync_once("e2e").await.expect_err("the lock is held");
    assert!(
        matches!(err, RunError::LockHeld { ref holder, .. } if holder == "someone-else"),
        "{err}"
    );
    assert!(err.to_string().contains("someone-else"));
    assert_eq!(writes(&w), (0, 0));
}

#[tokio::test]
async fn a_dry_run_writes_nothing_anywhere() {
    let w = world("dry").await;
    let p = connect(&w).await;
    let plan = p.dry_run().await.expect("dry run");
    assert!(plan.plan.writes() > 0, "there is work to do");
    assert_eq!(writes(&w), (0, 0));
    assert!(
        p.store.recent_runs(10).await.expect("runs").is_empty(),
        "no run recorded"
    );
    assert!(p.store.links(None).await.expect("links").is_empty());
}

/// The operator commands, as a user runs them, against the same sandboxes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_sync_status_check_resync_forget() {
    let w = world("cli").await;
    w.gs.add_group("Canadians", vec![country_is("CA")]);
    let file = w.db.with_extension("toml");
    std::fs::write(&file, config(&w)).expect("config written");
    let file_arg = file.display().to_string();
    let run = move |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sgsync"))
            .arg("--config")
            .arg(&file_arg)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("sgsync runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let run = std::sync::Arc::new(run);
    let call = |args: Vec<&'static str>| {
        let run = run.clone();
        tokio::task::spawn_blocking(move || run(&args))
    };

    let (code, out, err) = call(vec!["check"]).await.expect("check");
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out.matches("): ok").count(), 3, "{out}");

    let (code, out, err) = call(vec!["--sync-now"]).await.expect("sync");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("created 11"), "{out}");

    let (code, out, _) = call(vec!["status"]).await.expect("status");
    assert_eq!(code, Some(0));
    assert!(out.contains("gosquared:canadians → lms"), "{out}");

    let (code, out, _) = call(vec!["resync", "--target", "newsletter"])
        .await
        .expect("resync");
    assert_eq!(code, Some(0));
    assert!(out.starts_with("10 link(s)"), "{out}");
    let (_, out, _) = call(vec!["plan", "--json"]).await.expect("plan");
    let plan: serde_json::Value = serde_json::from_str(&out).expect("plan --json is JSON");
    assert_eq!(plan["writes"], 10, "every forgotten hash is pushed again");

    let (code, _, err) = call(vec!["forget", "--target", "lms"])
        .await
        .expect("forget");
    assert_eq!(code, Some(1), "no TTY and no --yes: refused");
    assert!(err.contains("--yes"), "{err}");
    let (code, out, _) = call(vec!["forget", "--target", "lms", "--yes"])
        .await
        .expect("forget");
    assert_eq!(code, Some(0));
    assert!(out.contains("forgot 1 link(s)"), "{out}");
    let _ = std::fs::remove_file(&file);
}
