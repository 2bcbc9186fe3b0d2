//! Membership on a target that creates no one (`MemberTarget::finder`, an LMS such as
//! iSpring Learn): the entering people are found by email in batches, those without
//! an account are recorded as such, and the difference is written the cheaper way.
//!
//! **Cost rule** (calls are what a rate-limited account pays for): writing per member
//! costs one call per change (`adds + removes`); one replace costs one call whose body
//! carries the group's whole membership, counted as `1 + ⌈members / IDS_PER_CALL⌉`
//! calls' worth (a body of [`IDS_PER_CALL`] ids weighs about what one call of a
//! listing page does). The replace is used when it costs less — and only when it is
//! safe (below).
//!
//! **Lookups**: an add whose contact id the store knows costs no lookup; the others go
//! in batches of the target's `lookup_limit`, ⌈unknown / limit⌉ calls. Listing the
//! whole account instead would cost ⌈account users / page⌉ calls and is never chosen:
//! no documented call says how many users an account has, and the batched lookup
//! costs no more whenever the unknown emails are fewer than the account's users — the
//! usual case once the first run is done.
//!
//! **Safety of a replace** (it removes everyone not sent): it is sent only with a set
//! computed from a complete, current source read (the caller fails the unit on any
//! read error before reaching here), after every lookup succeeded (a failed lookup
//! stops the unit before any write), and with a contact id for every member who stays
//! (else the per-member calls are used). Held removals stay in the set, so the guard
//! holds exactly as it does per member. A crash after the replace and before the store
//! records it repeats the same replace on the next run: nothing lost, nothing doubled.

use super::{Done, MemberError, MemberOutcome, add, remove};
use chrono::Utc;
use sgsync_model::members::{Member, MemberDiff, MemberHash, Synced};
use sgsync_provider::members::{FindsContacts, MemberTarget};
use sgsync_store::{MemberKey, Store};
use std::collections::{BTreeSet, HashMap, HashSet};
use tracing::info;

/// Ids one call's worth of a replace body carries (see the cost rule above).
pub const IDS_PER_CALL: usize = 1000;

/// A "no account" verdict older than this is looked up again: people get LMS
/// accounts over time. Within it, a person without an account costs no call.
pub const RECHECK_NO_ACCOUNT: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Whether one replace carrying `members` ids costs less than `changes` per-member
/// calls (the cost rule above).
pub fn replace_is_cheaper(changes: usize, members: usize) -> bool {
    1 + members.div_ceil(IDS_PER_CALL) < changes
}

/// Emails compared as one mailbox per lower-cased address: the target's matching is
/// not documented ([unknown]), so an answer spelled in another case still counts.
fn folded(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Finds the entering people by email (batches), records what was found and who has
/// no account, then writes the difference. Returns the member count afterwards.
#[allow(clippy::too_many_arguments)]
pub(super) async fn write(
    writer: &dyn MemberTarget,
    finder: &dyn FindsContacts,
    store: &Store,
    key: MemberKey<'_>,
    group: &str,
    diff: &MemberDiff,
    synced: &Synced,
    outcome: &mut MemberOutcome,
    done: &mut Done,
) -> Result<usize, MemberError> {
    let hashes: Vec<MemberHash> = diff.adds.iter().map(|m| m.hash).collect();
    let mut ids: HashMap<MemberHash, String> = store.contact_ids(key.target, &hashes).await?;
    let unknown: Vec<&Member> = diff
        .adds
        .iter()
        .filter(|m| !ids.contains_key(&m.hash))
        .collect();
    let mut missing_total = 0;
    for chunk in unknown.chunks(finder.lookup_limit().max(1)) {
        let emails: Vec<String> = chunk.iter().map(|m| m.display.clone()).collect();
        // An error here stops the unit before anything is written.
        let contacts = finder.find_by_email(&emails).await?;
        let mut by_email: HashMap<String, Vec<&Member>> = HashMap::new();
        for m in chunk {
            by_email.entry(folded(&m.display)).or_default().push(m);
        }
        let mut found = Vec::new();
        let mut seen = HashSet::new();
        for c in &contacts {
            for m in by_email.get(&folded(&c.email)).into_iter().flatten() {
                // Two users answering one address: the first is kept, the same each run
                // (the answer's order), and the other is never touched.
                if seen.insert(m.hash) {
                    found.push((m.hash, c.id.clone()));
                }
            }
        }
        let missing: Vec<MemberHash> = chunk
            .iter()
            .filter(|m| !seen.contains(&m.hash))
            .map(|m| m.hash)
            .collect();
        store
            .record_lookup(key.target, &found, &missing, Utc::now())
            .await?;
        done.by_email += found.len();
        missing_total += missing.len();
        ids.extend(found);
    }
    if missing_total > 0 {
        info!(
            without_account = missing_total,
            "source people without an account on the target are counted, never created"
        );
    }
    *outcome.without_account.get_or_insert(0) += missing_total;
    let adds: Vec<Member> = diff
        .adds
        .iter()
        .filter(|m| ids.contains_key(&m.hash))
        .cloned()
        .collect();
    let removes = diff.removes_applied();
    let leaving: HashSet<&MemberHash> = removes.iter().collect();
    let staying: Vec<MemberHash> = synced
        .hashes
        .iter()
        .filter(|h| !leaving.contains(h))
        .cloned()
        .collect();
    let staying_ids = store.contact_ids(key.target, &staying).await?;
    let leaving_ids = store.contact_ids(key.target, removes).await?;
    let mut set: BTreeSet<&String> = staying_ids.values().collect();
    set.extend(adds.iter().filter_map(|m| ids.get(&m.hash)));
    let complete = staying_ids.len() == staying.len();
    let changes = adds.len() + leaving_ids.len();
    let replace = writer.replacer().filter(|r| {
        complete && set.len() <= r.replace_limit() && replace_is_cheaper(changes, set.len())
    });
    let after = set.len();
    if let Some(replacer) = replace {
        let list: Vec<String> = set.into_iter().cloned().collect();
        replacer.replace(group, &list).await?;
        let rows: Vec<(MemberHash, String)> = adds
            .iter()
            .filter_map(|m| Some((m.hash, ids.get(&m.hash)?.clone())))
            .collect();
        done.tried += rows.len() + removes.len();
        store.record_added(key, &rows).await?;
        done.added += rows.len();
        store.record_removed(key, removes).await?;
        done.removed += removes.len();
        outcome.replaced = true;
        return Ok(after);
    }
    add(writer, store, key, group, &adds, done).await?;
    remove(writer, store, key, group, removes, done).await?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_rule_picks_per_member_for_a_few_changes_and_replace_for_many() {
        // 7 000 members: a replace weighs 1 + 7 = 8 calls.
        assert!(!replace_is_cheaper(3, 7000));
        assert!(!replace_is_cheaper(8, 7000));
        assert!(replace_is_cheaper(9, 7000));
        // A small group: two changes already cost more than one replace.
        assert!(!replace_is_cheaper(1, 10));
        assert!(!replace_is_cheaper(2, 10));
        assert!(replace_is_cheaper(3, 10));
        assert!(replace_is_cheaper(70, 7000));
    }
}
