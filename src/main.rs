//! The `sgsync` command line. Only the edge of the program: parse arguments, call the
//! library, print, and turn outcomes into exit codes.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use sgsync::daemon::pipeline;
use sgsync::engine::run::Pipeline;
use sgsync::mapping::{MappingConfig, Maps};
use sgsync::model::ProviderKind;
use sgsync::providers::sandbox::Seed;
use sgsync::providers::{emfluence, gosquared, ispring};
use sgsync::translate::{decode, translate};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    /// Serve the three sandbox providers (GoSquared, iSpring Learn, emfluence) on
    /// 127.0.0.1 until Ctrl-C or SIGTERM: stateful imitations of the documented APIs, for
    /// trying sgsync without touching a real account.
    /// One sync run: read the source, translate, push to every target, record it.
    /// Exit 0 all units succeeded or were skipped on purpose, 2 some failed, 1 the run
    /// could not start (config, store, lock held, source unreachable).
    Sync,
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
    s.parse()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let config = cli.config.as_deref();
    let command = match (cli.command, cli.sync_now) {
        (Some(_), true) => {
            eprintln!(
                "sgsync: --sync-now is a command of its own; drop the subcommand or use `sgsync sync`"
            );
            return ExitCode::from(2);
        }
        (None, true) if cli.dry_run => Command::Plan { json: false },
        (None, true) => Command::Sync,
        (Some(command), false) => command,
        (None, false) => {
            eprintln!("sgsync: no command given; see `sgsync --help`");
            return ExitCode::from(2);
        }
    };
    let outcome = match command {
        Command::Translate { from, to, file } => run_translate(from, to, config, &file),
        Command::Sync => run_async(sync(config)),
        Command::Run { once_at_start } => run_async(serve(config, once_at_start)),
        Command::Plan { json } => run_async(plan(config, json)),
        Command::Status => run_async(status(config)),
        Command::Demo => run_async(demo()),
        Command::Check => run_async(check(config)),
        Command::Resync { target, group } => run_async(resync(config, target, group)),
        Command::Forget { target, yes } => run_async(forget(config, target, yes)),
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

fn run_translate(
    from: ProviderKind,
    to: ProviderKind,
    config: Option<&Path>,
    file: &Path,
) -> Result<ExitCode> {
    let maps = load_maps(config)?;
    let text = read_input(file)?;
    let groups =
        decode(from, &text, &maps).with_context(|| format!("reading {}", file.display()))?;
    if groups.is_empty() {
        bail!("{} holds no {} group", file.display(), from.display_name());
    }
    let mut impossible = false;
    for source in &groups {
        let translation = translate(source, to, &maps);
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
/// logs each run at info).
fn init_logging(format: Option<LogFormat>) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sgsync::daemon=info"));
    let format = format.unwrap_or(if std::io::stderr().is_terminal() {
        LogFormat::Human
    } else {
        LogFormat::Json
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
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
    let gs = gosquared::sandbox::Sandbox::start_on(seed, port_of(0)?)
        .await
        .context("starting the GoSquared sandbox")?;
    let is = ispring::sandbox::Sandbox::start_on(seed, port_of(1)?)
        .await
        .context("starting the iSpring Learn sandbox")?;
    let em = emfluence::sandbox::Sandbox::start_on(seed, port_of(2)?)
        .await
        .context("starting the emfluence sandbox")?;
    // These are the sandboxes' own made-up credentials, printed so a config can point
    // at them; real credentials are never printed.
    println!("Sandbox providers on loopback (Ctrl-C to stop):");
    println!(
        "  GoSquared      {}  api_key={} site_token={}",
        gs.url(),
        gosquared::sandbox::API_KEY,
        gosquared::sandbox::SITE_TOKEN
    );
    println!(
        "  iSpring Learn  {}/soap  token endpoint {}/api/v3/token  client_id={} client_secret={}",
        is.url(),
        is.url(),
        ispring::sandbox::CLIENT_ID,
        ispring::sandbox::CLIENT_SECRET
    );
    println!(
        "  emfluence      {}  token={}",
        em.url(),
        emfluence::sandbox::SANDBOX_TOKEN
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

/// Who holds the run lock: enough to find the process that does.
fn holder() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_owned());
    format!("sgsync pid {} on {host}", std::process::id())
}

async fn sync(config: Option<&Path>) -> Result<ExitCode> {
    let p = connect(config).await?;
    let summary = p.sync_once(&holder()).await?;
    println!("{}", summary.plan);
    let c = summary.counts();
    println!(
        "run {}: {} — created {}, updated {}, unchanged {}, skipped {}, orphaned {}, failed {}",
        summary
            .run_id
            .map_or_else(|| "-".to_owned(), |id| id.to_string()),
        summary.outcome,
        c.created,
        c.updated,
        c.unchanged,
        c.skipped,
        c.orphaned,
        c.failed
    );
    if let Some(report) = &summary.report {
        for o in report.outcomes.iter().filter(|o| o.result.is_err()) {
            if let Err(e) = &o.result {
                eprintln!("failed: {} → {} ({}): {e}", o.source_id, o.target, o.action);
            }
        }
    }
    Ok(ExitCode::from(summary.exit_code()))
}

async fn plan(config: Option<&Path>, json: bool) -> Result<ExitCode> {
    let p = connect(config).await?;
    let summary = p.dry_run().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary.plan.summary())?);
    } else {
        println!("{}", summary.plan);
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
        let c = r.counts;
        println!(
            "  #{:<5} {}  {:<11} created {} updated {} unchanged {} skipped {} orphaned {} failed {}{}",
            r.id,
            r.started_at.format("%Y-%m-%d %H:%M:%S"),
            r.outcome.to_string(),
            c.created,
            c.updated,
            c.unchanged,
            c.skipped,
            c.orphaned,
            c.failed,
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
    let intents = store.intents(None).await?;
    if !intents.is_empty() {
        println!("Creates in flight (resolved by the next run):");
        for i in intents {
            println!(
                "  {}:{} → {} {:?}",
                i.source_provider, i.source_id, i.target, i.group_name
            );
        }
    }
    Ok(())
}

const DEMO_CONFIG: &str = include_str!("../config/demo.toml");

async fn demo() -> Result<ExitCode> {
    let gs = gosquared::sandbox::Sandbox::start(Seed::Demo)
        .await
        .context("starting the GoSquared sandbox")?;
    let is = ispring::sandbox::Sandbox::start(Seed::Demo)
        .await
        .context("starting the iSpring Learn sandbox")?;
    let em = emfluence::sandbox::Sandbox::start(Seed::Demo)
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
    let result = demo_steps(&p, &gs, &is, &em, &canadians).await;
    drop(p);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    result
}

async fn demo_steps(
    p: &Pipeline,
    gs: &gosquared::sandbox::Sandbox,
    is: &ispring::sandbox::Sandbox,
    em: &emfluence::sandbox::Sandbox,
    canadians: &str,
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

    println!(
        "== 1. plan: what a sync would do (nothing is written)\n{}\n",
        p.dry_run().await?.plan
    );

    let first = p.sync_once(&holder()).await?;
    println!(
        "== 2. first sync: {} ({:?}), {} write call(s)\n",
        first.outcome,
        first.counts(),
        write_calls()
    );
    print_status(&p.store).await?;

    clear();
    let second = p.sync_once(&holder()).await?;
    println!(
        "\n== 3. second sync, nothing changed at the source: {} ({:?}), {} write call(s)",
        second.outcome,
        second.counts(),
        write_calls()
    );

    clear();
    gs.set_filters(
        canadians,
        vec![serde_json::json!({"key": "property", "path": "last.location.country.code", "operator": "==", "value": "US"})],
    );
    let third = p.sync_once(&holder()).await?;
    println!(
        "\n== 4. \"Canadians\" edited at the source (country is now US): {} ({:?}), {} write call(s)\n",
        third.outcome,
        third.counts(),
        write_calls()
    );
    println!("{}\n", third.plan);
    print_status(&p.store).await?;
    Ok(ExitCode::from(third.exit_code()))
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
    let settings = sgsync::config::load(config)?;
    let p = pipeline(&settings).await?;
    tracing::info!(schedule = %settings.schedule_text, "sgsync run: waiting for the schedule");
    let shutdown = async {
        if let Err(e) = wait_for_shutdown().await {
            tracing::error!("cannot listen for signals, stopping: {e:#}");
        }
    };
    sgsync::daemon::run_on_schedule(&p, &settings.schedule, once_at_start, &holder(), shutdown)
        .await;
    Ok(ExitCode::SUCCESS)
}
