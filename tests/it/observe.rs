//! Observability end to end, against the three sandboxes: the `/metrics` counters equal
//! the sandboxes' request logs (faults included) and the run's report, the probes move
//! with the loop, systemd hears READY/STATUS/STOPPING/WATCHDOG, SIGTERM during a run
//! exits 0 after recording it, and `--sync-now` leaves one JSON summary line and a
//! textfile that parses and is replaced atomically.

use crate::common;

use common::child;
use common::world::{Parts, World, country_is};
use sgsync::config::{DEFAULT_METRICS_LISTEN, load_str};
use sgsync::daemon::{LoopObserver, pipeline, run_on_schedule_observed};
use sgsync::engine::apply::Report;
use sgsync::engine::run::{RunError, RunSummary};
use sgsync::observe::DaemonObserver;
use sgsync::observe::health::Health;
use sgsync::observe::metrics::Metrics;
use sgsync::observe::notify::Notifier;
use sgsync::observe::server::Server;
use sgsync::observe::textfile;
use sgsync::sandbox::{Controls, Fault, FaultPlan, LoggedRequest, Seed};
use sgsync::store::RunOutcome;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Never, in practice: runs come from `--once-at-start` only.
const NEVER: &str = "0 0 0 1 1 * 2099";

/// The demo source (nine real groups) and "Canadians", the one group iSpring can hold.
async fn world() -> World {
    let w = World::start(Seed::Demo).await;
    w.gs.add_group("Canadians", vec![country_is("CA")]);
    w
}

/// The endpoint on a free port, runs on `cron`.
fn parts(cron: &str) -> Parts {
    Parts {
        lms: Some(String::new()),
        // These tests count group units; membership has its own suite
        // (tests/it/membership.rs).
        newsletter: Some("on_lossy = \"push\"\nmembership = \"off\"".into()),
        metrics: Some("listen = \"127.0.0.1:0\"".into()),
        tail: format!("[schedule]\ncron = \"{cron}\""),
        ..Parts::default()
    }
}

// ---- A small parser for the Prometheus / OpenMetrics text format ---------------------

#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses an exposition, panicking on any line that is not valid: every sample belongs
/// to a family declared by `# TYPE` before it (with the suffixes its type allows), label
/// values are quoted and escaped, values are numbers, `# EOF` comes last if at all.
fn parse_exposition(text: &str) -> Vec<Sample> {
    assert!(text.ends_with('\n'), "an exposition ends with a newline");
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let at = |why: &str| format!("line {}: {why}: {line:?}", i + 1);
        if line.is_empty() {
            panic!("{}", at("empty line"));
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("EOF"), None, None) => assert_eq!(i + 1, lines.len(), "{}", at("EOF")),
                (Some("HELP"), Some(name), Some(_)) => assert!(valid_name(name), "{}", at("name")),
                (Some("UNIT"), Some(name), Some(_)) => assert!(valid_name(name), "{}", at("name")),
                (Some("TYPE"), Some(name), Some(kind)) => {
                    assert!(valid_name(name), "{}", at("name"));
                    assert!(
                        [
                            "counter",
                            "gauge",
                            "histogram",
                            "summary",
                            "untyped",
                            "unknown"
                        ]
                        .contains(&kind),
                        "{}",
                        at("type")
                    );
                    assert!(
                        types.insert(name.to_owned(), kind.to_owned()).is_none(),
                        "{}",
                        at("second TYPE")
                    );
                }
                _ => panic!("{}", at("unknown comment")),
            }
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(n) => line.split_at(n),
            None => panic!("{}", at("no value")),
        };
        assert!(valid_name(name), "{}", at("name"));
        let mut labels = BTreeMap::new();
        let rest = if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let end = loop {
                let (start, c) = chars
                    .next()
                    .unwrap_or_else(|| panic!("{}", at("open labels")));
                if c == '}' {
                    break start;
                }
                if c == ',' {
                    continue;
                }
                let mut key = String::from(c);
                for (_, c) in chars.by_ref() {
                    if c == '=' {
                        break;
                    }
                    key.push(c);
                }
                assert!(valid_name(&key), "{}", at("label name"));
                assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{}", at("quote"));
                let mut value = String::new();
                loop {
                    match chars.next().map(|(_, c)| c) {
                        Some('"') => break,
                        Some('\\') => match chars.next().map(|(_, c)| c) {
                            Some('n') => value.push('\n'),
                            Some(c @ ('\\' | '"')) => value.push(c),
                            _ => panic!("{}", at("escape")),
                        },
                        Some(c) => value.push(c),
                        None => panic!("{}", at("unterminated label value")),
                    }
                }
                labels.insert(key, value);
            };
            &body[end + 1..]
        } else {
            rest
        };
        let value = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("{}", at("space before value")));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("{}", at("value"))),
        };
        let family = types
            .iter()
            .find(|(family, kind)| {
                let suffixes: &[&str] = match kind.as_str() {
                    "counter" => &["_total", "_created", ""],
                    "histogram" => &["_bucket", "_sum", "_count", "_created"],
                    _ => &[""],
                };
                suffixes
                    .iter()
                    .any(|s| name.strip_suffix(s) == Some(family.as_str()))
            })
            .map(|(f, _)| f.clone());
        assert!(family.is_some(), "{}", at("sample without a TYPE"));
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    samples
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The sum of `name` over the samples whose labels include `with`.
fn sum(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            with.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
        })
        .map(|s| s.value)
        .sum()
}

