//! The run history: one row per run, and one event per operation on a unit.

use super::links::{LinkResult, set_link_result_in};
use super::{
    Event, Run, RunCounts, RunOutcome, Store, StoreError, UnitResult, fmt_ts, parse_ts, query,
};
use chrono::Utc;
use sgsync_model::ProviderKind;
use sqlx::AnyConnection;

/// One pipeline as the database knows it ([`Store::pipelines`]).
#[derive(Debug, Clone)]
pub struct PipelineState {
    pub name: String,
    /// Who holds its run lock (a worker, a `--sync-now`) and until when the lease runs.
    pub holder: Option<(String, chrono::DateTime<Utc>)>,
    pub last_run: Option<Run>,
}

/// What [`Store::record_units`] records of one finished unit.
#[derive(Debug, Clone, Copy)]
pub struct UnitRecord<'a> {
    pub source_id: &'a str,
    pub target: &'a str,
    pub action: &'a str,
    pub result: UnitResult,
    pub error: Option<&'a str>,
    /// Add an event (the unit did something, or failed).
    pub event: bool,
    /// Set the result on the unit's link (the unit did not write the link itself).
    pub link_result: bool,
}

/// One event as inserted.
struct EventRecord<'a> {
    run_id: i64,
    source_id: &'a str,
    target: &'a str,
    action: &'a str,
    result: &'a str,
    error: Option<&'a str>,
}

/// Inserts one event at `at`; its id. Takes a connection so a batch shares one
/// transaction (the one event INSERT, for single events and batches alike).
async fn insert_event_in(
    conn: &mut AnyConnection,
    e: &EventRecord<'_>,
    at: &str,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO events (run_id, source_id, target, action, result, error, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(e.run_id)
    .bind(e.source_id)
    .bind(e.target)
    .bind(e.action)
    .bind(e.result)
    .bind(e.error)
    .bind(at)
    .fetch_one(conn)
    .await
    .map_err(query("record event"))?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    started_at: String,
    finished_at: Option<String>,
    outcome: String,
    dry_run: i64,
    created: i64,
    updated: i64,
    unchanged: i64,
    skipped: i64,
    orphaned: i64,
    failed: i64,
    held: i64,
    deferred: i64,
    drift: i64,
    stale: i64,
    error: Option<String>,
    due: Option<String>,
}

fn count(n: i64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt {
        what: "run",
        why: format!("count {n} is out of range"),
    })
}

