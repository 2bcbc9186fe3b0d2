//! The run lock: one run at a time per state database, held for a lease so that a run
//! that died does not block the next one forever.

use super::{Store, StoreError, fmt_ts, parse_ts, query};
use chrono::{DateTime, Utc};
use std::time::Duration;

impl Store {
    /// Takes the run lock for `holder` until `now + lease`. Succeeds if nobody holds
    /// it, the lease has run out, or `holder` already holds it (a renewal); otherwise
    /// [`StoreError::LockHeld`] with the current holder.
    ///
    /// `BEGIN IMMEDIATE` takes SQLite's write lock up front, so two processes cannot
    /// both see the lock as free; the conditional upsert then either takes the row or
    /// changes nothing, and the read of the current holder sees the same state.
    pub async fn acquire_lock(
        &self,
        holder: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
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
        let done = sqlx::query(
            "INSERT INTO run_lock (id, holder, acquired_at, lease_until) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET
                 -- a renewal keeps the time the holder first took the lock
                 acquired_at = CASE WHEN run_lock.holder = excluded.holder
                               THEN run_lock.acquired_at ELSE excluded.acquired_at END,
                 holder = excluded.holder,
                 lease_until = excluded.lease_until
             WHERE run_lock.lease_until < ?2 OR run_lock.holder = excluded.holder",
        )
        .bind(holder)
        .bind(fmt_ts(now))
        .bind(fmt_ts(until))
        .execute(&mut *tx)
        .await
        .map_err(query("acquire lock"))?;
        if done.rows_affected() == 1 {
            tx.commit().await.map_err(query("commit acquire lock"))?;
            return Ok(());
        }
        let (holder, until): (String, String) =
            sqlx::query_as("SELECT holder, lease_until FROM run_lock WHERE id = 1")
                .fetch_one(&mut *tx)
                .await
                .map_err(query("read lock holder"))?;
        // Nothing was written; dropping `tx` rolls back and frees the write lock.
        drop(tx);
        Err(StoreError::LockHeld {
            holder,
            until: parse_ts("run lock", &until)?,
        })
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
