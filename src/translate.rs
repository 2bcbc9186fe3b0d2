//! From one provider's smart group to another's: decode into the canonical model, encode
//! into the target dialect, and say how faithful the result is.

use crate::mapping::Maps;
use crate::model::{Fidelity, Findings, ProviderKind, SourceGroup};
pub use crate::providers::Payload;
use crate::providers::{emfluence, gosquared, ispring};
use thiserror::Error;

/// The result of translating one group for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// `None` exactly when the fidelity is `Impossible`.
    pub payload: Option<Payload>,
    pub fidelity: Fidelity,
}

/// Input that is not a readable group of the named provider.
#[derive(Debug, Error)]
pub enum DecodeError {
    #[error("not a GoSquared smart group: {0}")]
    GoSquared(#[from] gosquared::wire::WireError),
    #[error("not an iSpring Learn smart group: {0}")]
    Ispring(#[from] ispring::wire::WireError),
    #[error("not an emfluence group: {0}")]
    Emfluence(#[from] emfluence::wire::WireError),
}

/// Every group in `text`, read as `from`'s wire format (a group, a list response, or a
/// request body; see each provider's `wire::parse_groups`).
pub fn decode(
    from: ProviderKind,
    text: &str,
    maps: &Maps,
) -> Result<Vec<SourceGroup>, DecodeError> {
    Ok(match from {
        ProviderKind::GoSquared => gosquared::wire::parse_groups(text)?
            .iter()
            .map(|g| gosquared::dialect::decode(g, maps))
            .collect(),
        ProviderKind::Ispring => ispring::wire::parse_groups(text)?
            .iter()
            .map(|g| ispring::dialect::decode(g, maps))
            .collect(),
        ProviderKind::Emfluence => emfluence::wire::parse_groups(text)?
            .iter()
            .map(emfluence::dialect::decode)
            .collect(),
    })
}

/// `source` written in `to`'s dialect, with its fidelity.
pub fn translate(source: &SourceGroup, to: ProviderKind, maps: &Maps) -> Translation {
    let group = &source.group;
    let from = source.provider;
    let (payload, mut findings): (Option<Payload>, Findings) = match to {
        ProviderKind::GoSquared => {
            let (p, f) = gosquared::dialect::encode(group, from, maps);
            (p.map(Payload::GoSquared), f)
        }
        ProviderKind::Ispring => {
            let (p, f) = ispring::dialect::encode(group, from, maps);
            (p.map(Payload::Ispring), f)
        }
        ProviderKind::Emfluence => {
            let (p, f) = emfluence::dialect::encode(group, from);
            (p.map(Payload::Emfluence), f)
        }
    };
    findings.extend_lossy(source.uncertain.iter().cloned());
    if to != from {
        findings.extend_lossy(source.assumed.iter().cloned());
    }
    let fidelity = findings.fidelity();
    Translation {
        payload: if fidelity.is_impossible() {
            None
        } else {
            payload
        },
        fidelity,
    }
}
