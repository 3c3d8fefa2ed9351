//! `kiln prototype ...`: look at and try prototypes.

mod describe;
mod preview;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use super::{Printer, RunArgs};
use crate::prototype::Info;
use crate::render::{Limits, Prototype};

/// `kiln prototype` verbs.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Show a prototype's description, params and permissions.
    Describe(describe::Args),
    /// Render a prototype with params and print the objects, outside any app.
    Preview(preview::Args),
}

impl Command {
    /// Run the verb.
    pub fn run(self, printer: &Printer) -> anyhow::Result<ExitCode> {
        match self {
            Command::Describe(args) => describe::run(args, printer),
            Command::Preview(args) => preview::run(args, printer),
        }
    }
}

/// A prototype loaded from a `.wasm` file, with its description.
struct Loaded {
    prototype: Prototype,
    info: Info,
    limits: Limits,
}

fn load(file: &Path, run: &RunArgs, printer: &Printer) -> anyhow::Result<Loaded> {
    let limits = run.limits()?;
    let engine = run.engine(&limits)?;
    let wasm = fs_err::read(file)?;
    let label = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let started = std::time::Instant::now();
    let mut prototype = engine
        .load(&label, &wasm)
        .with_context(|| format!("cannot load prototype from {}", file.display()))?;
    printer.detail(&format!(
        "loaded {} ({}, {:?} code) in {:.1?}",
        file.display(),
        prototype.digest(),
        prototype.code_source(),
        started.elapsed()
    ));
    super::flush_notes(&engine, printer);
    let info = prototype.describe(&limits)?;
    Ok(Loaded { prototype, info, limits })
}
