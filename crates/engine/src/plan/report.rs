//! A plan as data and as text: every unit of it (for `sgsync plan` and `--json`), and
//! the counts a run keeps when it never holds its whole plan.

use super::*;

/// Everything one run will do, in a stable order (source order, then target order,
/// then orphans).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub units: Vec<Unit>,
    /// Decisions about the run as a whole, e.g. orphan handling suspended.
    pub notes: Vec<String>,
}

impl Plan {
    /// How many units will write to a target.
    pub fn writes(&self) -> usize {
        self.units.iter().filter(|u| u.action.writes()).count()
    }

    /// The plan as data for `--json`: every unit without its payload body.
    pub fn summary(&self) -> PlanSummary<'_> {
        PlanSummary {
            units: self
                .units
                .iter()
                .map(|u| UnitSummary {
                    source_id: &u.source_id,
                    target: &u.target,
                    group_name: &u.group_name,
                    stable_key: &u.stable_key,
                    action: u.action.label(),
                    target_id: match &u.action {
                        Action::Update { target_id, .. }
                        | Action::Unchanged { target_id }
                        | Action::Orphaned { target_id, .. }
                        | Action::Held { target_id, .. }
                        | Action::Drift { target_id, .. }
                        | Action::Stale { target_id, .. } => Some(target_id),
                        _ => None,
                    },
                    hash: match &u.action {
                        Action::Create { hash, .. } | Action::Update { hash, .. } => Some(hash),
                        Action::Drift {
                            repair: Some((_, hash)),
                            ..
                        } => Some(hash),
                        _ => None,
                    },
                    reason: match &u.action {
                        Action::Skip { reason }
                        | Action::Held { reason, .. }
                        | Action::Refused { reason }
                        | Action::Stale { reason, .. }
                        | Action::Drift {
                            reason: Some(reason),
                            ..
                        } => Some(reason),
                        _ => None,
                    },
                    drift: match &u.action {
                        Action::Drift { drift, .. } => Some(drift.what.as_str()),
                        _ => None,
                    },
                    stale_since: match &u.action {
                        Action::Stale { since, .. } => since.as_deref(),
                        _ => None,
                    },
                    then: match &u.action {
                        Action::Orphaned { then, .. } | Action::Held { then, .. } => Some(*then),
                        _ => None,
                    },
                    fidelity: u.fidelity.as_ref(),
                })
                .collect(),
            notes: &self.notes,
            writes: self.writes(),
        }
    }
}

/// What a plan holds, counted without keeping it (a sync plans unit by unit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOverview {
    pub units: usize,
    pub writes: usize,
    /// Decisions about the run as a whole, e.g. orphan handling suspended.
    pub notes: Vec<String>,
}

impl PlanOverview {
    /// How many units will write to a target.
    pub fn writes(&self) -> usize {
        self.writes
    }
}

#[derive(Debug, Serialize)]
pub struct PlanSummary<'a> {
    pub units: Vec<UnitSummary<'a>>,
    pub notes: &'a [String],
    pub writes: usize,
}

#[derive(Debug, Serialize)]
pub struct UnitSummary<'a> {
    pub source_id: &'a str,
    pub target: &'a str,
    pub group_name: &'a str,
    pub stable_key: &'a str,
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub then: Option<OnSourceDeleted>,
    /// What was found on the target, for a drift unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<&'a str>,
    /// Since when the copy is stale, for a stale unit (when known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_since: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub fidelity: Option<&'a Fidelity>,
}

/// A readable table: one line per unit, then the notes.
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<10} {:<12} {:<40} {:<10} detail",
            "action", "target", "group", "fidelity"
        )?;
        for u in &self.units {
            let fidelity = match &u.fidelity {
                Some(Fidelity::Exact) => "exact",
                Some(Fidelity::Lossy(_)) => "lossy",
                Some(Fidelity::Impossible(_)) => "impossible",
                None => "-",
            };
            let detail = match &u.action {
                Action::Create { .. } => String::new(),
                Action::Update { target_id, .. } | Action::Unchanged { target_id } => {
                    format!("id {target_id}")
                }
                Action::Skip { reason } => reason.clone(),
                Action::Orphaned { target_id, then } => {
                    format!("id {target_id}: source group gone, {}", then.verb())
                }
                Action::Held {
                    target_id,
                    then,
                    reason,
                } => {
                    format!(
                        "id {target_id}: source group gone; not {} this run: {reason}",
                        then.result()
                    )
                }
                Action::Refused { reason } => format!("refused: {reason}"),
                Action::Drift {
                    target_id,
                    drift,
                    repair,
                    reason,
                } => match repair {
                    Some(_) => format!("id {target_id}: {}; repair", drift.what),
                    None => format!(
                        "id {target_id}: {}; reported: {}",
                        drift.what,
                        reason.as_deref().unwrap_or("")
                    ),
                },
                Action::Stale {
                    target_id, reason, ..
                } => format!("id {target_id}: {reason}"),
            };
            writeln!(
                f,
                "{:<10} {:<12} {:<40} {:<10} {}",
                u.action.label(),
                u.target,
                truncate(&u.group_name, 40),
                fidelity,
                detail
            )?;
        }
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        write!(
            f,
            "{} unit(s), {} write(s)",
            self.units.len(),
            self.writes()
        )
    }
}
