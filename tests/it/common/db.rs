//! A state database unique to one test, on either backend: a SQLite file in a temporary
//! directory, or a PostgreSQL database created for the test on the server named by
//! `SGSYNC_TEST_POSTGRES` (a URL whose role may create databases; `.ci/run` starts a
//! server and sets it). Without that variable the PostgreSQL half of a test says it is
//! skipped — except under CI (`CI` set), where a missing server fails the test: CI must
//! never pass by testing one backend only.

use sgsync::store::{Store, StoreUrl};
use sqlx::Connection;
use std::path::PathBuf;

/// The variable naming the PostgreSQL server the tests may create databases on.
pub const POSTGRES_ENV: &str = "SGSYNC_TEST_POSTGRES";

pub struct TempDb {
    url: StoreUrl,
    /// The `[store]` lines a config needs to reach this database.
    config: String,
    _guard: Guard,
}

/// What removes the database when the test ends.
enum Guard {
    #[allow(dead_code)]
    Dir(tempfile::TempDir),
    Postgres(PgDatabase),
}

impl TempDb {
    pub fn sqlite(name: &str) -> TempDb {
        let dir = tempfile::Builder::new()
            .prefix("sgsync-store-")
            .tempdir()
            .expect("a temporary directory");
        let path: PathBuf = dir.path().join(format!("{name}.db"));
        TempDb {
            config: format!("path = \"{}\"", path.display()),
            url: StoreUrl::sqlite(path),
            _guard: Guard::Dir(dir),
        }
    }

    /// A new, empty PostgreSQL database; `None` (said on stderr) when no server is
    /// configured outside CI.
    pub async fn postgres(name: &str) -> Option<TempDb> {
        let admin = match std::env::var(POSTGRES_ENV) {
            Ok(url) if !url.trim().is_empty() => url,
            _ if std::env::var_os("CI").is_some() => {
                panic!("{POSTGRES_ENV} is not set under CI: .ci/run starts PostgreSQL and sets it")
            }
            _ => {
                eprintln!(
                    "skipped on PostgreSQL ({name}): set {POSTGRES_ENV}=postgres://user:password@127.0.0.1/db (a role with CREATEDB), as .ci/run does"
                );
                return None;
            }
        };
        let db = PgDatabase::create(&admin, name).await;
        let url = db.url.clone();
        Some(TempDb {
            config: format!("url = \"{url}\""),
            url: StoreUrl::parse(&url, None).expect("the test database's URL parses"),
            _guard: Guard::Postgres(db),
        })
    }

    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    /// A URL sqlx connects to this database with, password included (tests only).
    pub fn sqlx_url(&self) -> String {
        match (&self._guard, &self.url) {
            (Guard::Postgres(db), _) => db.url.clone(),
            (_, url) => format!("sqlite://{url}?mode=rwc"),
        }
    }

    /// The `[store]` line(s) that point a config at this database.
    pub fn config_lines(&self) -> &str {
        &self.config
    }

    pub async fn open(&self) -> Store {
        Store::connect(&self.url).await.expect("open store")
    }
}

/// A database made for one test; dropped with it (forcibly: a child process killed by
/// the test may have left a session behind).
struct PgDatabase {
    admin: String,
    name: String,
    url: String,
}

impl PgDatabase {
    async fn create(admin: &str, label: &str) -> PgDatabase {
        let mut base = url::Url::parse(admin).expect("SGSYNC_TEST_POSTGRES is a URL");
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(30)
            .collect();
        let name = format!(
            "sgsync_t_{label}_{}_{:08x}",
            std::process::id(),
            fastrand::u32(..)
        );
        let mut conn = sqlx::PgConnection::connect(admin)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server: {e}"));
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        let _ = conn.close().await;
        base.set_path(&format!("/{name}"));
        PgDatabase {
            admin: admin.to_owned(),
            name,
            url: base.to_string(),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop may run inside a runtime: a thread of its own, with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            // .ci/run drops whatever is left with its throwaway role.
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}
