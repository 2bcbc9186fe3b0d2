//! What `sgsync --version` says: the version, and the git commit and build date the
//! build script (`build.rs`) found (`unknown` for a commit built from a tarball that
//! did not say).

/// `sgsync --version`: version, commit, build date.
pub const SHORT: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SGSYNC_GIT_COMMIT"),
    ", built ",
    env!("SGSYNC_BUILD_DATE"),
    ")"
);

/// `sgsync -V --help`-style long form: the short one and the platform.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit: ",
    env!("SGSYNC_GIT_COMMIT"),
    "\nbuilt: ",
    env!("SGSYNC_BUILD_DATE"),
    "\nlicense: ",
    env!("CARGO_PKG_LICENSE"),
);

/// The version alone.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit the binary was built from, or `unknown`.
pub const COMMIT: &str = env!("SGSYNC_GIT_COMMIT");
/// The build date, `YYYY-MM-DD` (UTC).
pub const BUILD_DATE: &str = env!("SGSYNC_BUILD_DATE");
