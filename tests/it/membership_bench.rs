//! Benchmark (not a test: ignored by default, asserts nothing about time):
//! 100 000 members in one GoSquared smart group materialised into one emfluence group,
//! 1 % churn per run (1 000 leave, 1 000 known contacts come back). For each measured
//! run: the calls made against the minimum, the wall time against the rate-limit lower
//! bound (GoSquared 750/min documented, emfluence 100/min default), and the peak RSS of
//! the `sgsync sync` process.
//!
//! ```sh
//! cargo test --test it membership_bench:: -- --ignored --nocapture
//! ```
//!
//! `BENCH_MEMBERS` (default 100000) and `BENCH_RUNS` (default 3) change the size.
//! The sandboxes run in this process; sgsync runs as a child process (the debug build
//! next to this test), so its RSS is its own.

use crate::common;

use common::world::{Parts, World};
use serde_json::json;
use sgsync::sandbox::Seed;
use sgsync_emfluence::wire::GroupKind;
use std::path::Path;
use std::time::{Duration, Instant};

const CHURN_PERCENT: usize = 1;

/// GoSquared → emfluence at the given rate limits (membership on, emfluence's default).
fn parts(gs_rpm: u32, em_rpm: u32) -> Parts {
    Parts {
        source_lines: format!("rate_limit_per_minute = {gs_rpm}"),
        lms: None,
        newsletter: Some(format!("rate_limit_per_minute = {em_rpm}")),
        mapping: String::new(),
        http: "timeout_secs = 30".into(),
        ..Parts::default()
    }
}

struct Measured {
    wall: Duration,
    peak_rss_kib: u64,
    ok: bool,
}

