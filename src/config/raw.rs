//! The raw layer: exactly what a user may write in the file or the environment, as
//! serde structs with `deny_unknown_fields` (a misspelt key is an error, not a silent
//! default), one doc comment per key and the defaults on the fields. Nothing here is
//! checked beyond its type; [`super::settings`] does that. The connection blocks
//! (`[source.gosquared]`, …) are not here: the loader takes them out for their
//! provider's crate to read.

use super::{DEFAULT_CRON, DEFAULT_METRICS_LISTEN, DEFAULT_STORE_PATH};
use crate::engine::plan::{OnDrift, OnLossy, OnSourceDeleted};
use crate::model::mapping::MappingConfig;
use crate::model::members::MembershipMode;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The whole file, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Where groups are read from.
    pub source: RawSource,
    /// Where groups are written to, by a name of the user's choosing (used in logs,
    /// the store and the CLI).
    #[serde(default)]
    pub targets: BTreeMap<String, RawTarget>,
    /// Attribute and value maps between the canonical model and the providers.
    #[serde(default)]
    pub mapping: MappingConfig,
    /// When the daemon runs a sync.
    #[serde(default)]
    pub schedule: RawSchedule,
    /// The state database.
    #[serde(default)]
    pub store: RawStore,
    /// HTTP knobs shared by every provider; unset keys keep the provider's defaults.
    #[serde(default)]
    pub http: RawHttp,
    /// The health and metrics endpoint of `sgsync run`.
    #[serde(default)]
    pub metrics: RawMetrics,
    /// What a run may do on its own: the orphan guard and a cap on creates.
    #[serde(default)]
    pub sync: RawSync,
    /// More pipelines, one file each (read by the loader before this layer; kept here so
    /// the key is known and documented).
    #[serde(default)]
    pub pipelines: RawPipelines,
}

/// `[pipelines]`: where the files of further pipelines are (one per tenant).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipelines {
    /// A directory of `<name>.toml` files, each a pipeline named by its file: its own
    /// `[source]`, `[targets.…]` and `[mapping…]`, and optionally `[schedule]`, `[sync]`,
    /// `[http]`, which otherwise come from this file. `[store]` and `[metrics]` are this
    /// file's only (one state database, one endpoint for all pipelines).
    pub dir: Option<PathBuf>,
}

/// `[sync]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSync {
    /// Hold archiving and deleting back when more than this share of the links lose
    /// their source group in one run (0.0–1.0, default 0.2; 0 holds every one until
    /// `--allow-mass-delete`): a source that answers part of its groups must not delete
    /// the rest on the targets.
    pub max_orphan_fraction: Option<f64>,
    /// Apply held archives and deletes on the run that sees the loss for this many
    /// consecutive runs (default 2; 0 = only `--allow-mass-delete` applies them).
    pub orphan_confirm_runs: Option<u32>,
    /// At most this many creates per target in one run; the rest wait for the next run
    /// (reported, exit 2). Unset: no cap. A guard against a first sync of an
    /// unexpectedly large source.
    pub max_creates_per_run: Option<usize>,
}

/// `[source]`: `provider` plus exactly the matching connection block, e.g.
/// `[source.gosquared]` (read by that provider's crate, see `registry`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    /// A registered provider's id: `gosquared`, `ispring` or `emfluence`.
    pub provider: String,
    /// Client-side request budget per minute; default: the provider's
    /// (`ProviderEntry::http_defaults`).
    pub rate_limit_per_minute: Option<u32>,
    /// Most calls that may go back to back (1..=rate_limit_per_minute); default: all
    /// the budget allows.
    pub rate_limit_burst: Option<u32>,
    /// Source groups whose name starts with one of these are copies another sgsync
    /// pipeline made here (its targets' `name_prefix`), never read as source groups: a
    /// two-way setup does not echo. Groups carrying sgsync's key, groups this state
    /// database created, and names starting with this config's own targets'
    /// `name_prefix` are left out without it.
    #[serde(default)]
    pub skip_name_prefixes: Vec<String>,
}

/// `[targets.<name>]`: a provider block plus the policy for this target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    /// A registered provider's id: `gosquared`, `ispring` or `emfluence`; its connection
    /// block is `[targets.<name>.<id>]`.
    pub provider: String,
    /// What to do with a translation that is not exact. Default `skip`: an audience is
    /// never widened or narrowed silently.
    #[serde(default)]
    pub on_lossy: OnLossy,
    /// What to do with the target's copy when the source group disappears. Default
    /// `keep`: deleting is never the surprise.
    #[serde(default)]
    pub on_source_deleted: OnSourceDeleted,
    /// Put before every group name created on this target (e.g. `"[sync] "`).
    pub name_prefix: Option<String>,
    /// Client-side request budget per minute; default: the provider's.
    pub rate_limit_per_minute: Option<u32>,
    /// Most calls that may go back to back; default: all the budget allows.
    pub rate_limit_burst: Option<u32>,
    /// Calls in flight at once against this target (1..=64, default 4).
    pub concurrency: Option<usize>,
    /// Copy the source groups' people into static groups here: `off`,
    /// `when_rule_impossible` (groups whose rule the target cannot hold),
    /// `when_rule_lossy` (those, and on iSpring also groups whose rule would travel only
    /// approximately) or `always`. Default `always` on emfluence (its groups are static
    /// lists), `off` elsewhere; emfluence and iSpring Learn (static groups of existing
    /// users, matched by email) can hold materialised members, GoSquared cannot.
    pub membership: Option<MembershipMode>,
    /// Hold a run's removals back when they would take away more than this share of
    /// the members last synced (0.0–1.0, default 0.5): an empty answer from a source in
    /// trouble must not empty the target.
    pub max_removal_fraction: Option<f64>,
    /// Apply held removals on the run that sees the drop for this many consecutive runs
    /// (default 2; 0 = only `--allow-mass-removal` applies them).
    pub mass_removal_confirm_runs: Option<u32>,
    /// What to do with a copy changed on the target by hand (deleted, renamed, archived,
    /// edited): `repair` (default: the source is the truth) or `report`.
    #[serde(default)]
    pub on_drift: OnDrift,
    /// Calls each run may spend reading this target's copies back to find drift (a
    /// listing, then the content of a rotating slice). Default: enough to read every
    /// link within a day at the schedule, at most a tenth of the target's rate limit
    /// between two runs. 0 turns drift detection off.
    pub verify_calls_per_run: Option<usize>,
}

