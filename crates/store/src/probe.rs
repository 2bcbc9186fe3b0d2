//! `sgsync check` on a PostgreSQL store: can sgsync reach the database, read its
//! migration record and write, without creating, migrating or changing anything.

use super::PostgresUrl;
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;

/// What a probe found: the migrations applied (empty: sgsync has not set this database
/// up yet), or why the database cannot serve as the state.
pub async fn probe_postgres(url: &PostgresUrl) -> Result<Vec<i64>, String> {
    let options = sqlx::postgres::PgConnectOptions::from_str(url.connect_url())
        .map_err(|e| format!("cannot read the URL: {e}"))?
        .disable_statement_logging();
    let connect = options.connect();
    let mut conn = tokio::time::timeout(super::CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| {
            format!(
                "no answer within {} s; is the server running, and reachable from here?",
                super::CONNECT_TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| format!("cannot connect: {e}"))?;
    let result = async {
        let (set_up,): (bool,) =
            sqlx::query_as("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| format!("cannot read it: {e}"))?;
        if !set_up {
            let (may_create,): (bool,) =
                sqlx::query_as("SELECT has_schema_privilege(current_schema(), 'CREATE')")
                    .fetch_one(&mut conn)
                    .await
                    .map_err(|e| format!("cannot read it: {e}"))?;
            return if may_create {
                Ok(Vec::new())
            } else {
                Err("this user may not create tables in it (GRANT CREATE ON SCHEMA … TO the user), so the first sync cannot set it up".to_owned())
            };
        }
        let (may_write,): (bool,) = sqlx::query_as(
            "SELECT to_regclass('links') IS NOT NULL
                AND has_table_privilege('links', 'INSERT, UPDATE, DELETE')",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(|e| format!("cannot read it: {e}"))?;
        if !may_write {
            return Err("this user may not write sgsync's tables (GRANT INSERT, UPDATE, DELETE on them)".to_owned());
        }
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| format!("cannot read its migration record: {e}"))
    }
    .await;
    let _ = conn.close().await;
    result
}
