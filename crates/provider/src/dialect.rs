//! A provider's dialect: its rules ↔ the canonical model. Pure and synchronous; each
//! target connection hands the engine its own (with that account's maps).

use crate::Payload;
use sgsync_model::{Directory, Fidelity, Findings, ProviderKind, Reason, SourceGroup};

/// One provider's rule language.
pub trait Dialect: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// Every group in `text`, in this provider's wire format (a group, a list answer, or
    /// a request body), its ids read as names through `directory` (the account the text
    /// came from; [`Directory::none`] for a file).
    fn decode(&self, text: &str, directory: &Directory) -> Result<Vec<SourceGroup>, DecodeError>;

    /// `source` written in this dialect for the account whose directory is
    /// `directory`: the payload (`None` when nothing can be written) and what it could
    /// not keep. Where it came from matters: an opaque node may only be written back to
    /// its own dialect (and account, where it names ids), an assumed spelling costs
    /// fidelity only for a group from another dialect, and names become *this*
    /// account's ids.
    fn encode(&self, source: &SourceGroup, directory: &Directory) -> (Option<Payload>, Findings);

    /// What of this dialect's mapping cannot work in the account whose directory is
    /// `directory`: one line per entry naming a department, group, field or value the
    /// account does not list (with the closest names it does), starting with the config
    /// key. Empty when every entry resolves, or when nothing can be checked (a provider
    /// that lists none). `sgsync check` prints these and exits 1.
    fn check_mapping(&self, directory: &Directory) -> Vec<String> {
        let _ = directory;
        Vec::new()
    }

    /// For a dialect that writes rules and also has static groups (iSpring Learn): the
    /// payload of a static group for `source`, which holds its members instead of its
    /// rule — used when the rule cannot travel and membership is on. `None` (the
    /// default): a dialect without one, or whose every group is static already.
    fn static_shell(&self, source: &SourceGroup) -> Option<Payload> {
        let _ = source;
        None
    }
}

/// Input that is not a readable group of the named provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not {} group: {why}", article(.provider.display_name()))]
pub struct DecodeError {
    pub provider: ProviderKind,
    pub why: String,
}

fn article(name: &str) -> String {
    let vowel = name.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']);
    format!("{} {name}", if vowel { "an" } else { "a" })
}

/// The result of translating one group for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// `None` exactly when the fidelity is `Impossible`.
    pub payload: Option<Payload>,
    pub fidelity: Fidelity,
    /// What the translation needed from the account and could not get (its directory
    /// was not read): when any, the unit fails with these reasons instead.
    pub unavailable: Vec<Reason>,
}

/// `source` written in `to`'s dialect, with its fidelity: what the dialect could not
/// keep, plus what the source's reading was unsure of (and its assumed spellings, when
/// the group leaves its own dialect).
pub fn translate(source: &SourceGroup, to: &dyn Dialect, directory: &Directory) -> Translation {
    let (payload, mut findings) = to.encode(source, directory);
    let unavailable = findings.take_unavailable();
    findings.extend_lossy(source.uncertain.iter().cloned());
    if to.kind() != source.provider {
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
        unavailable,
    }
}
