//! `sgsync check`: the config is valid, the state database can be read and written
//! (opened without migrating or changing anything), every provider answers a read-only
//! call, and the mapping works in every account: each department, group, field and
//! value it names is listed there (read from the account's directory, as a run reads
//! it).

use super::print_json;
use crate::store::{Backend, StoreUrl, probe_postgres};
use anyhow::Result;
use sqlx::ConnectOptions;
use sqlx::Connection;
use sqlx::sqlite::SqliteConnectOptions;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// One line of the check: what, and `Ok(detail)` or `Err(why)`.
struct Verdict {
    what: String,
    result: Result<String, String>,
}

pub async fn check(config: crate::config::Choice<'_>, json: bool) -> Result<ExitCode> {
    // Every pipeline unless one is named.
    let loaded = match config.pipeline {
        Some(_) => crate::config::load_choice(config).map(|s| vec![s]),
        None => crate::config::load_all(config.path),
    };
    let all = match loaded {
        Ok(all) => all,
        // A machine asked: the failed check is still a document (and still exit 1).
        Err(e) if json => {
            print_json(
                "check",
                serde_json::json!({
                    "ok": false,
                    "failed": 1,
                    "checks": [{"check": "config", "ok": false, "error": e.to_string()}],
                }),
            )?;
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e.into()),
    };
    let many = all.len() > 1;
    let mut verdicts: Vec<Verdict> = all
        .iter()
        .map(|settings| Verdict {
            what: if many {
                format!("config of pipeline {}", settings.pipeline)
            } else {
                "config".to_owned()
            },
            result: Ok(format!(
                "{} ({} target(s))",
                settings.file.as_ref().map_or_else(
                    || "environment only".to_owned(),
                    |f| f.display().to_string()
                ),
                settings.targets.len()
            )),
        })
        .collect();
    // One state database for all pipelines.
    let Some(settings) = all.first() else {
        return Ok(ExitCode::FAILURE);
    };
    verdicts.push(Verdict {
        what: format!("state database {}", settings.store),
        result: match &settings.store {
            StoreUrl::Sqlite(path) => probe_store(path).await,
            StoreUrl::Postgres(url) => match probe_postgres(url).await {
                Ok(applied) if applied.is_empty() => {
                    Ok("reachable and writable; empty, the first sync sets it up".to_owned())
                }
                Ok(applied) => schema_verdict(&applied, Backend::Postgres),
                Err(why) => Err(why),
            },
        },
    });
    // "source (GoSquared)", "target lms (iSpring Learn)"; "pipeline a: source …" when
    // there are several.
    for settings in &all {
        let maps = Arc::new(settings.maps.clone());
        let prefix = if many {
            format!("pipeline {}: ", settings.pipeline)
        } else {
            String::new()
        };
        let endpoints = std::iter::once((format!("{prefix}source"), &settings.source)).chain(
            settings
                .targets
                .iter()
                .map(|t| (format!("{prefix}target {}", t.endpoint.name), &t.endpoint)),
        );
        for (role, endpoint) in endpoints {
            let result = match endpoint.connect(maps.clone()) {
                Ok(provider) => match provider.check().await {
                    Ok(()) => mapping_problems(provider.as_ref(), &endpoint.name, &maps)
                        .await
                        .map(|()| "ok".to_owned()),
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => Err(e.to_string()),
            };
            verdicts.push(Verdict {
                what: format!("{role} ({})", endpoint.provider.display_name()),
                result,
            });
        }
    }
    let failed = verdicts.iter().filter(|v| v.result.is_err()).count();
    if json {
        let checks: Vec<_> = verdicts
            .iter()
            .map(|v| match &v.result {
                Ok(detail) => serde_json::json!({"check": v.what, "ok": true, "detail": detail}),
                Err(why) => serde_json::json!({"check": v.what, "ok": false, "error": why}),
            })
            .collect();
        print_json(
            "check",
            serde_json::json!({"ok": failed == 0, "failed": failed, "checks": checks}),
        )?;
    } else {
        for v in &verdicts {
            match &v.result {
                Ok(detail) if detail == "ok" => println!("{}: ok", v.what),
                Ok(detail) => println!("{}: ok: {detail}", v.what),
                Err(why) => println!("{}: FAILED: {why}", v.what),
            }
        }
        if failed > 0 {
            println!("fix the lines marked FAILED, then run sgsync check again");
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Opens the state database read-write and proves a write would be allowed (`BEGIN
/// IMMEDIATE`, then `ROLLBACK`), without creating, migrating or changing anything. A
/// file not there yet must be creatable in its directory (the first sync creates it).
async fn probe_store(path: &Path) -> Result<String, String> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return probe_directory(path);
        }
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    if meta.is_dir() {
        return Err("is a directory, not a database file".to_owned());
    }
    // Plain file access first, for the OS's own reason (SQLite would only say
    // "unable to open database file" or quietly open it read-only).
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| format!("cannot open it for reading and writing: {e}"))?;
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(5))
        .disable_statement_logging();
    let mut conn = options
        .connect()
        .await
        .map_err(|e| format!("cannot open it: {}", sqlite_reason(&e)))?;
    let result = async {
        let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| format!("cannot read it: {}", sqlite_reason(&e)))?;
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .map_err(|e| format!("cannot write to it: {}", sqlite_reason(&e)))?;
        let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
        if tables == 0 {
            return Ok("empty; the first sync sets it up".to_owned());
        }
        schema(&mut conn).await
    }
    .await;
    let _ = conn.close().await;
    result
}

