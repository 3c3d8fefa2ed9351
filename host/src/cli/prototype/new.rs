//! `kiln prototype new NAME --lang rust|python|js`: create a prototype project that builds and
//! renders out of the box.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::Printer;
use crate::scaffold::{self, Lang, Sdk};

/// The long help of this verb (`--help`), set on its subcommand: deferred arguments
/// cannot carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "Create a prototype project in Rust, Python or JavaScript that \
    builds (`./build`) and renders (`kiln prototype preview NAME.wasm`) out of the box.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The prototype's name, a DNS-1123 label (`my-app`).
    name: String,
    /// The language to write it in.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    lang: Lang,
    /// Where to create the project (default: ./NAME); it must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Rust only: depend on the kiln-sdk crate at PATH (a checkout's `guest-components/sdk`)
    /// instead of writing the SDK this kiln carries into the project (`kiln-sdk/`).
    #[arg(long, value_name = "PATH", env = "KILN_SDK_PATH")]
    sdk_path: Option<PathBuf>,
    /// Rust only: depend on this version of kiln-sdk from the crates registry instead.
    #[arg(long, value_name = "VERSION", conflicts_with = "sdk_path")]
    sdk_version: Option<String>,
}

/// Run `kiln prototype new`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let sdk = match (args.sdk_path, args.sdk_version) {
        (Some(path), _) => Sdk::Path(std::path::absolute(path)?),
        (None, Some(version)) => Sdk::Version(version),
        (None, None) => Sdk::Bundled,
    };
    let files = scaffold::files(args.lang, &args.name, &sdk)?;
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    scaffold::create(&dir, &files)?;
    let (lang, once) = match args.lang {
        Lang::Rust => ("Rust", "rustup target add wasm32-wasip2"),
        Lang::Python => ("Python", "pip install componentize-py==0.25.1"),
        Lang::Js => ("JavaScript", "npm install"),
    };
    let dir_shown = dir.display();
    printer.progress(&format!(
        "created the {lang} prototype `{}` in {dir_shown}; next:\n  cd {dir_shown}\n  \
         {once}  # once\n  ./build\n  kiln prototype preview {}.wasm --replicas=2",
        args.name, args.name
    ));
    Ok(ExitCode::SUCCESS)
}
