//! `sgsync sandbox`: the three sandbox providers on loopback until Ctrl-C or SIGTERM,
//! with the made-up credentials a config needs to point at them.

use super::shutdown_signal;
use crate::sandbox::{Seed, emfluence, gosquared, ispring};
use anyhow::{Context, Result};
use clap::ValueEnum;
use std::process::ExitCode;

#[derive(Clone, Copy, ValueEnum)]
pub enum SeedArg {
    /// The nine real GoSquared groups, an iSpring department tree, emfluence contacts.
    Demo,
    /// No groups (reference data only).
    Empty,
}

pub async fn sandbox(seed: SeedArg, port: u16) -> Result<ExitCode> {
    let seed = match seed {
        SeedArg::Demo => Seed::Demo,
        SeedArg::Empty => Seed::Empty,
    };
    let port_of = |offset: u16| -> Result<u16> {
        if port == 0 {
            return Ok(0);
        }
        port.checked_add(offset)
            .context("--port leaves no room for three ports")
    };
    let gs = gosquared::Sandbox::start_on(seed, port_of(0)?)
        .await
        .context("starting the GoSquared sandbox")?;
    let is = ispring::Sandbox::start_on(seed, port_of(1)?)
        .await
        .context("starting the iSpring Learn sandbox")?;
    let em = emfluence::Sandbox::start_on(seed, port_of(2)?)
        .await
        .context("starting the emfluence sandbox")?;
    // These are the sandboxes' own made-up credentials, printed so a config can point
    // at them; real credentials are never printed.
    let shutdown = shutdown_signal()?;
    println!("Sandbox providers on loopback (Ctrl-C to stop):");
    println!(
        "  GoSquared      {}  api_key={} site_token={}",
        gs.url(),
        gosquared::API_KEY,
        gosquared::SITE_TOKEN
    );
    println!(
        "  iSpring Learn  {}{}  token endpoint {}/api/v3/token  client_id={} client_secret={}",
        is.url(),
        ispring::SOAP_PATH,
        is.url(),
        ispring::CLIENT_ID,
        ispring::CLIENT_SECRET
    );
    println!(
        "  emfluence      {}  token={}",
        em.url(),
        emfluence::SANDBOX_TOKEN
    );
    shutdown.await;
    println!("Sandboxes stopped.");
    Ok(ExitCode::SUCCESS)
}
