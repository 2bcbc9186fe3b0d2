//! What the integration tests share: the world of sandboxes and config they run sgsync
//! in ([`world`]), child processes ([`child`]), the final target states two worlds are
//! compared by ([`state`]), and a capture of `tracing` output.

pub mod child;
pub mod state;
pub mod world;

use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing::subscriber::DefaultGuard;

/// Every `tracing` line (all levels) written while this lives, on the current thread,
/// so a test can look for what must never be logged.
pub struct LogCapture {
    buffer: Captured,
    _guard: DefaultGuard,
}

impl LogCapture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.0.lock().unwrap_or_else(|p| p.into_inner()))
            .into_owned()
    }
}

pub fn capture_logs() -> LogCapture {
    let buffer = Captured::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    LogCapture {
        buffer,
        _guard: tracing::subscriber::set_default(subscriber),
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
