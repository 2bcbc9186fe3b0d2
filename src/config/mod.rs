//! Typed configuration: defaults → TOML file → `SGSYNC__…` environment (the environment
//! wins), with secrets also read from files (`api_key_file = "/run/secrets/…"`).
//!
//! Two layers, as ripgrep does it (`../shared/STYLE.md`): [`RawConfig`] is exactly what the
//! user may write (serde, `deny_unknown_fields`, a doc comment per key, defaults on the
//! fields), and [`Settings`] is what the rest of the program uses. Everything that can be
//! wrong is found here, once, and every error names where the value came from (the file
//! or the environment variable), the key, and why — never a secret value.

use crate::model::ProviderKind;
use crate::model::mapping::{MappingConfig, MappingError, Maps};
use crate::provider::http::{HttpSettings, validate_base_url};
use crate::provider::{Dialect, Provider, ProviderError};
use crate::registry::{self, Connection};
use config::{Environment, File, FileFormat, Map, Source, Value, ValueKind};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Read when no path is given (the systemd unit and the container image put it here).
pub const DEFAULT_PATH: &str = "/etc/sgsync/sgsync.toml";
/// Prefix of overriding environment variables: `SGSYNC__SCHEDULE__CRON`.
pub const ENV_PREFIX: &str = "SGSYNC";
/// Separates the prefix and the key segments of an environment variable. Two underscores,
/// because single ones occur inside keys (`on_lossy`).
pub const ENV_SEPARATOR: &str = "__";
/// Every 15 minutes, at second 0 (the `cron` crate's six-field form, seconds first).
pub const DEFAULT_CRON: &str = "0 */15 * * * *";
pub const DEFAULT_STORE_PATH: &str = "/var/lib/sgsync/sgsync.db";
/// Loopback only: the endpoint has no authentication.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";
pub const DEFAULT_CONCURRENCY: usize = 4;
pub const MAX_CONCURRENCY: usize = 64;
/// Keys ending in this, inside a provider block, name a file holding the secret.
const FILE_SUFFIX: &str = "_file";
/// What the `config` crate records as the origin of environment values.
const ENV_ORIGIN: &str = "the environment";

// ---------------------------------------------------------------------------------------
// Raw layer: what may be written.

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
    /// Calls in flight at once against this target (1..=64, default 4).
    pub concurrency: Option<usize>,
    /// Copy the source groups' people into static groups here: `off`,
    /// `when_rule_impossible` (only groups whose rule the target cannot hold exactly)
    /// or `always`. Default `always` on emfluence (its groups are static lists), `off`
    /// elsewhere; only emfluence can hold materialised members.
    pub membership: Option<MembershipMode>,
    /// Hold a run's removals back when they would take away more than this share of
    /// the members last synced (0.0–1.0, default 0.5): an empty answer from a source in
    /// trouble must not empty the target.
    pub max_removal_fraction: Option<f64>,
    /// Apply held removals on the run that sees the drop for this many consecutive runs
    /// (default 2; 0 = only `--allow-mass-removal` applies them).
    pub mass_removal_confirm_runs: Option<u32>,
}

use crate::engine::lease::LeaseSettings;
use crate::engine::plan::OrphanGuard;
pub use crate::engine::plan::{OnLossy, OnSourceDeleted};
pub use crate::engine::run::SyncPolicy;
pub use crate::model::members::MembershipMode;
use crate::model::members::{Guard, MembershipPolicy};

/// `[schedule]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    /// A cron expression with seconds: `sec min hour day-of-month month day-of-week
    /// [year]`. Default `"0 */15 * * * *"`.
    #[serde(default = "default_cron")]
    pub cron: String,
}

