//! `kiln pkg ...`: packages of prototypes, from the app's registries.

mod publish;

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use crate::app::{App, InstalledPackage};
use crate::cli::{Printer, RunArgs, table};
use crate::registry::{self, BUILTIN, Fetched, Location, PermissionSet, RegistryError, Source};
use crate::session::Session;
use crate::untrusted::Untrusted;

/// `kiln pkg` verbs.
#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Install a package into the app (`vendor/`, recorded with digests and the permissions you
    /// grant in `kiln.lock`) once each prototype compiles within the compile budget and is what
    /// the manifest says.
    Install {
        /// `REGISTRY/PACKAGE[@VERSION]` (VERSION exact, or a requirement such as `^1.2`), or
        /// just `PACKAGE` when one registry has it (the built-in `kubeflow` first).
        package: String,
        /// Grant the permissions the package asks for without asking.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Reinstall a package that is already installed.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// List the packages the app's registries serve, marking installed ones (`*`).
    List {
        /// Only installed packages (read from `kiln.lock`, no registry is contacted).
        #[arg(long)]
        installed: bool,
    },
    /// Find packages by name or description in every registry.
    Search {
        /// Text to look for (case-insensitive).
        text: String,
    },
    /// Show a package: versions, prototypes, digests and the permissions it asks for.
    Describe {
        /// `REGISTRY/PACKAGE[@VERSION]` or `PACKAGE`.
        package: String,
    },
    /// Remove an installed package (refused while components use it).
    Rm {
        /// `REGISTRY/PACKAGE` or `PACKAGE`.
        package: String,
    },
    /// Check every installed file against `kiln.lock` (exit 1 if any differs).
    Verify,
    /// Update installed packages to their registry's newest version, checked as `install`
    /// checks them before any is written, and compile their prototypes into optimised code
    /// where the cache lacks it.
    Update {
        /// Packages to update (`REGISTRY/PACKAGE[@VERSION]`); all when none is given.
        packages: Vec<String>,
        /// Grant new permissions an update asks for without asking.
        #[arg(long, short = 'y')]
        yes: bool,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Publish a package: a directory with `kiln-package.toml` and its prototypes' wasm.
    Publish(publish::Args),
}

impl Command {
    /// Run the verb.
    pub fn run(self, printer: &Printer) -> anyhow::Result<ExitCode> {
        // Every verb but publish works on the app in the current directory.
        let app = crate::cli::open_app;
        match self {
            Command::Install { package, yes, force, run } => {
                install(&run.open(printer)?, &package, yes, force, printer)
            }
            Command::List { installed: true } => list_installed(&app()?, printer),
            Command::List { installed: false } => list_available(&app()?, None, printer),
            Command::Search { text } => list_available(&app()?, Some(&text), printer),
            Command::Describe { package } => describe(&app()?, &package, printer),
            Command::Rm { package } => {
                let removed = app()?.remove_package(&package)?;
                printer.note(&format!("removed {}@{}", removed.reference(), removed.version));
                Ok(ExitCode::SUCCESS)
            }
            Command::Verify => verify(&app()?, printer),
            Command::Update { packages, yes, run } => {
                update(&run.open(printer)?, &packages, yes, printer)
            }
            Command::Publish(args) => publish::run(args, printer),
        }
    }
}

/// `REGISTRY/PACKAGE[@VERSION]` split up; the registry is `None` when not given.
struct Spec<'a> {
    registry: Option<&'a str>,
    package: &'a str,
    version: Option<&'a str>,
}

fn parse_spec(spec: &str) -> Spec<'_> {
    let (rest, version) = match spec.split_once('@') {
        Some((rest, v)) => (rest, Some(v)),
        None => (spec, None),
    };
    match rest.split_once('/') {
        Some((registry, package)) => Spec { registry: Some(registry), package, version },
        None => Spec { registry: None, package: rest, version },
    }
}

/// An open registry and its index.
struct Opened {
    name: String,
    source: Box<dyn Source>,
    index: registry::Index,
}

fn open(name: &str, location: &Location) -> Result<Opened, RegistryError> {
    let mut source = registry::open(name, location)?;
    let index = source.index()?;
    Ok(Opened { name: name.into(), source, index })
}

