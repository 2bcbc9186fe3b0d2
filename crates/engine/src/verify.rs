//! The target is checked, not assumed: before a run plans, every target's linked copies
//! are read back within a per-run call budget (`verify_calls_per_run`), in the manner of
//! Terraform's refresh before a plan.
//!
//! 1. The cheap listing (`Provider::listing`: names, existence, status), whole when it
//!    fits in the budget (iSpring answers from the directory the run read already, at no
//!    call): a copy that is gone, renamed or archived is drift.
//! 2. With what is left of the budget, the content (`Provider::verify`: rules,
//!    description) of a rotating slice of the links whose unit would write nothing, in
//!    source-id order from where the last run stopped (a cursor in the store), so every
//!    link is read back in turn. When the listing did not fit, the content check is what
//!    finds copies that are gone; a rotating window of the listing's pages (half of
//!    what is left, from where the last run's window ended) shows the status and name
//!    of the copies on those pages.
//!
//! Only linked copies are read and judged: drift is found on groups sgsync created, and
//! repair (`on_drift = "repair"`, planned as units of their own) acts on those alone.
//! A verification read that fails is reported; it never marks a copy as drifted.

use super::apply::Target;
use super::plan::{Action, Drift, DriftIndex, Planner};
use futures_util::StreamExt;
use sgsync_provider::{Payload, Verified};
use sgsync_store::{Store, StoreError};
use std::collections::HashMap;
use tracing::warn;

/// How many verification calls a target may take per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyBudget {
    /// `verify_calls_per_run = N`.
    Calls(usize),
    /// The default: enough to read every link back within a day at this schedule
    /// (`runs_per_day`), never more than `cap` (a small share of the target's rate
    /// limit over the time between two runs).
    Auto { runs_per_day: usize, cap: usize },
}

impl Default for VerifyBudget {
    fn default() -> Self {
        // Every 15 minutes; 10% of 100 requests a minute over 15 minutes.
        VerifyBudget::Auto {
            runs_per_day: 96,
            cap: 150,
        }
    }
}

impl VerifyBudget {
    /// How many copies' content a run reads back when the calls allow: the automatic
    /// budget's share of the day (every copy once a day), `None` for a budget given in
    /// calls (as many as they read) or for `sgsync verify` (all).
    pub fn slice(self, links: usize, everything: bool) -> Option<usize> {
        match self {
            VerifyBudget::Auto { runs_per_day, .. } if !everything => {
                Some(links.div_ceil(runs_per_day.max(1)))
            }
            _ => None,
        }
    }

    /// Calls for a run over `links` linked copies (`sgsync verify`: `everything`).
    pub fn calls(self, links: usize, everything: bool) -> usize {
        if everything {
            return usize::MAX;
        }
        match self {
            VerifyBudget::Calls(n) => n,
            VerifyBudget::Auto { runs_per_day, cap } => {
                // A listing page per 250 groups, and the day's share of content reads.
                let listing = links.div_ceil(250).max(1);
                let slice = links.div_ceil(runs_per_day.max(1));
                (listing + slice).min(cap)
            }
        }
    }
}

/// What verification did on one target this run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetVerify {
    pub target: String,
    /// The budget it had.
    pub budget: usize,
    /// Calls the listing took, and whether it read every group.
    pub listing_calls: usize,
    pub listed: bool,
    /// Calls the content checks took, and how many copies they read.
    pub content_calls: usize,
    pub content_checked: usize,
    /// Linked copies on this target.
    pub links: usize,
    /// Copies found changed by hand.
    pub drift: usize,
    /// Why a verification read failed, if one did (the copies stay as they were).
    pub error: Option<String>,
}

impl TargetVerify {
    pub fn calls(&self) -> usize {
        self.listing_calls + self.content_calls
    }
}

/// Verification of every target this run.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub targets: Vec<TargetVerify>,
    pub drift: DriftIndex,
}

impl VerifyReport {
    pub fn calls(&self) -> usize {
        self.targets.iter().map(TargetVerify::calls).sum()
    }
}

