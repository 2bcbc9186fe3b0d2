//! Log lines on stderr, as human text or JSON, and whether a progress bar may be drawn
//! between them.

use crate::observe::progress::LogWriter;
use clap::ValueEnum;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// Logs to stderr, filtered by `RUST_LOG` (default: warnings and errors; `sgsync run`
/// logs each run at info, `--sync-now` its run summary). Returns whether a progress bar
/// may be drawn: stderr is a terminal and the lines are human text.
pub fn init(format: Option<LogFormat>) -> bool {
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