impl Default for RawSchedule {
    fn default() -> Self {
        RawSchedule {
            cron: default_cron(),
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
}

impl Default for RawMetrics {
    fn default() -> Self {
        RawMetrics {
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

// ---------------------------------------------------------------------------------------
// Validated layer: what the program uses.

/// A validated configuration: nothing in it needs checking again.
#[derive(Debug, Clone)]
pub struct Settings {
    pub source: Endpoint,
    /// In name order.
    pub targets: Vec<Target>,
    pub maps: Maps,
    pub schedule: cron::Schedule,
    /// The cron expression as written, for messages and `status`.
    pub schedule_text: String,
    pub store_path: PathBuf,
    /// Where `sgsync run` serves its health and metrics endpoint; `None` when
    /// `[metrics] enabled = false`.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The file read, if any (the default path may be absent: environment only).
    pub file: Option<PathBuf>,
    /// The run lock's lease, the orphan guard, the cap on creates.
    pub sync: SyncPolicy,
}

/// One provider account to talk to.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `"source"`, or the target's name.
    pub name: String,
    pub provider: ProviderKind,
    /// The connection block, secrets resolved, typed by its provider's crate.
    pub connection: Arc<dyn Connection>,
    pub http: HttpSettings,
}

/// A target endpoint with its policy.
#[derive(Debug, Clone)]
pub struct Target {
    pub endpoint: Endpoint,
    pub on_lossy: OnLossy,
    pub on_source_deleted: OnSourceDeleted,
    pub name_prefix: Option<String>,
    /// 1..=64.
    pub concurrency: usize,
    pub membership: MembershipPolicy,
}

/// A configuration that cannot be used. Every message says where (file or environment
/// variable), which key, and why; none carries a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or is not TOML.
    #[error("{file}: {why}")]
    File { file: String, why: String },
    /// A key is missing, unknown or has a value that cannot be used.
    #[error("{whence}: {key}: {why}")]
    Invalid {
        /// The file, or `environment variable SGSYNC__…` when the value came from there.
        whence: String,
        key: String,
        why: String,
    },
    /// A `*_file` secret could not be read.
    #[error("{whence}: {key}: cannot read secret file {}: {why}", path.display())]
    SecretFile {
        whence: String,
        key: String,
        path: PathBuf,
        why: String,
    },
}

impl ConfigError {
    /// The dotted key the error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::File { .. } => None,
            ConfigError::Invalid { key, .. } | ConfigError::SecretFile { key, .. } => Some(key),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Loading.

/// Loads from `path` (default [`DEFAULT_PATH`], which may be absent) and the process
/// environment's `SGSYNC__…` variables.
pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
    // Non-UTF-8 variables cannot be ours (our prefix is ASCII and values are text), so
    // they are passed over rather than failing the whole load.
    let env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}{ENV_SEPARATOR}")))
        .collect();
    load_with_env(path, &env)
}

/// As [`load`], with the environment given explicitly (tests must not mutate the
/// process environment: other tests run in parallel).
pub fn load_with_env(
    path: Option<&Path>,
    env: &[(String, String)],
) -> Result<Settings, ConfigError> {
    let (file, tree) = merged_tree(path, env)?;
    let loader = Loader { file, tree };
    let (raw, blocks) = loader.raw()?;
    loader.validate(raw, blocks)
}

/// Parses a configuration text as if it were the file `name` (for `sgsync check` on
/// stdin, and tests).
pub fn load_str(name: &str, toml: &str, env: &[(String, String)]) -> Result<Settings, ConfigError> {
    let file = File::from_str(toml, FileFormat::Toml);
    let tree = build(Some(file), env, name)?;
    let loader = Loader {
        file: Some(PathBuf::from(name)),
        tree,
    };
    let (raw, blocks) = loader.raw()?;
    loader.validate(raw, blocks)
}

fn merged_tree(
    path: Option<&Path>,
    env: &[(String, String)],
) -> Result<(Option<PathBuf>, Map<String, Value>), ConfigError> {
    let (chosen, explicit) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_PATH), false),
    };
    let name = chosen.display().to_string();
    // Read here rather than by the `config` crate, which decodes lossily: a stray byte
    // in a secret would silently become U+FFFD and fail later as "wrong credentials".
    match std::fs::read(&chosen) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|e| {
                let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
                ConfigError::File {
                    file: name.clone(),
                    why: format!(
                        "not UTF-8 text: invalid byte at line {line} (byte offset {})",
                        valid.len()
                    ),
                }
            })?;
            let source = File::from_str(&text, FileFormat::Toml);
            Ok((Some(chosen), build(Some(source), env, &name)?))
        }
        // The default file may be absent: a container can be configured by environment
        // alone. A file the user named must exist.
        Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => Ok((
            None,
            build(None::<File<config::FileSourceFile, FileFormat>>, env, &name)?,
        )),
        Err(e) => Err(ConfigError::File {
            file: name,
            why: format!("cannot read the configuration file: {e}"),
        }),
    }
}