/// Whether the migrations this binary knows are all applied.
async fn schema(conn: &mut sqlx::SqliteConnection) -> Result<String, String> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = 1")
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| {
                format!(
                    "holds tables but not sgsync's (no migration record): {}",
                    sqlite_reason(&e)
                )
            })?;
    schema_verdict(&applied, Backend::Sqlite)
}

/// `applied` (a database's migration record) against the migrations this binary would
/// apply on `backend`: behind, current, or from a newer sgsync.
fn schema_verdict(applied: &[i64], backend: Backend) -> Result<String, String> {
    let known: Vec<i64> = backend.migrator().iter().map(|m| m.version).collect();
    if let Some(newer) = applied.iter().find(|v| !known.contains(v)) {
        return Err(format!(
            "was migrated by a newer sgsync (migration {newer}, which this one does not know); run the newer version or restore a backup"
        ));
    }
    let pending = known.iter().filter(|v| !applied.contains(v)).count();
    Ok(if pending == 0 {
        "readable and writable, schema current".to_owned()
    } else {
        format!("readable and writable; {pending} migration(s) pending, applied by the next sync")
    })
}

/// A database that does not exist yet: its directory must exist and take a new file.
fn probe_directory(path: &Path) -> Result<String, String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(format!(
            "does not exist, and neither does its directory {}",
            dir.display()
        ));
    }
    let probe = dir.join(format!(".sgsync-check-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| {
            format!(
                "does not exist, and cannot be created in {}: {e}",
                dir.display()
            )
        })?;
    let _ = std::fs::remove_file(&probe);
    Ok(format!(
        "does not exist yet; the first sync creates it in {}",
        dir.display()
    ))
}

/// SQLite's own words for an error, without sqlx's wrapping.
fn sqlite_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    }
}

/// The account's directory, read as a run reads it, against the mapping: `Err` with one
/// line per entry that cannot work there (or why the directory could not be read).
async fn mapping_problems(
    provider: &dyn crate::provider::Provider,
    name: &str,
    maps: &Arc<crate::model::mapping::Maps>,
) -> Result<(), String> {
    let directory = crate::engine::run::read_directory(provider, name).await;
    if let Some(why) = directory.failure() {
        return Err(format!(
            "its directory (departments, groups, profile fields) cannot be read: {why}"
        ));
    }
    let problems = crate::translate::dialect(provider.kind(), maps)
        .map(|d| d.check_mapping(&directory))
        .unwrap_or_default();
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the mapping names what this account does not have:\n  - {}",
        problems.join("\n  - ")
    ))
}
