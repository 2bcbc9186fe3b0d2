//! `sgsync bench`: how fast, how frugal and how small a sync is, measured end to end.
//!
//! The bench process hosts the three sandbox providers on loopback (GoSquared seeded with
//! N groups of a realistic mix, see [`mix`]; iSpring Learn and emfluence empty), each
//! answering after a latency L and refusing (429) past the same per-minute limit the
//! client is configured with. It then runs `sgsync --config F --sync-now` as a CHILD
//! process three times — initial sync, no-op resync, resync after 10 % of the source
//! groups changed — and reports for each: wall time, calls per provider counted from the
//! sandbox request logs (reads, writes, token requests, 429s), peak RSS of the child
//! (`wait4`), the SQLite file size, and the time from spawn to the first request. The
//! initial sync is compared with its lower bound ([`bound`]).
//!
//! Nothing here is a test: figures depend on the machine, so they are printed, never
//! asserted. Every loop is bounded (three runs, each killed past a deadline).

pub mod bound;
pub mod calls;
pub mod child;
pub mod mix;
pub mod workers;

use crate::model::ProviderKind;
use crate::provider::pacing::Shape;
use crate::sandbox::{FaultPlan, LoggedRequest, Seed};
use crate::sandbox::{emfluence, gosquared, ispring};
use bound::{Load, lower_bound};
use calls::Calls;
use mix::{Class, Mix};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to measure, and under which limits.
#[derive(Debug, Clone)]
pub struct Options {
    /// Source groups (N).
    pub groups: usize,
    /// Added by every sandbox before each answer (L).
    pub latency: Duration,
    /// Requests per minute, for the client and its sandbox alike.
    pub rpm_gosquared: u32,
    pub rpm_ispring: u32,
    pub rpm_emfluence: u32,
    /// Calls in flight at once per target.
    pub concurrency: usize,
    /// The sgsync binary to run as the child.
    pub exe: PathBuf,
    /// A command the child is run under (a profiler: `heaptrack`, `valgrind
    /// --tool=massif`); its peak RSS is then the wrapper's.
    pub wrap: Vec<String>,
}

/// Why the bench could not measure.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("starting the {0} sandbox: {1}")]
    Sandbox(&'static str, std::io::Error),
    /// The workers' bench: a store it cannot use, or pipelines that did not finish.
    #[error("bench --workers: {0}")]
    Workers(String),
    // The OS's reason is in the message, so it is no `source` too (printed twice).
    #[error("{what} {}: {error}", path.display())]
    File {
        what: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("running {}: {error}", exe.display())]
    Spawn { exe: PathBuf, error: std::io::Error },
    #[error("the {phase} sync {how}{done}; its last log lines:\n{tail}")]
    SyncFailed {
        phase: &'static str,
        /// `exited with status 3`, `was killed past its deadline of 78 s`, …
        how: String,
        /// What the phases before it measured (`Phase::brief`), or nothing.
        done: String,
        tail: String,
    },
    #[error("{0}")]
    Invalid(String),
}

/// The three providers, in report order.
const PROVIDERS: [ProviderKind; 3] = [
    sgsync_gosquared::KIND,
    sgsync_ispring::KIND,
    sgsync_emfluence::KIND,
];

/// Calls per provider, in [`PROVIDERS`] order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PerProvider<T> {
    pub gosquared: T,
    pub ispring: T,
    pub emfluence: T,
}

impl<T: Copy> PerProvider<T> {
    fn get(&self, p: ProviderKind) -> T {
        // The bench's world is these three sandboxes.
        match p {
            sgsync_gosquared::KIND => self.gosquared,
            sgsync_ispring::KIND => self.ispring,
            _ => self.emfluence,
        }
    }
}

/// One measured sync.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub name: &'static str,
    pub wall_ms: u64,
    /// Spawn of the process → first request seen by any sandbox.
    pub first_request_ms: Option<u64>,
    /// Peak RSS of the sync process (`VmHWM`).
    pub max_rss_bytes: Option<u64>,
    /// `wait4`'s `ru_maxrss`, which also counts the bench's image from before `execve`.
    pub ru_maxrss_bytes: Option<u64>,
    /// CPU time of the sync process, and of the bench process (its sandboxes) during
    /// the phase: the second shows whether the fakes, not sgsync, set the pace.
    pub sync_cpu_ms: Option<u64>,
    pub sandbox_cpu_ms: Option<u64>,
    pub db_bytes: u64,
    pub wal_bytes: u64,
    pub calls: PerProvider<Calls>,
    /// The writes this phase must make, from the mix alone (not from sgsync's plan).
    pub expected_writes: PerProvider<u64>,
    /// This phase's lower bound: the source's one list call, then its expected writes
    /// ([`bound`]); filled in once every phase is measured.
    pub lower_bound_ms: u64,
}

