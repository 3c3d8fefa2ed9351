//! `kiln registry ...`: where packages come from.

use std::process::ExitCode;

use crate::cli::{Printer, table};
use crate::registry::{self, Location};

/// `kiln registry` verbs.
#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Add a registry: a directory, a git repository or an OCI registry. Its index is read
    /// first, so a registry that cannot be read is not added.
    #[command(override_usage = "kiln registry add [OPTIONS] [NAME] URI")]
    Add {
        /// The registry's name in this app (a DNS-1123 label; `kubeflow` is built in; default:
        /// the last part of the URI), then a directory (`./registry`), a git URL
        /// (`git+https://host/repo.git`, `file:///srv/registry.git`, `https://host/repo.git#v1.2`,
        /// `host/path` as ksonnet wrote them) or `oci://HOST[:PORT]/NAMESPACE`.
        #[arg(num_args = 1..=2, required = true, value_name = "[NAME] URI")]
        args: Vec<String>,
        /// For git: the branch, tag or commit to read at (default: the remote's default branch).
        #[arg(long = "ref", value_name = "REF")]
        reference: Option<String>,
    },
    /// List the app's registries.
    List,
    /// Show a registry and the packages it serves.
    Describe {
        /// The registry's name.
        name: String,
    },
    /// Remove a registry (refused while installed packages come from it).
    Rm {
        /// The registry's name.
        name: String,
    },
}

/// The Kubeflow repositories ksonnet's registries came from: their packages are built into
/// Kiln as the `kubeflow` registry, so the seed's `registry add github.com/kubeflow/ksonnet`
/// has nothing to add.
fn builtin_instead(location: &Location) -> Option<String> {
    let Location::Git { url, .. } = location else { return None };
    let repo = url.strip_prefix("https://github.com/kubeflow/")?.trim_end_matches(".git");
    ["ksonnet", "kubeflow"].contains(&repo.split('/').next()?).then(|| {
        format!(
            "the Kubeflow packages of {url} are built into Kiln as the registry `{}`; nothing \
             to add: `kiln pkg install kubeflow/core`",
            registry::BUILTIN
        )
    })
}

impl Command {
    /// Run the verb.
    pub fn run(self, printer: &Printer) -> anyhow::Result<ExitCode> {
        let mut app = crate::cli::open_app()?;
        match self {
            Command::Add { args, reference } => {
                let uri = args.last().expect("clap takes 1 or 2");
                let location =
                    Location::parse(uri, reference.as_deref(), &std::env::current_dir()?)?;
                if let Some(note) = builtin_instead(&location) {
                    printer.note(&note);
                    return Ok(ExitCode::SUCCESS);
                }
                let name = match args.as_slice() {
                    [name, _] => name.clone(),
                    _ => registry::default_name(&location).ok_or_else(|| {
                        anyhow::anyhow!("cannot name a registry after `{uri}`: give a name, `kiln registry add NAME {uri}`")
                    })?,
                };
                if app.registries()?.contains_key(&name) {
                    Err(crate::app::AppError::Exists { what: "registry", name: name.clone() })?;
                }
                let index = registry::open(&name, &location)?.index()?;
                app.add_registry(&name, &location)?;
                printer.note(&format!(
                    "added registry `{name}` ({} {}; {} package{})",
                    location.kind(),
                    location.uri(),
                    index.packages.len(),
                    if index.packages.len() == 1 { "" } else { "s" }
                ));
            }
            Command::List => {
                let rows: Vec<Vec<String>> = app
                    .registries()?
                    .iter()
                    .map(|(name, location)| {
                        let uri = match location.reference() {
                            Some(r) => format!("{}#{r}", location.uri()),
                            None => location.uri(),
                        };
                        vec![name.clone(), location.kind().into(), uri]
                    })
                    .collect();
                printer.text(&table::render(&["NAME", "KIND", "URI"], &rows))?;
            }
            Command::Describe { name } => {
                let location = app.registry(&name)?;
                let index = registry::open(&name, &location)?.index()?;
                let mut text =
                    format!("name: {name}\nkind: {}\nuri: {}\n", location.kind(), location.uri());
                if let Some(r) = location.reference() {
                    text.push_str(&format!("ref: {r}\n"));
                }
                text.push('\n');
                let rows: Vec<Vec<String>> = index
                    .packages
                    .iter()
                    .map(|(pkg, entry)| {
                        let versions: Vec<&str> =
                            entry.versions.keys().map(String::as_str).collect();
                        vec![
                            format!("{name}/{pkg}"),
                            entry.latest().unwrap_or_default().into(),
                            versions.join(", "),
                            entry.description.clone(),
                        ]
                    })
                    .collect();
                text.push_str(&table::render(
                    &["PACKAGE", "LATEST", "VERSIONS", "DESCRIPTION"],
                    &rows,
                ));
                printer.text(&text)?;
            }
            Command::Rm { name } => {
                app.remove_registry(&name)?;
                printer.note(&format!("removed registry `{name}`"));
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
