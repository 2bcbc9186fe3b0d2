//! The documentation a new user and an operator read (issue 18): the README's sections,
//! its two set-up commands, links that resolve inside the repository and nowhere else,
//! the quick start's config that loads, the operator × provider table checked cell by
//! cell with `sgsync translate`, the license files, and no pointer to notes outside the
//! repository in anything a user is shown.

use std::path::Path;
use std::process::Command;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn readme() -> String {
    read("README.md")
}

/// GitHub's anchor of a heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn the_readme_has_what_a_new_user_and_an_operator_need() {
    let r = readme();
    for heading in [
        "## Install",
        "## Set up on a fresh machine",
        "## Quick start with your own accounts",
        "## Commands",
        "### Exit codes",
        "## Configuration",
        "## What travels where",
        "## Operations",
        "### Run as a systemd service",
        "### Run on Kubernetes",
        "### Metrics, health and alerts",
        "## Troubleshooting",
        "## License",
    ] {
        assert!(
            r.lines().any(|l| l == heading),
            "{heading} missing in the README"
        );
    }
    // The two set-up commands, exactly.
    assert!(r.contains("```sh\ncargo run --release -- demo\n```"));
    assert!(r.contains("```sh\ncargo test --workspace --locked\n```"));
    // The quick start's steps, in order.
    let quick = &r[r.find("## Quick start with your own accounts").unwrap_or(0)..];
    let mut at = 0;
    for step in [
        "Get the keys",
        "A minimal config",
        "sgsync check",
        "sgsync plan",
        "sgsync sync",
        "Schedule it",
    ] {
        let found = quick[at..]
            .find(step)
            .unwrap_or_else(|| panic!("quick start: {step} missing or out of order"));
        at += found;
    }
    // Troubleshooting: ten errors, each with what to do.
    let trouble = &r[r.find("## Troubleshooting").unwrap_or(0)..];
    let rows = trouble
        .lines()
        .take_while(|l| !l.starts_with("Also:"))
        .filter(|l| l.starts_with("| `"))
        .count();
    assert_eq!(rows, 10, "ten errors in the troubleshooting table");
    // Exit codes in one table, 64 among them.
    assert!(r.contains("| 64 | usage error (sysexits `EX_USAGE`)"));
    // Engineering notes and figures live in docs/.
    for heading in [
        "## Benchmark",
        "## Benchmarks",
        "## Proof under crashes and faults",
        "### Fuzzing",
    ] {
        assert!(
            !r.lines().any(|l| l == heading),
            "{heading} belongs in docs/"
        );
    }
    for doc in ["docs/engineering.md", "docs/benchmarks.md", "docs/proof.md"] {
        assert!(r.contains(doc), "the README points at {doc}");
        assert!(read(doc).len() > 1000, "{doc} holds its content");
    }
    assert!(read("docs/benchmarks.md").contains("target/release/sgsync bench --groups 1000"));
    assert!(read("docs/proof.md").contains("SGSYNC_CRASH_TRIALS=50"));
    assert!(read("docs/engineering.md").contains("RUSTC_BOOTSTRAP=1 cargo fuzz run"));
}

#[test]
fn every_link_resolves_inside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for doc in [
        "README.md",
        "docs/engineering.md",
        "docs/benchmarks.md",
        "docs/proof.md",
        "deploy/README.md",
    ] {
        let text = read(doc);
        let base = Path::new(doc).parent().unwrap_or(Path::new(""));
        let anchors: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with('#') && l.contains("# "))
            .map(|l| slug(l.trim_start_matches('#')))
            .collect();
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let Some(end) = rest.find(')') else { continue };
            let link = &rest[..end];
            if link.starts_with("http") {
                continue;
            }
            let (file, anchor) = link.split_once('#').unwrap_or((link, ""));
            if file.is_empty() {
                assert!(
                    anchors.iter().any(|a| a == anchor),
                    "{doc}: no heading for #{anchor}"
                );
            } else {
                let target = root.join(base).join(file);
                assert!(target.exists(), "{doc}: {link} does not exist");
            }
        }
    }
}

