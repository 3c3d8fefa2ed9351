//! `kiln history ENV`: the revisions of an environment its cluster keeps, newest first.

use std::process::ExitCode;

use crate::cli::{Output, Printer, table};
use crate::session::{Session, Settings};

/// The long help of this verb (`--help`), set on its subcommand: deferred arguments
/// cannot carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "List the revisions of an environment, newest first: every apply \
    that changed something records one in the environment's namespace (its objects, who applied \
    them, with which Kiln, packages and params), and `kiln rollback` goes back to one. Read from \
    the cluster alone.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment.
    env: String,
    /// The kubeconfig context to use instead of the environment's.
    #[arg(long)]
    context: Option<String>,
    /// Output format: a table, or (`json`) an array of revisions, newest first.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// Run `kiln history`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let session = Session::new(Some(super::open_app()?), Settings::default(), printer);
    let history = session.attach(&args.env, args.context)?.history()?;
    match args.output {
        Output::Json => {
            let json = serde_json::to_value(&history)?;
            printer.data(&format!("{}\n", crate::untrusted::json_pretty(&json)?))?;
        }
        Output::Text if history.is_empty() => {
            printer.note(&format!("`{}` has no revisions in its cluster yet", args.env));
        }
        Output::Text => {
            let rows: Vec<Vec<String>> = history
                .iter()
                .map(|m| {
                    vec![
                        m.number.to_string(),
                        m.time.clone(),
                        m.user.clone(),
                        m.changes.to_string(),
                        m.kiln_version.clone(),
                        m.description(),
                    ]
                })
                .collect();
            let header = ["REVISION", "UPDATED", "USER", "CHANGES", "KILN", "DESCRIPTION"];
            printer.text(&table::render(&header, &rows))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
