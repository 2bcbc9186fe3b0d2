//! `sgsync status`: recent runs, every link with its fidelity, last result and last
//! error, materialised memberships, creates in flight, the orphan guard, and the units
//! that failed in the last run. The demo prints the same report.

use super::open_store;
use crate::store::{ORPHAN_GUARD, Store};
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;

pub async fn status(config: Option<&Path>) -> Result<ExitCode> {
    let store = open_store(config).await?;
    print_status(&store).await?;
    Ok(ExitCode::SUCCESS)
}

/// The report, read from `store`.
pub(crate) async fn print_status(store: &Store) -> Result<()> {
    println!("Recent runs:");
    for r in store.recent_runs(10).await? {
        println!(
            "  #{:<5} {}  {:<11} {}{}",
            r.id,
            r.started_at.format("%Y-%m-%d %H:%M:%S"),
            r.outcome.to_string(),
            r.counts,
            r.error.map(|e| format!("  error: {e}")).unwrap_or_default()
        );
    }
    println!("Links:");
    for l in store.links(None).await? {
        println!(
            "  {}:{} → {} {} {:?}  {}  {}{}",
            l.source_provider,
            l.source_id,
            l.target,
            l.target_id,
            l.group_name,
            l.fidelity,
            l.last_result.map_or("-", |r| r.as_str()),
            l.last_error
                .map(|e| format!("  error: {e}"))
                .unwrap_or_default()
        );
    }
    let memberships = store.memberships().await?;
    if !memberships.is_empty() {
        println!("Members (materialised into static groups; fidelity snapshot):");
        for m in memberships {
            println!(
                "  {}:{} → {}  {} member(s){}  as of {}  {}{}{}",
                m.source_provider,
                m.source_id,
                m.target,
                m.member_count,
                if m.without_email > 0 {
                    format!(" ({} without an email in the source)", m.without_email)
                } else {
                    String::new()
                },
                m.synced_at.map_or_else(
                    || "never".to_owned(),
                    |t| t.format("%Y-%m-%d %H:%M:%S").to_string()
                ),
                m.last_result.map_or("-", |r| r.as_str()),
                m.held_reason
                    .map(|r| format!("  HELD ({} run(s)): {r}", m.held_runs))
                    .unwrap_or_default(),
                m.last_error
                    .map(|e| format!("  error: {e}"))
                    .unwrap_or_default(),
            );
        }
    }
    let intents = store.intents(None).await?;
    if !intents.is_empty() {
        println!("Creates in flight (resolved by the next run):");
        for i in intents {
            println!(
                "  {}:{} → {} \"{}\"  {}",
                i.source_provider,
                i.source_id,
                i.target,
                i.group_name,
                if i.sent {
                    "create sent, not confirmed: the next run looks it up and links it"
                } else {
                    "not sent yet (the lookup before it failed): the next run looks again"
                }
            );
        }
    }
    let (held_runs, reason) = store.guard(ORPHAN_GUARD).await?;
    if let Some(reason) = reason {
        println!("Orphan guard: holding archives and deletes ({held_runs} run(s)): {reason}");
    }
    if let Some(run) = store.recent_runs(1).await?.first() {
        let failed: Vec<_> = store
            .events(run.id)
            .await?
            .into_iter()
            .filter(|e| e.error.is_some())
            .collect();
        if !failed.is_empty() {
            println!("Units that failed in run #{}:", run.id);
            for e in failed {
                println!(
                    "  {} → {} ({}): {}",
                    e.source_id,
                    e.target,
                    e.action,
                    e.error.unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}