/// The registry that serves `spec`'s package: the one it names, or the only one (built-in
/// first) whose index has the package.
fn find_registry(app: &App, spec: &Spec, printer: &Printer) -> anyhow::Result<Opened> {
    if let Some(name) = spec.registry {
        return Ok(open(name, &app.registry(name)?)?);
    }
    let builtin = open(BUILTIN, &Location::Builtin)?;
    if builtin.index.packages.contains_key(spec.package) {
        return Ok(builtin);
    }
    let mut found = Vec::new();
    for (name, location) in app.registries()?.into_iter().filter(|(n, _)| n != BUILTIN) {
        match open(&name, &location) {
            Ok(opened) if opened.index.packages.contains_key(spec.package) => found.push(opened),
            Ok(_) => {}
            Err(e) => printer.warn(&format!("skipping registry `{name}`: {e}")),
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(RegistryError::UnknownPackage {
            registry: "any of the app's registries".into(),
            name: spec.package.into(),
            suggestion: None,
        }
        .into()),
        _ => anyhow::bail!(
            "package `{}` is in several registries ({}); name one: `REGISTRY/{}`",
            spec.package,
            found.iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join(", "),
            spec.package
        ),
    }
}

fn fetch(
    opened: &mut Opened,
    package: &str,
    version: Option<&str>,
) -> Result<Fetched, RegistryError> {
    let (version, digest) =
        registry::resolve_version(&opened.name, &opened.index, package, version)?;
    let (version, digest) = (version.to_string(), digest.to_string());
    registry::fetch(&opened.name, opened.source.as_mut(), package, &version, &digest)
}

/// What to grant `fetched`: nothing when it asks for nothing, what it asks when built in,
/// already granted, confirmed with `--yes` or at a terminal prompt; otherwise an error.
fn decide_grant(
    fetched: &Fetched,
    yes: bool,
    previous: Option<&PermissionSet>,
    printer: &Printer,
) -> anyhow::Result<PermissionSet> {
    let asked = fetched.manifest.permissions.clone();
    if asked.is_empty() || previous.is_some_and(|p| p.covers(&asked)) {
        return Ok(asked);
    }
    let lines = asked.describe();
    let reference = fetched.reference();
    if fetched.registry == BUILTIN {
        printer.note(&format!(
            "{reference} is built into Kiln; granted what it asks to emit: {}",
            lines.join("; ")
        ));
        return Ok(asked);
    }
    let mut prompt = format!("{reference}@{} asks to emit:", fetched.manifest.version);
    for line in &lines {
        prompt.push_str(&format!("\n  - {line}"));
    }
    if yes {
        printer.note(&format!("{prompt}\ngranted (--yes)"));
        return Ok(asked);
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        eprint!("{}\nGrant these permissions? [y/N] ", super::printer::sanitize(&prompt));
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(asked);
        }
    }
    Err(RegistryError::NotGranted { package: reference, asked: lines }.into())
}

fn install(
    session: &Session,
    spec_text: &str,
    yes: bool,
    force: bool,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let app = session.app()?;
    let spec = parse_spec(spec_text);
    let mut opened = find_registry(app, &spec, printer)?;
    let reference = format!("{}/{}", opened.name, spec.package);
    let previous = app.installed_packages()?.into_iter().find(|p| p.reference() == reference);
    if previous.is_some() && !force {
        Err(crate::app::AppError::Exists { what: "package", name: reference })?;
    }
    let fetched = fetch(&mut opened, spec.package, spec.version)?;
    session.check_package(&session.runner(None)?, &fetched)?;
    let granted = decide_grant(&fetched, yes, previous.as_ref().map(|p| &p.granted), printer)?;
    let installed = app.install(&fetched, granted)?;
    printer.note(&format!(
        "installed {}@{} (prototypes: {})",
        installed.reference(),
        installed.version,
        installed.prototypes.join(", ")
    ));
    Ok(ExitCode::SUCCESS)
}

/// A package to update, checked and granted, ready to be written.
struct Update {
    from: InstalledPackage,
    fetched: Fetched,
    granted: PermissionSet,
}

