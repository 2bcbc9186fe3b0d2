//! How faithful a translation is, and why.

use serde::Serialize;
use std::fmt;

/// One reason a translation is not exact: which condition, and what about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// Where: a path in the source (`filters[2].operator "!="`) or in the canonical rule
    /// (`rule.all[1]`), with the condition in words.
    pub at: String,
    /// Why it does not travel exactly.
    pub why: String,
}

impl Reason {
    pub fn new(at: impl Into<String>, why: impl Into<String>) -> Self {
        Reason {
            at: at.into(),
            why: why.into(),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.why)
    }
}

/// `Exact` is claimed only when the target rule selects exactly the people the source
/// rule selects, for every profile (as defined by [`crate::evaluate`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "fidelity", content = "reasons", rename_all = "lowercase")]
pub enum Fidelity {
    Exact,
    /// A payload exists but selects a different audience (or one we cannot vouch for).
    Lossy(Vec<Reason>),
    /// No payload: the rule cannot be written in the target dialect.
    Impossible(Vec<Reason>),
}

impl Fidelity {
    pub fn is_exact(&self) -> bool {
        matches!(self, Fidelity::Exact)
    }
    pub fn is_impossible(&self) -> bool {
        matches!(self, Fidelity::Impossible(_))
    }
    pub fn reasons(&self) -> &[Reason] {
        match self {
            Fidelity::Exact => &[],
            Fidelity::Lossy(r) | Fidelity::Impossible(r) => r,
        }
    }
}

impl fmt::Display for Fidelity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (label, reasons) = match self {
            Fidelity::Exact => return f.write_str("exact"),
            Fidelity::Lossy(r) => ("lossy", r),
            Fidelity::Impossible(r) => ("impossible", r),
        };
        f.write_str(label)?;
        for r in reasons {
            write!(f, "\n  - {r}")?;
        }
        Ok(())
    }
}

/// Collects reasons while a dialect encodes, then says what they add up to.
#[derive(Debug, Default, Clone)]
pub struct Findings {
    lossy: Vec<Reason>,
    impossible: Vec<Reason>,
    unavailable: Vec<Reason>,
}

impl Findings {
    pub fn lossy(&mut self, at: impl Into<String>, why: impl Into<String>) {
        self.lossy.push(Reason::new(at, why));
    }
    pub fn impossible(&mut self, at: impl Into<String>, why: impl Into<String>) {
        self.impossible.push(Reason::new(at, why));
    }
    /// Carries reasons found earlier (e.g. while decoding the source) into this result.
    pub fn extend_lossy(&mut self, reasons: impl IntoIterator<Item = Reason>) {
        self.lossy.extend(reasons);
    }
    pub fn has_impossible(&self) -> bool {
        !self.impossible.is_empty()
    }
    /// The translation could not be judged: something it needs from the account (its
    /// directory) could not be read. The unit fails with this reason rather than be
    /// written or skipped on a guess.
    pub fn unavailable(&mut self, at: impl Into<String>, why: impl Into<String>) {
        self.unavailable.push(Reason::new(at, why));
    }
    /// What could not be read, taken out (the first reason is enough to fail a unit).
    pub fn take_unavailable(&mut self) -> Vec<Reason> {
        std::mem::take(&mut self.unavailable)
    }
    /// Impossible wins over Lossy; the lossy reasons are kept after the fatal ones.
    pub fn fidelity(self) -> Fidelity {
        if !self.impossible.is_empty() {
            let mut all = self.impossible;
            all.extend(self.lossy);
            Fidelity::Impossible(all)
        } else if !self.lossy.is_empty() {
            Fidelity::Lossy(self.lossy)
        } else {
            Fidelity::Exact
        }
    }
}

/// A group as decoded from one provider, with what we are unsure of in the reading.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceGroup {
    pub provider: super::ProviderKind,
    /// The account it was read from (its directory's id; empty when read from a file):
    /// ids in it, and opaque nodes, mean something in that account only.
    pub account: String,
    pub group: super::SmartGroup,
    /// The canonical rule may not mean what the provider means (e.g. iSpring's flat
    /// read-back lost the AND/OR structure): every translation is at best lossy.
    pub uncertain: Vec<Reason>,
    /// A spelling was read by an assumed meaning (e.g. GoSquared `!=`): translations to
    /// other dialects are at best lossy; the same dialect writes the spelling back as it
    /// came, so it stays exact there.
    pub assumed: Vec<Reason>,
}

impl SourceGroup {
    /// A group decoded with no doubts.
    pub fn certain(provider: super::ProviderKind, group: super::SmartGroup) -> Self {
        SourceGroup {
            provider,
            account: String::new(),
            group,
            uncertain: Vec::new(),
            assumed: Vec::new(),
        }
    }
}

/// The key sgsync puts on (or finds) every target group it creates for a source group:
/// `sgsync:<provider>:<source group id>`.
pub fn stable_key(provider: super::ProviderKind, source_id: &str) -> String {
    format!("sgsync:{provider}:{source_id}")
}
