//! `sgsync translate`: smart groups from one provider's format into another's, the
//! payload on stdout and each group's fidelity on stderr.

use crate::model::ProviderKind;
use crate::model::mapping::{MappingConfig, Maps};
use anyhow::{Context, Result, bail};
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use super::EXIT_IMPOSSIBLE;

/// A provider id as given to `--from` and `--to`.
pub fn parse_provider(s: &str) -> Result<ProviderKind, String> {
    crate::registry::find(s).map(|p| p.kind()).ok_or_else(|| {
        format!(
            "unknown provider {s:?}; expected {}",
            crate::registry::ids()
        )
    })
}

pub fn translate(
    from: ProviderKind,
    to: ProviderKind,
    config: crate::config::Choice<'_>,
    file: &Path,
) -> Result<ExitCode> {
    let maps = load_maps(config)?;
    let dialect_of = |kind: ProviderKind| {
        crate::translate::dialect(kind, &maps)
            .with_context(|| format!("{kind} is not a registered provider"))
    };
    let (reader, writer) = (dialect_of(from)?, dialect_of(to)?);
    let text = read_input(file)?;
    let groups = reader
        .decode(&text, &crate::model::Directory::none())
        .with_context(|| format!("reading {}", file.display()))?;
    if groups.is_empty() {
        bail!("{} holds no {} group", file.display(), from.display_name());
    }
    let mut impossible = false;
    for source in &groups {
        let translation =
            crate::provider::translate(source, writer.as_ref(), &crate::model::Directory::none());
        let label = match &source.group.id {
            Some(id) => format!("{:?} [{id}]", source.group.name),
            None => format!("{:?}", source.group.name),
        };
        eprintln!(
            "# {label} → {}: {}",
            to.display_name(),
            translation.fidelity
        );
        match &translation.payload {
            Some(payload) => println!("{}", payload.render()),
            None => impossible = true,
        }
    }
    Ok(if impossible {
        ExitCode::from(EXIT_IMPOSSIBLE)
    } else {
        ExitCode::SUCCESS
    })
}

fn read_input(file: &Path) -> Result<String> {
    if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading stdin")?;
        Ok(text)
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
    }
}

/// The `[mapping]` section of the config file; other sections are not read yet. (Read
/// with the `config` crate, `::config`, not with [`crate::config`], which would require
/// and validate the whole file.)
fn load_maps(config: crate::config::Choice<'_>) -> Result<Maps> {
    let Some(path) = config.path else {
        return Ok(Maps::default());
    };
    let settings = ::config::Config::builder()
        .add_source(::config::File::from(path).format(::config::FileFormat::Toml))
        .build()
        .with_context(|| format!("reading config {}", path.display()))?;
    let mapping: MappingConfig = match settings.get("mapping") {
        Ok(m) => m,
        Err(::config::ConfigError::NotFound(_)) => MappingConfig::default(),
        Err(e) => return Err(e).with_context(|| format!("{}: [mapping]", path.display())),
    };
    Maps::from_config(&mapping).with_context(|| format!("{}: invalid mapping", path.display()))
}
