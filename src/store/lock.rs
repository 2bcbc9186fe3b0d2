//! The run lock: one run at a time per state database, held for a lease so that a run
//! that died does not block the next one forever.
//!
//! A holder may also say which process it is ([`ProcessId`]). Then a run restarted on the
//! same machine after a crash (`kill -9`, an OOM kill) does not wait for the lease: it
//! sees that the recorded process is gone and takes the lock over at once. Whether a
//! process is gone is only ever decided within one pid space (same boot, same pid
//! namespace); anything uncertain counts as alive, so two live processes never both
//! hold the lock.

use super::{Store, StoreError, fmt_ts, parse_ts, query};
use chrono::{DateTime, Utc};
use std::time::Duration;

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
    /// `previous` is a process on this machine that no longer runs (killed or crashed).
    HolderGone { previous: String },
}

struct Current {
    holder: String,
    lease_until: String,
    pid: Option<i64>,
    process_ns: Option<String>,
}

impl Store {
    /// Takes the run lock for `holder` until `now + lease`, recording no process: it is
    /// freed by [`Store::release_lock`] or by the lease running out. See
    /// [`Store::acquire_lock_as`].
    pub async fn acquire_lock(
        &self,
        holder: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.acquire_lock_as(holder, None, lease, now)
            .await
            .map(|_| ())
    }

    /// Takes the run lock for `holder` (the process `process`, if given) until
    /// `now + lease`. Succeeds if nobody holds it, `holder` already holds it (a renewal),
    /// the lease has run out, or the recorded holder is a process in our pid space that
    /// is gone; otherwise [`StoreError::LockHeld`] with the current holder.
    ///
    /// `BEGIN IMMEDIATE` takes SQLite's write lock up front, so two processes cannot
    /// both see the lock as free: the read of the current holder, the liveness check and
    /// the write happen while no other connection can write.
    pub async fn acquire_lock_as(
        &self,
        holder: &str,
        process: Option<&ProcessId>,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<LockGrant, StoreError> {
        let lease = chrono::Duration::from_std(lease).map_err(|_| StoreError::Corrupt {
            what: "run lock",
            why: format!("lease {lease:?} is out of range"),
        })?;
        let until = now.checked_add_signed(lease).ok_or(StoreError::Corrupt {
            what: "run lock",
            why: "lease ends past the end of time".to_owned(),
        })?;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(query("begin acquire lock"))?;
        let current: Option<(String, String, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT holder, lease_until, pid, process_ns FROM run_lock WHERE id = 1",
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(query("read lock holder"))?;
        let current = current.map(|(holder, lease_until, pid, process_ns)| Current {
            holder,
            lease_until,
            pid,
            process_ns,
        });
        let grant = match current {
            None => LockGrant::Free,
            Some(c) if c.holder == holder => LockGrant::Renewed,
            Some(c) => {
                let lease_until = parse_ts("run lock", &c.lease_until)?;
                if lease_until < now {
                    LockGrant::LeaseExpired { previous: c.holder }
                } else if holder_gone(&c, process) {
                    LockGrant::HolderGone { previous: c.holder }
                } else {
                    // Nothing was written; dropping `tx` rolls back and frees the write lock.
                    drop(tx);
                    return Err(StoreError::LockHeld {
                        holder: c.holder,
                        until: lease_until,
                    });
                }
            }
        };
        sqlx::query(
            "INSERT INTO run_lock (id, holder, acquired_at, lease_until, pid, process_ns)
             VALUES (1, ?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET
                 -- a renewal keeps the time the holder first took the lock
                 acquired_at = CASE WHEN run_lock.holder = excluded.holder
                               THEN run_lock.acquired_at ELSE excluded.acquired_at END,
                 holder = excluded.holder,
                 lease_until = excluded.lease_until,
                 pid = excluded.pid,
                 process_ns = excluded.process_ns",
        )
        .bind(holder)
        .bind(fmt_ts(now))
        .bind(fmt_ts(until))
        .bind(process.map(|p| i64::from(p.pid)))
        .bind(process.map(|p| p.namespace.as_str()))
        .execute(&mut *tx)
        .await
        .map_err(query("acquire lock"))?;
        tx.commit().await.map_err(query("commit acquire lock"))?;
        Ok(grant)
    }

    /// Extends `holder`'s lease; the same as acquiring again.
    pub async fn renew_lock(
        &self,
        holder: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.acquire_lock(holder, lease, now).await
    }

    /// Releases the lock if `holder` holds it; `false` if it held nothing (someone else
    /// took over an expired lease, or it was never taken).
    pub async fn release_lock(&self, holder: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM run_lock WHERE id = 1 AND holder = ?")
            .bind(holder)
            .execute(&self.pool)
            .await
            .map_err(query("release lock"))?;
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
    // Our own pid is alive (it is us): a lock recorded under it by another holder name
    // is another pipeline in this process, or a dead process whose pid we now reuse;
    // both wait for the lease, the safe side.
    ns == me.namespace
        && pid != me.pid
        && ProcessId {
            pid,
            namespace: ns.to_owned(),
        }
        .is_gone()
}
