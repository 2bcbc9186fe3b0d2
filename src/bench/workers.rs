//! `sgsync bench --pipelines P --workers W --store-url postgres://…`: P pipelines, each
//! on sandboxes of its own (accounts of its own, as real tenants have), synced by W
//! `sgsync run` worker processes sharing one PostgreSQL. Every pipeline becomes due at
//! the same tick; the bench measures from that tick until each pipeline's run of it has
//! succeeded.
//!
//! The lower bound: a worker runs one pipeline at a time and each pipeline is bounded by
//! its own providers (the bound of `sgsync bench` for one sync of its groups), so P
//! pipelines on W workers cannot finish before ⌈P ÷ W⌉ such bounds: the speed-up is
//! linear while the providers are the bound, and the machine's cores cap it once the
//! sandboxes and workers share them.

use super::{BenchError, Mix, Options, World, bound_of, calls, minimum, seeded_world, tenant_toml};
use crate::store::{RunOutcome, Store, StoreUrl};
use chrono::{DateTime, Timelike, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What to measure.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Groups per pipeline, limits and latency, as for one sync.
    pub sync: Options,
    pub pipelines: usize,
    pub workers: usize,
    /// An empty PostgreSQL database the workers share (`postgres://user:password@host/db`).
    pub store_url: String,
}

/// The figures of one measurement.
#[derive(Debug, Clone, Serialize)]
pub struct WorkersReport {
    pub pipelines: usize,
    pub workers: usize,
    pub groups_per_pipeline: usize,
    pub latency_ms: u64,
    pub concurrency: usize,
    /// From the tick to the end of the last pipeline's run.
    pub wall_ms: u64,
    /// One pipeline's bound, and ⌈P ÷ W⌉ of them.
    pub pipeline_bound_ms: u64,
    pub lower_bound_ms: u64,
    pub ratio: f64,
    /// Calls the sandboxes received, all pipelines, and the minimum.
    pub calls: u64,
    pub minimum_calls: u64,
    pub rate_limited: u64,
    /// Pipelines each worker ran.
    pub runs_per_worker: Vec<usize>,
    /// From the tick to each worker's first run start.
    pub claim_latency_ms: Vec<u64>,
    /// Peak resident set size of each worker (`VmHWM`).
    pub peak_rss_mib: Vec<f64>,
}

/// The tick every pipeline becomes due at: whole seconds, far enough ahead for the
/// workers to start and open their pipelines.
fn tick(lead: Duration) -> DateTime<Utc> {
    let at = Utc::now() + chrono::Duration::from_std(lead).unwrap_or_default();
    at.with_nanosecond(0).unwrap_or(at) + chrono::Duration::seconds(1)
}

fn cron_at(t: DateTime<Utc>) -> String {
    use chrono::Datelike;
    // The `cron` crate's six-field form, seconds first; the daemon reads it in UTC.
    format!(
        "{} {} {} {} {} *",
        t.second(),
        t.minute(),
        t.hour(),
        t.day(),
        t.month()
    )
}

fn pipeline_name(i: usize) -> String {
    format!("p{i:03}")
}

/// Peak RSS of a running process in bytes (Linux `VmHWM`).
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

