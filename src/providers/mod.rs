//! One folder per provider: `wire.rs` (its request/response shapes), `dialect.rs` (its
//! rules ↔ the canonical model, pure).
//!
//! Every dialect has the same two entry points:
//! - `dialect::decode(&wire group, &Maps) -> SourceGroup`
//! - `dialect::encode(&SmartGroup, source: ProviderKind, &Maps) -> (Option<wire payload>, Findings)`
//!   where `source` is the provider the group was read from: an opaque node may only be
//!   written back to its own dialect, and an assumed spelling only costs fidelity when it
//!   is used for a group from another dialect.

pub mod emfluence;
pub mod gosquared;
pub mod ispring;
pub mod json;
