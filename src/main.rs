//! The `sgsync` command line. Only the edge of the program: parse arguments, call the
//! library, print, and turn outcomes into exit codes.

use anyhow::{Context, Result, bail};
use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use sgsync::daemon::pipeline;
use sgsync::engine::run::{Pipeline, RunOptions, RunSummary};
use sgsync::model::ProviderKind;
use sgsync::model::mapping::{MappingConfig, Maps};
use sgsync::observe::DaemonObserver;
use sgsync::observe::health::Health;
use sgsync::observe::metrics::Metrics;
use sgsync::observe::notify::Notifier;
use sgsync::observe::progress::{LogWriter, RunProgress};
use sgsync::observe::server::Server;
use sgsync::observe::summary::{LOCKED, RunRecord};
use sgsync::observe::textfile;
use sgsync::sandbox::Seed;
use sgsync::sandbox::{emfluence, gosquared, ispring};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// Exit code when at least one group cannot be written in the target dialect.
const EXIT_IMPOSSIBLE: u8 = 3;

#[derive(Parser)]
#[command(
    name = "sgsync",
    version,
    about = "Keeps smart groups in step across GoSquared, iSpring Learn and emfluence"
)]
struct Cli {
    /// sgsync config file (TOML). `SGSYNC__SECTION__KEY` environment variables override
    /// it; `translate` reads only its [mapping] section.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// One sync run, then exit: 0 all units succeeded or were skipped on purpose, 2 some
    /// failed, 1 the run could not start. The same as `sgsync sync`.
    #[arg(long)]
    sync_now: bool,
    /// With --sync-now: fetch, translate and print the plan, writing nothing anywhere
    /// (the same as `sgsync plan`).
    #[arg(long, requires = "sync_now")]
    dry_run: bool,
    /// With --sync-now / `sync`: apply member removals the mass-removal guard would hold
    /// back (a group's member count dropping by more than `max_removal_fraction`).
    #[arg(long, global = true)]
    allow_mass_removal: bool,
    /// With --sync-now / `sync`: archive or delete the target groups of vanished source
    /// groups even when the orphan guard holds them back (more than
    /// `max_orphan_fraction` of the links losing their source at once, or a source that
    /// answered no group at all).
    #[arg(long, global = true)]
    allow_mass_delete: bool,
    /// With --sync-now: also write the run's metrics to DIR/sgsync.prom for
    /// node-exporter's textfile collector (replaced atomically).
    #[arg(
        long,
        requires = "sync_now",
        conflicts_with = "dry_run",
        value_name = "DIR"
    )]
    textfile_dir: Option<PathBuf>,
    /// Log lines as `human` text or one `json` object per line (journald, Kubernetes).
    /// Default: human on a terminal, JSON otherwise. Level filter: `RUST_LOG`.
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Translate smart groups from one provider's format into another's and say how
    /// faithful the result is. The payload goes to stdout, the fidelity to stderr.
    /// Exits 0 when every group translated (exactly or lossily), 3 when some group is
    /// impossible in the target dialect, 1 on unreadable input or config.
    Translate {
        /// Provider whose format FILE is in: gosquared, ispring or emfluence.
        #[arg(long, value_parser = parse_provider)]
        from: ProviderKind,
        /// Provider to translate into.
        #[arg(long, value_parser = parse_provider)]
        to: ProviderKind,
        /// Input file, or `-` for stdin.
        file: PathBuf,
    },
    /// One sync run: read the source, translate, push to every target, record it.
    /// Exit 0 all units succeeded or were skipped on purpose, 2 some failed, 1 the run
    /// could not start (config, store, lock held, source unreachable).
    Sync {
        /// Also write the run's metrics to DIR/sgsync.prom for node-exporter's textfile
        /// collector (replaced atomically).
        #[arg(long, value_name = "DIR")]
        textfile_dir: Option<PathBuf>,
    },
    /// The long-running service (systemd): syncs on `[schedule] cron`, one run at a time;
    /// SIGTERM or Ctrl-C lets the current run finish and be recorded, then exits 0.
    Run {
        /// Run once right away instead of waiting for the first tick.
        #[arg(long)]
        once_at_start: bool,
    },
    /// What a sync would do, without writing anything anywhere.
    Plan {
        /// The plan as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Also the first few emails each membership unit would add (and the target
        /// contact ids it would remove).
        #[arg(long, short)]
        verbose: bool,
    },
    /// Recent runs, and every link with its fidelity, last result and last error.
    Status,
    /// Validates the config and reaches every provider with a read-only call.
    Check,
    /// Forgets the stored payload hashes, so the next run pushes again (and so
    /// re-verifies) every linked group, or only those of one target or one source group.
    Resync {
        /// Only links to this target (`[targets.<name>]`).
        #[arg(long)]
        target: Option<String>,
        /// Only links of this source group id.
        #[arg(long)]
        group: Option<String>,
    },
    /// Writes a consistent copy of the state database to FILE (SQLite `VACUUM INTO`),
    /// safe while a sync runs; restore by putting the copy in place while no sgsync runs.
    Backup {
        /// Where the copy goes; must not exist yet.
        file: PathBuf,
    },
    /// Drops every link to a target that was reset by hand, so the next run recreates
    /// (or re-adopts) its groups. Asks for confirmation unless `--yes`.
    Forget {
        /// The target (`[targets.<name>]`).
        #[arg(long)]
        target: String,
        #[arg(long)]
        yes: bool,
    },
    /// Starts the sandbox providers on loopback with demo data and shows sgsync at work
    /// on them with `config/demo.toml` (embedded): the plan, a first sync, the state,
    /// a second sync that writes nothing, then an edit at the source and the sync that
    /// carries it over. Touches nothing but loopback and a temporary file.
    Demo,
    /// Measures a sync end to end: sandboxes on loopback with N source groups, latency
    /// and rate limits, then `--sync-now` as a child process three times (initial,
    /// no-op, 10 % changed): wall time vs its lower bound, calls per provider, peak RSS,
    /// SQLite size, time to the first request. Build with --release to measure.
    Bench(BenchArgs),
    /// Serve the three sandbox providers (GoSquared, iSpring Learn, emfluence) on
    /// 127.0.0.1 until Ctrl-C or SIGTERM: stateful imitations of the documented APIs, for
    /// trying sgsync without touching a real account.
    Sandbox {
        /// What the sandboxes start with.
        #[arg(long, value_enum, default_value_t = SeedArg::Demo)]
        seed: SeedArg,
        /// GoSquared listens here, iSpring on the next port, emfluence on the one after;
        /// 0 picks free ports.
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Source groups (GoSquared), a mix of exact, lossy and impossible translations.
    #[arg(long, default_value_t = 1000)]
    groups: usize,
    /// Latency every sandbox adds to each answer, in milliseconds.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// GoSquared requests per minute, for the client and its sandbox (documented: 750).
    #[arg(long, default_value_t = 750)]
    rpm_gosquared: u32,
    /// iSpring Learn requests per minute (none published; sgsync's default is 100).
    #[arg(long, default_value_t = 100)]
    rpm_ispring: u32,
    /// emfluence requests per minute (about 100, inferred: emfluence.md §6).
    #[arg(long, default_value_t = 100)]
    rpm_emfluence: u32,
    /// Calls in flight at once per target (the sync's `concurrency`, 1..=64).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// The report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Run each sync under this command, e.g. "heaptrack -o /tmp/sync" (split on
    /// spaces); peak RSS is then the wrapper's.
    #[arg(long, value_name = "COMMAND")]
    wrap: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SeedArg {
    /// The nine real GoSquared groups, an iSpring department tree, emfluence contacts.
    Demo,
    /// No groups (reference data only).
    Empty,
}

fn parse_provider(s: &str) -> Result<ProviderKind, String> {
    sgsync::registry::find(s).map(|p| p.kind()).ok_or_else(|| {
        format!(
            "unknown provider {s:?}; expected {}",
            sgsync::registry::ids()
        )
    })
}

fn main() -> ExitCode {
    disable_core_dumps();
    let cli = Cli::parse();
    let progress = init_logging(cli.log_format);
    let config = cli.config.as_deref();
    let allow = Allow {
        mass_removal: cli.allow_mass_removal,
        mass_delete: cli.allow_mass_delete,
    };
    let command = match (cli.command, cli.sync_now) {
        (Some(_), true) => {
            eprintln!(
                "sgsync: --sync-now is a command of its own; drop the subcommand or use `sgsync sync`"
            );
            return ExitCode::from(2);
        }
        (None, true) if cli.dry_run => Command::Plan {
            json: false,
            verbose: false,
        },
        (None, true) => Command::Sync {
            textfile_dir: cli.textfile_dir,
        },
        (Some(command), false) => command,
        (None, false) => {
            eprintln!("sgsync: no command given; see `sgsync --help`");
            return ExitCode::from(2);
        }
    };
    let outcome = match command {
        Command::Translate { from, to, file } => run_translate(from, to, config, &file),
        Command::Sync { textfile_dir } => {
            run_async(sync(config, textfile_dir.as_deref(), progress, allow))
        }
        Command::Run { once_at_start } => run_async(serve(config, once_at_start)),
        Command::Plan { json, verbose } => run_async(plan(config, json, verbose)),
        Command::Status => run_async(status(config)),
        Command::Demo => run_async(demo(progress)),
        Command::Check => run_async(check(config)),
        Command::Resync { target, group } => run_async(resync(config, target, group)),
        Command::Forget { target, yes } => run_async(forget(config, target, yes)),
        Command::Backup { file } => run_async(backup(config, &file)),
        Command::Sandbox { seed, port } => run_async(run_sandbox(seed, port)),
        Command::Bench(args) => run_async(bench(args)),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sgsync: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Secrets live in this process's memory; a core dump would write them to disk. Off
/// unless `SGSYNC_ALLOW_CORE_DUMPS=1` (for debugging a crash on a test account).
fn disable_core_dumps() {
    if std::env::var_os("SGSYNC_ALLOW_CORE_DUMPS").is_some_and(|v| v == "1") {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{DumpableBehavior, Resource, Rlimit, set_dumpable_behavior};
        // Not dumpable: no core file, and no ptrace by other processes of the same user.
        let _ = set_dumpable_behavior(DumpableBehavior::NotDumpable);
        let _ = rustix::process::setrlimit(
            Resource::Core,
            Rlimit {
                current: Some(0),
                maximum: Some(0),
            },
        );
    }
}

/// What the operator allowed the guards to let through this run.
#[derive(Clone, Copy, Default)]
struct Allow {
    mass_removal: bool,
    mass_delete: bool,
}

fn run_translate(
    from: ProviderKind,
    to: ProviderKind,
    config: Option<&Path>,
    file: &Path,
) -> Result<ExitCode> {
    let maps = Arc::new(load_maps(config)?);
    let dialect_of = |kind: ProviderKind| {
        sgsync::registry::of(kind)
            .map(|p| p.dialect(maps.clone()))
            .with_context(|| format!("{kind} is not a registered provider"))
    };
    let (reader, writer) = (dialect_of(from)?, dialect_of(to)?);
    let text = read_input(file)?;
    let groups = reader
        .decode(&text)
        .with_context(|| format!("reading {}", file.display()))?;
    if groups.is_empty() {
        bail!("{} holds no {} group", file.display(), from.display_name());
    }
    let mut impossible = false;
    for source in &groups {
        let translation = sgsync::provider::translate(source, writer.as_ref());
        let label = match &source.group.id {
            Some(id) => format!("{:?} [{id}]", source.group.name),
            None => format!("{:?}", source.group.name),
        };
        eprintln!(
            "# {label} → {}: {}",
            to.display_name(),
            translation.fidelity
        );
        match &translation.payload {
            Some(payload) => println!("{}", payload.render()),
            None => impossible = true,
        }
    }
    Ok(if impossible {
        ExitCode::from(EXIT_IMPOSSIBLE)
    } else {
        ExitCode::SUCCESS
    })
}

fn read_input(file: &Path) -> Result<String> {
    if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading stdin")?;
        Ok(text)
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
    }
}

/// The `[mapping]` section of the config file; other sections are not read yet.
fn load_maps(config: Option<&Path>) -> Result<Maps> {
    let Some(path) = config else {
        return Ok(Maps::default());
    };
    let settings = config::Config::builder()
        .add_source(config::File::from(path).format(config::FileFormat::Toml))
        .build()
        .with_context(|| format!("reading config {}", path.display()))?;
    let mapping: MappingConfig = match settings.get("mapping") {
        Ok(m) => m,
        Err(config::ConfigError::NotFound(_)) => MappingConfig::default(),
        Err(e) => return Err(e).with_context(|| format!("{}: [mapping]", path.display())),
    };
    Maps::from_config(&mapping).with_context(|| format!("{}: invalid mapping", path.display()))
}

/// Logs to stderr, filtered by `RUST_LOG` (default: warnings and errors; `sgsync run`
/// logs each run at info, `--sync-now` its run summary). Returns whether a progress bar
/// may be drawn: stderr is a terminal and the lines are human text.
fn init_logging(format: Option<LogFormat>) -> bool {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,sgsync::daemon=info,sgsync::observe=info")
    });
    let terminal = std::io::stderr().is_terminal();
    let format = format.unwrap_or(if terminal {
        LogFormat::Human
    } else {
        LogFormat::Json
    });
    // LogWriter lifts the progress bar off the screen while a line is written.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(LogWriter);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
    terminal && format == LogFormat::Human
}

