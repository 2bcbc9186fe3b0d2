//! One world for the end-to-end tests: the three sandboxes on loopback, a temporary
//! directory holding the state database and the config file, and the config itself, as
//! a user writes it (GoSquared → iSpring Learn `lms` + emfluence `newsletter`).
//! Everything goes with the value (sandboxes stop, the directory is removed).

#![allow(dead_code)]

use serde_json::json;
use sgsync::sandbox::{Controls, Seed};
use sgsync_ispring as ispring;
use std::path::PathBuf;
use std::process::Command;

pub struct World {
    pub gs: sgsync::sandbox::gosquared::Sandbox,
    pub is: sgsync::sandbox::ispring::Sandbox,
    pub em: sgsync::sandbox::emfluence::Sandbox,
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub config_path: PathBuf,
}

/// The parts of a config a test chooses; the connection tables come from the sandboxes.
#[derive(Debug, Clone)]
pub struct Parts {
    /// Lines of `[targets.lms]` (iSpring Learn); `None` leaves the target out.
    pub lms: Option<String>,
    /// Lines of `[targets.newsletter]` (emfluence); `None` leaves the target out.
    pub newsletter: Option<String>,
    /// Appended after `[store]` / `[http]` (e.g. a `[sync]` table).
    pub tail: String,
    /// Lines of `[http]`.
    pub http: String,
    /// Lines of `[store]` besides its path.
    pub store: String,
}

impl Default for Parts {
    fn default() -> Self {
        Parts {
            lms: Some("on_lossy = \"skip\"".into()),
            newsletter: Some(
                "on_lossy = \"push\"\non_source_deleted = \"archive\"\nmembership = \"off\"".into(),
            ),
            tail: String::new(),
            http: "timeout_secs = 5\nbase_delay_ms = 5\nmax_delay_ms = 50".into(),
            store: String::new(),
        }
    }
}

impl World {
    /// Sandboxes (the source seeded with `source`, the targets empty) and a fresh
    /// directory.
    pub async fn start(source: Seed) -> World {
        let dir = tempfile::Builder::new()
            .prefix("sgsync-test-")
            .tempdir()
            .expect("a temporary directory");
        World {
            gs: sgsync::sandbox::gosquared::Sandbox::start(source)
                .await
                .expect("GoSquared sandbox"),
            is: sgsync::sandbox::ispring::Sandbox::start(Seed::Empty)
                .await
                .expect("iSpring sandbox"),
            em: sgsync::sandbox::emfluence::Sandbox::start(Seed::Empty)
                .await
                .expect("emfluence sandbox"),
            db: dir.path().join("sgsync.db"),
            config_path: dir.path().join("sgsync.toml"),
            dir,
        }
    }

    /// The whole config text for `parts`.
    pub fn config(&self, parts: &Parts) -> String {
        let mut text = format!(
            "[source]\nprovider = \"gosquared\"\nrate_limit_per_minute = 60000\n{}\n",
            self.gs.config_toml("source.gosquared")
        );
        if let Some(lms) = &parts.lms {
            text.push_str(&format!(
                "\n[targets.lms]\nprovider = \"ispring\"\nrate_limit_per_minute = 60000\n{lms}\n{}\n",
                self.is.config_toml("targets.lms.ispring")
            ));
        }
        if let Some(newsletter) = &parts.newsletter {
            text.push_str(&format!(
                "\n[targets.newsletter]\nprovider = \"emfluence\"\nrate_limit_per_minute = 60000\n{newsletter}\n{}\n",
                self.em.config_toml("targets.newsletter.emfluence")
            ));
        }
        text.push_str(&format!(
            r#"
[mapping.attributes.country]
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
equals = "=="

[store]
path = "{db}"
{store}

[http]
{http}

[metrics]
enabled = false
{tail}
"#,
            db = self.db.display(),
            http = parts.http,
            store = parts.store,
            tail = parts.tail,
        ));
        text
    }

    /// Writes the config for `parts` to [`World::config_path`] (for child processes).
    pub fn write_config(&self, parts: &Parts) {
        std::fs::write(&self.config_path, self.config(parts)).expect("config written");
    }

    /// A pipeline for `parts`, in this process.
    pub async fn pipeline(&self, parts: &Parts) -> sgsync::engine::run::Pipeline {
        let settings = sgsync::config::load_str("test.toml", &self.config(parts), &[])
            .unwrap_or_else(|e| panic!("config: {e}"));
        sgsync::daemon::pipeline(&settings)
            .await
            .unwrap_or_else(|e| panic!("pipeline: {e}"))
    }

    /// `sgsync <args>` with `--config` pointing at the written config.
    pub fn sgsync(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sgsync"));
        command
            .arg("--config")
            .arg(&self.config_path)
            .args(args)
            .env("RUST_LOG", "info");
        command
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

/// emfluence writes in a request log.
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
