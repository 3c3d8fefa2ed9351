//! `kiln delete ENV`: delete the environment's objects, only Kiln's.

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::Printer;
use crate::cli::apply::TargetArgs;
use crate::cluster;

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
    /// Print each object's outcome, not only the summary.
    #[arg(long)]
    show_objects: bool,
}

/// Run `kiln delete`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let app = super::open_app()?;
    let prepared = args.target.prepare(&app, printer, false, true)?;
    let session = prepared.session.as_ref().expect("prepared connected");
    let wait = args.wait.then(|| Duration::from_secs(args.timeout));
    let on_event = super::apply::progress(printer, args.show_objects);
    let report = session.block_on(cluster::delete(
        &session.cluster,
        &prepared.objects,
        &prepared.inventory,
        &args.target.components,
        wait,
        &on_event,
    ))?;
    printer.note(&format!("deleted from `{}`: {}", args.target.env, report.summary()));
    Ok(ExitCode::SUCCESS)
}
