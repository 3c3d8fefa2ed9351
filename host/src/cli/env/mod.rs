//! `kiln env ...`: the app's environments.

mod add;
mod current;
mod describe;
mod list;
mod rm;
mod set;

use std::process::ExitCode;

use crate::app::EnvironmentSpec;
use crate::cli::Printer;

/// `kiln env` verbs.
#[derive(Debug, clap::Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Add an environment.
    #[command(long_about = add::HELP)]
    Add(add::Args),
    /// List the environments.
    List(list::Args),
    /// Remove an environment.
    Rm(rm::Args),
    /// Change an environment's cluster, namespace, version or labels.
    Set(set::Args),
    /// Show or set the default environment.
    Current(current::Args),
    /// Show an environment: cluster, namespace, labels, params and overrides.
    Describe(describe::Args),
}

impl Command {
    /// Run the verb.
    pub fn run(self, printer: &Printer) -> anyhow::Result<ExitCode> {
        match self {
            Command::Add(a) => add::run(a, printer),
            Command::List(a) => list::run(a, printer),
            Command::Rm(a) => rm::run(a, printer),
            Command::Set(a) => set::run(a, printer),
            Command::Current(a) => current::run(a, printer),
            Command::Describe(a) => describe::run(a, printer),
        }
    }
}

// Settings shared by `env add` and `env set`.
#[derive(Debug, clap::Args)]
struct SpecArgs {
    /// The kubeconfig context to deploy with.
    #[arg(long, conflicts_with = "server")]
    context: Option<String>,
    /// The API server URL, instead of a context.
    #[arg(long)]
    server: Option<String>,
    /// The namespace objects go to by default.
    #[arg(long, value_name = "NS", value_parser = parse_namespace)]
    namespace: Option<String>,
    /// The target Kubernetes version, `major.minor` (e.g. 1.33).
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    kubernetes_version: Option<String>,
    /// A label for every object, `KEY=VALUE` (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    labels: Vec<(String, String)>,
}

impl SpecArgs {
    fn into_spec(self) -> EnvironmentSpec {
        EnvironmentSpec {
            namespace: self.namespace,
            context: self.context,
            server: self.server,
            kubernetes_version: self.kubernetes_version,
            labels: self.labels.into_iter().map(|(k, v)| (k, Some(v))).collect(),
        }
    }
}

fn parse_namespace(text: &str) -> Result<String, String> {
    if crate::names::is_dns1123_label(text) {
        Ok(text.to_string())
    } else {
        Err(format!("`{text}` is not a valid namespace (a DNS-1123 label)"))
    }
}

fn parse_version(text: &str) -> Result<String, String> {
    let text = text.trim_start_matches('v');
    match text.split_once('.') {
        Some((major, minor)) if major.parse::<u32>().is_ok() && minor.parse::<u32>().is_ok() => {
            Ok(text.to_string())
        }
        _ => Err(format!("`{text}` is not a Kubernetes version like `1.33`")),
    }
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    let (k, v) = text.split_once('=').ok_or_else(|| format!("expected KEY=VALUE, got `{text}`"))?;
    crate::names::check_label(k, v)?;
    Ok((k.to_string(), v.to_string()))
}