fn has(samples: &[Sample], name: &str) -> bool {
    samples.iter().any(|s| s.name == name)
}

// ---- HTTP ---------------------------------------------------------------------------

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let reply = reqwest::get(format!("http://{addr}{path}"))
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = reply.status().as_u16();
    (status, reply.text().await.expect("body"))
}

async fn scrape(addr: SocketAddr) -> Vec<Sample> {
    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    parse_exposition(&body)
}

/// Polls `/metrics` until `done` holds (bounded: 20 s).
async fn scrape_until(addr: SocketAddr, done: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
    for _ in 0..400 {
        let samples = scrape(addr).await;
        if done(&samples) {
            return samples;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the metrics never reached the awaited state");
}

/// Polls until `controls` logged a request to a path containing `path` (bounded: 20 s).
async fn until_logged(controls: &Controls, path: &str) {
    for _ in 0..2000 {
        if controls.requests().iter().any(|r| r.path.contains(path)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no request to {path} reached the sandbox");
}

/// The status a logged request was answered with, as the metrics label it, when the
/// fault layer decided it; `None` when the handler answered (the tests' handlers answer
/// 200 on every path they use).
fn fault_status(r: &LoggedRequest) -> Option<String> {
    match &r.fault {
        Some(Fault::Status(code)) => Some(code.to_string()),
        Some(Fault::RateLimited { .. }) => Some("429".into()),
        None => None,
        Some(other) => panic!("no test here injects {other:?}"),
    }
}

/// Per provider: the sandbox's log, turned into the counts `/metrics` must show.
fn expected_calls(log: &[LoggedRequest]) -> BTreeMap<String, f64> {
    let mut by_status = BTreeMap::new();
    for r in log {
        *by_status
            .entry(fault_status(r).unwrap_or_else(|| "200".into()))
            .or_insert(0.0) += 1.0;
    }
    by_status
}

fn observed_calls(samples: &[Sample], provider: &str) -> BTreeMap<String, f64> {
    let mut by_status = BTreeMap::new();
    for s in samples.iter().filter(|s| {
        s.name == "sgsync_provider_calls_total"
            && s.labels.get("provider").map(String::as_str) == Some(provider)
    }) {
        *by_status.entry(s.labels["status"].clone()).or_insert(0.0) += s.value;
    }
    by_status
}

// ---- In-process daemon --------------------------------------------------------------

/// The daemon's observer, keeping each run's report for the test to compare.
struct Recording {
    inner: DaemonObserver,
    reports: Mutex<Vec<Report>>,
}

impl LoopObserver for Recording {
    fn loop_started(&self) {
        self.inner.loop_started();
    }
    fn run_started(&self, pipeline: &str) {
        self.inner.run_started(pipeline);
    }
    fn run_finished(&self, pipeline: &str, result: &Result<RunSummary, RunError>, took: Duration) {
        if let Ok(summary) = result {
            self.reports.lock().unwrap().push(summary.report.clone());
        }
        self.inner.run_finished(pipeline, result, took);
    }
    fn stopping(&self) {
        self.inner.stopping();
    }
    fn loop_ended(&self) {
        self.inner.loop_ended();
    }
}

struct Daemon {
    pipeline: sgsync::engine::run::Pipeline,
    schedule: cron::Schedule,
    server: Server,
    observer: Recording,
}

/// `sgsync run` as `main` wires it, in this process, with the endpoint on a free port.
async fn daemon(w: &World, cron: &str, env: &[(&str, &str)]) -> Daemon {
    let mut settings = w.settings_env(&parts(cron), env);
    let metrics = Arc::new(Metrics::new());
    metrics.instrument(&mut settings);
    let pipeline = pipeline(&settings).await.expect("pipeline");
    let health = Arc::new(Health::default());
    let listen = settings.metrics_listen.expect("metrics enabled");
    let server = Server::bind(listen, metrics.clone(), health.clone())
        .await
        .expect("endpoint binds");
    Daemon {
        pipeline,
        schedule: settings.schedule.clone(),
        server,
        observer: Recording {
            inner: DaemonObserver {
                metrics,
                health,
                notifier: Arc::new(Notifier::new()),
            },
            reports: Mutex::new(Vec::new()),
        },
    }
}

/// A scrape during a run and after it: every provider call counter equals the sandbox's
/// request log, per provider and status (injected 503 and 429 included), retries are
/// counted, and runs and units equal the run's report. The probes follow the loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_equal_the_sandbox_logs_and_the_report() {
    let w = world().await;
    // The source answers 503, then 429, then as usual: both retried (a list is a read).
    w.gs.running.controls.set_plan(FaultPlan {
        script: [
            Fault::Status(503),
            Fault::RateLimited {
                retry_after_secs: 0,
            },
        ]
        .into(),
        ..FaultPlan::default()
    });
    // emfluence is slow (so the run can be watched) and fails one create with a 500,
    // which is not retried (a create is not repeated blindly): one unit fails.
    w.em.running.controls.set_plan(FaultPlan {
        latency: Duration::from_millis(100),
        script: [Fault::Status(500)].into(),
        only_paths: vec!["groups/save".into()],
        ..FaultPlan::default()
    });
    let d = daemon(&w, NEVER, &[]).await;
    let addr = d.server.local_addr();
    assert_eq!(get(addr, "/healthz").await.0, 200);
    assert_eq!(
        get(addr, "/readyz").await,
        (503, "starting\n".to_owned()),
        "not ready before the loop starts"
    );

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = run_on_schedule_observed(
        &d.pipeline,
        &d.schedule,
        true,
        "observe-test",
        async {
            let _ = stopped.await;
        },
        &d.observer,
    );
    let watch = async {
        // During the run: the source has been read in full (the plan needs all of it)
        // and emfluence is being written to.
        until_logged(&w.em.running.controls, "groups/save").await;
        let during = scrape(addr).await;
        let (status, ready) = get(addr, "/readyz").await;
        assert_eq!(status, 200, "{ready}");
        assert!(ready.contains("a run is going"), "{ready}");
        assert!(!has(&during, "sgsync_runs_total"), "no run has finished");
        let lists =
            w.gs.running
                .controls
                .requests()
                .iter()
                .filter(|r| r.path.ends_with("smartgroups"))
                .count();
        assert_eq!(lists, 3, "503, 429, then the answer");
        assert_eq!(
            sum(
                &during,
                "sgsync_provider_calls_total",
                &[
                    ("provider", "gosquared"),
                    ("operation", "list smart groups")
                ]
            ),
            lists as f64
        );

        let after = scrape_until(addr, |s| has(s, "sgsync_runs_total")).await;
        stop.send(()).expect("the loop listens");
        after
    };
    let ((), after) = tokio::join!(run, watch);

    for (provider, controls) in [
        ("gosquared", &w.gs.running.controls),
        ("ispring", &w.is.running.controls),
        ("emfluence", &w.em.running.controls),
    ] {
        let log = controls.requests();
        assert!(!log.is_empty(), "{provider} was called");
        assert_eq!(
            observed_calls(&after, provider),
            expected_calls(&log),
            "{provider}: /metrics against the sandbox's request log"
        );
        let attempts = sum(
            &after,
            "sgsync_provider_call_duration_seconds_count",
            &[("provider", provider)],
        );
        assert_eq!(
            attempts,
            log.len() as f64,
            "{provider}: one latency per attempt"
        );
    }
    assert_eq!(
        sum(
            &after,
            "sgsync_provider_retries_total",
            &[("provider", "gosquared")]
        ),
        2.0
    );
    assert_eq!(
        sum(
            &after,
            "sgsync_provider_retries_total",
            &[("provider", "emfluence")]
        ),
        0.0,
        "the failed create was not sent again"
    );

    let reports = d.observer.reports.lock().unwrap().clone();
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert_eq!(report.failed(), 1, "{report:?}");
    assert_eq!(sum(&after, "sgsync_runs_total", &[]), 1.0);
    assert_eq!(
        sum(&after, "sgsync_runs_total", &[("outcome", "partial")]),
        1.0
    );
    // Every unit, the skipped ones (only counted in the report) included.
    let expected: BTreeMap<(String, String, String), f64> = report
        .tally
        .iter()
        .map(|((target, action, result), n)| {
            (
                (target.clone(), (*action).to_owned(), result.to_string()),
                *n as f64,
            )
        })
        .collect();
    assert_eq!(
        expected.values().sum::<f64>(),
        20.0,
        "ten groups, two targets: {expected:?}"
    );
    let units: BTreeMap<(String, String, String), f64> = after
        .iter()
        .filter(|s| s.name == "sgsync_units_total")
        .map(|s| {
            (
                (
                    s.labels["target"].clone(),
                    s.labels["action"].clone(),
                    s.labels["result"].clone(),
                ),
                s.value,
            )
        })
        .collect();
    assert_eq!(units, expected);
    assert_eq!(
        sum(&after, "sgsync_last_run_outcome", &[("outcome", "partial")]),
        1.0
    );
    assert_eq!(
        sum(&after, "sgsync_last_success_timestamp_seconds", &[]),
        0.0,
        "no run has succeeded"
    );
    assert!(sum(&after, "sgsync_last_run_timestamp_seconds", &[]) > 0.0);
    assert_eq!(sum(&after, "sgsync_run_duration_seconds_count", &[]), 1.0);

    // The loop has ended: not ready, not alive.
    let (status, ready) = get(addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(ready.starts_with("stopping; last run 1 partial"), "{ready}");
    assert_eq!(get(addr, "/healthz").await.0, 503);
    d.server.shutdown().await;
}

/// `/readyz` turns 503 after three runs in a row that could not read the source, and
/// 200 again after the next good run; `/healthz` stays 200 throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_after_three_runs_that_could_not_start_and_recovers() {
    let w = world().await;
    w.gs.running.controls.set_plan(FaultPlan {
        fault_rate: 1.0,
        random_faults: vec![Fault::Status(500)],
        ..FaultPlan::default()
    });
    let d = daemon(&w, "* * * * * *", &[("SGSYNC__HTTP__MAX_RETRIES", "0")]).await;
    let addr = d.server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = run_on_schedule_observed(
        &d.pipeline,
        &d.schedule,
        true,
        "observe-test",
        async {
            let _ = stopped.await;
        },
        &d.observer,
    );
    let watch = async {
        let (status, body) = get(addr, "/readyz").await;
        assert_eq!(status, 200, "ready as soon as the loop runs: {body}");
        scrape_until(addr, |s| {
            sum(s, "sgsync_runs_total", &[("outcome", "failed")]) >= 3.0
        })
        .await;
        let (status, body) = get(addr, "/readyz").await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("runs in a row could not start"), "{body}");
        assert!(body.contains("cannot read the source"), "{body}");
        assert_eq!(get(addr, "/healthz").await.0, 200, "still alive");

        w.gs.running.controls.set_plan(FaultPlan::default());
        scrape_until(addr, |s| {
            sum(s, "sgsync_runs_total", &[("outcome", "succeeded")]) >= 1.0
        })
        .await;
        let (status, body) = get(addr, "/readyz").await;
        assert_eq!(status, 200, "{body}");
        stop.send(()).expect("the loop listens");
    };
    tokio::join!(run, watch);
    d.server.shutdown().await;
}

// ---- The binary ---------------------------------------------------------------------

/// `sgsync` with the config for `cron` written, outside systemd, its log level the
/// default.
fn sgsync(w: &World, cron: &str) -> std::process::Command {
    w.write_config(&parts(cron));
    let mut command = w.sgsync(&[]);
    command
        .stdin(std::process::Stdio::null())
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("RUST_LOG");
    command
}

/// `sgsync run` under systemd's eyes: READY=1 once the endpoint is bound (its address in
/// STATUS=), WATCHDOG=1 pings, SIGTERM during a run sends STOPPING=1 and lets the run
/// finish and be recorded, then STATUS= with its outcome, and exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_run_exits_0_after_recording_it_and_systemd_is_told() {
    use std::os::unix::net::UnixDatagram;
    let w = world().await;
    // Slow enough that the run is still writing when SIGTERM arrives (it only has to
    // outlast the signal's delivery; the order of the notifications proves it did).
    w.em.running.controls.set_plan(FaultPlan {
        latency: Duration::from_millis(300),
        ..FaultPlan::default()
    });
    let socket_path = w.dir.path().join("notify");
    let socket = UnixDatagram::bind(&socket_path).expect("notify socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let stderr_path = w.dir.path().join("stderr");
    let child = sgsync(&w, NEVER)
        .args(["run", "--once-at-start"])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "200000")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("sgsync run starts");
    let pid = child.id();
    let messages = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = {
        let messages = messages.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Bounded: 60 s of silence at most, far beyond the test.
            for _ in 0..600 {
                if let Ok(n) = socket.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    let last = text.contains("STOPPING=1");
                    messages.lock().unwrap().push(text);
                    if last {
                        // The run's STATUS= follows STOPPING=1; keep reading a little.
                        for _ in 0..100 {
                            if let Ok(n) = socket.recv(&mut buf) {
                                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                                let done = text.contains("STATUS=last run");
                                messages.lock().unwrap().push(text);
                                if done {
                                    return;
                                }
                            }
                        }
                        return;
                    }
                }
            }
        })
    };
    let stderr = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
    // READY=1 carries the endpoint's address.
    let mut addr: Option<SocketAddr> = None;
    for _ in 0..200 {
        addr = messages.lock().unwrap().iter().find_map(|m| {
            let rest = m.split("metrics on http://").nth(1)?;
            assert!(m.starts_with("READY=1\n"), "{m}");
            rest.split('/').next()?.parse().ok()
        });
        if addr.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let addr = addr.unwrap_or_else(|| panic!("no READY=1 with an address; stderr: {}", stderr()));

    until_logged(&w.em.running.controls, "groups/save").await;
    let (status, ready) = get(addr, "/readyz").await;
    assert_eq!(
        (status, ready.contains("a run is going")),
        (200, true),
        "{ready}"
    );
    let during = scrape(addr).await;
    assert!(!has(&during, "sgsync_runs_total"));
    // Which worker holds the pipeline: this one, named as the run lock names it.
    assert_eq!(
        sum(
            &during,
            "sgsync_pipeline_running",
            &[("pipeline", "default")]
        ),
        1.0
    );
    let worker = during
        .iter()
        .find(|s| s.name == "sgsync_worker_info")
        .and_then(|s| s.labels.get("worker"))
        .cloned()
        .unwrap_or_default();
    assert!(
        worker.starts_with(&format!("sgsync pid {pid} on ")),
        "worker label: {worker}"
    );
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = child::ended(child, Duration::from_secs(60)).await;
    assert_eq!(out.code, Some(0), "SIGTERM is a clean stop: {}", stderr());
    reader.join().expect("reader");

    let messages = messages.lock().unwrap().clone();
    let position = |needle: &str| messages.iter().position(|m| m.contains(needle));
    let ready_at = position("READY=1").expect("READY=1");
    let stopping_at = position("STOPPING=1").unwrap_or_else(|| panic!("{messages:?}"));
    let status_at = position("STATUS=last run 1 at ").unwrap_or_else(|| panic!("{messages:?}"));
    assert!(
        ready_at < stopping_at && stopping_at < status_at,
        "the stop came during the run, which then finished: {messages:?}"
    );
    assert!(
        messages[status_at].contains(": succeeded in ")
            && messages[status_at].contains("created 11"),
        "{}",
        messages[status_at]
    );
    assert!(
        messages.iter().any(|m| m == "WATCHDOG=1\n"),
        "the watchdog is pinged: {messages:?}"
    );

    let store = w.store().await;
    let runs = store.recent_runs(10).await.expect("runs");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        runs[0].outcome,
        RunOutcome::Succeeded,
        "recorded, not cut short"
    );
    assert_eq!(w.em.groups().len(), 10);
}

