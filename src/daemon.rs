//! Turning settings into a running pipeline. (The cron loop and health endpoint of
//! `sgsync run` will live here too.)

use crate::config::Settings;
use crate::engine::apply::Target;
use crate::engine::plan::TargetPolicy;
use crate::engine::run::Pipeline;
use crate::providers::ProviderError;
use crate::store::{Store, StoreError};
use std::sync::Arc;

/// Why a pipeline could not be put together (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Provider(#[from] ProviderError),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Clients for the source and every target, and the opened state store.
pub async fn pipeline(settings: &Settings) -> Result<Pipeline, StartError> {
    let maps = Arc::new(settings.maps.clone());
    let source = settings.source.connect(maps.clone())?;
    let mut targets = Vec::with_capacity(settings.targets.len());
    for t in &settings.targets {
        let provider = t.endpoint.connect(maps.clone())?;
        targets.push(Target {
            policy: TargetPolicy {
                name: t.endpoint.name.clone(),
                provider: t.endpoint.provider,
                capabilities: provider.capabilities(),
                on_lossy: t.on_lossy,
                on_source_deleted: t.on_source_deleted,
                name_prefix: t.name_prefix.clone(),
            },
            provider,
            concurrency: t.concurrency,
        });
    }
    let store = Store::open(&settings.store_path).await?;
    Ok(Pipeline {
        source,
        targets,
        maps,
        store,
    })
}
