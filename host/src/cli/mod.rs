//! The command line: one module per noun, one file per verb. Each verb resolves its arguments
//! and calls the library; nothing here renders, validates or talks to a cluster itself.

mod params;
mod printer;
mod prototype;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use printer::{Printer, Verbosity};

use crate::prototype::ParamError;
use crate::render::{self, Engine, EngineOptions, Limit, Limits};

/// Kiln: Kubernetes configuration from sandboxed WebAssembly prototypes.
#[derive(Debug, Parser)]
#[command(
    name = "kiln",
    bin_name = "kiln",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Say more (prototypes' debug logs, cache activity).
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    verbose: bool,
    /// Say only errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect and try prototypes.
    #[command(subcommand)]
    Prototype(prototype::Command),
}

impl Cli {
    /// The printer for this invocation's verbosity.
    pub fn printer(&self) -> Printer {
        Printer::new(match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (_, true) => Verbosity::Verbose,
            _ => Verbosity::Normal,
        })
    }
}

/// The whole `kiln` program: parse the command line, run it, report errors, exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let printer = cli.printer();
    match run(cli, &printer) {
        Ok(code) => code,
        Err(err) => {
            printer.report(&err);
            ExitCode::from(1)
        }
    }
}

/// Run a parsed command line.
pub fn run(cli: Cli, printer: &Printer) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Prototype(command) => command.run(printer),
    }
}

/// Hints for an error: what the user can do about it.
pub fn hints(err: &anyhow::Error) -> Vec<String> {
    err.chain()
        .filter_map(|cause| {
            if let Some(err) = cause.downcast_ref::<render::Error>() {
                err.hint()
            } else {
                cause.downcast_ref::<ParamError>().and_then(ParamError::hint)
            }
        })
        .collect()
}

/// How a prototype runs: limits and the compiled-code cache. Shared by every verb that runs one.
#[derive(Debug, Clone, clap::Args)]
struct RunArgs {
    /// Raise or lower a sandbox limit, e.g. `--limit memory=512MiB`, `--limit fuel=5e9`
    /// (limits: fuel, memory, table-elements, instances, tables, memories, output-bytes,
    /// objects, log-bytes, stdio-bytes, stack).
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    limits: Vec<String>,
    /// Compile prototypes without reading or writing the compiled-code cache.
    #[arg(long)]
    no_cache: bool,
}

impl RunArgs {
    fn limits(&self) -> anyhow::Result<Limits> {
        let mut limits = Limits::default();
        for setting in &self.limits {
            limits.apply(setting).map_err(|e| anyhow::anyhow!("invalid `--limit`: {e}"))?;
        }
        Ok(limits)
    }

    fn engine(&self, limits: &Limits) -> anyhow::Result<Engine> {
        let mut options =
            EngineOptions { max_stack: limits.get_usize(Limit::Stack), ..Default::default() };
        if self.no_cache {
            options.cache_dir = None;
        }
        Ok(Engine::new(options)?)
    }
}

/// Print the engine's notes about its cache, then drop them.
fn flush_notes(engine: &Engine, printer: &Printer) {
    for note in engine.take_notes() {
        printer.note(&note);
    }
}
