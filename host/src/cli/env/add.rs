//! `kiln env add NAME`.

use std::process::ExitCode;

use crate::cli::Printer;

/// Add an environment. Without `--context` or `--server` it has no cluster yet (rendering
/// works; applying needs one).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment's name (a DNS-1123 label).
    name: String,
    #[command(flatten)]
    spec: super::SpecArgs,
}

/// Run `kiln env add`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let app = crate::cli::open_app()?;
    app.add_environment(&args.name, &args.spec.into_spec())?;
    printer.note(&format!("added environment `{}`", args.name));
    Ok(ExitCode::SUCCESS)
}
