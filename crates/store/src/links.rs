//! Links: which target group stands for which source group, and what was last pushed.

use super::{Link, Store, StoreError, UnitResult, fmt_ts, parse_ts, query};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sgsync_model::ProviderKind;
use sqlx::{AnyConnection, Row};

const COLUMNS: &str = "source_provider, source_id, target, target_provider, target_id, \
     stable_key, group_name, payload_hash, fidelity, fidelity_reasons, last_result, \
     last_error, created_at, updated_at";

/// The fields of a link a run plans from, borrowed from the row being read.
#[derive(Debug, Clone, Copy)]
pub struct LinkSummary<'r> {
    pub source_id: &'r str,
    pub target: &'r str,
    pub target_id: &'r str,
    pub group_name: &'r str,
    pub payload_hash: Option<&'r str>,
    /// `last_result` when it is a word this version knows.
    pub last_result: Option<UnitResult>,
    pub has_error: bool,
    /// Since when the copy is stale (RFC 3339), if it is.
    pub stale_since: Option<&'r str>,
}

/// `source_provider, source_id, target, stale_since, drift, drift_at` as stored.
type StateRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A link whose copy is stale or drifted, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    pub source_provider: String,
    pub source_id: String,
    pub target: String,
    pub stale_since: Option<DateTime<Utc>>,
    /// What was found, in words (`deleted by hand`, `renamed to "…"`, …).
    pub drift: Option<String>,
    pub drift_at: Option<DateTime<Utc>>,
}

/// A `links` row as stored; [`Link`] is what it must decode into.
#[derive(sqlx::FromRow)]
struct LinkRow {
    source_provider: String,
    source_id: String,
    target: String,
    target_provider: String,
    target_id: String,
    stable_key: String,
    group_name: String,
    payload_hash: Option<String>,
    fidelity: String,
    fidelity_reasons: String,
    last_result: Option<String>,
    last_error: Option<String>,
    created_at: String,
    updated_at: String,
}

impl TryFrom<LinkRow> for Link {
    type Error = StoreError;
    fn try_from(r: LinkRow) -> Result<Link, StoreError> {
        const WHAT: &str = "link";
        Ok(Link {
            source_provider: r.source_provider,
            source_id: r.source_id,
            target: r.target,
            target_provider: r.target_provider,
            target_id: r.target_id,
            stable_key: r.stable_key,
            group_name: r.group_name,
            payload_hash: r.payload_hash,
            fidelity: r.fidelity,
            fidelity_reasons: r.fidelity_reasons,
            last_result: r
                .last_result
                .map(|t| t.parse())
                .transpose()
                .map_err(|why| StoreError::Corrupt { what: WHAT, why })?,
            last_error: r.last_error,
            created_at: parse_ts(WHAT, &r.created_at)?,
            updated_at: parse_ts(WHAT, &r.updated_at)?,
        })
    }
}

/// One unit's result, for [`set_link_result_in`].
pub(super) struct LinkResult<'a> {
    pub source_provider: ProviderKind,
    pub source_id: &'a str,
    pub target: &'a str,
    pub result: UnitResult,
    pub error: Option<&'a str>,
}

/// Sets a link's last result, only when it differs from the one held (so a run in which
/// nothing changed rewrites no row). `false` when nothing was written. Takes a
/// connection so batches can share one transaction.
pub(super) async fn set_link_result_in(
    conn: &mut AnyConnection,
    pipeline: &str,
    unit: &LinkResult<'_>,
    now: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE links SET last_result = $1, last_error = $2, updated_at = $3
         WHERE pipeline = $7 AND source_provider = $4 AND source_id = $5 AND target = $6
           AND (last_result IS DISTINCT FROM $1 OR last_error IS DISTINCT FROM $2)",
    )
    .bind(unit.result.as_str())
    .bind(unit.error)
    .bind(now)
    .bind(unit.source_provider.as_str())
    .bind(unit.source_id)
    .bind(unit.target)
    .bind(pipeline)
    .execute(conn)
    .await
    .map_err(query("set link result"))?;
    Ok(done.rows_affected() > 0)
}

