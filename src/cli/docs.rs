//! `sgsync completions <shell>` and `sgsync man`: generated from the clap definitions
//! by clap_complete and clap_mangen, so they can never disagree with `--help`.

use anyhow::{Context, Result};
use std::io::Write;
use std::process::ExitCode;

/// A completion script for `shell` on stdout.
pub fn completions(mut command: clap::Command, shell: clap_complete::Shell) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut command, "sgsync", &mut out);
    Ok(ExitCode::SUCCESS)
}

/// The man page sgsync(1), roff, on stdout: the options, every command with its
/// summary, the exit codes and where the config is read from (`--help`'s text).
pub fn man(command: clap::Command) -> Result<ExitCode> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut out)
        .context("writing the man page")?;
    std::io::stdout()
        .lock()
        .write_all(&out)
        .context("writing the man page")?;
    Ok(ExitCode::SUCCESS)
}