/// Runs `sgsync --config <file> sync`, sampling its VmHWM (peak resident set) until it exits.
fn sync(config_file: &Path) -> Measured {
    let start = Instant::now();
    // Its log beside the config, so a failed run says why.
    let log = config_file.with_extension("log");
    let mut child = common::world::sgsync_with(config_file, &["--log-format", "json", "sync"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("sgsync starts");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(line) = text.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kib: u64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if !status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        eprintln!(
            "sync {} failed; its last lines:\n{}",
            config_file.display(),
            lines[lines.len().saturating_sub(5)..].join("\n")
        );
    }
    Measured {
        wall: start.elapsed(),
        peak_rss_kib: peak,
        ok: status.success(),
    }
}

/// Seconds a token bucket of `rpm` per minute with a burst of `rpm / 60` (at least 1),
/// as the HTTP layer configures it, needs at least for `calls` calls.
fn lower_bound(calls: usize, rpm: u32) -> f64 {
    let burst = (rpm / 60).max(1) as usize;
    calls.saturating_sub(burst) as f64 / (f64::from(rpm) / 60.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: cargo test --test it membership_bench:: -- --ignored --nocapture"]
async fn hundred_thousand_members_one_percent_churn() {
    let members: usize = std::env::var("BENCH_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let churn = members * CHURN_PERCENT / 100;
    let w = World::start(Seed::Empty).await;
    let (gs, em) = (&w.gs, &w.em);

    // The world: `members + churn` people in GoSquared, all already emfluence contacts
    // and members of the (adopted) emfluence group. Person i is in the smart group
    // while their company is "Acme".
    let setup = Instant::now();
    let total = members + churn;
    let group = gs.add_group(
        "Acme people",
        vec![json!({"key": "property", "path": "company.name", "operator": "contains", "value": "Acme"})],
    );
    let gid = em.add_group(
        "Acme people",
        &format!("sgsync:gosquared:{group}"),
        GroupKind::Static,
    );
    let mut contact_ids = Vec::with_capacity(total);
    for i in 0..total {
        let email = format!("person.{i}@example.com");
        gs.add_person(json!({
            "id": format!("p{i}"),
            "email": email,
            "name": format!("Person {i}"),
            "company": {"name": "Acme Ltd"},
            "last": {"seen": "2026-11-01T00:00:00.000Z"},
        }));
        contact_ids.push(em.add_contact(&email, "Person", &i.to_string()));
    }
    em.add_members(gid, &contact_ids);

    // Setup runs at sandbox speed: adopt the group and read its members once (the
    // baseline), then the last `churn` people leave, so the measured runs start from
    // exactly `members` members with every contact id known.
    let fast = w.file("fast.toml", &w.config(&parts(1_000_000, 1_000_000)));
    let slow = w.file("slow.toml", &w.config(&parts(750, 100)));
    let first = sync(&fast);
    assert!(first.ok, "setup run 1");
    let changes: Vec<(usize, &str, serde_json::Value)> = (members..total)
        .map(|i| (i, "company.name", json!("Globex")))
        .collect();
    gs.set_properties_at(&changes);
    assert!(sync(&fast).ok, "setup run 2");
    assert_eq!(em.group(gid).unwrap().members.len(), members);
    println!(
        "setup: {total} people and contacts, baseline read and first churn in {:.1} s (setup run 1 peak RSS {} MiB)",
        setup.elapsed().as_secs_f64(),
        first.peak_rss_kib / 1024
    );
    println!(
        "| run | adds | removes | GoSquared reads | emfluence calls (lookup/add/remove/save/search) | total calls | minimum | wall s | rate-limit bound s | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");

    // Measured runs at the real limits: each run the `churn` people outside come back
    // and `churn` members leave (a sliding window).
    let mut out: Vec<usize> = (members..total).collect();
    for run in 1..=runs {
        let leaving: Vec<usize> = ((run - 1) * churn..run * churn).collect();
        let mut changes: Vec<(usize, &str, serde_json::Value)> = Vec::new();
        changes.extend(out.iter().map(|&i| (i, "company.name", json!("Acme Ltd"))));
        changes.extend(
            leaving
                .iter()
                .map(|&i| (i, "company.name", json!("Globex"))),
        );
        gs.set_properties_at(&changes);
        out = leaving;
        gs.running.controls.clear_log();
        em.running.controls.clear_log();
        let m = sync(&slow);
        assert!(m.ok, "run {run} failed");
        let reads = gs.running.controls.requests().len();
        let count = |p: &str| em.running.controls.count(&reqwest::Method::POST, p);
        let (lookup, add, remove, save, search) = (
            count("groups/lookup"),
            count("addContacts"),
            count("removeContacts"),
            count("contacts/save"),
            count("contacts/search"),
        );
        let em_calls = lookup + add + remove + save + search;
        // The minimum: every source page (ceil((members+1)/250): the paging rule stops on
        // a short page) plus the group list, and ceil(n/1000) batches each way.
        let pages = members / 250 + 1;
        let minimum = 1 + pages + churn.div_ceil(1000) * 2;
        let bound = lower_bound(reads, 750) + lower_bound(em_calls, 100);
        assert_eq!(em.group(gid).unwrap().members.len(), members);
        println!(
            "| {run} | {churn} | {churn} | {reads} | {em_calls} ({lookup}/{add}/{remove}/{save}/{search}) | {} | {minimum} | {:.1} | {:.1} | {} |",
            reads + em_calls,
            m.wall.as_secs_f64(),
            bound,
            m.peak_rss_kib / 1024
        );
    }

    // And a run with nothing changed: reads only, zero writes.
    gs.running.controls.clear_log();
    em.running.controls.clear_log();
    let m = sync(&slow);
    assert!(m.ok);
    println!(
        "no change: {} GoSquared reads, {} emfluence calls, {:.1} s (bound {:.1} s), peak RSS {} MiB",
        gs.running.controls.requests().len(),
        em.running.controls.requests().len(),
        m.wall.as_secs_f64(),
        lower_bound(gs.running.controls.requests().len(), 750),
        m.peak_rss_kib / 1024
    );
}

/// The physical lower bound (`sgsync::bench::bound`) of `reads` GoSquared calls (its
/// documented bucket of 750) then `writes` iSpring calls (a window of 100 a minute,
/// sgsync's default: iSpring publishes none), the sandboxes answering at once.
fn physical_bound(reads: usize, writes: usize) -> f64 {
    use sgsync::bench::bound::{Load, lower_bound};
    use sgsync::provider::pacing::Shape;
    let load = |calls: usize, per_minute: u64, shape: Shape| Load {
        calls: calls as u64,
        latency: Duration::ZERO,
        concurrency: 4,
        per_minute,
        shape,
    };
    lower_bound(
        &load(reads, 750, Shape::Bucket),
        &[load(writes, 100, Shape::Window)],
    )
    .as_secs_f64()
}

/// GoSquared → iSpring Learn `lms` (membership for rules iSpring cannot hold) at the
/// given rate limits.
fn ispring_parts(gs_rpm: u32, is_rpm: u32) -> Parts {
    Parts {
        source_lines: format!("rate_limit_per_minute = {gs_rpm}"),
        lms: Some(format!(
            "membership = \"when_rule_impossible\"\nrate_limit_per_minute = {is_rpm}"
        )),
        newsletter: None,
        http: "timeout_secs = 30".into(),
        ..Parts::default()
    }
}

/// Benchmark (issue 16): 10 000 source members materialised into a static iSpring group,
/// 70 % of them iSpring users, 1 % churn per run. Per measured run: the membership calls
/// against the documented minimum (one `updateGroupMembers`; no lookup, every entering
/// person's verdict is known), every iSpring call, wall time against the rate-limit
/// bound as the providers count their limits (GoSquared's bucket of 750, documented;
/// iSpring 100 a minute, sgsync's default), peak RSS.
///
/// ```sh
/// cargo test --test it membership_bench::ispring -- --ignored --nocapture
/// ```
///
/// `BENCH_MEMBERS` (default 10000) and `BENCH_RUNS` (default 3) change the size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: cargo test --test it membership_bench::ispring -- --ignored --nocapture"]
async fn ispring_ten_thousand_members_seventy_percent_users_one_percent_churn() {
    let members: usize = std::env::var("BENCH_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let churn = members * CHURN_PERCENT / 100;
    let w = World::start(Seed::Empty).await;
    let (gs, is) = (&w.gs, &w.is);
    let setup = Instant::now();
    let total = members + churn;
    gs.add_group(
        "Acme people",
        vec![json!({"key": "property", "path": "company.name", "operator": "contains", "value": "Acme"})],
    );
    // Person i has an iSpring account when i % 10 < 7 (70 %).
    let has_account = |i: usize| i % 10 < 7;
    let mut users = Vec::new();
    for i in 0..total {
        let email = format!("person.{i}@example.com");
        gs.add_person(json!({
            "id": format!("p{i}"),
            "email": email,
            "name": format!("Person {i}"),
            "company": {"name": "Acme Ltd"},
        }));
        if has_account(i) {
            let fields = [("EMAIL", email.as_str()), ("FIRST_NAME", "Person")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            users.push(sgsync::sandbox::ispring::SandboxUser {
                id: format!("u{i:08}"),
                department_id: sgsync::sandbox::ispring::ids::SALES.to_owned(),
                groups: Vec::new(),
                fields,
            });
        }
    }
    is.set_users(users);
    // Setup at sandbox speed: the static group is made, everyone looked up once (the
    // people without an account recorded), then the last `churn` people leave.
    let fast = w.file("fast.toml", &w.config(&ispring_parts(1_000_000, 1_000_000)));
    let slow = w.file("slow.toml", &w.config(&ispring_parts(750, 100)));
    let first = sync(&fast);
    assert!(first.ok, "setup run 1");
    let lookups = is
        .running
        .controls
        .requests()
        .iter()
        .filter(|r| r.contains("<emails>"))
        .count();
    let changes: Vec<(usize, &str, serde_json::Value)> = (members..total)
        .map(|i| (i, "company.name", json!("Globex")))
        .collect();
    gs.set_properties_at(&changes);
    assert!(sync(&fast).ok, "setup run 2");
    let gid = is
        .groups()
        .into_iter()
        .find(|g| g.name == "Acme people" && g.rules.is_none())
        .expect("the static group")
        .id;
    assert_eq!(
        is.members(&gid).len(),
        (0..members).filter(|i| has_account(*i)).count()
    );
    println!(
        "setup: {total} people, {} iSpring users; first run looked {total} emails up in {lookups} ListUsers call(s); {:.1} s (setup run 1 peak RSS {} MiB)",
        is.users().len(),
        setup.elapsed().as_secs_f64(),
        first.peak_rss_kib / 1024
    );
    println!(
        "| run | source changes | member changes | GoSquared reads | iSpring membership calls (lookup/replace/add/remove) | minimum | all iSpring calls | wall s | rate-limit bound s | per-user instead: iSpring calls, bound s | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut out: Vec<usize> = (members..total).collect();
    for run in 1..=runs {
        let leaving: Vec<usize> = ((run - 1) * churn..run * churn).collect();
        let member_changes = out
            .iter()
            .chain(&leaving)
            .filter(|i| has_account(**i))
            .count();
        let mut changes: Vec<(usize, &str, serde_json::Value)> = Vec::new();
        changes.extend(out.iter().map(|&i| (i, "company.name", json!("Acme Ltd"))));
        changes.extend(
            leaving
                .iter()
                .map(|&i| (i, "company.name", json!("Globex"))),
        );
        gs.set_properties_at(&changes);
        out = leaving;
        gs.running.controls.clear_log();
        is.running.controls.clear_log();
        let m = sync(&slow);
        assert!(m.ok, "run {run} failed");
        let reads = gs.running.controls.requests().len();
        let log = is.running.controls.requests();
        let count = |tag: &str| log.iter().filter(|r| r.contains(tag)).count();
        let (lookup, replace, add, remove) = (
            count("<emails>"),
            count("<UpdateGroupMembersRequest>"),
            count("<AddUserToGroupRequest>"),
            count("<RemoveUserFromGroupRequest>"),
        );
        let all = log.len();
        let bound = physical_bound(reads, all);
        // What writing the same change per member would have cost instead.
        let per_user = all - replace - add - remove + member_changes;
        // In the group now: everyone but the people who just left.
        let expected = (0..total)
            .filter(|i| has_account(*i) && !out.contains(i))
            .count();
        assert_eq!(
            is.members(&gid).len(),
            expected,
            "run {run}: the group holds the source's users"
        );
        println!(
            "| {run} | {} | {member_changes} | {reads} | {} ({lookup}/{replace}/{add}/{remove}) | 1 | {all} | {:.1} | {:.1} | {per_user}, {:.1} | {} |",
            2 * churn,
            lookup + replace + add + remove,
            m.wall.as_secs_f64(),
            bound,
            physical_bound(reads, per_user),
            m.peak_rss_kib / 1024
        );
    }
    gs.running.controls.clear_log();
    is.running.controls.clear_log();
    let m = sync(&slow);
    assert!(m.ok);
    let log = is.running.controls.requests();
    println!(
        "no change: {} GoSquared reads, {} iSpring calls ({} membership), {:.1} s (bound {:.1} s), peak RSS {} MiB",
        gs.running.controls.requests().len(),
        log.len(),
        log.iter()
            .filter(|r| r.contains("<emails>")
                || r.contains("<UpdateGroupMembersRequest>")
                || r.contains("<AddUserToGroupRequest>")
                || r.contains("<RemoveUserFromGroupRequest>"))
            .count(),
        m.wall.as_secs_f64(),
        physical_bound(gs.running.controls.requests().len(), log.len()),
        m.peak_rss_kib / 1024
    );
}
