//! `sgsync sync` (and `--sync-now`): one run, its summary, and with `--textfile-dir` its
//! metrics for node-exporter's textfile collector. Also the run with a progress bar that
//! the demo uses.

use super::{Allow, holder};
use crate::daemon::pipeline;
use crate::engine::run::{Pipeline, RunError, RunOptions, RunSummary};
use crate::observe::metrics::Metrics;
use crate::observe::progress::RunProgress;
use crate::observe::summary::{LOCKED, RunRecord};
use crate::observe::textfile;
use anyhow::Result;
use chrono::Utc;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// `--sync-now`: one run, its summary as one log line, and with `--textfile-dir` its
/// metrics in a textfile. Exit code: the run's (0, 2, or 1 when it could not start);
/// a textfile that cannot be written after a run that succeeded makes it 1 — a
/// directory unusable from the start is found before the run, which then does not start.
pub async fn sync(
    config: Option<&Path>,
    textfile_dir: Option<&Path>,
    show_progress: bool,
    allow: Allow,
) -> Result<ExitCode> {
    if let Some(dir) = textfile_dir {
        textfile::check_dir(dir)?;
    }
    let mut settings = crate::config::load(config)?;
    let metrics = Arc::new(Metrics::new());
    metrics.instrument(&mut settings);
    let p = pipeline(&settings).await?;
    let clock = Instant::now();
    let result = sync_with_bar(&p, show_progress, allow).await;
    let record = RunRecord::new(&result, clock.elapsed(), Utc::now());
    record.log();
    let mut textfile_failed = false;
    // A run refused by the lock writes no textfile: the lock holder writes its own.
    if let Some(dir) = textfile_dir
        && record.outcome != LOCKED
    {
        metrics.record_run(&record);
        metrics.seed_from_store(&p.store).await;
        if let Err(e) = textfile::write(dir, &metrics.render_textfile()) {
            eprintln!("sgsync: {e}");
            textfile_failed = true;
        }
    }
    let summary = result?;
    println!("{}", summary.report);
    print!("{}", summary.membership.render(false));
    println!(
        "run {}: {} — {}",
        summary.run_id,
        summary.outcome,
        summary.counts()
    );
    if let Some(why) = &summary.stopped {
        eprintln!("sgsync: {why}");
    }
    // Failed units were logged as they happened ("unit failed", with the error).
    let code = summary.exit_code();
    Ok(ExitCode::from(if code == 0 && textfile_failed {
        1
    } else {
        code
    }))
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
    };
    let result = p.sync(&holder(), options).await;
    progress.finish();
    result
}
