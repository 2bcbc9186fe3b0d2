//! Scheduled runs as slots: a pipeline's due time is taken by the run that holds its run
//! lock and marked done when that run ends. Workers on several machines thereby run each
//! due time once, and a due time whose run died is resumed by whoever comes next.

use super::{Store, StoreError, fmt_ts, parse_ts, query};
use chrono::{DateTime, Utc};

/// A pipeline's slots as recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slots {
    /// The due time of the last run that started.
    pub claimed: Option<DateTime<Utc>>,
    /// The latest due time a run has served (a run also serves the ticks that fell
    /// while it ran).
    pub done: Option<DateTime<Utc>>,
}

impl Slots {
    /// Whether the run due at `due` has been done.
    pub fn is_done(&self, due: DateTime<Utc>) -> bool {
        self.done.is_some_and(|done| done >= due)
    }

    /// A due time whose run started and never ended (its process died): to resume.
    pub fn unfinished(&self) -> Option<DateTime<Utc>> {
        self.claimed.filter(|claimed| !self.is_done(*claimed))
    }
}

impl Store {
    /// This pipeline's slots.
    pub async fn slots(&self) -> Result<Slots, StoreError> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT claimed_due, done_due FROM schedule_slots WHERE pipeline = $1")
                .bind(self.pipeline())
                .fetch_optional(&self.pool)
                .await
                .map_err(query("read schedule slots"))?;
        let Some((claimed, done)) = row else {
            return Ok(Slots::default());
        };
        let parse = |t: Option<String>| t.map(|t| parse_ts("schedule slot", &t)).transpose();
        Ok(Slots {
            claimed: parse(claimed)?,
            done: parse(done)?,
        })
    }

    /// The run due at `due` starts (called holding the run lock).
    pub async fn claim_slot(&self, due: DateTime<Utc>) -> Result<(), StoreError> {
        self.write_slot("claim schedule slot", "claimed_due", due)
            .await
    }

    /// The run due at `due` ended; it also served every tick up to `served` (≥ `due`).
    pub async fn finish_slot(&self, served: DateTime<Utc>) -> Result<(), StoreError> {
        self.write_slot("finish schedule slot", "done_due", served)
            .await
    }

    async fn write_slot(
        &self,
        what: &'static str,
        column: &'static str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write(what).await?;
        // `column` is one of two names above, never input.
        let sql = format!(
            "INSERT INTO schedule_slots (pipeline, {column}, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (pipeline) DO UPDATE SET
                 {column} = CASE WHEN schedule_slots.{column} IS NULL
                                   OR schedule_slots.{column} < excluded.{column}
                              THEN excluded.{column} ELSE schedule_slots.{column} END,
                 updated_at = excluded.updated_at"
        );
        sqlx::query(&sql)
            .bind(self.pipeline())
            .bind(fmt_ts(at))
            .bind(fmt_ts(Utc::now()))
            .execute(tx.conn())
            .await
            .map_err(query(what))?;
        tx.commit().await
    }
}