impl TryFrom<RunRow> for Run {
    type Error = StoreError;
    fn try_from(r: RunRow) -> Result<Run, StoreError> {
        const WHAT: &str = "run";
        Ok(Run {
            id: r.id,
            started_at: parse_ts(WHAT, &r.started_at)?,
            finished_at: r.finished_at.map(|t| parse_ts(WHAT, &t)).transpose()?,
            outcome: r
                .outcome
                .parse()
                .map_err(|why| StoreError::Corrupt { what: WHAT, why })?,
            dry_run: r.dry_run != 0,
            counts: RunCounts {
                created: count(r.created)?,
                updated: count(r.updated)?,
                unchanged: count(r.unchanged)?,
                skipped: count(r.skipped)?,
                orphaned: count(r.orphaned)?,
                failed: count(r.failed)?,
                held: count(r.held)?,
                deferred: count(r.deferred)?,
                drift: count(r.drift)?,
                stale: count(r.stale)?,
            },
            error: r.error,
            due: r.due.map(|t| parse_ts(WHAT, &t)).transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    run_id: i64,
    source_id: String,
    target: String,
    action: String,
    result: String,
    error: Option<String>,
    at: String,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Event, StoreError> {
        Ok(Event {
            id: r.id,
            run_id: r.run_id,
            source_id: r.source_id,
            target: r.target,
            action: r.action,
            result: r.result,
            error: r.error,
            at: parse_ts("event", &r.at)?,
        })
    }
}

impl Store {
    /// Records the start of a run (outcome `running`) and returns its id.
    pub async fn start_run(&self, dry_run: bool) -> Result<i64, StoreError> {
        self.start_run_due(dry_run, None).await
    }

    /// [`Store::start_run`] of a run serving the scheduled time `due`.
    pub async fn start_run_due(
        &self,
        dry_run: bool,
        due: Option<chrono::DateTime<Utc>>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write("start run").await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO runs (pipeline, started_at, outcome, dry_run, due)
             VALUES ($4, $1, $2, $3, $5) RETURNING id",
        )
        .bind(fmt_ts(Utc::now()))
        .bind(RunOutcome::Running.as_str())
        .bind(i64::from(dry_run))
        .bind(self.pipeline())
        .bind(due.map(fmt_ts))
        .fetch_one(tx.conn())
        .await
        .map_err(query("start run"))?;
        tx.commit().await?;
        Ok(id)
    }

    /// Marks every run still recorded as `running` as `interrupted`: called by the holder
    /// of the run lock, when no other run can be going, so those runs died (killed,
    /// crashed, or their future dropped) before they could record their end.
    pub async fn interrupt_stale_runs(&self) -> Result<u64, StoreError> {
        let mut tx = self.begin_write("mark stale runs").await?;
        let done = sqlx::query(
            "UPDATE runs SET outcome = $1, finished_at = $2, error = $3 WHERE pipeline = $5 AND outcome = $4",
        )
        .bind(RunOutcome::Interrupted.as_str())
        .bind(fmt_ts(Utc::now()))
        .bind("the run ended before recording its outcome (process killed or crashed)")
        .bind(RunOutcome::Running.as_str())
        .bind(self.pipeline())
        .execute(tx.conn())
        .await
        .map_err(query("mark stale runs"))?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Records how a run ended; `false` if there is no run `id`.
    pub async fn finish_run(
        &self,
        id: i64,
        outcome: RunOutcome,
        counts: RunCounts,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write("finish run").await?;
        let done = sqlx::query(
            "UPDATE runs SET finished_at = $1, outcome = $2, created = $3, updated = $4,
                 unchanged = $5, skipped = $6, orphaned = $7, failed = $8, held = $9,
                 deferred = $10, drift = $11, stale = $12, error = $13
             WHERE pipeline = $15 AND id = $14",
        )
        .bind(fmt_ts(Utc::now()))
        .bind(outcome.as_str())
        .bind(i64::from(counts.created))
        .bind(i64::from(counts.updated))
        .bind(i64::from(counts.unchanged))
        .bind(i64::from(counts.skipped))
        .bind(i64::from(counts.orphaned))
        .bind(i64::from(counts.failed))
        .bind(i64::from(counts.held))
        .bind(i64::from(counts.deferred))
        .bind(i64::from(counts.drift))
        .bind(i64::from(counts.stale))
        .bind(error)
        .bind(id)
        .bind(self.pipeline())
        .execute(tx.conn())
        .await
        .map_err(query("finish run"))?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// The latest `limit` runs, newest first.
    pub async fn recent_runs(&self, limit: u32) -> Result<Vec<Run>, StoreError> {
        let rows: Vec<RunRow> = sqlx::query_as(
            "SELECT id, started_at, finished_at, outcome, dry_run, created, updated,
                 unchanged, skipped, orphaned, failed, held, deferred, drift, stale, error, due
             FROM runs WHERE pipeline = $2 ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .bind(self.pipeline())
        .fetch_all(&self.pool)
        .await
        .map_err(query("list runs"))?;
        rows.into_iter().map(Run::try_from).collect()
    }

    /// Every pipeline the database knows (it has runs or holds a lock), in name order:
    /// who holds its run lock and until when, and its latest run. Across pipelines, for
    /// `status` over a config with several and for the metrics.
    pub async fn pipelines(&self) -> Result<Vec<PipelineState>, StoreError> {
        let names: Vec<(String,)> = sqlx::query_as(
            "SELECT pipeline FROM runs UNION SELECT pipeline FROM run_lock ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(query("list pipelines"))?;
        let mut all = Vec::with_capacity(names.len());
        for (name,) in names {
            let handle = self.for_pipeline(&name);
            let last_run = handle.recent_runs(1).await?.into_iter().next();
            let holder: Option<(String, String)> =
                sqlx::query_as("SELECT holder, lease_until FROM run_lock WHERE pipeline = $1")
                    .bind(&name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(query("read lock holder"))?;
            let holder = holder
                .map(|(h, until)| Ok::<_, StoreError>((h, parse_ts("run lock", &until)?)))
                .transpose()?;
            all.push(PipelineState {
                name,
                holder,
                last_run,
            });
        }
        Ok(all)
    }

    /// Records one operation on one unit during run `run_id`; returns the event id.
    pub async fn record_event(
        &self,
        run_id: i64,
        source_id: &str,
        target: &str,
        action: &str,
        result: &str,
        error: Option<&str>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write("record event").await?;
        let event = EventRecord {
            run_id,
            source_id,
            target,
            action,
            result,
            error,
        };
        let id = insert_event_in(tx.conn(), &event, &fmt_ts(Utc::now())).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// What a batch of finished units leaves behind besides their own writes, in one
    /// transaction: an event for each unit that did something (or failed), and the
    /// result on each linked group's row that its unit did not write itself. A link's
    /// row is rewritten only when that result differs from what it holds, so a run in
    /// which nothing changed adds nothing to the database, however many groups.
    pub async fn record_units(
        &self,
        run_id: i64,
        source_provider: ProviderKind,
        units: &[UnitRecord<'_>],
    ) -> Result<(), StoreError> {
        if units.is_empty() {
            return Ok(());
        }
        let now = fmt_ts(Utc::now());
        let mut tx = self.begin_write("record units").await?;
        for u in units {
            if u.event {
                let event = EventRecord {
                    run_id,
                    source_id: u.source_id,
                    target: u.target,
                    action: u.action,
                    result: u.result.as_str(),
                    error: u.error,
                };
                insert_event_in(tx.conn(), &event, &now).await?;
            }
            if u.link_result {
                let unit = LinkResult {
                    source_provider,
                    source_id: u.source_id,
                    target: u.target,
                    result: u.result,
                    error: u.error,
                };
                set_link_result_in(tx.conn(), self.pipeline(), &unit, &now).await?;
            }
        }
        tx.commit().await
    }

    /// The events of one run, in the order they happened.
    pub async fn events(&self, run_id: i64) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT id, run_id, source_id, target, action, result, error, at
             FROM events WHERE run_id = $1 ORDER BY id",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .map_err(query("list events"))?;
        rows.into_iter().map(Event::try_from).collect()
    }
}
