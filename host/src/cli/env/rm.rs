//! `kiln env rm NAME`.

use std::process::ExitCode;

use crate::cli::Printer;

// Remove an environment (its file; nothing in any cluster).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment.
    name: String,
}

/// Run `kiln env rm`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let mut app = crate::cli::open_app()?;
    app.remove_environment(&args.name)?;
    printer.note(&format!("removed environment `{}`", args.name));
    Ok(ExitCode::SUCCESS)
}
