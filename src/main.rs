//! The `sgsync` command line: the flags and commands (their doc comments are the
//! `--help` text) and which command a parse names. Each command is a function in
//! `sgsync::cli`; this file parses, dispatches and turns the outcome into an exit code.

use clap::{Parser, Subcommand};
use sgsync::cli::{self, Allow, run_async};
use sgsync::model::ProviderKind;
use std::path::PathBuf;
use std::process::ExitCode;

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
    log_format: Option<cli::logging::LogFormat>,
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
        #[arg(long, value_parser = cli::translate::parse_provider)]
        from: ProviderKind,
        /// Provider to translate into.
        #[arg(long, value_parser = cli::translate::parse_provider)]
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
    Bench(cli::bench::BenchArgs),
    /// Serve the three sandbox providers (GoSquared, iSpring Learn, emfluence) on
    /// 127.0.0.1 until Ctrl-C or SIGTERM: stateful imitations of the documented APIs, for
    /// trying sgsync without touching a real account.
    Sandbox {
        /// What the sandboxes start with.
        #[arg(long, value_enum, default_value_t = cli::sandbox::SeedArg::Demo)]
        seed: cli::sandbox::SeedArg,
        /// GoSquared listens here, iSpring on the next port, emfluence on the one after;
        /// 0 picks free ports.
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
}

fn main() -> ExitCode {
    cli::disable_core_dumps();
    let args = Cli::parse();
    let progress = cli::logging::init(args.log_format);
    let config = args.config.as_deref();
    let allow = Allow {
        mass_removal: args.allow_mass_removal,
        mass_delete: args.allow_mass_delete,
    };
    let command = match (args.command, args.sync_now) {
        (Some(_), true) => {
            return cli::usage(
                "--sync-now is a command of its own; drop the subcommand or use `sgsync sync`",
            );
        }
        (None, true) if args.dry_run => Command::Plan {
            json: false,
            verbose: false,
        },
        (None, true) => Command::Sync {
            textfile_dir: args.textfile_dir,
        },
        (Some(command), false) => command,
        (None, false) => return cli::usage("no command given; see `sgsync --help`"),
    };
    let outcome = match command {
        Command::Translate { from, to, file } => cli::translate::translate(from, to, config, &file),
        Command::Sync { textfile_dir } => run_async(cli::sync::sync(
            config,
            textfile_dir.as_deref(),
            progress,
            allow,
        )),
        Command::Run { once_at_start } => run_async(cli::run::run(config, once_at_start)),
        Command::Plan { json, verbose } => run_async(cli::plan::plan(config, json, verbose)),
        Command::Status => run_async(cli::status::status(config)),
        Command::Demo => run_async(cli::demo::demo(progress)),
        Command::Check => run_async(cli::check::check(config)),
        Command::Resync { target, group } => run_async(cli::resync::resync(config, target, group)),
        Command::Forget { target, yes } => run_async(cli::forget::forget(config, target, yes)),
        Command::Backup { file } => run_async(cli::backup::backup(config, &file)),
        Command::Sandbox { seed, port } => run_async(cli::sandbox::sandbox(seed, port)),
        Command::Bench(bench_args) => run_async(cli::bench::bench(bench_args)),
    };
    cli::exit_code(outcome)
}