/// Reads every target back within its budget (`everything`: no budget, every link;
/// `sgsync verify`). `persist`: move the rotation cursor on (not in a dry run).
pub async fn verify(
    planner: Planner<'_>,
    targets: &[Target],
    store: &Store,
    everything: bool,
    persist: bool,
) -> VerifyReport {
    // Every target at once: each has its own account and rate limit.
    let done =
        futures_util::future::join_all(targets.iter().enumerate().map(|(t, target)| async move {
            let mut drift = DriftIndex::default();
            let outcome =
                verify_target(planner, t, target, store, everything, persist, &mut drift).await;
            (outcome, drift)
        }))
        .await;
    let mut report = VerifyReport::default();
    for (outcome, drift) in done {
        report.targets.push(outcome);
        report.drift.by_unit.extend(drift.by_unit);
    }
    report
}

async fn verify_target(
    planner: Planner<'_>,
    t: usize,
    target: &Target,
    store: &Store,
    everything: bool,
    persist: bool,
    drift: &mut DriftIndex,
) -> TargetVerify {
    let name = target.policy.name.clone();
    let links: Vec<(&str, &super::plan::Linked)> = planner.links().of_target(t).collect();
    let budget = target.verify.calls(links.len(), everything);
    let mut out = TargetVerify {
        target: name.clone(),
        budget,
        links: links.len(),
        ..TargetVerify::default()
    };
    if links.is_empty() || budget == 0 {
        return out;
    }
    let provider = target.provider.as_ref();
    let mut found: HashMap<String, Drift> = HashMap::new();
    // 1. The listing.
    match provider.listing(planner.directory(t), budget).await {
        Ok(listing) => {
            out.listing_calls = listing.calls;
            if let Some(groups) = listing.groups {
                out.listed = true;
                let by_id: HashMap<&str, &sgsync_provider::Listed> =
                    groups.iter().map(|g| (g.id.as_str(), g)).collect();
                for (source_id, linked) in &links {
                    let what = match by_id.get(&*linked.target_id) {
                        None => Some((true, "deleted by hand".to_owned())),
                        Some(g) if g.archived => Some((false, "archived by hand".to_owned())),
                        Some(g) if g.name != *linked.group_name => {
                            Some((false, format!("renamed to \"{}\"", g.name)))
                        }
                        Some(_) => None,
                    };
                    if let Some((vanished, what)) = what {
                        found.insert((*source_id).to_owned(), Drift { vanished, what });
                    }
                }
            }
        }
        Err(e) => {
            warn!(target_name = %name, error = %e, "cannot list the target's groups to check them");
            out.error = Some(e.to_string());
            return out;
        }
    }
    // 1b. Too many groups for the budget: a rotating window of the listing (half of what
    // is left), which shows the status and name of the copies on its pages; a copy the
    // window does not show proves nothing (it may be on another page).
    let left = budget.saturating_sub(out.listing_calls);
    if !out.listed && left > 0 {
        let from = match store.listing_page(&name).await {
            Ok(p) => p,
            Err(e) => return store_failed(out, e),
        };
        match provider.listing_window(from, left.div_ceil(2)).await {
            Ok(window) => {
                out.listing_calls += window.calls;
                let by_id: HashMap<&str, &sgsync_provider::Listed> =
                    window.groups.iter().map(|g| (g.id.as_str(), g)).collect();
                for (source_id, linked) in &links {
                    let what = match by_id.get(&*linked.target_id) {
                        Some(g) if g.archived => Some("archived by hand".to_owned()),
                        Some(g) if g.name != *linked.group_name => {
                            Some(format!("renamed to \"{}\"", g.name))
                        }
                        _ => None,
                    };
                    if let Some(what) = what {
                        found.insert(
                            (*source_id).to_owned(),
                            Drift {
                                vanished: false,
                                what,
                            },
                        );
                    }
                }
                if persist
                    && window.calls > 0
                    && let Err(e) = store.set_listing_page(&name, window.next_page).await
                {
                    return store_failed(out, e);
                }
            }
            Err(e) => {
                warn!(target_name = %name, error = %e, "cannot read the target's listing to check it");
                out.error = Some(e.to_string());
                return out;
            }
        }
    }
    // 2. Content, a rotating slice of the copies the listing found nothing wrong with.
    let cursor = match store.verify_cursor(&name).await {
        Ok(c) => c,
        Err(e) => return store_failed(out, e),
    };
    let start = cursor
        .as_deref()
        .map_or(0, |after| links.partition_point(|(id, _)| *id <= after));
    let order = links[start..].iter().chain(links[..start].iter());
    // The slice: the copies next in turn whose unit would write nothing (an update
    // puts any other back), as many as the calls left read — `batch` copies a call
    // where the provider reads several at once — and for the automatic budget no more
    // than its share of the day's copies (batching saves calls, it does not read more).
    let batch = provider.verify_batch().max(1);
    let left = budget.saturating_sub(out.calls());
    let copies = target
        .verify
        .slice(links.len(), everything)
        .map_or(usize::MAX, |share| share.max(1))
        .min(left.saturating_mul(batch));
    let mut slice = Vec::new();
    for (source_id, linked) in order {
        if slice.len() >= copies {
            break;
        }
        if found.contains_key(*source_id) {
            continue;
        }
        let Some(unit) = planner.unit_of(source_id, t) else {
            continue;
        };
        if !matches!(unit.action, Action::Unchanged { .. }) {
            continue;
        }
        let Some((payload, _)) = planner.payload_for(source_id, t) else {
            continue;
        };
        slice.push((*source_id, linked.target_id.clone(), payload));
    }
    // Read back `concurrency` at a time, like the target's units (the client's rate
    // limiter still paces them).
    let reads = futures_util::stream::iter(slice.chunks(batch).map(|chunk| async move {
        let copies: Vec<(&str, &Payload)> = chunk
            .iter()
            .map(|(_, id, payload)| (&**id, payload))
            .collect();
        let read = match copies.as_slice() {
            [(id, payload)] => provider
                .verify(id, payload)
                .await
                .map(|(verified, calls)| (vec![verified], calls)),
            _ => provider.verify_many(&copies).await,
        };
        (chunk, read)
    }))
    .buffered(target.concurrency.max(1))
    .collect::<Vec<_>>()
    .await;
    let mut last = None;
    for (chunk, read) in reads {
        match read {
            Ok((verified, calls)) => {
                out.content_calls += calls;
                for ((source_id, _, _), verified) in chunk.iter().zip(verified) {
                    out.content_checked += 1;
                    last = Some(*source_id);
                    let what = match verified {
                        Verified::Same => None,
                        Verified::Missing => Some((true, "deleted by hand".to_owned())),
                        Verified::Differs(what) => Some((false, what)),
                    };
                    if let Some((vanished, what)) = what {
                        found.insert((*source_id).to_owned(), Drift { vanished, what });
                    }
                }
            }
            Err(e) => {
                warn!(target_name = %name, error = %e, "cannot read a copy back to check it");
                out.content_calls += 1;
                if out.error.is_none() {
                    out.error = Some(e.to_string());
                }
            }
        }
    }
    if persist
        && !everything
        && let Some(last) = last
        && let Err(e) = store.set_verify_cursor(&name, last).await
    {
        return store_failed(out, e);
    }
    out.drift = found.len();
    drift
        .by_unit
        .extend(found.into_iter().map(|(id, d)| ((id, t), d)));
    out
}

