//! The shipped example config says what the program reads: it loads, through the same
//! path as production, into settings.

use sgsync::config::{Connection, load_with_env};
use std::path::Path;

#[test]
fn the_example_loads_into_settings() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sgsync.example.toml");
    let settings = load_with_env(Some(&path), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        settings.source.connection,
        Connection::GoSquared(_)
    ));
    let lms = settings
        .targets
        .iter()
        .find(|t| t.endpoint.name == "lms")
        .expect("target lms");
    match &lms.endpoint.connection {
        Connection::Ispring(c) => assert!(c.rest_url.is_some()),
        other => panic!("lms is {other:?}"),
    }
    assert!(
        settings
            .targets
            .iter()
            .any(|t| matches!(t.endpoint.connection, Connection::Emfluence(_)))
    );
}
