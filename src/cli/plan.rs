//! `sgsync plan` (and `--sync-now --dry-run`): what a sync would do, as a table or JSON,
//! writing nothing anywhere.

use super::connect;
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;

pub async fn plan(config: Option<&Path>, json: bool, verbose: bool) -> Result<ExitCode> {
    let p = connect(config).await?;
    let summary = p.dry_run().await?;
    if json {
        let mut value = serde_json::to_value(summary.plan.summary())?;
        if let Some(o) = value.as_object_mut() {
            o.insert("membership".to_owned(), summary.membership.to_json());
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("{}", summary.plan);
        print!("{}", summary.membership.render(verbose));
    }
    Ok(ExitCode::SUCCESS)
}
