//! The `translate` command as a user runs it: payload on stdout, fidelity on stderr,
//! exit 0 / 3 (impossible) / 1 (bad input).

use crate::common;

use std::io::Write;
use std::process::{Output, Stdio};

/// `sgsync <args>` from the package root, `stdin` written to it; its output.
fn sgsync(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = common::world::sgsync(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sgsync binary starts");
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // sgsync may exit before reading its input (a bad config is refused first), so
        // a broken pipe here is not a failure; the exit code and stderr say what happened.
        let _ = pipe.write_all(input.as_bytes());
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("sgsync finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn real_gosquared_groups_to_ispring_say_what_cannot_travel() {
    let out = sgsync(
        &[
            "translate",
            "--from",
            "gosquared",
            "--to",
            "ispring",
            "--config",
            "config/sgsync.example.toml",
            "tests/fixtures/gosquared/smartgroups_2016.json",
        ],
        None,
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    // Most of the real groups compare numbers and dates, which iSpring cannot hold.
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(
        stderr.contains("\"Last Seen > 35 Days\" [last-seen-35-days] → iSpring Learn: impossible"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\"Recently Created\" [recently-created-1] → iSpring Learn: impossible"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("# ").count(),
        9,
        "one verdict per group: {stderr}"
    );
    assert!(
        !stdout.contains("<AddSmartGroupRequest") || stdout.contains("</AddSmartGroupRequest>")
    );
}

#[test]
fn gosquared_to_emfluence_writes_a_described_static_group() {
    let input = r#"{"id":"referring-url","name":"Referring URL","filters":[{"key":"property","path":"first.referrer.href","operator":"defined"}]}"#;
    let out = sgsync(
        &["translate", "--from", "gosquared", "--to", "emfluence", "-"],
        Some(input),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let payload: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is the JSON payload");
    assert_eq!(payload["groupName"], "Referring URL");
    assert_eq!(payload["description"], "first.referrer.href is set");
    assert_eq!(payload["externalID"], "sgsync:gosquared:referring-url");
    assert!(text(&out.stderr).contains("lossy"));
}

#[test]
fn unreadable_input_says_what_and_where() {
    let out = sgsync(
        &["translate", "--from", "gosquared", "--to", "ispring", "-"],
        Some("{\"list\": [\n  {\"name\": "),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");

    let out = sgsync(
        &["translate", "--from", "nowhere", "--to", "ispring", "-"],
        Some(""),
    );
    assert_eq!(out.status.code(), Some(64), "a usage error (EX_USAGE)");
    assert!(text(&out.stderr).contains("unknown provider \"nowhere\""));

    let out = sgsync(
        &[
            "translate",
            "--from",
            "ispring",
            "--to",
            "gosquared",
            "no/such/file.xml",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no/such/file.xml"));
}

#[test]
fn bad_mapping_names_the_key() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[mapping]\nmax_clauses = 0\n").expect("write config");
    let config = config.to_string_lossy().into_owned();
    let out = sgsync(
        &[
            "translate",
            "--from",
            "gosquared",
            "--to",
            "ispring",
            "--config",
            &config,
            "-",
        ],
        Some("[]"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("mapping.max_clauses"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn sandbox_serves_the_three_providers_until_sigterm() {
    use std::io::{BufRead, BufReader};
    let mut child = common::world::sgsync(&["sandbox", "--seed", "demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sgsync binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
    let banner: Vec<String> = (0..4)
        .map_while(|_| lines.next().and_then(Result::ok))
        .collect();
    let url_of = |provider: &str| {
        banner
            .iter()
            .find(|l| l.trim_start().starts_with(provider))
            .and_then(|l| {
                l.split_whitespace()
                    .find(|w| w.starts_with("http://127.0.0.1:"))
            })
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no {provider} URL in {banner:?}"))
    };
    let gosquared = url_of("GoSquared");
    let answer = reqwest::get(format!(
        "{gosquared}/people/v1/smartgroups?api_key={}&site_token={}",
        sgsync::sandbox::gosquared::API_KEY,
        sgsync::sandbox::gosquared::SITE_TOKEN
    ))
    .await
    .expect("the GoSquared sandbox answers");
    let body: serde_json::Value = answer.json().await.expect("JSON");
    assert_eq!(
        body["cardinality"], 9,
        "the demo seed holds the nine real groups"
    );
    let emfluence = url_of("emfluence");
    assert_eq!(emfluence.matches("/v1").count(), 1, "{emfluence}");
    assert!(emfluence.ends_with("/v1"), "{emfluence}");

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("sgsync exits");
    assert_eq!(exit.code(), Some(0), "SIGTERM is a clean stop");
    assert_eq!(
        lines.next().and_then(Result::ok).as_deref(),
        Some("Sandboxes stopped.")
    );
}

#[test]
fn demo_syncs_then_writes_nothing_then_carries_an_edit_over() {
    let out = sgsync(&["demo"], None);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("== 2. first sync: succeeded"), "{stdout}");
    assert!(
        stdout.contains("== 3. second sync, nothing changed at the source: succeeded")
            && stdout.contains(", 0 write call(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("updated 2,"),
        "one update per target: {stdout}"
    );
    assert!(
        stdout.contains("create     lms          [demo] Canadians                         exact"),
        "{stdout}"
    );
}

#[test]
fn sync_now_refuses_a_config_it_cannot_use_with_exit_1() {
    let out = sgsync(&["--sync-now", "--config", "no/such/sgsync.toml"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no/such/sgsync.toml"),
        "{}",
        text(&out.stderr)
    );
    let out = sgsync(&["--sync-now", "status"], None);
    assert_eq!(
        out.status.code(),
        Some(64),
        "--sync-now with a subcommand is a usage error"
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let out = common::world::sgsync(&["--log-format", "json", "demo"])
        .env("RUST_LOG", "info")
        .output()
        .expect("sgsync runs");
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "the runs are logged: {stderr}");
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["fields"]["message"].is_string(),
            "{line}"
        );
    }
}
