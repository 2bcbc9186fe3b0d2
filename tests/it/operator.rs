//! sgsync as an operator meets it (issue 18): exit codes, `--help` and `--version`,
//! completions and the man page, the config's whereabouts, errors in words (no Rust
//! Debug text, each cause once), `plan` / `sync` / `status` / `check` as text and as
//! JSON, `check` on a state database it cannot use, unknown `--target` names, the
//! `/metrics` formats (checked by promtool when it is installed, as `deploy/check`
//! makes it), `process_*` metrics, SIGHUP, the start-up line and the Pushgateway push.
//! Every run is the real binary against the sandboxes on loopback.

use crate::common::world;

use sgsync::sandbox::Seed;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use world::{Parts, World};

fn sgsync() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sgsync"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("SGSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    // No SGSYNC__ variable from the environment the tests run in.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SGSYNC__") {
            c.env_remove(k);
        }
    }
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs a command off the async runtime (the sandboxes answer on it meanwhile).
async fn output(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().expect("sgsync runs"))
        .await
        .expect("the command's thread")
}

/// Rust Debug text of a struct or enum with fields (`RunCounts { created: 1 }`,
/// `Some(…)`), which no person should ever be shown.
fn debug_structs(s: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = s.as_bytes();
    for (i, w) in s.match_indices(" { ") {
        // A capitalised identifier right before ` { `, followed by `field: `.
        let before = &s[..i];
        let ident: String = before
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<String>()
            .chars()
            .rev()
            .collect();
        let after = &s[i + w.len()..];
        let field = after.split_once(": ").is_some_and(|(f, _)| {
            !f.is_empty() && f.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        });
        if ident.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && field {
            let start = i.saturating_sub(ident.len());
            found.push(
                String::from_utf8_lossy(&bytes[start..(i + 40).min(bytes.len())]).into_owned(),
            );
        }
    }
    for marker in ["Some(", "None,", "Ok(", "Err("] {
        if let Some(at) = s.find(marker) {
            found.push(s[at..(at + 40).min(s.len())].to_owned());
        }
    }
    found
}

#[test]
fn usage_errors_exit_64_and_help_and_version_exit_0() {
    let out = sgsync().arg("--no-such-flag").output().expect("runs");
    assert_eq!(out.status.code(), Some(64), "{}", text(&out.stderr));
    let out = sgsync().arg("nosuch").output().expect("runs");
    assert_eq!(out.status.code(), Some(64));
    let out = sgsync().output().expect("runs");
    assert_eq!(out.status.code(), Some(64), "no command is a usage error");
    let out = sgsync().args(["sync", "--bogus"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(64), "a typo in a unit's ExecStart");

    let help = sgsync().arg("--help").output().expect("runs");
    assert_eq!(help.status.code(), Some(0));
    let help = text(&help.stdout);
    for needle in [
        "Exit codes:",
        "64  usage error",
        "2   the run was recorded but some units failed",
        "/etc/sgsync/sgsync.toml",
        "SGSYNC_CONFIG",
        "completions",
        "-v, --verbose",
        "-q, --quiet",
    ] {
        assert!(help.contains(needle), "{needle} missing in --help:\n{help}");
    }
    // The guards' flags belong to `sync` (and --sync-now), not to every command.
    let status_help = text(
        &sgsync()
            .args(["status", "--help"])
            .output()
            .expect("runs")
            .stdout,
    );
    assert!(!status_help.contains("allow-mass"), "{status_help}");
    assert!(status_help.contains("--json"));
    let sync_help = text(
        &sgsync()
            .args(["sync", "--help"])
            .output()
            .expect("runs")
            .stdout,
    );
    for flag in [
        "--allow-mass-removal",
        "--allow-mass-delete",
        "--dry-run",
        "--json",
    ] {
        assert!(sync_help.contains(flag), "{flag}: {sync_help}");
    }

    let version = sgsync().arg("-V").output().expect("runs");
    assert_eq!(version.status.code(), Some(0));
    let version = text(&version.stdout);
    assert!(
        version.starts_with(&format!("sgsync {} (commit ", env!("CARGO_PKG_VERSION")))
            && version.contains(", built 20"),
        "{version}"
    );
}

#[test]
fn completions_and_a_man_page_come_from_the_command_line_itself() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = sgsync()
            .args(["completions", shell])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = text(&out.stdout);
        assert!(
            script.contains("sgsync") && script.contains("plan"),
            "{shell}: {script}"
        );
    }
    let bash = text(
        &sgsync()
            .args(["completions", "bash"])
            .output()
            .expect("runs")
            .stdout,
    );
    assert!(
        bash.contains("--allow-mass-removal"),
        "sync's flags complete"
    );
    let out = sgsync()
        .args(["completions", "tcsh"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(64),
        "an unknown shell is a usage error"
    );

    let man = sgsync().arg("man").output().expect("runs");
    assert_eq!(man.status.code(), Some(0));
    let man = text(&man.stdout);
    assert!(
        man.starts_with(".ie") || man.starts_with(".TH"),
        "{}",
        &man[..80.min(man.len())]
    );
    assert!(
        man.contains(".TH sgsync 1") && man.contains("SGSYNC_CONFIG"),
        "{man}"
    );
    assert!(
        man.contains("Exit codes"),
        "the exit codes are in the man page"
    );
}

