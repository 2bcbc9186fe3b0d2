//! A progress bar for runs started by hand (`--sync-now`, `demo`): units done / total,
//! on stderr, only when stderr is a terminal and logs are human text. Log lines written
//! meanwhile go through [`LogWriter`], which lifts the bar off the screen for the time
//! of the write, so bar and log lines never interleave on one line.

use crate::engine::apply::{Progress, UnitOutcome};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;
use std::sync::Mutex;

/// The bar on screen now, if any, for [`LogWriter`] to suspend.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn active() -> std::sync::MutexGuard<'static, Option<ProgressBar>> {
    ACTIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// One run's bar; hidden unless [`RunProgress::new`] was told to show it.
pub struct RunProgress {
    bar: ProgressBar,
    show: bool,
}

impl RunProgress {
    /// `show`: stderr is a terminal and the log format is human (the caller knows).
    pub fn new(show: bool) -> Self {
        // Hidden until the run knows its units: nothing is drawn for a run that fails
        // before planning.
        let bar = ProgressBar::hidden();
        if let Ok(style) =
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} units ({elapsed})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix("sync");
        RunProgress { bar, show }
    }

    /// Removes the bar from the screen.
    pub fn finish(&self) {
        let mut current = active();
        if current.take().is_some() {
            self.bar.finish_and_clear();
        }
    }
}

impl Drop for RunProgress {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Progress for RunProgress {
    fn started(&self, units: usize) {
        if !self.show {
            return;
        }
        self.bar.set_length(units as u64);
        self.bar.set_position(0);
        self.bar.reset_elapsed();
        self.bar.set_draw_target(ProgressDrawTarget::stderr());
        *active() = Some(self.bar.clone());
    }

    fn unit_done(&self, _outcome: &UnitOutcome) {
        self.bar.inc(1);
    }
}

/// A `tracing` writer to stderr that suspends the active bar around each write.
/// tracing-subscriber formats an event into one buffer and writes it at once, so a
/// whole log line lands above the bar.
#[derive(Clone, Copy, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = active().clone();
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> Self::Writer {
        LogWriter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hidden_bar_counts_nothing_on_screen_and_registers_nothing() {
        let p = RunProgress::new(false);
        p.started(3);
        p.unit_done(&UnitOutcome {
            source_id: "g".into(),
            target: "t".into(),
            group_name: "G".into(),
            action: "create",
            result: Ok(crate::store::UnitResult::Created),
            recorded: sgsync_engine::plan::Recorded::NoLink,
        });
        assert!(
            active().is_none(),
            "a hidden bar is never suspended for logs"
        );
        p.finish();
    }
}
