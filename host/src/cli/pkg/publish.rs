//! `kiln pkg publish DIR --to REGISTRY`: describe each prototype (so the published manifest's
//! permissions are what the prototypes themselves declare), compute digests, and write the
//! package to a directory registry or push it to an OCI registry.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use serde::Deserialize;

use crate::cli::{Printer, RunArgs};
use crate::registry::{self, Location, PermissionSet, Publication};

// Publish a package.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The package's source directory, with a `kiln-package.toml` naming the package, its
    /// version and description, and each prototype's name and wasm file (relative to DIR).
    dir: PathBuf,
    /// Where to publish: one of the app's registries by name, a directory (created if
    /// missing) or `oci://HOST[:PORT]/NAMESPACE`.
    #[arg(long, value_name = "REGISTRY")]
    to: String,
    #[command(flatten)]
    run: RunArgs,
}

/// The author's `kiln-package.toml`: like the published one, but files are paths to the built
/// wasm and digests and permissions are computed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceManifest {
    name: String,
    version: String,
    #[serde(default)]
    description: String,
    prototypes: Vec<SourcePrototype>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcePrototype {
    name: String,
    file: PathBuf,
}

/// Run `kiln pkg publish`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let manifest_path = args.dir.join(registry::MANIFEST_FILE);
    let text = fs_err::read_to_string(&manifest_path)?;
    let source: SourceManifest = toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!("{}: {}", manifest_path.display(), e.to_string().trim_end())
    })?;
    let session = args.run.session(None, printer)?;
    let crate::session::Runner { engine, limits } = session.runner(None)?;
    let mut prototypes = Vec::new();
    for p in &source.prototypes {
        let path = args.dir.join(&p.file);
        let wasm = fs_err::read(&path)?;
        let mut prototype = engine
            .load(&p.name, &wasm)
            .with_context(|| format!("cannot load prototype `{}` ({})", p.name, path.display()))?;
        let info = prototype.describe(&limits)?;
        if info.name != p.name {
            anyhow::bail!(
                "{}: prototype `{}` describes itself as `{}`; use one name for both",
                manifest_path.display(),
                p.name,
                info.name
            );
        }
        prototypes.push((p.name.clone(), wasm, PermissionSet::from_permissions(&info.permissions)));
    }
    session.flush_notes(&engine);
    let publication =
        Publication::new(&source.name, &source.version, &source.description, prototypes)?;
    let (name, location) = target(&args.to)?;
    let at = registry::publish(&name, &location, &publication)?;
    let asked = publication.manifest.permissions.describe();
    printer.note(&format!(
        "published {}@{} to {at}{}",
        source.name,
        source.version,
        if asked.is_empty() {
            String::new()
        } else {
            format!(" (asks to emit: {})", asked.join("; "))
        }
    ));
    Ok(ExitCode::SUCCESS)
}

/// The registry `to` names: one of the app's (when run in an app), else a URI.
fn target(to: &str) -> anyhow::Result<(String, Location)> {
    if let Ok(app) = crate::cli::open_app()
        && let Some(location) = app.registries()?.get(to)
    {
        return Ok((to.to_string(), location.clone()));
    }
    let location = Location::parse(to, None, &std::env::current_dir()?)?;
    let label = match &location {
        Location::Dir(path) => Path::new(path).display().to_string(),
        other => other.uri(),
    };
    Ok((label, location))
}
