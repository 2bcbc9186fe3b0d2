//! The state database: which target group sgsync made for which source group (links),
//! creates in flight (intents), the run history with per-unit events, and the run lock.
//!
//! One interface, two backends behind it: SQLite (the embedded default, in the manner of
//! atuin's client store: WAL with `synchronous=NORMAL`, foreign keys on, an explicit
//! `busy_timeout`) and PostgreSQL (for workers on several machines sharing one state).
//! Both are reached through sqlx's `Any` driver with one text per statement: parameters
//! are numbered (`$1`), and only SQL both dialects read alike is used (`ON CONFLICT`,
//! `RETURNING`, `IS DISTINCT FROM`, `CASE`); where they differ — how a write transaction
//! begins, checkpoints, backups — the store asks which [`Backend`] it is on. Migrations
//! are embedded per backend (`migrations/sqlite`, `migrations/postgres`, the same
//! versions), forward-only, and a database migrated by a newer sgsync is refused.
//!
//! Every write for one unit happens in one transaction, and writes are
//! `insert … on conflict` so replaying them is harmless. Queries are runtime
//! `query`/`query_as` with `FromRow` (a small schema; no query cache to keep in step).
//! Rows are decoded into plain text and integers first and then validated, so a row
//! this build does not understand is a [`StoreError::Corrupt`], never a panic.

mod guards;
mod intents;
mod links;
mod location;
mod lock;
mod members;
mod probe;
mod runs;
mod slots;
mod sql;
pub mod types;
mod write;

pub use guards::ORPHANS as ORPHAN_GUARD;
pub use links::{LinkState, LinkSummary};
pub use location::{PostgresUrl, StoreUrl};
pub use lock::{Holder, LockGrant, ProcessId};
pub use members::{MemberKey, Membership, MembershipEnd};
pub use probe::probe_postgres;
pub use runs::{PipelineState, UnitRecord};
pub use slots::Slots;
pub use types::*;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{Connection, Executor};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long a write waits for another writer before giving up with [`StoreError::Busy`]:
/// a CronJob run and a `status` call may overlap. SQLite's `busy_timeout` (sqlx's
/// default); PostgreSQL's `lock_timeout`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long PostgreSQL lets a session sit inside a transaction doing nothing before it
/// ends the session: a worker paused (SIGSTOP, a frozen VM) in the middle of a write
/// would otherwise hold the write lock, and every other worker's writes with it, until
/// it resumed. Far above any transaction sgsync holds (no network call happens inside
/// one); far below the run lock's lease.
const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(30);

/// How long opening a PostgreSQL store waits for a connection: an unreachable server
/// should fail the run with its address, not hang it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The pipeline of a config with one pipeline (`[source]` at the top), and the one
/// every record of a database from before pipelines belongs to.
pub const DEFAULT_PIPELINE: &str = "default";

/// Attempts at opening and migrating a database another process may be creating too.
const OPEN_ATTEMPTS: u32 = 5;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which database the store is on, for the few statements the dialects write apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The migrations this binary applies on this backend (versions are the same on
    /// both; the files differ in types).
    pub fn migrator(self) -> &'static sqlx::migrate::Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        }
    }
}

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

/// A handle on the state database; cheap to clone (it wraps a connection pool).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    url: Arc<StoreUrl>,
    /// The pipeline every record read or written belongs to ([`Store::for_pipeline`]).
    pipeline: Arc<str>,
    /// The run lock's token every write must prove it still holds ([`Store::fenced`]).
    lease: Option<Arc<str>>,
}

