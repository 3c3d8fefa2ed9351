//! `kiln env current [--set NAME]`.

use std::process::ExitCode;

use crate::cli::Printer;

// Print the default environment, or make another one the default.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Make this environment the default.
    #[arg(long, value_name = "NAME")]
    set: Option<String>,
}

/// Run `kiln env current`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let mut app = crate::cli::open_app()?;
    if let Some(name) = args.set {
        app.set_default_environment(&name)?;
    }
    match app.default_environment() {
        Some(env) => printer.text(&format!("{env}\n"))?,
        None => printer.note("no default environment; set one with `kiln env current --set NAME`"),
    }
    Ok(ExitCode::SUCCESS)
}