fn update(
    session: &Session,
    specs: &[String],
    yes: bool,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let app = session.app()?;
    let installed = app.installed_packages()?;
    let targets: Vec<(InstalledPackage, Option<&str>)> = if specs.is_empty() {
        installed.into_iter().map(|p| (p, None)).collect()
    } else {
        let mut targets = Vec::new();
        for text in specs {
            let spec = parse_spec(text);
            let name = match spec.registry {
                Some(r) => format!("{r}/{}", spec.package),
                None => spec.package.to_string(),
            };
            targets.push((app.installed_package(&name)?, spec.version));
        }
        targets
    };
    let runner = session.runner(None)?;
    // Every package is fetched, checked and granted before any is written: a failed update
    // leaves the app as it was.
    let mut updates = Vec::new();
    for (package, version) in targets {
        let mut opened = open(&package.registry, &app.registry(&package.registry)?)?;
        let fetched = fetch(&mut opened, &package.name, version)?;
        // Its code may have been compiled by a render, or not at all (a fresh clone).
        session.check_package(&runner, &fetched)?;
        if fetched.manifest.version == package.version && fetched.source == package.source {
            printer.note(&format!("{}@{} is up to date", package.reference(), package.version));
            continue;
        }
        let granted = decide_grant(&fetched, yes, Some(&package.granted), printer)?;
        updates.push(Update { from: package, fetched, granted });
    }
    for Update { from, fetched, granted } in updates {
        let updated = app.install(&fetched, granted)?;
        printer.note(&format!(
            "updated {} from {} to {}",
            updated.reference(),
            from.version,
            updated.version
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn list_installed(app: &App, printer: &Printer) -> anyhow::Result<ExitCode> {
    let rows: Vec<Vec<String>> = app
        .installed_packages()?
        .iter()
        .map(|p| vec![p.reference(), p.version.clone(), p.prototypes.join(","), p.source.clone()])
        .collect();
    printer.text(&table::render(&["PACKAGE", "VERSION", "PROTOTYPES", "SOURCE"], &rows))?;
    Ok(ExitCode::SUCCESS)
}

fn list_available(app: &App, filter: Option<&str>, printer: &Printer) -> anyhow::Result<ExitCode> {
    let installed = app.installed_packages()?;
    let mut rows = Vec::new();
    for (name, location) in app.registries()? {
        let index = match open(&name, &location) {
            Ok(opened) => opened.index,
            Err(e) => {
                printer.warn(&format!("skipping registry `{name}`: {e}"));
                continue;
            }
        };
        for (pkg, entry) in &index.packages {
            let reference = format!("{name}/{pkg}");
            let text = format!("{reference} {}", entry.description).to_lowercase();
            if filter.is_some_and(|f| !text.contains(&f.to_lowercase())) {
                continue;
            }
            let have = installed.iter().find(|p| p.reference() == reference);
            rows.push(vec![
                format!("{reference}{}", if have.is_some() { "*" } else { "" }),
                entry.latest().unwrap_or_default().into(),
                have.map(|p| p.version.clone()).unwrap_or_default(),
                entry.description.clone(),
            ]);
        }
    }
    if rows.is_empty() && filter.is_some() {
        printer.note(&format!("no package matches `{}`", filter.unwrap_or_default()));
    } else {
        printer.text(&table::render(&["PACKAGE", "LATEST", "INSTALLED", "DESCRIPTION"], &rows))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(app: &App, spec_text: &str, printer: &Printer) -> anyhow::Result<ExitCode> {
    let spec = parse_spec(spec_text);
    let mut opened = find_registry(app, &spec, printer)?;
    let fetched = fetch(&mut opened, spec.package, spec.version)?;
    let m = &fetched.manifest;
    let reference = fetched.reference();
    let entry = &opened.index.packages[&m.name];
    // Names, versions and digests were checked when the registry's files were read; the
    // description and source are the registry's own words, shown escaped on their line.
    let mut text = format!(
        "package: {reference}\nversion: {}\nversions: {}\ndescription: {}\nsource: {}\n\nprototypes:\n",
        m.version,
        entry.versions.keys().cloned().collect::<Vec<_>>().join(", "),
        Untrusted(&m.description),
        Untrusted(&fetched.source),
    );
    for p in &m.prototypes {
        text.push_str(&format!("  {}  {}\n", p.name, p.sha256));
    }
    text.push_str("\nasks to emit:\n");
    let asked = m.permissions.describe();
    if asked.is_empty() {
        text.push_str("  namespaced objects in the environment's namespace only\n");
    }
    for line in asked {
        text.push_str(&format!("  - {line}\n"));
    }
    if let Some(have) = app.installed_packages()?.iter().find(|p| p.reference() == reference) {
        text.push_str(&format!("\ninstalled: {}\ngranted:\n", have.version));
        let granted = have.granted.describe();
        if granted.is_empty() {
            text.push_str("  namespaced objects in the environment's namespace only\n");
        }
        for line in granted {
            text.push_str(&format!("  - {line}\n"));
        }
    }
    printer.text(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn verify(app: &App, printer: &Printer) -> anyhow::Result<ExitCode> {
    let packages = app.installed_packages()?;
    let findings = app.verify_packages()?;
    for f in &findings {
        printer.warn(&format!("{}: {}", f.package, f.message));
    }
    if findings.is_empty() {
        let files: usize = packages.iter().map(|p| p.files.len()).sum();
        printer.note(&format!(
            "verified {} package{} ({files} files) against {}",
            packages.len(),
            if packages.len() == 1 { "" } else { "s" },
            crate::app::LOCK_FILE
        ));
        Ok(ExitCode::SUCCESS)
    } else {
        printer.note(&format!(
            "{} problem{} found; reinstall with `kiln pkg install REGISTRY/PACKAGE --force`",
            findings.len(),
            if findings.len() == 1 { "" } else { "s" }
        ));
        Ok(ExitCode::from(1))
    }
}
