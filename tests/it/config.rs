//! Configuration loading: every documented key round-trips, the environment wins,
//! secrets come from files, and every error names its key without showing a secret.

use secrecy::ExposeSecret;
use sgsync::config::{ConfigError, OnLossy, OnSourceDeleted, Settings, load_str, load_with_env};
use sgsync::provider::pacing::Shape;
use sgsync_ispring::client::IspringCredentials;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SECRET: &str = "s3cr3t-VALUE-9f8e7d-NEVER-SHOWN";

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sgsync.example.toml")
}

fn demo_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml")
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A temporary file holding `contents`, removed when the value goes.
fn temp_file(contents: &str) -> tempfile::TempPath {
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    file.write_all(contents.as_bytes())
        .expect("write temp file");
    file.into_temp_path()
}

/// A small valid config: GoSquared source, emfluence target `mail`, plus `extra`.
fn minimal(extra: &str) -> String {
    format!(
        r#"
[source]
provider = "gosquared"
[source.gosquared]
base_url = "http://127.0.0.1:9001"
api_key = "k"
site_token = "t"

[targets.mail]
provider = "emfluence"
[targets.mail.emfluence]
base_url = "http://127.0.0.1:9003/v1"
token = "tok"
{extra}
"#
    )
}

fn load(toml: &str, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    load_str("test.toml", toml, &env(vars))
}

fn err(toml: &str, vars: &[(&str, &str)]) -> String {
    match load(toml, vars) {
        Ok(s) => panic!("expected an error, got {s:?}"),
        Err(e) => e.to_string(),
    }
}

fn target<'a>(s: &'a Settings, name: &str) -> &'a sgsync::config::Target {
    s.targets
        .iter()
        .find(|t| t.endpoint.name == name)
        .unwrap_or_else(|| panic!("no target {name}"))
}

#[test]
fn example_config_every_key_round_trips() {
    let s = load_with_env(Some(&example_path()), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.file.as_deref(), Some(example_path().as_path()));

    assert_eq!(s.source.name, "source");
    assert_eq!(s.source.provider, sgsync_gosquared::KIND);
    assert_eq!(s.source.http.requests_per_minute, 600);
    let Some(gs) = s
        .source
        .connection
        .as_any()
        .downcast_ref::<sgsync_gosquared::client::GoSquaredConfig>()
    else {
        panic!("source is not GoSquared")
    };
    assert_eq!(gs.base_url, "https://api.gosquared.com");
    assert_eq!(gs.api_key.expose_secret(), "REPLACE-WITH-API-KEY");
    assert_eq!(gs.site_token.expose_secret(), "GSN-000000-X");

    assert_eq!(s.targets.len(), 2);
    let lms = target(&s, "lms");
    assert_eq!(lms.endpoint.provider, sgsync_ispring::KIND);
    assert_eq!(lms.on_lossy, OnLossy::Skip);
    assert_eq!(lms.on_source_deleted, OnSourceDeleted::Keep);
    assert_eq!(lms.name_prefix.as_deref(), Some("[sync] "));
    assert_eq!(lms.concurrency, 4);
    assert_eq!(lms.endpoint.http.requests_per_minute, 100);
    let Some(isp) = lms
        .endpoint
        .connection
        .as_any()
        .downcast_ref::<sgsync_ispring::client::IspringConfig>()
    else {
        panic!("lms is not iSpring")
    };
    assert_eq!(
        isp.soap_url,
        "https://api-learn.ispringlearn.com/api/v2/soap/2.0"
    );
    assert_eq!(
        lms.membership.mode,
        sgsync::model::members::MembershipMode::WhenRuleImpossible
    );
    assert_eq!(isp.soap_action, None);
    assert_eq!(
        isp.rest_url.as_deref(),
        Some("https://api-learn.ispringlearn.com")
    );
    match &isp.credentials {
        IspringCredentials::Token {
            token_url,
            client_id,
            client_secret,
        } => {
            assert_eq!(token_url, "https://api-learn.ispringlearn.com/api/v3/token");
            assert_eq!(client_id, "REPLACE-WITH-CLIENT-ID");
            assert_eq!(client_secret.expose_secret(), "REPLACE-WITH-CLIENT-SECRET");
        }
        other => panic!("credentials {other:?}"),
    }

    let nl = target(&s, "newsletter");
    assert_eq!(nl.endpoint.provider, sgsync_emfluence::KIND);
    assert_eq!(nl.on_lossy, OnLossy::Push);
    assert_eq!(nl.on_source_deleted, OnSourceDeleted::Archive);
    assert_eq!(nl.name_prefix, None);
    assert_eq!(nl.concurrency, 4);
    let Some(em) = nl
        .endpoint
        .connection
        .as_any()
        .downcast_ref::<sgsync_emfluence::client::EmfluenceConfig>()
    else {
        panic!("newsletter is not emfluence")
    };
    assert_eq!(em.base_url, "https://api.emailer.emfluence.com/v1");
    assert_eq!(em.token.expose_secret(), "REPLACE-WITH-TOKEN");

    assert_eq!(s.schedule_text, "0 */15 * * * *");
    assert_eq!(
        s.store.sqlite_path(),
        Some(std::path::Path::new("/var/lib/sgsync/sgsync.db"))
    );
    for endpoint in std::iter::once(&s.source).chain(s.targets.iter().map(|t| &t.endpoint)) {
        let h = &endpoint.http;
        assert_eq!(h.connect_timeout, Duration::from_secs(5));
        assert_eq!(h.timeout, Duration::from_secs(30));
        assert_eq!(h.max_retries, 4);
        assert_eq!(h.base_delay, Duration::from_millis(250));
        assert_eq!(h.max_delay, Duration::from_millis(30_000));
        assert_eq!(h.max_body_bytes, 16 * 1024 * 1024);
    }

    assert_eq!(s.maps.max_clauses(), 64);
    assert_eq!(s.maps.ispring_field("country"), Some("COUNTRY"));
    assert_eq!(s.maps.ispring_field("custom.job_title"), Some("JOB_TITLE"));
}