fn build<S>(
    file: Option<S>,
    env: &[(String, String)],
    name: &str,
) -> Result<Map<String, Value>, ConfigError>
where
    S: Source + Send + Sync + 'static,
{
    let vars: Map<String, String> = env.iter().cloned().collect();
    let mut builder = config::Config::builder();
    if let Some(file) = file {
        builder = builder.add_source(file);
    }
    builder = builder.add_source(
        Environment::with_prefix(ENV_PREFIX)
            .prefix_separator(ENV_SEPARATOR)
            .separator(ENV_SEPARATOR)
            // Numbers and booleans from the environment arrive as text; parse them so
            // `SGSYNC__TARGETS__LMS__CONCURRENCY=8` is a number. String fields accept
            // them back (the `config` deserializer turns numbers into text).
            .try_parsing(true)
            .source(Some(vars)),
    );
    let config = builder.build().map_err(|e| ConfigError::File {
        file: name.to_owned(),
        why: e.to_string(),
    })?;
    config.collect().map_err(|e| ConfigError::File {
        file: name.to_owned(),
        why: e.to_string(),
    })
}

struct Loader {
    file: Option<PathBuf>,
    tree: Map<String, Value>,
}

impl Loader {
    /// Where the value at `key` came from: the environment variable that set it, else
    /// the file.
    fn whence(&self, key: &[String]) -> String {
        let mut table = &self.tree;
        let mut origin = None;
        for segment in key {
            let Some(value) = table.get(segment) else {
                break;
            };
            origin = value.origin();
            match &value.kind {
                ValueKind::Table(t) => table = t,
                _ => break,
            }
        }
        match origin {
            Some(ENV_ORIGIN) => format!(
                "environment variable {ENV_PREFIX}{ENV_SEPARATOR}{}",
                key.join(ENV_SEPARATOR).to_uppercase()
            ),
            _ => self.file_name(),
        }
    }

    fn file_name(&self) -> String {
        match &self.file {
            Some(f) => f.display().to_string(),
            None => format!("(no file at {DEFAULT_PATH}; environment only)"),
        }
    }

    fn invalid(&self, key: &[&str], why: impl Into<String>) -> ConfigError {
        let key: Vec<String> = key.iter().map(|s| (*s).to_owned()).collect();
        ConfigError::Invalid {
            whence: self.whence(&key),
            key: key.join("."),
            why: why.into(),
        }
    }

    /// Resolves `*_file` secrets and takes every connection block out (its provider's
    /// crate reads it, in `endpoint`), then deserializes the rest, naming the key path
    /// on failure.
    fn raw(&self) -> Result<(RawConfig, Blocks), ConfigError> {
        let mut tree = self.tree.clone();
        let mut blocks = Blocks::new();
        if let Some(source) = tree.get_mut("source") {
            self.take_block(source, &["source".to_owned()], &mut blocks)?;
        }
        if let Some(Value {
            kind: ValueKind::Table(targets),
            ..
        }) = tree.get_mut("targets")
        {
            for (name, target) in targets.iter_mut() {
                self.take_block(target, &["targets".to_owned(), name.clone()], &mut blocks)?;
            }
        }
        let root = Value::new(None, ValueKind::Table(tree));
        let raw = serde_path_to_error::deserialize(root).map_err(|e| self.path_error(&[], e))?;
        Ok((raw, blocks))
    }

