//! Log lines on stderr, as human text or JSON, and whether a progress bar may be drawn
//! between them.

use crate::observe::progress::LogWriter;
use clap::ValueEnum;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// How much to log, from `-q` and `-v`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet,
    /// Warnings and errors, and the lines that say what a run did (its summary, the
    /// daemon's start and each run).
    Normal,
    /// `-v`: every info line of sgsync's.
    Info,
    /// `-vv`: sgsync's debug lines (one per provider call among them).
    Debug,
    /// `-vvv`: sgsync's trace lines. The libraries below it (HTTP, SQL) stay at
    /// warnings: `RUST_LOG` shows them.
    Trace,
}

impl Verbosity {
    pub fn of(verbose: u8, quiet: bool) -> Self {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, 1) => Verbosity::Info,
            (false, 2) => Verbosity::Debug,
            (false, _) => Verbosity::Trace,
        }
    }

    /// The filter, in `RUST_LOG` syntax. sgsync's own crates only (a target filter
    /// matches by prefix: `sgsync` covers `sgsync_engine` and the others): at debug,
    /// sqlx logs every statement and hyper every frame, which floods a run's log.
    pub fn filter(self) -> &'static str {
        match self {
            Verbosity::Quiet => "error",
            Verbosity::Normal => "warn,sgsync::daemon=info,sgsync::observe=info",
            Verbosity::Info => "warn,sgsync=info",
            Verbosity::Debug => "warn,sgsync=debug",
            Verbosity::Trace => "warn,sgsync=trace",
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` when it is set, else by `verbosity`. Returns
/// whether a progress bar may be drawn: stderr is a terminal and the lines are human
/// text.
pub fn init(format: Option<LogFormat>, verbosity: Verbosity) -> bool {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(verbosity.filter()));
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
        LogFormat::Json => builder
            .with_writer(JsonLogWriter)
            .json()
            .with_current_span(true)
            .try_init(),
    };
    terminal && format == LogFormat::Human
}

/// The JSON log writer: each event's `fields` whose value is the JSON text of an array
/// (`examples = ["user-037"]`, logged through `tracing` as text, which has no arrays)
/// are written as that array, so a log query reads `fields.examples[0]`, not a string
/// to parse again.
#[derive(Clone, Copy, Default)]
pub struct JsonLogWriter;

impl std::io::Write for JsonLogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = LogWriter;
        // tracing-subscriber writes one whole event per call.
        let fixed = std::str::from_utf8(buf).ok().and_then(arrays_as_arrays);
        match fixed {
            Some(line) => out.write_all(line.as_bytes())?,
            None => out.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        LogWriter.flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for JsonLogWriter {
    type Writer = JsonLogWriter;
    fn make_writer(&'a self) -> Self::Writer {
        JsonLogWriter
    }
}

/// `line` (one JSON object and its newline) with array-valued text fields made arrays;
/// `None` when nothing changes.
pub fn arrays_as_arrays(line: &str) -> Option<String> {
    let mut event: serde_json::Value = serde_json::from_str(line.trim_end()).ok()?;
    let fields = event.get_mut("fields")?.as_object_mut()?;
    let mut changed = false;
    for value in fields.values_mut() {
        let Some(text) = value.as_str() else { continue };
        if !(text.starts_with('[') && text.ends_with(']')) {
            continue;
        }
        if let Ok(array @ serde_json::Value::Array(_)) = serde_json::from_str(text) {
            *value = array;
            changed = true;
        }
    }
    if !changed {
        return None;
    }
    let mut text = serde_json::to_string(&event).ok()?;
    text.push('\n');
    Some(text)
}
