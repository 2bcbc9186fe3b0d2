//! `sgsync forget`: drops every link to a target reset by hand, after a confirmation
//! (or `--yes`); without a terminal to ask on, it refuses rather than guess.

use super::open_store_for;
use anyhow::{Result, bail};
use std::process::ExitCode;

pub async fn forget(
    config: crate::config::Choice<'_>,
    target: String,
    yes: bool,
) -> Result<ExitCode> {
    let store = open_store_for(config, Some(&target)).await?;
    let links = store.links(Some(&target)).await?;
    if links.is_empty() {
        println!("no links to target \"{target}\"");
        return Ok(ExitCode::SUCCESS);
    }
    if !yes {
        use std::io::{BufRead, IsTerminal, Write};
        if !std::io::stdin().is_terminal() {
            bail!(
                "forgetting {} link(s) to \"{target}\" needs confirmation: run again with --yes",
                links.len()
            );
        }
        print!(
            "Forget {} link(s) to target \"{target}\"? sgsync will no longer know those groups are its own, and the next run creates or re-adopts them. [y/N] ",
            links.len()
        );
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("nothing forgotten");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let n = store.forget_links(&target).await?;
    println!("forgot {n} link(s) to \"{target}\"");
    Ok(ExitCode::SUCCESS)
}
