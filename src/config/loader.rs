//! Loading: the file and the `SGSYNC__…` environment merged into one tree, `*_file`
//! secrets read, the connection blocks taken out for the registry, and the rest
//! deserialized into the raw layer. Every error names the key path and where its value
//! came from (`whence`: the file or the environment variable), so the validation in
//! [`super::settings`] reports through the same [`Loader`].

use super::raw::RawConfig;
use super::{ConfigError, DEFAULT_PATH, ENV_PREFIX, ENV_SEPARATOR, MAX_SECRET_FILE_BYTES};
use crate::registry;
use config::{Environment, File, FileFormat, Map, Source, Value, ValueKind};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Tables a pipeline file holds for itself: the main config's are never inherited.
const PIPELINE_OWN: [&str; 3] = ["source", "targets", "mapping"];
/// Tables only the main config holds: one state database and one endpoint for all.
const MAIN_ONLY: [&str; 3] = ["store", "metrics", "pipelines"];
/// Longest pipeline name (it is a key in the store and a label in metrics).
const MAX_PIPELINE_NAME: usize = 63;

/// Keys ending in this, inside a provider block, name a file holding the secret.
const FILE_SUFFIX: &str = "_file";
/// What the `config` crate records as the origin of environment values.
const ENV_ORIGIN: &str = "the environment";

/// The file at `path` (or the default one, which may be absent) under `env`, and the
/// file actually read.
fn merged_tree(
    path: Option<&Path>,
    env: &[(String, String)],
) -> Result<(Option<PathBuf>, Map<String, Value>), ConfigError> {
    let (chosen, explicit) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_PATH), false),
    };
    let name = chosen.display().to_string();
    match std::fs::read(&chosen) {
        Ok(bytes) => {
            let text = utf8_text(&name, bytes)?;
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

/// `file`, if any, under `env`, as one tree whose values remember where they came from.
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

/// `top` laid over `base`: tables merge key by key, anything else replaces.
fn overlay(base: &mut Map<String, Value>, top: Map<String, Value>) {
    for (key, value) in top {
        match (base.get_mut(&key), value) {
            (
                Some(Value {
                    kind: ValueKind::Table(below),
                    ..
                }),
                Value {
                    kind: ValueKind::Table(above),
                    ..
                },
            ) => overlay(below, above),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// The pipeline a file in `[pipelines] dir` is: its name without `.toml`, lower-case
/// letters, digits, `-` and `_` (a key in the store, a label in the metrics).
fn pipeline_name(file: &Path) -> Result<String, ConfigError> {
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let valid = !stem.is_empty()
        && stem.len() <= MAX_PIPELINE_NAME
        && stem.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && stem
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(stem.to_owned())
    } else {
        Err(ConfigError::File {
            file: file.display().to_string(),
            why: format!(
                "a pipeline file is named <pipeline>.toml, the name 1–{MAX_PIPELINE_NAME} lower-case letters, digits, - or _ (starting with a letter or digit); rename it"
            ),
        })
    }
}

/// A file's text, refusing what is not UTF-8 with the place of the first bad byte.
fn read_utf8(path: &Path) -> Result<String, ConfigError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| ConfigError::File {
        file: name.clone(),
        why: format!("cannot read the configuration file: {e}"),
    })?;
    utf8_text(&name, bytes)
}

/// `bytes` of the file `name` as text. Decoded here rather than by the `config` crate,
/// which decodes lossily: a stray byte in a secret would silently become U+FFFD and fail
/// later as "wrong credentials".
fn utf8_text(name: &str, bytes: Vec<u8>) -> Result<String, ConfigError> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
        ConfigError::File {
            file: name.to_owned(),
            why: format!(
                "not UTF-8 text: invalid byte at line {line} (byte offset {})",
                valid.len()
            ),
        }
    })
}

/// One configuration being loaded: the merged tree, which remembers where each value
/// came from, and the file it was read from.
pub(super) struct Loader {
    /// The file read, if any (the default path may be absent: environment only).
    pub(super) file: Option<PathBuf>,
    tree: Map<String, Value>,
}

impl Loader {
    /// The file at `path` (default [`DEFAULT_PATH`], which may be absent) under `env`.
    pub(super) fn read(path: Option<&Path>, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let (file, tree) = merged_tree(path, env)?;
        Ok(Loader { file, tree })
    }

    /// `toml` as if it were the file `name`, under `env`.
    pub(super) fn parse(
        name: &str,
        toml: &str,
        env: &[(String, String)],
    ) -> Result<Self, ConfigError> {
        let file = File::from_str(toml, FileFormat::Toml);
        let tree = build(Some(file), env, name)?;
        Ok(Loader {
            file: Some(PathBuf::from(name)),
            tree,
        })
    }

