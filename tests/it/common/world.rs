//! One world for the end-to-end tests: the three sandboxes on loopback, a temporary
//! directory holding the state database and the config files, and the config itself, as
//! a user writes it (by default GoSquared → iSpring Learn `lms` + emfluence
//! `newsletter`). A test chooses the parts of the config ([`Parts`]); the connection
//! tables always come from the sandboxes. Everything goes with the value (sandboxes
//! stop, the directory is removed).

use serde_json::json;
use sgsync::config::Settings;
use sgsync::engine::run::Pipeline;
use sgsync::sandbox::{Controls, Seed};
use sgsync::store::Store;
use sgsync_ispring as ispring;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

pub struct World {
    /// Shared with the worlds made [`World::beside`] this one.
    pub gs: Arc<sgsync::sandbox::gosquared::Sandbox>,
    pub is: sgsync::sandbox::ispring::Sandbox,
    pub em: sgsync::sandbox::emfluence::Sandbox,
    pub dir: tempfile::TempDir,
    /// The SQLite state database, unless [`World::on_postgres`] moved the state.
    pub db: PathBuf,
    /// The PostgreSQL database the state is in instead, after [`World::on_postgres`].
    pub postgres: Option<super::db::TempDb>,
    pub config_path: PathBuf,
}

/// Which sandbox is the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    #[default]
    GoSquared,
    /// iSpring Learn as the source (`lms` must then be left out).
    Ispring,
}

/// The mapping tables most tests use: the country, and GoSquared's `==`.
pub const COUNTRY_MAPPING: &str = r#"[mapping.attributes.country]
gosquared = "last.location.country.code"
ispring_field = "COUNTRY"
[mapping.values.country]
CA = "124"
US = "840"
GB = "826"
DE = "276"
[mapping.confirmed]
ispring_field_rules = true
gosquared_relative_dates = true
gosquared_top_level_and = true
[mapping.gosquared_operators]
equals = "==""#;

/// The parts of a config a test chooses; the connection tables come from the sandboxes.
/// Every provider table gets `rate_limit_per_minute = 60000` unless its lines set one.
#[derive(Debug, Clone)]
pub struct Parts {
    pub source: Source,
    /// Lines of `[source]`.
    pub source_lines: String,
    /// Lines of `[targets.lms]` (iSpring Learn); `None` leaves the target out.
    pub lms: Option<String>,
    /// Lines of `[targets.crm]` (GoSquared as a target, with [`Source::Ispring`]);
    /// `None` leaves the target out.
    pub crm: Option<String>,
    /// Lines of `[targets.newsletter]` (emfluence); `None` leaves the target out.
    pub newsletter: Option<String>,
    /// The `[mapping…]` tables.
    pub mapping: String,
    /// Lines of `[store]` besides its path.
    pub store: String,
    /// Lines of `[http]`.
    pub http: String,
    /// Lines of `[metrics]`; `None` leaves the table out (metrics on, the default port).
    pub metrics: Option<String>,
    /// Appended last (e.g. a `[sync]` or `[schedule]` table).
    pub tail: String,
}

impl Default for Parts {
    fn default() -> Self {
        Parts {
            source: Source::GoSquared,
            source_lines: String::new(),
            lms: Some("on_lossy = \"skip\"".into()),
            crm: None,
            newsletter: Some(
                "on_lossy = \"push\"\non_source_deleted = \"archive\"\nmembership = \"off\"".into(),
            ),
            mapping: COUNTRY_MAPPING.into(),
            store: String::new(),
            http: "timeout_secs = 5\nbase_delay_ms = 5\nmax_delay_ms = 50".into(),
            metrics: Some("enabled = false".into()),
            tail: String::new(),
        }
    }
}

/// `[<name>]` for `provider`: the chosen lines, the rate limit unless they set one, and
/// the connection tables.
fn provider_table(name: &str, provider: &str, lines: &str, connection: String) -> String {
    let limit = if lines.contains("rate_limit_per_minute") {
        ""
    } else {
        "rate_limit_per_minute = 60000\n"
    };
    format!("\n[{name}]\nprovider = \"{provider}\"\n{limit}{lines}\n{connection}")
}

