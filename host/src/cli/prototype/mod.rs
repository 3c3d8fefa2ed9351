//! `kiln prototype ...`: look at and try prototypes.

mod describe;
mod list;
mod new;
mod preview;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use super::{Printer, RunArgs};
use crate::app::{App, AppError};
use crate::manifest::permissions::Grant;
use crate::prototype::Info;
use crate::render::{Limits, Prototype};

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

/// A prototype loaded from a `.wasm` file, with its description.
struct Loaded {
    prototype: Prototype,
    info: Info,
    limits: Limits,
    /// What its package was granted; `None` for a `.wasm` file, which is the user's own.
    grant: Option<Grant>,
}

/// Read a prototype named on the command line: a `.wasm` file, or an installed prototype of
/// the app in the current directory (full or unambiguous short name). Returns the label for
/// messages, the verified wasm and, for an installed one, its package's grant.
pub(crate) fn read(target: &str) -> anyhow::Result<(String, Vec<u8>, Option<Grant>)> {
    let path = Path::new(target);
    if target.ends_with(".wasm") || target.contains('/') && path.is_file() {
        let label = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        return Ok((label, fs_err::read(path)?, None));
    }
    let app = crate::cli::open_app().context(format!(
        "`{target}` is not a .wasm file, and installed prototypes are looked up in an app"
    ))?;
    let installed = app.find_prototype(target)?;
    let (wasm, granted) = app.read_prototype(&installed)?;
    let grant = Grant { package: installed.package_reference(), granted };
    Ok((installed.reference(), wasm, Some(grant)))
}

fn load(target: &str, run: &RunArgs, printer: &Printer) -> anyhow::Result<Loaded> {
    // In an app, its `[limits]` hold, as for the app's components; elsewhere only `--limit`.
    let app = match App::find(&std::env::current_dir()?) {
        Ok(app) => Some(app),
        Err(AppError::NotAnApp { .. }) => None,
        Err(err) => return Err(err.into()),
    };
    let limits = run.limits(app.as_ref(), None)?;
    let engine = run.engine(&limits)?;
    let (label, wasm, grant) = read(target)?;
    let started = std::time::Instant::now();
    let mut prototype =
        engine.load(&label, &wasm).with_context(|| format!("cannot load prototype `{target}`"))?;
    printer.detail(&format!(
        "loaded {target} ({}, {:?} {:?} code) in {:.1?}",
        prototype.digest(),
        prototype.code_source(),
        prototype.tier(),
        started.elapsed()
    ));
    super::flush_notes(&engine, printer);
    let info = prototype.describe(&limits)?;
    Ok(Loaded { prototype, info, limits, grant })
}