/// A port already in use stops `sgsync run` at once with exit 1, saying which address
/// and which key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_port_in_use_is_a_start_error() {
    let w = world().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("addr").to_string();
    let mut command = sgsync(&w, NEVER);
    command
        .args(["run", "--once-at-start"])
        .env("SGSYNC__METRICS__LISTEN", &addr);
    let out = child::ran(command, Duration::from_secs(60)).await;
    let stderr = &out.stderr;
    assert_eq!(out.code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr} ([metrics] listen)")),
        "{stderr}"
    );
    assert!(
        w.gs.running.controls.requests().is_empty(),
        "no run started"
    );
}

/// `--sync-now` logs its summary as one JSON object and writes the textfile; the next
/// run replaces it. An unusable directory stops the run before it starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_now_logs_one_json_summary_and_writes_the_textfile() {
    let w = world().await;
    let dir = w.dir.path().join("textfiles");

    let mut command = sgsync(&w, NEVER);
    command
        .args(["--log-format", "json", "--sync-now", "--textfile-dir"])
        .arg(&dir);
    let missing = child::ran(command, Duration::from_secs(60)).await;
    assert_eq!(missing.code, Some(1));
    assert!(
        missing.stderr.contains("--textfile-dir"),
        "{}",
        missing.stderr
    );
    assert!(
        w.gs.running.controls.requests().is_empty(),
        "no run started"
    );

    std::fs::create_dir_all(&dir).expect("dir");
    w.em.running.controls.set_plan(FaultPlan {
        script: [Fault::Status(500)].into(),
        only_paths: vec!["groups/save".into()],
        ..FaultPlan::default()
    });
    let run = |w: &World| {
        let mut command = sgsync(w, NEVER);
        command
            .args(["--log-format", "json", "--sync-now", "--textfile-dir"])
            .arg(&dir);
        child::ran(command, Duration::from_secs(120))
    };
    let first = run(&w).await;
    let stderr = first.stderr;
    assert_eq!(first.code, Some(2), "one unit failed: {stderr}");
    // (`sync` also prints each failed unit as plain text on stderr: only log lines are
    // JSON objects.)
    let summaries: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.contains("run summary"))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("the summary is JSON"))
        .collect();
    assert_eq!(summaries.len(), 1, "{stderr}");
    let f = &summaries[0]["fields"];
    assert_eq!(f["outcome"], "partial");
    assert_eq!(f["run_id"], 1);
    // Canadians on lms, and nine of the ten groups on newsletter; one create failed.
    assert_eq!(
        (f["created"].as_u64(), f["failed"].as_u64()),
        (Some(10), Some(1)),
        "{f}"
    );
    for key in ["updated", "unchanged", "skipped", "orphaned"] {
        assert!(f[key].is_u64(), "{key} in {f}");
    }
    assert!(
        f["duration_seconds"].as_f64().is_some_and(|d| d > 0.0),
        "{f}"
    );

    let path = dir.join(textfile::FILE_NAME);
    let samples = parse_exposition(&std::fs::read_to_string(&path).expect("textfile"));
    assert_eq!(
        sum(
            &samples,
            "sgsync_last_run_outcome",
            &[("outcome", "partial")]
        ),
        1.0
    );
    assert_eq!(
        sum(&samples, "sgsync_last_run_units", &[("result", "failed")]),
        1.0
    );
    assert_eq!(
        sum(&samples, "sgsync_last_run_units", &[]),
        f["created"].as_f64().unwrap()
            + f["failed"].as_f64().unwrap()
            + f["skipped"].as_f64().unwrap()
            + f["unchanged"].as_f64().unwrap()
    );
    assert_eq!(
        sum(&samples, "sgsync_last_success_timestamp_seconds", &[]),
        0.0
    );
    assert!(
        !samples.iter().any(|s| s.name.ends_with("_total")),
        "gauges only"
    );

    let second = run(&w).await;
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let samples = parse_exposition(&std::fs::read_to_string(&path).expect("textfile"));
    assert_eq!(
        sum(
            &samples,
            "sgsync_last_run_outcome",
            &[("outcome", "succeeded")]
        ),
        1.0
    );
    let last = sum(&samples, "sgsync_last_run_timestamp_seconds", &[]);
    assert!(last > 0.0);
    assert_eq!(
        sum(&samples, "sgsync_last_success_timestamp_seconds", &[]),
        last
    );
    let names: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from(textfile::FILE_NAME)],
        "no temporary left"
    );
}