#[test]
fn demo_config_loads_with_sandbox_credentials() {
    let s = load_with_env(Some(&demo_path()), &[]).unwrap_or_else(|e| panic!("{e}"));
    let Some(gs) = s
        .source
        .connection
        .as_any()
        .downcast_ref::<sgsync_gosquared::client::GoSquaredConfig>()
    else {
        panic!("source is not GoSquared")
    };
    assert_eq!(
        gs.api_key.expose_secret(),
        sgsync::sandbox::gosquared::API_KEY
    );
    assert_eq!(
        gs.site_token.expose_secret(),
        sgsync::sandbox::gosquared::SITE_TOKEN
    );
    let lms = target(&s, "lms");
    assert_eq!(lms.on_lossy, OnLossy::Skip);
    assert_eq!(lms.name_prefix.as_deref(), Some("[demo] "));
    assert_eq!(lms.concurrency, 2);
    let Some(isp) = lms
        .endpoint
        .connection
        .as_any()
        .downcast_ref::<sgsync_ispring::client::IspringConfig>()
    else {
        panic!("lms is not iSpring")
    };
    match &isp.credentials {
        IspringCredentials::Token {
            client_id,
            client_secret,
            ..
        } => {
            assert_eq!(client_id, sgsync::sandbox::ispring::CLIENT_ID);
            assert_eq!(
                client_secret.expose_secret(),
                sgsync::sandbox::ispring::CLIENT_SECRET
            );
        }
        other => panic!("credentials {other:?}"),
    }
    let nl = target(&s, "newsletter");
    assert_eq!(nl.on_lossy, OnLossy::Push);
    let Some(em) = nl
        .endpoint
        .connection
        .as_any()
        .downcast_ref::<sgsync_emfluence::client::EmfluenceConfig>()
    else {
        panic!("newsletter is not emfluence")
    };
    assert_eq!(
        em.token.expose_secret(),
        sgsync::sandbox::emfluence::SANDBOX_TOKEN
    );
    assert!(s.store.sqlite_path().is_some_and(|p| p.starts_with("/tmp")));
    assert_eq!(s.schedule_text, "0 * * * * *");
    assert_eq!(lms.endpoint.http.connect_timeout, Duration::from_secs(2));
    // By the name the account lists (each account's id is read at run start).
    assert_eq!(
        s.maps.ispring_value("country", "CA"),
        sgsync::model::mapping::IspringValue::Mapped("Canada")
    );
}

#[test]
fn defaults_apply_when_keys_are_left_out() {
    let s = load(&minimal(""), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.schedule_text, "0 */15 * * * *");
    assert_eq!(
        s.store.sqlite_path(),
        Some(std::path::Path::new("/var/lib/sgsync/sgsync.db"))
    );
    let mail = target(&s, "mail");
    assert_eq!(mail.on_lossy, OnLossy::Skip);
    assert_eq!(mail.on_source_deleted, OnSourceDeleted::Keep);
    assert_eq!(mail.concurrency, 4);
    assert_eq!(mail.endpoint.http, sgsync_emfluence::http_defaults());
}

