//! `kiln show ENV`: the environment's objects, post-processed, as YAML or JSON.

use std::process::ExitCode;

use crate::cli::{Printer, RunArgs, SelectionArgs};
use crate::manifest::{self, Format};
use crate::session::Gate;

/// The long help of this verb (`--help`), set on its subcommand: deferred arguments
/// cannot carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "Print the objects of an environment (or of some of its components) \
    as kubectl would apply them: namespaces filled in, ownership labels added, in apply order. \
    Byte-identical across runs. Output that does not validate (see `kiln validate`) is refused \
    unless `--no-validate`. Secret params' values are masked as `<secret NAME>` unless \
    `--reveal-secrets`.";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    selection: SelectionArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Yaml)]
    output: Format,
    /// Print the objects even if offline validation finds errors.
    #[arg(long)]
    no_validate: bool,
    /// Print secrets' values instead of masks (decrypting them needs your age identity, as
    /// `apply` does): for piping into `kubectl apply` or a GitOps engine.
    #[arg(long)]
    reveal_secrets: bool,
    #[command(flatten)]
    run: RunArgs,
}

/// Run `kiln show`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let gate = if args.no_validate { Gate::PlaceOnly } else { Gate::Validate };
    let session = args.run.open(printer)?;
    let rendering = session.show(&args.selection.selection(), gate, args.reveal_secrets)?;
    let masked = rendering.placed.names().len();
    if masked > 0 && !args.reveal_secrets {
        printer.note(&format!(
            "{masked} secret{} masked as `<secret NAME>`; `--reveal-secrets` prints the values",
            if masked == 1 { "" } else { "s" }
        ));
    }
    let values: Vec<serde_json::Value> = rendering.objects.into_iter().map(|o| o.value).collect();
    printer.data_with(|out| manifest::write(&values, args.output, out))?;
    Ok(ExitCode::SUCCESS)
}
