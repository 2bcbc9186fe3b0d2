//! The `sgsync` command line: parses the flags and commands (`sgsync::cli::args`),
//! dispatches to the command's function in `sgsync::cli` and turns its outcome into an
//! exit code.

use clap::{CommandFactory, Parser};
use sgsync::cli::args::{Cli, Command};
use sgsync::cli::{self, Allow, run_async};
use std::process::ExitCode;

fn main() -> ExitCode {
    cli::bound_malloc_arenas();
    cli::disable_core_dumps();
    let args = match Cli::try_parse() {
        Ok(args) => args,
        Err(e) => return cli::clap_error(e),
    };
    let progress = cli::logging::init(
        args.log_format,
        cli::logging::Verbosity::of(args.verbose, args.quiet),
    );
    let config = sgsync::config::Choice {
        path: args.config.as_deref(),
        pipeline: args.pipeline.as_deref(),
    };
    let command = match (args.command, args.sync_now) {
        (Some(_), true) => {
            return cli::usage(
                "--sync-now is a command of its own; drop the subcommand or use `sgsync sync`",
            );
        }
        (None, true) => Command::Sync(cli::sync::SyncArgs {
            dry_run: args.dry_run,
            textfile_dir: args.textfile_dir,
            allow_mass_removal: args.allow_mass_removal,
            allow_mass_delete: args.allow_mass_delete,
            json: false,
        }),
        (Some(command), false) => command,
        (None, false) => return cli::usage("no command given; see `sgsync --help`"),
    };
    let outcome = match command {
        Command::Translate { from, to, file } => cli::translate::translate(from, to, config, &file),
        Command::Sync(sync) if sync.dry_run => run_async(cli::plan::plan(config, sync.json, false)),
        Command::Sync(sync) => {
            let allow = Allow {
                mass_removal: sync.allow_mass_removal,
                mass_delete: sync.allow_mass_delete,
            };
            run_async(cli::sync::sync(
                config,
                sync.textfile_dir.as_deref(),
                progress,
                allow,
                sync.json,
            ))
        }
        Command::Run { once_at_start } => run_async(cli::run::run(config, once_at_start)),
        Command::Plan { json, members } => run_async(cli::plan::plan(config, json, members)),
        Command::Verify { json } => run_async(cli::sync::verify(config, progress, json)),
        Command::Status { json } => run_async(cli::status::status(config, json)),
        Command::Demo => run_async(cli::demo::demo(progress)),
        Command::Check { json } => run_async(cli::check::check(config, json)),
        Command::Resync { target, group } => {
            cli::usage_or(run_async(cli::resync::resync(config, target, group)))
        }
        Command::Forget { target, yes } => {
            cli::usage_or(run_async(cli::forget::forget(config, target, yes)))
        }
        Command::Backup { file } => run_async(cli::backup::backup(config, &file)),
        Command::Sandbox { seed, port } => run_async(cli::sandbox::sandbox(seed, port)),
        Command::Bench(bench_args) => run_async(cli::bench::bench(bench_args)),
        Command::Completions { shell } => cli::docs::completions(Cli::command(), shell),
        Command::Man => cli::docs::man(Cli::command()),
    };
    cli::exit_code(outcome)
}
