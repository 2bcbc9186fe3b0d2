//! Membership state: per link, the hashes of the members last synced to the target group;
//! per target, the contact id behind each hash; per link, counts and the mass-removal
//! guard's memory. Written after every successful batch, so a crash loses at most the
//! batch in flight — which the next run sends again (adds and removes are idempotent).

use super::sql::{marks, values};
use super::{MemberResult, Store, StoreError, fmt_ts, parse_ts, query};
use chrono::{DateTime, Utc};
use sgsync_model::ProviderKind;
use sgsync_model::members::MemberHash;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::{HashMap, HashSet};

/// Rows per multi-row INSERT: 2–4 parameters each stays far below the parameter limits
/// of SQLite (32,766) and PostgreSQL (65,535).
const CHUNK: usize = 400;
/// Rows of a first materialisation's baseline written per transaction (see
/// [`Store::init_members`]).
const BASELINE_ROWS_PER_WRITE: usize = 10_000;

/// Which link a membership row belongs to.
#[derive(Debug, Clone, Copy)]
pub struct MemberKey<'a> {
    pub source_provider: ProviderKind,
    pub source_id: &'a str,
    pub target: &'a str,
}

/// What the store remembers of one link's membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub source_provider: String,
    pub source_id: String,
    pub target: String,
    pub member_count: u64,
    pub without_email: u64,
    /// Source people without an account on the target (a target that never creates
    /// them: iSpring Learn); `None` for a target that creates contacts.
    pub without_account: Option<u64>,
    /// When the target group last equalled the source group (`Snapshot(at)`).
    pub synced_at: Option<DateTime<Utc>>,
    pub held_runs: u32,
    pub held_reason: Option<String>,
    pub last_result: Option<MemberResult>,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The end of one membership unit, as recorded.
#[derive(Debug, Clone)]
pub struct MembershipEnd<'a> {
    pub without_email: u64,
    pub without_account: Option<u64>,
    /// `Some(now)` when the target now equals the source.
    pub synced_at: Option<DateTime<Utc>>,
    pub held_runs: u32,
    pub held_reason: Option<&'a str>,
    pub result: MemberResult,
    pub error: Option<&'a str>,
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    source_provider: String,
    source_id: String,
    target: String,
    member_count: i64,
    without_email: i64,
    without_account: Option<i64>,
    synced_at: Option<String>,
    held_runs: i64,
    held_reason: Option<String>,
    last_result: Option<String>,
    last_error: Option<String>,
    updated_at: String,
}

impl TryFrom<MembershipRow> for Membership {
    type Error = StoreError;
    fn try_from(r: MembershipRow) -> Result<Self, StoreError> {
        const WHAT: &str = "membership";
        let count = |v: i64| {
            u64::try_from(v).map_err(|_| StoreError::Corrupt {
                what: WHAT,
                why: format!("negative count {v}"),
            })
        };
        Ok(Membership {
            source_provider: r.source_provider,
            source_id: r.source_id,
            target: r.target,
            member_count: count(r.member_count)?,
            without_email: count(r.without_email)?,
            without_account: r.without_account.map(count).transpose()?,
            synced_at: r.synced_at.map(|t| parse_ts(WHAT, &t)).transpose()?,
            held_runs: u32::try_from(r.held_runs).unwrap_or(0),
            held_reason: r.held_reason,
            last_result: r
                .last_result
                .map(|t| t.parse())
                .transpose()
                .map_err(|why| StoreError::Corrupt { what: WHAT, why })?,
            last_error: r.last_error,
            updated_at: parse_ts(WHAT, &r.updated_at)?,
        })
    }
}

async fn ensure_row(
    conn: &mut AnyConnection,
    pipeline: &str,
    key: MemberKey<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO membership (pipeline, source_provider, source_id, target, updated_at)
         VALUES ($5, $1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(key.source_provider.as_str())
    .bind(key.source_id)
    .bind(key.target)
    .bind(fmt_ts(Utc::now()))
    .bind(pipeline)
    .execute(conn)
    .await
    .map_err(query("create membership row"))?;
    Ok(())
}

async fn recount(
    conn: &mut AnyConnection,
    pipeline: &str,
    key: MemberKey<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE membership SET member_count = (SELECT count(*) FROM members
             WHERE pipeline = $5 AND source_provider = $1 AND source_id = $2 AND target = $3),
             updated_at = $4
         WHERE pipeline = $5 AND source_provider = $1 AND source_id = $2 AND target = $3",
    )
    .bind(key.source_provider.as_str())
    .bind(key.source_id)
    .bind(key.target)
    .bind(fmt_ts(Utc::now()))
    .bind(pipeline)
    .execute(conn)
    .await
    .map_err(query("count members"))?;
    Ok(())
}

