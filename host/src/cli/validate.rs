//! `kiln validate ENV`: render an environment and check it offline, listing every finding.
//! Exit 0 valid, 1 errors found, 2 could not run.

use std::process::ExitCode;

use crate::cli::{Output, Printer, RunArgs, SelectionArgs};
use crate::validate::Report;

/// The long help of `validate` (`--help`), set on its subcommand: deferred arguments cannot
/// carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "\
Check an environment's objects without a cluster: names, labels and namespaces, the schema of \
built-in kinds for the environment's Kubernetes version, custom resources against their \
CustomResourceDefinition (rendered, or in the app's `crds/`), and params against their \
prototype. Lists every finding.

Exit status: 0 when valid (warnings allowed), 1 on errors, 2 when it cannot run.";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    selection: SelectionArgs,
    /// Output format: one line per finding with hints under it, or (`json`) one object with
    /// `valid`, `summary`, `findings`.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(flatten)]
    run: RunArgs,
}

/// Run `kiln validate`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let report = match check(&args, printer) {
        Ok(report) => report,
        Err(err) => {
            printer.report(&err);
            return Ok(ExitCode::from(2));
        }
    };
    match args.output {
        Output::Json => {
            // Findings name what guests wrote: JSON that reads back the same, with what a
            // terminal must not see escaped (`untrusted::json_pretty`).
            let text = crate::untrusted::json_pretty(&report.to_json())?;
            printer.data(&format!("{text}\n"))?;
        }
        Output::Text => {
            printer.text(&report.to_text())?;
            printer.note(&format!(
                "`{}`: {} (schemas of {})",
                args.selection.env,
                report.summary(),
                report.schemas
            ));
        }
    }
    Ok(if report.is_valid() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn check(args: &Args, printer: &Printer) -> anyhow::Result<Report> {
    args.run.open(printer)?.validate(&args.selection.selection())
}
