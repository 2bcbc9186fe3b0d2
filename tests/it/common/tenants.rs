//! Configs of several pipelines: a main config with `[store]` and `[pipelines] dir`, and
//! one file per tenant made from a [`World`]'s config.

use super::world::{Parts, World};
use std::path::{Path, PathBuf};

/// `w`'s whole config without the tables a pipeline file may not hold.
pub fn pipeline_file(w: &World) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in w.config(&Parts::default()).lines() {
        if line.starts_with('[') {
            skipping = line == "[store]" || line == "[metrics]";
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A main config in `dir` holding `[store]` and `[pipelines] dir`, with one file per
/// (name, world).
pub fn layout(dir: &Path, store_lines: &str, tenants: &[(&str, &World)]) -> PathBuf {
    layout_with(dir, store_lines, "", tenants)
}

/// [`layout`] with `extra` lines at the end of the main config (a `[schedule]`, …).
pub fn layout_with(
    dir: &Path,
    store_lines: &str,
    extra: &str,
    tenants: &[(&str, &World)],
) -> PathBuf {
    let pipelines = dir.join("pipelines");
    std::fs::create_dir_all(&pipelines).expect("pipelines dir");
    for (name, w) in tenants {
        std::fs::write(pipelines.join(format!("{name}.toml")), pipeline_file(w))
            .expect("pipeline file");
    }
    let main = dir.join("sgsync.toml");
    std::fs::write(
        &main,
        format!("[store]\n{store_lines}\n\n[pipelines]\ndir = \"pipelines\"\n\n{extra}\n"),
    )
    .expect("main config");
    main
}
