//! `kiln delete ENV`: delete the environment's objects, only Kiln's.

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{Printer, Progress, TargetArgs};
use crate::session::Gate;

/// The long help of this verb (`--help`), set on its subcommand: deferred arguments
/// cannot carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "Delete the objects of an environment (or some components) from its \
    cluster, in reverse apply order. Only objects carrying this app's and environment's labels are \
    deleted.";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Wait until the objects are gone.
    #[arg(long)]
    wait: bool,
    /// How long `--wait` waits, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    timeout: u64,
    /// Also delete the environment's namespace, if Kiln created it for this app and
    /// environment (it carries their labels); any other namespace is kept.
    #[arg(long)]
    delete_namespace: bool,
    /// Print each object's outcome, not only the summary.
    #[arg(long)]
    show_objects: bool,
}

/// Run `kiln delete`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let connected = args.target.connect(Gate::PlaceOnly, false, printer)?;
    let wait = args.wait.then(|| Duration::from_secs(args.timeout));
    let action = format!("deleting `{}`", args.target.selection.env);
    let progress = Progress::new(printer, action, connected.objects.len(), args.show_objects);
    let report = connected.delete(wait, args.delete_namespace, &|event| progress.event(event));
    progress.finish();
    let report = report?;
    printer.note(&format!("deleted from `{}`: {}", args.target.selection.env, report.summary()));
    Ok(ExitCode::SUCCESS)
}
