//! `kiln init NAME`: create an app with a `default` environment.

use std::process::ExitCode;

use crate::app::{App, EnvironmentSpec, kubeconfig};
use crate::cli::Printer;

/// The long help of this verb (`--help`), set on its subcommand: deferred arguments
/// cannot carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "Create an app in a new directory NAME, with a `default` environment \
    taken from the current kubeconfig context when there is one. Works offline.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The app's name and directory.
    name: String,
    /// The kubeconfig context of the `default` environment (default: the current context).
    #[arg(long, conflicts_with = "server")]
    context: Option<String>,
    /// The API server URL of the `default` environment, instead of a context.
    #[arg(long)]
    server: Option<String>,
    /// The `default` environment's namespace.
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
}

/// Run `kiln init`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let mut spec = EnvironmentSpec {
        namespace: args.namespace,
        context: args.context,
        server: args.server,
        ..Default::default()
    };
    if spec.context.is_none() && spec.server.is_none() {
        if let Some(current) = kubeconfig::current_context() {
            printer.note(&format!(
                "environment `default` uses kubeconfig context `{}`",
                current.context
            ));
            // The context only: its server and credentials stay in the kubeconfig, where the
            // user manages them.
            spec.namespace = spec.namespace.or(current.namespace);
            spec.context = Some(current.context);
        } else {
            printer.note("no current kubeconfig context; set one later with `kiln env set default --context C`");
        }
    }
    let cwd = std::env::current_dir()?;
    let app = App::init(&cwd, &args.name, "default", &spec)?;
    printer.note(&format!("created app `{}` in {}", app.name(), app.dir().root().display()));
    Ok(ExitCode::SUCCESS)
}
