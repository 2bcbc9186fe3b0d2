//! `sgsync sync` (and `--sync-now`): one run, its summary, and with `--textfile-dir` its
//! metrics for node-exporter's textfile collector. Also the run with a progress bar that
//! the demo uses.

use super::{Allow, holder, print_json};
use crate::daemon::pipeline_in;
use crate::engine::run::{Pipeline, RunError, RunOptions, RunSummary};
use crate::observe::metrics::Metrics;
use crate::observe::progress::RunProgress;
use crate::observe::summary::{LOCKED, RunRecord};
use crate::observe::textfile;
use crate::store::Store;
use anyhow::Result;
use chrono::Utc;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// The flags of `sgsync sync` (and of `--sync-now`, which has the same ones at the top
/// level).
#[derive(clap::Args)]
pub struct SyncArgs {
    /// Fetch, translate and print the plan, writing nothing anywhere (the same as
    /// `sgsync plan`).
    #[arg(long, conflicts_with = "textfile_dir")]
    pub dry_run: bool,
    /// Also write the run's metrics to DIR/sgsync.prom for node-exporter's textfile
    /// collector (replaced atomically).
    #[arg(long, value_name = "DIR")]
    pub textfile_dir: Option<PathBuf>,
    /// Apply member removals the mass-removal guard would hold back (a group's member
    /// count dropping by more than `max_removal_fraction`).
    #[arg(long)]
    pub allow_mass_removal: bool,
    /// Archive or delete the target groups of vanished source groups even when the
    /// orphan guard holds them back (more than `max_orphan_fraction` of the links losing
    /// their source at once, or a source that answered no group at all).
    #[arg(long)]
    pub allow_mass_delete: bool,
    /// The run as JSON on stdout (with a `schema_version`) instead of text; log lines
    /// stay on stderr.
    #[arg(long)]
    pub json: bool,
}

/// `--sync-now`: one run, its summary as one log line, and with `--textfile-dir` its
/// metrics in a textfile. Exit code: the run's (0, 2, or 1 when it could not start);
/// a textfile that cannot be written after a run that succeeded makes it 1 — a
/// directory unusable from the start is found before the run, which then does not start.
pub async fn sync(
    config: crate::config::Choice<'_>,
    textfile_dir: Option<&Path>,
    show_progress: bool,
    allow: Allow,
    json: bool,
) -> Result<ExitCode> {
    one_run(config, textfile_dir, show_progress, allow, json, false).await
}

/// `sgsync verify`: a run that reads every linked copy back at once, whatever
/// `verify_calls_per_run` allows, and repairs or reports what it finds (per target's
/// `on_drift`) as any run does. Exit codes as `sync`.
pub async fn verify(
    config: crate::config::Choice<'_>,
    show_progress: bool,
    json: bool,
) -> Result<ExitCode> {
    one_run(config, None, show_progress, Allow::default(), json, true).await
}

async fn one_run(
    config: crate::config::Choice<'_>,
    textfile_dir: Option<&Path>,
    show_progress: bool,
    allow: Allow,
    json: bool,
    everything: bool,
) -> Result<ExitCode> {
    if let Some(dir) = textfile_dir {
        textfile::check_dir(dir)?;
    }
    // Every pipeline unless one is named, one after another (each its own accounts and
    // run lock); the exit code is the worst of theirs. One pipeline's failure to start
    // does not keep the others from running.
    let all = match config.pipeline {
        Some(_) => vec![crate::config::load_choice(config)?],
        None => crate::config::load_all(config.path)?,
    };
    // One set of metrics for all: the textfile and the push hold every pipeline so far.
    let metrics = Arc::new(Metrics::new());
    // One state database (and one pool) for all of them.
    let Some(first) = all.first() else {
        anyhow::bail!("the config declares no pipeline");
    };
    let store = Store::connect(&first.store).await?;
    // One pipeline's error is the command's (exit 1 with its message); with several,
    // each failed one is said with its name and the others still run.
    let many = all.len() > 1;
    let mut worst = 0;
    for settings in all {
        let name = settings.pipeline.clone();
        let code = match one_pipeline(
            Shared {
                metrics: &metrics,
                store: &store,
            },
            settings,
            textfile_dir,
            show_progress,
            allow,
            json,
            everything,
        )
        .await
        {
            Ok(code) => code,
            Err(e) if many => {
                eprintln!("sgsync: pipeline {name}: {}", super::error_chain(&e));
                1
            }
            Err(e) => return Err(e),
        };
        worst = worse(worst, code);
    }
    Ok(ExitCode::from(worst))
}

