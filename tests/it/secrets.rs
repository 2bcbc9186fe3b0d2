//! No secret leaves through any door but the one the API needs: the real binary runs as
//! a child process (`sync` with human and JSON logs, `status`, `check`, `plan`, and
//! failing runs: refused credentials, a SOAP fault, a missing secret file, a misspelt
//! secret key, an unreachable provider) with `RUST_LOG=trace`, so every crate's log
//! (reqwest, hyper, sqlx, ours) is on. Then every byte of stdout, stderr, the SQLite
//! file and its -wal/-shm files is searched for each secret, raw, URL-encoded and in
//! base64: zero hits. And the secrets did reach the sandboxes where the API wants them,
//! so the test cannot pass by sending nothing.

use crate::common;

use common::child;
use common::world::{self, Parts, World, country_is};
use sgsync::sandbox::Seed;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Distinctive, and with characters that URL-encoding changes (`+`, `/`, `=`), so both
/// spellings can be looked for.
const GS_KEY: &str = "gsKEY+leak/probe=7Hq2Zx";
const GS_SITE: &str = "GSN-SITE+probe/91Kd";
const EM_TOKEN: &str = "emTOKEN-leak-probe-5Rw8Yt";
/// Wrong credentials the failing runs send: secrets too.
const WRONG_IS_SECRET: &str = "wrong-ispring-secret-3Vb6Np";
const WRONG_IS_PASSWORD: &str = "wrong-ispring-password-8Mc1Lf";

/// The state database is the world's; each config is a file in its directory.
/// `edit` rewrites the text (a wrong secret, a missing file, …).
fn config(w: &World, name: &str, ispring_login: bool, edit: impl Fn(String) -> String) -> PathBuf {
    let text = w.config(&Parts {
        lms: Some("on_lossy = \"push\"".into()),
        newsletter: Some("on_lossy = \"push\"".into()),
        http: "timeout_secs = 5\nmax_retries = 1\nbase_delay_ms = 5\nmax_delay_ms = 20".into(),
        metrics: None,
        ..Parts::default()
    });
    // The probes in place of the sandboxes' own credentials (the test gives the
    // sandboxes the probes too).
    let token_form = format!(
        "kind = \"token\"\ntoken_url = \"{}/api/v3/token\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n",
        w.is.url(),
        sgsync::sandbox::ispring::CLIENT_ID,
        sgsync::sandbox::ispring::CLIENT_SECRET
    );
    assert!(text.contains(&token_form), "{text}");
    let text = text
        .replace(sgsync::sandbox::gosquared::API_KEY, GS_KEY)
        .replace(sgsync::sandbox::gosquared::SITE_TOKEN, GS_SITE)
        .replace(sgsync::sandbox::emfluence::SANDBOX_TOKEN, EM_TOKEN);
    let text = if ispring_login {
        text.replace(
            &token_form,
            &format!(
                "kind = \"login\"\naccount_url = \"{}\"\nemail = \"{}\"\npassword = \"{}\"\n",
                sgsync::sandbox::ispring::ACCOUNT_URL,
                sgsync::sandbox::ispring::EMAIL,
                sgsync::sandbox::ispring::PASSWORD
            ),
        )
    } else {
        text
    };
    w.file(&format!("{name}.toml"), &edit(text))
}

/// One run of the binary: its exit code and everything it wrote.
struct Run {
    what: String,
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// The store's files as they were right after the run.
    files: Vec<(String, Vec<u8>)>,
}

impl Run {
    fn text(&self) -> String {
        format!(
            "{}\n--- stdout\n{}\n--- stderr\n{}",
            self.what,
            String::from_utf8_lossy(&self.stdout),
            String::from_utf8_lossy(&self.stderr)
        )
    }
}

