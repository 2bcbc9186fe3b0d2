//! `sgsync plan` (and `sync --dry-run`, `--sync-now --dry-run`): what a sync would do,
//! as text or JSON, writing nothing anywhere.

use super::{connect, print_json};
use anyhow::Result;
use std::process::ExitCode;

pub async fn plan(
    config: crate::config::Choice<'_>,
    json: bool,
    members: bool,
) -> Result<ExitCode> {
    let p = connect(config).await?;
    let summary = p.dry_run().await?;
    if json {
        let mut doc = super::render::plan_json(&summary.plan, summary.membership.to_json());
        if let Some(o) = doc.as_object_mut() {
            o.insert(
                "targets".into(),
                super::render::targets_json(&summary.targets),
            );
            o.insert(
                "verified".into(),
                super::render::verified_json(&summary.verified),
            );
        }
        print_json("plan", doc)?;
    } else {
        print!(
            "{}",
            super::render::plan_text(&summary.plan, super::render::width())
        );
        print!("{}", summary.membership.render(members));
        print!("{}", super::render::targets_text(&summary.targets));
        print!("{}", super::render::verified_text(&summary.verified));
    }
    Ok(ExitCode::SUCCESS)
}
