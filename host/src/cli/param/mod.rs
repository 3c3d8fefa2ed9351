//! `kiln param ...`: component params, environment-wide params and per-environment overrides.

mod diff;
mod list;
mod set;

use std::process::ExitCode;

use crate::cli::Printer;

/// `kiln param` verbs.
#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Set a param: `[COMPONENT] KEY VALUE`; without COMPONENT, environment-wide (needs --env).
    #[command(long_about = set::SET_HELP)]
    Set(set::SetArgs),
    /// Remove a param set with `param set`.
    Unset(set::UnsetArgs),
    /// Show params and where each value comes from.
    #[command(long_about = list::HELP)]
    List(list::Args),
    /// Show the params that differ between two environments.
    Diff(diff::Args),
}

impl Command {
    /// Run the verb.
    pub fn run(self, printer: &Printer) -> anyhow::Result<ExitCode> {
        match self {
            Command::Set(a) => set::set(a, printer),
            Command::Unset(a) => set::unset(a, printer),
            Command::List(a) => list::run(a, printer),
            Command::Diff(a) => diff::run(a, printer),
        }
    }
}