pub async fn run(opts: &WorkerOptions) -> Result<WorkersReport, BenchError> {
    let dir = std::env::temp_dir().join(format!("sgsync-bench-workers-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("pipelines")).map_err(|error| BenchError::File {
        what: "creating",
        path: dir.clone(),
        error,
    })?;
    let result = run_in(opts, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn write(path: PathBuf, text: &str) -> Result<(), BenchError> {
    std::fs::write(&path, text).map_err(|error| BenchError::File {
        what: "writing",
        path,
        error,
    })
}

async fn run_in(opts: &WorkerOptions, dir: &Path) -> Result<WorkersReport, BenchError> {
    let url = StoreUrl::parse(&opts.store_url, None).map_err(BenchError::Workers)?;
    if url.sqlite_path().is_some() {
        return Err(BenchError::Workers(
            "--store-url must be a postgres:// URL (workers on one machine or many share one PostgreSQL)".to_owned(),
        ));
    }
    let store = Store::connect(&url)
        .await
        .map_err(|e| BenchError::Workers(e.to_string()))?;
    if !store
        .pipelines()
        .await
        .map_err(|e| BenchError::Workers(e.to_string()))?
        .is_empty()
    {
        return Err(BenchError::Workers(format!(
            "the database {url} holds pipelines already; give the bench an empty one"
        )));
    }
    let mix = Mix::new();
    let mut worlds: Vec<World> = Vec::with_capacity(opts.pipelines);
    for i in 0..opts.pipelines {
        let (world, _) = seeded_world(&opts.sync, &mix).await?;
        write(
            dir.join("pipelines")
                .join(format!("{}.toml", pipeline_name(i))),
            &tenant_toml(&opts.sync, &world),
        )?;
        worlds.push(world);
    }
    let due = tick(Duration::from_secs(5) + Duration::from_millis(20 * opts.pipelines as u64));
    let config = dir.join("workers.toml");
    write(
        config.clone(),
        &format!(
            "# Written by `sgsync bench --workers`.\n[store]\nurl = \"{}\"\n\n[pipelines]\ndir = \"pipelines\"\n\n[schedule]\ncron = \"{}\"\n\n[metrics]\nenabled = false\n",
            opts.store_url,
            cron_at(due)
        ),
    )?;
    let minimum = minimum(opts.sync.groups);
    let pipeline_bound = bound_of(&opts.sync, &|p| minimum.calls.get(p));
    let rounds = opts.pipelines.div_ceil(opts.workers.max(1)) as u32;
    let lower_bound = pipeline_bound * rounds.max(1);
    let deadline = lower_bound * 3 + Duration::from_secs(120);

    let mut workers: Vec<Child> = Vec::with_capacity(opts.workers);
    for i in 0..opts.workers {
        workers.push(spawn(
            &opts.sync.exe,
            &config,
            &dir.join(format!("worker-{i}.log")),
        )?);
    }
    let mut rss = vec![0u64; opts.workers];
    let started = Instant::now();
    let finished = loop {
        for (i, w) in workers.iter().enumerate() {
            rss[i] = rss[i].max(peak_rss(w.id()).unwrap_or(0));
        }
        let mut ends = Vec::with_capacity(opts.pipelines);
        for i in 0..opts.pipelines {
            let runs = store
                .for_pipeline(&pipeline_name(i))
                .recent_runs(5)
                .await
                .map_err(|e| BenchError::Workers(e.to_string()))?;
            if let Some(run) = runs
                .iter()
                .find(|r| r.due == Some(due) && r.outcome == RunOutcome::Succeeded)
            {
                ends.push((
                    run.id,
                    run.started_at,
                    run.finished_at.unwrap_or(run.started_at),
                ));
            }
        }
        if ends.len() == opts.pipelines {
            break ends;
        }
        if started.elapsed() > deadline {
            stop(workers).await;
            return Err(BenchError::Workers(format!(
                "{} of {} pipelines finished within {} s",
                ends.len(),
                opts.pipelines,
                deadline.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    stop(workers).await;

    // Which worker ran which run: each logs `"run_id":N` with its "run finished".
    let mut owner: HashMap<i64, usize> = HashMap::new();
    for i in 0..opts.workers {
        let log = std::fs::read_to_string(dir.join(format!("worker-{i}.log"))).unwrap_or_default();
        for line in log
            .lines()
            .filter(|l| l.contains("\"message\":\"run finished\",\"run_id\""))
        {
            let id = line
                .split("\"run_id\":")
                .nth(1)
                .and_then(|rest| rest.split([',', '}']).next())
                .and_then(|n| n.parse::<i64>().ok());
            if let Some(id) = id {
                owner.insert(id, i);
            }
        }
    }
    let mut per_worker: BTreeMap<usize, Vec<DateTime<Utc>>> = BTreeMap::new();
    for (id, start, _) in &finished {
        if let Some(w) = owner.get(id) {
            per_worker.entry(*w).or_default().push(*start);
        }
    }
    let since_due = |t: DateTime<Utc>| (t - due).num_milliseconds().max(0) as u64;
    let wall = finished
        .iter()
        .map(|(_, _, end)| since_due(*end))
        .max()
        .unwrap_or(0);
    let mut totals = calls::Calls::default();
    for world in &worlds {
        for (p, log) in world.logs() {
            let c = calls::count(p, &log);
            totals.reads += c.reads;
            totals.writes += c.writes;
            totals.auth += c.auth;
            totals.rate_limited += c.rate_limited;
        }
    }
    let per_pipeline_min: u64 = [
        minimum.calls.gosquared,
        minimum.calls.ispring,
        minimum.calls.emfluence,
    ]
    .iter()
    .sum();
    Ok(WorkersReport {
        pipelines: opts.pipelines,
        workers: opts.workers,
        groups_per_pipeline: opts.sync.groups,
        latency_ms: opts.sync.latency.as_millis() as u64,
        concurrency: opts.sync.concurrency,
        wall_ms: wall,
        pipeline_bound_ms: pipeline_bound.as_millis() as u64,
        lower_bound_ms: lower_bound.as_millis() as u64,
        ratio: wall as f64 / lower_bound.as_millis().max(1) as f64,
        calls: totals.total(),
        minimum_calls: per_pipeline_min * opts.pipelines as u64,
        rate_limited: totals.rate_limited,
        runs_per_worker: (0..opts.workers)
            .map(|w| per_worker.get(&w).map_or(0, Vec::len))
            .collect(),
        claim_latency_ms: (0..opts.workers)
            .filter_map(|w| per_worker.get(&w)?.iter().min().map(|t| since_due(*t)))
            .collect(),
        peak_rss_mib: rss.iter().map(|b| *b as f64 / (1024.0 * 1024.0)).collect(),
    })
}

/// One worker: `exe --config <config> run`, its log lines (stderr) to `log`; the bench's own
/// `SGSYNC__…` variables are not passed on (the config file alone decides).
fn spawn(exe: &Path, config: &Path, log: &Path) -> Result<Child, BenchError> {
    let file = |path: &Path| {
        std::fs::File::create(path).map_err(|error| BenchError::File {
            what: "creating",
            path: path.to_path_buf(),
            error,
        })
    };
    let err = file(log)?;
    let mut command = Command::new(exe);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SGSYNC__") {
            command.env_remove(key);
        }
    }
    command
        .arg("--config")
        .arg(config)
        .arg("--log-format")
        .arg("json")
        .arg("run")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(err))
        .spawn()
        .map_err(|error| BenchError::File {
            what: "starting",
            path: exe.to_path_buf(),
            error,
        })
}

/// SIGTERM to each worker (each finishes what it runs), then reaped.
async fn stop(workers: Vec<Child>) {
    for w in &workers {
        #[cfg(target_os = "linux")]
        if let Some(pid) = i32::try_from(w.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
    let _ = tokio::task::spawn_blocking(move || {
        for mut w in workers {
            let started = Instant::now();
            while matches!(w.try_wait(), Ok(None)) && started.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = w.kill();
            let _ = w.wait();
        }
    })
    .await;
}

impl fmt::Display for WorkersReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = |ms: u64| format!("{:.2} s", ms as f64 / 1000.0);
        writeln!(
            f,
            "{} pipelines x {} groups on {} worker(s), L = {} ms, concurrency {}",
            self.pipelines,
            self.groups_per_pipeline,
            self.workers,
            self.latency_ms,
            self.concurrency
        )?;
        writeln!(
            f,
            "wall {} vs lower bound {} ({} per pipeline, {} round(s)): ratio {:.2}",
            secs(self.wall_ms),
            secs(self.lower_bound_ms),
            secs(self.pipeline_bound_ms),
            self.pipelines.div_ceil(self.workers.max(1)),
            self.ratio
        )?;
        writeln!(
            f,
            "calls {} (minimum {}), {} refused for the rate limit",
            self.calls, self.minimum_calls, self.rate_limited
        )?;
        let list = |v: Vec<String>| v.join(", ");
        writeln!(
            f,
            "per worker: pipelines run {}; claim latency {}; peak RSS {}",
            list(
                self.runs_per_worker
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            ),
            list(
                self.claim_latency_ms
                    .iter()
                    .map(|ms| format!("{ms} ms"))
                    .collect()
            ),
            list(
                self.peak_rss_mib
                    .iter()
                    .map(|m| format!("{m:.1} MiB"))
                    .collect()
            )
        )
    }
}
