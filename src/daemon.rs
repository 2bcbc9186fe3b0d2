//! Turning settings into a running pipeline, and `sgsync run`: the long-running loop
//! that syncs on the cron schedule, one run at a time, until told to stop.

use crate::config::Settings;
use crate::engine::apply::Target;
use crate::engine::plan::TargetPolicy;
use crate::engine::run::{Pipeline, RunError, RunOptions, RunSummary};
use crate::provider::ProviderError;
use crate::store::{Store, StoreError};
use chrono::Utc;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{error, info, warn};

/// Why a pipeline could not be put together (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Clients for the source and every target, and the opened state store.
pub async fn pipeline(settings: &Settings) -> Result<Pipeline, StartError> {
    let maps = Arc::new(settings.maps.clone());
    let source = settings.source.connect(maps.clone())?;
    let mut targets = Vec::with_capacity(settings.targets.len());
    for t in &settings.targets {
        let provider = t.endpoint.connect(maps.clone())?;
        targets.push(Target {
            policy: TargetPolicy {
                name: t.endpoint.name.clone(),
                provider: t.endpoint.provider,
                capabilities: provider.capabilities(),
                limits: provider.limits(),
                dialect: t.endpoint.dialect(maps.clone()).ok_or_else(|| {
                    ProviderError::new(
                        t.endpoint.provider,
                        crate::provider::ErrorKind::Config,
                        "connect",
                        "no such provider is registered",
                    )
                })?,
                on_lossy: t.on_lossy,
                on_source_deleted: t.on_source_deleted,
                name_prefix: t.name_prefix.clone(),
                membership: t.membership,
                on_drift: t.on_drift,
            },
            provider,
            concurrency: t.concurrency,
            verify: t.verify,
        });
    }
    let store = Store::connect(&settings.store)
        .await?
        .for_pipeline(&settings.pipeline);
    Ok(Pipeline {
        source,
        targets,
        store,
        policy: settings.sync,
        skip_name_prefixes: settings.source_skip_prefixes.clone(),
    })
}

/// Told what the schedule loop does (health endpoints, metrics, systemd: see
/// `observe`); every method does nothing by default.
pub trait LoopObserver: Send + Sync {
    /// The loop is about to wait for its first tick (or run at once).
    fn loop_started(&self) {}
    fn run_started(&self) {}
    /// A run ended (or could not start) after `took`.
    fn run_finished(&self, _result: &Result<RunSummary, RunError>, _took: Duration) {}
    /// A stop was requested; a run in progress is let finish.
    fn stopping(&self) {}
    fn loop_ended(&self) {}
}

/// Syncs on `schedule` until `shutdown` completes. One run at a time: ticks that fall
/// while a run is going are skipped and logged (the next run reads the whole source
/// anyway). A stop request during a run lets it finish — its in-flight calls complete
/// and it is recorded — then the loop ends. `observer` is told each step.
pub async fn run_on_schedule_observed(
    pipeline: &Pipeline,
    schedule: &cron::Schedule,
    once_at_start: bool,
    holder: &str,
    shutdown: impl Future<Output = ()>,
    observer: &dyn LoopObserver,
) {
    observer.loop_started();
    schedule_loop(
        pipeline,
        schedule,
        once_at_start,
        holder,
        shutdown,
        observer,
    )
    .await;
    observer.loop_ended();
}

async fn schedule_loop(
    pipeline: &Pipeline,
    schedule: &cron::Schedule,
    once_at_start: bool,
    holder: &str,
    shutdown: impl Future<Output = ()>,
    observer: &dyn LoopObserver,
) {
    tokio::pin!(shutdown);
    let mut first = once_at_start;
    loop {
        if !first {
            let Some(next) = schedule.upcoming(Utc).next() else {
                warn!("the schedule has no further time; stopping");
                return;
            };
            let wait = (next - Utc::now()).to_std().unwrap_or_default();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = &mut shutdown => {
                    info!("stop requested; no run in progress");
                    observer.stopping();
                    return;
                }
            }
        }
        first = false;
        let started = Utc::now();
        let clock = Instant::now();
        observer.run_started();
        let run = pipeline.sync(holder, RunOptions::default());
        tokio::pin!(run);
        let (result, stop) = tokio::select! {
            result = &mut run => (result, false),
            _ = &mut shutdown => {
                info!("stop requested; finishing the current run first");
                observer.stopping();
                (run.await, true)
            }
        };
        observer.run_finished(&result, clock.elapsed());
        match result {
            Ok(summary) => {
                let c = summary.counts();
                info!(
                    run_id = summary.run_id,
                    outcome = summary.outcome.as_str(),
                    created = c.created,
                    updated = c.updated,
                    unchanged = c.unchanged,
                    skipped = c.skipped,
                    orphaned = c.orphaned,
                    failed = c.failed,
                    held = c.held,
                    deferred = c.deferred,
                    "run finished"
                )
            }
            Err(e) => error!("run could not complete: {e}"),
        }
        let now = Utc::now();
        let missed = schedule.after(&started).take_while(|t| *t < now).count();
        if missed > 0 {
            warn!(missed, "ticks fell during the run and were skipped");
        }
        if stop {
            return;
        }
    }
}
