//! Watching sgsync from outside: Prometheus metrics, the `/healthz` `/readyz`
//! `/metrics` endpoint of `sgsync run`, systemd notifications, the node-exporter
//! textfile of `--sync-now`, its one-line run summary, and the progress bar. Each
//! module has one job; [`DaemonObserver`] ties the daemon's ones to the schedule loop.

pub mod health;
pub mod metrics;
pub mod notify;
pub mod process;
pub mod progress;
pub mod push;
pub mod server;
pub mod summary;
pub mod textfile;

use crate::daemon::LoopObserver;
use crate::engine::run::{RunError, RunSummary};
use chrono::Utc;
use health::Health;
use metrics::Metrics;
use notify::Notifier;
use std::sync::Arc;
use std::time::Duration;
use summary::RunRecord;

/// What `sgsync run` tells about its loop: metrics, readiness, and systemd.
pub struct DaemonObserver {
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub notifier: Arc<Notifier>,
}

impl LoopObserver for DaemonObserver {
    fn loop_started(&self) {
        self.health.loop_started();
    }

    fn run_started(&self, pipeline: &str) {
        self.metrics.set_running(pipeline, true);
        self.health.run_started();
    }

    fn run_skipped(&self, pipeline: &str) {
        self.metrics.set_running(pipeline, false);
        self.health.run_skipped();
    }

    fn run_finished(&self, pipeline: &str, result: &Result<RunSummary, RunError>, took: Duration) {
        let record = RunRecord::new(result, took, Utc::now()).in_pipeline(pipeline);
        self.metrics.record_run(&record);
        self.metrics.set_running(pipeline, false);
        self.health.run_finished(&record);
        self.notifier.status(&record.status_line());
    }

    fn stopping(&self) {
        self.health.stopping();
        self.notifier.stopping();
    }

    fn loop_ended(&self) {
        self.health.loop_ended();
    }
}