/// Of two exit codes, the one that says more went wrong: 1 (could not run) over 2
/// (some units failed) over 0.
fn worse(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        0 => 0,
        2 => 1,
        _ => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// What every pipeline of one command shares: its metrics and its state database.
struct Shared<'a> {
    metrics: &'a Arc<Metrics>,
    store: &'a Store,
}

/// One pipeline's run: its summary, its textfile and push; its exit code.
async fn one_pipeline(
    Shared { metrics, store }: Shared<'_>,
    mut settings: crate::config::Settings,
    textfile_dir: Option<&Path>,
    show_progress: bool,
    allow: Allow,
    json: bool,
    everything: bool,
) -> Result<u8> {
    metrics.instrument(&mut settings);
    let p = pipeline_in(&settings, store)?;
    let clock = Instant::now();
    let result = if everything {
        let progress = RunProgress::new(show_progress && !json);
        let options = RunOptions {
            progress: &progress,
            allow_mass_removal: allow.mass_removal,
            allow_mass_delete: allow.mass_delete,
            due: None,
            schedule: None,
        };
        let result = p.verify_all(&holder(), options).await;
        progress.finish();
        result
    } else {
        sync_with_bar(&p, show_progress && !json, allow).await
    };
    let record =
        RunRecord::new(&result, clock.elapsed(), Utc::now()).in_pipeline(&settings.pipeline);
    record.log();
    let mut textfile_failed = false;
    // A run refused by the lock writes no textfile and pushes nothing: the lock holder
    // writes and pushes its own.
    let export =
        (textfile_dir.is_some() || settings.pushgateway.is_some()) && record.outcome != LOCKED;
    if export {
        metrics.record_run(&record);
        metrics.seed_from_store(&p.store).await;
    }
    if let Some(dir) = textfile_dir
        && export
        && let Err(e) = textfile::write(dir, &metrics.render_textfile())
    {
        eprintln!("sgsync: {e}");
        textfile_failed = true;
    }
    if let Some(gateway) = &settings.pushgateway
        && export
        && let Err(e) = crate::observe::push::push(gateway, &metrics.render_textfile()).await
    {
        eprintln!("sgsync: {e}");
        textfile_failed = true;
    }
    let summary = match result {
        Ok(summary) => summary,
        // A machine asked: a run that could not start or complete is still a document.
        Err(e) if json => {
            print_json(
                "sync",
                serde_json::json!({
                    "run_id": null,
                    "outcome": record.outcome,
                    "exit_code": 1,
                    "error": e.to_string(),
                }),
            )?;
            eprintln!("sgsync: {e}");
            return Ok(1);
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        print_json(
            if everything { "verify" } else { "sync" },
            super::render::sync_json(&summary),
        )?;
    } else {
        print!(
            "{}",
            super::render::report_text(&summary.report, super::render::width())
        );
        print!("{}", summary.membership.render(false));
        print!("{}", super::render::targets_text(&summary.targets));
        print!("{}", super::render::verified_text(&summary.verified));
    }
    if !json {
        let down: Vec<&str> = summary
            .targets
            .iter()
            .filter(|t| !t.is_up())
            .map(|t| t.target.as_str())
            .collect();
        println!(
            "run {}: {} — {}{}",
            summary.run_id,
            summary.outcome,
            summary.counts(),
            if down.is_empty() {
                String::new()
            } else {
                format!("; target(s) not reached: {}", down.join(", "))
            }
        );
    }
    if let Some(why) = &summary.stopped {
        eprintln!("sgsync: {why}");
    }
    // Failed units were logged as they happened ("unit failed", with the error).
    let code = summary.exit_code();
    Ok(if code == 0 && textfile_failed {
        1
    } else {
        code
    })
}

/// A run with the progress bar (when `show`).
pub(crate) async fn sync_with_bar(
    p: &Pipeline,
    show: bool,
    allow: Allow,
) -> Result<RunSummary, RunError> {
    let progress = RunProgress::new(show);
    let options = RunOptions {
        progress: &progress,
        allow_mass_removal: allow.mass_removal,
        allow_mass_delete: allow.mass_delete,
        due: None,
        schedule: None,
    };
    let result = p.sync(&holder(), options).await;
    progress.finish();
    result
}
