//! `kiln show ENV`: the environment's objects, post-processed, as YAML or JSON.

use std::process::ExitCode;

use crate::cli::{Printer, RunArgs};
use crate::manifest::{self, Format};

/// The long help of this verb (`--help`), set on its subcommand: deferred arguments
/// cannot carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "Print the objects of an environment (or of some of its components) \
    as kubectl would apply them: namespaces filled in, ownership labels added, in apply order. \
    Byte-identical across runs. Output that does not validate (see `kiln validate`) is refused \
    unless `--no-validate`.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment.
    env: String,
    /// Only these components (repeatable).
    #[arg(short, long = "component", value_name = "COMPONENT")]
    components: Vec<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Yaml)]
    output: Format,
    /// Print the objects even if offline validation finds errors.
    #[arg(long)]
    no_validate: bool,
    #[command(flatten)]
    run: RunArgs,
}

/// Run `kiln show`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let app = super::open_app()?;
    let rendering = super::validate::render(&app, &args.env, &args.components, &args.run, printer)?;
    super::validate::gate(&app, &rendering, args.no_validate, &args.run, printer)?;
    let values: Vec<serde_json::Value> = rendering.objects.into_iter().map(|o| o.value).collect();
    printer.data_with(|out| manifest::write(&values, args.output, out))?;
    Ok(ExitCode::SUCCESS)
}