/// Records the target's contact id for each (hash, contact id) of `rows`, replacing an
/// older one.
async fn upsert_contact_ids(
    conn: &mut AnyConnection,
    pipeline: &str,
    target: &str,
    rows: &[(MemberHash, String)],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(CHUNK) {
        let rows_sql = values(chunk.len(), 4);
        let sql = format!(
            "INSERT INTO contact_ids (pipeline, target, email_hash, contact_id) VALUES {rows_sql}
             ON CONFLICT (pipeline, target, email_hash) DO UPDATE SET contact_id = excluded.contact_id"
        );
        let mut q = sqlx::query(&sql);
        for (hash, id) in chunk {
            q = q.bind(pipeline).bind(target).bind(hash.to_hex()).bind(id);
        }
        q.execute(&mut *conn)
            .await
            .map_err(query("record contact ids"))?;
    }
    Ok(())
}

/// Records `rows` (hash, contact id) as members of the link and their ids for the target.
async fn insert_members(
    conn: &mut AnyConnection,
    pipeline: &str,
    key: MemberKey<'_>,
    rows: &[(MemberHash, String)],
) -> Result<(), StoreError> {
    upsert_contact_ids(conn, pipeline, key.target, rows).await?;
    for chunk in rows.chunks(CHUNK) {
        let rows_sql = values(chunk.len(), 5);
        let sql = format!(
            "INSERT INTO members (pipeline, source_provider, source_id, target, email_hash)
             VALUES {rows_sql} ON CONFLICT DO NOTHING"
        );
        let mut q = sqlx::query(&sql);
        for (hash, _) in chunk {
            q = q
                .bind(pipeline)
                .bind(key.source_provider.as_str())
                .bind(key.source_id)
                .bind(key.target)
                .bind(hash.to_hex());
        }
        q.execute(&mut *conn)
            .await
            .map_err(query("record members"))?;
    }
    Ok(())
}

/// Runs `sql` once per chunk of `keys`, its `(?…)` replaced by the chunk's `($n, $n+1, …)`
/// (numbered after the leading parameters `$1…`),
/// binding `leading` first and then the chunk; every row any chunk answers. One loop
/// for every `IN (…)` query here: SQLite caps a statement's parameters, so a long key
/// list is sent in chunks.
async fn in_chunks<K: std::fmt::Display>(
    conn: &mut AnyConnection,
    what: &'static str,
    sql: &str,
    leading: &[&str],
    keys: &[K],
) -> Result<Vec<AnyRow>, StoreError> {
    let mut rows = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        let statement = sql.replace(
            "(?…)",
            &format!("({})", marks(leading.len() + 1, chunk.len())),
        );
        let mut q = sqlx::query(&statement);
        for value in leading {
            q = q.bind(*value);
        }
        for key in chunk {
            q = q.bind(key.to_string());
        }
        rows.extend(q.fetch_all(&mut *conn).await.map_err(query(what))?);
    }
    Ok(rows)
}

/// A member hash as stored (32 hex digits); anything else is a corrupt row, named.
fn stored_hash(what: &'static str, text: &str) -> Result<MemberHash, StoreError> {
    MemberHash::from_hex(text).ok_or_else(|| StoreError::Corrupt {
        what,
        why: format!(
            "its email_hash is not 32 hex digits ({} characters): the state database was changed outside sgsync; restore it from a backup",
            text.len()
        ),
    })
}

/// The (hash, contact id) pairs of `rows` (two text columns).
fn pairs(what: &'static str, rows: Vec<AnyRow>) -> Result<Vec<(MemberHash, String)>, StoreError> {
    rows.iter()
        .map(|row| {
            let hash: String = row.try_get(0).map_err(query(what))?;
            let id: String = row.try_get(1).map_err(query(what))?;
            Ok((stored_hash(what, &hash)?, id))
        })
        .collect()
}

