//! sgsync: keeps smart groups (saved, rule-defined audiences) in step across SaaS
//! providers. This is the program: configuration, the provider registry, the daemon
//! loop, observability, the benchmark and the commands. The libraries it is built from
//! are crates of their own under `crates/`; they are re-exported here under short
//! names for the program and its tests.

pub use sgsync_engine as engine;
pub use sgsync_model as model;
pub use sgsync_provider as provider;
pub use sgsync_sandbox as sandbox;
pub use sgsync_store as store;

pub mod bench;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod observe;
pub mod registry;
pub mod translate;