fn run_async(job: impl std::future::Future<Output = Result<ExitCode>>) -> Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(job)
}

async fn bench(args: BenchArgs) -> Result<ExitCode> {
    let opts = sgsync::bench::Options {
        groups: args.groups,
        latency: std::time::Duration::from_millis(args.latency_ms),
        rpm_gosquared: args.rpm_gosquared,
        rpm_ispring: args.rpm_ispring,
        rpm_emfluence: args.rpm_emfluence,
        concurrency: args.concurrency,
        exe: std::env::current_exe().context("finding the sgsync binary")?,
        wrap: args
            .wrap
            .map(|w| w.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
    };
    let report = sgsync::bench::run(&opts).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_sandbox(seed: SeedArg, port: u16) -> Result<ExitCode> {
    let seed = match seed {
        SeedArg::Demo => Seed::Demo,
        SeedArg::Empty => Seed::Empty,
    };
    let port_of = |offset: u16| -> Result<u16> {
        if port == 0 {
            return Ok(0);
        }
        port.checked_add(offset)
            .context("--port leaves no room for three ports")
    };
    let gs = gosquared::Sandbox::start_on(seed, port_of(0)?)
        .await
        .context("starting the GoSquared sandbox")?;
    let is = ispring::Sandbox::start_on(seed, port_of(1)?)
        .await
        .context("starting the iSpring Learn sandbox")?;
    let em = emfluence::Sandbox::start_on(seed, port_of(2)?)
        .await
        .context("starting the emfluence sandbox")?;
    // These are the sandboxes' own made-up credentials, printed so a config can point
    // at them; real credentials are never printed.
    println!("Sandbox providers on loopback (Ctrl-C to stop):");
    println!(
        "  GoSquared      {}  api_key={} site_token={}",
        gs.url(),
        gosquared::API_KEY,
        gosquared::SITE_TOKEN
    );
    println!(
        "  iSpring Learn  {}/soap  token endpoint {}/api/v3/token  client_id={} client_secret={}",
        is.url(),
        is.url(),
        ispring::CLIENT_ID,
        ispring::CLIENT_SECRET
    );
    println!(
        "  emfluence      {}  token={}",
        em.url(),
        emfluence::SANDBOX_TOKEN
    );
    wait_for_shutdown().await?;
    println!("Sandboxes stopped.");
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C (SIGINT) or SIGTERM, whichever comes first.
async fn wait_for_shutdown() -> Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("listening for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("listening for Ctrl-C")?;
    Ok(())
}

async fn connect(config: Option<&Path>) -> Result<Pipeline> {
    let settings = sgsync::config::load(config)?;
    Ok(pipeline(&settings).await?)
}

/// Who holds the run lock, for people: enough to find the process. (The lock itself
/// knows its holder by a random token.)
fn holder() -> String {
    #[cfg(target_os = "linux")]
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    #[cfg(not(target_os = "linux"))]
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_owned());
    format!("sgsync pid {} on {host}", std::process::id())
}

/// A run with the progress bar (when `show`).
async fn sync_with_bar(
    p: &Pipeline,
    show: bool,
    allow: Allow,
) -> Result<RunSummary, sgsync::engine::run::RunError> {
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

/// `--sync-now`: one run, its summary as one log line, and with `--textfile-dir` its
/// metrics in a textfile. Exit code: the run's (0, 2, or 1 when it could not start);
/// a textfile that cannot be written after a run that succeeded makes it 1 — a
/// directory unusable from the start is found before the run, which then does not start.
async fn sync(
    config: Option<&Path>,
    textfile_dir: Option<&Path>,
    show_progress: bool,
    allow: Allow,
) -> Result<ExitCode> {
    if let Some(dir) = textfile_dir {
        textfile::check_dir(dir)?;
    }
    let mut settings = sgsync::config::load(config)?;
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
    if let Some(report) = &summary.report {
        println!("{report}");
    }
    print!("{}", summary.membership.render(false));
    println!(
        "run {}: {} — {}",
        summary
            .run_id
            .map_or_else(|| "-".to_owned(), |id| id.to_string()),
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

async fn plan(config: Option<&Path>, json: bool, verbose: bool) -> Result<ExitCode> {
    let p = connect(config).await?;
    let summary = p.dry_run().await?;
    if json {
        let mut value = serde_json::to_value(summary.plan.summary())?;
        if let Some(o) = value.as_object_mut() {
            o.insert("membership".to_owned(), summary.membership.to_json());
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("{}", summary.plan);
        print!("{}", summary.membership.render(verbose));
    }
    Ok(ExitCode::SUCCESS)
}

async fn status(config: Option<&Path>) -> Result<ExitCode> {
    let settings = sgsync::config::load(config)?;
    let store = sgsync::store::Store::open(&settings.store_path).await?;
    print_status(&store).await?;
    Ok(ExitCode::SUCCESS)
}

async fn print_status(store: &sgsync::store::Store) -> Result<()> {
    println!("Recent runs:");
    for r in store.recent_runs(10).await? {
        println!(
            "  #{:<5} {}  {:<11} {}{}",
            r.id,
            r.started_at.format("%Y-%m-%d %H:%M:%S"),
            r.outcome.to_string(),
            r.counts,
            r.error.map(|e| format!("  error: {e}")).unwrap_or_default()
        );
    }
    println!("Links:");
    for l in store.links(None).await? {
        println!(
            "  {}:{} → {} {} {:?}  {}  {}{}",
            l.source_provider,
            l.source_id,
            l.target,
            l.target_id,
            l.group_name,
            l.fidelity,
            l.last_result.as_deref().unwrap_or("-"),
            l.last_error
                .map(|e| format!("  error: {e}"))
                .unwrap_or_default()
        );
    }
    let memberships = store.memberships().await?;
    if !memberships.is_empty() {
        println!("Members (materialised into static groups; fidelity snapshot):");
        for m in memberships {
            println!(
                "  {}:{} → {}  {} member(s){}  as of {}  {}{}{}",
                m.source_provider,
                m.source_id,
                m.target,
                m.member_count,
                if m.without_email > 0 {
                    format!(" ({} without an email in the source)", m.without_email)
                } else {
                    String::new()
                },
                m.synced_at.map_or_else(
                    || "never".to_owned(),
                    |t| t.format("%Y-%m-%d %H:%M:%S").to_string()
                ),
                m.last_result.map_or("-", |r| r.as_str()),
                m.held_reason
                    .map(|r| format!("  HELD ({} run(s)): {r}", m.held_runs))
                    .unwrap_or_default(),
                m.last_error
                    .map(|e| format!("  error: {e}"))
                    .unwrap_or_default(),
            );
        }
    }
    let intents = store.intents(None).await?;
    if !intents.is_empty() {
        println!("Creates in flight (resolved by the next run):");
        for i in intents {
            println!(
                "  {}:{} → {} \"{}\"  {}",
                i.source_provider,
                i.source_id,
                i.target,
                i.group_name,
                if i.sent {
                    "create sent, not confirmed: the next run looks it up and links it"
                } else {
                    "not sent yet (the lookup before it failed): the next run looks again"
                }
            );
        }
    }
    let (held_runs, reason) = store.guard(sgsync::store::ORPHAN_GUARD).await?;
    if let Some(reason) = reason {
        println!("Orphan guard: holding archives and deletes ({held_runs} run(s)): {reason}");
    }
    if let Some(run) = store.recent_runs(1).await?.first() {
        let failed: Vec<_> = store
            .events(run.id)
            .await?
            .into_iter()
            .filter(|e| e.error.is_some())
            .collect();
        if !failed.is_empty() {
            println!("Units that failed in run #{}:", run.id);
            for e in failed {
                println!(
                    "  {} → {} ({}): {}",
                    e.source_id,
                    e.target,
                    e.action,
                    e.error.unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

const DEMO_CONFIG: &str = include_str!("../config/demo.toml");

async fn demo(show_progress: bool) -> Result<ExitCode> {
    let gs = gosquared::Sandbox::start(Seed::Demo)
        .await
        .context("starting the GoSquared sandbox")?;
    let is = ispring::Sandbox::start(Seed::Demo)
        .await
        .context("starting the iSpring Learn sandbox")?;
    let em = emfluence::Sandbox::start(Seed::Demo)
        .await
        .context("starting the emfluence sandbox")?;
    let canadians = gs.add_group(
        "Canadians",
        vec![serde_json::json!({"key": "property", "path": "last.location.country.code", "operator": "==", "value": "CA"})],
    );
    let db = std::env::temp_dir().join(format!("sgsync-demo-{}.db", std::process::id()));
    // The demo config names fixed loopback ports; point it at the sandboxes' real ones,
    // and lift the conservative production rate limits, which a local sandbox does not need.
    let env: Vec<(String, String)> = [
        ("SGSYNC__SOURCE__GOSQUARED__BASE_URL", gs.url()),
        ("SGSYNC__SOURCE__RATE_LIMIT_PER_MINUTE", "60000".to_owned()),
        (
            "SGSYNC__TARGETS__LMS__ISPRING__SOAP_URL",
            format!("{}/soap", is.url()),
        ),
        ("SGSYNC__TARGETS__LMS__ISPRING__REST_URL", is.url()),
        (
            "SGSYNC__TARGETS__LMS__ISPRING__CREDENTIALS__TOKEN_URL",
            format!("{}/api/v3/token", is.url()),
        ),
        (
            "SGSYNC__TARGETS__LMS__RATE_LIMIT_PER_MINUTE",
            "60000".to_owned(),
        ),
        ("SGSYNC__TARGETS__NEWSLETTER__EMFLUENCE__BASE_URL", em.url()),
        (
            "SGSYNC__TARGETS__NEWSLETTER__RATE_LIMIT_PER_MINUTE",
            "60000".to_owned(),
        ),
        ("SGSYNC__STORE__PATH", db.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let settings = sgsync::config::load_str("config/demo.toml", DEMO_CONFIG, &env)?;
    let p = pipeline(&settings).await?;
    let result = demo_steps(&p, &gs, &is, &em, &canadians, show_progress).await;
    drop(p);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    result
}

async fn demo_steps(
    p: &Pipeline,
    gs: &gosquared::Sandbox,
    is: &ispring::Sandbox,
    em: &emfluence::Sandbox,
    canadians: &str,
    show_progress: bool,
) -> Result<ExitCode> {
    let targets = [&is.running.controls, &em.running.controls];
    let write_calls = || -> usize {
        targets
            .iter()
            .flat_map(|c| c.requests())
            .filter(|r| {
                [
                    "AddSmartGroup",
                    "pdateSmartGroup",
                    "RemoveGroup",
                    "groups/save",
                    "Contacts",
                    "contacts/save",
                ]
                .iter()
                .any(|m| r.contains(m))
            })
            .count()
    };
    let clear = || targets.iter().for_each(|c| c.clear_log());
    println!(
        "== sandboxes: GoSquared {}  iSpring Learn {}  emfluence {}\n",
        gs.url(),
        is.url(),
        em.url()
    );

    let dry = p.dry_run().await?;
    println!(
        "== 1. plan: what a sync would do (nothing is written)\n{}\n{}",
        dry.plan,
        dry.membership.render(true)
    );

    let first = sync_with_bar(p, show_progress, Allow::default()).await?;
    println!(
        "== 2. first sync: {} ({}), {} write call(s); the source groups' people become the emfluence groups' members\n{}",
        first.outcome,
        first.counts(),
        write_calls(),
        first.membership.render(false)
    );
    print_status(&p.store).await?;

    clear();
    let second = sync_with_bar(p, show_progress, Allow::default()).await?;
    println!(
        "\n== 3. second sync, nothing changed at the source: {} ({}), {} write call(s)",
        second.outcome,
        second.counts(),
        write_calls()
    );

    clear();
    gs.set_filters(
        canadians,
        vec![serde_json::json!({"key": "property", "path": "last.location.country.code", "operator": "==", "value": "US"})],
    );
    let third = sync_with_bar(p, show_progress, Allow::default()).await?;
    println!(
        "\n== 4. \"Canadians\" edited at the source (country is now US): {} ({}), {} write call(s)\n",
        third.outcome,
        third.counts(),
        write_calls()
    );
    if let Some(report) = &third.report {
        println!("{report}");
    }
    println!("{}", third.membership.render(false));

    // People move: one new American arrives, one Canadian-now-American leaves.
    clear();
    gs.add_person(serde_json::json!({
        "id": "user-demo-new",
        "email": "Nina.Okonkwo@Example.ORG",
        "name": "Nina Okonkwo",
        "last": {"seen": chrono::Utc::now().to_rfc3339(), "location": {"country": {"code": "US"}}},
        "totals": {"visits": 3},
    }));
    gs.set_property(
        "user-002",
        "last.location.country.code",
        serde_json::json!("FR"),
    );
    let fourth = p.sync_once(&holder()).await?;
    println!(
        "== 5. people entered and left the source groups: {}, {} write call(s) — only the difference is sent\n{}",
        fourth.outcome,
        write_calls(),
        fourth.membership.render(true)
    );
    print_status(&p.store).await?;
    Ok(ExitCode::from(fourth.exit_code()))
}

async fn check(config: Option<&Path>) -> Result<ExitCode> {
    let settings = sgsync::config::load(config)?;
    println!("config: ok ({} target(s))", settings.targets.len());
    let maps = std::sync::Arc::new(settings.maps.clone());
    let endpoints = std::iter::once(("source".to_owned(), &settings.source)).chain(
        settings
            .targets
            .iter()
            .map(|t| (format!("target {}", t.endpoint.name), &t.endpoint)),
    );
    let mut failed = 0;
    for (role, endpoint) in endpoints {
        let verdict = match endpoint.connect(maps.clone()) {
            Ok(provider) => provider.check().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match verdict {
            Ok(()) => println!(
                "{role} {} ({}): ok",
                endpoint.name,
                endpoint.provider.display_name()
            ),
            Err(e) => {
                failed += 1;
                println!(
                    "{role} {} ({}): FAILED: {e}",
                    endpoint.name,
                    endpoint.provider.display_name()
                );
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn open_store(config: Option<&Path>) -> Result<sgsync::store::Store> {
    let settings = sgsync::config::load(config)?;
    Ok(sgsync::store::Store::open(&settings.store_path).await?)
}

async fn backup(config: Option<&Path>, file: &Path) -> Result<ExitCode> {
    let store = open_store(config).await?;
    store.backup(file).await?;
    println!(
        "state database {} copied to {}",
        store.path().display(),
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn resync(
    config: Option<&Path>,
    target: Option<String>,
    group: Option<String>,
) -> Result<ExitCode> {
    let store = open_store(config).await?;
    let n = store
        .forget_hashes(target.as_deref(), group.as_deref())
        .await?;
    println!("{n} link(s) will be pushed again by the next run");
    Ok(ExitCode::SUCCESS)
}

async fn forget(config: Option<&Path>, target: String, yes: bool) -> Result<ExitCode> {
    let store = open_store(config).await?;
    let links = store.links(Some(&target)).await?;
    if links.is_empty() {
        println!("no links to target {target:?}");
        return Ok(ExitCode::SUCCESS);
    }
    if !yes {
        use std::io::{BufRead, IsTerminal, Write};
        if !std::io::stdin().is_terminal() {
            bail!(
                "forgetting {} link(s) to {target:?} needs confirmation: run again with --yes",
                links.len()
            );
        }
        print!(
            "Forget {} link(s) to target {target:?}? sgsync will no longer know those groups are its own, and the next run creates or re-adopts them. [y/N] ",
            links.len()
        );
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("nothing forgotten");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let n = store.forget_links(&target).await?;
    println!("forgot {n} link(s) to {target:?}");
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: Option<&Path>, once_at_start: bool) -> Result<ExitCode> {
    let mut settings = sgsync::config::load(config)?;
    let metrics = Arc::new(Metrics::new());
    metrics.instrument(&mut settings);
    let p = pipeline(&settings).await?;
    metrics.seed_from_store(&p.store).await;
    let health = Arc::new(Health::default());
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
    notifier.ready(&format!(
        "{endpoint}; waiting for the schedule {}",
        settings.schedule_text
    ));
    let watchdog = notifier.spawn_watchdog(health.clone());
    tracing::info!(schedule = %settings.schedule_text, "sgsync run: waiting for the schedule");
    let shutdown = async {
        if let Err(e) = wait_for_shutdown().await {
            tracing::error!("cannot listen for signals, stopping: {e:#}");
        }
    };
    let observer = DaemonObserver {
        metrics,
        health,
        notifier,
    };
    sgsync::daemon::run_on_schedule_observed(
        &p,
        &settings.schedule,
        once_at_start,
        &holder(),
        shutdown,
        &observer,
    )
    .await;
    if let Some(server) = server {
        server.shutdown().await;
    }
    p.store.close().await;
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    Ok(ExitCode::SUCCESS)
}
