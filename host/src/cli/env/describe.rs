//! `kiln env describe NAME`.

use std::process::ExitCode;

use crate::cli::Printer;
use crate::untrusted::Untrusted;

// Show an environment: cluster, namespace, version, labels, params and overrides.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment (default: the current one).
    name: Option<String>,
}

/// Run `kiln env describe`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let app = crate::cli::open_app()?;
    let name = app.environment_or_default(args.name.as_deref())?;
    let env = app.environment(&name)?;
    let mut out = format!(
        "environment: {name}\nnamespace: {}\ncluster: {}\nkubernetes: {}\n",
        env.namespace,
        super::list::cluster(env.context.as_deref(), env.server.as_deref()),
        env.kubernetes_version
    );
    let section = |out: &mut String, title: &str, pairs: Vec<(String, String)>| {
        if !pairs.is_empty() {
            out.push_str(&format!("{title}:\n"));
            for (k, v) in pairs {
                out.push_str(&format!("  {} = {}\n", Untrusted(&k), Untrusted(&v)));
            }
        }
    };
    section(&mut out, "labels", env.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    section(
        &mut out,
        "params",
        env.params.iter().map(|(k, v)| (k.clone(), v.value.to_string())).collect(),
    );
    for (component, params) in &env.components {
        let pairs = params.iter().map(|(k, v)| (k.clone(), v.value.to_string())).collect();
        section(&mut out, &format!("component {component}"), pairs);
    }
    printer.text(&out)?;
    Ok(ExitCode::SUCCESS)
}
