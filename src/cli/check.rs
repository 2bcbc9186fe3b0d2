//! `sgsync check`: the config is valid, and every provider answers a read-only call.

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
            .map(|t| (format!("target {}", t.endpoint.name), &t.endpoint)),
    );
    let mut failed = 0;
    for (role, endpoint) in endpoints {
        let verdict = match endpoint.connect(maps.clone()) {
            Ok(provider) => provider.check().await.map_err(|e| e.to_string()),
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
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
