//! `sgsync status`: recent runs, every link with its fidelity, last result and last
//! error, materialised memberships, creates in flight, the orphan guard, and the units
//! that failed in the last run. The demo prints the same report.

use super::{open_store, print_json};
use crate::store::{ORPHAN_GUARD, Store};
use anyhow::Result;
use std::process::ExitCode;

pub async fn status(config: crate::config::Choice<'_>, json: bool) -> Result<ExitCode> {
    if config.pipeline.is_none() {
        let all = crate::config::load_all(config.path)?;
        if all.len() > 1 {
            let store = Store::connect(&all[0].store).await?;
            return overview(&store, &all, json).await;
        }
    }
    let store = open_store(config).await?;
    if json {
        print_json("status", status_json(&store).await?)?;
    } else {
        print_status(&store).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A config with several pipelines: one line per pipeline (configured, or still in the
/// database), who holds it and its last run.
async fn overview(
    store: &Store,
    configured: &[crate::config::Settings],
    json: bool,
) -> Result<ExitCode> {
    let known = store.pipelines().await?;
    let mut names: Vec<&str> = configured.iter().map(|s| s.pipeline.as_str()).collect();
    for p in &known {
        if !names.contains(&p.name.as_str()) {
            names.push(&p.name);
        }
    }
    names.sort_unstable();
    let now = chrono::Utc::now();
    let rows: Vec<_> = names
        .iter()
        .map(|name| {
            let state = known.iter().find(|p| p.name == *name);
            let holder = state
                .and_then(|p| p.holder.as_ref())
                .filter(|(_, until)| *until > now);
            let last = state.and_then(|p| p.last_run.as_ref());
            (
                *name,
                configured.iter().any(|s| s.pipeline == *name),
                holder,
                last,
            )
        })
        .collect();
    if json {
        let pipelines: Vec<_> = rows
            .iter()
            .map(|(name, in_config, holder, last)| {
                serde_json::json!({
                    "pipeline": name,
                    "configured": in_config,
                    "held_by": holder.map(|(h, _)| h),
                    "lease_until": holder.map(|(_, t)| time(*t)),
                    "last_run": last.map(|r| serde_json::json!({
                        "id": r.id,
                        "started_at": time(r.started_at),
                        "finished_at": r.finished_at.map(time),
                        "outcome": r.outcome.as_str(),
                    })),
                })
            })
            .collect();
        print_json("status", serde_json::json!({ "pipelines": pipelines }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("Pipelines ({}):", rows.len());
    for (name, in_config, holder, last) in &rows {
        let held = match holder {
            Some((h, until)) => format!("held by {h} until {}", time(*until)),
            None => "idle".to_owned(),
        };
        let run = match last {
            Some(r) => format!(
                "last run {} {} at {}",
                r.id,
                r.outcome.as_str(),
                time(r.started_at)
            ),
            None => "never run".to_owned(),
        };
        let gone = if *in_config {
            ""
        } else {
            " (no longer in the config)"
        };
        println!("  {name}: {held}; {run}{gone}");
    }
    println!("sgsync status --pipeline NAME shows one pipeline's links and runs");
    Ok(ExitCode::SUCCESS)
}

/// Stale and drifted links, by (source provider, source id, target).
async fn states(
    store: &Store,
) -> Result<std::collections::HashMap<(String, String, String), crate::store::LinkState>> {
    Ok(store
        .link_states()
        .await?
        .into_iter()
        .map(|s| {
            (
                (
                    s.source_provider.clone(),
                    s.source_id.clone(),
                    s.target.clone(),
                ),
                s,
            )
        })
        .collect())
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The report as data: the same facts as [`print_status`], every time in RFC 3339 UTC.
pub(crate) async fn status_json(store: &Store) -> Result<serde_json::Value> {
    use serde_json::json;
    let runs: Vec<_> = store
        .recent_runs(10)
        .await?
        .into_iter()
        .map(|r| {
            let c = r.counts;
            json!({
                "id": r.id,
                "started_at": time(r.started_at),
                "finished_at": r.finished_at.map(time),
                "outcome": r.outcome.as_str(),
                "dry_run": r.dry_run,
                "counts": {
                    "created": c.created, "updated": c.updated, "unchanged": c.unchanged,
                    "skipped": c.skipped, "orphaned": c.orphaned, "failed": c.failed,
                    "held": c.held, "deferred": c.deferred, "drift": c.drift, "stale": c.stale,
                },
                "error": r.error,
            })
        })
        .collect();
    let states = states(store).await?;
    let links: Vec<_> = store
        .links(None)
        .await?
        .into_iter()
        .map(|l| {
            let state = states.get(&(
                l.source_provider.clone(),
                l.source_id.clone(),
                l.target.clone(),
            ));
            let reasons: Vec<&str> = l
                .fidelity_reasons
                .lines()
                .filter(|r| !r.trim().is_empty())
                .collect();
            json!({
                "source_provider": l.source_provider,
                "source_id": l.source_id,
                "target": l.target,
                "target_provider": l.target_provider,
                "target_id": l.target_id,
                "group_name": l.group_name,
                "fidelity": l.fidelity,
                "fidelity_reasons": reasons,
                "last_result": l.last_result.map(|r| r.as_str()),
                "last_error": l.last_error,
                "updated_at": time(l.updated_at),
                "stale_since": state.and_then(|s| s.stale_since).map(time),
                "drift": state.and_then(|s| s.drift.clone()),
                "drift_since": state.and_then(|s| s.drift_at).map(time),
            })
        })
        .collect();
    let memberships: Vec<_> = store
        .memberships()
        .await?
        .into_iter()
        .map(|m| {
            json!({
                "source_provider": m.source_provider,
                "source_id": m.source_id,
                "target": m.target,
                "members": m.member_count,
                "without_email": m.without_email,
                "without_account": m.without_account,
                "synced_at": m.synced_at.map(time),
                "held_runs": m.held_runs,
                "held_reason": m.held_reason,
                "last_result": m.last_result.map(|r| r.as_str()),
                "last_error": m.last_error,
            })
        })
        .collect();
    let intents: Vec<_> = store
        .intents(None)
        .await?
        .into_iter()
        .map(|i| {
            json!({
                "source_provider": i.source_provider,
                "source_id": i.source_id,
                "target": i.target,
                "group_name": i.group_name,
                "sent": i.sent,
                "created_at": time(i.created_at),
            })
        })
        .collect();
    let (held_runs, reason) = store.guard(ORPHAN_GUARD).await?;
    let mut failed_units = Vec::new();
    if let Some(run) = store.recent_runs(1).await?.first() {
        for e in store.events(run.id).await? {
            if let Some(error) = e.error {
                failed_units.push(json!({
                    "run_id": run.id,
                    "source_id": e.source_id,
                    "target": e.target,
                    "action": e.action,
                    "error": error,
                }));
            }
        }
    }
    Ok(json!({
        "state_database": store.location(),
        "runs": runs,
        "links": links,
        "memberships": memberships,
        "intents": intents,
        "orphan_guard": {"holding": reason.is_some(), "held_runs": held_runs, "reason": reason},
        "failed_units": failed_units,
    }))
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
    let states = states(store).await?;
    for l in store.links(None).await? {
        let state = states.get(&(
            l.source_provider.clone(),
            l.source_id.clone(),
            l.target.clone(),
        ));
        // A copy that is stale or drifted is never shown as healthy: the state takes
        // the fidelity's place, with its time.
        let health = match state {
            Some(s) if s.stale_since.is_some() => format!(
                "STALE since {} (source changed; the target cannot update it)",
                s.stale_since.map(time).unwrap_or_default()
            ),
            Some(s) if s.drift.is_some() => format!(
                "DRIFT since {}: {}",
                s.drift_at.map(time).unwrap_or_default(),
                s.drift.as_deref().unwrap_or_default()
            ),
            _ => l.fidelity.clone(),
        };
        println!(
            "  {}:{} → {} {} \"{}\"  {}  {}{}",
            l.source_provider,
            l.source_id,
            l.target,
            l.target_id,
            l.group_name,
            health,
            l.last_result.map_or("-", |r| r.as_str()),
            l.last_error
                .map(|e| format!("  error: {e}"))
                .unwrap_or_default()
        );
    }
    let memberships = store.memberships().await?;
    if !memberships.is_empty() {
        println!("Members (materialised into static groups; fidelity snapshot):");
        // The target's provider names the account people may lack ("iSpring Learn").
        let providers: std::collections::HashMap<(String, String, String), String> = store
            .links(None)
            .await?
            .into_iter()
            .map(|l| {
                let name = crate::registry::find(&l.target_provider)
                    .map_or(l.target_provider.clone(), |p| {
                        p.kind().display_name().to_owned()
                    });
                ((l.source_provider, l.source_id, l.target), name)
            })
            .collect();
        for m in memberships {
            let no_account = m.without_account.map(|n| {
                let provider = providers
                    .get(&(
                        m.source_provider.clone(),
                        m.source_id.clone(),
                        m.target.clone(),
                    ))
                    .map_or("the target", String::as_str);
                format!(
                    " ({n} of {} have no {provider} account)",
                    m.member_count + n
                )
            });
            println!(
                "  {}:{} → {}  {} member(s){}{}  as of {}  {}{}{}",
                m.source_provider,
                m.source_id,
                m.target,
                m.member_count,
                if m.without_email > 0 {
                    format!(" ({} without an email in the source)", m.without_email)
                } else {
                    String::new()
                },
                no_account.unwrap_or_default(),
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