fn store_failed(mut out: TargetVerify, e: StoreError) -> TargetVerify {
    warn!(target_name = %out.target, error = %e, "cannot keep the verification's place");
    out.error = Some(format!("state store: {e}"));
    out
}

#[cfg(test)]
mod tests {
    use super::VerifyBudget;

    #[test]
    fn the_default_budget_reads_every_link_within_a_day_and_keeps_to_its_cap() {
        let auto = VerifyBudget::Auto {
            runs_per_day: 96,
            cap: 1500,
        };
        // 10 000 links: 40 listing pages and 105 copies a run; 96 runs read all.
        let calls = auto.calls(10_000, false);
        assert_eq!(calls, 40 + 105);
        assert!(
            (calls - 40) * 96 >= 10_000,
            "a day of runs reads every copy"
        );
        let tight = VerifyBudget::Auto {
            runs_per_day: 96,
            cap: 100,
        };
        assert_eq!(tight.calls(10_000, false), 100, "never past the cap");
        assert_eq!(VerifyBudget::Calls(0).calls(10_000, false), 0, "off");
        assert_eq!(
            VerifyBudget::Calls(0).calls(10_000, true),
            usize::MAX,
            "verify"
        );
        assert_eq!(auto.calls(0, false), 1);
        // The day's share in copies, however many copies a call reads.
        assert_eq!(auto.slice(10_000, false), Some(105));
        assert_eq!(auto.slice(10_000, true), None, "verify reads all");
        assert_eq!(VerifyBudget::Calls(5).slice(10_000, false), None);
    }
}