#[test]
fn a_rate_limit_keeps_its_providers_shape_and_takes_a_burst() {
    let s = load(&minimal(""), &[]).unwrap_or_else(|e| panic!("{e}"));
    // GoSquared documents a bucket; emfluence's figure is a count per 60 seconds.
    assert_eq!(s.source.http.limit_shape, Shape::Bucket);
    assert_eq!(s.source.http.burst, None);
    assert_eq!(target(&s, "mail").endpoint.http.limit_shape, Shape::Window);

    let burst = [("SGSYNC__TARGETS__MAIL__RATE_LIMIT_BURST", "10")];
    let s = load(&minimal(""), &burst).unwrap_or_else(|e| panic!("{e}"));
    let http = &target(&s, "mail").endpoint.http;
    assert_eq!((http.requests_per_minute, http.burst), (100, Some(10)));

    for bad in ["0", "101"] {
        let e = err(
            &minimal(""),
            &[("SGSYNC__TARGETS__MAIL__RATE_LIMIT_BURST", bad)],
        );
        assert!(
            e.contains("targets.mail.rate_limit_burst")
                && e.contains("must be between 1 and the budget per minute (100)"),
            "{e}"
        );
    }
}

#[test]
fn environment_overrides_the_file() {
    let vars = [
        ("SGSYNC__SCHEDULE__CRON", "0 0 * * * *"),
        ("SGSYNC__TARGETS__LMS__ON_LOSSY", "push"),
        ("SGSYNC__TARGETS__LMS__CONCURRENCY", "8"),
        ("SGSYNC__SOURCE__GOSQUARED__API_KEY", SECRET),
        ("SGSYNC__HTTP__MAX_RETRIES", "1"),
        ("SGSYNC__STORE__PATH", "/tmp/elsewhere.db"),
    ];
    let s = load_with_env(Some(&example_path()), &env(&vars)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.schedule_text, "0 0 * * * *");
    let lms = target(&s, "lms");
    assert_eq!(lms.on_lossy, OnLossy::Push);
    assert_eq!(lms.concurrency, 8);
    assert_eq!(lms.endpoint.http.max_retries, 1);
    assert_eq!(
        s.store.sqlite_path(),
        Some(std::path::Path::new("/tmp/elsewhere.db"))
    );
    let Some(gs) = s
        .source
        .connection
        .as_any()
        .downcast_ref::<sgsync_gosquared::client::GoSquaredConfig>()
    else {
        panic!("source is not GoSquared")
    };
    assert_eq!(gs.api_key.expose_secret(), SECRET);
    // Unrelated variables are ignored.
    let s = load(&minimal(""), &[("PATH", "/bin"), ("SGSYNCX", "1")]);
    assert!(s.is_ok(), "{s:?}");
}

