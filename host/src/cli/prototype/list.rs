//! `kiln prototype list` and `kiln prototype search TEXT`: the app's installed prototypes.

use std::process::ExitCode;

use crate::cli::{Printer, RunArgs, table};
use crate::pipeline::Prototypes;

// List the app's installed prototypes with their descriptions.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArgs,
}

// Find installed prototypes by name or description.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Text to look for (case-insensitive).
    text: String,
    #[command(flatten)]
    run: RunArgs,
}

fn rows(run: &RunArgs, filter: Option<&str>) -> anyhow::Result<Vec<Vec<String>>> {
    let app = crate::cli::open_app()?;
    let limits = run.limits(Some(&app), None)?;
    let engine = run.engine(&limits)?;
    let mut prototypes = Prototypes::new(&app, &engine, limits);
    let mut rows = Vec::new();
    for installed in app.installed_prototypes()? {
        let reference = installed.reference();
        let summary = prototypes.load(None, &reference)?.info.summary().to_string();
        let text = format!("{reference} {summary}").to_lowercase();
        if filter.is_none_or(|f| text.contains(&f.to_lowercase())) {
            rows.push(vec![reference, summary]);
        }
    }
    Ok(rows)
}

/// Run `kiln prototype list`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let rows = rows(&args.run, None)?;
    printer.text(&table::render(&["PROTOTYPE", "DESCRIPTION"], &rows))?;
    Ok(ExitCode::SUCCESS)
}

/// Run `kiln prototype search`.
pub fn search(args: SearchArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let rows = rows(&args.run, Some(&args.text))?;
    if rows.is_empty() {
        printer.note(&format!("no installed prototype matches `{}`", args.text));
    } else {
        printer.text(&table::render(&["PROTOTYPE", "DESCRIPTION"], &rows))?;
    }
    Ok(ExitCode::SUCCESS)
}
