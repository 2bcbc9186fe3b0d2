//! The run lock: one run at a time per state database, held for a lease so that a run
//! that died does not block the next one forever.
//!
//! A holder is known by a random token ([`Holder`]), never by a name: two containers on
//! one volume are both "pid 1" with the same host name, and a name they share made both
//! believe they held the lock. The name, pid and host are kept for display only.
//!
//! A holder may also say which process it is ([`ProcessId`]). Then a run restarted on the
//! same machine after a crash (`kill -9`, an OOM kill) does not wait for the lease: it
//! sees that the recorded process is gone and takes the lock over at once. Whether a
//! process is gone is only ever decided within one pid space (same boot, same pid
//! namespace); anything uncertain counts as alive, so two live processes never both
//! hold the lock. Within this process, the holders alive are known exactly (a token
//! registered while its [`Holder`] exists), so the lock of a run of this very process
//! that ended without releasing it (its future dropped) is free at once, too.

use super::{Store, StoreError, fmt_ts, parse_ts, query};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The tokens of the holders alive in this process.
fn live_tokens() -> &'static Mutex<HashSet<String>> {
    static LIVE: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    LIVE.get_or_init(Mutex::default)
}

fn is_live(token: &str) -> bool {
    live_tokens()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(token)
}

/// One would-be holder of the run lock: a random token that identifies it, what to show
/// of it, and optionally its process. Alive while this value exists.
#[derive(Debug)]
pub struct Holder {
    token: String,
    display: String,
    process: Option<ProcessId>,
}

impl Holder {
    /// A holder for this process (Linux: with its process identity, so a restart after a
    /// crash can take the lock at once), shown as `display`.
    pub fn new(display: impl Into<String>) -> Result<Holder, StoreError> {
        Holder::with_process(display, ProcessId::current())
    }

    /// A holder shown as `display` that claims to be `process` (`None`: only its lease
    /// or its release frees the lock).
    pub fn with_process(
        display: impl Into<String>,
        process: Option<ProcessId>,
    ) -> Result<Holder, StoreError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Random { why: e.to_string() })?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        live_tokens()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.clone());
        Ok(Holder {
            token,
            display: display.into(),
            process,
        })
    }

    /// The token every write of this holder's run proves it still holds.
    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn display(&self) -> &str {
        &self.display
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        live_tokens()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.token);
    }
}

/// A process, as the run lock records it: its pid and the pid space the pid means
/// something in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessId {
    pub pid: u32,
    /// Linux boot id and pid namespace (`<boot id>/pid:[<inode>]`): two processes with
    /// the same pid in different containers or boots are different processes.
    pub namespace: String,
}