    /// A serde error at a key path below `prefix`, as a [`ConfigError::Invalid`].
    fn path_error(
        &self,
        prefix: &[String],
        e: serde_path_to_error::Error<config::ConfigError>,
    ) -> ConfigError {
        let mut key: Vec<String> = prefix.to_vec();
        key.extend(e.path().iter().map(|s| s.to_string()));
        let mut why = e.inner().to_string();
        // The `config` crate appends its own (partial) key; ours is complete.
        if let Some(at) = why.find(" for key `") {
            why.truncate(at);
        }
        // A missing field is reported at its parent; name the field itself.
        if let Some(field) = why
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            key.push(field.to_owned());
        }
        key.retain(|s| s != ".");
        ConfigError::Invalid {
            whence: self.whence(&key),
            key: key.join("."),
            why,
        }
    }

    /// Takes the connection block out of a `[source]` or `[targets.<name>]` table at
    /// `at`, its secret files read: only the block of the table's own `provider` may be
    /// there (another registered provider's is almost certainly a mistake: a provider
    /// changed, the block left behind).
    fn take_block(
        &self,
        table: &mut Value,
        at: &[String],
        blocks: &mut Blocks,
    ) -> Result<(), ConfigError> {
        self.resolve_provider_blocks(table, at)?;
        let ValueKind::Table(entries) = &mut table.kind else {
            return Ok(());
        };
        let provider = entries
            .get("provider")
            .and_then(|v| v.clone().into_string().ok());
        for registered in registry::PROVIDERS {
            let id = registered.kind().as_str();
            let Some(block) = entries.remove(id) else {
                continue;
            };
            if provider
                .as_deref()
                .is_some_and(|p| !p.eq_ignore_ascii_case(id))
            {
                let mut key = at.to_vec();
                key.push(id.to_owned());
                return Err(ConfigError::Invalid {
                    whence: self.whence(&key),
                    key: key.join("."),
                    why: format!(
                        "is a {id} block but {}.provider = \"{}\"",
                        at.join("."),
                        provider.as_deref().unwrap_or_default()
                    ),
                });
            }
            blocks.insert(at.join("."), block);
        }
        Ok(())
    }

    fn resolve_provider_blocks(
        &self,
        parent: &mut Value,
        at: &[String],
    ) -> Result<(), ConfigError> {
        let ValueKind::Table(table) = &mut parent.kind else {
            return Ok(());
        };
        for provider in registry::PROVIDERS {
            let id = provider.kind().as_str();
            if let Some(block) = table.get_mut(id) {
                let mut key = at.to_vec();
                key.push(id.to_owned());
                self.resolve_secret_files(block, &key)?;
            }
        }
        Ok(())
    }

    /// Replaces every `X_file = "<path>"` by `X = <contents>` (one trailing newline
    /// trimmed: Kubernetes Secret mounts and `echo` both add one), recursively.
    fn resolve_secret_files(&self, block: &mut Value, at: &[String]) -> Result<(), ConfigError> {
        let ValueKind::Table(table) = &mut block.kind else {
            return Ok(());
        };
        let file_keys: Vec<String> = table
            .keys()
            .filter(|k| k.ends_with(FILE_SUFFIX) && k.len() > FILE_SUFFIX.len())
            .cloned()
            .collect();
        for file_key in file_keys {
            let mut key = at.to_vec();
            key.push(file_key.clone());
            let whence = self.whence(&key);
            let dotted = key.join(".");
            let target = file_key[..file_key.len() - FILE_SUFFIX.len()].to_owned();
            if table.contains_key(&target) {
                return Err(ConfigError::Invalid {
                    whence,
                    key: dotted,
                    why: format!(
                        "{target} is also set; give the secret or the file holding it, not both"
                    ),
                });
            }
            let Some(value) = table.remove(&file_key) else {
                continue;
            };
            let ValueKind::String(path) = &value.kind else {
                return Err(ConfigError::Invalid {
                    whence,
                    key: dotted,
                    why: "must be a file path (a string)".to_owned(),
                });
            };
            let path = PathBuf::from(path);
            // The error carries the I/O reason only: the contents are never read into it.
            let text = read_secret_file(&path).map_err(|why| ConfigError::SecretFile {
                whence: whence.clone(),
                key: dotted.clone(),
                path: path.clone(),
                why,
            })?;
            let text = text
                .strip_suffix("\r\n")
                .or_else(|| text.strip_suffix('\n'))
                .unwrap_or(&text)
                .to_owned();
            table.insert(
                target,
                Value::new(
                    value.origin().map(str::to_owned).as_ref(),
                    ValueKind::String(text),
                ),
            );
        }
        for (name, child) in table.iter_mut() {
            if matches!(child.kind, ValueKind::Table(_)) {
                let mut key = at.to_vec();
                key.push(name.clone());
                self.resolve_secret_files(child, &key)?;
            }
        }
        Ok(())
    }

    fn validate(&self, raw: RawConfig, mut blocks: Blocks) -> Result<Settings, ConfigError> {
        let http = &raw.http;
        self.check_http(http)?;
        let source = self.endpoint(
            &["source"],
            "source".to_owned(),
            &raw.source.provider,
            blocks.remove("source"),
            raw.source.rate_limit_per_minute,
            http,
        )?;
        if raw.targets.is_empty() {
            return Err(self.invalid(&["targets"], "at least one target is needed"));
        }
        let mut targets = Vec::with_capacity(raw.targets.len());
        for (name, t) in raw.targets {
            let raw_membership = RawMembership {
                membership: t.membership,
                max_removal_fraction: t.max_removal_fraction,
                mass_removal_confirm_runs: t.mass_removal_confirm_runs,
            };
            let at = ["targets", name.as_str()];
            let endpoint = self.endpoint(
                &at,
                name.clone(),
                &t.provider,
                blocks.remove(&format!("targets.{name}")),
                t.rate_limit_per_minute,
                http,
            )?;
            if endpoint.provider == source.provider
                && endpoint_url(&endpoint) == endpoint_url(&source)
            {
                return Err(self.invalid(
                    &["targets", &name, endpoint.provider.as_str()],
                    "is the source itself (same provider and URL): a group would be synced onto itself",
                ));
            }
            if let Some(prefix) = &t.name_prefix
                && prefix.trim().is_empty()
            {
                return Err(self.invalid(
                    &["targets", &name, "name_prefix"],
                    "must not be blank; leave it out for no prefix",
                ));
            }
            let concurrency = t.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
            if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
                return Err(self.invalid(
                    &["targets", &name, "concurrency"],
                    format!("must be 1..={MAX_CONCURRENCY}, got {concurrency}"),
                ));
            }
            let membership = self.membership(&name, endpoint.provider, &raw_membership)?;
            targets.push(Target {
                endpoint,
                on_lossy: t.on_lossy,
                on_source_deleted: t.on_source_deleted,
                name_prefix: t.name_prefix,
                concurrency,
                membership,
            });
        }
        let maps = Maps::from_config(&raw.mapping).map_err(|MappingError { key, why }| {
            // Mapping keys are dotted paths starting at `mapping`; attribute names may
            // hold dots themselves, so the origin lookup is best effort.
            let segments: Vec<String> = key.split('.').map(str::to_owned).collect();
            ConfigError::Invalid {
                whence: self.whence(&segments),
                key,
                why,
            }
        })?;
        let schedule = cron::Schedule::try_from(raw.schedule.cron.as_str()).map_err(|e| {
            self.invalid(
                &["schedule", "cron"],
                format!(
                    "{:?} is not a cron expression (sec min hour day month weekday [year]): {e}",
                    raw.schedule.cron
                ),
            )
        })?;
        if raw.store.path.as_os_str().is_empty() {
            return Err(self.invalid(&["store", "path"], "must not be empty"));
        }
        let metrics_listen = self.metrics_listen(&raw.metrics)?;
        let endpoints = std::iter::once(&source).chain(targets.iter().map(|t| &t.endpoint));
        let sync = self.sync_policy(&raw.sync, &raw.store, endpoints)?;
        Ok(Settings {
            source,
            targets,
            maps,
            schedule,
            schedule_text: raw.schedule.cron,
            store_path: raw.store.path,
            metrics_listen,
            file: self.file.clone(),
            sync,
        })
    }

    /// `[sync]` and the run lock's timings in `[store]`.
    fn sync_policy<'e>(
        &self,
        sync: &RawSync,
        store: &RawStore,
        endpoints: impl Iterator<Item = &'e Endpoint>,
    ) -> Result<SyncPolicy, ConfigError> {
        let mut orphans = OrphanGuard::default();
        if let Some(f) = sync.max_orphan_fraction {
            if !(0.0..=1.0).contains(&f) {
                return Err(self.invalid(
                    &["sync", "max_orphan_fraction"],
                    format!("must be between 0.0 and 1.0, got {f}"),
                ));
            }
            orphans.max_fraction = f;
        }
        if let Some(n) = sync.orphan_confirm_runs {
            if n == 1 {
                return Err(self.invalid(
                    &["sync", "orphan_confirm_runs"],
                    "1 would apply every loss at once; use 2 or more, 0 (flag only), or max_orphan_fraction = 1.0 to turn the guard off",
                ));
            }
            orphans.confirm_runs = n;
        }
        if sync.max_creates_per_run == Some(0) {
            return Err(self.invalid(
                &["sync", "max_creates_per_run"],
                "must be at least 1; leave it out for no cap",
            ));
        }
        let mut lease = LeaseSettings::default();
        for (key, value) in [
            ("lock_lease_secs", store.lock_lease_secs),
            ("lock_renew_secs", store.lock_renew_secs),
        ] {
            if value == Some(0) {
                return Err(self.invalid(&["store", key], "must be at least 1"));
            }
        }
        if let Some(s) = store.lock_lease_secs {
            lease.length = Duration::from_secs(s);
        }
        if let Some(s) = store.lock_renew_secs {
            lease.renew_every = Duration::from_secs(s);
        }
        // The longest one call may keep going: every attempt to its timeout.
        let longest_call = endpoints
            .map(|e| {
                e.http
                    .timeout
                    .saturating_mul(e.http.max_retries.saturating_add(1))
            })
            .max()
            .unwrap_or_default();
        let needed = lease.renew_every.saturating_add(longest_call);
        if lease.length <= needed {
            return Err(self.invalid(
                &["store", "lock_lease_secs"],
                format!(
                    "{} s is too short: it must exceed lock_renew_secs ({} s) plus the longest provider call ([http] timeout_secs × (1 + max_retries) = {} s), so that a run paused past its lease has nothing in flight when another takes over; use at least {} or shorten the HTTP timeout",
                    lease.length.as_secs(),
                    lease.renew_every.as_secs(),
                    longest_call.as_secs(),
                    needed.as_secs() + 1
                ),
            ));
        }
        Ok(SyncPolicy {
            lease,
            orphans,
            max_creates_per_run: sync.max_creates_per_run,
        })
    }

    /// `membership`, `max_removal_fraction`, `mass_removal_confirm_runs` of one target.
    fn membership(
        &self,
        name: &str,
        provider: ProviderKind,
        t: &RawMembership,
    ) -> Result<MembershipPolicy, ConfigError> {
        // Only a provider whose static groups sgsync can write takes members (its crate
        // says so); the groups sgsync writes elsewhere are rules.
        let registered = registry::of(provider);
        let writable = registered.is_some_and(|r| r.holds_members());
        let by_default = registered.is_some_and(|r| r.membership_by_default());
        let mode = t.membership.unwrap_or(if by_default {
            MembershipMode::Always
        } else {
            MembershipMode::Off
        });
        if mode != MembershipMode::Off && !writable {
            let takers: Vec<&str> = registry::PROVIDERS
                .iter()
                .filter(|p| p.holds_members())
                .map(|p| p.kind().display_name())
                .collect();
            return Err(self.invalid(
                &["targets", name, "membership"],
                format!(
                    "must be \"off\" on a {} target: only {} hold static member lists sgsync can write",
                    provider.display_name(),
                    takers.join(", ")
                ),
            ));
        }
        let mut guard = Guard::default();
        if let Some(f) = t.max_removal_fraction {
            if !(0.0..=1.0).contains(&f) {
                return Err(self.invalid(
                    &["targets", name, "max_removal_fraction"],
                    format!("must be between 0.0 and 1.0, got {f}"),
                ));
            }
            guard.max_removal_fraction = f;
        }
        if let Some(n) = t.mass_removal_confirm_runs {
            if n == 1 {
                return Err(self.invalid(
                    &["targets", name, "mass_removal_confirm_runs"],
                    "1 would apply every drop at once; use 2 or more, 0 (flag only), or max_removal_fraction = 1.0 to turn the guard off",
                ));
            }
            guard.confirm_runs = n;
        }
        Ok(MembershipPolicy { mode, guard })
    }

    fn metrics_listen(
        &self,
        metrics: &RawMetrics,
    ) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        if !metrics.enabled {
            return Ok(None);
        }
        let listen = metrics.listen.trim();
        if listen.is_empty() {
            return Err(self.invalid(
                &["metrics", "listen"],
                "is empty; set [metrics] enabled = false to serve no endpoint",
            ));
        }
        listen.parse().map(Some).map_err(|_| {
            self.invalid(
                &["metrics", "listen"],
                format!(
                    "{listen:?} is not an IP address and port such as \"{DEFAULT_METRICS_LISTEN}\" (host names are not resolved)"
                ),
            )
        })
    }

    fn check_http(&self, http: &RawHttp) -> Result<(), ConfigError> {
        let positive = [
            ("connect_timeout_secs", http.connect_timeout_secs),
            ("timeout_secs", http.timeout_secs),
            ("max_delay_ms", http.max_delay_ms),
            ("max_body_bytes", http.max_body_bytes.map(|b| b as u64)),
        ];
        for (key, value) in positive {
            if value == Some(0) {
                return Err(self.invalid(&["http", key], "must be at least 1"));
            }
        }
        let defaults = HttpSettings::default();
        let base = http
            .base_delay_ms
            .map(Duration::from_millis)
            .unwrap_or(defaults.base_delay);
        let max = http
            .max_delay_ms
            .map(Duration::from_millis)
            .unwrap_or(defaults.max_delay);
        if base > max {
            return Err(self.invalid(
                &["http", "base_delay_ms"],
                format!(
                    "{} ms exceeds max_delay_ms ({} ms)",
                    base.as_millis(),
                    max.as_millis()
                ),
            ));
        }
        Ok(())
    }

    fn endpoint(
        &self,
        at: &[&str],
        name: String,
        provider: &str,
        block: Option<Value>,
        rate_limit: Option<u32>,
        http: &RawHttp,
    ) -> Result<Endpoint, ConfigError> {
        let key = |last: &str| -> Vec<String> {
            let mut k: Vec<String> = at.iter().map(|s| (*s).to_owned()).collect();
            k.push(last.to_owned());
            k
        };
        let invalid = |key: Vec<String>, why: String| ConfigError::Invalid {
            whence: self.whence(&key),
            key: key.join("."),
            why,
        };
        let Some(registered) = registry::find(provider) else {
            return Err(invalid(
                key("provider"),
                format!(
                    "unknown provider \"{provider}\"; expected {}",
                    registry::ids()
                ),
            ));
        };
        let kind = registered.kind();
        let id = kind.as_str();
        let Some(block) = block else {
            return Err(invalid(
                key(id),
                format!("is missing: provider = \"{id}\" needs this block"),
            ));
        };
        let connection = registered
            .connection(block)
            .map_err(|e| self.path_error(&key(id), *e))?;
        for (field, url) in connection.urls() {
            let mut k = key(id);
            k.extend(field.split('.').map(str::to_owned));
            validate_base_url(kind, url).map_err(|e| invalid(k, e.to_string()))?;
        }
        let mut settings = registered.http_defaults();
        if let Some(s) = http.connect_timeout_secs {
            settings.connect_timeout = Duration::from_secs(s);
        }
        if let Some(s) = http.timeout_secs {
            settings.timeout = Duration::from_secs(s);
        }
        if let Some(n) = http.max_retries {
            settings.max_retries = n;
        }
        if let Some(ms) = http.base_delay_ms {
            settings.base_delay = Duration::from_millis(ms);
        }
        if let Some(ms) = http.max_delay_ms {
            settings.max_delay = Duration::from_millis(ms);
        }
        if let Some(b) = http.max_body_bytes {
            settings.max_body_bytes = b;
        }
        if let Some(rpm) = rate_limit {
            if rpm == 0 {
                return Err(invalid(
                    key("rate_limit_per_minute"),
                    "must be at least 1".to_owned(),
                ));
            }
            settings.requests_per_minute = rpm;
        }
        Ok(Endpoint {
            name,
            provider: kind,
            connection,
            http: settings,
        })
    }
}

