//! What the integration tests share: the world of sandboxes and config they run sgsync
//! in ([`world`]), child processes ([`child`]), the final target states two worlds are
//! compared by ([`state`]), and a capture of `tracing` output.

pub mod child;
pub mod db;
pub mod state;
pub mod tenants;
pub mod world;

use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing::Dispatch;
use tracing::subscriber::DefaultGuard;

/// `subscriber` as the current thread's default while this lives, safe from `tracing`'s
/// process-wide callsite cache. That cache holds one interest per callsite, computed when
/// the callsite is first hit; while at most one dispatcher exists, it is computed against
/// the *hitting* thread's default only. So another test's thread, with no subscriber,
/// reaching a callsite first would cache "never" for every thread, and this subscriber
/// would miss that callsite's events (seen: `provider_call` spans missing from a capture
/// while other tests ran). A second dispatcher, held alongside, makes every interest be
/// computed against all live dispatchers, this one included.
pub struct Scoped {
    _guard: DefaultGuard,
    _anchor: Dispatch,
}

pub fn scoped(subscriber: impl tracing::Subscriber + Send + Sync + 'static) -> Scoped {
    let anchor = Dispatch::new(tracing_subscriber::registry());
    Scoped {
        _guard: tracing::subscriber::set_default(subscriber),
        _anchor: anchor,
    }
}

/// Every `tracing` line (all levels) written while this lives, on the current thread,
/// so a test can look for what must never be logged.
pub struct LogCapture {
    buffer: Captured,
    _scoped: Scoped,
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
        _scoped: scoped(subscriber),
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
