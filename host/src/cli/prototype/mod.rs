//! `kiln prototype ...`: look at and try prototypes.

mod describe;
mod list;
mod new;
mod preview;

use std::process::ExitCode;

use anyhow::Context as _;

use super::{Printer, RunArgs};
use crate::app::{App, AppError};
use crate::session::Loaded;

/// `kiln prototype` verbs.
#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Show a prototype's description, params and permissions.
    Describe(describe::Args),
    /// Render a prototype with params and print the objects, outside any app.
    #[command(long_about = preview::HELP)]
    Preview(preview::Args),
    /// List the app's installed prototypes.
    List(list::Args),
    /// Find installed prototypes whose name or description contains TEXT.
    Search(list::SearchArgs),
    /// Create a prototype project (Rust, Python or JavaScript) that builds and renders.
    #[command(long_about = new::HELP)]
    New(new::Args),
}

impl Command {
    /// Run the verb.
    pub fn run(self, printer: &Printer) -> anyhow::Result<ExitCode> {
        match self {
            Command::Describe(args) => describe::run(args, printer),
            Command::Preview(args) => preview::run(args, printer),
            Command::List(args) => list::run(args, printer),
            Command::Search(args) => list::search(args, printer),
            Command::New(args) => new::run(args, printer),
        }
    }
}

/// The prototype `target` names (a `.wasm` file, or an installed prototype of the app in the
/// current directory), loaded and described by a session. In an app, its `[limits]` hold, as
/// for the app's components; elsewhere only `--limit`.
fn load(target: &str, run: &RunArgs, printer: &Printer) -> anyhow::Result<Loaded> {
    let is_file = crate::session::is_file_target(target);
    let app = match App::find(&std::env::current_dir()?) {
        Ok(app) => Some(app),
        Err(AppError::NotAnApp { .. }) if is_file => None,
        Err(err) if is_file => return Err(err.into()),
        Err(err) => {
            return Err(err).context(format!(
                "`{target}` is not a .wasm file, and installed prototypes are looked up in an app"
            ));
        }
    };
    run.session(app, printer)?.load_prototype(target)
}