#[test]
fn a_numeric_secret_from_the_environment_stays_text() {
    let s = load(
        &minimal(""),
        &[("SGSYNC__TARGETS__MAIL__EMFLUENCE__TOKEN", "0012345")],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let Some(em) = target(&s, "mail")
        .endpoint
        .connection
        .as_any()
        .downcast_ref::<sgsync_emfluence::client::EmfluenceConfig>()
    else {
        panic!("mail is not emfluence")
    };
    // Parsed as a number first; what matters is that it still loads as text.
    assert!(em.token.expose_secret().ends_with("12345"));
}

#[test]
fn secret_files_are_read_with_one_trailing_newline_trimmed() {
    let key_file = temp_file(&format!("{SECRET}\n"));
    let token_file = temp_file("tok-from-file\n\n");
    let toml = minimal("")
        .replace(
            "api_key = \"k\"",
            &format!("api_key_file = {:?}", key_file.display().to_string()),
        )
        .replace(
            "token = \"tok\"",
            &format!("token_file = {:?}", token_file.display().to_string()),
        );
    let s = load(&toml, &[]).unwrap_or_else(|e| panic!("{e}"));
    let Some(gs) = s
        .source
        .connection
        .as_any()
        .downcast_ref::<sgsync_gosquared::client::GoSquaredConfig>()
    else {
        panic!("source is not GoSquared")
    };
    assert_eq!(gs.api_key.expose_secret(), SECRET);
    let Some(em) = target(&s, "mail")
        .endpoint
        .connection
        .as_any()
        .downcast_ref::<sgsync_emfluence::client::EmfluenceConfig>()
    else {
        panic!("mail is not emfluence")
    };
    assert_eq!(em.token.expose_secret(), "tok-from-file\n");
    // Nested blocks too, and the file path may come from the environment.
    let secret_file = temp_file("from-env-file\n");
    let s = load_with_env(
        Some(&example_path()),
        &env(&[(
            "SGSYNC__TARGETS__NEWSLETTER__EMFLUENCE__TOKEN_FILE",
            &secret_file.display().to_string(),
        )]),
    );
    // The example also sets token: both given is an error, even across layers.
    let e = s.expect_err("token and token_file both set");
    assert!(
        e.to_string()
            .contains("targets.newsletter.emfluence.token_file"),
        "{e}"
    );
    let nested = temp_file(&format!("{SECRET}\n"));
    let toml = std::fs::read_to_string(example_path())
        .expect("example")
        .replace(
            "client_secret = \"REPLACE-WITH-CLIENT-SECRET\"",
            &format!("client_secret_file = {:?}", nested.display().to_string()),
        );
    let s = load(&toml, &[]).unwrap_or_else(|e| panic!("{e}"));
    let Some(isp) = target(&s, "lms")
        .endpoint
        .connection
        .as_any()
        .downcast_ref::<sgsync_ispring::client::IspringConfig>()
    else {
        panic!("lms is not iSpring")
    };
    let IspringCredentials::Token { client_secret, .. } = &isp.credentials else {
        panic!("not token credentials")
    };
    assert_eq!(client_secret.expose_secret(), SECRET);
}

#[test]
fn secret_and_secret_file_together_are_refused() {
    let file = temp_file(SECRET);
    let toml = minimal("").replace(
        "api_key = \"k\"",
        &format!(
            "api_key = \"{SECRET}\"\napi_key_file = {:?}",
            file.display().to_string()
        ),
    );
    let e = err(&toml, &[]);
    assert!(e.contains("source.gosquared.api_key_file"), "{e}");
    assert!(e.contains("test.toml"), "{e}");
    assert!(!e.contains(SECRET), "{e}");
}

#[test]
fn an_unreadable_secret_file_names_key_and_path() {
    let toml = minimal("").replace(
        "api_key = \"k\"",
        "api_key_file = \"/nonexistent/sgsync/api-key\"",
    );
    let e = err(&toml, &[]);
    assert!(e.contains("source.gosquared.api_key_file"), "{e}");
    assert!(e.contains("/nonexistent/sgsync/api-key"), "{e}");
}

#[test]
fn unknown_keys_are_named() {
    let e = err(
        &minimal("").replace(
            "[targets.mail.emfluence]",
            "on_lossyy = \"push\"\n[targets.mail.emfluence]",
        ),
        &[],
    );
    assert!(e.contains("targets.mail.on_lossyy"), "{e}");
    let e = err(&minimal("[store]\npathh = \"/x\""), &[]);
    assert!(e.contains("store.pathh"), "{e}");
    let e = err(&minimal("[http]\ntimeout = 3"), &[]);
    assert!(e.contains("http.timeout"), "{e}");
    let e = err(&minimal(""), &[("SGSYNC__SCHEDULE__CRONN", "x")]);
    assert!(e.contains("schedule.cronn"), "{e}");
    assert!(e.contains("SGSYNC__SCHEDULE__CRONN"), "{e}");
    let e = err(
        &minimal("[mapping.attributes.country]\nispring = \"COUNTRY\""),
        &[],
    );
    assert!(e.contains("mapping.attributes.country.ispring"), "{e}");
}

#[test]
fn bad_values_are_named() {
    let e = err(&minimal("[schedule]\ncron = \"every tuesday\""), &[]);
    assert!(e.contains("schedule.cron"), "{e}");
    let e = err(&minimal(""), &[("SGSYNC__SCHEDULE__CRON", "nope")]);
    assert!(e.contains("schedule.cron"), "{e}");
    assert!(
        e.contains("environment variable SGSYNC__SCHEDULE__CRON"),
        "{e}"
    );
    let e = err(
        &minimal(""),
        &[("SGSYNC__TARGETS__MAIL__ON_LOSSY", "maybe")],
    );
    assert!(e.contains("targets.mail.on_lossy"), "{e}");
    let e = err(
        &minimal(""),
        &[("SGSYNC__TARGETS__MAIL__CONCURRENCY", "65")],
    );
    assert!(e.contains("targets.mail.concurrency"), "{e}");
    let e = err(
        &minimal(""),
        &[("SGSYNC__TARGETS__MAIL__RATE_LIMIT_PER_MINUTE", "0")],
    );
    assert!(e.contains("targets.mail.rate_limit_per_minute"), "{e}");
    let e = err(&minimal("[http]\ntimeout_secs = 0"), &[]);
    assert!(e.contains("http.timeout_secs"), "{e}");
    let e = err(
        &minimal("[mapping.attributes.country]\nispring_field = \"\""),
        &[],
    );
    assert!(e.contains("mapping.attributes"), "{e}");
}

#[test]
fn non_loopback_http_base_url_is_refused_by_key() {
    let toml = minimal("").replace("http://127.0.0.1:9003/v1", "http://mail.example.com/v1");
    let e = err(&toml, &[]);
    assert!(e.contains("targets.mail.emfluence.base_url"), "{e}");
    let toml = std::fs::read_to_string(example_path())
        .expect("example")
        .replace(
            "https://api-learn.ispringlearn.com/api/v3/token",
            "http://api-learn.ispringlearn.com/api/v3/token",
        );
    let e = err(&toml, &[]);
    assert!(
        e.contains("targets.lms.ispring.credentials.token_url"),
        "{e}"
    );
}

#[test]
fn provider_blocks_must_match_the_provider() {
    let toml = minimal("").replace("[targets.mail.emfluence]", "[targets.mail.ispring]");
    let e = err(&toml, &[]);
    assert!(e.contains("targets.mail.ispring"), "{e}");
    let toml = minimal("[targets.mail.gosquared]\napi_key = \"a\"\nsite_token = \"b\"");
    let e = err(&toml, &[]);
    assert!(e.contains("targets.mail.gosquared"), "{e}");
    let toml = minimal("").replace(
        "[targets.mail.emfluence]\nbase_url = \"http://127.0.0.1:9003/v1\"\ntoken = \"tok\"",
        "",
    );
    let e = err(&toml, &[]);
    assert!(e.contains("targets.mail.emfluence"), "{e}");
    assert!(e.contains("missing"), "{e}");
}

#[test]
fn structural_mistakes_are_refused() {
    // No target at all.
    let toml = minimal("").replace(
        "[targets.mail]\nprovider = \"emfluence\"\n[targets.mail.emfluence]\nbase_url = \"http://127.0.0.1:9003/v1\"\ntoken = \"tok\"",
        "",
    );
    let e = err(&toml, &[]);
    assert!(e.contains("targets"), "{e}");
    // A target that is the source itself.
    let e = err(
        &minimal(
            "[targets.loop]\nprovider = \"gosquared\"\n[targets.loop.gosquared]\nbase_url = \"http://127.0.0.1:9001/\"\napi_key = \"k\"\nsite_token = \"t\"",
        ),
        &[],
    );
    assert!(e.contains("targets.loop.gosquared"), "{e}");
    // The same provider at another account is fine.
    let ok = load(
        &minimal(
            "[targets.other]\nprovider = \"gosquared\"\n[targets.other.gosquared]\nbase_url = \"http://127.0.0.1:9002\"\napi_key = \"k\"\nsite_token = \"t\"",
        ),
        &[],
    );
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn a_missing_explicit_file_is_named() {
    let e =
        load_with_env(Some(Path::new("/nonexistent/sgsync.toml")), &[]).expect_err("missing file");
    assert!(e.to_string().contains("/nonexistent/sgsync.toml"), "{e}");
}

#[test]
fn secrets_never_appear_in_debug_or_errors() {
    let toml = minimal("")
        .replace("api_key = \"k\"", &format!("api_key = \"{SECRET}\""))
        .replace("token = \"tok\"", &format!("token = \"{SECRET}\""));
    let s = load(&toml, &[]).unwrap_or_else(|e| panic!("{e}"));
    let debug = format!("{s:?} {s:#?}");
    assert!(!debug.contains(SECRET), "{debug}");
    // Errors elsewhere in a file holding secrets do not echo them.
    let cases = [
        toml.replace("site_token = \"t\"", "site_token = [\"x\"]"),
        toml.replace("token = ", "tokenn = "),
        toml.replace("[targets.mail.emfluence]", "[targets.mail.ispring]"),
        format!("{toml}\n[schedule]\ncron = \"bad\""),
    ];
    for case in cases {
        let e = load(&case, &[]).expect_err("invalid");
        let text = format!("{e} {e:?}");
        assert!(!text.contains(SECRET), "{text}");
    }
    // A secret given through the environment with a wrong type of neighbour.
    let e = load(
        &minimal(""),
        &[
            ("SGSYNC__SOURCE__GOSQUARED__API_KEY", SECRET),
            ("SGSYNC__SOURCE__GOSQUARED__API_KEYS", SECRET),
        ],
    )
    .expect_err("unknown key");
    let text = format!("{e} {e:?}");
    assert!(text.contains("source.gosquared.api_keys"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
}

#[test]
fn the_run_lock_lease_must_outlast_a_whole_call() {
    // Defaults: 180 s > 15 s + 30 s × 5 attempts.
    let s = load(&minimal(""), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.sync.lease.length, std::time::Duration::from_secs(180));
    // 60 s is shorter than 15 s + 30 s × 5: a paused run could still have a call in
    // flight when another takes over.
    let e = err(&minimal("[store]\nlock_lease_secs = 60"), &[]);
    assert!(e.contains("store.lock_lease_secs"), "{e}");
    assert!(e.contains("use at least 166"), "{e}");
    // A shorter HTTP timeout makes a shorter lease possible.
    let s = load(
        &minimal("[store]\nlock_lease_secs = 10\nlock_renew_secs = 2\n[http]\ntimeout_secs = 2\nmax_retries = 1"),
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.sync.lease.renew_every, std::time::Duration::from_secs(2));
    let e = err(&minimal("[store]\nlock_renew_secs = 0"), &[]);
    assert!(e.contains("store.lock_renew_secs"), "{e}");
}

#[test]
fn the_orphan_guard_and_the_create_cap_are_validated() {
    let s = load(&minimal(""), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.sync.orphans.max_fraction, 0.2);
    assert_eq!(s.sync.orphans.confirm_runs, 2);
    assert_eq!(s.sync.max_creates_per_run, None);
    let s = load(
        &minimal(
            "[sync]\nmax_orphan_fraction = 0.5\norphan_confirm_runs = 0\nmax_creates_per_run = 100",
        ),
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            s.sync.orphans.max_fraction,
            s.sync.orphans.confirm_runs,
            s.sync.max_creates_per_run
        ),
        (0.5, 0, Some(100))
    );
    for (toml, key) in [
        (
            "[sync]\nmax_orphan_fraction = 1.5",
            "sync.max_orphan_fraction",
        ),
        (
            "[sync]\norphan_confirm_runs = 1",
            "sync.orphan_confirm_runs",
        ),
        (
            "[sync]\nmax_creates_per_run = 0",
            "sync.max_creates_per_run",
        ),
    ] {
        let e = err(&minimal(toml), &[]);
        assert!(e.contains(key), "{toml}: {e}");
    }
}

#[test]
fn a_postgres_store_takes_its_password_from_a_file_and_never_shows_it() {
    let password = temp_file("pg-secret-0xyz\n");
    let toml = minimal(&format!(
        "[store]\nurl = \"postgres://sgsync@db.internal:5432/sgsync\"\npassword_file = \"{}\"",
        password.display()
    ));
    let s = load(&toml, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.store.sqlite_path(), None);
    let shown = format!("{} {:?}", s.store, s.store);
    assert!(
        shown.contains("postgres://sgsync@db.internal:5432/sgsync"),
        "{shown}"
    );
    assert!(!shown.contains("pg-secret-0xyz"), "{shown}");
    // A password for a store that takes none, and two passwords, are refused by key.
    let e = err(
        &minimal(&format!(
            "[store]\npassword_file = \"{}\"",
            password.display()
        )),
        &[],
    );
    assert!(
        e.contains("store.password") && e.contains("postgres://"),
        "{e}"
    );
    assert!(!e.contains("pg-secret-0xyz"), "{e}");
    let e = err(
        &minimal("[store]\nurl = \"postgres://u:inline-pw@db/s\"\npassword = \"other\""),
        &[],
    );
    assert!(e.contains("store.url") && e.contains("only one"), "{e}");
    assert!(!e.contains("inline-pw") && !e.contains("other\""), "{e}");
    let e = err(&minimal("[store]\nurl = \"mysql://db/s\""), &[]);
    assert!(e.contains("store.url") && e.contains("mysql://"), "{e}");
}
