//! `sgsync resync`: forgets stored payload hashes, so the next run pushes (and so
//! re-verifies) those links again.

use super::open_store_for;
use anyhow::Result;
use std::process::ExitCode;

pub async fn resync(
    config: crate::config::Choice<'_>,
    target: Option<String>,
    group: Option<String>,
) -> Result<ExitCode> {
    let store = open_store_for(config, target.as_deref()).await?;
    let n = store
        .forget_hashes(target.as_deref(), group.as_deref())
        .await?;
    println!("{n} link(s) will be pushed again by the next run");
    Ok(ExitCode::SUCCESS)
}
