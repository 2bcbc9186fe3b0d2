//! The commands of the `sgsync` binary, one module each: `src/main.rs` parses the
//! arguments and calls one of them. What several commands share lives here: the async
//! runtime, the exit code of an outcome or of a usage error, turning core dumps off, the
//! name of the run lock's holder, waiting for a signal, opening the configured pipeline
//! or store, and what the operator allowed the guards to let through.

pub mod args;
pub mod backup;
pub mod bench;
pub mod check;
pub mod demo;
pub mod docs;
pub mod forget;
pub mod logging;
pub mod plan;
pub mod render;
pub mod resync;
pub mod run;
pub mod sandbox;
pub mod status;
pub mod sync;
pub mod translate;
pub mod version;

use crate::daemon::pipeline;
use crate::engine::run::Pipeline;
use crate::store::Store;
use anyhow::{Context, Result};
use std::process::ExitCode;

/// What the operator allowed the guards to let through this run.
#[derive(Clone, Copy, Default)]
pub struct Allow {
    pub mass_removal: bool,
    pub mass_delete: bool,
}

/// Keeps glibc's malloc to one arena unless `MALLOC_ARENA_MAX` says otherwise. glibc
/// gives threads that allocate at once arenas of their own (up to eight per core) and
/// seldom hands their freed pages back: `sgsync bench --groups 30000 --latency-ms 1`
/// peaked at 112 MiB with the default, 88 MiB with two arenas, 74 MiB with one, for the
/// same CPU time (29.8 s). Called first thing, before any thread exists.
pub fn bound_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a tunable, and no other thread exists yet to be
        // allocating while it does.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

/// Secrets live in this process's memory; a core dump would write them to disk. Off
/// unless `SGSYNC_ALLOW_CORE_DUMPS=1` (for debugging a crash on a test account).
pub fn disable_core_dumps() {
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

/// Runs one command's `job` on a multi-threaded runtime built for it.
pub fn run_async(job: impl std::future::Future<Output = Result<ExitCode>>) -> Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(job)
}

/// Every command ran and did what it was asked.
pub const EXIT_OK: u8 = 0;
/// The command could not run: config, state database, lock held, source unreachable.
pub const EXIT_FAILURE: u8 = 1;
/// A sync ran and was recorded, but some units failed or were held back by a guard.
pub const EXIT_UNITS_FAILED: u8 = 2;
/// `translate`: some group cannot be written in the target dialect.
pub const EXIT_IMPOSSIBLE: u8 = 3;
/// The command line itself is wrong (sysexits.h `EX_USAGE`): an unknown flag or
/// command, a missing argument, a value that names nothing (`--target nosuch`).
/// Distinct from 2, so a typo in a unit's or a CronJob's arguments never looks like a
/// partial sync.
pub const EXIT_USAGE: u8 = 64;

/// The exit codes, as `--help` shows them after the commands.
pub const EXIT_CODES_HELP: &str = "Exit codes:
  0   ok
  1   could not run (config, state database, lock held, source unreachable)
  2   the run was recorded but some units failed or were held back by a guard
  3   translate: some group is impossible in the target dialect
  64  usage error (unknown flag or command, bad argument value)

Config: --config FILE, else $SGSYNC_CONFIG, else /etc/sgsync/sgsync.toml (may be
absent: then SGSYNC__SECTION__KEY environment variables alone). Every key is documented
in config/sgsync.example.toml.";

/// A command's outcome as the process's exit code: an error is printed with its causes,
/// each once (`sgsync: …: …`), and exits 1.
pub fn exit_code(outcome: Result<ExitCode>) -> ExitCode {
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sgsync: {}", error_chain(&e));
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// `e` and its causes joined by `: `, each cause once: a cause whose text its parent's
/// message already holds (`cannot listen on …: Address already in use`) is not
/// repeated.
pub fn error_chain(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// Arguments clap accepts but that name no command: `sgsync: <why>`, exit 64.
pub fn usage(why: &str) -> ExitCode {
    eprintln!("sgsync: {why}");
    ExitCode::from(EXIT_USAGE)
}

/// What clap could not parse: its own message (with the valid values and a hint), exit
/// 64; `--help` and `--version` print and exit 0.
pub fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let _ = e.print();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
        _ => ExitCode::from(EXIT_USAGE),
    }
}

