//! `sgsync run`: the long-running service. Syncs on the schedule, one run at a time,
//! serves health and metrics, tells systemd it is ready and alive, and on SIGTERM or
//! Ctrl-C lets the current run finish and be recorded before it exits.

use super::{holder, shutdown_signal};
use crate::daemon::pipeline_in;
use crate::observe::DaemonObserver;
use crate::observe::health::Health;
use crate::observe::metrics::Metrics;
use crate::observe::notify::Notifier;
use crate::observe::server::Server;
use anyhow::Result;
use std::process::ExitCode;
use std::sync::Arc;

/// The log target of this command's own lines. They were written in the binary's root
/// module, whose target is `sgsync`; kept, so `RUST_LOG` filters and log queries written
/// against it still match.
const LOG_TARGET: &str = "sgsync";

pub async fn run(config: crate::config::Choice<'_>, once_at_start: bool) -> Result<ExitCode> {
    // Every pipeline unless one is named: this process is one worker of any number
    // sharing the state database.
    let mut all = match config.pipeline {
        Some(_) => vec![crate::config::load_choice(config)?],
        None => crate::config::load_all(config.path)?,
    };
    let metrics = Arc::new(Metrics::new());
    let holder = holder();
    metrics.set_worker(&holder);
    for settings in &mut all {
        metrics.instrument(settings);
    }
    let Some(settings) = all.first() else {
        anyhow::bail!("the config declares no pipeline");
    };
    // One pool for every pipeline of this worker.
    let store = crate::store::Store::connect(&settings.store).await?;
    let pipelines = all
        .iter()
        .map(|s| pipeline_in(s, &store))
        .collect::<Result<Vec<_>, _>>()?;
    // Every pipeline's series from the start, each with its last success on record.
    for p in &pipelines {
        metrics.seed_from_store(&p.store).await;
    }
    let health = Arc::new(Health::new(settings.unready_after));
    // Bound before the loop starts: a port in use is a start error (exit 1).
    let server = match settings.metrics_listen {
        Some(addr) => Some(Server::bind(addr, metrics.clone(), health.clone()).await?),
        None => None,
    };
    let notifier = Arc::new(Notifier::new());
    let endpoint = server.as_ref().map_or_else(
        || "no metrics endpoint".to_owned(),
        |s| format!("metrics on http://{}/metrics", s.local_addr()),
    );
    // Listening before READY=1: a stop sent right after it must be a clean stop.
    let shutdown = shutdown_signal()?;
    let hangup = ignore_hangup()?;
    notifier.ready(&format!(
        "{endpoint}; waiting for the schedule {}",
        settings.schedule_text
    ));
    let watchdog = notifier.spawn_watchdog(health.clone());
    let next_run = if once_at_start {
        "now".to_owned()
    } else {
        settings
            .schedule
            .upcoming(chrono::Utc)
            .next()
            .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339())
    };
    // The one line that says what started: which build, which config, when it runs.
    tracing::info!(
        target: "sgsync::daemon",
        version = super::version::VERSION,
        commit = super::version::COMMIT,
        config = %settings
            .file
            .as_ref()
            .map_or_else(|| "environment only".to_owned(), |f| f.display().to_string()),
        state_database = %settings.store,
        pipelines = all.len(),
        schedule = %settings.schedule_text,
        next_run = %next_run,
        endpoint = %endpoint,
        "sgsync run started"
    );
    tracing::info!(
        target: LOG_TARGET,
        schedule = %settings.schedule_text,
        "sgsync run: waiting for the schedule"
    );
    let observer = DaemonObserver {
        metrics,
        health,
        notifier,
    };
    let entries: Vec<_> = pipelines
        .iter()
        .zip(&all)
        .map(|(pipeline, settings)| crate::daemon::Scheduled {
            pipeline,
            schedule: &settings.schedule,
        })
        .collect();
    crate::daemon::run_workers_observed(&entries, once_at_start, &holder, shutdown, &observer)
        .await;
    if let Some(server) = server {
        server.shutdown().await;
    }
    store.close().await;
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    if let Some(hangup) = hangup {
        hangup.abort();
    }
    Ok(ExitCode::SUCCESS)
}

/// SIGHUP would kill the process by default; `sgsync run` reads its config once, at
/// start, so a hang-up is ignored and says so (restart the service to apply a change).
fn ignore_hangup() -> Result<Option<tokio::task::JoinHandle<()>>> {
    #[cfg(unix)]
    {
        use anyhow::Context;
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
        Ok(Some(tokio::spawn(async move {
            while hup.recv().await.is_some() {
                tracing::warn!(
                    target: "sgsync::daemon",
                    "SIGHUP ignored: sgsync run reads its config only at start; restart it to apply a change (systemctl restart sgsync)"
                );
            }
        })))
    }
    #[cfg(not(unix))]
    {
        Ok(None)
    }
}
