//! `kiln param diff ENV1 ENV2`.

use std::process::ExitCode;

use crate::cli::{Printer, RunArgs, table};

// Show every component param whose value differs between two environments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The first environment.
    env1: String,
    /// The second environment.
    env2: String,
    #[command(flatten)]
    run: RunArgs,
}

/// Run `kiln param diff`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let differences = args.run.open(printer)?.compare_params(&args.env1, &args.env2)?;
    let unset = || "-".to_string();
    let rows: Vec<Vec<String>> = differences
        .into_iter()
        .map(|d| vec![d.component, d.param, d.a.unwrap_or_else(unset), d.b.unwrap_or_else(unset)])
        .collect();
    if rows.is_empty() {
        printer.note(&format!("`{}` and `{}` resolve every param the same", args.env1, args.env2));
    } else {
        printer.text(&table::render(&["COMPONENT", "PARAM", &args.env1, &args.env2], &rows))?;
    }
    Ok(ExitCode::SUCCESS)
}
