//! The one way the store writes: a transaction that first takes the database's write
//! lock, then proves that this run still holds the run lock (when the store was handed a
//! lease token), on a connection of its own that is thrown away — never returned to the
//! pool — if anything in it fails.
//!
//! The write lock: SQLite's own (`BEGIN IMMEDIATE`, one per file); on PostgreSQL a
//! transaction-scoped advisory lock per pipeline taken first thing
//! (`pg_advisory_xact_lock`), so one pipeline's writers go one at a time exactly as on
//! SQLite — the run lock's read-decide-write and the fence check need no other reasoning
//! on either backend — while workers on different pipelines write at once (every row a
//! write touches belongs to the store's pipeline; two names that hash alike only share a
//! lock). A writer paused inside its transaction
//! blocks the others for at most `lock_timeout` each (then [`StoreError::Busy`]), and
//! PostgreSQL ends its session after `idle_in_transaction_session_timeout`.
//!
//! Why not sqlx's `Transaction`: after a failed `COMMIT` (SQLITE_FULL on a full disk)
//! SQLite may keep the transaction open, and a connection that went back to the pool in
//! that state swallowed every later write of the run without committing it (issue 13:
//! "created 65", 0 links stored). Closing the connection is the only state that is
//! certainly clean: SQLite rolls an open transaction back when its connection closes.

use super::Backend;
use super::{Store, StoreError, query};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection};

/// The first half of the PostgreSQL advisory lock key of a pipeline's write lock ("sg"
/// in ASCII); the second is the hash of the pipeline's name.
const WRITE_LOCK_CLASS: i32 = 0x7367;

/// An open write transaction. Commit it with [`WriteTx::commit`]; dropped without a
/// commit (an error on the way), its connection is closed instead of reused.
pub(crate) struct WriteTx {
    conn: Option<PoolConnection<Any>>,
    what: &'static str,
}

impl WriteTx {
    /// The connection to run the transaction's statements on.
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        // `conn` is only `None` after `commit` consumed `self`.
        self.conn
            .as_deref_mut()
            .map(|c| c as &mut AnyConnection)
            .unwrap_or_else(|| unreachable!("a WriteTx is used after commit"))
    }

    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        let Some(mut conn) = self.conn.take() else {
            return Ok(());
        };
        match sqlx::query("COMMIT").execute(&mut *conn).await {
            Ok(_) => Ok(()),
            Err(source) => {
                // Whatever state the failed COMMIT left behind goes with the connection.
                discard(conn);
                Err(StoreError::Query {
                    what: self.what,
                    source,
                })
            }
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            discard(conn);
        }
    }
}

/// Takes `conn` out of the pool and closes it (dropping a detached connection closes it;
/// SQLite and PostgreSQL roll back whatever transaction it had open).
fn discard(conn: PoolConnection<Any>) {
    drop(conn.detach());
}

impl Store {
    /// Opens a write transaction for `what` (named in errors). With a lease token
    /// ([`Store::fenced`]), it fails with [`StoreError::LeaseLost`] unless the run lock
    /// is still held under that token: checked inside the transaction, which holds
    /// SQLite's write lock, so no takeover can slip in between the check and the writes.
    pub(crate) async fn begin_write(&self, what: &'static str) -> Result<WriteTx, StoreError> {
        self.begin(what, self.lease.as_deref()).await
    }

    /// [`Store::begin_write`] checking `lease` (the run lock's own writes check nothing:
    /// they decide who holds it).
    pub(crate) async fn begin(
        &self,
        what: &'static str,
        lease: Option<&str>,
    ) -> Result<WriteTx, StoreError> {
        let conn = self.pool.acquire().await.map_err(query(what))?;
        let mut tx = WriteTx {
            conn: Some(conn),
            what,
        };
        match self.backend {
            Backend::Sqlite => {
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(tx.conn())
                    .await
                    .map_err(query(what))?;
            }
            Backend::Postgres => {
                sqlx::query("BEGIN")
                    .execute(tx.conn())
                    .await
                    .map_err(query(what))?;
                sqlx::query(
                    "SELECT 1 FROM (SELECT pg_advisory_xact_lock($1, hashtext($2))) AS taken",
                )
                .bind(WRITE_LOCK_CLASS)
                .bind(self.pipeline())
                .execute(tx.conn())
                .await
                .map_err(query(what))?;
            }
        }
        if let Some(token) = lease {
            let held: Option<(i64,)> =
                sqlx::query_as("SELECT 1 FROM run_lock WHERE pipeline = $2 AND token = $1")
                    .bind(token)
                    .bind(self.pipeline())
                    .fetch_optional(tx.conn())
                    .await
                    .map_err(query(what))?;
            if held.is_none() {
                return Err(StoreError::LeaseLost { what });
            }
        }
        Ok(tx)
    }
}