#[test]
fn nothing_a_user_reads_points_at_notes_outside_the_repository() {
    let mut texts = vec![
        ("README.md".to_owned(), readme()),
        (
            "config/sgsync.example.toml".to_owned(),
            read("config/sgsync.example.toml"),
        ),
    ];
    for dir in [
        "docs",
        "deploy",
        "deploy/systemd",
        "deploy/kubernetes",
        "deploy/kubernetes/monitoring",
        "deploy/kubernetes-daemon",
    ] {
        for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
            .expect("the directory")
            .flatten()
        {
            let path = entry.path();
            if path.is_file() {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                texts.push((path.display().to_string(), text));
            }
        }
    }
    for (name, text) in texts {
        for bad in [
            "../shared",
            "shared/providers",
            ".md §",
            "DESIGN.md",
            "STYLE.md",
        ] {
            assert!(!text.contains(bad), "{name} points at {bad}");
        }
    }
    // --help, every command's, too.
    let help = Command::new(env!("CARGO_BIN_EXE_sgsync"))
        .args(["bench", "--help"])
        .output()
        .expect("runs");
    assert!(!String::from_utf8_lossy(&help.stdout).contains(".md §"));
}

#[test]
fn the_license_files_cargo_declares_are_there() {
    assert!(read("Cargo.toml").contains("license = \"MIT OR Apache-2.0\""));
    assert!(read("LICENSE-MIT").contains("Permission is hereby granted, free of charge"));
    assert!(
        read("LICENSE-APACHE").contains("Apache License")
            && read("LICENSE-APACHE").contains("Version 2.0")
    );
}

#[test]
fn the_quick_start_config_loads() {
    let r = readme();
    let quick = &r[r.find("## Quick start with your own accounts").unwrap_or(0)..];
    let start = quick.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let toml = &quick[start..start + quick[start..].find("```").expect("its end")];
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("key");
    let token = dir.path().join("token");
    std::fs::write(&key, "k").expect("write");
    std::fs::write(&token, "t").expect("write");
    let env = vec![
        (
            "SGSYNC__SOURCE__GOSQUARED__API_KEY_FILE".to_owned(),
            key.display().to_string(),
        ),
        (
            "SGSYNC__TARGETS__NEWSLETTER__EMFLUENCE__TOKEN_FILE".to_owned(),
            token.display().to_string(),
        ),
    ];
    let settings = sgsync::config::load_str("README quick start", toml, &env)
        .unwrap_or_else(|e| panic!("the README's minimal config: {e}\n{toml}"));
    assert_eq!(settings.targets.len(), 1);
}

