//! Fencing: a run that cannot prove it still holds its lease must not send anything
//! more to a provider (a run stopped past its lease, then resumed, would otherwise write
//! beside the run that took over — duplicates).
//!
//! The engine sets a [`WriteFence`] around each unit's work ([`scope`]); the HTTP layer
//! asks it before *every attempt* of every call made inside that scope, with the
//! longest the attempt may take (its timeout). A task-local rather than a parameter of
//! every provider method: the question is the run's, not the call's, and it must reach
//! retries deep inside a client without each client passing it along (a call path that
//! forgot would be a hole). Outside a scope (`check`, `plan`, tests) nothing is fenced.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Says whether one more attempt that may take up to `longest` may start now.
pub trait WriteFence: Send + Sync {
    /// `Err(why)` when it may not; then nothing is sent.
    fn permit(&self, longest: Duration) -> Result<(), String>;
}

tokio::task_local! {
    static FENCE: Arc<dyn WriteFence>;
}

/// Runs `work` with every provider call inside it asking `fence` first.
pub async fn scope<F: Future>(fence: Arc<dyn WriteFence>, work: F) -> F::Output {
    FENCE.scope(fence, work).await
}

/// The fence's answer for an attempt of up to `longest`; `Ok` outside any scope.
pub(crate) fn permit(longest: Duration) -> Result<(), String> {
    FENCE
        .try_with(|fence| fence.permit(longest))
        .unwrap_or(Ok(()))
}
