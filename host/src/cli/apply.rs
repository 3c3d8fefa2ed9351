//! `kiln apply ENV`: render and server-side apply an environment to its cluster.

use std::process::ExitCode;

use crate::cli::{ChangeArgs, Printer, Progress, TargetArgs};
use crate::cluster::{DryRun, revision};
use crate::session::Gate;

/// The long help of this verb (`--help`), set on its subcommand: deferred arguments
/// cannot carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "\
Apply an environment (or some components) with server-side apply, field manager `kiln`: \
Namespaces and CRDs first, CRDs waited on until Established, then the rest in parallel.

Objects annotated `kiln.dev/phase: \"N\"` (an integer) apply in phases, lowest first; objects \
without it are in phase 0. Each phase waits until its objects are ready (the rules of `--wait`) \
before the next starts, up to `--timeout`, with or without `--wait`; a dry run does not wait.";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// `client`: print what would be applied; `server`: let the server check without persisting.
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, default_missing_value = "client")]
    dry_run: Option<DryRun>,
    /// Delete objects of this app and environment that are no longer rendered (only Kiln's).
    #[arg(long)]
    prune: bool,
    #[command(flatten)]
    change: ChangeArgs,
    /// Send every object, even those unchanged since the last apply. By default Kiln skips an
    /// object when it would apply the same as last time and nobody has written the object since
    /// (its resource version is the one Kiln's last apply left).
    #[arg(long)]
    reapply_unchanged: bool,
    /// Print each object's outcome, not only the summary.
    #[arg(long)]
    show_objects: bool,
    /// Apply even if offline validation finds errors (like `kubectl --validate=false`).
    #[arg(long)]
    no_validate: bool,
    /// Revisions of the environment kept in the cluster (see `kiln history`).
    #[arg(long, value_name = "N", default_value_t = revision::HISTORY_MAX)]
    history_max: usize,
}

/// Run `kiln apply`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let gate = if args.no_validate { Gate::PlaceOnly } else { Gate::Validate };
    if args.dry_run == Some(DryRun::Client) {
        let session = args.target.run.open(printer)?;
        let rendering = session.show(&args.target.selection.selection(), gate, false)?;
        for object in &rendering.objects {
            printer.text(&format!(
                "{} (dry run, component {})\n",
                crate::manifest::object_ref(&object.value),
                object.component
            ))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let connected = args.target.connect(gate, true, printer)?;
    let options = args.change.options(args.dry_run, args.prune, !args.reapply_unchanged);
    let env = &args.target.selection.env;
    let action = match args.dry_run {
        Some(_) => format!("checking `{env}` (server dry run)"),
        None => format!("applying `{env}`"),
    };
    let progress = Progress::new(printer, action, connected.objects.len(), args.show_objects);
    let applied = connected.apply(&options, args.history_max, &|event| progress.event(event));
    progress.finish();
    let applied = applied?;
    let suffix = match (args.dry_run, applied.revision) {
        (Some(_), _) => " (server dry run)".to_string(),
        (None, Some(number)) => format!(" (revision {number})"),
        (None, None) => String::new(),
    };
    let summary = applied.report.summary();
    printer.note(&format!("applied `{env}`: {summary}{suffix}"));
    Ok(ExitCode::SUCCESS)
}
