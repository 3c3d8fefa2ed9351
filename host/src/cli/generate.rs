//! `kiln generate PROTOTYPE COMPONENT [--PARAM=VALUE]...`: add a component to the app.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::params::{self, ParamArgs};
use crate::cli::{Printer, RunArgs};
use crate::pipeline::Prototypes;
use crate::prototype::Environment;

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
    let app = crate::cli::open_app()?;
    let (target, rest) = args.args.split_first().expect("clap requires one");
    let reference = if target.ends_with(".wasm") {
        app_relative(app.dir().root(), target)?
    } else {
        app.find_prototype(target)?.reference()
    };
    let limits = args.run.limits(Some(&app), None)?;
    let engine = args.run.engine(&limits)?;
    let mut prototypes = Prototypes::new(&app, &engine, limits);
    let help = |printer: &Printer, info| {
        let usage = format!("kiln generate {target} COMPONENT");
        printer.text(&params::help(info, &usage))
    };
    let loaded = prototypes.load(None, &reference)?.clone();
    crate::cli::flush_notes(&engine, printer);
    let (component, param_args) = match rest.split_first() {
        Some((c, _)) if c == "--help" || c == "-h" => {
            help(printer, &loaded.info)?;
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
            help(printer, &loaded.info)?;
            return Ok(ExitCode::SUCCESS);
        }
        ParamArgs::Params(params) => params,
    };
    let env = match app.default_environment().map(|e| app.environment(e)) {
        Some(Ok(env)) => Environment::preview(&env.namespace),
        _ => Environment::preview("default"),
    };
    loaded
        .prototype
        .generate(&loaded.info, component, &params, &env, prototypes.limits())
        .with_context(|| format!("cannot generate component `{component}`"))?;
    app.add_component(component, &reference, &params)?;
    printer.note(&format!("added component `{component}` ({reference})"));
    Ok(ExitCode::SUCCESS)
}

/// The path of `file` relative to the app's root; it must be inside the app.
fn app_relative(root: &std::path::Path, file: &str) -> anyhow::Result<String> {
    let file = fs_err::canonicalize(file)?;
    let root = fs_err::canonicalize(root)?;
    let relative = file.strip_prefix(&root).map_err(|_| {
        anyhow::anyhow!(
            "{} is outside the app; copy the prototype into the app (e.g. prototypes/) first",
            file.display()
        )
    })?;
    Ok(relative.to_string_lossy().into_owned())
}
