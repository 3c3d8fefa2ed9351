//! `kiln generate PROTOTYPE COMPONENT [--PARAM=VALUE]...`: add a component to the app.

use std::process::ExitCode;

use crate::cli::params::{self, ParamArgs};
use crate::cli::{Printer, RunArgs};

/// The long help of this verb (`--help`), set on its subcommand: deferred arguments
/// cannot carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "Add a component: an instance of a prototype with params. The params \
    are the prototype's own (`kiln generate PROTOTYPE --help` lists them) and are checked, and the \
    component rendered once, before anything is written.";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    run: RunArgs,
    /// The prototype (installed name, full or short, or a `.wasm` file in the app), the new
    /// component's name, then the prototype's params as `--NAME=VALUE`.
    #[arg(
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROTOTYPE COMPONENT [PARAMS]"
    )]
    args: Vec<String>,
}

/// Run `kiln generate`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let session = args.run.open(printer)?;
    let (target, rest) = args.args.split_first().expect("clap requires one");
    let (reference, loaded) = session.component_prototype(target)?;
    let help = |info| {
        let usage = format!("kiln generate {target} COMPONENT");
        printer.text(&params::help(info, &usage))
    };
    let (component, param_args) = match rest.split_first() {
        Some((c, _)) if c == "--help" || c == "-h" => {
            help(&loaded.info)?;
            return Ok(ExitCode::SUCCESS);
        }
        Some((c, p)) => (c, p),
        None => anyhow::bail!(
            "missing the component's name: `kiln generate {target} COMPONENT [--PARAM=VALUE]...`"
        ),
    };
    crate::app::check_component_name(component)?;
    let params = match params::parse(&loaded.info, param_args)? {
        ParamArgs::Help => {
            help(&loaded.info)?;
            return Ok(ExitCode::SUCCESS);
        }
        ParamArgs::Params(params) => params,
    };
    session.add_component(&reference, &loaded, component, &params)?;
    printer.note(&format!("added component `{component}` ({reference})"));
    Ok(ExitCode::SUCCESS)
}