/// Inserts `link`, or replaces the row with its key; an existing row keeps its
/// `created_at` (the group was created then, whatever the caller remembers).
/// Takes a connection so callers can make it part of a larger transaction.
pub(super) async fn upsert_link_in(
    conn: &mut AnyConnection,
    pipeline: &str,
    link: &Link,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO links (pipeline, {COLUMNS})
         VALUES ($15, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (pipeline, source_provider, source_id, target) DO UPDATE SET
             target_provider = excluded.target_provider,
             target_id = excluded.target_id,
             stable_key = excluded.stable_key,
             group_name = excluded.group_name,
             payload_hash = excluded.payload_hash,
             fidelity = excluded.fidelity,
             fidelity_reasons = excluded.fidelity_reasons,
             last_result = excluded.last_result,
             last_error = excluded.last_error,
             updated_at = excluded.updated_at,
             stale_since = NULL,
             drift = NULL,
             drift_at = NULL"
    );
    sqlx::query(&sql)
        .bind(link.source_provider.as_str())
        .bind(&link.source_id)
        .bind(&link.target)
        .bind(link.target_provider.as_str())
        .bind(&link.target_id)
        .bind(&link.stable_key)
        .bind(&link.group_name)
        .bind(&link.payload_hash)
        .bind(&link.fidelity)
        .bind(&link.fidelity_reasons)
        .bind(link.last_result.map(UnitResult::as_str))
        .bind(&link.last_error)
        .bind(fmt_ts(link.created_at))
        .bind(fmt_ts(link.updated_at))
        .bind(pipeline)
        .execute(conn)
        .await
        .map_err(query("upsert link"))?;
    Ok(())
}

