//! The shipped example config says what the program reads: every block in it parses
//! into the type that uses it.

use serde::de::DeserializeOwned;
use sgsync::mapping::{MappingConfig, Maps};
use sgsync::providers::emfluence::client::EmfluenceConfig;
use sgsync::providers::gosquared::client::GoSquaredConfig;
use sgsync::providers::ispring::client::IspringConfig;

const EXAMPLE: &str = include_str!("../config/sgsync.example.toml");

fn block<T: DeserializeOwned>(path: &[&str]) -> T {
    let mut value: toml::Value = toml::from_str(EXAMPLE).expect("the example is valid TOML");
    for key in path {
        value = value
            .get(key)
            .unwrap_or_else(|| panic!("no {} in the example", path.join(".")))
            .clone();
    }
    value
        .try_into()
        .unwrap_or_else(|e| panic!("{}: {e}", path.join(".")))
}

#[test]
fn every_block_of_the_example_parses() {
    let mapping: MappingConfig = block(&["mapping"]);
    Maps::from_config(&mapping).expect("the example mapping is valid");
    let _: GoSquaredConfig = block(&["source", "gosquared"]);
    let ispring: IspringConfig = block(&["targets", "lms", "ispring"]);
    assert!(ispring.rest_url.is_some());
    let _: EmfluenceConfig = block(&["targets", "newsletter", "emfluence"]);
}
