//! `kiln prototype preview FILE.wasm --param=value...`: render a prototype outside any app and
//! print its objects.

use std::process::ExitCode;

use crate::cli::params::{self, ParamArgs};
use crate::cli::{Printer, RunArgs};
use crate::manifest::{self, Format};

/// The long help of this verb (`--help`), set on its subcommand: deferred arguments
/// cannot carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "Render a prototype with params and print the objects, outside any \
    app.\n\nParams follow the prototype, as `--NAME=VALUE` or `--NAME VALUE`; `PROTOTYPE --help` \
    lists them.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Yaml)]
    output: Format,
    /// The namespace of the preview environment.
    #[arg(long, value_name = "NS", default_value = "default")]
    env_namespace: String,
    /// The component name to render as (default: the prototype's name).
    #[arg(long, value_name = "NAME")]
    component: Option<String>,
    #[command(flatten)]
    run: RunArgs,
    /// The prototype (a `.wasm` file or an installed prototype's name), then its params as
    /// `--NAME=VALUE`; everything after the prototype is a param (`PROTOTYPE --help` lists them).
    #[arg(
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROTOTYPE [PARAMS]"
    )]
    file_and_params: Vec<String>,
}

/// Run `kiln prototype preview`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let (target, param_args) = args.file_and_params.split_first().expect("clap requires one");
    let loaded = super::load(target, &args.run, printer)?;
    let params = match params::parse(&loaded.info, param_args)? {
        ParamArgs::Help => {
            let usage = format!("kiln prototype preview {target}");
            printer.text(&params::help(&loaded.info, &usage))?;
            return Ok(ExitCode::SUCCESS);
        }
        ParamArgs::Params(params) => params,
    };
    let component = args.component.unwrap_or_else(|| loaded.info.name.clone());
    let session = args.run.session(None, printer)?;
    let objects = session.preview(&loaded, &component, &params, &args.env_namespace)?;
    let values: Vec<serde_json::Value> = objects.into_iter().map(|o| o.value).collect();
    printer.data_with(|out| manifest::write(&values, args.output, out))?;
    Ok(ExitCode::SUCCESS)
}
