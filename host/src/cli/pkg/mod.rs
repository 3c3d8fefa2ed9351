//! `kiln pkg ...`: packages of prototypes.

use std::process::ExitCode;

use crate::cli::{Printer, table};
use crate::registry;

/// `kiln pkg` verbs.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Install a package into the app (`vendor/`, recorded with digests in `kiln.lock`).
    Install {
        /// `REGISTRY/PACKAGE[@VERSION]`, or just `PACKAGE` for the built-in `kubeflow` registry.
        package: String,
        /// Reinstall a package that is already installed.
        #[arg(long)]
        force: bool,
    },
    /// List the packages available, marking installed ones.
    List {
        /// Only installed packages.
        #[arg(long)]
        installed: bool,
    },
}

impl Command {
    /// Run the verb.
    pub fn run(self, printer: &Printer) -> anyhow::Result<ExitCode> {
        let app = crate::cli::open_app()?;
        match self {
            Command::Install { package, force } => {
                let installed = app.install_builtin(&package, force)?;
                printer.note(&format!(
                    "installed {}@{} (prototypes: {})",
                    installed.reference(),
                    installed.version,
                    installed.prototypes.join(", ")
                ));
            }
            Command::List { installed } => {
                let have = app.installed_packages()?;
                let mut rows = Vec::new();
                for p in registry::builtin_packages() {
                    let reference = format!("{}/{}", registry::BUILTIN, p.name);
                    let is_installed = have.iter().any(|h| h.reference() == reference);
                    if installed && !is_installed {
                        continue;
                    }
                    let mark = if is_installed { "*" } else { "" };
                    rows.push(vec![
                        format!("{reference}{mark}"),
                        p.version.into(),
                        p.description.into(),
                    ]);
                }
                printer.data(&table::render(&["PACKAGE", "VERSION", "DESCRIPTION"], &rows))?;
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
