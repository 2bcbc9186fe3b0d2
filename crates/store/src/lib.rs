//! The state database: which target group sgsync made for which source group (links),
//! creates in flight (intents), the run history with per-unit events, and the run lock.
//!
//! SQLite through sqlx, in the manner of atuin's client store: migrations embedded with
//! `sqlx::migrate!`, WAL with `synchronous=NORMAL`, foreign keys on, an explicit
//! `busy_timeout`; every write for one unit happens in one transaction, and writes are
//! `insert … on conflict` so replaying them is harmless. Queries are runtime
//! `query`/`query_as` with `FromRow` (a small schema; no query cache to keep in step).
//! Rows are decoded into plain text first and then validated, so a row this build does
//! not understand is a [`StoreError::Corrupt`], never a panic.

mod guards;
mod intents;
mod links;
mod lock;
mod members;
mod runs;
pub mod types;
mod write;

pub use guards::ORPHANS as ORPHAN_GUARD;
pub use links::{LinkState, LinkSummary};
pub use lock::{Holder, LockGrant, ProcessId};
pub use members::{MemberKey, Membership, MembershipEnd};
pub use runs::UnitRecord;
pub use types::*;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long a connection waits for another writer before giving up with "database is
/// locked": a CronJob run and a `status` call may overlap.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A handle on the state database; cheap to clone (it wraps a connection pool).
/// Attempts at opening and migrating a database another process may be creating too.
const OPEN_ATTEMPTS: u32 = 5;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// `attempt()` until it succeeds or [`OPEN_ATTEMPTS`] are spent, waiting a little longer
/// each time; the last error is returned.
async fn retried<T, E, F, Fut>(mut attempt: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(_) if tries < OPEN_ATTEMPTS => {
                tokio::time::sleep(std::time::Duration::from_millis(100 * u64::from(tries))).await;
                tries += 1;
            }
            result => return result,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    path: Arc<PathBuf>,
    /// The run lock's token every write must prove it still holds ([`Store::fenced`]).
    lease: Option<Arc<str>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the state database {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot migrate the state database {}: {source}", path.display())]
    Migrate {
        path: PathBuf,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("state database: {what}: {source}")]
    Query {
        what: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// Another process held SQLite's write lock for the whole busy timeout: a run that
    /// is stuck, or paused, in the middle of a write.
    #[error(
        "state database: {what}: another process kept the database locked for {} s (an sgsync paused or stuck mid-write?); nothing was written, try again",
        BUSY_TIMEOUT.as_secs()
    )]
    Busy { what: &'static str },
    #[error("another sgsync run holds the lock: {holder} until {until}")]
    LockHeld {
        holder: String,
        until: DateTime<Utc>,
    },
    #[error("state database: a {what} row cannot be read: {why}")]
    Corrupt { what: &'static str, why: String },
    /// A write of a run whose run lock another run has taken over (this one stalled past
    /// its lease): refused, so a stale run never overwrites the state of the one that
    /// replaced it.
    #[error(
        "state database: {what}: this run no longer holds the run lock (another run took it over)"
    )]
    LeaseLost { what: &'static str },
    #[error("cannot make a random lock token: {why}")]
    Random { why: String },
    #[error("cannot back the state database up to {}: {why}", to.display())]
    Backup { to: PathBuf, why: String },
}

impl Store {
    /// Opens (creating the file if missing) and migrates the state database at `path`.
    /// The directory must exist: creating it would hide a mistyped path.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        // SQLite only says "unable to open database file"; say which part is missing.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(open_err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("the directory {} does not exist", dir.display()),
            ))));
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // Two processes creating the file at once (a CronJob and `sgsync status`) can
        // collide: switching a new file to WAL takes an exclusive lock that does not wait
        // on busy_timeout, and SQLite gives migrations no cross-process lock, so the loser
        // fails on a table the winner just created. Each migration runs in a transaction,
        // so a failed attempt leaves nothing behind, and a retry finds it applied.
        let pool = retried(|| {
            // Two: SQLite writes one at a time anyway, and each connection is a thread
            // with a page cache of its own (up to 2 MiB), so more only cost memory.
            SqlitePoolOptions::new()
                .max_connections(2)
                .connect_with(options.clone())
        })
        .await
        .map_err(open_err)?;
        retried(|| MIGRATOR.run(&pool))
            .await
            .map_err(|source| StoreError::Migrate {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Store {
            pool,
            path: Arc::new(path.to_path_buf()),
            lease: None,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This store, with every write first checking that the run lock is still held under
    /// `token` (fencing: a run that stalled past its lease cannot overwrite the state of
    /// the run that took over).
    pub fn fenced(&self, token: &str) -> Store {
        Store {
            lease: Some(token.into()),
            ..self.clone()
        }
    }

    /// Moves everything in the write-ahead log into the database file and empties the
    /// log: after a run, the file alone holds all state (a copy of it, or a lost `-wal`,
    /// then loses nothing). Readers in other processes may keep part of the log in use;
    /// then what they hold stays in the log, which is still consistent.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
            .map_err(query("checkpoint"))?;
        Ok(())
    }

    /// Checkpoints and closes every connection (at shutdown).
    pub async fn close(&self) {
        if let Err(e) = self.checkpoint().await {
            tracing::warn!(
                "cannot checkpoint the state database {}: {e}",
                self.path.display()
            );
        }
        self.pool.close().await;
    }

    /// A consistent copy of the whole database at `to` (which must not exist yet), taken
    /// while other runs may be writing: `VACUUM INTO`, never a file copy.
    pub async fn backup(&self, to: &Path) -> Result<(), StoreError> {
        let fail = |why: String| StoreError::Backup {
            to: to.to_path_buf(),
            why,
        };
        if to.exists() {
            return Err(fail("it exists already; name a new file".to_owned()));
        }
        let target = to
            .to_str()
            .ok_or_else(|| fail("the path is not UTF-8 text".to_owned()))?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.pool)
            .await
            .map_err(|e| fail(e.to_string()))?;
        Ok(())
    }

    /// The underlying pool, for checks (pragmas) and tests that need raw SQL.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// `PRAGMA integrity_check` says `ok`.
    pub async fn integrity_check(&self) -> Result<bool, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await
            .map_err(query("integrity check"))?;
        Ok(rows.len() == 1 && rows[0].0 == "ok")
    }
}

/// Maps a sqlx error to [`StoreError::Query`] naming what was being done.
fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| {
        // SQLITE_BUSY (5) and its extended codes (261, 517, 773): another connection held
        // the write lock for all of `busy_timeout`.
        let busy = source
            .as_database_error()
            .and_then(|d| d.code())
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| c & 0xff == 5);
        if busy {
            StoreError::Busy { what }
        } else {
            StoreError::Query { what, source }
        }
    }
}

/// Fixed-width RFC 3339 in UTC, so that text order is time order in SQL comparisons.
fn fmt_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn parse_ts(what: &'static str, s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            what,
            why: format!("timestamp {s:?}: {e}"),
        })
}
