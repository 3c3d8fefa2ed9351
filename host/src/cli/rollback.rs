//! `kiln rollback ENV [REVISION]`: go back to a revision the cluster keeps.

use std::process::ExitCode;

use crate::cli::{ChangeArgs, Printer, Progress};
use crate::cluster::{DryRun, revision};
use crate::session::{Session, Settings};

/// The long help of this verb (`--help`), set on its subcommand: deferred arguments
/// cannot carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "Apply a revision of the environment as it was applied (by default \
    the one before the newest; `kiln history` lists them), prune what it did not have, and \
    record a new revision that says it rolled back. Needs only the cluster: neither the checkout \
    nor the registry that made the revision.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment.
    env: String,
    /// The revision to go back to (default: the one before the newest).
    revision: Option<u64>,
    /// The kubeconfig context to use instead of the environment's.
    #[arg(long)]
    context: Option<String>,
    /// Let the server say what would change (server-side dry run), and record nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    change: ChangeArgs,
    /// Revisions of the environment kept in the cluster.
    #[arg(long, value_name = "N", default_value_t = revision::HISTORY_MAX)]
    history_max: usize,
    /// Print each object's outcome, not only the summary.
    #[arg(long)]
    show_objects: bool,
}

/// Run `kiln rollback`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let session = Session::new(Some(super::open_app()?), Settings::default(), printer);
    let attached = session.attach(&args.env, args.context)?;
    let options = args.change.options(args.dry_run.then_some(DryRun::Server), true, true);
    let each = args.show_objects || args.dry_run;
    let action = match args.dry_run {
        true => format!("checking a rollback of `{}` (server dry run)", args.env),
        false => format!("rolling back `{}`", args.env),
    };
    // How many objects the revision holds is not known yet: the line counts as it goes.
    let progress = Progress::new(printer, action, 0, each);
    let done = attached
        .rollback(args.revision, &options, args.history_max, &|event| progress.event(event));
    progress.finish();
    let done = done?;
    let suffix = match done.recorded {
        Some(number) => format!(" (revision {number})"),
        None => " (server dry run)".into(),
    };
    printer.note(&format!(
        "rolled back `{}` to revision {}: {}{suffix}",
        args.env,
        done.to,
        done.report.summary()
    ));
    Ok(ExitCode::SUCCESS)
}
