//! The flags and commands of `sgsync`: their doc comments are the `--help` text, the
//! completions and the man page. `src/main.rs` parses them and dispatches.

use clap::{Parser, Subcommand};
use sgsync_model::ProviderKind;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "sgsync",
    version = crate::cli::version::SHORT,
    long_version = crate::cli::version::LONG,
    about = "Keeps smart groups in step across GoSquared, iSpring Learn and emfluence",
    after_help = crate::cli::EXIT_CODES_HELP,
)]
pub struct Cli {
    /// sgsync config file (TOML) [default: /etc/sgsync/sgsync.toml, which may be absent:
    /// then the environment alone]. `SGSYNC__SECTION__KEY` environment variables
    /// override it; `translate` reads only its [mapping] section.
    #[arg(long, global = true, value_name = "FILE", env = "SGSYNC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Which pipeline a command is about, when the config holds several ([pipelines]
    /// dir); `--sync-now` and `run` take every pipeline unless one is named.
    #[arg(long, global = true, value_name = "NAME", env = "SGSYNC_PIPELINE")]
    pub pipeline: Option<String>,
    /// One sync run, then exit (the same as `sgsync sync`).
    #[arg(long)]
    pub sync_now: bool,
    /// With --sync-now: fetch, translate and print the plan, writing nothing anywhere
    /// (the same as `sgsync plan`).
    #[arg(long, requires = "sync_now")]
    pub dry_run: bool,
    /// With --sync-now: as `sgsync sync --allow-mass-removal`.
    #[arg(long, requires = "sync_now")]
    pub allow_mass_removal: bool,
    /// With --sync-now: as `sgsync sync --allow-mass-delete`.
    #[arg(long, requires = "sync_now")]
    pub allow_mass_delete: bool,
    /// With --sync-now: as `sgsync sync --textfile-dir DIR`.
    #[arg(
        long,
        requires = "sync_now",
        conflicts_with = "dry_run",
        value_name = "DIR"
    )]
    pub textfile_dir: Option<PathBuf>,
    /// More log lines: -v info, -vv debug, -vvv trace (sgsync's own lines; `RUST_LOG`,
    /// when set, wins).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Errors only in the log (`RUST_LOG`, when set, wins).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log lines as `human` text or one `json` object per line (journald, Kubernetes).
    /// Default: human on a terminal, JSON otherwise.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<crate::cli::logging::LogFormat>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Translate smart groups from one provider's format into another's and say how
    /// faithful the result is. The payload goes to stdout, the fidelity to stderr.
    /// Exits 0 when every group translated (exactly or lossily), 3 when some group is
    /// impossible in the target dialect, 1 on unreadable input or config.
    Translate {
        /// Provider whose format FILE is in: gosquared, ispring or emfluence.
        #[arg(long, value_parser = crate::cli::translate::parse_provider)]
        from: ProviderKind,
        /// Provider to translate into.
        #[arg(long, value_parser = crate::cli::translate::parse_provider)]
        to: ProviderKind,
        /// Input file, or `-` for stdin.
        file: PathBuf,
    },
    /// One sync run: read the source, translate, push to every target, record it.
    /// Exit 0 all units succeeded or were skipped on purpose, 2 some failed or were held
    /// back, 1 the run could not start (config, store, lock held, source unreachable).
    Sync(crate::cli::sync::SyncArgs),
    /// The long-running service (systemd, a Kubernetes Deployment): syncs on
    /// `[schedule] cron`, one run at a time, and serves /healthz, /readyz and /metrics.
    /// SIGTERM or Ctrl-C lets the current run finish and be recorded, then exits 0;
    /// SIGHUP is ignored with a log line (the config is read at start: restart to apply
    /// a change).
    Run {
        /// Run once right away instead of waiting for the first tick.
        #[arg(long)]
        once_at_start: bool,
    },
    /// What a sync would do, without writing anything anywhere.
    Plan {
        /// The plan as JSON (with a `schema_version`) instead of text.
        #[arg(long)]
        json: bool,
        /// Also the first few emails each membership unit would add (and the target
        /// contact ids it would remove).
        #[arg(long)]
        members: bool,
    },
    /// Recent runs, and every link with its fidelity, last result and last error.
    Status {
        /// As JSON (with a `schema_version`) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Validates the config, opens the state database (read and write, changing
    /// nothing) and reaches every provider with a read-only call. Exit 0 all good, 1 not.
    Check {
        /// As JSON (with a `schema_version`) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A sync run that reads every linked copy back on every target at once (names,
    /// existence, status, and content: rules, description), whatever
    /// `verify_calls_per_run` allows a scheduled run; copies deleted, renamed, archived
    /// or edited by hand are drift, repaired or reported per target's `on_drift`.
    /// Exit codes as `sync`.
    Verify {
        /// The run as JSON (with a `schema_version`) instead of text.
        #[arg(long)]
        json: bool,
    },
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
    Bench(crate::cli::bench::BenchArgs),
    /// Serve the three sandbox providers (GoSquared, iSpring Learn, emfluence) on
    /// 127.0.0.1 until Ctrl-C or SIGTERM: stateful imitations of the documented APIs, for
    /// trying sgsync without touching a real account.
    Sandbox {
        /// What the sandboxes start with.
        #[arg(long, value_enum, default_value_t = crate::cli::sandbox::SeedArg::Demo)]
        seed: crate::cli::sandbox::SeedArg,
        /// GoSquared listens here, iSpring on the next port, emfluence on the one after;
        /// 0 picks free ports.
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Prints a completion script for SHELL on stdout, e.g.
    /// `sgsync completions bash > /etc/bash_completion.d/sgsync`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Prints the man page (roff) on stdout: `sgsync man > /usr/local/share/man/man1/sgsync.1`.
    Man,
}
