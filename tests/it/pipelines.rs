//! Several pipelines in one config (`[pipelines] dir`, one file per tenant) and one
//! state database: each synced into its own accounts, its records kept apart, `status`
//! showing all of them; a pipeline on another's account is refused.

use crate::common::tenants::{layout, pipeline_file};
use crate::common::world::{World, sgsync_with};
use sgsync::sandbox::Seed;
use std::process::{Command, Output};

async fn output(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().expect("sgsync runs"))
        .await
        .expect("the command's thread")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn two_tenants_sync_into_one_state(postgres: bool) {
    let a = World::start(Seed::Demo).await;
    let b = World::start(Seed::Demo).await;
    let b = if postgres {
        match b.on_postgres("pipelines").await {
            Some(b) => b,
            None => return,
        }
    } else {
        b
    };
    let dir = tempfile::tempdir().expect("dir");
    let store_lines = match &b.postgres {
        Some(db) => db.config_lines().to_owned(),
        None => format!("path = \"{}\"", dir.path().join("state.db").display()),
    };
    let main = layout(
        dir.path(),
        &store_lines,
        &[("tenant-a", &a), ("tenant-b", &b)],
    );

    let out = output(sgsync_with(&main, &["--sync-now"])).await;
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{all}");
    // Each tenant's groups reached its own accounts, once.
    assert_eq!(a.em.groups().len(), 9, "{all}");
    assert_eq!(b.em.groups().len(), 9, "{all}");
    assert_eq!(a.writes().1, 9);
    assert_eq!(b.writes().1, 9);

    // Nothing changed: a second run writes nothing anywhere.
    a.clear_logs();
    b.clear_logs();
    let out = output(sgsync_with(&main, &["--sync-now"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!((a.writes(), b.writes()), ((0, 0), (0, 0)));

    // The metrics say which pipeline each run series is about: one textfile holds both.
    let metrics_dir = dir.path().join("metrics");
    std::fs::create_dir(&metrics_dir).expect("metrics dir");
    let dir_arg = metrics_dir.display().to_string();
    let out = output(sgsync_with(
        &main,
        &["--sync-now", "--textfile-dir", &dir_arg],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let prom = std::fs::read_to_string(metrics_dir.join("sgsync.prom")).expect("textfile");
    for name in ["tenant-a", "tenant-b"] {
        let series =
            format!("sgsync_last_run_outcome{{pipeline=\"{name}\",outcome=\"succeeded\"}} 1");
        assert!(prom.contains(&series), "{series} missing in\n{prom}");
    }

    // status: every pipeline, then one in detail.
    let out = output(sgsync_with(&main, &["status"])).await;
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}{}", text(&out.stderr));
    for name in ["tenant-a", "tenant-b"] {
        let line = shown
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("{name} missing: {shown}"));
        assert!(
            line.contains("idle") && line.contains("succeeded"),
            "{line}"
        );
    }
    let out = output(sgsync_with(&main, &["status", "--json"])).await;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["pipelines"].as_array().map(Vec::len), Some(2), "{doc}");
    let out = output(sgsync_with(
        &main,
        &["--pipeline", "tenant-a", "status", "--json"],
    ))
    .await;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let links = doc["links"].as_array().expect("links");
    assert_eq!(links.len(), 9, "tenant-a's own links only: {doc}");
    let ids: Vec<String> = a.em.groups().iter().map(|g| g.id.to_string()).collect();
    assert!(
        links
            .iter()
            .all(|l| ids.contains(&l["target_id"].as_str().unwrap_or_default().to_owned())),
        "{doc}"
    );

    // A command about one pipeline needs its name when there are several.
    let out = output(sgsync_with(&main, &["plan"])).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("2 pipelines (tenant-a, tenant-b)") && err.contains("--pipeline"),
        "{err}"
    );
    let out = output(sgsync_with(&main, &["--pipeline", "tenant-c", "plan"])).await;
    assert!(text(&out.stderr).contains("no pipeline is named \"tenant-c\""));

    // A third tenant on tenant-a's emfluence account is refused before anything runs.
    std::fs::write(
        dir.path().join("pipelines").join("tenant-c.toml"),
        pipeline_file(&a),
    )
    .expect("file");
    a.clear_logs();
    let out = output(sgsync_with(&main, &["--sync-now"])).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("pipeline \"tenant-a\" uses too"), "{err}");
    assert_eq!(a.writes(), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_sync_into_one_state_database() {
    two_tenants_sync_into_one_state(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_sync_into_one_postgres_database() {
    two_tenants_sync_into_one_state(true).await;
}
