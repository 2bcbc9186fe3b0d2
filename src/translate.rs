//! Translation by provider kind, through the registry: what `sgsync translate`, the
//! benchmark and the tests use when they name providers rather than hold connections.
//! No account is involved ([`Directory::none`]): ids are read and written as they are,
//! as if source and target were the same account. (A sync gets each target's dialect
//! and directory from its connection instead.)

use crate::model::mapping::Maps;
use crate::model::{Directory, Findings, ProviderKind, SourceGroup};
pub use crate::provider::{DecodeError, Dialect, Payload, Translation};
use crate::registry;
use std::sync::Arc;

/// `kind`'s dialect with `maps`; `None` for a kind no registered provider has.
pub fn dialect(kind: ProviderKind, maps: &Maps) -> Option<Arc<dyn Dialect>> {
    registry::of(kind).map(|p| p.dialect(Arc::new(maps.clone())))
}

/// Every group in `text`, read as `from`'s wire format.
pub fn decode(
    from: ProviderKind,
    text: &str,
    maps: &Maps,
) -> Result<Vec<SourceGroup>, DecodeError> {
    match dialect(from, maps) {
        Some(d) => d.decode(text, &Directory::none()),
        None => Err(DecodeError {
            provider: from,
            why: "no such provider is registered".to_owned(),
        }),
    }
}

/// `source` written in `to`'s dialect, with its fidelity (impossible for a kind no
/// registered provider has).
pub fn translate(source: &SourceGroup, to: ProviderKind, maps: &Maps) -> Translation {
    match dialect(to, maps) {
        Some(d) => crate::provider::translate(source, d.as_ref(), &Directory::none()),
        None => {
            let mut findings = Findings::default();
            findings.impossible("provider", format!("{to} is not a registered provider"));
            Translation {
                payload: None,
                fidelity: findings.fidelity(),
                unavailable: Vec::new(),
            }
        }
    }
}

/// Every registered provider's kind, in registry order.
pub fn kinds() -> Vec<ProviderKind> {
    registry::PROVIDERS.iter().map(|p| p.kind()).collect()
}