/// The membership keys of one `[targets.<name>]`.
struct RawMembership {
    membership: Option<MembershipMode>,
    max_removal_fraction: Option<f64>,
    mass_removal_confirm_runs: Option<u32>,
}

/// Largest secret file read. A secret is a short string; a path that names something
/// else (`/dev/zero`, a log file) must fail, not fill the memory.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// The text of a `*_file` secret, at most [`MAX_SECRET_FILE_BYTES`].
fn read_secret_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(format!(
            "larger than {MAX_SECRET_FILE_BYTES} bytes; a secret file holds one short secret"
        ));
    }
    // Only the position is reported: the bytes are the secret.
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// The connection blocks taken out of the tree, by the table they were in (`source`,
/// `targets.<name>`).
type Blocks = BTreeMap<String, Value>;

/// The URL that identifies the account a connection talks to, normalised so that
/// `https://x/v1` and `https://x/v1/` compare equal.
fn endpoint_url(endpoint: &Endpoint) -> Option<String> {
    validate_base_url(endpoint.provider, endpoint.connection.account_url())
        .ok()
        .map(|u| u.to_string())
}

impl Endpoint {
    /// A client for this endpoint, decoding groups with `maps`.
    pub fn connect(&self, maps: Arc<Maps>) -> Result<Arc<dyn Provider>, ProviderError> {
        self.connection.connect(self.http.clone(), maps)
    }

    /// This endpoint's dialect, translating with `maps`.
    pub fn dialect(&self, maps: Arc<Maps>) -> Option<Arc<dyn Dialect>> {
        registry::of(self.provider).map(|r| r.dialect(maps))
    }
}
