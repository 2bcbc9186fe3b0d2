//! Intents: a create is recorded before it is sent, so that after a crash the next run
//! looks the stable key up on the target instead of creating a second group.

use super::links::upsert_link_in;
use super::{Intent, Link, Store, StoreError, fmt_ts, parse_ts, query};
use sgsync_model::ProviderKind;
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
struct IntentRow {
    source_provider: String,
    source_id: String,
    target: String,
    target_provider: String,
    stable_key: String,
    group_name: String,
    payload_hash: String,
    created_at: String,
    /// 0 or 1: an integer in both backends.
    sent: i64,
}

impl TryFrom<IntentRow> for Intent {
    type Error = StoreError;
    fn try_from(r: IntentRow) -> Result<Intent, StoreError> {
        const WHAT: &str = "intent";
        Ok(Intent {
            source_provider: r.source_provider,
            source_id: r.source_id,
            target: r.target,
            target_provider: r.target_provider,
            stable_key: r.stable_key,
            group_name: r.group_name,
            payload_hash: r.payload_hash,
            created_at: parse_ts(WHAT, &r.created_at)?,
            sent: r.sent != 0,
        })
    }
}

async fn delete_intent_in(
    conn: &mut AnyConnection,
    pipeline: &str,
    source_provider: &str,
    source_id: &str,
    target: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "DELETE FROM intents WHERE pipeline = $4 AND source_provider = $1 AND source_id = $2 AND target = $3",
    )
    .bind(source_provider)
    .bind(source_id)
    .bind(target)
    .bind(pipeline)
    .execute(conn)
    .await
    .map_err(query("delete intent"))?;
    Ok(done.rows_affected() > 0)
}

impl Store {
    /// Records a create about to be looked up and maybe sent; commits before returning,
    /// which is the point. A second intent for the same unit replaces the first but
    /// keeps its `sent` mark: a create an earlier run sent may still have landed.
    pub async fn record_intent(&self, intent: &Intent) -> Result<(), StoreError> {
        let mut tx = self.begin_write("record intent").await?;
        sqlx::query(
            "INSERT INTO intents (pipeline, source_provider, source_id, target, target_provider,
                 stable_key, group_name, payload_hash, created_at, sent)
             VALUES ($10, $1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (pipeline, source_provider, source_id, target) DO UPDATE SET
                 target_provider = excluded.target_provider,
                 stable_key = excluded.stable_key,
                 group_name = excluded.group_name,
                 payload_hash = excluded.payload_hash,
                 created_at = excluded.created_at,
                 -- once sent, always sent: that create may still land
                 sent = CASE WHEN excluded.sent > intents.sent THEN excluded.sent ELSE intents.sent END",
        )
        .bind(intent.source_provider.as_str())
        .bind(&intent.source_id)
        .bind(&intent.target)
        .bind(intent.target_provider.as_str())
        .bind(&intent.stable_key)
        .bind(&intent.group_name)
        .bind(&intent.payload_hash)
        .bind(fmt_ts(intent.created_at))
        .bind(i64::from(intent.sent))
        .bind(self.pipeline())
        .execute(tx.conn())
        .await
        .map_err(query("record intent"))?;
        tx.commit().await
    }

    /// The create is about to be sent: from now on a same-named group on the target may
    /// be the one this store created. Committed before the call it announces.
    pub async fn mark_intent_sent(
        &self,
        source_provider: ProviderKind,
        source_id: &str,
        target: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write("mark intent sent").await?;
        let done = sqlx::query(
            "UPDATE intents SET sent = 1
             WHERE pipeline = $4 AND source_provider = $1 AND source_id = $2 AND target = $3",
        )
        .bind(source_provider.as_str())
        .bind(source_id)
        .bind(target)
        .bind(self.pipeline())
        .execute(tx.conn())
        .await
        .map_err(query("mark intent sent"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Corrupt {
                what: "intent",
                why: format!("no intent for {source_id} → {target} to mark as sent"),
            });
        }
        tx.commit().await
    }

    /// Creates that were sent but never confirmed, or those of one target.
    pub async fn intents(&self, target: Option<&str>) -> Result<Vec<Intent>, StoreError> {
        let rows: Vec<IntentRow> = sqlx::query_as(
            "SELECT source_provider, source_id, target, target_provider, stable_key,
                 group_name, payload_hash, created_at, sent
             FROM intents WHERE pipeline = $2 AND ($1 IS NULL OR target = $1)
             ORDER BY target, source_provider, source_id",
        )
        .bind(target)
        .bind(self.pipeline())
        .fetch_all(&self.pool)
        .await
        .map_err(query("list intents"))?;
        rows.into_iter().map(Intent::try_from).collect()
    }

    /// The create was confirmed: the intent becomes `link`, in one transaction, so a
    /// crash leaves either the intent (looked up again next run) or the link, never
    /// neither.
    pub async fn complete_intent(&self, link: &Link) -> Result<(), StoreError> {
        let mut tx = self.begin_write("complete intent").await?;
        delete_intent_in(
            tx.conn(),
            self.pipeline(),
            &link.source_provider,
            &link.source_id,
            &link.target,
        )
        .await?;
        upsert_link_in(tx.conn(), self.pipeline(), link).await?;
        tx.commit().await
    }

    /// The create failed for sure (the target said no), or was never sent: forget the
    /// intent. `false` if there was none.
    pub async fn drop_intent(
        &self,
        source_provider: ProviderKind,
        source_id: &str,
        target: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write("drop intent").await?;
        let dropped = delete_intent_in(
            tx.conn(),
            self.pipeline(),
            source_provider.as_str(),
            source_id,
            target,
        )
        .await?;
        tx.commit().await?;
        Ok(dropped)
    }
}
