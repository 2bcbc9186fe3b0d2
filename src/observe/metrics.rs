//! The Prometheus metrics: what `sgsync run` serves on `/metrics`, and the subset a
//! `--sync-now` writes as a node-exporter textfile.
//!
//! Built on `prometheus-client`, the Prometheus organisation's crate, rather than the
//! `metrics` facade: here a registry is a value, not a process-global recorder, so each
//! daemon — and each test in a test binary running many at once — counts into its own,
//! with nothing to reset between tests. The HTTP layer stays free of it: it reports
//! every attempt through [`CallObserver`], which [`Metrics`] implements, and
//! [`Metrics::instrument`] hands it to every client through the settings.

use super::summary::{OUTCOMES, RunRecord};
use crate::config::Settings;
use crate::model::ProviderKind;
use crate::provider::ErrorKind;
use crate::provider::http::{AttemptStatus, CallObserver, Observer};
use crate::store::{RunOutcome, Store};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The content type of [`Metrics::render`]: OpenMetrics text, for a scraper that asks
/// for it (`Accept: application/openmetrics-text`, as Prometheus does).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The content type of [`Metrics::render_classic`]: the Prometheus text format 0.0.4,
/// for every other client (curl, `promtool check metrics`, older scrapers).
pub const CLASSIC_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// How far back [`Metrics::seed_from_store`] looks for the last successful run.
const SEED_RUNS: u32 = 200;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UnitLabels {
    target: String,
    action: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MemberLabels {
    target: String,
    source_id: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    provider: &'static str,
    operation: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerLabels {
    worker: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
    commit: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;

fn call_histogram() -> Histogram {
    // 5 ms … 41 s: a provider call ends within the 30 s default timeout.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// Every metric sgsync exports. Cheap to share: clone the `Arc`. Provider calls and the
/// process are counted for the whole process; runs per pipeline, in a registry of their
/// own under the label `pipeline` ([`Metrics::pipeline`]), so a worker holding several
/// pipelines says which one each series is about.
pub struct Metrics {
    registry: Mutex<Registry>,
    /// The last-run gauges only: counters restarting from zero in every one-shot
    /// process would mislead `rate()`, so a textfile holds none.
    textfile: Mutex<Registry>,
    pipelines: Mutex<HashMap<String, Arc<RunMetrics>>>,
    calls: Family<CallLabels, Counter>,
    call_seconds: Family<ProviderLabels, Histogram, fn() -> Histogram>,
    retries: Family<ProviderLabels, Counter>,
    worker: Family<WorkerLabels, Gauge>,
}

/// The series of one pipeline's runs.
struct RunMetrics {
    runs: Family<OutcomeLabels, Counter>,
    units: Family<UnitLabels, Counter>,
    run_seconds: Histogram,
    last_run: FloatGauge,
    last_success: FloatGauge,
    last_duration: FloatGauge,
    last_outcome: Family<OutcomeLabels, Gauge>,
    last_units: Family<UnitLabels, Gauge>,
    /// Per membership group on a target that creates no one: its source people (with
    /// an email) and how many of them have no account there.
    last_people: Family<MemberLabels, Gauge>,
    last_without_account: Family<MemberLabels, Gauge>,
    target_up: Family<TargetLabels, Gauge>,
    verify_calls: Family<TargetLabels, Gauge>,
    stale_since: Family<TargetLabels, FloatGauge>,
    /// 1 while this process makes a run of the pipeline: with `sgsync_worker_info`, which
    /// worker holds it (the other workers export 0).
    running: Gauge,
}

impl RunMetrics {
    fn new() -> RunMetrics {
        let m = RunMetrics {
            runs: Family::default(),
            units: Family::default(),
            // 0.1 s … 27 min.
            run_seconds: Histogram::new(exponential_buckets(0.1, 2.0, 15)),
            last_run: FloatGauge::default(),
            last_success: FloatGauge::default(),
            last_duration: FloatGauge::default(),
            last_outcome: Family::default(),
            last_units: Family::default(),
            last_people: Family::default(),
            last_without_account: Family::default(),
            target_up: Family::default(),
            verify_calls: Family::default(),
            stale_since: Family::default(),
            running: Gauge::default(),
        };
        for outcome in OUTCOMES {
            m.last_outcome
                .get_or_create(&OutcomeLabels { outcome })
                .set(0);
        }
        m
    }

    /// The last-run gauges into `r` (the endpoint's registry and the textfile's); the
    /// counters and the histogram too when `all`.
    fn register(&self, r: &mut Registry, all: bool) {
        r.register(
            "sgsync_last_run_timestamp_seconds",
            "When the last run ended (any outcome), in Unix seconds",
            self.last_run.clone(),
        );
        r.register(
            "sgsync_last_success_timestamp_seconds",
            "When the last run that succeeded ended, in Unix seconds (0: none known)",
            self.last_success.clone(),
        );
        r.register(
            "sgsync_last_run_duration_seconds",
            "How long the last run took",
            self.last_duration.clone(),
        );
        r.register(
            "sgsync_last_run_outcome",
            "1 for the last run's outcome (succeeded, partial, failed, locked), 0 for the others",
            self.last_outcome.clone(),
        );
        r.register(
            "sgsync_last_run_units",
            "Units of the last run by target, planned action and result",
            self.last_units.clone(),
        );
        r.register(
            "sgsync_last_run_member_people",
            "Source people with an email of each group materialised on a target that creates no one (iSpring Learn), last run",
            self.last_people.clone(),
        );
        r.register(
            "sgsync_last_run_members_without_account",
            "Of those, how many have no account on the target: never created, not members (N of M have no account)",
            self.last_without_account.clone(),
        );
        r.register(
            "sgsync_target_up",
            "1 when the target answered the last run's authenticated read, 0 when it could not be reached (the run then fails, exit 2)",
            self.target_up.clone(),
        );
        r.register(
            "sgsync_last_run_verify_calls",
            "Calls the last run spent reading the target's copies back to find drift (listing pages and content reads)",
            self.verify_calls.clone(),
        );
        r.register(
            "sgsync_stale_since_timestamp_seconds",
            "When the target's oldest stale copy went stale (its source changed, the target cannot update it), in Unix seconds; absent when none is stale",
            self.stale_since.clone(),
        );
        if all {
            r.register(
                "sgsync_pipeline_running",
                "1 while this worker makes a run of the pipeline (it holds the pipeline's lease), 0 otherwise",
                self.running.clone(),
            );
            r.register(
                "sgsync_runs",
                "Runs by outcome (succeeded, partial, failed, locked)",
                self.runs.clone(),
            );
            r.register(
                "sgsync_units",
                "Units (one source group on one target) by target, planned action and result",
                self.units.clone(),
            );
            r.register(
                "sgsync_run_duration_seconds",
                "How long runs take",
                self.run_seconds.clone(),
            );
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let m = Metrics {
            registry: Mutex::new(Registry::default()),
            textfile: Mutex::new(Registry::default()),
            pipelines: Mutex::new(HashMap::new()),
            calls: Family::default(),
            call_seconds: Family::new_with_constructor(call_histogram as fn() -> Histogram),
            retries: Family::default(),
            worker: Family::default(),
        };
        let build_info = Family::<VersionLabels, Gauge>::default();
        build_info
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION"),
                commit: crate::cli::version::COMMIT,
            })
            .set(1);
        for r in [&m.registry, &m.textfile] {
            lock(r).register(
                "sgsync_build_info",
                "Always 1; the version label says which sgsync is running",
                build_info.clone(),
            );
        }
        let mut r = lock(&m.registry);
        r.register_collector(Box::new(super::process::ProcessCollector));
        r.register(
            "sgsync_provider_calls",
            "Provider call attempts by provider, operation and status (HTTP status, or the error kind when no answer came)",
            m.calls.clone(),
        );
        r.register(
            "sgsync_provider_call_duration_seconds",
            "Provider call attempt latency by provider",
            m.call_seconds.clone(),
        );
        r.register(
            "sgsync_provider_retries",
            "Provider calls sent again after a temporary failure, by provider",
            m.retries.clone(),
        );
        r.register(
            "sgsync_worker_info",
            "Always 1; the worker label is how the run lock and `sgsync status` name this process",
            m.worker.clone(),
        );
        drop(r);
        m
    }

    /// Pipeline `name`'s series, registered (all at 0) the first time it is named:
    /// a worker names its pipelines at start, so each is exported before its first run.
    fn pipeline(&self, name: &str) -> Arc<RunMetrics> {
        let mut pipelines = lock(&self.pipelines);
        if let Some(m) = pipelines.get(name) {
            return m.clone();
        }
        let m = Arc::new(RunMetrics::new());
        let label = (Cow::Borrowed("pipeline"), Cow::Owned(name.to_owned()));
        m.register(
            lock(&self.registry).sub_registry_with_label(label.clone()),
            true,
        );
        m.register(lock(&self.textfile).sub_registry_with_label(label), false);
        pipelines.insert(name.to_owned(), m.clone());
        m
    }

    /// Names this process as `sgsync status` and the run lock do (`sgsync_worker_info`).
    pub fn set_worker(&self, worker: &str) {
        self.worker
            .get_or_create(&WorkerLabels {
                worker: worker.to_owned(),
            })
            .set(1);
    }

    /// Whether this process is making a run of pipeline `name` now.
    pub fn set_running(&self, name: &str, running: bool) {
        self.pipeline(name).running.set(i64::from(running));
    }

    /// Exports pipeline `name`'s series before its first run.
    pub fn register_pipeline(&self, name: &str) {
        self.pipeline(name);
    }

    /// Makes every provider client built from `settings` report its calls here.
    pub fn instrument(self: &Arc<Self>, settings: &mut Settings) {
        let observer = Observer::new(self.clone());
        settings.source.http.observer = observer.clone();
        for t in &mut settings.targets {
            t.endpoint.http.observer = observer.clone();
        }
    }

    /// Counts a finished run and sets its pipeline's last-run gauges.
    pub fn record_run(&self, run: &RunRecord) {
        self.pipeline(&run.pipeline).record(run);
    }

    /// Sets the last-success gauge of the store's pipeline from its history (the newest
    /// success among the last 200 runs), so it survives restarts and one-shot
    /// processes. A store that cannot be read leaves the gauge as it is.
    pub async fn seed_from_store(&self, store: &Store) {
        self.pipeline(store.pipeline()).seed_from_store(store).await;
    }
}

impl RunMetrics {
    fn record(&self, run: &RunRecord) {
        self.runs
            .get_or_create(&OutcomeLabels {
                outcome: run.outcome,
            })
            .inc();
        self.last_units.clear();
        for (target, action, result, n) in &run.units {
            let labels = UnitLabels {
                target: target.clone(),
                action,
                result,
            };
            self.units.get_or_create(&labels).inc_by(*n as u64);
            self.last_units
                .get_or_create(&labels)
                .inc_by(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        self.last_people.clear();
        self.last_without_account.clear();
        for (target, source_id, people, without) in &run.without_account {
            let labels = MemberLabels {
                target: target.clone(),
                source_id: source_id.clone(),
            };
            let gauge = |n: &usize| i64::try_from(*n).unwrap_or(i64::MAX);
            self.last_people.get_or_create(&labels).set(gauge(people));
            self.last_without_account
                .get_or_create(&labels)
                .set(gauge(without));
        }
        // A run that could not start read no target: the gauges keep what the last run
        // that read them saw.
        if !run.targets.is_empty() {
            self.target_up.clear();
            for (target, up) in &run.targets {
                self.target_up
                    .get_or_create(&TargetLabels {
                        target: target.clone(),
                    })
                    .set(i64::from(*up));
            }
        }
        if !run.targets.is_empty() {
            self.verify_calls.clear();
            for (target, calls) in &run.verify_calls {
                self.verify_calls
                    .get_or_create(&TargetLabels {
                        target: target.clone(),
                    })
                    .set(i64::try_from(*calls).unwrap_or(i64::MAX));
            }
            self.stale_since.clear();
            for (target, at) in &run.stale_since {
                self.stale_since
                    .get_or_create(&TargetLabels {
                        target: target.clone(),
                    })
                    .set(unix_seconds(*at));
            }
        }
        let seconds = run.duration.as_secs_f64();
        self.run_seconds.observe(seconds);
        self.last_duration.set(seconds);
        let ended = unix_seconds(run.finished_at);
        self.last_run.set(ended);
        if run.outcome == RunOutcome::Succeeded.as_str() {
            self.last_success.set(ended);
        }
        for outcome in OUTCOMES {
            self.last_outcome
                .get_or_create(&OutcomeLabels { outcome })
                .set(i64::from(outcome == run.outcome));
        }
    }

    async fn seed_from_store(&self, store: &Store) {
        match store.recent_runs(SEED_RUNS).await {
            Ok(runs) => {
                let last = runs
                    .iter()
                    .filter(|r| r.outcome == RunOutcome::Succeeded && !r.dry_run)
                    .filter_map(|r| r.finished_at)
                    .max();
                if let Some(at) = last {
                    let at = unix_seconds(at);
                    if at > self.last_success.get() {
                        self.last_success.set(at);
                    }
                }
            }
            Err(e) => tracing::warn!("cannot read the run history for the metrics: {e}"),
        }
    }
}

impl Metrics {
    /// Everything, in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; an encoding error would be a bug in a label.
        if let Err(e) = encode(&mut text, &lock(&self.registry)) {
            tracing::error!("cannot encode the metrics: {e}");
        }
        text
    }

    /// Everything, in the Prometheus text format 0.0.4 ([`CLASSIC_CONTENT_TYPE`]).
    pub fn render_classic(&self) -> String {
        to_classic(&self.render())
    }

    /// The last-run gauges, for a node-exporter textfile: text format without the
    /// OpenMetrics `# EOF` trailer, and only gauges, which both formats read alike.
    pub fn render_textfile(&self) -> String {
        let mut text = String::new();
        if let Err(e) = encode_registry(&mut text, &lock(&self.textfile)) {
            tracing::error!("cannot encode the metrics: {e}");
        }
        text
    }
}

/// OpenMetrics text as the Prometheus text format 0.0.4: no `# EOF` or `# UNIT`
/// lines, and a counter's `# HELP` and `# TYPE` name its `_total` samples (OpenMetrics
/// names the family without the suffix). Gauges and histograms read alike in both.
pub fn to_classic(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut help: Option<&str> = None;
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if line.starts_with("# HELP ") {
            // Held until the TYPE line says whether the name needs its suffix.
            if let Some(h) = help.take() {
                out.push_str(h);
                out.push('\n');
            }
            help = Some(line);
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (name, kind) = match kind {
                "counter" if !name.ends_with("_total") => (format!("{name}_total"), "counter"),
                "counter" => (name.to_owned(), "counter"),
                "gauge" | "histogram" | "summary" => (name.to_owned(), kind),
                "info" => (format!("{name}_info"), "gauge"),
                "stateset" => (name.to_owned(), "gauge"),
                _ => (name.to_owned(), "untyped"),
            };
            if let Some(h) = help.take() {
                let text = h
                    .strip_prefix("# HELP ")
                    .and_then(|r| r.split_once(' '))
                    .map_or("", |(_, t)| t);
                out.push_str(&format!("# HELP {name} {text}\n"));
            }
            out.push_str(&format!("# TYPE {name} {kind}\n"));
            continue;
        }
        if let Some(h) = help.take() {
            out.push_str(h);
            out.push('\n');
        }
        // A counter's `_created` sample has no place in the classic format.
        if line
            .split(['{', ' '])
            .next()
            .is_some_and(|n| n.ends_with("_created"))
        {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

impl CallObserver for Metrics {
    fn attempt(
        &self,
        provider: ProviderKind,
        operation: &str,
        status: AttemptStatus,
        elapsed: Duration,
    ) {
        let provider = provider.as_str();
        self.calls
            .get_or_create(&CallLabels {
                provider,
                operation: operation.to_owned(),
                status: status_label(status),
            })
            .inc();
        self.call_seconds
            .get_or_create(&ProviderLabels { provider })
            .observe(elapsed.as_secs_f64());
    }

    fn retry(&self, provider: ProviderKind, _operation: &str) {
        self.retries
            .get_or_create(&ProviderLabels {
                provider: provider.as_str(),
            })
            .inc();
    }
}

/// A lock that a panic elsewhere did not leave unusable (metrics are counts: what a
/// panicking holder left is still worth exporting).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn unix_seconds(at: chrono::DateTime<chrono::Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1000.0
}

/// The `status` label: the HTTP status code, or the kind of failure when no answer came.
pub fn status_label(status: AttemptStatus) -> String {
    match status {
        AttemptStatus::Http(code) => code.to_string(),
        AttemptStatus::Error(kind) => kind_label(kind).to_owned(),
    }
}

fn kind_label(kind: ErrorKind) -> &'static str {
    kind.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RunCounts;
    use chrono::DateTime;

    fn run(outcome: &'static str, units: &[(&str, &'static str, &'static str)]) -> RunRecord {
        RunRecord {
            pipeline: crate::store::DEFAULT_PIPELINE.to_owned(),
            without_account: Vec::new(),
            run_id: Some(1),
            outcome,
            counts: RunCounts::default(),
            units: units
                .iter()
                .map(|(t, a, r)| (t.to_string(), *a, *r, 1))
                .collect(),
            duration: Duration::from_millis(2500),
            finished_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            error: None,
            targets: Vec::new(),
            verify_calls: Vec::new(),
            stale_since: Vec::new(),
        }
    }

    #[test]
    fn calls_are_counted_by_provider_operation_and_status() {
        let m = Metrics::new();
        let p = sgsync_emfluence::KIND;
        m.attempt(
            p,
            "POST groups/save",
            AttemptStatus::Http(503),
            Duration::ZERO,
        );
        m.retry(p, "POST groups/save");
        m.attempt(
            p,
            "POST groups/save",
            AttemptStatus::Http(200),
            Duration::ZERO,
        );
        m.attempt(
            p,
            "POST groups/save",
            AttemptStatus::Error(ErrorKind::Timeout),
            Duration::ZERO,
        );
        let text = m.render();
        for line in [
            r#"sgsync_provider_calls_total{provider="emfluence",operation="POST groups/save",status="503"} 1"#,
            r#"sgsync_provider_calls_total{provider="emfluence",operation="POST groups/save",status="200"} 1"#,
            r#"sgsync_provider_calls_total{provider="emfluence",operation="POST groups/save",status="timeout"} 1"#,
            r#"sgsync_provider_retries_total{provider="emfluence"} 1"#,
            r#"sgsync_provider_call_duration_seconds_count{provider="emfluence"} 3"#,
            "# TYPE sgsync_provider_calls counter",
            "# TYPE sgsync_provider_call_duration_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn a_run_sets_counters_and_replaces_the_last_run_gauges() {
        let m = Metrics::new();
        m.record_run(&run(
            "partial",
            &[("lms", "create", "created"), ("lms", "update", "failed")],
        ));
        m.record_run(&run("succeeded", &[("lms", "unchanged", "unchanged")]));
        let text = m.render();
        for line in [
            r#"sgsync_runs_total{pipeline="default",outcome="partial"} 1"#,
            r#"sgsync_runs_total{pipeline="default",outcome="succeeded"} 1"#,
            r#"sgsync_units_total{pipeline="default",target="lms",action="create",result="created"} 1"#,
            r#"sgsync_units_total{pipeline="default",target="lms",action="unchanged",result="unchanged"} 1"#,
            r#"sgsync_last_run_units{pipeline="default",target="lms",action="unchanged",result="unchanged"} 1"#,
            r#"sgsync_last_run_outcome{pipeline="default",outcome="succeeded"} 1"#,
            r#"sgsync_last_run_outcome{pipeline="default",outcome="partial"} 0"#,
            "sgsync_last_success_timestamp_seconds{pipeline=\"default\"} 1700000000.0",
            "sgsync_last_run_duration_seconds{pipeline=\"default\"} 2.5",
            "sgsync_run_duration_seconds_count{pipeline=\"default\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert!(
            !text.contains(
                r#"sgsync_last_run_units{pipeline="default",target="lms",action="create""#
            ),
            "the last run's units replace the previous run's:\n{text}"
        );
    }

    #[test]
    fn the_worker_and_the_pipelines_it_is_running_are_exported() {
        let m = Metrics::new();
        m.set_worker("sgsync pid 7 on node-a");
        m.register_pipeline("acme");
        m.set_running("globex", true);
        let text = m.render();
        for line in [
            r#"sgsync_worker_info{worker="sgsync pid 7 on node-a"} 1"#,
            r#"sgsync_pipeline_running{pipeline="acme"} 0"#,
            r#"sgsync_pipeline_running{pipeline="globex"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        m.record_run(&run("succeeded", &[]));
        m.set_running("globex", false);
        assert!(
            m.render()
                .lines()
                .any(|l| l == r#"sgsync_pipeline_running{pipeline="globex"} 0"#)
        );
        // A one-shot process holds nothing once it has written its textfile.
        assert!(!m.render_textfile().contains("sgsync_pipeline_running"));
    }

    #[test]
    fn targets_reached_verification_calls_and_stale_copies_are_gauges() {
        let m = Metrics::new();
        let mut r = run("partial", &[("crm", "stale", "stale")]);
        r.targets = vec![("crm".into(), true), ("newsletter".into(), false)];
        r.verify_calls = vec![("crm".into(), 1), ("newsletter".into(), 0)];
        r.stale_since = vec![(
            "crm".into(),
            DateTime::from_timestamp(1_600_000_000, 0).unwrap(),
        )];
        m.record_run(&r);
        let text = m.render();
        for line in [
            r#"sgsync_target_up{pipeline="default",target="crm"} 1"#,
            r#"sgsync_target_up{pipeline="default",target="newsletter"} 0"#,
            r#"sgsync_last_run_verify_calls{pipeline="default",target="crm"} 1"#,
            r#"sgsync_stale_since_timestamp_seconds{pipeline="default",target="crm"} 1600000000.0"#,
            r#"sgsync_last_run_units{pipeline="default",target="crm",action="stale",result="stale"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        // The next run finds nothing stale: the gauge goes.
        let mut next = run("succeeded", &[]);
        next.targets = vec![("crm".into(), true)];
        m.record_run(&next);
        assert!(
            !m.render()
                .contains("sgsync_stale_since_timestamp_seconds{pipeline=\"default\",")
        );
    }

    #[test]
    fn the_classic_format_names_counters_by_their_samples_and_has_no_eof() {
        let m = Metrics::new();
        m.record_run(&run("succeeded", &[("lms", "create", "created")]));
        let om = m.render();
        assert!(om.contains("# TYPE sgsync_runs counter\n") && om.ends_with("# EOF\n"));
        let classic = m.render_classic();
        for line in [
            "# HELP sgsync_runs_total Runs by outcome (succeeded, partial, failed, locked).",
            "# TYPE sgsync_runs_total counter",
            r#"sgsync_runs_total{pipeline="default",outcome="succeeded"} 1"#,
            "# TYPE sgsync_run_duration_seconds histogram",
            "# TYPE sgsync_last_run_outcome gauge",
            "# TYPE process_cpu_seconds_total counter",
        ] {
            assert!(
                classic.lines().any(|l| l == line),
                "{line} missing in\n{classic}"
            );
        }
        assert!(!classic.contains("# EOF") && !classic.contains("# UNIT"));
        // Every HELP is followed by the TYPE of the same name.
        let lines: Vec<&str> = classic.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if let Some(rest) = l.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap_or_default();
                assert!(
                    lines[i + 1].starts_with(&format!("# TYPE {name} ")),
                    "{l} / {}",
                    lines[i + 1]
                );
            }
        }
    }

    #[test]
    fn a_failed_run_keeps_the_last_success_time() {
        let m = Metrics::new();
        m.record_run(&run("succeeded", &[]));
        let mut later = run("failed", &[]);
        later.finished_at = DateTime::from_timestamp(1_700_000_600, 0).unwrap();
        m.record_run(&later);
        let text = m.render_textfile();
        assert!(text.contains(
            "sgsync_last_success_timestamp_seconds{pipeline=\"default\"} 1700000000.0\n"
        ));
        assert!(
            text.contains("sgsync_last_run_timestamp_seconds{pipeline=\"default\"} 1700000600.0\n")
        );
        assert!(
            text.contains("sgsync_last_run_outcome{pipeline=\"default\",outcome=\"failed\"} 1\n")
        );
        assert!(
            !text.contains("_total"),
            "no counter in a textfile:\n{text}"
        );
        assert!(!text.contains("# EOF"));
    }
}