/// `[schedule]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    /// A cron expression with seconds: `sec min hour day-of-month month day-of-week
    /// [year]`. Default `"0 */15 * * * *"`.
    #[serde(default = "default_cron")]
    pub cron: String,
    /// `sgsync run` reports itself not ready (`/readyz` 503) after this many runs in a
    /// row failed as a whole: could not start, could not read the source, or could not
    /// reach a target. Default 3; at least 1.
    pub unready_after_failed_runs: Option<u32>,
}

impl Default for RawSchedule {
    fn default() -> Self {
        RawSchedule {
            cron: default_cron(),
            unready_after_failed_runs: None,
        }
    }
}

fn default_cron() -> String {
    DEFAULT_CRON.to_owned()
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// The SQLite database file (created when missing). Default
    /// `/var/lib/sgsync/sgsync.db`.
    #[serde(default = "default_store_path")]
    pub path: PathBuf,
    /// Where the state lives, as a URL: `postgres://user@host:port/database` (workers on
    /// several machines sharing one state), `sqlite:///path` or a path. Wins over `path`.
    pub url: Option<String>,
    /// The PostgreSQL password (better: `password_file`, read like every `*_file`
    /// secret), when the URL holds none.
    pub password: Option<secrecy::SecretString>,
    /// How long the run lock holds without renewal, in seconds (default 180). A run on
    /// another machine whose holder died waits at most this long; it must exceed
    /// `lock_renew_secs` plus a whole provider call (`[http] timeout_secs` × (1 +
    /// `max_retries`)), so that a run paused past its lease has no call left in flight
    /// when another takes over.
    pub lock_lease_secs: Option<u64>,
    /// How often a run renews its lock, in seconds (default 15).
    pub lock_renew_secs: Option<u64>,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            path: default_store_path(),
            url: None,
            password: None,
            lock_lease_secs: None,
            lock_renew_secs: None,
        }
    }
}

fn default_store_path() -> PathBuf {
    PathBuf::from(DEFAULT_STORE_PATH)
}

/// `[metrics]`: where `sgsync run` serves `/healthz`, `/readyz` and `/metrics`
/// (`--sync-now` serves nothing; it can write a textfile instead).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    /// Serve the endpoint at all. Default `true`.
    #[serde(default = "default_metrics_enabled")]
    pub enabled: bool,
    /// An IP address and port (host names are not resolved). Default
    /// `"127.0.0.1:9464"`: loopback only, because the endpoint has no authentication; any
    /// other address (e.g. `"0.0.0.0:9464"` in a container scraped from outside) must be
    /// written here. Port 0 picks a free port, which is logged.
    #[serde(default = "default_metrics_listen")]
    pub listen: String,
    /// A Prometheus Pushgateway's base URL (e.g. `"http://pushgateway.monitoring:9091"`):
    /// every `sync` / `--sync-now` then pushes its run's gauges there (the same ones as
    /// `--textfile-dir`), under `job="sgsync"` and `instance` = `pushgateway_instance`.
    /// For one-shot runs (a CronJob) that no scraper can reach. Unset: nothing is pushed.
    #[serde(default)]
    pub pushgateway: Option<String>,
    /// The `instance` grouping label of the pushed metrics. Default `"sgsync"`.
    #[serde(default)]
    pub pushgateway_instance: Option<String>,
}

impl Default for RawMetrics {
    fn default() -> Self {
        RawMetrics {
            pushgateway: None,
            pushgateway_instance: None,
            enabled: default_metrics_enabled(),
            listen: default_metrics_listen(),
        }
    }
}

fn default_metrics_enabled() -> bool {
    true
}

fn default_metrics_listen() -> String {
    DEFAULT_METRICS_LISTEN.to_owned()
}

/// `[http]`: every key optional; unset keys keep the provider's defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// Seconds to wait for a TCP/TLS connection (default 5).
    pub connect_timeout_secs: Option<u64>,
    /// Seconds for a whole call: connect, send and read the answer (default 30).
    pub timeout_secs: Option<u64>,
    /// Retries after the first attempt, for calls safe to repeat (default 4).
    pub max_retries: Option<u32>,
    /// First backoff ceiling in milliseconds; doubles per retry (default 250).
    pub base_delay_ms: Option<u64>,
    /// Largest backoff ceiling in milliseconds (default 30000).
    pub max_delay_ms: Option<u64>,
    /// Largest response body read, in bytes (default 16 MiB).
    pub max_body_bytes: Option<usize>,
}
