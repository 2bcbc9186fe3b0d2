//! The memory of guards that hold destructive actions back until several consecutive
//! runs see the same thing (the orphan guard: `engine::plan::OrphanGuard`).

use super::{Store, StoreError, fmt_ts, query};
use chrono::Utc;

/// The orphan guard's row in `guards`.
pub const ORPHANS: &str = "orphans";

impl Store {
    /// Consecutive runs that held guard `name` back, and why (0 and `None` when not held).
    pub async fn guard(&self, name: &str) -> Result<(u32, Option<String>), StoreError> {
        let row: Option<(i64, Option<String>)> = sqlx::query_as(
            "SELECT held_runs, reason FROM guards WHERE pipeline = $2 AND name = $1",
        )
        .bind(name)
        .bind(self.pipeline())
        .fetch_optional(&self.pool)
        .await
        .map_err(query("read guard"))?;
        Ok(match row {
            Some((held, reason)) => (u32::try_from(held).unwrap_or(0), reason),
            None => (0, None),
        })
    }

    /// Records guard `name`'s state after a run: held for `held_runs` consecutive runs
    /// (0: not held, `reason` cleared).
    pub async fn set_guard(
        &self,
        name: &str,
        held_runs: u32,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write("record guard").await?;
        sqlx::query(
            "INSERT INTO guards (pipeline, name, held_runs, reason, updated_at) VALUES ($5, $1, $2, $3, $4)
             ON CONFLICT (pipeline, name) DO UPDATE SET held_runs = $2, reason = $3, updated_at = $4",
        )
        .bind(name)
        .bind(i64::from(held_runs))
        .bind(reason)
        .bind(fmt_ts(Utc::now()))
        .bind(self.pipeline())
        .execute(tx.conn())
        .await
        .map_err(query("record guard"))?;
        tx.commit().await
    }
}