/// A `--target` value that names no target: neither one in the config nor one the
/// state database has links to. Exit 64 with the names that would do.
#[derive(Debug, thiserror::Error)]
#[error("no target named {name:?}; the config has {}", known_list(.known))]
pub struct UnknownTarget {
    pub name: String,
    pub known: Vec<String>,
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "none".to_owned()
    } else {
        known.join(", ")
    }
}

/// An outcome, with an [`UnknownTarget`] turned into a usage error (exit 64).
pub fn usage_or(outcome: Result<ExitCode>) -> Result<ExitCode> {
    match outcome {
        Err(e) if e.downcast_ref::<UnknownTarget>().is_some() => {
            eprintln!("sgsync: {}", error_chain(&e));
            Ok(ExitCode::from(EXIT_USAGE))
        }
        other => other,
    }
}

/// The version of the JSON documents `--json` prints (`schema_version`): raised when a
/// field changes meaning or goes away; new fields may appear without it.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// `value` as pretty JSON on stdout, with `schema_version` and `command` first.
pub(crate) fn print_json(command: &str, value: serde_json::Value) -> Result<()> {
    let mut doc = serde_json::Map::new();
    doc.insert("schema_version".into(), JSON_SCHEMA_VERSION.into());
    doc.insert("command".into(), command.into());
    match value {
        serde_json::Value::Object(fields) => doc.extend(fields),
        other => {
            doc.insert("data".into(), other);
        }
    }
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

/// Listens for Ctrl-C (SIGINT) and SIGTERM from now on, and resolves when either comes.
/// The handlers are in place when this returns, before the caller announces that it is
/// ready: a signal that arrives in between must stop the process cleanly, not kill it.
pub(crate) fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// The pipeline the config describes: its source, targets and store.
pub(crate) async fn connect(config: crate::config::Choice<'_>) -> Result<Pipeline> {
    let settings = crate::config::load_choice(config)?;
    Ok(pipeline(&settings).await?)
}

/// The state database the config names, for the commands that read or edit only it.
pub(crate) async fn open_store(config: crate::config::Choice<'_>) -> Result<Store> {
    let settings = crate::config::load_choice(config)?;
    Ok(Store::connect(&settings.store)
        .await?
        .for_pipeline(&settings.pipeline))
}

/// The state database, and `target` proven to name something: a target in the config,
/// or one the database still has links to (a target taken out of the config can still
/// be forgotten). Otherwise an [`UnknownTarget`] (exit 64).
pub(crate) async fn open_store_for(
    config: crate::config::Choice<'_>,
    target: Option<&str>,
) -> Result<Store> {
    let settings = crate::config::load_choice(config)?;
    let store = Store::connect(&settings.store)
        .await?
        .for_pipeline(&settings.pipeline);
    if let Some(name) = target {
        let configured: Vec<String> = settings
            .targets
            .iter()
            .map(|t| t.endpoint.name.clone())
            .collect();
        if !configured.iter().any(|t| t == name) && store.links(Some(name)).await?.is_empty() {
            return Err(UnknownTarget {
                name: name.to_owned(),
                known: configured,
            }
            .into());
        }
    }
    Ok(store)
}

/// Who holds the run lock, for people: enough to find the process. (The lock itself
/// knows its holder by a random token.)
pub(crate) fn holder() -> String {
    #[cfg(target_os = "linux")]
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    #[cfg(not(target_os = "linux"))]
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_owned());
    format!("sgsync pid {} on {host}", std::process::id())
}
