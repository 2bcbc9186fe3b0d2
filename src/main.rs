//! The `sgsync` command line. Only the edge of the program: parse arguments, call the
//! library, print, and turn outcomes into exit codes.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use sgsync::mapping::{MappingConfig, Maps};
use sgsync::model::ProviderKind;
use sgsync::translate::{decode, translate};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code when at least one group cannot be written in the target dialect.
const EXIT_IMPOSSIBLE: u8 = 3;

#[derive(Parser)]
#[command(
    name = "sgsync",
    version,
    about = "Keeps smart groups in step across GoSquared, iSpring Learn and emfluence"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Translate smart groups from one provider's format into another's and say how
    /// faithful the result is. The payload goes to stdout, the fidelity to stderr.
    /// Exits 0 when every group translated (exactly or lossily), 3 when some group is
    /// impossible in the target dialect, 1 on unreadable input or config.
    Translate {
        /// Provider whose format FILE is in: gosquared, ispring or emfluence.
        #[arg(long, value_parser = parse_provider)]
        from: ProviderKind,
        /// Provider to translate into.
        #[arg(long, value_parser = parse_provider)]
        to: ProviderKind,
        /// sgsync config file; its [mapping] section supplies attribute and value maps.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Input file, or `-` for stdin.
        file: PathBuf,
    },
}

fn parse_provider(s: &str) -> Result<ProviderKind, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Translate {
            from,
            to,
            config,
            file,
        } => run_translate(from, to, config.as_deref(), &file),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sgsync: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_translate(
    from: ProviderKind,
    to: ProviderKind,
    config: Option<&Path>,
    file: &Path,
) -> Result<ExitCode> {
    let maps = load_maps(config)?;
    let text = read_input(file)?;
    let groups =
        decode(from, &text, &maps).with_context(|| format!("reading {}", file.display()))?;
    if groups.is_empty() {
        bail!("{} holds no {} group", file.display(), from.display_name());
    }
    let mut impossible = false;
    for source in &groups {
        let translation = translate(source, to, &maps);
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

/// The `[mapping]` section of the config file; other sections are not read yet.
fn load_maps(config: Option<&Path>) -> Result<Maps> {
    let Some(path) = config else {
        return Ok(Maps::default());
    };
    let settings = config::Config::builder()
        .add_source(config::File::from(path).format(config::FileFormat::Toml))
        .build()
        .with_context(|| format!("reading config {}", path.display()))?;
    let mapping: MappingConfig = match settings.get("mapping") {
        Ok(m) => m,
        Err(config::ConfigError::NotFound(_)) => MappingConfig::default(),
        Err(e) => return Err(e).with_context(|| format!("{}: [mapping]", path.display())),
    };
    Maps::from_config(&mapping).with_context(|| format!("{}: invalid mapping", path.display()))
}
