//! `kiln component ...`: the app's components.

use std::process::ExitCode;

use crate::cli::{Printer, table};

/// `kiln component` verbs.
#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// List the components and their prototypes.
    List,
    /// Remove a component and its overrides in every environment.
    Rm {
        /// The component.
        name: String,
    },
}

impl Command {
    /// Run the verb.
    pub fn run(self, printer: &Printer) -> anyhow::Result<ExitCode> {
        let app = crate::cli::open_app()?;
        match self {
            Command::List => {
                let mut rows = Vec::new();
                for name in app.components()? {
                    let file = app.component(&name)?;
                    rows.push(vec![name, file.prototype]);
                }
                printer.text(&table::render(&["COMPONENT", "PROTOTYPE"], &rows))?;
            }
            Command::Rm { name } => {
                app.remove_component(&name)?;
                printer.note(&format!("removed component `{name}`"));
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
