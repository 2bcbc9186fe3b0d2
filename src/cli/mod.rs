//! The commands of the `sgsync` binary, one module each: `src/main.rs` parses the
//! arguments and calls one of them. What several commands share lives here: the async
//! runtime, the exit code of an outcome or of a usage error, turning core dumps off, the
//! name of the run lock's holder, waiting for a signal, opening the configured pipeline
//! or store, and what the operator allowed the guards to let through.

pub mod backup;
pub mod bench;
pub mod check;
pub mod demo;
pub mod forget;
pub mod logging;
pub mod plan;
pub mod resync;
pub mod run;
pub mod sandbox;
pub mod status;
pub mod sync;
pub mod translate;

use crate::daemon::pipeline;
use crate::engine::run::Pipeline;
use crate::store::Store;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;

/// What the operator allowed the guards to let through this run.
#[derive(Clone, Copy, Default)]
pub struct Allow {
    pub mass_removal: bool,
    pub mass_delete: bool,
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

/// A command's outcome as the process's exit code: an error is printed with its causes
/// (`sgsync: …: …`) and exits 1.
pub fn exit_code(outcome: Result<ExitCode>) -> ExitCode {
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sgsync: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Arguments clap accepts but that name no command: `sgsync: <why>`, exit 2 (clap's own
/// code for a usage error).
pub fn usage(why: &str) -> ExitCode {
    eprintln!("sgsync: {why}");
    ExitCode::from(2)
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
pub(crate) async fn connect(config: Option<&Path>) -> Result<Pipeline> {
    let settings = crate::config::load(config)?;
    Ok(pipeline(&settings).await?)
}

/// The state database the config names, for the commands that read or edit only it.
pub(crate) async fn open_store(config: Option<&Path>) -> Result<Store> {
    let settings = crate::config::load(config)?;
    Ok(Store::open(&settings.store_path).await?)
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
