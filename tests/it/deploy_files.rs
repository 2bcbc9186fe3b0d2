//! The deployment files configure sgsync the way sgsync reads it: the Kubernetes
//! ConfigMap's config with the CronJob's `*_FILE` environment, and the example config
//! (secret lines removed, as the README says) with the systemd units' credentials, load
//! through the real loader with every secret taken from its file. A misspelt
//! `SGSYNC__…_FILE` key, a secret left in the config next to its `_file`, or a credential
//! name that differs between `LoadCredential=` and `Environment=` fails here.
//! (`deploy/check` validates the same files' syntax against systemd and Kubernetes.)

use secrecy::ExposeSecret;
use sgsync::config::{Settings, load_str};
use sgsync_ispring::client::IspringCredentials;
use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fresh directory standing in for the secrets mount / credentials directory.
fn secrets_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Writes one file per `SGSYNC__…_FILE` variable (named after the file the variable
/// points at, with a trailing newline as `kubectl create secret --from-file` of an
/// `echo`ed file would have) and returns the environment with the paths moved from
/// `mount` into `dir`.
fn with_secret_files(vars: &[(String, String)], mount: &str, dir: &Path) -> Vec<(String, String)> {
    vars.iter()
        .map(|(name, value)| {
            let file = value
                .strip_prefix(mount)
                .unwrap_or_else(|| panic!("{name}={value} is not under {mount}"));
            let path = dir.join(file);
            std::fs::write(&path, format!("secret-from-{file}\n")).unwrap();
            (name.clone(), path.display().to_string())
        })
        .collect()
}

/// Every secret of the example's source and targets came from its file, newline trimmed.
fn assert_secrets_from_files(settings: &Settings) {
    let Some(source) = settings
        .source
        .connection
        .as_any()
        .downcast_ref::<sgsync_gosquared::client::GoSquaredConfig>()
    else {
        panic!("source is not GoSquared");
    };
    assert_eq!(
        source.api_key.expose_secret(),
        "secret-from-gosquared-api-key"
    );
    let target = |name: &str| {
        &settings
            .targets
            .iter()
            .find(|t| t.endpoint.name == name)
            .unwrap_or_else(|| panic!("no target {name}"))
            .endpoint
            .connection
    };
    let Some(lms) = target("lms")
        .as_any()
        .downcast_ref::<sgsync_ispring::client::IspringConfig>()
    else {
        panic!("lms is not iSpring");
    };
    let IspringCredentials::Token { client_secret, .. } = &lms.credentials else {
        panic!("lms does not use an API key");
    };
    assert_eq!(
        client_secret.expose_secret(),
        "secret-from-lms-client-secret"
    );
    let Some(newsletter) = target("newsletter")
        .as_any()
        .downcast_ref::<sgsync_emfluence::client::EmfluenceConfig>()
    else {
        panic!("newsletter is not emfluence");
    };
    assert_eq!(
        newsletter.token.expose_secret(),
        "secret-from-newsletter-token"
    );
}

/// The block scalar under `sgsync.toml: |` in the ConfigMap, de-indented.
fn configmap_toml(yaml: &str) -> String {
    let mut lines = yaml.lines().skip_while(|l| l.trim() != "sgsync.toml: |");
    assert!(
        lines.next().is_some(),
        "no sgsync.toml key in the ConfigMap"
    );
    let block: Vec<&str> = lines
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect();
    assert!(
        block.len() > 10,
        "the ConfigMap's sgsync.toml is nearly empty"
    );
    block.join("\n")
}

/// `- name: SGSYNC__…` / `value: …` pairs of the CronJob's container env.
fn cronjob_sgsync_env(yaml: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = yaml.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter_map(|w| {
            let name = w[0].strip_prefix("- name: ")?;
            let value = w[1].strip_prefix("value: ")?;
            name.starts_with("SGSYNC__")
                .then(|| (name.to_owned(), value.trim_matches('"').to_owned()))
        })
        .collect()
}

/// `Environment=SGSYNC__…=…` and `LoadCredential=` of a unit.
fn unit_credentials(unit: &str) -> (Vec<(String, String)>, Vec<String>) {
    let env = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment=SGSYNC__"))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (format!("SGSYNC__{k}"), v.to_owned()))
        .collect();
    let creds = unit
        .lines()
        .filter_map(|l| l.strip_prefix("LoadCredential="))
        .filter_map(|c| c.split_once(':'))
        .map(|(id, _)| id.to_owned())
        .collect();
    (env, creds)
}

#[test]
fn the_kubernetes_configmap_loads_with_the_cronjob_secret_files() {
    let toml = configmap_toml(&read("deploy/kubernetes/configmap.yaml"));
    let vars = cronjob_sgsync_env(&read("deploy/kubernetes/cronjob.yaml"));
    assert_eq!(vars.len(), 3, "{vars:?}");
    let dir = secrets_dir();
    let env = with_secret_files(&vars, "/run/secrets/sgsync/", dir.path());
    let settings = load_str("configmap.yaml", &toml, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_secrets_from_files(&settings);
    assert_eq!(
        settings.store.sqlite_path(),
        Some(std::path::Path::new("/var/lib/sgsync/sgsync.db"))
    );
    // Every key of the Secret example is one the CronJob reads.
    let secret = read("deploy/kubernetes/secret.example.yaml");
    for (_, path) in &vars {
        let key = path.trim_start_matches("/run/secrets/sgsync/");
        assert!(
            secret.contains(&format!("  {key}: ")),
            "{key} not in the Secret"
        );
    }
}

#[test]
fn the_systemd_units_credentials_fill_the_example_config_without_its_secrets() {
    // What the README tells the operator to run on the example config.
    let toml: String = read("config/sgsync.example.toml")
        .lines()
        .filter(|l| {
            !(l.starts_with("api_key = ")
                || l.starts_with("client_secret = ")
                || l.starts_with("token = "))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    for unit in ["sgsync.service", "sgsync-sync.service"] {
        let (vars, creds) = unit_credentials(&read(&format!("deploy/systemd/{unit}")));
        assert_eq!(vars.len(), 3, "{unit}: {vars:?}");
        // Each variable names a loaded credential, by %d (the credentials directory).
        let mut named: Vec<String> = vars
            .iter()
            .map(|(_, v)| v.trim_start_matches("%d/").to_owned())
            .collect();
        let mut loaded = creds.clone();
        named.sort();
        loaded.sort();
        assert_eq!(
            named, loaded,
            "{unit}: Environment= and LoadCredential= differ"
        );
        let dir = secrets_dir();
        let env = with_secret_files(&vars, "%d/", dir.path());
        let settings = load_str(unit, &toml, &env).unwrap_or_else(|e| panic!("{unit}: {e}"));
        assert_secrets_from_files(&settings);
    }
}

/// The image builds the whole workspace: every path the build reads is copied in and
/// let through `.dockerignore` (the crates under `crates/` were once left out, and only
/// a build would have said so).
#[test]
fn the_container_build_copies_everything_the_workspace_build_reads() {
    let dockerfile = read("deploy/Dockerfile");
    let ignore = read(".dockerignore");
    let members: Vec<String> = read("Cargo.toml")
        .lines()
        .skip_while(|l| !l.starts_with("members"))
        .take(1)
        .flat_map(|l| {
            l.split('"')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        members.iter().all(|m| m.starts_with("crates/")),
        "workspace members outside crates/: {members:?}"
    );
    for path in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "crates",
        "migrations",
        "benches",
        "src",
    ] {
        assert!(
            dockerfile
                .lines()
                .any(|l| l.starts_with("COPY ") && l.split_whitespace().any(|w| w == path)),
            "deploy/Dockerfile does not COPY {path}"
        );
        let allowed = format!("!{path}");
        assert!(
            ignore.lines().any(|l| l.trim_end_matches('/') == allowed),
            ".dockerignore does not let {path} through"
        );
    }
}