#[test]
fn without_a_config_it_says_how_to_point_at_one() {
    let out = sgsync().arg("status").output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    if std::path::Path::new("/etc/sgsync/sgsync.toml").exists() {
        return; // this machine has a config there: nothing to say about its absence
    }
    for needle in ["--config", "SGSYNC_CONFIG", "config/sgsync.example.toml"] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert!(!err.contains(": : "), "no empty key in the message: {err}");

    // SGSYNC_CONFIG names the file when --config does not.
    let out = sgsync()
        .arg("status")
        .env("SGSYNC_CONFIG", "no/such/from-env.toml")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no/such/from-env.toml"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_enum_value_lists_the_valid_ones() {
    let w = World::start(Seed::Empty).await;
    w.write_config(&Parts {
        lms: Some("on_lossy = \"pushh\"".into()),
        ..Parts::default()
    });
    let out = output(w.sgsync(&["check"])).await;
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("targets.lms.on_lossy: unknown value \"pushh\"; expected one of skip, push"),
        "{err}"
    );
    assert!(
        !err.contains("OnLossy") && !err.contains("variant"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_puts_counts_first_and_reasons_in_a_list() {
    let w = World::start(Seed::Demo).await;
    w.write_config(&Parts::default());
    let out = output(w.sgsync(&["plan"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    let first = plan.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("plan: 18 unit(s), ")
            && first.contains("skip 9")
            && first.contains("create 9"),
        "counts per action at the top: {plan}"
    );
    // One short line per unit; each reason on a line of its own under it.
    let units: Vec<&str> = plan
        .lines()
        .filter(|l| l.starts_with("create ") || l.starts_with("skip "))
        .collect();
    assert_eq!(units.len(), 18, "{plan}");
    for line in &units {
        assert!(
            line.chars().count() <= 140,
            "a unit line stays short: {line}"
        );
    }
    let skip = plan
        .lines()
        .position(|l| l.starts_with("skip ") && l.contains("Last Seen > 35 Days"))
        .expect("the impossible group's line");
    let lines: Vec<&str> = plan.lines().collect();
    assert!(
        lines[skip].ends_with("impossible not written"),
        "{}",
        lines[skip]
    );
    assert!(
        lines[skip + 1].starts_with("    - "),
        "reasons follow: {plan}"
    );
    // A lossy create shows why it is lossy.
    let lossy = lines
        .iter()
        .position(|l| l.starts_with("create ") && l.contains("newsletter") && l.contains("lossy"))
        .expect("a lossy create");
    assert!(lines[lossy + 1].starts_with("    - "), "{plan}");
    // Users are pointed at public documentation, never at notes they do not have.
    assert!(
        !plan.contains(".md §") && !plan.contains("../shared"),
        "{plan}"
    );
    assert!(
        debug_structs(&plan).is_empty(),
        "{:?}",
        debug_structs(&plan)
    );

    let out = output(w.sgsync(&["plan", "--json"])).await;
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan --json is JSON");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["command"], "plan");
    assert_eq!(v["counts"]["skip"], 9);
    assert_eq!(v["writes"], 9);
    let units = v["units"].as_array().expect("units");
    assert_eq!(units.len(), 18);
    for u in units {
        assert!(u["reasons"].is_array(), "{u}");
        assert!(u["verdict"].is_string() && u["fidelity"].is_string(), "{u}");
    }
    assert!(v["membership"].is_array());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_dry_run_json_status_and_check_speak_json() {
    let w = World::start(Seed::Demo).await;
    w.write_config(&Parts::default());
    // `sync --dry-run` is the plan, and writes nothing.
    let out = output(w.sgsync(&["sync", "--dry-run"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("plan: "),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(w.writes(), (0, 0), "a dry run writes nothing");

    let out = output(w.sgsync(&["--log-format", "json", "sync", "--json"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sync --json is JSON");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["command"], "sync");
    assert_eq!(v["outcome"], "succeeded");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["counts"]["created"], 9);
    assert!(v["run_id"].is_i64());
    assert!(v["units"].as_array().is_some_and(|u| u.len() == 9), "{v}");
    // Every log line is a JSON object whose fields are JSON values, the outcome in the
    // CLI's own words.
    for line in text(&out.stderr).lines().filter(|l| !l.trim().is_empty()) {
        let log: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if let Some(outcome) = log["fields"]["outcome"].as_str() {
            assert!(outcome.chars().all(|c| c.is_ascii_lowercase()), "{line}");
        }
        assert!(debug_structs(line).is_empty(), "{line}");
    }

    let out = output(w.sgsync(&["status", "--json"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["runs"][0]["outcome"], "succeeded");
    assert_eq!(v["links"].as_array().map(Vec::len), Some(9));
    assert!(v["links"][0]["fidelity_reasons"].is_array());

    let out = output(w.sgsync(&["check", "--json"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("check --json is JSON");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["ok"], true);
    let checks = v["checks"].as_array().expect("checks");
    assert!(
        checks.iter().any(|c| c["check"]
            .as_str()
            .is_some_and(|s| s.starts_with("state database"))
            && c["detail"] == "readable and writable, schema current"),
        "{v}"
    );

    // A second plain sync: the text, with no Debug in it.
    let out = output(w.sgsync(&["sync"])).await;
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("sync: 18 unit(s), 0 planned write(s)"),
        "{stdout}"
    );
    assert!(debug_structs(&stdout).is_empty(), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_target_names_are_refused() {
    let w = World::start(Seed::Demo).await;
    w.write_config(&Parts::default());
    for args in [
        &["resync", "--target", "nosuch"][..],
        &["forget", "--target", "nosuch", "--yes"][..],
    ] {
        let out = output(w.sgsync(args)).await;
        assert_eq!(
            out.status.code(),
            Some(64),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert!(
            err.contains("no target named \"nosuch\"; the config has lms, newsletter"),
            "{err}"
        );
    }
    let out = output(w.sgsync(&["resync", "--target", "lms"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_on_a_state_database_it_cannot_use() {
    let w = World::start(Seed::Empty).await;
    w.write_config(&Parts::default());
    // Not there yet: fine, the first sync creates it; and check creates nothing.
    let out = output(w.sgsync(&["check"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("does not exist yet"),
        "{}",
        text(&out.stdout)
    );
    assert!(!w.db.exists(), "check created the database");

    // A file that is not SQLite.
    std::fs::write(&w.db, vec![b'x'; 4096]).expect("write");
    let out = output(w.sgsync(&["check"])).await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("state database {}: FAILED", w.db.display()))
            && stdout.contains("not a database"),
        "{stdout}"
    );
    std::fs::remove_file(&w.db).expect("remove");

    // A directory where the file should be.
    std::fs::create_dir(&w.db).expect("mkdir");
    let out = output(w.sgsync(&["check"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("is a directory"),
        "{}",
        text(&out.stdout)
    );
    std::fs::remove_dir(&w.db).expect("rmdir");

    // A read-only file (root may write anyway: then there is nothing to see).
    let out = output(w.sgsync(&["sync"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&w.db, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let writable = std::fs::OpenOptions::new().write(true).open(&w.db).is_ok();
    let out = output(w.sgsync(&["check"])).await;
    if !writable {
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stdout).contains("Permission denied"),
            "{}",
            text(&out.stdout)
        );
    }
    std::fs::set_permissions(&w.db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_no_debug_text() {
    let out = output({
        let mut c = sgsync();
        c.args(["--log-format", "json", "-v", "demo"]);
        c
    })
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        debug_structs(&stdout).is_empty(),
        "{:?}",
        debug_structs(&stdout)
    );
    assert!(
        debug_structs(&stderr).is_empty(),
        "{:?}",
        debug_structs(&stderr)
    );
    assert!(!stdout.contains(".md §") && !stderr.contains(".md §"));
    let mut examples = 0;
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        let log: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if let Some(e) = log["fields"].get("examples") {
            assert!(e.is_array(), "an array, not a string: {line}");
            examples += 1;
        }
    }
    assert!(
        examples > 0,
        "the demo has people without an email: {stderr}"
    );
}

/// `sgsync run` as a child, its endpoint on a free port, read from its start-up line.
struct Daemon {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Daemon {
    fn start(w: &World) -> Daemon {
        let mut c = w.sgsync(&["--log-format", "json", "run", "--once-at-start"]);
        c.env("SGSYNC__METRICS__ENABLED", "true")
            .env("SGSYNC__METRICS__LISTEN", "127.0.0.1:0")
            // Far away: nothing but the run at start runs during the test.
            .env("SGSYNC__SCHEDULE__CRON", "0 0 0 1 1 *")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("sgsync run starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Daemon {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first log line containing `needle`, within 20 s.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no log line with {needle:?} in {:?}", self.seen)
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -{name}");
    }

    fn wait(mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("sgsync run did not stop");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_says_what_started_serves_both_metric_formats_and_ignores_sighup() {
    let w = World::start(Seed::Demo).await;
    w.write_config(&Parts::default());
    let mut d = tokio::task::block_in_place(|| Daemon::start(&w));
    let started = tokio::task::block_in_place(|| d.wait_for("sgsync run started"));
    let line: serde_json::Value = serde_json::from_str(&started).expect("JSON");
    let f = &line["fields"];
    assert_eq!(f["version"], env!("CARGO_PKG_VERSION"));
    assert!(f["commit"].is_string());
    assert_eq!(f["config"], w.config_path.display().to_string());
    assert_eq!(f["schedule"], "0 0 0 1 1 *");
    assert_eq!(f["next_run"], "now", "--once-at-start: {started}");
    let endpoint = f["endpoint"].as_str().expect("endpoint").to_owned();
    let base = endpoint
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .and_then(|u| u.strip_suffix("/metrics"))
        .expect("the endpoint's URL")
        .to_owned();

    // The run at start, so every family has samples.
    tokio::task::block_in_place(|| d.wait_for("\"run finished\",\"run_id\""));
    let client = reqwest::Client::new();
    let classic = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(
        classic.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let classic = classic.text().await.expect("body");
    assert!(!classic.contains("# EOF"), "{classic}");
    // A counter's family is named with its `_total` in the classic format.
    assert!(
        classic.contains("# TYPE process_cpu_seconds_total counter"),
        "{classic}"
    );
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_start_time_seconds",
        "process_open_fds",
        "process_max_fds",
        "sgsync_build_info{",
        "# TYPE sgsync_runs_total counter",
        "sgsync_runs_total{pipeline=\"default\",outcome=\"succeeded\"} 1",
        "# TYPE sgsync_units_total counter",
    ] {
        assert!(classic.contains(name), "{name} missing:\n{classic}");
    }
    let openmetrics = client
        .get(format!("{base}/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .expect("scrape");
    assert!(
        openmetrics.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("application/openmetrics-text")),
    );
    let openmetrics = openmetrics.text().await.expect("body");
    assert!(openmetrics.ends_with("# EOF\n"), "{openmetrics}");
    assert!(openmetrics.contains("# TYPE process_cpu_seconds counter"));

    // promtool, where deploy/check installed it (CI runs that before the tests).
    match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(mut child) => {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(classic.as_bytes())
                .expect("write");
            let out = child.wait_with_output().expect("promtool");
            assert!(
                out.status.success(),
                "promtool check metrics: {}{}\n{classic}",
                text(&out.stdout),
                text(&out.stderr)
            );
        }
        Err(e) => eprintln!("promtool not installed ({e}); deploy/check installs it"),
    }

    // SIGHUP: said and ignored; SIGTERM: a clean stop.
    d.signal("HUP");
    tokio::task::block_in_place(|| d.wait_for("SIGHUP ignored"));
    let alive = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("alive");
    assert_eq!(alive.status(), 200);
    d.signal("TERM");
    assert_eq!(tokio::task::block_in_place(|| d.wait()), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_is_said_once() {
    let w = World::start(Seed::Empty).await;
    w.write_config(&Parts::default());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let mut c = w.sgsync(&["run"]);
    c.env("SGSYNC__METRICS__ENABLED", "true")
        .env("SGSYNC__METRICS__LISTEN", addr.to_string());
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with("sgsync: cannot listen on"), "{err}");
    assert_eq!(last.matches("ddress already in use").count(), 1, "{last}");
    drop(taken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_shot_run_pushes_its_metrics_to_a_pushgateway() {
    use axum::routing::put;
    use std::sync::{Arc, Mutex};
    let pushed: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
    let record = pushed.clone();
    let app = axum::Router::new().route(
        "/{*path}",
        put(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: String| {
                let record = record.clone();
                async move {
                    let kind = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    record.lock().unwrap_or_else(|p| p.into_inner()).push((
                        uri.path().to_owned(),
                        kind,
                        body,
                    ));
                    ""
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let w = World::start(Seed::Demo).await;
    w.write_config(&Parts {
        tail: format!("pushgateway = \"http://{addr}\"\npushgateway_instance = \"cron-a\""),
        ..Parts::default()
    });
    let out = output(w.sgsync(&["--sync-now"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pushes = pushed.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    let (path, kind, body) = &pushes[0];
    assert_eq!(path, "/metrics/job/sgsync/instance/cron-a");
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    assert!(
        body.contains("sgsync_last_run_outcome{pipeline=\"default\",outcome=\"succeeded\"} 1"),
        "{body}"
    );
    assert!(!body.contains("_total"), "gauges only: {body}");
    server.abort();

    // A gateway that is not there: the run is recorded, the failed push exits 1.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_addr = dead.local_addr().expect("addr");
    drop(dead);
    w.write_config(&Parts {
        tail: format!("pushgateway = \"http://{dead_addr}\""),
        ..Parts::default()
    });
    let out = output(w.sgsync(&["--sync-now"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("Pushgateway"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_and_verbose_set_how_much_is_logged() {
    let w = World::start(Seed::Demo).await;
    w.write_config(&Parts::default());
    let mut quiet = w.sgsync(&["--log-format", "json", "-q", "sync"]);
    quiet.env_remove("RUST_LOG");
    let out = output(quiet).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).trim().is_empty(),
        "-q: errors only: {}",
        text(&out.stderr)
    );

    let mut normal = w.sgsync(&["--log-format", "json", "sync"]);
    normal.env_remove("RUST_LOG");
    let out = output(normal).await;
    let normal_lines = text(&out.stderr).lines().count();
    assert!(text(&out.stderr).contains("run summary"));

    let mut verbose = w.sgsync(&["--log-format", "json", "-vv", "sync"]);
    verbose.env_remove("RUST_LOG");
    let out = output(verbose).await;
    let err = text(&out.stderr);
    assert!(err.lines().count() > normal_lines, "-vv logs more: {err}");
    assert!(
        !err.contains("\"target\":\"sqlx"),
        "debug is sgsync's own, not every SQL statement: {err}"
    );
}

#[test]
fn the_build_script_needs_no_git_checkout() {
    // A source tarball has no .git (and a build machine may have no git): the build
    // script must still say something true, `unknown`, or what the packager set.
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = dir.path().join("build-script");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let built = Command::new(rustc)
        .args(["--edition", "2024", "-o"])
        .arg(&exe)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/build.rs"))
        .status()
        .expect("rustc runs");
    assert!(built.success());
    let run = |envs: &[(&str, &str)]| {
        let mut c = Command::new(&exe);
        c.current_dir(dir.path())
            .env("PATH", "/nonexistent")
            .env_remove("SGSYNC_GIT_COMMIT")
            .env_remove("SOURCE_DATE_EPOCH")
            .envs(envs.iter().copied());
        text(&c.output().expect("the build script runs").stdout)
    };
    let plain = run(&[]);
    assert!(
        plain.contains("cargo:rustc-env=SGSYNC_GIT_COMMIT=unknown"),
        "{plain}"
    );
    assert!(
        plain.contains("cargo:rustc-env=SGSYNC_BUILD_DATE=20"),
        "{plain}"
    );
    let packaged = run(&[
        ("SGSYNC_GIT_COMMIT", "0123abcd"),
        ("SOURCE_DATE_EPOCH", "1700000000"),
    ]);
    assert!(
        packaged.contains("SGSYNC_GIT_COMMIT=0123abcd"),
        "{packaged}"
    );
    assert!(
        packaged.contains("SGSYNC_BUILD_DATE=2023-11-14"),
        "{packaged}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_words_and_say_each_cause_once() {
    let w = World::start(Seed::Demo).await;
    w.write_config(&Parts::default());
    let mut c = w.sgsync(&["check"]);
    c.env("SGSYNC__SOURCE__GOSQUARED__API_KEY", "not-the-key");
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("source (GoSquared): FAILED: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains(": credentials refused: "), "{line}");
    assert!(!line.contains("Auth"), "no variant names: {line}");
    assert_eq!(line.to_lowercase().matches("4001").count(), 1, "{line}");

    // A state database in a directory that is not there: one line, each part once.
    let mut c = w.sgsync(&["status"]);
    c.env("SGSYNC__STORE__PATH", "/nonexistent/sgsync-test/sgsync.db");
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(err.matches("does not exist").count(), 1, "{err}");
    assert!(
        err.starts_with(
            "sgsync: cannot open the state database /nonexistent/sgsync-test/sgsync.db"
        ),
        "{err}"
    );

    // An unreachable PostgreSQL store: exit 1, its address, never the password (given
    // by file, as a Kubernetes Secret would).
    let password = w.file("pg-password", "pg-pa55-never-shown\n");
    for command in [&["--sync-now"][..], &["status"], &["plan"]] {
        let mut c = w.sgsync(command);
        c.env("SGSYNC__STORE__URL", "postgres://sgsync@127.0.0.1:1/sgsync")
            .env("SGSYNC__STORE__PASSWORD_FILE", &password);
        let out = output(c).await;
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "{command:?}: {stdout}{stderr}");
        assert!(
            stderr.contains("state database postgres://sgsync@127.0.0.1:1/sgsync"),
            "{command:?}: {stderr}"
        );
        assert!(
            !format!("{stdout}{stderr}").contains("pg-pa55-never-shown"),
            "{command:?}: the password was shown: {stdout}{stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_is_json_when_the_command_fails_too() {
    let w = World::start(Seed::Demo).await;
    w.write_config(&Parts {
        lms: Some("on_lossy = \"pushh\"".into()),
        ..Parts::default()
    });
    let out = output(w.sgsync(&["check", "--json"])).await;
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["ok"], false);
    assert!(
        v["checks"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("expected one of skip, push")),
        "{v}"
    );

    w.write_config(&Parts::default());
    let mut c = w.sgsync(&["sync", "--json"]);
    c.env("SGSYNC__SOURCE__GOSQUARED__BASE_URL", "http://127.0.0.1:1");
    let out = output(c).await;
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["command"], "sync");
    assert_eq!(v["outcome"], "failed");
    assert_eq!(v["exit_code"], 1);
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("cannot read the source: ")),
        "{v}"
    );
}
