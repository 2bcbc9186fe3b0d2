//! The sync engine: `plan` decides (pure), `apply` acts (async), `materialise` copies
//! members into static groups, `run` carries one run from lock to record, `lease` holds
//! the run lock and fences every write. It knows providers only through the traits of
//! `sgsync_provider` and the dialects its targets hand it: never by name.

pub mod apply;
pub mod audience;
pub mod lease;
pub mod materialise;
pub mod plan;
pub mod run;
pub mod verify;
