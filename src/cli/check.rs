//! `sgsync check`: the config is valid, every provider answers a read-only call, and
//! the mapping works in every account: each department, group, field and value it
//! names is listed there (read from the account's directory, as a run reads it).

use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

pub async fn check(config: Option<&Path>) -> Result<ExitCode> {
    let settings = crate::config::load(config)?;
    println!("config: ok ({} target(s))", settings.targets.len());
    let maps = Arc::new(settings.maps.clone());
    let endpoints = std::iter::once(("source".to_owned(), &settings.source)).chain(
        settings
            .targets
            .iter()
            .map(|t| ("target".to_owned(), &t.endpoint)),
    );
    let mut failed = 0;
    for (role, endpoint) in endpoints {
        let verdict = match endpoint.connect(maps.clone()) {
            Ok(provider) => match provider.check().await {
                Ok(()) => mapping_problems(provider.as_ref(), &endpoint.name, &maps).await,
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        match verdict {
            Ok(()) => println!(
                "{role} {} ({}): ok",
                endpoint.name,
                endpoint.provider.display_name()
            ),
            Err(e) => {
                failed += 1;
                println!(
                    "{role} {} ({}): FAILED: {e}",
                    endpoint.name,
                    endpoint.provider.display_name()
                );
            }
        }
    }
    if failed > 0 {
        println!("fix the lines marked FAILED, then run sgsync check again");
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The account's directory, read as a run reads it, against the mapping: `Err` with one
/// line per entry that cannot work there (or why the directory could not be read).
async fn mapping_problems(
    provider: &dyn crate::provider::Provider,
    name: &str,
    maps: &Arc<crate::model::mapping::Maps>,
) -> Result<(), String> {
    let directory = crate::engine::run::read_directory(provider, name).await;
    if let Some(why) = directory.failure() {
        return Err(format!(
            "its directory (departments, groups, profile fields) cannot be read: {why}"
        ));
    }
    let problems = crate::translate::dialect(provider.kind(), maps)
        .map(|d| d.check_mapping(&directory))
        .unwrap_or_default();
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the mapping names what this account does not have:\n  - {}",
        problems.join("\n  - ")
    ))
}
