//! `kiln diff ENV`: what `apply` would change, from a server-side dry-run.

use std::process::ExitCode;

use crate::cli::{Printer, TargetArgs};
use crate::session::Gate;

/// The long help of `diff` (`--help`), set on its subcommand: deferred arguments cannot carry
/// it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "\
Show what applying the environment would change in its cluster, as a unified diff of each \
object (live vs. a server-side dry-run apply), with managed fields, status and server-set \
metadata hidden.

Exit status: 0 when nothing would change, 1 when something would, 2 on error.";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Show the result of taking over fields another manager owns.
    #[arg(long)]
    force_conflicts: bool,
}

/// Run `kiln diff`; errors exit 2, since 1 means "different".
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    match diff(args, printer) {
        Ok(code) => Ok(code),
        Err(err) => {
            printer.report(&err);
            Ok(ExitCode::from(2))
        }
    }
}

fn diff(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let diffs = args.target.connect(Gate::PlaceOnly, true, printer)?.diff(args.force_conflicts)?;
    let color = printer.color_stdout();
    for d in &diffs {
        printer.data(&colorize(&d.text, color))?;
    }
    Ok(if diffs.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn colorize(text: &str, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    text.lines()
        .map(|line| {
            let code = match line.as_bytes().first() {
                Some(b'+') => "32",
                Some(b'-') => "31",
                Some(b'@') => "36",
                _ => return format!("{line}\n"),
            };
            format!("\x1b[{code}m{line}\x1b[0m\n")
        })
        .collect()
}
