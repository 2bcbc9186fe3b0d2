//! The integration tests: one binary, so the program is linked into a test executable
//! once instead of once per file. Each module is one subject; `common` is the world
//! they share (sandboxes, config, child processes). Run one subject with its module
//! path as the filter, e.g. `cargo test --test it crash::`.

mod common;

mod accounts;
mod bad_input;
mod cli;
mod config;
mod contract_emfluence;
mod contract_gosquared;
mod contract_ispring;
mod contract_ispring_members;
mod crash;
mod deploy_files;
mod docs;
mod drift;
mod example_config;
mod fault_storm;
mod http_layer;
mod integrity;
mod malformed;
mod membership;
mod membership_bench;
mod membership_ispring;
mod observe;
mod operator;
mod pipelines;
mod provider_behaviour;
mod secrets;
mod store;
mod sync_e2e;
mod translation_props;
mod workers;
