//! The shipped example config says what the program reads: it loads, through the same
//! path as production, into settings.

use sgsync::config::load_with_env;
use std::path::Path;

#[test]
fn the_example_loads_into_settings() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/sgsync.example.toml");
    let settings = load_with_env(Some(&path), &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings.source.provider, sgsync_gosquared::KIND);
    let lms = settings
        .targets
        .iter()
        .find(|t| t.endpoint.name == "lms")
        .expect("target lms");
    let lms = lms
        .endpoint
        .connection
        .as_any()
        .downcast_ref::<sgsync_ispring::client::IspringConfig>()
        .expect("lms is an iSpring Learn connection");
    assert!(lms.rest_url.is_some());
    assert!(
        settings
            .targets
            .iter()
            .any(|t| t.endpoint.provider == sgsync_emfluence::KIND)
    );
}