/// A reader never sees a half-written textfile: every read while it is rewritten again
/// and again is one whole version or the other.
#[test]
fn the_textfile_is_replaced_atomically() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let dir = dir.path();
    let versions = [
        "# TYPE a gauge\na 1\n".repeat(2000),
        "# TYPE b gauge\nb 2\n".repeat(1000),
    ];
    textfile::write(dir, &versions[0]).expect("first write");
    let path = dir.join(textfile::FILE_NAME);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (done, path, versions) = (done.clone(), path.clone(), versions.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let text = std::fs::read_to_string(&path).expect("always there");
                assert!(versions.contains(&text), "a partial file was read");
                reads += 1;
            }
            reads
        })
    };
    for i in 0..300 {
        textfile::write(dir, &versions[i % 2]).expect("write");
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().expect("reader") > 0);
}

/// `[metrics]`: loopback by default, off with `enabled = false`, any IP address when
/// written, and a host name or an empty value refused naming the key.
#[tokio::test]
async fn the_metrics_section_is_validated() {
    let w = world().await;
    let base = w.config(&Parts {
        metrics: None,
        ..parts(NEVER)
    });
    let load = |extra: &str, env: &[(&str, &str)]| {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load_str("m.toml", &format!("{base}{extra}"), &env)
    };
    let default = load("", &[]).expect("loads");
    assert_eq!(
        default.metrics_listen,
        Some(DEFAULT_METRICS_LISTEN.parse().unwrap())
    );
    assert!(default.metrics_listen.unwrap().ip().is_loopback());
    let off = load("[metrics]\nenabled = false\n", &[]).expect("loads");
    assert_eq!(off.metrics_listen, None);
    let env_off = load("", &[("SGSYNC__METRICS__ENABLED", "false")]).expect("loads");
    assert_eq!(env_off.metrics_listen, None);
    let open = load("[metrics]\nlisten = \"0.0.0.0:9464\"\n", &[]).expect("loads");
    assert_eq!(open.metrics_listen, Some("0.0.0.0:9464".parse().unwrap()));
    for bad in ["localhost:9464", "", "127.0.0.1"] {
        let e = load(&format!("[metrics]\nlisten = \"{bad}\"\n"), &[]).unwrap_err();
        assert_eq!(e.key(), Some("metrics.listen"), "{e}");
    }
    let e = load("[metrics]\nport = 1\n", &[]).unwrap_err();
    assert!(e.to_string().contains("port"), "{e}");
}