    /// Where the value at `key` came from: the environment variable that set it, else
    /// the file.
    pub(super) fn whence(&self, key: &[String]) -> String {
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
            None => format!("no file at {DEFAULT_PATH} (environment only)"),
        }
    }

    /// The pipelines this config declares: itself as [`crate::store::DEFAULT_PIPELINE`]
    /// when it has a `[source]`, and one per `<name>.toml` in `[pipelines] dir` (sorted
    /// by name), each that file over this config's shared tables (`[schedule]`,
    /// `[sync]`, `[http]`, `[store]`, `[metrics]`, the environment).
    pub(super) fn pipelines(&self) -> Result<Vec<(String, Loader)>, ConfigError> {
        let mut found = Vec::new();
        if self.tree.contains_key("source") {
            found.push((crate::store::DEFAULT_PIPELINE.to_owned(), self.clone_tree()));
        }
        let Some(dir) = self.pipelines_dir()? else {
            return Ok(found);
        };
        let entries = std::fs::read_dir(&dir).map_err(|e| ConfigError::Invalid {
            whence: self.whence(&["pipelines".to_owned(), "dir".to_owned()]),
            key: "pipelines.dir".to_owned(),
            why: format!("cannot read the directory {}: {e}", dir.display()),
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        files.sort();
        let mut base = self.tree.clone();
        for own in PIPELINE_OWN.iter().chain(&["pipelines"]) {
            base.remove(*own);
        }
        for file in files {
            let name = pipeline_name(&file)?;
            if found.iter().any(|(n, _)| *n == name) {
                return Err(ConfigError::File {
                    file: file.display().to_string(),
                    why: format!(
                        "names the pipeline \"{name}\", which the main config's own [source] is; rename the file"
                    ),
                });
            }
            let text = read_utf8(&file)?;
            let shown = file.display().to_string();
            let own = build(Some(File::from_str(&text, FileFormat::Toml)), &[], &shown)?;
            if let Some(key) = MAIN_ONLY.iter().find(|k| own.contains_key(**k)) {
                return Err(ConfigError::Invalid {
                    whence: shown,
                    key: (*key).to_owned(),
                    why: format!(
                        "belongs in the main config only (one [{key}] for every pipeline); remove it here"
                    ),
                });
            }
            let mut tree = base.clone();
            overlay(&mut tree, own);
            found.push((
                name,
                Loader {
                    file: Some(file),
                    tree,
                },
            ));
        }
        Ok(found)
    }

    fn clone_tree(&self) -> Loader {
        Loader {
            file: self.file.clone(),
            tree: self.tree.clone(),
        }
    }

    /// `[pipelines] dir`, relative to the main config's directory.
    fn pipelines_dir(&self) -> Result<Option<PathBuf>, ConfigError> {
        let Some(ValueKind::Table(table)) = self.tree.get("pipelines").map(|v| &v.kind) else {
            return Ok(None);
        };
        let Some(dir) = table.get("dir") else {
            return Ok(None);
        };
        let dir = dir
            .clone()
            .into_string()
            .map_err(|_| ConfigError::Invalid {
                whence: self.whence(&["pipelines".to_owned(), "dir".to_owned()]),
                key: "pipelines.dir".to_owned(),
                why: "must be a directory path (text)".to_owned(),
            })?;
        let dir = PathBuf::from(dir);
        Ok(Some(match self.file.as_deref().and_then(Path::parent) {
            Some(parent) if dir.is_relative() => parent.join(dir),
            _ => dir,
        }))
    }

    /// Nothing to configure from: no file, and not one `SGSYNC__…` variable.
    pub(super) fn is_empty(&self) -> bool {
        self.file.is_none() && self.tree.is_empty()
    }

    pub(super) fn invalid(&self, key: &[&str], why: impl Into<String>) -> ConfigError {
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
    pub(super) fn raw(&self) -> Result<(RawConfig, Blocks), ConfigError> {
        let mut tree = self.tree.clone();
        let mut blocks = Blocks::new();
        // `[store] password_file`: the PostgreSQL password.
        if let Some(store) = tree.get_mut("store") {
            self.resolve_secret_files(store, &["store".to_owned()])?;
        }
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
    pub(super) fn path_error(
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
        // The `config` crate names the Rust enum ("enum OnLossy does not have variant
        // constructor pushh"); say which values the key takes instead.
        if let Some(rest) = why.strip_prefix("enum ")
            && let Some((name, value)) = rest.split_once(" does not have variant constructor ")
        {
            why = match enum_values(name) {
                Some(values) => format!("unknown value \"{value}\"; expected one of {values}"),
                None => format!("unknown value \"{value}\""),
            };
        }
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
}

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

/// The values a config enum takes, as written in the file, by the enum's Rust name.
fn enum_values(name: &str) -> Option<&'static str> {
    Some(match name {
        "OnLossy" => "skip, push",
        "OnSourceDeleted" => "keep, archive, delete",
        "MembershipMode" => "off, when_rule_impossible, when_rule_lossy, always",
        _ => return None,
    })
}

/// The connection blocks taken out of the tree, by the table they were in (`source`,
/// `targets.<name>`).
pub(super) type Blocks = BTreeMap<String, Value>;
