//! `kiln env list`.

use std::process::ExitCode;

use crate::cli::{Printer, table};

// List the environments; `*` marks the default.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `kiln env list`.
pub fn run(_args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let app = crate::cli::open_app()?;
    let mut rows = Vec::new();
    for name in app.environments()? {
        let env = app.environment(&name)?;
        let mark = if app.default_environment() == Some(name.as_str()) { "*" } else { "" };
        rows.push(vec![
            format!("{name}{mark}"),
            env.namespace,
            cluster(env.context.as_deref(), env.server.as_deref()),
            env.kubernetes_version,
        ]);
    }
    printer.text(&table::render(&["NAME", "NAMESPACE", "CLUSTER", "KUBERNETES"], &rows))?;
    Ok(ExitCode::SUCCESS)
}

/// How an environment's cluster is shown.
pub fn cluster(context: Option<&str>, server: Option<&str>) -> String {
    match (context, server) {
        (Some(c), _) => format!("context {c}"),
        (None, Some(s)) => s.to_string(),
        (None, None) => "-".to_string(),
    }
}