impl ProcessId {
    /// This process, where the platform lets us tell later whether it is still alive
    /// (Linux); `None` elsewhere, and then a lock is only ever freed by its lease.
    pub fn current() -> Option<ProcessId> {
        #[cfg(target_os = "linux")]
        {
            let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
            let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
            Some(ProcessId {
                pid: std::process::id(),
                namespace: format!("{}/{}", boot.trim(), ns.display()),
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            None
        }
    }

    /// Whether this process certainly no longer runs. Asked only about a process in our
    /// own pid space; "cannot tell" is `false`.
    fn is_gone(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            use rustix::io::Errno;
            let Some(pid) = i32::try_from(self.pid)
                .ok()
                .and_then(rustix::process::Pid::from_raw)
            else {
                return false;
            };
            match rustix::process::test_kill_process(pid) {
                // No such process.
                Err(Errno::SRCH) => true,
                // It exists (EPERM: it belongs to someone else, which is still alive).
                Ok(()) => is_zombie(self.pid),
                Err(_) => false,
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }
}

/// A killed process whose parent has not reaped it yet is a zombie: it still has a pid
/// but runs no code and holds nothing.
#[cfg(target_os = "linux")]
fn is_zombie(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) state …`; comm may hold spaces and parentheses, so split at the last ')'.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state == "Z" || state == "X")
}

/// How the lock was granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockGrant {
    /// Nobody held it.
    Free,
    /// The same holder renewed its lease.
    Renewed,
    /// `previous`'s lease had run out.
    LeaseExpired { previous: String },
    /// `previous` is a process on this machine that no longer runs (killed or crashed),
    /// or a run of this process that ended without releasing the lock.
    HolderGone { previous: String },
}

/// The lock row as read.
#[derive(sqlx::FromRow)]
struct Current {
    holder: String,
    token: Option<String>,
    lease_until: String,
    pid: Option<i64>,
    process_ns: Option<String>,
}

/// The lease's end: `now + lease`, or an error for a lease out of range.
fn lease_end(lease: Duration, now: DateTime<Utc>) -> Result<DateTime<Utc>, StoreError> {
    chrono::Duration::from_std(lease)
        .ok()
        .and_then(|lease| now.checked_add_signed(lease))
        .ok_or_else(|| StoreError::Corrupt {
            what: "run lock",
            why: format!("a lease of {} s is out of range", lease.as_secs()),
        })
}

impl Store {
    /// Takes the run lock for `holder` until `now + lease`. Succeeds if nobody holds it,
    /// `holder` already holds it (a renewal), the lease has run out, or the recorded
    /// holder is a process in our pid space that is gone; otherwise
    /// [`StoreError::LockHeld`] with the current holder.
    ///
    /// `BEGIN IMMEDIATE` takes SQLite's write lock up front, so two processes cannot
    /// both see the lock as free: the read of the current holder, the liveness check and
    /// the write happen while no other connection can write.
    pub async fn acquire_lock(
        &self,
        holder: &Holder,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<LockGrant, StoreError> {
        let until = lease_end(lease, now)?;
        let mut tx = self.begin("acquire run lock", None).await?;
        let current: Option<Current> = sqlx::query_as(
            "SELECT holder, token, lease_until, pid, process_ns FROM run_lock WHERE pipeline = $1",
        )
        .bind(self.pipeline())
        .fetch_optional(tx.conn())
        .await
        .map_err(query("read lock holder"))?;
        let grant = match current {
            None => LockGrant::Free,
            Some(c) if c.token.as_deref() == Some(holder.token()) => LockGrant::Renewed,
            Some(c) => {
                let lease_until = parse_ts("run lock", &c.lease_until)?;
                if lease_until < now {
                    LockGrant::LeaseExpired { previous: c.holder }
                } else if holder_gone(&c, holder.process.as_ref()) {
                    LockGrant::HolderGone { previous: c.holder }
                } else {
                    // Nothing was written; dropping `tx` closes its connection, which
                    // rolls back and frees the write lock.
                    drop(tx);
                    return Err(StoreError::LockHeld {
                        holder: c.holder,
                        until: lease_until,
                    });
                }
            }
        };
        sqlx::query(
            "INSERT INTO run_lock (pipeline, holder, token, acquired_at, lease_until, pid, process_ns)
             VALUES ($7, $1, $2, $3, $4, $5, $6)
             ON CONFLICT (pipeline) DO UPDATE SET
                 -- a renewal keeps the time the holder first took the lock
                 acquired_at = CASE WHEN run_lock.token IS NOT DISTINCT FROM excluded.token
                               THEN run_lock.acquired_at ELSE excluded.acquired_at END,
                 holder = excluded.holder,
                 token = excluded.token,
                 lease_until = excluded.lease_until,
                 pid = excluded.pid,
                 process_ns = excluded.process_ns",
        )
        .bind(holder.display())
        .bind(holder.token())
        .bind(fmt_ts(now))
        .bind(fmt_ts(until))
        .bind(holder.process.as_ref().map(|p| i64::from(p.pid)))
        .bind(holder.process.as_ref().map(|p| p.namespace.as_str()))
        .bind(self.pipeline())
        .execute(tx.conn())
        .await
        .map_err(query("acquire lock"))?;
        tx.commit().await?;
        Ok(grant)
    }

    /// Extends `holder`'s lease to `now + lease`; [`StoreError::LeaseLost`] if it no
    /// longer holds the lock (its lease ran out and another run took over).
    pub async fn renew_lock(
        &self,
        holder: &Holder,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let until = lease_end(lease, now)?;
        let mut tx = self.begin("renew run lock", None).await?;
        let done =
            sqlx::query("UPDATE run_lock SET lease_until = $1 WHERE pipeline = $3 AND token = $2")
                .bind(fmt_ts(until))
                .bind(holder.token())
                .bind(self.pipeline())
                .execute(tx.conn())
                .await
                .map_err(query("renew run lock"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::LeaseLost {
                what: "renew run lock",
            });
        }
        tx.commit().await
    }

    /// Releases the lock if `holder` holds it; `false` if it held nothing (someone else
    /// took over an expired lease, or it was never taken).
    pub async fn release_lock(&self, holder: &Holder) -> Result<bool, StoreError> {
        let mut tx = self.begin("release run lock", None).await?;
        let done = sqlx::query("DELETE FROM run_lock WHERE pipeline = $2 AND token = $1")
            .bind(holder.token())
            .bind(self.pipeline())
            .execute(tx.conn())
            .await
            .map_err(query("release lock"))?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}

/// Whether the current holder is a process in the same pid space as `me` that no longer
/// runs. A holder that recorded no process, or one from another machine or container,
/// is never judged: only its lease frees it.
fn holder_gone(current: &Current, me: Option<&ProcessId>) -> bool {
    let (Some(me), Some(pid), Some(ns)) = (me, current.pid, current.process_ns.as_deref()) else {
        return false;
    };
    let Ok(pid) = u32::try_from(pid) else {
        return false;
    };
    if ns != me.namespace {
        return false;
    }
    if pid == me.pid {
        // Recorded under our own pid: a run of this process (alive exactly while its
        // holder is), or a dead process whose pid we now reuse (not live here either).
        return current.token.as_deref().is_none_or(|t| !is_live(t));
    }
    ProcessId {
        pid,
        namespace: ns.to_owned(),
    }
    .is_gone()
}
