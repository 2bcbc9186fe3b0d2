//! `sgsync demo`: the sandbox providers on loopback with demo data, and sgsync at work
//! on them with the embedded `config/demo.toml`: the plan, a first sync, the state, a
//! second sync that writes nothing, an edit at the source and the sync that carries it
//! over, then people entering and leaving the groups. Touches nothing but loopback and a
//! temporary file.

use super::status::print_status;
use super::sync::sync_with_bar;
use super::{Allow, holder};
use crate::daemon::pipeline;
use crate::engine::run::{Pipeline, RunOptions};
use crate::sandbox::{Seed, emfluence, gosquared, ispring};
use anyhow::{Context, Result};
use std::process::ExitCode;

const DEMO_CONFIG: &str = include_str!("../../config/demo.toml");

pub async fn demo(show_progress: bool) -> Result<ExitCode> {
    let gs = gosquared::Sandbox::start(Seed::Demo)
        .await
        .context("starting the GoSquared sandbox")?;
    let is = ispring::Sandbox::start(Seed::Demo)
        .await
        .context("starting the iSpring Learn sandbox")?;
    let em = emfluence::Sandbox::start(Seed::Demo)
        .await
        .context("starting the emfluence sandbox")?;
    // The LMS knows the people of two customer companies (acme.io, globex.com): they
    // have iSpring accounts; everyone else in GoSquared has none.
    let mut lms_users = 0;
    for email in gs.emails() {
        if email.ends_with("@acme.io") || email.ends_with("@globex.com") {
            is.add_user(&email, ispring::ids::COMPANY);
            lms_users += 1;
        }
    }
    println!(
        "== {lms_users} of the GoSquared people have an iSpring Learn account (acme.io and globex.com)"
    );
    let canadians = gs.add_group(
        "Canadians",
        vec![serde_json::json!({"key": "property", "path": "last.location.country.code", "operator": "==", "value": "CA"})],
    );
    let db = std::env::temp_dir().join(format!("sgsync-demo-{}.db", std::process::id()));
    // The demo config names fixed loopback ports; point it at the sandboxes' real ones,
    // and lift the conservative production rate limits, which a local sandbox does not need.
    let env: Vec<(String, String)> = [
        ("SGSYNC__SOURCE__GOSQUARED__BASE_URL", gs.url()),
        ("SGSYNC__SOURCE__RATE_LIMIT_PER_MINUTE", "60000".to_owned()),
        (
            "SGSYNC__TARGETS__LMS__ISPRING__SOAP_URL",
            format!("{}{}", is.url(), ispring::SOAP_PATH),
        ),
        ("SGSYNC__TARGETS__LMS__ISPRING__REST_URL", is.url()),
        (
            "SGSYNC__TARGETS__LMS__ISPRING__CREDENTIALS__TOKEN_URL",
            format!("{}/api/v3/token", is.url()),
        ),
        (
            "SGSYNC__TARGETS__LMS__RATE_LIMIT_PER_MINUTE",
            "60000".to_owned(),
        ),
        ("SGSYNC__TARGETS__NEWSLETTER__EMFLUENCE__BASE_URL", em.url()),
        (
            "SGSYNC__TARGETS__NEWSLETTER__RATE_LIMIT_PER_MINUTE",
            "60000".to_owned(),
        ),
        ("SGSYNC__STORE__PATH", db.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let settings = crate::config::load_str("config/demo.toml", DEMO_CONFIG, &env)?;
    let p = pipeline(&settings).await?;
    let result = demo_steps(&p, &gs, &is, &em, &canadians, show_progress).await;
    drop(p);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    result
}

async fn demo_steps(
    p: &Pipeline,
    gs: &gosquared::Sandbox,
    is: &ispring::Sandbox,
    em: &emfluence::Sandbox,
    canadians: &str,
    show_progress: bool,
) -> Result<ExitCode> {
    let targets = [&is.running.controls, &em.running.controls];
    let write_calls = || -> usize {
        targets
            .iter()
            .flat_map(|c| c.requests())
            .filter(|r| {
                [
                    "AddSmartGroup",
                    "pdateSmartGroup",
                    "RemoveGroup",
                    "<AddGroupRequest>",
                    "<UpdateGroupRequest>",
                    "<UpdateGroupMembersRequest>",
                    "<AddUserToGroupRequest>",
                    "<RemoveUserFromGroupRequest>",
                    "groups/save",
                    "Contacts",
                    "contacts/save",
                ]
                .iter()
                .any(|m| r.contains(m))
            })
            .count()
    };
    let clear = || targets.iter().for_each(|c| c.clear_log());
    println!(
        "== sandboxes: GoSquared {}  iSpring Learn {}  emfluence {}\n",
        gs.url(),
        is.url(),
        em.url()
    );

    let dry = p.dry_run().await?;
    println!(
        "== 1. plan: what a sync would do (nothing is written)\n{}\n{}",
        super::render::plan_text(&dry.plan, super::render::width()),
        dry.membership.render(true)
    );

    let first = sync_with_bar(p, show_progress, Allow::default()).await?;
    println!(
        "== 2. first sync: {} ({}), {} write call(s); the source groups' people become the emfluence groups' members, and, where iSpring cannot hold a rule, the members of a static iSpring group (people without an LMS account are counted, never created)\n{}",
        first.outcome,
        first.counts(),
        write_calls(),
        first.membership.render(false)
    );
    print_status(&p.store).await?;

    clear();
    let second = sync_with_bar(p, show_progress, Allow::default()).await?;
    println!(
        "\n== 3. second sync, nothing changed at the source: {} ({}), {} write call(s)",
        second.outcome,
        second.counts(),
        write_calls()
    );

    clear();
    gs.set_filters(
        canadians,
        vec![serde_json::json!({"key": "property", "path": "last.location.country.code", "operator": "==", "value": "US"})],
    );
    let third = sync_with_bar(p, show_progress, Allow::default()).await?;
    println!(
        "\n== 4. \"Canadians\" edited at the source (country is now US): {} ({}), {} write call(s)\n",
        third.outcome,
        third.counts(),
        write_calls()
    );
    print!(
        "{}",
        super::render::report_text(&third.report, super::render::width())
    );
    println!("{}", third.membership.render(false));

    // People move: one new American arrives, one Canadian-now-American leaves.
    clear();
    gs.add_person(serde_json::json!({
        "id": "user-demo-new",
        "email": "Nina.Okonkwo@Example.ORG",
        "name": "Nina Okonkwo",
        "last": {"seen": chrono::Utc::now().to_rfc3339(), "location": {"country": {"code": "US"}}},
        "totals": {"visits": 3},
    }));
    gs.set_property(
        "user-002",
        "last.location.country.code",
        serde_json::json!("FR"),
    );
    let fourth = p.sync(&holder(), RunOptions::default()).await?;
    println!(
        "== 5. people entered and left the source groups: {}, {} write call(s) — only the difference is sent\n{}",
        fourth.outcome,
        write_calls(),
        fourth.membership.render(true)
    );
    print_status(&p.store).await?;
    Ok(ExitCode::from(fourth.exit_code()))
}
