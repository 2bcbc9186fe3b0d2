//! The sync engine: `plan` decides (pure), `apply` acts (async).

pub mod apply;
pub mod lease;
pub mod materialise;
pub mod members;
pub mod plan;
pub mod run;
