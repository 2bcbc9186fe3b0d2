//! The rows the engine reads and writes, as plain data. Providers are kept by id (the
//! store knows no provider; `ProviderKind::as_str` is what is written).

use chrono::{DateTime, Utc};

/// One (source group, target) pair sgsync manages: which target group it created for
/// which source group, and what it last pushed there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The source provider's id (`ProviderKind::as_str`).
    pub source_provider: String,
    pub source_id: String,
    /// The target's name in the config (`[targets.<name>]`).
    pub target: String,
    pub target_provider: String,
    /// The target's id for the group; every link has one (a create not yet confirmed is
    /// an [`Intent`], not a link).
    pub target_id: String,
    /// `sgsync:<source provider>:<source id>`.
    pub stable_key: String,
    /// The group name last written on the target.
    pub group_name: String,
    /// Hex SHA-256 of the last payload pushed; `None` after `resync`, so the next run
    /// pushes again.
    pub payload_hash: Option<String>,
    /// `exact`, `lossy` or `impossible`, with the reasons as one text per line.
    pub fidelity: String,
    pub fidelity_reasons: String,
    /// What became of the unit the last time it ran.
    pub last_result: Option<UnitResult>,
    /// The last error for this unit, already free of secrets.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A create about to be sent, committed before the network call: after a crash, the
/// next run looks `stable_key` up on the target before it creates again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub source_provider: String,
    pub source_id: String,
    pub target: String,
    pub target_provider: String,
    pub stable_key: String,
    pub group_name: String,
    pub payload_hash: String,
    pub created_at: DateTime<Utc>,
    /// The create was sent (it may have landed); until then only looked up.
    pub sent: bool,
}

/// Declares a closed vocabulary of results: the enum, its words (as stored, printed and
/// used as metrics labels), every value, and parsing back from the words.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $word:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The word, as stored, printed and used as a metrics label.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!("unknown {} \"{s}\"", stringify!($name)))
            }
        }
    };
}

words! {
    /// What became of one (source group, target) unit in a run.
    UnitResult {
        /// A group was created on the target.
        Created => "created",
        /// A group the target already held was recognised as ours and linked.
        Adopted => "adopted",
        Updated => "updated",
        Unchanged => "unchanged",
        /// Nothing written on purpose (impossible, or lossy under `on_lossy = "skip"`).
        Skipped => "skipped",
        Archived => "archived",
        Deleted => "deleted",
        /// An orphan left in place (`on_source_deleted = "keep"`).
        Kept => "kept",
        /// An archive or delete the orphan guard held back.
        Held => "held",
        /// A create left for a later run by `max_creates_per_run`.
        Deferred => "deferred",
        /// A copy changed on the target by hand, put back as the source has it.
        Repaired => "repaired",
        /// A copy changed on the target by hand, reported (`on_drift = "report"`, or a
        /// target that cannot put it back).
        Drifted => "drifted",
        /// The source changed, but the target cannot update its copy.
        Stale => "stale",
        Failed => "failed",
    }
}

words! {
    /// What became of one membership unit in a run.
    MemberResult {
        /// The target group's members now equal the source group's people.
        Synced => "synced",
        Unchanged => "unchanged",
        /// Removals held back by the mass-removal guard (the adds were made).
        Held => "held",
        /// A dry run: what would be sent.
        Planned => "planned",
        Failed => "failed",
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    Running,
    /// Every unit succeeded or was skipped on purpose (exit 0).
    Succeeded,
    /// Some units failed (exit 2).
    Partial,
    /// The run could not start or was cut short (exit 1).
    Failed,
    /// Stopped by a signal after recording what was done.
    Interrupted,
}

/// Units per action in one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
    pub skipped: u32,
    pub orphaned: u32,
    pub failed: u32,
    /// Orphans whose archive or delete the orphan guard held back.
    pub held: u32,
    /// Creates left for a later run by `max_creates_per_run`.
    pub deferred: u32,
    /// Copies found changed on the target by hand (deleted, renamed, archived, edited),
    /// repaired or reported.
    pub drift: u32,
    /// Copies whose source changed on a target that cannot update them.
    pub stale: u32,
}

/// `created 11, updated 0, unchanged 9, skipped 9, orphaned 0, failed 0` (and the held
/// and deferred units when there are any): the one wording of a run's counts.
impl std::fmt::Display for RunCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "created {}, updated {}, unchanged {}, skipped {}, orphaned {}, failed {}",
            self.created, self.updated, self.unchanged, self.skipped, self.orphaned, self.failed
        )?;
        if self.held > 0 {
            write!(f, ", held {}", self.held)?;
        }
        if self.deferred > 0 {
            write!(f, ", deferred {}", self.deferred)?;
        }
        if self.drift > 0 {
            write!(f, ", drift {}", self.drift)?;
        }
        if self.stale > 0 {
            write!(f, ", stale {}", self.stale)?;
        }
        Ok(())
    }
}

impl RunOutcome {
    pub const ALL: [RunOutcome; 5] = [
        Self::Running,
        Self::Succeeded,
        Self::Partial,
        Self::Failed,
        Self::Interrupted,
    ];

    /// The text stored in `runs.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Partial => "partial",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }
}

impl std::fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RunOutcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| format!("unknown run outcome {s:?}"))
    }
}

/// One sync run as recorded in `runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    /// `None` while the run is going (or if it died without recording its end).
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: RunOutcome,
    pub dry_run: bool,
    pub counts: RunCounts,
    /// Why the run failed as a whole, already free of secrets.
    pub error: Option<String>,
    /// The scheduled time it served (a worker's run); `None` for a run asked for by hand.
    pub due: Option<DateTime<Utc>>,
}

/// One operation on one (group, target) unit during a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub run_id: i64,
    pub source_id: String,
    pub target: String,
    /// What the plan asked for: `create`, `update`, `unchanged`, `skip`, `orphan`.
    pub action: String,
    /// What happened: `ok`, `failed`, `skipped: …`.
    pub result: String,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}