impl World {
    /// Sandboxes (the GoSquared source seeded with `source`, the targets empty) and a
    /// fresh directory.
    pub async fn start(source: Seed) -> World {
        World::start_seeded(source, Seed::Empty, Seed::Empty).await
    }

    /// Each sandbox with its own seed (iSpring seeded, say, to be the source).
    pub async fn start_seeded(gs: Seed, is: Seed, em: Seed) -> World {
        let gs = sgsync::sandbox::gosquared::Sandbox::start(gs)
            .await
            .expect("GoSquared sandbox");
        World::around(Arc::new(gs), is, em).await
    }

    /// Another world with the same GoSquared source: fresh, empty targets and a
    /// directory (and so a state database) of its own. What a reference sync of the same
    /// source history runs in.
    pub async fn beside(&self) -> World {
        World::around(self.gs.clone(), Seed::Empty, Seed::Empty).await
    }

    async fn around(gs: Arc<sgsync::sandbox::gosquared::Sandbox>, is: Seed, em: Seed) -> World {
        let dir = tempfile::Builder::new()
            .prefix("sgsync-test-")
            .tempdir()
            .expect("a temporary directory");
        World {
            gs,
            is: sgsync::sandbox::ispring::Sandbox::start(is)
                .await
                .expect("iSpring sandbox"),
            em: sgsync::sandbox::emfluence::Sandbox::start(em)
                .await
                .expect("emfluence sandbox"),
            db: dir.path().join("sgsync.db"),
            postgres: None,
            config_path: dir.path().join("sgsync.toml"),
            dir,
        }
    }

    /// This world with its state in a PostgreSQL database of its own instead of the
    /// SQLite file; `None` where no test server is configured (see
    /// [`super::db::TempDb::postgres`]).
    pub async fn on_postgres(mut self, label: &str) -> Option<World> {
        self.postgres = Some(super::db::TempDb::postgres(label).await?);
        Some(self)
    }

    /// The `[store]` line that points a config at this world's state.
    pub fn store_line(&self) -> String {
        match &self.postgres {
            Some(db) => db.config_lines().to_owned(),
            None => format!("path = \"{}\"", self.db.display()),
        }
    }

    /// The whole config text for `parts`.
    pub fn config(&self, parts: &Parts) -> String {
        let mut text = match parts.source {
            Source::GoSquared => provider_table(
                "source",
                "gosquared",
                &parts.source_lines,
                self.gs.config_toml("source.gosquared"),
            ),
            Source::Ispring => {
                assert!(parts.lms.is_none(), "iSpring cannot be source and target");
                provider_table(
                    "source",
                    "ispring",
                    &parts.source_lines,
                    self.is.config_toml("source.ispring"),
                )
            }
        };
        if let Some(lms) = &parts.lms {
            text.push_str(&provider_table(
                "targets.lms",
                "ispring",
                lms,
                self.is.config_toml("targets.lms.ispring"),
            ));
        }
        if let Some(crm) = &parts.crm {
            assert_eq!(
                parts.source,
                Source::Ispring,
                "GoSquared cannot be source and target"
            );
            text.push_str(&provider_table(
                "targets.crm",
                "gosquared",
                crm,
                self.gs.config_toml("targets.crm.gosquared"),
            ));
        }
        if let Some(newsletter) = &parts.newsletter {
            text.push_str(&provider_table(
                "targets.newsletter",
                "emfluence",
                newsletter,
                self.em.config_toml("targets.newsletter.emfluence"),
            ));
        }
        text.push_str(&format!(
            "\n{mapping}\n\n[store]\n{db}\n{store}\n\n[http]\n{http}\n",
            mapping = parts.mapping,
            db = self.store_line(),
            store = parts.store,
            http = parts.http,
        ));
        if let Some(metrics) = &parts.metrics {
            text.push_str(&format!("\n[metrics]\n{metrics}\n"));
        }
        text.push_str(&format!("{}\n", parts.tail));
        text
    }