impl Phase {
    /// One line of its main figures: `initial: 95.2 s wall, 90.1 s CPU, peak RSS 210.3 MiB`.
    fn brief(&self) -> String {
        let mib = |b: u64| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0));
        let secs = |ms: u64| format!("{:.2} s", ms as f64 / 1000.0);
        format!(
            "{}: {} wall, {} CPU, peak RSS {}",
            self.name,
            secs(self.wall_ms),
            self.sync_cpu_ms.map_or_else(|| "unknown".to_owned(), secs),
            self.max_rss_bytes.map_or_else(|| "unknown".to_owned(), mib),
        )
    }

    fn writes(&self) -> PerProvider<u64> {
        PerProvider {
            gosquared: self.calls.gosquared.writes,
            ispring: self.calls.ispring.writes,
            emfluence: self.calls.emfluence.writes,
        }
    }
}

/// Everything one `sgsync bench` measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub groups: usize,
    pub latency_ms: u64,
    pub rpm: PerProvider<u32>,
    pub concurrency: usize,
    /// Source groups by fidelity towards iSpring: (exact, lossy, impossible).
    pub mix_exact_lossy_impossible: (usize, usize, usize),
    /// The fewest calls the initial sync can make: one list call per source page, one
    /// write per planned write unit.
    pub minimum_calls: PerProvider<u64>,
    /// The initial sync's lower bound from the minimum calls, and from the calls made.
    pub lower_bound_ms: u64,
    pub bound_for_calls_made_ms: u64,
    /// Initial sync wall time ÷ lower bound (goal ≤ 1.2).
    pub ratio: f64,
    pub phases: Vec<Phase>,
}

