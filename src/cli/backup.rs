//! `sgsync backup`: a consistent copy of the state database, safe while a sync runs.

use super::open_store;
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;

pub async fn backup(config: crate::config::Choice<'_>, file: &Path) -> Result<ExitCode> {
    let store = open_store(config).await?;
    store.backup(file).await?;
    println!(
        "state database {} copied to {}",
        store.location(),
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}