    /// Writes the config for `parts` to [`World::config_path`] (for child processes).
    pub fn write_config(&self, parts: &Parts) {
        std::fs::write(&self.config_path, self.config(parts)).expect("config written");
    }

    /// Writes `text` to `name` in the world's directory; its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("file written");
        path
    }

    /// The settings `parts` load into, in this process.
    pub fn settings(&self, parts: &Parts) -> Settings {
        self.settings_env(parts, &[])
    }

    /// The same, with `SGSYNC__…` environment overrides.
    pub fn settings_env(&self, parts: &Parts, env: &[(&str, &str)]) -> Settings {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        sgsync::config::load_str("test.toml", &self.config(parts), &env)
            .unwrap_or_else(|e| panic!("config: {e}"))
    }

    /// A pipeline for `parts`, in this process.
    pub async fn pipeline(&self, parts: &Parts) -> Pipeline {
        pipeline(&self.settings(parts)).await
    }

    /// A pipeline for `parts` with `SGSYNC__…` environment overrides.
    pub async fn pipeline_env(&self, parts: &Parts, env: &[(&str, &str)]) -> Pipeline {
        pipeline(&self.settings_env(parts, env)).await
    }

    /// The state database, opened in this process.
    pub async fn store(&self) -> Store {
        match &self.postgres {
            Some(db) => db.open().await,
            None => Store::open(&self.db).await.expect("store opens"),
        }
    }

    /// `sgsync --config <config_path> <args>` (see [`sgsync`]).
    pub fn sgsync(&self, args: &[&str]) -> Command {
        sgsync_with(&self.config_path, args)
    }

    pub fn clear_logs(&self) {
        for c in self.controls() {
            c.clear_log();
        }
    }

    pub fn controls(&self) -> [&Controls; 3] {
        [
            &self.gs.running.controls,
            &self.is.running.controls,
            &self.em.running.controls,
        ]
    }

    /// Group writes each target received since its log was last cleared (iSpring,
    /// emfluence).
    pub fn writes(&self) -> (usize, usize) {
        (
            soap_writes(&self.is.running.controls),
            json_writes(&self.em.running.controls),
        )
    }
}

/// A pipeline for loaded settings.
pub async fn pipeline(settings: &Settings) -> Pipeline {
    sgsync::daemon::pipeline(settings)
        .await
        .unwrap_or_else(|e| panic!("pipeline: {e}"))
}

/// `sgsync <args>`: the binary Cargo built for these tests, run from the package root
/// (so `config/…` and `tests/fixtures/…` resolve).
pub fn sgsync(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sgsync"));
    command.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

/// `sgsync --config <config> <args>`, with `RUST_LOG=info` (what the run says about
/// its lock and its writes is logged at that level).
pub fn sgsync_with(config: &Path, args: &[&str]) -> Command {
    let mut command = sgsync(&[]);
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "info");
    command
}

/// iSpring group writes in a request log.
pub fn soap_writes(c: &Controls) -> usize {
    c.requests()
        .iter()
        .filter(|r| {
            ["AddSmartGroup", "pdateSmartGroup", "RemoveGroup"]
                .iter()
                .any(|m| r.contains(m))
        })
        .count()
}

/// emfluence writes (groups and membership) in a request log.
pub fn json_writes(c: &Controls) -> usize {
    c.requests()
        .iter()
        .filter(|r| {
            [
                "groups/save",
                "addContacts",
                "removeContacts",
                "contacts/save",
            ]
            .iter()
            .any(|p| r.path.contains(p))
        })
        .count()
}

/// A GoSquared filter: the person's country is `code`.
pub fn country_is(code: &str) -> serde_json::Value {
    json!({"key": "property", "path": "last.location.country.code", "operator": "==", "value": code})
}

/// An iSpring smart-group rule: country is Canada (id 124).
pub fn canada_rule() -> Vec<Vec<ispring::wire::WireRule>> {
    vec![vec![ispring::wire::WireRule {
        attribute_type: 3,
        attribute_id: Some("COUNTRY".into()),
        operator: 1,
        value: "124".into(),
    }]]
}
