//! `kiln param set` and `kiln param unset`.

use std::process::ExitCode;

use crate::app::{App, ParamTarget};
use crate::cli::{Printer, RunArgs};
use crate::pipeline::Prototypes;
use crate::prototype::{ParamSpec, ParamValue};

// Set a param, typed by the prototype's description (`a,b` for a list, `true` for a boolean,
// JSON for an object). The file keeps its comments and order.
//
// `kiln param set web replicas 3` sets it on the component; with `--env E` it overrides the
// component in that environment; `kiln param set --env cloud cloud gke` (no component) sets it
// for every component in `cloud` whose prototype declares `cloud`.
#[derive(Debug, clap::Args)]
#[command(override_usage = "kiln param set [OPTIONS] [COMPONENT] KEY VALUE")]
pub struct SetArgs {
    /// The environment to set it in.
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// The component (omit it for an environment-wide param), the param's name and its value.
    #[arg(num_args = 2..=3, required = true, allow_hyphen_values = true, value_name = "ARG")]
    args: Vec<String>,
    #[command(flatten)]
    run: RunArgs,
}

// Remove a param from a component, an environment, or a component's override.
#[derive(Debug, clap::Args)]
#[command(override_usage = "kiln param unset [OPTIONS] [COMPONENT] KEY")]
pub struct UnsetArgs {
    /// The environment to remove it from.
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// The component (omit it for an environment-wide param) and the param's name.
    #[arg(num_args = 1..=2, required = true, value_name = "ARG")]
    args: Vec<String>,
}

fn target<'a>(env: Option<&'a str>, component: Option<&'a str>) -> anyhow::Result<ParamTarget<'a>> {
    Ok(match (env, component) {
        (Some(env), Some(component)) => ParamTarget::EnvComponent { env, component },
        (None, Some(component)) => ParamTarget::Component(component),
        (Some(env), None) => ParamTarget::EnvGlobal(env),
        (None, None) => {
            anyhow::bail!("a param without a component is environment-wide: add `--env ENV`")
        }
    })
}

/// The spec of `key`: from the component's prototype, or for an environment-wide param from
/// any component's or installed prototype that declares it.
fn spec(
    app: &App,
    prototypes: &mut Prototypes,
    component: Option<&str>,
    key: &str,
) -> anyhow::Result<Option<ParamSpec>> {
    if let Some(component) = component {
        let file = app.component(component)?;
        let info = &prototypes.load(Some(component), &file.prototype)?.info;
        return Ok(Some(info.param(key).cloned().ok_or_else(|| info.unknown_param(key))?));
    }
    let mut references: Vec<String> = Vec::new();
    for name in app.components()? {
        references.push(app.component(&name)?.prototype);
    }
    references.extend(app.installed_prototypes()?.iter().map(|p| p.reference()));
    for reference in references {
        if let Some(spec) = prototypes.load(None, &reference)?.info.param(key) {
            return Ok(Some(spec.clone()));
        }
    }
    Ok(None)
}

/// Run `kiln param set`.
pub fn set(args: SetArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let app = crate::cli::open_app()?;
    let (component, key, text) = match args.args.as_slice() {
        [c, k, v] => (Some(c.as_str()), k, v),
        [k, v] => (None, k, v),
        _ => unreachable!("clap takes 2 or 3"),
    };
    let target = target(args.env.as_deref(), component)?;
    let limits = args.run.limits()?;
    let engine = args.run.engine(&limits)?;
    let mut prototypes = Prototypes::new(&app, &engine, limits);
    let value = match spec(&app, &mut prototypes, component, key)? {
        Some(spec) => spec.parse(text)?,
        None => {
            printer.warn(&format!("no prototype declares `{key}`; stored as a string"));
            ParamValue::String(text.clone())
        }
    };
    app.set_param(target, key, &value)?;
    Ok(ExitCode::SUCCESS)
}

/// Run `kiln param unset`.
pub fn unset(args: UnsetArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let app = crate::cli::open_app()?;
    let (component, key) = match args.args.as_slice() {
        [c, k] => (Some(c.as_str()), k),
        [k] => (None, k),
        _ => unreachable!("clap takes 1 or 2"),
    };
    if !app.unset_param(target(args.env.as_deref(), component)?, key)? {
        printer.warn(&format!("`{key}` was not set there; nothing changed"));
    }
    Ok(ExitCode::SUCCESS)
}
