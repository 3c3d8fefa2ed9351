//! `kiln completions SHELL`: shell completion scripts.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, Printer};

/// The long help of this verb (`--help`), set on its subcommand: deferred arguments
/// cannot carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "Print a completion script for SHELL (e.g. `kiln completions bash > \
    /etc/bash_completion.d/kiln`).";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell.
    shell: clap_complete::Shell,
}

/// Run `kiln completions`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "kiln", &mut out);
    printer.data(&String::from_utf8(out)?)?;
    Ok(ExitCode::SUCCESS)
}