impl Store {
    /// The hashes last synced for the link and the guard's count of held runs; `None`
    /// before its first materialisation.
    pub async fn synced_members(
        &self,
        key: MemberKey<'_>,
    ) -> Result<Option<(HashSet<MemberHash>, u32)>, StoreError> {
        let held: Option<(i64,)> = sqlx::query_as(
            "SELECT held_runs FROM membership
             WHERE pipeline = $4 AND source_provider = $1 AND source_id = $2 AND target = $3",
        )
        .bind(key.source_provider.as_str())
        .bind(key.source_id)
        .bind(key.target)
        .bind(self.pipeline())
        .fetch_optional(&self.pool)
        .await
        .map_err(query("read membership"))?;
        let Some((held,)) = held else {
            return Ok(None);
        };
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT email_hash FROM members
             WHERE pipeline = $4 AND source_provider = $1 AND source_id = $2 AND target = $3",
        )
        .bind(key.source_provider.as_str())
        .bind(key.source_id)
        .bind(key.target)
        .bind(self.pipeline())
        .fetch_all(&self.pool)
        .await
        .map_err(query("read members"))?;
        let hashes = rows
            .iter()
            .map(|(h,)| stored_hash("members", h))
            .collect::<Result<_, _>>()?;
        Ok(Some((hashes, u32::try_from(held).unwrap_or(0))))
    }

    /// First materialisation of a link: what the target group already holds becomes the
    /// synced set, the membership row written last.
    pub async fn init_members(
        &self,
        key: MemberKey<'_>,
        baseline: &[(MemberHash, String)],
    ) -> Result<(), StoreError> {
        self.init_members_per(key, baseline, BASELINE_ROWS_PER_WRITE)
            .await
    }

    /// [`Store::init_members`], `per_write` rows a transaction. One transaction for a
    /// large group held the write lock past the 5 s every other writer waits — the
    /// run's own lease renewal among them, so the run stopped itself (seen at 101,000
    /// members in a debug build). Until the last transaction writes the membership row
    /// the link reads as never materialised, so a run cut part-way starts over, and
    /// the first transaction clears what such a run left.
    async fn init_members_per(
        &self,
        key: MemberKey<'_>,
        baseline: &[(MemberHash, String)],
        per_write: usize,
    ) -> Result<(), StoreError> {
        let per_write = per_write.max(1);
        let mut tx = self.begin_write("start members").await?;
        sqlx::query(
            "DELETE FROM members
             WHERE pipeline = $4 AND source_provider = $1 AND source_id = $2 AND target = $3
               AND NOT EXISTS (SELECT 1 FROM membership AS m WHERE m.pipeline = $4
                   AND m.source_provider = $1 AND m.source_id = $2 AND m.target = $3)",
        )
        .bind(key.source_provider.as_str())
        .bind(key.source_id)
        .bind(key.target)
        .bind(self.pipeline())
        .execute(tx.conn())
        .await
        .map_err(query("clear a cut baseline"))?;
        tx.commit().await?;
        let last = baseline.len().saturating_sub(1) / per_write * per_write;
        for chunk in baseline[..last].chunks(per_write) {
            let mut tx = self.begin_write("add members").await?;
            insert_members(tx.conn(), self.pipeline(), key, chunk).await?;
            tx.commit().await?;
        }
        // The last rows with the membership row and its count, as an add batch.
        self.record_added(key, &baseline[last..]).await
    }

    /// One successful add batch (or one created contact): the members and their ids.
    pub async fn record_added(
        &self,
        key: MemberKey<'_>,
        rows: &[(MemberHash, String)],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write("add members").await?;
        ensure_row(tx.conn(), self.pipeline(), key).await?;
        insert_members(tx.conn(), self.pipeline(), key, rows).await?;
        recount(tx.conn(), self.pipeline(), key).await?;
        tx.commit().await
    }

    /// One successful remove batch.
    pub async fn record_removed(
        &self,
        key: MemberKey<'_>,
        hashes: &[MemberHash],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write("remove members").await?;
        in_chunks(
            tx.conn(),
            "remove members",
            "DELETE FROM members WHERE source_provider = $1 AND source_id = $2 AND target = $3
             AND pipeline = $4 AND email_hash IN (?…)",
            &[
                key.source_provider.as_str(),
                key.source_id,
                key.target,
                self.pipeline(),
            ],
            hashes,
        )
        .await?;
        recount(tx.conn(), self.pipeline(), key).await?;
        tx.commit().await
    }

    /// The target's contact ids known for `hashes`.
    pub async fn contact_ids(
        &self,
        target: &str,
        hashes: &[MemberHash],
    ) -> Result<HashMap<MemberHash, String>, StoreError> {
        const WHAT: &str = "read contact ids";
        let mut conn = self.pool.acquire().await.map_err(query(WHAT))?;
        let rows = in_chunks(
            &mut conn,
            WHAT,
            "SELECT email_hash, contact_id FROM contact_ids
             WHERE target = $1 AND pipeline = $2 AND email_hash IN (?…)",
            &[target, self.pipeline()],
            hashes,
        )
        .await?;
        Ok(pairs(WHAT, rows)?.into_iter().collect())
    }

    /// The link's members (hash, contact id) whose contact id is one of `ids`.
    pub async fn members_with_contacts(
        &self,
        key: MemberKey<'_>,
        ids: &[String],
    ) -> Result<Vec<(MemberHash, String)>, StoreError> {
        const WHAT: &str = "read members by contact";
        let mut conn = self.pool.acquire().await.map_err(query(WHAT))?;
        let rows = in_chunks(
            &mut conn,
            WHAT,
            "SELECT m.email_hash, c.contact_id FROM members AS m
             JOIN contact_ids AS c ON c.pipeline = m.pipeline AND c.target = m.target
                 AND c.email_hash = m.email_hash
             WHERE m.source_provider = $1 AND m.source_id = $2 AND m.target = $3
               AND m.pipeline = $4 AND c.contact_id IN (?…)",
            &[
                key.source_provider.as_str(),
                key.source_id,
                key.target,
                self.pipeline(),
            ],
            ids,
        )
        .await?;
        pairs(WHAT, rows)
    }

    /// What one lookup by email found: `found` (hash, contact id) are recorded as the
    /// target's contacts and lose any "no account" verdict; `missing` get one, dated
    /// `at`. One transaction: a crash records the whole lookup or none of it.
    pub async fn record_lookup(
        &self,
        target: &str,
        found: &[(MemberHash, String)],
        missing: &[MemberHash],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write("record lookup").await?;
        upsert_contact_ids(tx.conn(), self.pipeline(), target, found).await?;
        let found_hashes: Vec<MemberHash> = found.iter().map(|(h, _)| *h).collect();
        in_chunks(
            tx.conn(),
            "clear no-account verdicts",
            "DELETE FROM no_account WHERE target = $1 AND pipeline = $2 AND email_hash IN (?…)",
            &[target, self.pipeline()],
            &found_hashes,
        )
        .await?;
        let stamp = fmt_ts(at);
        for chunk in missing.chunks(CHUNK) {
            let rows_sql = values(chunk.len(), 4);
            let sql = format!(
                "INSERT INTO no_account (pipeline, target, email_hash, checked_at) VALUES {rows_sql}
                 ON CONFLICT (pipeline, target, email_hash) DO UPDATE SET checked_at = excluded.checked_at"
            );
            let mut q = sqlx::query(&sql);
            for hash in chunk {
                q = q
                    .bind(self.pipeline())
                    .bind(target)
                    .bind(hash.to_hex())
                    .bind(&stamp);
            }
            q.execute(tx.conn())
                .await
                .map_err(query("record no-account verdicts"))?;
        }
        tx.commit().await
    }

    /// Those of `hashes` a lookup on `target` found no account for at or after `since`.
    pub async fn no_account(
        &self,
        target: &str,
        hashes: &[MemberHash],
        since: DateTime<Utc>,
    ) -> Result<HashSet<MemberHash>, StoreError> {
        const WHAT: &str = "read no-account verdicts";
        let mut conn = self.pool.acquire().await.map_err(query(WHAT))?;
        let since = fmt_ts(since);
        let rows = in_chunks(
            &mut conn,
            WHAT,
            "SELECT email_hash, checked_at FROM no_account
             WHERE target = $1 AND checked_at >= $2 AND pipeline = $3 AND email_hash IN (?…)",
            &[target, &since, self.pipeline()],
            hashes,
        )
        .await?;
        Ok(pairs(WHAT, rows)?.into_iter().map(|(h, _)| h).collect())
    }

    /// A contact id the target no longer knows.
    pub async fn forget_contact_ids(
        &self,
        target: &str,
        hashes: &[MemberHash],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write("forget contact ids").await?;
        in_chunks(
            tx.conn(),
            "forget contact ids",
            "DELETE FROM contact_ids WHERE target = $1 AND pipeline = $2 AND email_hash IN (?…)",
            &[target, self.pipeline()],
            hashes,
        )
        .await?;
        tx.commit().await
    }

    /// The end of a membership unit: counts, guard memory, result.
    pub async fn finish_members(
        &self,
        key: MemberKey<'_>,
        end: &MembershipEnd<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write("finish members").await?;
        ensure_row(tx.conn(), self.pipeline(), key).await?;
        sqlx::query(
            "UPDATE membership SET without_email = $1, without_account = $2, synced_at = coalesce($3, synced_at),
                 held_runs = $4, held_reason = $5, last_result = $6, last_error = $7, updated_at = $8
             WHERE pipeline = $12 AND source_provider = $9 AND source_id = $10 AND target = $11",
        )
        .bind(i64::try_from(end.without_email).unwrap_or(i64::MAX))
        .bind(
            end.without_account
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        )
        .bind(end.synced_at.map(fmt_ts))
        .bind(i64::from(end.held_runs))
        .bind(end.held_reason)
        .bind(end.result.as_str())
        .bind(end.error)
        .bind(fmt_ts(Utc::now()))
        .bind(key.source_provider.as_str())
        .bind(key.source_id)
        .bind(key.target)
        .bind(self.pipeline())
        .execute(tx.conn())
        .await
        .map_err(query("finish members"))?;
        tx.commit().await
    }

    /// What the link's fidelity says: `snapshot` once its members are materialised.
    pub async fn set_link_fidelity(
        &self,
        key: MemberKey<'_>,
        fidelity: &str,
        reasons: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write("set link fidelity").await?;
        sqlx::query(
            "UPDATE links SET fidelity = $1, fidelity_reasons = $2
             WHERE pipeline = $6 AND source_provider = $3 AND source_id = $4 AND target = $5",
        )
        .bind(fidelity)
        .bind(reasons)
        .bind(key.source_provider.as_str())
        .bind(key.source_id)
        .bind(key.target)
        .bind(self.pipeline())
        .execute(tx.conn())
        .await
        .map_err(query("set link fidelity"))?;
        tx.commit().await
    }

    /// Every link's membership record, in a stable order.
    pub async fn memberships(&self) -> Result<Vec<Membership>, StoreError> {
        let rows: Vec<MembershipRow> = sqlx::query_as(
            "SELECT source_provider, source_id, target, member_count, without_email,
                    without_account, synced_at, held_runs, held_reason, last_result, last_error, updated_at
             FROM membership WHERE pipeline = $1 ORDER BY target, source_provider, source_id",
        )
        .bind(self.pipeline())
        .fetch_all(&self.pool)
        .await
        .map_err(query("list memberships"))?;
        rows.into_iter().map(Membership::try_from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOSQUARED: ProviderKind = ProviderKind::new("gosquared", "GoSquared");
    use crate::Link;

    fn hash(s: &str) -> MemberHash {
        sgsync_model::members::Email::normalise(&format!("{s}@example.test"))
            .map(|e| e.hash())
            .unwrap_or_else(|| panic!("{s}: an address"))
    }

    fn link(source_id: &str) -> Link {
        Link {
            source_provider: "gosquared".to_owned(),
            source_id: source_id.to_owned(),
            target: "news".to_owned(),
            target_provider: "emfluence".to_owned(),
            target_id: "1001".to_owned(),
            stable_key: format!("sgsync:gosquared:{source_id}"),
            group_name: "G".to_owned(),
            payload_hash: None,
            fidelity: "lossy".to_owned(),
            fidelity_reasons: String::new(),
            last_result: None,
            last_error: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    /// A new SQLite store in the temporary directory holding the link `g1`, and its path.
    async fn store_with_link(tag: &str) -> (Store, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!(
            "sgsync-store-{tag}-{}-{}.db",
            std::process::id(),
            fastrand::u64(..)
        ));
        let store = Store::open(&path).await.unwrap();
        store.upsert_link(&link("g1")).await.unwrap();
        (store, path)
    }

    fn key(source_id: &str) -> MemberKey<'_> {
        MemberKey {
            source_provider: GOSQUARED,
            source_id,
            target: "news",
        }
    }

    #[tokio::test]
    async fn a_baseline_goes_in_several_writes_and_a_cut_one_starts_over() {
        let (store, path) = store_with_link("baseline").await;
        let key = key("g1");
        let rows = |n: usize, tag: &str| -> Vec<(MemberHash, String)> {
            (0..n)
                .map(|i| (hash(&format!("{tag}{i}")), format!("{tag}{i}")))
                .collect()
        };
        // A run cut after its first writes: member rows, no membership row.
        let cut = rows(25, "old");
        let mut tx = store.begin_write("add members").await.unwrap();
        insert_members(tx.conn(), store.pipeline(), key, &cut[..20])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.synced_members(key).await.unwrap(),
            None,
            "not materialised"
        );
        // The next run starts over with another baseline, 10 rows a write.
        let baseline = rows(25, "new");
        store.init_members_per(key, &baseline, 10).await.unwrap();
        let (hashes, _) = store.synced_members(key).await.unwrap().unwrap();
        let want: HashSet<MemberHash> = baseline.iter().map(|(h, _)| *h).collect();
        assert_eq!(hashes, want, "the cut run's rows are gone");
        assert_eq!(store.memberships().await.unwrap()[0].member_count, 25);
        // An exact multiple of the write size, and an empty baseline.
        for (n, source_id) in [(20, "g2"), (0, "g3")] {
            store.upsert_link(&link(source_id)).await.unwrap();
            let key = self::key(source_id);
            store
                .init_members_per(key, &rows(n, source_id), 10)
                .await
                .unwrap();
            let (hashes, _) = store.synced_members(key).await.unwrap().unwrap();
            assert_eq!(hashes.len(), n);
        }
        drop(store);
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn members_are_recorded_per_batch_counted_and_go_with_their_link() {
        let (store, path) = store_with_link("members").await;
        let key = key("g1");
        assert_eq!(store.synced_members(key).await.unwrap(), None);
        store
            .init_members(key, &[(hash("a"), "1".into())])
            .await
            .unwrap();
        // Replaying a batch is harmless; 1000 rows cross the multi-row chunk size.
        let batch: Vec<(MemberHash, String)> = (0..1000)
            .map(|i| (hash(&i.to_string()), (100 + i).to_string()))
            .collect();
        store.record_added(key, &batch).await.unwrap();
        store.record_added(key, &batch).await.unwrap();
        let (hashes, held) = store.synced_members(key).await.unwrap().unwrap();
        assert_eq!((hashes.len(), held), (1001, 0));
        assert_eq!(store.memberships().await.unwrap()[0].member_count, 1001);
        let ids = store
            .contact_ids("news", &[hash("a"), hash("7"), hash("zz")])
            .await
            .unwrap();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[&hash("7")], "107");
        store
            .record_removed(
                key,
                &batch[..400].iter().map(|(h, _)| *h).collect::<Vec<_>>(),
            )
            .await
            .unwrap();
        assert_eq!(store.memberships().await.unwrap()[0].member_count, 601);
        let with = store
            .members_with_contacts(key, &["1".into(), "107".into()])
            .await
            .unwrap();
        assert_eq!(with, [(hash("a"), "1".to_owned())], "107 was removed");
        store
            .finish_members(
                key,
                &MembershipEnd {
                    without_email: 3,
                    without_account: Some(4),
                    synced_at: None,
                    held_runs: 2,
                    held_reason: Some("held"),
                    result: MemberResult::Held,
                    error: None,
                },
            )
            .await
            .unwrap();
        let m = &store.memberships().await.unwrap()[0];
        assert_eq!((m.without_email, m.held_runs), (3, 2));
        assert_eq!(m.without_account, Some(4));
        // A lookup: found hashes get ids and lose a verdict; missing ones get one,
        // which only counts when it is recent enough.
        let then = Utc::now() - chrono::Duration::hours(2);
        store
            .record_lookup("news", &[], &[hash("x"), hash("y")], then)
            .await
            .unwrap();
        store
            .record_lookup("news", &[(hash("y"), "9".into())], &[], Utc::now())
            .await
            .unwrap();
        let all = [hash("x"), hash("y"), hash("z")];
        let missing = store
            .no_account("news", &all, then - chrono::Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(missing, HashSet::from([hash("x")]));
        assert!(
            store
                .no_account("news", &all, then + chrono::Duration::hours(1))
                .await
                .unwrap()
                .is_empty(),
            "an old verdict is looked up again"
        );
        assert_eq!(
            store.contact_ids("news", &all).await.unwrap()[&hash("y")],
            "9"
        );
        assert_eq!(m.synced_at, None);
        // Forgetting the link forgets its members (ON DELETE CASCADE).
        assert!(store.delete_link(GOSQUARED, "g1", "news").await.unwrap());
        assert!(store.memberships().await.unwrap().is_empty());
        assert_eq!(store.synced_members(key).await.unwrap(), None);
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
