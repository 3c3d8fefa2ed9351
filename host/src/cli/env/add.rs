//! `kiln env add NAME`.

use std::process::ExitCode;

use crate::cli::Printer;

/// The long help of this verb (`--help`), set on its subcommand: deferred arguments
/// cannot carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "Add an environment. Without `--context` or `--server` it takes the \
    current kubeconfig context, as `kiln init` does; with no kubeconfig it has no cluster yet \
    (rendering works).";

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
    let mut spec = args.spec.into_spec();
    if spec.context.is_none()
        && spec.server.is_none()
        && let Some(current) = crate::app::kubeconfig::current_context()
    {
        printer.note(&format!(
            "environment `{}` uses kubeconfig context `{}`",
            args.name, current.context
        ));
        spec.context = Some(current.context);
    }
    app.add_environment(&args.name, &spec)?;
    printer.note(&format!("added environment `{}`", args.name));
    Ok(ExitCode::SUCCESS)
}
