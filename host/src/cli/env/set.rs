//! `kiln env set NAME`.

use std::process::ExitCode;

use crate::cli::Printer;

// Change an environment: cluster, namespace, Kubernetes version, labels.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment.
    name: String,
    #[command(flatten)]
    spec: super::SpecArgs,
    /// Remove a label (repeatable).
    #[arg(long = "unlabel", value_name = "KEY")]
    unlabel: Vec<String>,
}

/// Run `kiln env set`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let app = crate::cli::open_app()?;
    let mut spec = args.spec.into_spec();
    spec.labels.extend(args.unlabel.into_iter().map(|k| (k, None)));
    app.set_environment(&args.name, &spec)?;
    printer.note(&format!("updated environment `{}`", args.name));
    Ok(ExitCode::SUCCESS)
}
