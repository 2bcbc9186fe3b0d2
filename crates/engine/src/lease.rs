//! The run lock as a run holds it: taken, renewed in the background, released — and the
//! proof every provider write needs first (fencing, after Kleppmann's "How to do
//! distributed locking" and etcd's leases).
//!
//! A run that was stopped (SIGSTOP, a VM pause, a cgroup freeze) past its lease may
//! resume while another run holds the lock. From the moment it cannot prove it still
//! holds the lease, it starts nothing more: no unit, no HTTP attempt, no store write.
//! The proof is monotonic time: the lease was last confirmed at `t` (the moment its
//! renewal was *sent*, so the store's lease end is no earlier than `t + lease`), and an
//! attempt that may take `d` may start only while `now + d < t + lease`. The run that
//! takes over waits for the lease to end, by which time every attempt the old holder
//! started has ended (its timeout), so the two never write at once. Config guarantees
//! `lease > renewal interval + request timeout × attempts`, so a healthy run always
//! has its proof.
//!
//! The same gate closes when a store write fails: a run that cannot record what it does
//! must stop doing it (a create whose link cannot be stored is a duplicate next run).

use chrono::Utc;
use sgsync_provider::fence::WriteFence;
use sgsync_store::{Holder, LockGrant, Store, StoreError};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tracing::warn;

/// How long the lock is held without renewal, and how often it is renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseSettings {
    pub length: Duration,
    pub renew_every: Duration,
}

impl Default for LeaseSettings {
    /// A 3-minute lease renewed every 15 s: longer than the 15 s between renewals plus a
    /// whole call at the default HTTP settings (30 s × 5 attempts), which config checks.
    fn default() -> Self {
        LeaseSettings {
            length: Duration::from_secs(180),
            renew_every: Duration::from_secs(15),
        }
    }
}

/// Why a run stopped writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Another run took the lock over, or the lease could not be renewed.
    LeaseLost(String),
    /// The lease was last confirmed too long ago to start another call (the process
    /// was paused, or renewals stalled).
    Unconfirmed { since: Duration },
    /// A write to the state store failed; what follows could not be recorded.
    Store(String),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::LeaseLost(why) => write!(
                f,
                "this run no longer holds the run lock ({why}), so it stopped writing; the run that holds it carries on"
            ),
            Stop::Unconfirmed { since } => write!(
                f,
                "this run could not confirm its run lock for {} s (was the process paused?), so it stopped writing; the next run carries on",
                since.as_secs()
            ),
            Stop::Store(why) => write!(
                f,
                "{why}; sgsync stopped writing to providers so that nothing is done that cannot be recorded; fix the state database (free space, permissions) and run again"
            ),
        }
    }
}

/// The gate every write of a run passes: open while the lease is proven and the store
/// works; once closed, closed for the rest of the run.
#[derive(Debug)]
pub struct Fence {
    length: Duration,
    /// When the lease was last confirmed (its renewal sent).
    confirmed: Mutex<Instant>,
    stopped: Mutex<Option<Stop>>,
}

impl Fence {
    fn new(length: Duration, confirmed: Instant) -> Fence {
        Fence {
            length,
            confirmed: Mutex::new(confirmed),
            stopped: Mutex::new(None),
        }
    }

    /// A fence that never closes by itself (dry runs, tests): only [`Fence::stop`] closes it.
    pub fn open() -> Arc<Fence> {
        Arc::new(Fence::new(Duration::MAX, Instant::now()))
    }

    /// Closes the gate (the first reason is kept).
    pub fn stop(&self, why: Stop) {
        let mut stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        if stopped.is_none() {
            warn!("stopping all writes: {why}");
            *stopped = Some(why);
        }
    }

    /// Closes the gate for a failed store write, naming the database.
    pub fn store_failed(&self, store: &Store, e: &StoreError) {
        let why = match e {
            StoreError::LeaseLost { .. } => Stop::LeaseLost("another run took it over".into()),
            other => Stop::Store(format!(
                "the state database {} failed: {other}",
                store.location()
            )),
        };
        self.stop(why);
    }

    /// Why the gate is closed, if it is.
    pub fn stopped(&self) -> Option<Stop> {
        self.stopped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether something that may take up to `longest` may start now.
    pub fn check(&self, longest: Duration) -> Result<(), Stop> {
        if let Some(why) = self.stopped() {
            return Err(why);
        }
        let since = self
            .confirmed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed();
        if since.saturating_add(longest) >= self.length {
            let why = Stop::Unconfirmed { since };
            self.stop(why.clone());
            return Err(why);
        }
        Ok(())
    }

    fn confirm(&self, at: Instant) {
        let mut confirmed = self.confirmed.lock().unwrap_or_else(|p| p.into_inner());
        if at > *confirmed {
            *confirmed = at;
        }
    }
}

impl WriteFence for Fence {
    fn permit(&self, longest: Duration) -> Result<(), String> {
        self.check(longest).map_err(|why| why.to_string())
    }
}

/// The run lock, held: renewed in the background until released or dropped.
pub struct RunLease {
    holder: Arc<Holder>,
    store: Store,
    fence: Arc<Fence>,
    renewal: tokio::task::JoinHandle<()>,
}

impl RunLease {
    /// Takes the lock for a new holder shown as `display`; the grant says from whom.
    pub async fn acquire(
        store: &Store,
        display: &str,
        settings: LeaseSettings,
    ) -> Result<(RunLease, LockGrant), StoreError> {
        let holder = Arc::new(Holder::new(display)?);
        let sent = Instant::now();
        let grant = store
            .acquire_lock(&holder, settings.length, Utc::now())
            .await?;
        let fence = Arc::new(Fence::new(settings.length, sent));
        let renewal = tokio::spawn(renew(
            store.clone(),
            holder.clone(),
            fence.clone(),
            settings,
        ));
        Ok((
            RunLease {
                holder,
                store: store.clone(),
                fence,
                renewal,
            },
            grant,
        ))
    }

    /// The token every store write of this run proves it holds.
    pub fn token(&self) -> &str {
        self.holder.token()
    }

    pub fn fence(&self) -> &Arc<Fence> {
        &self.fence
    }

    /// Stops renewing and lets the lock go (if it is still ours).
    pub async fn release(self) {
        self.renewal.abort();
        match self.store.release_lock(&self.holder).await {
            Ok(true) => {}
            Ok(false) => warn!("the run lock had been taken over before this run released it"),
            // The lease runs out by itself.
            Err(e) => warn!("cannot release the run lock: {e}"),
        }
    }
}

impl Drop for RunLease {
    /// A run dropped mid-way (its future cancelled) stops renewing at once, so its lock
    /// lapses; a run of this process finds it free at once (`store::lock`).
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

async fn renew(store: Store, holder: Arc<Holder>, fence: Arc<Fence>, settings: LeaseSettings) {
    loop {
        tokio::time::sleep(settings.renew_every).await;
        let sent = Instant::now();
        match store.renew_lock(&holder, settings.length, Utc::now()).await {
            Ok(()) => fence.confirm(sent),
            Err(StoreError::LeaseLost { .. }) => {
                fence.stop(Stop::LeaseLost("another run took it over".into()));
                return;
            }
            Err(e) => {
                fence.stop(Stop::LeaseLost(format!("cannot renew it: {e}")));
                return;
            }
        }
    }
}
