//! The `sgsync` command line. Only the edge of the program: parse arguments, call the
//! library, print, and turn outcomes into exit codes.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use sgsync::mapping::{MappingConfig, Maps};
use sgsync::model::ProviderKind;
use sgsync::providers::sandbox::Seed;
use sgsync::providers::{emfluence, gosquared, ispring};
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
    /// Serve the three sandbox providers (GoSquared, iSpring Learn, emfluence) on
    /// 127.0.0.1 until Ctrl-C or SIGTERM: stateful imitations of the documented APIs, for
    /// trying sgsync without touching a real account.
    Sandbox {
        /// What the sandboxes start with.
        #[arg(long, value_enum, default_value_t = SeedArg::Demo)]
        seed: SeedArg,
        /// GoSquared listens here, iSpring on the next port, emfluence on the one after;
        /// 0 picks free ports.
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum SeedArg {
    /// The nine real GoSquared groups, an iSpring department tree, emfluence contacts.
    Demo,
    /// No groups (reference data only).
    Empty,
}

fn parse_provider(s: &str) -> Result<ProviderKind, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let outcome = match cli.command {
        Command::Translate {
            from,
            to,
            config,
            file,
        } => run_translate(from, to, config.as_deref(), &file),
        Command::Sandbox { seed, port } => run_async(run_sandbox(seed, port)),
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

/// Logs to stderr, filtered by `RUST_LOG` (default: warnings and errors).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn run_async(job: impl std::future::Future<Output = Result<ExitCode>>) -> Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(job)
}

async fn run_sandbox(seed: SeedArg, port: u16) -> Result<ExitCode> {
    let seed = match seed {
        SeedArg::Demo => Seed::Demo,
        SeedArg::Empty => Seed::Empty,
    };
    let port_of = |offset: u16| -> Result<u16> {
        if port == 0 {
            return Ok(0);
        }
        port.checked_add(offset)
            .context("--port leaves no room for three ports")
    };
    let gs = gosquared::sandbox::Sandbox::start_on(seed, port_of(0)?)
        .await
        .context("starting the GoSquared sandbox")?;
    let is = ispring::sandbox::Sandbox::start_on(seed, port_of(1)?)
        .await
        .context("starting the iSpring Learn sandbox")?;
    let em = emfluence::sandbox::Sandbox::start_on(seed, port_of(2)?)
        .await
        .context("starting the emfluence sandbox")?;
    // These are the sandboxes' own made-up credentials, printed so a config can point
    // at them; real credentials are never printed.
    println!("Sandbox providers on loopback (Ctrl-C to stop):");
    println!(
        "  GoSquared      {}  api_key={} site_token={}",
        gs.url(),
        gosquared::sandbox::API_KEY,
        gosquared::sandbox::SITE_TOKEN
    );
    println!(
        "  iSpring Learn  {}/soap  token endpoint {}/api/v3/token  client_id={} client_secret={}",
        is.url(),
        is.url(),
        ispring::sandbox::CLIENT_ID,
        ispring::sandbox::CLIENT_SECRET
    );
    println!(
        "  emfluence      {}  token={}",
        em.url(),
        emfluence::sandbox::SANDBOX_TOKEN
    );
    wait_for_shutdown().await?;
    println!("Sandboxes stopped.");
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C (SIGINT) or SIGTERM, whichever comes first.
async fn wait_for_shutdown() -> Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("listening for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("listening for Ctrl-C")?;
    Ok(())
}