async fn run(db: &Path, config: &Path, args: &[&str]) -> Run {
    let (db, config) = (db.to_path_buf(), config.to_path_buf());
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let mut command = world::sgsync_with(&config, &[]);
        command
            .args(&args)
            .env("RUST_LOG", "trace")
            .env_remove("RUST_LOG_STYLE");
        let out = child::run(command, Duration::from_secs(120));
        let mut files = Vec::new();
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let path = format!("{}{suffix}", db.display());
            if let Ok(bytes) = std::fs::read(&path) {
                files.push((path, bytes));
            }
        }
        Run {
            what: format!("sgsync --config {} {}", config.display(), args.join(" ")),
            code: out.code,
            stdout: out.stdout.into_bytes(),
            stderr: out.stderr.into_bytes(),
            files,
        }
    })
    .await
    .expect("the run finishes")
}

fn url_encoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Standard base64, padded.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The base64 text a secret turns into wherever it starts in a larger encoded blob:
/// one needle per alignment, without the characters shared with neighbouring bytes.
fn base64_needles(secret: &str) -> Vec<String> {
    (0..3)
        .map(|pad| {
            let mut bytes = vec![0u8; pad];
            bytes.extend_from_slice(secret.as_bytes());
            let encoded = base64(&bytes);
            let skip = [0, 2, 3][pad];
            // The last group may mix in padding; drop it.
            encoded[skip..encoded.len() - 4].to_owned()
        })
        .collect()
}