impl Store {
    /// Every link, or those of one target, in a stable order.
    pub async fn links(&self, target: Option<&str>) -> Result<Vec<Link>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM links WHERE pipeline = $2 AND ($1 IS NULL OR target = $1)
             ORDER BY target, source_provider, source_id"
        );
        let rows: Vec<LinkRow> = sqlx::query_as(&sql)
            .bind(target)
            .bind(self.pipeline())
            .fetch_all(&self.pool)
            .await
            .map_err(query("list links"))?;
        rows.into_iter().map(Link::try_from).collect()
    }

    /// Every link of `source`, one row at a time into `each`: what a run plans from.
    /// Streamed, and only the fields the planner reads, because a run over tens of
    /// thousands of groups would otherwise hold every full row twice at once.
    pub async fn each_link(
        &self,
        source: ProviderKind,
        mut each: impl FnMut(LinkSummary<'_>) + Send,
    ) -> Result<(), StoreError> {
        let mut rows = sqlx::query(
            // No ORDER BY: the caller's index orders them, and SQLite would otherwise
            // sort every link in memory first.
            "SELECT source_id, target, target_id, group_name, payload_hash, last_result,
                    CASE WHEN last_error IS NULL THEN 0 ELSE 1 END, stale_since FROM links
             WHERE pipeline = $2 AND source_provider = $1",
        )
        .bind(source.as_str())
        .bind(self.pipeline())
        .fetch(&self.pool);
        while let Some(row) = rows.try_next().await.map_err(query("list links"))? {
            let summary = LinkSummary {
                source_id: row.try_get(0).map_err(query("read link"))?,
                target: row.try_get(1).map_err(query("read link"))?,
                target_id: row.try_get(2).map_err(query("read link"))?,
                group_name: row.try_get(3).map_err(query("read link"))?,
                payload_hash: row.try_get(4).map_err(query("read link"))?,
                last_result: row
                    .try_get::<Option<&str>, _>(5)
                    .map_err(query("read link"))?
                    .and_then(|r| r.parse().ok()),
                // An integer on both backends (a comparison is a boolean only on
                // PostgreSQL).
                has_error: row.try_get::<i64, _>(6).map_err(query("read link"))? != 0,
                stale_since: row.try_get(7).map_err(query("read link"))?,
            };
            each(summary);
        }
        Ok(())
    }

    /// Marks a link's copy stale (its source changed, its target cannot update it),
    /// keeping the time it first went stale; returns that time.
    pub async fn mark_stale(
        &self,
        source_provider: ProviderKind,
        source_id: &str,
        target: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut tx = self.begin_write("mark link stale").await?;
        let since: Option<(Option<String>,)> = sqlx::query_as(
            "UPDATE links SET stale_since = coalesce(stale_since, $1)
             WHERE pipeline = $5 AND source_provider = $2 AND source_id = $3 AND target = $4
             RETURNING stale_since",
        )
        .bind(fmt_ts(Utc::now()))
        .bind(source_provider.as_str())
        .bind(source_id)
        .bind(target)
        .bind(self.pipeline())
        .fetch_optional(tx.conn())
        .await
        .map_err(query("mark link stale"))?;
        tx.commit().await?;
        since
            .and_then(|(t,)| t)
            .map(|t| parse_ts("links.stale_since", &t))
            .transpose()
    }

    /// Records the drift found on a link's copy (`None`: none any more), keeping the
    /// time it was first seen.
    pub async fn set_drift(
        &self,
        source_provider: ProviderKind,
        source_id: &str,
        target: &str,
        drift: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write("record drift").await?;
        sqlx::query(
            "UPDATE links SET drift = $1,
                 drift_at = CASE WHEN $1 IS NULL THEN NULL ELSE coalesce(drift_at, $2) END
             WHERE pipeline = $6 AND source_provider = $3 AND source_id = $4 AND target = $5",
        )
        .bind(drift)
        .bind(fmt_ts(Utc::now()))
        .bind(source_provider.as_str())
        .bind(source_id)
        .bind(target)
        .bind(self.pipeline())
        .execute(tx.conn())
        .await
        .map_err(query("record drift"))?;
        tx.commit().await?;
        Ok(())
    }

    /// Every link that is stale or drifted, with since when (for `status`).
    pub async fn link_states(&self) -> Result<Vec<LinkState>, StoreError> {
        let rows: Vec<StateRow> = sqlx::query_as(
            "SELECT source_provider, source_id, target, stale_since, drift, drift_at
                 FROM links WHERE pipeline = $1 AND (stale_since IS NOT NULL OR drift IS NOT NULL)
                 ORDER BY target, source_provider, source_id",
        )
        .bind(self.pipeline())
        .fetch_all(&self.pool)
        .await
        .map_err(query("list link states"))?;
        rows.into_iter()
            .map(
                |(source_provider, source_id, target, stale, drift, drift_at)| {
                    Ok(LinkState {
                        source_provider,
                        source_id,
                        target,
                        stale_since: stale
                            .map(|t| parse_ts("links.stale_since", &t))
                            .transpose()?,
                        drift,
                        drift_at: drift_at
                            .map(|t| parse_ts("links.drift_at", &t))
                            .transpose()?,
                    })
                },
            )
            .collect()
    }

    /// Where target `target`'s rotating content check goes on: the source id it
    /// verified last.
    pub async fn verify_cursor(&self, target: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT after_source_id FROM verify_cursors WHERE pipeline = $2 AND target = $1",
        )
        .bind(target)
        .bind(self.pipeline())
        .fetch_optional(&self.pool)
        .await
        .map_err(query("read verify cursor"))?;
        Ok(row.map(|(id,)| id))
    }

    pub async fn set_verify_cursor(&self, target: &str, after: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write("write verify cursor").await?;
        sqlx::query(
            "INSERT INTO verify_cursors (pipeline, target, after_source_id, updated_at) VALUES ($4, $1, $2, $3)
             ON CONFLICT (pipeline, target) DO UPDATE SET after_source_id = excluded.after_source_id,
                 updated_at = excluded.updated_at",
        )
        .bind(target)
        .bind(after)
        .bind(fmt_ts(Utc::now()))
        .bind(self.pipeline())
        .execute(tx.conn())
        .await
        .map_err(query("write verify cursor"))?;
        tx.commit().await?;
        Ok(())
    }

    /// The page target `target`'s next listing window starts at (1 when none yet).
    pub async fn listing_page(&self, target: &str) -> Result<usize, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT page FROM verify_pages WHERE pipeline = $2 AND target = $1")
                .bind(target)
                .bind(self.pipeline())
                .fetch_optional(&self.pool)
                .await
                .map_err(query("read listing page"))?;
        Ok(row.map_or(1, |(p,)| usize::try_from(p).unwrap_or(1).max(1)))
    }

    pub async fn set_listing_page(&self, target: &str, page: usize) -> Result<(), StoreError> {
        let mut tx = self.begin_write("write listing page").await?;
        sqlx::query(
            "INSERT INTO verify_pages (pipeline, target, page, updated_at) VALUES ($4, $1, $2, $3)
             ON CONFLICT (pipeline, target) DO UPDATE SET page = excluded.page,
                 updated_at = excluded.updated_at",
        )
        .bind(target)
        .bind(i64::try_from(page).unwrap_or(1))
        .bind(fmt_ts(Utc::now()))
        .bind(self.pipeline())
        .execute(tx.conn())
        .await
        .map_err(query("write listing page"))?;
        tx.commit().await?;
        Ok(())
    }

    /// The (target id, group name) of every group sgsync created on a target of
    /// provider `provider`, whatever its source: what a run whose source is that
    /// provider must not read back as source groups (an echo).
    pub async fn copies_on(
        &self,
        provider: ProviderKind,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT target_id, group_name FROM links WHERE pipeline = $2 AND target_provider = $1",
        )
        .bind(provider.as_str())
        .bind(self.pipeline())
        .fetch_all(&self.pool)
        .await
        .map_err(query("list copies"))?;
        Ok(rows)
    }

    pub async fn link(
        &self,
        source_provider: ProviderKind,
        source_id: &str,
        target: &str,
    ) -> Result<Option<Link>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM links
             WHERE pipeline = $4 AND source_provider = $1 AND source_id = $2 AND target = $3"
        );
        let row: Option<LinkRow> = sqlx::query_as(&sql)
            .bind(source_provider.as_str())
            .bind(source_id)
            .bind(target)
            .bind(self.pipeline())
            .fetch_optional(&self.pool)
            .await
            .map_err(query("read link"))?;
        row.map(Link::try_from).transpose()
    }

    /// Inserts or replaces the link by (source provider, source id, target).
    pub async fn upsert_link(&self, link: &Link) -> Result<(), StoreError> {
        let mut tx = self.begin_write("upsert link").await?;
        upsert_link_in(tx.conn(), self.pipeline(), link).await?;
        tx.commit().await
    }

    /// Records the outcome of the last attempt on one unit; `false` if there is no such
    /// link or it holds this result already (then nothing is written).
    pub async fn set_link_result(
        &self,
        source_provider: ProviderKind,
        source_id: &str,
        target: &str,
        result: UnitResult,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write("set link result").await?;
        let unit = LinkResult {
            source_provider,
            source_id,
            target,
            result,
            error,
        };
        let written =
            set_link_result_in(tx.conn(), self.pipeline(), &unit, &fmt_ts(Utc::now())).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// `sgsync resync`: forgets the pushed-payload hash of the matching links (all when
    /// both filters are `None`) so the next run pushes them again. Returns how many.
    pub async fn forget_hashes(
        &self,
        target: Option<&str>,
        source_id: Option<&str>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write("forget hashes").await?;
        let done = sqlx::query(
            "UPDATE links SET payload_hash = NULL
             WHERE pipeline = $3 AND ($1 IS NULL OR target = $1) AND ($2 IS NULL OR source_id = $2)",
        )
        .bind(target)
        .bind(source_id)
        .bind(self.pipeline())
        .execute(tx.conn())
        .await
        .map_err(query("forget hashes"))?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// `sgsync forget`: drops every link of one target (the groups there are left as
    /// they are). Returns how many.
    pub async fn forget_links(&self, target: &str) -> Result<u64, StoreError> {
        let mut tx = self.begin_write("forget links").await?;
        let done = sqlx::query("DELETE FROM links WHERE pipeline = $2 AND target = $1")
            .bind(target)
            .bind(self.pipeline())
            .execute(tx.conn())
            .await
            .map_err(query("forget links"))?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Drops one link; `false` if there was none.
    pub async fn delete_link(
        &self,
        source_provider: ProviderKind,
        source_id: &str,
        target: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write("delete link").await?;
        let done = sqlx::query(
            "DELETE FROM links WHERE pipeline = $4 AND source_provider = $1 AND source_id = $2 AND target = $3",
        )
        .bind(source_provider.as_str())
        .bind(source_id)
        .bind(target)
        .bind(self.pipeline())
        .execute(tx.conn())
        .await
        .map_err(query("delete link"))?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}
