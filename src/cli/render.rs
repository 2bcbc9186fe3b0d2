//! What `plan` and `sync` print for people: the counts per action first, then one line
//! per unit with a short verdict, and the reasons as an indented list under the units
//! that have them (wrapped to the terminal's width when stdout is one). `--json`
//! prints the same facts as data (see [`plan_json`], [`sync_json`]).

use crate::engine::apply::Report;
use crate::engine::plan::{Action, Plan, Unit};
use crate::engine::run::{RunSummary, TargetCheck};
use crate::model::Fidelity;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Width of the group column; longer names are cut with `…`.
const GROUP_WIDTH: usize = 40;

/// Where reason lines wrap: the terminal's width when stdout is a terminal, else never
/// (a pipe or a file gets every reason on one line, for grep).
pub fn width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    terminal_size::terminal_size().map(|(w, _)| usize::from(w.0).max(40))
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// `- reason`, indented by four, wrapped to `width` with continuation lines under the
/// text.
fn reason_lines(out: &mut String, reasons: &[String], width: Option<usize>) {
    for r in reasons {
        match width {
            Some(w) => {
                let options = textwrap::Options::new(w)
                    .initial_indent("    - ")
                    .subsequent_indent("      ");
                for line in textwrap::wrap(r, options) {
                    let _ = writeln!(out, "{line}");
                }
            }
            None => {
                let _ = writeln!(out, "    - {r}");
            }
        }
    }
}

fn fidelity_word(f: Option<&Fidelity>) -> &'static str {
    match f {
        Some(Fidelity::Exact) => "exact",
        Some(Fidelity::Lossy(_)) => "lossy",
        Some(Fidelity::Impossible(_)) => "impossible",
        None => "-",
    }
}