/// Every spelling of every secret to look for.
fn needles(secrets: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in secrets {
        out.push((s.clone(), s.clone()));
        out.push((s.clone(), url_encoded(s)));
        for b in base64_needles(s) {
            out.push((s.clone(), b));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether the bytes hold `needle` (ASCII). Lossy decoding keeps every valid byte
/// sequence, so an ASCII needle is found in binary files too; std's string search is
/// fast even in a debug build.
fn contains(hay: &[u8], needle: &str) -> bool {
    String::from_utf8_lossy(hay).contains(needle)
}

#[test]
fn base64_needles_find_a_secret_at_any_alignment() {
    assert_eq!(base64(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw==");
    for prefix in ["", "x", "xy", "xyz:"] {
        let blob = base64(format!("{prefix}{EM_TOKEN}:tail").as_bytes());
        assert!(
            base64_needles(EM_TOKEN)
                .iter()
                .any(|n| blob.contains(n.as_str())),
            "{prefix:?}: {blob}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_output_log_or_database() {
    let w = World::start(Seed::Demo).await;
    w.gs.set_credentials(GS_KEY, GS_SITE);
    w.em.set_token(EM_TOKEN);
    w.gs.add_group("Canadians", vec![country_is("CA")]);
    let db = w.db.clone();
    let good = config(&w, "good", false, |t| t);
    let login = config(&w, "login", true, |t| t);
    let mut runs = Vec::new();

    // A full sync with human logs, then one with JSON logs that has work to do.
    let r = run(&db, &good, &["--log-format", "human", "--sync-now"]).await;
    assert_eq!(r.code, Some(0), "{}", r.text());
    assert!(
        String::from_utf8_lossy(&r.stdout).contains("created"),
        "{}",
        r.text()
    );
    assert!(
        r.stderr.len() > 10_000,
        "trace logging is on: {}",
        r.stderr.len()
    );
    for dependency in ["hyper", "reqwest", "sqlx"] {
        assert!(
            contains(&r.stderr, dependency),
            "{dependency} traces are on too"
        );
    }
    runs.push(r);
    w.gs.add_group("Canadians again", vec![country_is("CA")]);
    let r = run(&db, &good, &["--log-format", "json", "sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.text());
    assert!(
        String::from_utf8_lossy(&r.stdout).contains("created 2"),
        "{}",
        r.text()
    );
    runs.push(r);

    // The read-only commands, both log formats.
    for args in [
        &["--log-format", "human", "status"][..],
        &["--log-format", "json", "status"],
        &["--log-format", "human", "check"],
        &["--log-format", "json", "plan", "--json"],
        &["--log-format", "human", "plan"],
        &["--log-format", "human", "--sync-now", "--dry-run"],
    ] {
        let r = run(&db, &good, args).await;
        assert_eq!(r.code, Some(0), "{}", r.text());
        runs.push(r);
    }
    // The iSpring login form: the password goes into every SOAP body.
    let r = run(&db, &login, &["--log-format", "json", "check"]).await;
    assert_eq!(r.code, Some(0), "{}", r.text());
    runs.push(r);

    // Failing runs. Refused credentials: GoSquared 401, emfluence's auth error, an
    // iSpring token request with a wrong secret, and a SOAP fault for a wrong password.
    w.gs.set_credentials("rotated-key", "rotated-site");
    w.em.set_token("rotated-token");
    let wrong_secret = config(&w, "wrong-secret", false, |t| {
        t.replace(sgsync::sandbox::ispring::CLIENT_SECRET, WRONG_IS_SECRET)
    });
    let wrong_password = config(&w, "wrong-password", true, |t| {
        t.replace(sgsync::sandbox::ispring::PASSWORD, WRONG_IS_PASSWORD)
    });
    for (config, args) in [
        (&wrong_secret, &["--log-format", "human", "check"][..]),
        (&wrong_secret, &["--log-format", "json", "check"]),
        (&wrong_password, &["--log-format", "human", "check"]),
        (&wrong_password, &["--log-format", "json", "--sync-now"]),
        (&good, &["--log-format", "human", "--sync-now"]),
    ] {
        let r = run(&db, config, args).await;
        assert!(matches!(r.code, Some(1..)), "{}", r.text());
        runs.push(r);
    }
    let failed = runs.iter().rev().take(5).map(Run::text).collect::<String>();
    assert!(
        failed.contains("4001") || failed.to_lowercase().contains("auth"),
        "{failed}"
    );
    assert!(
        failed.contains("Authorization failed"),
        "the SOAP fault: {failed}"
    );
    w.gs.set_credentials(GS_KEY, GS_SITE);
    w.em.set_token(EM_TOKEN);

    // Config errors in secret fields: a missing secret file, a misspelt secret key, a
    // secret where a table is expected.
    let missing_file = config(&w, "missing-file", false, |t| {
        t.replace(
            &format!("api_key = \"{GS_KEY}\""),
            "api_key_file = \"/nonexistent/sgsync/gosquared-api-key\"",
        )
    });
    let misspelt = config(&w, "misspelt", false, |t| {
        t.replace("token = \"", "tokn = \"")
    });
    let wrong_type = config(&w, "wrong-type", false, |t| {
        t.replace(
            &format!("site_token = \"{GS_SITE}\""),
            &format!("site_token = [\"{GS_SITE}\"]"),
        )
    });
    for (config, key) in [
        (&missing_file, "source.gosquared.api_key_file"),
        (&misspelt, "tokn"),
        (&wrong_type, "source.gosquared.site_token"),
    ] {
        for format in ["human", "json"] {
            let r = run(&db, config, &["--log-format", format, "--sync-now"]).await;
            assert_eq!(r.code, Some(1), "{}", r.text());
            assert!(contains(&r.stderr, key), "names the key: {}", r.text());
            runs.push(r);
        }
    }

    // An unreachable provider: the emfluence target on a port nothing listens on, with
    // a new group to write there.
    w.gs.add_group("Canadians for the unreachable", vec![country_is("CA")]);
    let unreachable = config(&w, "unreachable", false, |t| {
        t.replace(&w.em.url(), "http://127.0.0.1:1/v1")
    });
    let r = run(&db, &unreachable, &["--log-format", "json", "--sync-now"]).await;
    assert!(matches!(r.code, Some(1..)), "{}", r.text());
    runs.push(r);
    let r = run(&db, &unreachable, &["--log-format", "human", "check"]).await;
    assert!(matches!(r.code, Some(1..)), "{}", r.text());
    runs.push(r);

    // The secrets: the configured ones, the wrong ones, and every access token the
    // iSpring sandbox issued (sgsync holds them in memory only).
    let mut secrets: Vec<String> = [
        GS_KEY,
        GS_SITE,
        EM_TOKEN,
        sgsync::sandbox::ispring::CLIENT_SECRET,
        sgsync::sandbox::ispring::PASSWORD,
        WRONG_IS_SECRET,
        WRONG_IS_PASSWORD,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let tokens = w.is.issued_tokens();
    assert!(!tokens.is_empty(), "the token form was used");
    secrets.extend(tokens.iter().cloned());

    // They reached the APIs, where each API wants them.
    let gs_requests = w.gs.running.controls.requests();
    assert!(gs_requests.len() > 5);
    for r in &gs_requests {
        let query = r.query.as_deref().unwrap_or("");
        let keyed = query.contains(&url_encoded(GS_KEY)) && query.contains(&url_encoded(GS_SITE));
        assert!(
            keyed || query.contains("rotated"),
            "GoSquared query: {query}"
        );
    }
    let em_requests = w.em.running.controls.requests();
    assert!(
        em_requests
            .iter()
            .filter(|r| r.contains(&format!("Bearer {EM_TOKEN}")))
            .count()
            > 5
    );
    let is_requests = w.is.running.controls.requests();
    let posted = |needle: &str| is_requests.iter().filter(|r| r.contains(needle)).count();
    assert!(
        posted(&format!(
            "client_secret={}",
            sgsync::sandbox::ispring::CLIENT_SECRET
        )) >= 1
    );
    assert!(posted(&format!("client_secret={WRONG_IS_SECRET}")) >= 1);
    assert!(
        posted(&format!(
            "<password>{}</password>",
            sgsync::sandbox::ispring::PASSWORD
        )) >= 1
    );
    assert!(posted(&format!("<password>{WRONG_IS_PASSWORD}</password>")) >= 1);
    assert!(
        tokens.iter().all(|t| posted(t) >= 1),
        "every issued token was used"
    );
    // Whether a run leaves its -wal/-shm files behind depends on how its last
    // connection closed; both kinds of ending are covered, as every page is in the
    // database file or in a -wal file that is searched when present.
    assert!(
        runs.iter().all(|r| !r.files.is_empty()),
        "the database was read"
    );

    // And nowhere else.
    let needles = needles(&secrets);
    assert!(needles.iter().all(|(_, n)| n.is_ascii()));
    let mut hits = Vec::new();
    for r in &runs {
        let mut places: Vec<(String, &[u8])> = vec![
            ("stdout".into(), &r.stdout[..]),
            ("stderr".into(), &r.stderr[..]),
        ];
        for (path, bytes) in &r.files {
            places.push((path.clone(), &bytes[..]));
        }
        for (place, bytes) in places {
            let text = String::from_utf8_lossy(bytes);
            for (secret, needle) in &needles {
                if text.contains(needle.as_str()) {
                    hits.push(format!(
                        "{secret:?} as {needle:?} in {place} of `{}`",
                        r.what
                    ));
                }
            }
        }
    }
    assert!(hits.is_empty(), "secrets leaked:\n{}", hits.join("\n"));

    // In process too: the settings' Debug output, and the Display and Debug of every
    // error a refused credential gives.
    let settings = sgsync::config::load_with_env(Some(&wrong_secret), &[]).expect("loads");
    let mut texts = vec![format!("{settings:?}")];
    w.gs.set_credentials("rotated-key", "rotated-site");
    w.em.set_token("rotated-token");
    let maps = std::sync::Arc::new(settings.maps.clone());
    let endpoints =
        std::iter::once(&settings.source).chain(settings.targets.iter().map(|t| &t.endpoint));
    for endpoint in endpoints {
        let provider = endpoint.connect(maps.clone()).expect("client");
        let err = provider.check().await.expect_err("refused");
        assert_eq!(err.kind, sgsync::provider::ErrorKind::Auth, "{err}");
        texts.push(format!("{err} {err:?}"));
    }
    for text in &texts {
        for (secret, needle) in &needles {
            assert!(!text.contains(needle.as_str()), "{secret:?} in {text}");
        }
    }
}
