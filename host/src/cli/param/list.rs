//! `kiln param list [COMPONENT] [--env E]`.

use std::process::ExitCode;

use crate::app::{self, EnvironmentFile};
use crate::cli::{Printer, RunArgs, table};

/// The long help of this verb (`--help`), set on its subcommand: deferred arguments
/// cannot carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "Show params with their values and where each comes from (default, \
    component, environment, environment override). Without `--env`, the components' own params.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this component.
    component: Option<String>,
    /// Resolve for this environment.
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    #[command(flatten)]
    run: RunArgs,
}

/// Run `kiln param list`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let session = args.run.open(printer)?;
    let app = session.app()?;
    let runner = session.runner(args.env.as_deref())?;
    let mut prototypes = session.prototypes(&runner)?;
    let env = match &args.env {
        Some(name) => app.environment(name)?,
        None => EnvironmentFile::default(),
    };
    let names = match &args.component {
        Some(c) => {
            app.component(c)?;
            vec![c.clone()]
        }
        None => app.components()?,
    };
    let mut rows = Vec::new();
    for name in names {
        let file = app.component(&name)?;
        let info = prototypes.load(Some(&name), &file.prototype)?.info.clone();
        for (key, param) in app::resolve_params(&info, &name, &file, &env)? {
            rows.push(vec![name.clone(), key, param.value.to_string(), param.source.name().into()]);
        }
    }
    printer.text(&table::render(&["COMPONENT", "PARAM", "VALUE", "FROM"], &rows))?;
    Ok(ExitCode::SUCCESS)
}
