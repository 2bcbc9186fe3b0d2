//! sgsync: keeps smart groups (saved, rule-defined audiences) in step across GoSquared,
//! iSpring Learn and emfluence. See `../shared/DESIGN.md` for the map of the crate.

pub mod bench;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod mapping;
pub mod model;
pub mod observe;
pub mod providers;
pub mod store;
pub mod translate;
