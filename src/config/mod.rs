//! Typed configuration: defaults → TOML file → `SGSYNC__…` environment (the environment
//! wins), with secrets also read from files (`api_key_file = "/run/secrets/…"`).
//!
//! Two layers, as ripgrep does it: [`RawConfig`] is exactly what the
//! user may write (serde, `deny_unknown_fields`, a doc comment per key, defaults on the
//! fields), and [`Settings`] is what the rest of the program uses. Everything that can be
//! wrong is found here, once, and every error names where the value came from (the file
//! or the environment variable), the key, and why — never a secret value.
//!
//! `raw` is the first layer, `settings` the second and the validation between them,
//! `loader` what reads the file and the environment into the first; this module holds
//! the public functions, the error, the defaults, and re-exports the types, so every
//! path stays `sgsync::config::…`.

mod loader;
mod raw;
mod settings;

pub use crate::engine::plan::{OnLossy, OnSourceDeleted};
pub use crate::engine::run::SyncPolicy;
pub use crate::model::members::MembershipMode;
pub use raw::{
    RawConfig, RawHttp, RawMetrics, RawSchedule, RawSource, RawStore, RawSync, RawTarget,
};
pub use settings::{Endpoint, Settings, Target};

use loader::Loader;
use std::path::{Path, PathBuf};

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
/// Largest secret file read. A secret is a short string; a path that names something
/// else (`/dev/zero`, a log file) must fail, not fill the memory.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// A configuration that cannot be used. Every message says where (file or environment
/// variable), which key, and why; none carries a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or is not TOML.
    #[error("{file}: {why}")]
    File { file: String, why: String },
    /// A key is missing, unknown or has a value that cannot be used.
    #[error("{whence}: {}{why}", if key.is_empty() { String::new() } else { format!("{key}: ") })]
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

/// Loads from `path` (default [`DEFAULT_PATH`], which may be absent) and the process
/// environment's `SGSYNC__…` variables.
pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
    load_with_env(path, &process_env())
}

/// The process environment's `SGSYNC__…` variables. Non-UTF-8 variables cannot be ours
/// (our prefix is ASCII and values are text), so they are passed over rather than
/// failing the whole load.
fn process_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}{ENV_SEPARATOR}")))
        .collect()
}

/// As [`load`], with the environment given explicitly (tests must not mutate the
/// process environment: other tests run in parallel).
pub fn load_with_env(
    path: Option<&Path>,
    env: &[(String, String)],
) -> Result<Settings, ConfigError> {
    validated(&Loader::read(path, env)?)
}

/// Parses a configuration text as if it were the file `name` (for `sgsync check` on
/// stdin, and tests).
pub fn load_str(name: &str, toml: &str, env: &[(String, String)]) -> Result<Settings, ConfigError> {
    validated(&Loader::parse(name, toml, env)?)
}

/// Every pipeline of the config at `path` (default [`DEFAULT_PATH`]) under the process
/// environment: the config's own `[source]` as `default`, and one per file in
/// `[pipelines] dir`. At least one.
pub fn load_all(path: Option<&Path>) -> Result<Vec<Settings>, ConfigError> {
    load_all_with_env(path, &process_env())
}

/// As [`load_all`], with the environment given explicitly.
pub fn load_all_with_env(
    path: Option<&Path>,
    env: &[(String, String)],
) -> Result<Vec<Settings>, ConfigError> {
    let loader = Loader::read(path, env)?;
    let pipelines = loader.pipelines()?;
    if pipelines.is_empty() {
        // No [source] and no pipeline files: the single-pipeline errors say what is missing.
        return Ok(vec![validated(&loader)?]);
    }
    let mut all = Vec::with_capacity(pipelines.len());
    for (name, pipeline) in pipelines {
        let mut settings = validated(&pipeline)?;
        settings.pipeline = name;
        all.push(settings);
    }
    one_pipeline_per_account(&all)?;
    Ok(all)
}

/// Which config, and which of its pipelines (`--config`, `--pipeline`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Choice<'a> {
    pub path: Option<&'a Path>,
    pub pipeline: Option<&'a str>,
}

/// The one pipeline `choice` names; without a name, the config's only one.
pub fn load_choice(choice: Choice<'_>) -> Result<Settings, ConfigError> {
    let all = load_all(choice.path)?;
    let names = || {
        all.iter()
            .map(|s| s.pipeline.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let file = || {
        all.first()
            .and_then(|s| s.file.as_ref())
            .map_or_else(|| DEFAULT_PATH.to_owned(), |f| f.display().to_string())
    };
    match choice.pipeline {
        Some(name) => {
            let known = names();
            all.into_iter()
                .find(|s| s.pipeline == name)
                .ok_or_else(|| ConfigError::Invalid {
                    whence: "--pipeline".to_owned(),
                    key: String::new(),
                    why: format!("no pipeline is named \"{name}\"; the config has: {known}"),
                })
        }
        None if all.len() == 1 => Ok(all.into_iter().next().unwrap_or_else(|| unreachable!())),
        None => Err(ConfigError::Invalid {
            whence: file(),
            key: String::new(),
            why: format!(
                "holds {} pipelines ({}); name one with --pipeline NAME",
                all.len(),
                names()
            ),
        }),
    }
}

/// Two pipelines on one provider account would each pace to the whole of its rate
/// limit: refused, naming both.
fn one_pipeline_per_account(all: &[Settings]) -> Result<(), ConfigError> {
    let mut seen: std::collections::BTreeMap<String, (&str, &str)> = Default::default();
    for settings in all {
        let endpoints =
            std::iter::once(&settings.source).chain(settings.targets.iter().map(|t| &t.endpoint));
        for endpoint in endpoints {
            let account = format!(
                "{}:{}",
                endpoint.provider.as_str(),
                endpoint.connection.account_key()
            );
            match seen.get(&account) {
                Some((other, other_role)) if *other != settings.pipeline => {
                    return Err(ConfigError::Invalid {
                        whence: settings
                            .file
                            .as_ref()
                            .map_or_else(|| DEFAULT_PATH.to_owned(), |f| f.display().to_string()),
                        key: endpoint.name.clone(),
                        why: format!(
                            "is the {} account {} that pipeline \"{other}\" uses too ({other_role}); an account's rate limit stays with one pipeline, so put both in one pipeline",
                            endpoint.provider.display_name(),
                            endpoint.connection.account_url(),
                        ),
                    });
                }
                Some(_) => {}
                None => {
                    seen.insert(
                        account,
                        (settings.pipeline.as_str(), endpoint.name.as_str()),
                    );
                }
            }
        }
    }
    Ok(())
}

/// The two layers in turn: what was written, then what the program may use.
fn validated(loader: &Loader) -> Result<Settings, ConfigError> {
    if loader.is_empty() {
        return Err(ConfigError::File {
            file: DEFAULT_PATH.to_owned(),
            why: "no such file, and no SGSYNC__… environment variable either: there is no configuration; name a file with --config FILE or SGSYNC_CONFIG=FILE (config/sgsync.example.toml documents every key)".to_owned(),
        });
    }
    let (raw, blocks) = loader.raw()?;
    loader.validate(raw, blocks)
}