/// Runs the whole bench.
pub async fn run(opts: &Options) -> Result<Report, BenchError> {
    if opts.groups == 0 || opts.concurrency == 0 {
        return Err(BenchError::Invalid(
            "--groups and --concurrency must be at least 1".into(),
        ));
    }
    let dir = std::env::temp_dir().join(format!("sgsync-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|error| BenchError::File {
        what: "creating",
        path: dir.clone(),
        error,
    })?;
    let result = run_in(opts, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

struct World {
    gs: gosquared::Sandbox,
    is: ispring::Sandbox,
    em: emfluence::Sandbox,
}

impl World {
    fn logs(&self) -> [(ProviderKind, Vec<LoggedRequest>); 3] {
        [
            (sgsync_gosquared::KIND, self.gs.running.controls.requests()),
            (sgsync_ispring::KIND, self.is.running.controls.requests()),
            (sgsync_emfluence::KIND, self.em.running.controls.requests()),
        ]
    }

    fn clear_logs(&self) {
        self.gs.running.controls.clear_log();
        self.is.running.controls.clear_log();
        self.em.running.controls.clear_log();
    }
}

/// Three sandboxes under the bench's limits, GoSquared seeded with `opts.groups` groups
/// of the mix; their GoSquared ids.
async fn seeded_world(opts: &Options, mix: &Mix) -> Result<(World, Vec<String>), BenchError> {
    let world = World {
        gs: gosquared::Sandbox::start(Seed::Empty)
            .await
            .map_err(|e| BenchError::Sandbox("GoSquared", e))?,
        is: ispring::Sandbox::start(Seed::Empty)
            .await
            .map_err(|e| BenchError::Sandbox("iSpring Learn", e))?,
        em: emfluence::Sandbox::start(Seed::Empty)
            .await
            .map_err(|e| BenchError::Sandbox("emfluence", e))?,
    };
    let ids: Vec<String> = (0..opts.groups)
        .map(|i| {
            let g = mix.group(i, 0);
            world.gs.add_group(&g.name, g.filters)
        })
        .collect();
    for (controls, rpm) in [
        (&world.gs.running.controls, opts.rpm_gosquared),
        (&world.is.running.controls, opts.rpm_ispring),
        (&world.em.running.controls, opts.rpm_emfluence),
    ] {
        controls.set_plan(FaultPlan {
            latency: opts.latency,
            rate_limit_per_minute: Some(rpm),
            ..FaultPlan::default()
        });
    }
    Ok((world, ids))
}

/// The calls a sync of `n` groups of the mix cannot do without, and what it writes.
struct Minimum {
    /// Source groups by fidelity towards iSpring: (exact, lossy, impossible).
    classes: (usize, usize, usize),
    initial_writes: PerProvider<u64>,
    /// iSpring's token and its directory's three reads, every run.
    ispring_reads: u64,
    calls: PerProvider<u64>,
}

fn minimum(n: usize) -> Minimum {
    let class_count = |c| (0..n).filter(|&i| Mix::class(i) == c).count();
    let (exact, lossy, impossible) = (
        class_count(Class::Exact),
        class_count(Class::Lossy),
        class_count(Class::Impossible),
    );
    let initial_writes = PerProvider {
        gosquared: 0,
        ispring: (exact + lossy) as u64,
        emfluence: n as u64,
    };
    // GoSquared answers the whole list in one call (no paging is documented). iSpring
    // needs a token and its directory's three reads (departments, groups, profile
    // fields: names travel, ids do not) before anything is written; emfluence one
    // `groups/search` page proving the new names free (its names are unique, and the
    // alternative is a lookup per create). Then one write per written unit.
    let (ispring_reads, emfluence_reads) = (1 + 3, 1);
    Minimum {
        classes: (exact, lossy, impossible),
        initial_writes,
        ispring_reads,
        calls: PerProvider {
            gosquared: 1,
            ispring: ispring_reads + initial_writes.ispring,
            emfluence: emfluence_reads + initial_writes.emfluence,
        },
    }
}

/// The fewest calls drift detection makes per run under the default budget, for
/// `links` copies per target: every copy's share of the day read back (iSpring one
/// `getSmartGroupRules` each, its listing being the directory read anyway; emfluence 25 to a
/// `groups/lookup`, §3.2) after the whole listing where it fits (emfluence
/// `groups/search`, 250 a page, §3.3).
fn drift_reads(links: PerProvider<u64>) -> PerProvider<u64> {
    let budget = crate::engine::verify::VerifyBudget::default();
    let share = |n: u64| budget.slice(n as usize, false).unwrap_or(0) as u64;
    let within = |n: u64, calls: u64| calls.min(budget.calls(n as usize, false) as u64);
    PerProvider {
        gosquared: 0,
        ispring: within(links.ispring, share(links.ispring)),
        emfluence: within(
            links.emfluence,
            links.emfluence.div_ceil(250) + share(links.emfluence).div_ceil(25),
        ),
    }
}

/// The physical lower bound of one sync making `calls(provider)` calls under `opts`.
fn bound_of(opts: &Options, calls: &dyn Fn(ProviderKind) -> u64) -> Duration {
    let load = |p: ProviderKind, calls: u64| Load {
        calls,
        latency: opts.latency,
        concurrency: if p == sgsync_gosquared::KIND {
            1
        } else {
            opts.concurrency as u64
        },
        per_minute: u64::from(match p {
            sgsync_gosquared::KIND => opts.rpm_gosquared,
            sgsync_ispring::KIND => opts.rpm_ispring,
            _ => opts.rpm_emfluence,
        }),
        // As the provider counts its limit (and so as the sandbox does).
        shape: crate::registry::of(p).map_or(Shape::Window, |r| r.http_defaults().limit_shape),
    };
    lower_bound(
        &load(sgsync_gosquared::KIND, calls(sgsync_gosquared::KIND)),
        &[
            load(sgsync_ispring::KIND, calls(sgsync_ispring::KIND)),
            load(sgsync_emfluence::KIND, calls(sgsync_emfluence::KIND)),
        ],
    )
}

async fn run_in(opts: &Options, dir: &Path) -> Result<Report, BenchError> {
    let n = opts.groups;
    let mix = Mix::new();
    let (world, ids) = seeded_world(opts, &mix).await?;
    let db = dir.join("state.db");
    let config = dir.join("bench.toml");
    std::fs::write(&config, config_toml(opts, &world, &db)).map_err(|error| BenchError::File {
        what: "writing",
        path: config.clone(),
        error,
    })?;

    let Minimum {
        classes: (exact, lossy, impossible),
        initial_writes,
        ispring_reads,
        calls: minimum_calls,
    } = minimum(n);
    let changed: Vec<usize> = (0..n).filter(|&i| Mix::changed(i)).collect();
    let changed_writes = PerProvider {
        gosquared: 0,
        ispring: changed
            .iter()
            .filter(|&&i| Mix::class(i) != Class::Impossible)
            .count() as u64,
        emfluence: changed.len() as u64,
    };

    let bound = bound_of(opts, &|p| minimum_calls.get(p));
    // Bounded in time: a sync taking three times its lower bound (plus a minute for
    // start-up on a loaded machine, and 5 ms of CPU a group, which the bound leaves
    // out: it is all network) is killed and reported as failed.
    let deadline = bound * 3
        + Duration::from_secs(60)
        + Duration::from_millis(5).saturating_mul(u32::try_from(opts.groups).unwrap_or(u32::MAX));
    let rig = Rig {
        opts,
        dir,
        world: &world,
        db: &db,
        config: &config,
        deadline,
    };
    let mut phases = Vec::new();
    // A failed phase's error carries what the phases before it measured: at a size
    // that breaks a later phase, the first one's figures are still worth having.
    let failed = |e: BenchError, phases: &[Phase]| match e {
        BenchError::SyncFailed {
            phase, how, tail, ..
        } if !phases.is_empty() => BenchError::SyncFailed {
            phase,
            how,
            done: format!(
                " (after {})",
                phases
                    .iter()
                    .map(Phase::brief)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            tail,
        },
        e => e,
    };
    for (name, writes) in [
        ("initial", initial_writes),
        ("no-op", PerProvider::default()),
    ] {
        let phase = rig.measure(name, writes).await;
        phases.push(phase.map_err(|e| failed(e, &phases))?);
    }
    for &i in &changed {
        world.gs.set_filters(&ids[i], mix.group(i, 1).filters);
    }
    let phase = rig.measure("10% changed", changed_writes).await;
    phases.push(phase.map_err(|e| failed(e, &phases))?);

    for (i, phase) in phases.iter_mut().enumerate() {
        let writes = phase.expected_writes;
        // After the first phase every copy is linked, and each run reads its share
        // back (drift detection, default budget).
        let (drift, names) = match i {
            0 => (PerProvider::default(), 1),
            _ => (drift_reads(initial_writes), 0),
        };
        // The source's list and iSpring's token and directory every run; emfluence's
        // names only when a phase creates (none after the first).
        let phase_bound = bound_of(opts, &|p| match p {
            sgsync_gosquared::KIND => 1,
            sgsync_ispring::KIND => ispring_reads + writes.get(p) + drift.get(p),
            _ => names + writes.get(p) + drift.get(p),
        });
        phase.lower_bound_ms = phase_bound.as_millis() as u64;
    }
    let made = phases[0].calls;
    let bound_made = bound_of(opts, &|p| made.get(p).total());
    let ratio = phases[0].wall_ms as f64 / (bound.as_millis().max(1) as f64);
    Ok(Report {
        groups: n,
        latency_ms: opts.latency.as_millis() as u64,
        rpm: PerProvider {
            gosquared: opts.rpm_gosquared,
            ispring: opts.rpm_ispring,
            emfluence: opts.rpm_emfluence,
        },
        concurrency: opts.concurrency,
        mix_exact_lossy_impossible: (exact, lossy, impossible),
        minimum_calls,
        lower_bound_ms: bound.as_millis() as u64,
        bound_for_calls_made_ms: bound_made.as_millis() as u64,
        ratio,
        phases,
    })
}

/// What every measured sync shares.
struct Rig<'a> {
    opts: &'a Options,
    dir: &'a Path,
    world: &'a World,
    db: &'a Path,
    config: &'a Path,
    deadline: Duration,
}

impl Rig<'_> {
    async fn measure(
        &self,
        name: &'static str,
        expected_writes: PerProvider<u64>,
    ) -> Result<Phase, BenchError> {
        let Rig {
            opts,
            dir,
            world,
            db,
            config,
            deadline,
        } = *self;
        world.clear_logs();
        let cpu_before = child::own_cpu();
        let (exe, wrap, config_path, stderr) = (
            opts.exe.clone(),
            opts.wrap.clone(),
            config.to_path_buf(),
            dir.join(format!("{}.stderr", name.replace(['%', ' '], ""))),
        );
        let run = tokio::task::spawn_blocking(move || {
            child::sync_now(&wrap, &exe, &config_path, &stderr, deadline)
        })
        .await
        .map_err(|e| {
            BenchError::Invalid(format!("the {name} sync's waiter ended abnormally: {e}"))
        })?
        .map_err(|error| BenchError::Spawn {
            exe: opts.exe.clone(),
            error,
        })?;
        if run.exit_code != Some(0) {
            let how = match run.exit_code {
                _ if run.killed => format!(
                    "was killed past its deadline of {} s (three times its lower bound, plus a minute and 5 ms a group for CPU)",
                    deadline.as_secs()
                ),
                Some(code) => format!("exited with status {code}"),
                None => "was ended by a signal".to_owned(),
            };
            return Err(BenchError::SyncFailed {
                phase: name,
                how,
                done: String::new(),
                tail: run.stderr_tail,
            });
        }
        let sandbox_cpu = child::own_cpu()
            .zip(cpu_before)
            .map(|(after, before)| after.saturating_sub(before));
        let logs = world.logs();
        let first = calls::first_arrival(logs.iter().flat_map(|(_, log)| log.iter()));
        let count_of = |p: ProviderKind| {
            logs.iter()
                .find(|(q, _)| *q == p)
                .map(|(_, log)| calls::count(p, log))
                .unwrap_or_default()
        };
        let size = |path: PathBuf| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        Ok(Phase {
            name,
            wall_ms: run.wall.as_millis() as u64,
            first_request_ms: first.map(|t| {
                t.duration_since(run.spawned_at)
                    .unwrap_or_default()
                    .as_millis() as u64
            }),
            max_rss_bytes: run.max_rss_bytes,
            ru_maxrss_bytes: run.ru_maxrss_bytes,
            sync_cpu_ms: run.cpu.map(|d| d.as_millis() as u64),
            sandbox_cpu_ms: sandbox_cpu.map(|d| d.as_millis() as u64),
            db_bytes: size(db.to_path_buf()),
            wal_bytes: size(db.with_extension("db-wal")),
            calls: PerProvider {
                gosquared: count_of(sgsync_gosquared::KIND),
                ispring: count_of(sgsync_ispring::KIND),
                emfluence: count_of(sgsync_emfluence::KIND),
            },
            expected_writes,
            lower_bound_ms: 0,
        })
    }
}

/// The child's config: the sandboxes, the bench's limits and mapping, both targets
/// pushing lossy translations (so Exact, Lossy and Impossible all show). Membership is
/// off: this bench measures the group sync; members have their own
/// (`tests/it/membership_bench.rs`), and N source groups' people would add N reads here.
fn config_toml(opts: &Options, w: &World, db: &Path) -> String {
    format!(
        "{}\n[store]\npath = \"{}\"\n",
        tenant_toml(opts, w),
        db.display()
    )
}

/// The config of one pipeline on `w`'s sandboxes, without `[store]`.
fn tenant_toml(opts: &Options, w: &World) -> String {
    format!(
        r#"# Written by `sgsync bench`.
[source]
provider = "gosquared"
rate_limit_per_minute = {rpm_gs}
{gs_tables}

[targets.lms]
provider = "ispring"
on_lossy = "push"
rate_limit_per_minute = {rpm_is}
concurrency = {conc}
{is_tables}

[targets.newsletter]
provider = "emfluence"
on_lossy = "push"
membership = "off"
rate_limit_per_minute = {rpm_em}
concurrency = {conc}
{em_tables}

[mapping.attributes.country]
gosquared = "last.location.country.code"
ispring_field = "COUNTRY"
[mapping.attributes."custom.job_title"]
ispring_field = "JOB_TITLE"
[mapping.values.country]
{countries}
[mapping.confirmed]
ispring_field_rules = true
gosquared_relative_dates = true
gosquared_top_level_and = true
[mapping.gosquared_operators]
equals = "=="
"#,
        rpm_gs = opts.rpm_gosquared,
        rpm_is = opts.rpm_ispring,
        rpm_em = opts.rpm_emfluence,
        conc = opts.concurrency,
        gs_tables = w.gs.config_toml("source.gosquared"),
        is_tables = w.is.config_toml("targets.lms.ispring"),
        em_tables = w.em.config_toml("targets.newsletter.emfluence"),
        countries = mix::COUNTRIES
            .iter()
            .map(|(code, id)| format!("{code} = \"{id}\""))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

fn secs(ms: u64) -> String {
    format!("{:.2} s", ms as f64 / 1000.0)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (e, l, i) = self.mix_exact_lossy_impossible;
        writeln!(
            f,
            "sgsync bench: N = {} groups (towards iSpring: {e} exact, {l} lossy, {i} impossible; all {} to emfluence), latency {} ms, concurrency {} per target",
            self.groups, self.groups, self.latency_ms, self.concurrency
        )?;
        writeln!(
            f,
            "rate limits (client = sandbox): GoSquared {}/min, iSpring {}/min, emfluence {}/min\n",
            self.rpm.gosquared, self.rpm.ispring, self.rpm.emfluence
        )?;
        writeln!(
            f,
            "{:<12} {:>9} {:>9} {:>6} {:>8} {:>8} {:>8} {:>9} {:>9} {:>3}  calls: reads/writes/auth/429 (expected writes)",
            "phase",
            "wall",
            "bound",
            "ratio",
            "cpu",
            "fake cpu",
            "1st req",
            "peak RSS",
            "db+wal",
            ""
        )?;
        for p in &self.phases {
            let c = |q: ProviderKind| {
                let k = p.calls.get(q);
                format!(
                    "{}/{}/{}/{} ({})",
                    k.reads,
                    k.writes,
                    k.auth,
                    k.rate_limited,
                    p.expected_writes.get(q)
                )
            };
            writeln!(
                f,
                "{:<12} {:>9} {:>9} {:>6.2} {:>8} {:>8} {:>8} {:>9} {:>9} {:>3}  GoSquared {}  iSpring {}  emfluence {}",
                p.name,
                secs(p.wall_ms),
                secs(p.lower_bound_ms),
                p.wall_ms as f64 / p.lower_bound_ms.max(1) as f64,
                p.sync_cpu_ms.map_or_else(|| "-".to_owned(), secs),
                p.sandbox_cpu_ms.map_or_else(|| "-".to_owned(), secs),
                p.first_request_ms
                    .map_or_else(|| "-".to_owned(), |ms| format!("{ms} ms")),
                p.max_rss_bytes.map_or_else(|| "-".to_owned(), mib),
                mib(p.db_bytes + p.wal_bytes),
                if p.writes() == p.expected_writes {
                    "ok"
                } else {
                    "MISSED"
                },
                c(sgsync_gosquared::KIND),
                c(sgsync_ispring::KIND),
                c(sgsync_emfluence::KIND),
            )?;
        }
        if let Some(noop) = self.phases.iter().find(|p| p.name == "no-op") {
            let (is, em) = (
                noop.calls.get(sgsync_ispring::KIND),
                noop.calls.get(sgsync_emfluence::KIND),
            );
            writeln!(
                f,
                "\ndrift detection in the no-op run (reads each run adds to check the targets): iSpring {} (content of the slice; its listing is the directory read anyway), emfluence {} (check, listing pages, content of the slice); writes {}",
                is.verify,
                em.verify,
                noop.writes().gosquared + noop.writes().ispring + noop.writes().emfluence
            )?;
        }
        if let Some(initial) = self.phases.first() {
            let made: u64 = PROVIDERS
                .iter()
                .map(|&p| initial.calls.get(p).total())
                .sum();
            let min: u64 = PROVIDERS.iter().map(|&p| self.minimum_calls.get(p)).sum();
            writeln!(
                f,
                "\ninitial sync: {} vs lower bound {} (ratio {:.2}; {} for the calls made)",
                secs(initial.wall_ms),
                secs(self.lower_bound_ms),
                self.ratio,
                secs(self.bound_for_calls_made_ms)
            )?;
            writeln!(
                f,
                "calls made {made} vs minimum {min} (GoSquared {}, iSpring {}, emfluence {})",
                self.minimum_calls.gosquared,
                self.minimum_calls.ispring,
                self.minimum_calls.emfluence
            )?;
        }
        Ok(())
    }
}