/// `sgsync translate` of `input` (a GoSquared filter or an iSpring rule) into `to`:
/// its verdict word.
fn verdict(from: &str, to: &str, input: &str, config: &Path) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("group");
    std::fs::write(&file, input).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_sgsync"))
        .args(["translate", "--from", from, "--to", to, "--config"])
        .arg(config)
        .arg(&file)
        .output()
        .expect("translate runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let first = stderr.lines().next().unwrap_or_default();
    let word = first.rsplit(": ").next().unwrap_or_default();
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

#[test]
fn the_operator_table_is_what_translate_says() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The example's mapping, with country values as ids: `sgsync translate` reads a file,
    // not an account, so it has no country list to name an id by.
    let example = dir.path().join("example.toml");
    std::fs::write(
        &example,
        r#"[mapping]
[mapping.attributes.country]
gosquared = "last.location.country.code"
ispring_field = "COUNTRY"
[mapping.attributes."custom.job_title"]
ispring_field = "JOB_TITLE"
[mapping.values.country]
CA = "124"
US = "840"
"#,
    )
    .expect("write");
    // The same mapping with GoSquared's assumed spellings (footnote 1) and the inferred
    // readings (footnote 2, README "Assumptions") confirmed.
    let confirmed = dir.path().join("confirmed.toml");
    std::fs::write(
        &confirmed,
        r#"[mapping]
[mapping.attributes.country]
gosquared = "last.location.country.code"
ispring_field = "COUNTRY"
[mapping.attributes."custom.job_title"]
ispring_field = "JOB_TITLE"
[mapping.values.country]
CA = "124"
US = "840"
[mapping.confirmed]
ispring_field_rules = true
gosquared_relative_dates = true
gosquared_top_level_and = true
[mapping.gosquared_operators]
equals = "=="
not_equals = "!="
not_contains = "!contains"
not_defined = "!defined"
or = "or"
"#,
    )
    .expect("write");
    let gs = |filter: &str| format!(r#"{{"id":"g","name":"G","filters":[{filter}]}}"#);
    let is = |rules: &str| {
        format!("<request><name>G</name><rules><and><or>{rules}</or></and></rules></request>")
    };
    let field = r#"<rule><attributeType>3</attributeType><attributeId>COUNTRY</attributeId><operator>1</operator><value>124</value></rule>"#;
    let rows: Vec<(&str, String, String)> = vec![
        (
            "equals (`==`)",
            "gosquared".into(),
            gs(
                r#"{"key":"property","path":"last.location.country.code","operator":"==","value":"CA"}"#,
            ),
        ),
        (
            "not equals (`!=`)",
            "gosquared".into(),
            gs(
                r#"{"key":"property","path":"last.location.country.code","operator":"!=","value":"CA"}"#,
            ),
        ),
        (
            "contains (`contains`)",
            "gosquared".into(),
            gs(
                r#"{"key":"property","path":"custom.job_title","operator":"contains","value":"eng"}"#,
            ),
        ),
        (
            "not contains (`!contains`)",
            "gosquared".into(),
            gs(
                r#"{"key":"property","path":"custom.job_title","operator":"!contains","value":"eng"}"#,
            ),
        ),
        (
            "greater than (`>` value)",
            "gosquared".into(),
            gs(r#"{"key":"property","path":"totals.visits","operator":">","value":5}"#),
        ),
        (
            "less than (`<` value)",
            "gosquared".into(),
            gs(r#"{"key":"property","path":"totals.visits","operator":"<","value":5}"#),
        ),
        (
            "is set (`defined`)",
            "gosquared".into(),
            gs(r#"{"key":"property","path":"custom.job_title","operator":"defined"}"#),
        ),
        (
            "is not set (`!defined`)",
            "gosquared".into(),
            gs(r#"{"key":"property","path":"custom.job_title","operator":"!defined"}"#),
        ),
        (
            "within the last N days (`><` past)",
            "gosquared".into(),
            gs(
                r#"{"key":"property","path":"last.seen","operator":"><","direction":"past","number":7,"period":"days"}"#,
            ),
        ),
        (
            "more than N days ago (`<` days)",
            "gosquared".into(),
            gs(
                r#"{"key":"property","path":"last.seen","operator":"<","number":35,"period":"days"}"#,
            ),
        ),
        (
            "less than N days ago (`>` days)",
            "gosquared".into(),
            gs(
                r#"{"key":"property","path":"last.seen","operator":">","number":35,"period":"days"}"#,
            ),
        ),
        (
            "event last happened within N days (`triggered-event`)",
            "gosquared".into(),
            gs(
                r#"{"key":"triggered-event","name":"Signed Up","field":"last","operator":"><","direction":"past","number":7,"period":"days"}"#,
            ),
        ),
        (
            "any of (OR: `{\"key\": \"or\"}`)",
            "gosquared".into(),
            gs(
                r#"{"key":"or","filters":[{"key":"property","path":"last.location.country.code","operator":"==","value":"CA"},{"key":"property","path":"last.location.country.code","operator":"==","value":"US"}]}"#,
            ),
        ),
        (
            "department is (iSpring source)",
            "ispring".into(),
            is(
                "<rule><attributeType>1</attributeType><operator>1</operator><value>d48bd4fa</value></rule>",
            ),
        ),
        (
            "member of group (iSpring source)",
            "ispring".into(),
            is(
                "<rule><attributeType>2</attributeType><operator>1</operator><value>5b1e2a10</value></rule>",
            ),
        ),
    ];
    let readme = readme();
    for (label, from, input) in rows {
        // The measured cells, with the spellings confirmed (the table's plain words).
        let cells: Vec<String> = ["gosquared", "ispring", "emfluence"]
            .iter()
            .map(|to| verdict(&from, to, &input, &confirmed))
            .collect();
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("no README row for {label}"));
        let written: Vec<String> = row
            .trim_matches('|')
            .split(" | ")
            .skip(1)
            .map(|c| c.trim().trim_end_matches(['¹', '²', '³']).to_owned())
            .collect();
        assert_eq!(
            written, cells,
            "{label}: README says {written:?}, translate {cells:?}"
        );
    }
    // Footnote 1: unconfirmed spellings written to GoSquared are Lossy.
    let ispring_equals = is(field);
    assert_eq!(
        verdict("ispring", "gosquared", &ispring_equals, &example),
        "Lossy"
    );
    assert_eq!(
        verdict("ispring", "gosquared", &ispring_equals, &confirmed),
        "Exact"
    );
    // Footnote 2: read from GoSquared with `==` unconfirmed, iSpring's copy is Lossy.
    let equals = gs(
        r#"{"key":"property","path":"last.location.country.code","operator":"==","value":"CA"}"#,
    );
    assert_eq!(verdict("gosquared", "ispring", &equals, &example), "Lossy");
}