/// Shows where the store is (never a password), not its pool.
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.url)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the state database {location}: {source}")]
    Open {
        location: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot migrate the state database {location}: {source}")]
    Migrate {
        location: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("state database: {what}: {source}")]
    Query {
        what: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// Another process held the write lock for the whole busy timeout: a run that is
    /// stuck, or paused, in the middle of a write.
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
    /// Opens (creating the file if missing) and migrates the SQLite database at `path`.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        Store::connect(&StoreUrl::sqlite(path)).await
    }

    /// Opens and migrates the state database at `url`: a SQLite file (created when
    /// missing; its directory must exist, since creating it would hide a mistyped path)
    /// or a PostgreSQL database (which must exist; sgsync creates its tables in it).
    pub async fn connect(url: &StoreUrl) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let open_err = |source| StoreError::Open {
            location: url.to_string(),
            source,
        };
        let (pool, backend) = match url {
            StoreUrl::Sqlite(path) => (open_sqlite(path).await.map_err(open_err)?, Backend::Sqlite),
            StoreUrl::Postgres(pg) => (
                open_postgres(pg).await.map_err(open_err)?,
                Backend::Postgres,
            ),
        };
        // SQLite gives migrations no cross-process lock, so two processes creating the
        // file at once can collide: the loser fails on a table the winner just created.
        // Each migration runs in a transaction, so a failed attempt leaves nothing
        // behind, and a retry finds it applied. (PostgreSQL's migrator takes an
        // advisory lock.)
        retried(|| backend.migrator().run(&pool))
            .await
            .map_err(|source| StoreError::Migrate {
                location: url.to_string(),
                source,
            })?;
        Ok(Store {
            pool,
            backend,
            url: Arc::new(url.clone()),
            pipeline: DEFAULT_PIPELINE.into(),
            lease: None,
        })
    }

    /// Where the store is, as people may see it (a file, or a URL without password).
    pub fn location(&self) -> String {
        self.url.to_string()
    }

    /// The SQLite file, when the store is one.
    pub fn path(&self) -> Option<&Path> {
        self.url.sqlite_path()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pipeline this handle reads and writes.
    pub fn pipeline(&self) -> &str {
        &self.pipeline
    }

    /// This store, reading and writing the records of pipeline `name` (same pool).
    pub fn for_pipeline(&self, name: &str) -> Store {
        Store {
            pipeline: name.into(),
            lease: None,
            ..self.clone()
        }
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

    /// SQLite: moves everything in the write-ahead log into the database file and
    /// empties the log, so after a run the file alone holds all state (a copy of it, or
    /// a lost `-wal`, then loses nothing). Readers in other processes may keep part of
    /// the log in use; then what they hold stays in the log, which is still consistent.
    /// PostgreSQL: nothing to do (the server owns its files).
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await
                .map_err(query("checkpoint"))?;
        }
        Ok(())
    }

    /// Checkpoints and closes every connection (at shutdown).
    pub async fn close(&self) {
        if let Err(e) = self.checkpoint().await {
            tracing::warn!("cannot checkpoint the state database {}: {e}", self.url);
        }
        self.pool.close().await;
    }

    /// A consistent copy of the whole SQLite database at `to` (which must not exist
    /// yet), taken while other runs may be writing: `VACUUM INTO`, never a file copy.
    /// A PostgreSQL store is the server's to back up (`pg_dump`).
    pub async fn backup(&self, to: &Path) -> Result<(), StoreError> {
        let fail = |why: String| StoreError::Backup {
            to: to.to_path_buf(),
            why,
        };
        if self.backend == Backend::Postgres {
            return Err(fail(format!(
                "the state database is PostgreSQL ({}); back it up with pg_dump",
                self.url
            )));
        }
        if to.exists() {
            return Err(fail("it exists already; name a new file".to_owned()));
        }
        let target = to
            .to_str()
            .ok_or_else(|| fail("the path is not UTF-8 text".to_owned()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await
            .map_err(|e| fail(e.to_string()))?;
        Ok(())
    }

    /// The underlying pool, for checks and tests that need raw SQL.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// SQLite: `PRAGMA integrity_check` says `ok`. PostgreSQL: the server answers and
    /// holds sgsync's migration record (its pages are the server's to check).
    pub async fn integrity_check(&self) -> Result<bool, StoreError> {
        match self.backend {
            Backend::Sqlite => {
                let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(query("integrity check"))?;
                Ok(rows.len() == 1 && rows[0].0 == "ok")
            }
            Backend::Postgres => {
                let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM _sqlx_migrations")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(query("integrity check"))?;
                Ok(n > 0)
            }
        }
    }
}

async fn open_sqlite(path: &Path) -> Result<AnyPool, sqlx::Error> {
    // SQLite only says "unable to open database file"; say which part is missing.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("the directory {} does not exist", dir.display()),
        )));
    }
    let text = path.to_str().ok_or_else(|| {
        sqlx::Error::Configuration("the path is not UTF-8 text; name another file".into())
    })?;
    // `?` and `#` would end the file name inside a URL.
    let encoded = text
        .replace('%', "%25")
        .replace('?', "%3F")
        .replace('#', "%23");
    let url = format!("sqlite://{encoded}?mode=rwc");
    // Two switching a new file to WAL at once can collide (that takes an exclusive lock
    // that does not wait on busy_timeout): retried.
    retried(|| {
        // Two connections: SQLite writes one at a time anyway, and each connection is a
        // thread with a page cache of its own (up to 2 MiB), so more only cost memory.
        AnyPoolOptions::new()
            .max_connections(2)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // Foreign keys on and a 5 s busy timeout are sqlx's defaults.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            })
            .connect(&url)
    })
    .await
}

async fn open_postgres(url: &PostgresUrl) -> Result<AnyPool, sqlx::Error> {
    let settings = format!(
        "SET lock_timeout = '{}s'; SET idle_in_transaction_session_timeout = '{}s'",
        BUSY_TIMEOUT.as_secs(),
        IDLE_IN_TRANSACTION.as_secs()
    );
    // One connection first, for the server's own reason when it cannot be reached
    // ("Connection refused", "password authentication failed"): the pool would only say
    // that it timed out, after retrying for CONNECT_TIMEOUT.
    let first = tokio::time::timeout(
        CONNECT_TIMEOUT,
        sqlx::AnyConnection::connect(url.connect_url()),
    )
    .await
    .map_err(|_| sqlx::Error::PoolTimedOut)??;
    let _ = first.close().await;
    AnyPoolOptions::new()
        // A run's writes go one at a time; reads of `status` and the listing of links
        // may overlap them.
        .max_connections(4)
        .acquire_timeout(CONNECT_TIMEOUT)
        .after_connect(move |conn, _| {
            let settings = settings.clone();
            Box::pin(async move {
                conn.execute(settings.as_str()).await?;
                Ok(())
            })
        })
        .connect(url.connect_url())
        .await
}

/// Maps a sqlx error to [`StoreError::Query`] naming what was being done.
fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| {
        // SQLITE_BUSY (5) and its extended codes (261, 517, 773): another connection held
        // the write lock for all of `busy_timeout`. PostgreSQL's lock_not_available
        // (55P03): `lock_timeout` ran out waiting for it.
        let code = source.as_database_error().and_then(|d| d.code());
        // (A SQLSTATE always has five characters; SQLite's codes are shorter numbers.)
        let busy = code.as_deref().is_some_and(|c| match c.len() {
            5 => c == "55P03",
            _ => c.parse::<i32>().is_ok_and(|c| c & 0xff == 5),
        });
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
