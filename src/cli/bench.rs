//! `sgsync bench`: a sync measured end to end against sandboxes on loopback (the work
//! itself is in `crate::bench`; this is its flags and report).

use anyhow::{Context, Result};
use std::process::ExitCode;

/// The flags of `sgsync bench`. (What the command does, in `--help`, is the `Bench`
/// variant's doc comment in `src/main.rs`; clap shows that one, not this.)
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Source groups (GoSquared), a mix of exact, lossy and impossible translations.
    #[arg(long, default_value_t = 1000)]
    groups: usize,
    /// Latency every sandbox adds to each answer, in milliseconds.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// GoSquared requests per minute, for the client and its sandbox (documented: 750).
    #[arg(long, default_value_t = 750)]
    rpm_gosquared: u32,
    /// iSpring Learn requests per minute (none published; sgsync's default is 100).
    #[arg(long, default_value_t = 100)]
    rpm_ispring: u32,
    /// emfluence requests per minute (about 100, inferred from emfluence's Microsoft connector documentation).
    #[arg(long, default_value_t = 100)]
    rpm_emfluence: u32,
    /// Calls in flight at once per target (the sync's `concurrency`, 1..=64).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// The report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Run each sync under this command, e.g. "heaptrack -o /tmp/sync" (split on
    /// spaces); peak RSS is then the wrapper's.
    #[arg(long, value_name = "COMMAND")]
    wrap: Option<String>,
    /// Measure P pipelines (each `--groups` groups on sandboxes of its own) synced by
    /// `--workers` `sgsync run` processes on the PostgreSQL of `--store-url`.
    #[arg(long, value_name = "P", requires = "store_url")]
    pipelines: Option<usize>,
    /// Worker processes for `--pipelines`.
    #[arg(long, value_name = "W", default_value_t = 1, requires = "pipelines")]
    workers: usize,
    /// An empty PostgreSQL database for `--pipelines` (postgres://user:password@host/db).
    #[arg(long, value_name = "URL")]
    store_url: Option<String>,
}

pub async fn bench(args: BenchArgs) -> Result<ExitCode> {
    let opts = crate::bench::Options {
        groups: args.groups,
        latency: std::time::Duration::from_millis(args.latency_ms),
        rpm_gosquared: args.rpm_gosquared,
        rpm_ispring: args.rpm_ispring,
        rpm_emfluence: args.rpm_emfluence,
        concurrency: args.concurrency,
        exe: std::env::current_exe().context("finding the sgsync binary")?,
        wrap: args
            .wrap
            .map(|w| w.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
    };
    if let (Some(pipelines), Some(store_url)) = (args.pipelines, args.store_url) {
        let report = crate::bench::workers::run(&crate::bench::workers::WorkerOptions {
            sync: opts,
            pipelines,
            workers: args.workers.max(1),
            store_url,
        })
        .await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{report}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = crate::bench::run(&opts).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}