/// A unit's short verdict, and the reasons to list under it.
fn verdict(u: &Unit) -> (String, Vec<String>) {
    let mut reasons: Vec<String> = u
        .fidelity
        .as_ref()
        .map(|f| f.reasons().iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    let joined = reasons.join("; ");
    // The planner's skip reason is "<why>: <the fidelity reasons joined>"; the reasons
    // go in the list, the why stays on the line.
    let head = |reason: &str| -> String {
        if !joined.is_empty()
            && let Some(why) = reason.strip_suffix(joined.as_str())
        {
            return why.trim_end_matches([':', ' ']).to_owned();
        }
        reason.to_owned()
    };
    let text = match &u.action {
        Action::Create { .. } => "new group".to_owned(),
        Action::Update { target_id, .. } => format!("id {target_id}, changed"),
        Action::Unchanged { target_id } => format!("id {target_id}"),
        Action::Skip { reason } => {
            let why = head(reason);
            if why == *reason {
                // Not the planner's "<why>: <reasons>" shape: the whole reason is listed.
                reasons.insert(0, reason.clone());
                "not written".to_owned()
            } else if why.starts_with("impossible in ") {
                // The fidelity column and the target already say it.
                "not written".to_owned()
            } else if let Some(hint) = why
                .strip_prefix("lossy (")
                .and_then(|h| h.strip_suffix(')'))
            {
                reasons.insert(0, hint.to_owned());
                "not written: on_lossy = \"skip\"".to_owned()
            } else {
                format!("not written: {why}")
            }
        }
        Action::Orphaned { target_id, then } => {
            format!("id {target_id}: source group gone, {}", then.verb())
        }
        Action::Held {
            target_id,
            then,
            reason,
        } => {
            reasons.push(reason.clone());
            format!(
                "id {target_id}: source group gone; not {} this run",
                then.result()
            )
        }
        Action::Refused { reason } => {
            reasons.push(reason.clone());
            "refused".to_owned()
        }
        Action::Drift {
            target_id,
            drift,
            repair,
            reason,
        } => {
            if let Some(reason) = reason {
                reasons.push(reason.clone());
            }
            match repair {
                Some(_) if drift.vanished => {
                    format!("id {target_id}: {}; create again", drift.what)
                }
                Some(_) => format!("id {target_id}: {}; put back", drift.what),
                None => format!("id {target_id}: {}; reported", drift.what),
            }
        }
        Action::Stale {
            target_id,
            since,
            reason,
        } => {
            reasons.push(reason.clone());
            match since {
                Some(t) => format!("id {target_id}: stale since {t}"),
                None => format!("id {target_id}: stale from this run"),
            }
        }
    };
    (text, reasons)
}

/// `create 3, update 1, skip 5` in the order actions are first seen.
fn counts_line(counts: &BTreeMap<&'static str, usize>) -> String {
    const ORDER: [&str; 10] = [
        "create",
        "update",
        "unchanged",
        "skip",
        "drift",
        "stale",
        "orphaned",
        "held",
        "refused",
        "members",
    ];
    ORDER
        .iter()
        .filter_map(|a| counts.get(a).map(|n| format!("{a} {n}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The plan for people.
pub fn plan_text(plan: &Plan, width: Option<usize>) -> String {
    let mut out = String::new();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for u in &plan.units {
        *counts.entry(u.action.label()).or_default() += 1;
    }
    let _ = writeln!(
        out,
        "plan: {} unit(s), {} write(s){}{}",
        plan.units.len(),
        plan.writes(),
        if counts.is_empty() { "" } else { ": " },
        counts_line(&counts)
    );
    for note in &plan.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let _ = writeln!(
        out,
        "\n{:<10} {:<12} {:<GROUP_WIDTH$} {:<10} verdict",
        "action", "target", "group", "fidelity"
    );
    for u in &plan.units {
        let (text, reasons) = verdict(u);
        let _ = writeln!(
            out,
            "{:<10} {:<12} {:<GROUP_WIDTH$} {:<10} {text}",
            u.action.label(),
            u.target,
            cut(&u.group_name, GROUP_WIDTH),
            fidelity_word(u.fidelity.as_ref()),
        );
        reason_lines(&mut out, &reasons, width);
    }
    out
}

/// What a run did, for people: the counts, then each unit that wrote, failed or kept an
/// orphan, with its error as a list item, then the notes.
pub fn report_text(report: &Report, width: Option<usize>) -> String {
    let mut out = String::new();
    let mut by_action: BTreeMap<&'static str, usize> = BTreeMap::new();
    for ((_, action, _), n) in &report.tally {
        *by_action.entry(action).or_default() += n;
    }
    let _ = writeln!(
        out,
        "sync: {} unit(s), {} planned write(s){}{}",
        report.planned.units,
        report.planned.writes,
        if by_action.is_empty() { "" } else { ": " },
        counts_line(&by_action)
    );
    for note in &report.planned.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if !report.outcomes.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<10} {:<12} {:<GROUP_WIDTH$} result",
            "action", "target", "group"
        );
    }
    for o in &report.outcomes {
        let (result, error) = match &o.result {
            Ok(r) => (r.to_string(), None),
            Err(e) => ("failed".to_owned(), Some(e.clone())),
        };
        let _ = writeln!(
            out,
            "{:<10} {:<12} {:<GROUP_WIDTH$} {result}",
            o.action,
            o.target,
            cut(&o.group_name, GROUP_WIDTH),
        );
        if let Some(e) = error {
            reason_lines(&mut out, &[e], width);
        }
    }
    if report.not_started > 0 {
        let _ = writeln!(
            out,
            "{} unit(s) not started: the run stopped writing",
            report.not_started
        );
    }
    let c = &report.counts;
    if c.unchanged + c.skipped > 0 {
        let _ = writeln!(
            out,
            "not listed: {} unchanged, {} skipped (`sgsync plan` says why)",
            c.unchanged, c.skipped
        );
    }
    out
}

/// The plan as data (`plan --json`, `sync --dry-run --json`): every unit with its
/// verdict and reasons, the counts per action, the membership units.
pub fn plan_json(plan: &Plan, membership: serde_json::Value) -> serde_json::Value {
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for u in &plan.units {
        *counts.entry(u.action.label()).or_default() += 1;
    }
    let summary = plan.summary();
    let units: Vec<serde_json::Value> = plan
        .units
        .iter()
        .zip(summary.units.iter())
        .map(|(u, s)| {
            let mut v = serde_json::to_value(s).unwrap_or(serde_json::Value::Null);
            let (text, reasons) = verdict(u);
            if let Some(o) = v.as_object_mut() {
                o.insert("verdict".into(), text.into());
                // Always an array (empty for an exact unit), so a consumer never has to
                // ask whether the key is there.
                o.insert("reasons".into(), reasons.into());
                o.insert("fidelity".into(), fidelity_word(u.fidelity.as_ref()).into());
            }
            v
        })
        .collect();
    serde_json::json!({
        "units_total": plan.units.len(),
        "writes": plan.writes(),
        "counts": counts,
        "notes": plan.notes,
        "units": units,
        "membership": membership,
    })
}

/// A run as data (`sync --json`).
pub fn sync_json(summary: &RunSummary) -> serde_json::Value {
    let c = summary.counts();
    let units: Vec<serde_json::Value> = summary
        .report
        .outcomes
        .iter()
        .map(|o| {
            let (result, error) = match &o.result {
                Ok(r) => (r.as_str(), None),
                Err(e) => ("failed", Some(e.as_str())),
            };
            serde_json::json!({
                "source_id": o.source_id,
                "target": o.target,
                "group_name": o.group_name,
                "action": o.action,
                "result": result,
                "error": error,
            })
        })
        .collect();
    let tally: Vec<serde_json::Value> = summary
        .report
        .tally
        .iter()
        .map(|((target, action, result), n)| {
            serde_json::json!({"target": target, "action": action, "result": result.as_str(), "units": n})
        })
        .collect();
    serde_json::json!({
        "run_id": summary.run_id,
        "outcome": summary.outcome.as_str(),
        "exit_code": summary.exit_code(),
        "counts": {
            "created": c.created, "updated": c.updated, "unchanged": c.unchanged,
            "skipped": c.skipped, "orphaned": c.orphaned, "failed": c.failed,
            "held": c.held, "deferred": c.deferred, "drift": c.drift, "stale": c.stale,
        },
        "planned": {"units": summary.report.planned.units, "writes": summary.report.planned.writes},
        "notes": summary.report.planned.notes,
        "units": units,
        "tally": tally,
        "not_started": summary.report.not_started,
        "stopped": summary.stopped,
        "membership": summary.membership.to_json(),
        "targets": targets_json(&summary.targets),
        "verified": verified_json(&summary.verified),
    })
}

/// A line for each target that could not be reached this run (nothing when all
/// answered).
pub fn targets_text(targets: &[TargetCheck]) -> String {
    let mut out = String::new();
    for t in targets {
        if let Some(e) = &t.error {
            let _ = writeln!(out, "target {} cannot be reached: {e}", t.target);
        }
    }
    out
}

/// Each target and whether it answered this run's read.
pub fn targets_json(targets: &[TargetCheck]) -> serde_json::Value {
    targets
        .iter()
        .map(|t| serde_json::json!({"target": t.target, "reachable": t.is_up(), "error": t.error}))
        .collect()
}

/// What reading the targets' copies back cost and found, per target.
pub fn verified_json(verified: &[crate::engine::verify::TargetVerify]) -> serde_json::Value {
    verified
        .iter()
        .map(|v| {
            serde_json::json!({
                "target": v.target,
                "budget": v.budget,
                "links": v.links,
                "listing_calls": v.listing_calls,
                "listed": v.listed,
                "content_calls": v.content_calls,
                "content_checked": v.content_checked,
                "drift": v.drift,
                "error": v.error,
            })
        })
        .collect()
}

/// One line per target: what the drift check read and found.
pub fn verified_text(verified: &[crate::engine::verify::TargetVerify]) -> String {
    let mut out = String::new();
    for v in verified.iter().filter(|v| v.links > 0) {
        let _ = writeln!(
            out,
            "checked {}: {} call(s) of {} ({}listing {}, content of {} of {} copies); drift {}{}",
            v.target,
            v.calls(),
            if v.budget == usize::MAX {
                "no limit".to_owned()
            } else {
                v.budget.to_string()
            },
            if v.listed { "" } else { "no whole " },
            v.listing_calls,
            v.content_checked,
            v.links,
            v.drift,
            v.error
                .as_deref()
                .map(|e| format!("; could not finish: {e}"))
                .unwrap_or_default()
        );
    }
    out
}
