//! Turning settings into a running pipeline, and `sgsync run`: the long-running loop
//! that syncs on the cron schedule, one run at a time, until told to stop.

use crate::config::Settings;
use crate::engine::apply::Target;
use crate::engine::plan::TargetPolicy;
use crate::engine::run::{Pipeline, RunError, RunOptions, RunSummary};
use crate::provider::ProviderError;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
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
    let store = Store::connect(&settings.store).await?;
    pipeline_in(settings, &store)
}

/// [`pipeline`] in a state database already open (workers share one pool across all
/// their pipelines).
pub fn pipeline_in(settings: &Settings, store: &Store) -> Result<Pipeline, StartError> {
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
    let store = store.for_pipeline(&settings.pipeline);
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
    /// This worker is about to run `pipeline` (it may yet find the run not its own).
    fn run_started(&self, _pipeline: &str) {}
    /// The run of `pipeline` that started was not this worker's to make after all:
    /// another worker had served its due time, or is still making it.
    fn run_skipped(&self, _pipeline: &str) {}
    /// A run of `pipeline` ended (or could not start) after `took`.
    fn run_finished(
        &self,
        _pipeline: &str,
        _result: &Result<RunSummary, RunError>,
        _took: Duration,
    ) {
    }
    /// A stop was requested; a run in progress is let finish.
    fn stopping(&self) {}
    fn loop_ended(&self) {}
}

/// How often an idle worker looks again at runs that another worker started and did
/// not finish (its process died): the lease of the dead run lapses on its own, and the
/// first worker to look after that resumes the pipeline.
pub const RESUME_POLL: Duration = Duration::from_secs(10);

/// One pipeline on its schedule, as a worker runs it.
pub struct Scheduled<'a> {
    pub pipeline: &'a Pipeline,
    pub schedule: &'a cron::Schedule,
}

/// Syncs on `schedule` until `shutdown` completes (see [`run_workers_observed`]).
pub async fn run_on_schedule_observed(
    pipeline: &Pipeline,
    schedule: &cron::Schedule,
    once_at_start: bool,
    holder: &str,
    shutdown: impl Future<Output = ()>,
    observer: &dyn LoopObserver,
) {
    let entries = [Scheduled { pipeline, schedule }];
    run_workers_observed(&entries, once_at_start, holder, shutdown, observer).await;
}

/// A worker: runs every pipeline of `entries` when it is due, until `shutdown`
/// completes. Any number of workers may run the same pipelines against one state
/// database: a due time is run once, by the worker that takes the pipeline's run lock
/// first (the others find it held, or done); a run whose worker died is resumed once its
/// lease has lapsed. Ticks that fall while a pipeline's run goes are served by that run.
/// A stop request during a run lets it finish — its in-flight calls complete and it is
/// recorded — then the loop ends. `observer` is told each run this worker makes.
pub async fn run_workers_observed(
    entries: &[Scheduled<'_>],
    once_at_start: bool,
    holder: &str,
    shutdown: impl Future<Output = ()>,
    observer: &dyn LoopObserver,
) {
    observer.loop_started();
    worker_loop(entries, once_at_start, holder, shutdown, observer).await;
    observer.loop_ended();
}

/// What a pipeline has due now, and whether it resumes a run that died.
async fn due_now(
    entry: &Scheduled<'_>,
    started: DateTime<Utc>,
    at_start: bool,
) -> Option<(DateTime<Utc>, bool)> {
    let slots = match entry.pipeline.store.slots().await {
        Ok(slots) => slots,
        Err(e) => {
            warn!(
                pipeline = entry.pipeline.store.pipeline(),
                "cannot read the schedule: {e}"
            );
            return None;
        }
    };
    if let Some(due) = slots.unfinished() {
        return Some((due, true));
    }
    let now = Utc::now();
    let tick = entry
        .schedule
        .after(&started)
        .take_while(|t| *t <= now)
        .last();
    match tick {
        Some(due) if !slots.is_done(due) => Some((due, false)),
        _ if at_start && !slots.is_done(started) => Some((started, false)),
        _ => None,
    }
}

async fn worker_loop(
    entries: &[Scheduled<'_>],
    once_at_start: bool,
    holder: &str,
    shutdown: impl Future<Output = ()>,
    observer: &dyn LoopObserver,
) {
    tokio::pin!(shutdown);
    let started = Utc::now();
    let mut at_start = once_at_start;
    // Each pass starts at a random pipeline, so workers that woke at the same tick do
    // not all queue on the first pipeline's lock.
    let mut rng = fastrand::Rng::new();
    loop {
        let offset = rng.usize(..entries.len().max(1));
        let order = entries.iter().cycle().skip(offset).take(entries.len());
        for entry in order {
            let Some((due, resuming)) = due_now(entry, started, at_start).await else {
                continue;
            };
            let pipeline = entry.pipeline.store.pipeline().to_owned();
            let clock = Instant::now();
            let options = RunOptions {
                due: Some(due),
                schedule: Some(entry.schedule),
                ..RunOptions::default()
            };
            observer.run_started(&pipeline);
            let run = entry.pipeline.sync(holder, options);
            tokio::pin!(run);
            let (result, stop) = tokio::select! {
                result = &mut run => (result, false),
                _ = &mut shutdown => {
                    info!("stop requested; finishing the current run first");
                    observer.stopping();
                    (run.await, true)
                }
            };
            match &result {
                // Another worker served it, or is serving it: nothing of ours to report.
                Err(RunError::AlreadyRun { .. }) => observer.run_skipped(&pipeline),
                // Another worker (or a `--sync-now`) is making it: looked at again on
                // the next pass, and taken over if that run dies.
                Err(RunError::LockHeld { holder, .. }) => {
                    tracing::debug!(%pipeline, %holder, resuming, "another run holds the pipeline");
                    observer.run_skipped(&pipeline);
                }
                _ => {
                    observer.run_finished(&pipeline, &result, clock.elapsed());
                    log_run(&pipeline, &result);
                }
            }
            if stop {
                return;
            }
        }
        at_start = false;
        // Until the next tick of any pipeline, or the next look at runs to resume.
        let now = Utc::now();
        let next = entries
            .iter()
            .filter_map(|e| e.schedule.upcoming(Utc).next())
            .min();
        let Some(next) = next else {
            warn!("the schedule has no further time; stopping");
            return;
        };
        let wait = (next - now).to_std().unwrap_or_default().min(RESUME_POLL);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut shutdown => {
                info!("stop requested; no run in progress");
                observer.stopping();
                return;
            }
        }
    }
}

fn log_run(pipeline: &str, result: &Result<RunSummary, RunError>) {
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
                pipeline,
                "run finished"
            )
        }
        Err(e) => error!(pipeline, "run could not complete: {e}"),
    }
}
