//! `kiln param set` and `kiln param unset`.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::app::{App, ParamTarget};
use crate::cli::{Printer, RunArgs};
use crate::pipeline::{self, Prototypes};
use crate::prototype::{ParamSpec, ParamValue};

/// The long help of `param set` (`--help`), set on its subcommand: deferred arguments cannot
/// carry it (see `cli/mod.rs`).
pub(crate) const SET_HELP: &str = "\
Set a param, typed by the prototype's description (`a,b` for a list, `true` for a boolean, JSON \
for an object). The file keeps its comments and order. The components the change affects are \
rendered with the new value first: a value a prototype rejects is not written.

Examples:
  kiln param set web replicas 3              on the component `web`
  kiln param set --env prod web replicas 5   on `web` in the environment `prod` only
  kiln param set --env cloud cloud gke       for every component in `cloud` that declares `cloud`
  kiln param set --cloud=gke                 the same, ksonnet's way, in the current environment
  kiln param set --env=cloud nfs disks pd1,pd2";

#[derive(Debug, clap::Args)]
#[command(override_usage = "kiln param set [OPTIONS] [COMPONENT] KEY VALUE\n       \
                            kiln param set [--env ENV] --KEY=VALUE")]
pub struct SetArgs {
    /// The environment to set it in.
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// The component (omit it for an environment-wide param), the param's name and its value.
    #[arg(num_args = 1..=3, required = true, allow_hyphen_values = true, value_name = "ARG")]
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
    let mut env = args.env.clone();
    let (component, key, text) = match args.args.as_slice() {
        [c, k, v] if !c.starts_with("--") => (Some(c.clone()), k.clone(), v.clone()),
        [k, v] if !k.starts_with("--") => (None, k.clone(), v.clone()),
        // ksonnet's `--KEY=VALUE` (or `--KEY VALUE`): an environment-wide param.
        [flag] | [flag, _] if flag.starts_with("--") => {
            let (key, text) = match (args.args.as_slice(), flag[2..].split_once('=')) {
                ([_], Some((k, v))) => (k.to_string(), v.to_string()),
                ([_, v], None) => (flag[2..].to_string(), v.clone()),
                _ => anyhow::bail!("expected `--KEY=VALUE`, got `{}`", args.args.join(" ")),
            };
            if env.is_none() {
                let current = app.environment_or_default(None)?;
                printer.note(&format!(
                    "setting `{key}` for environment `{current}`, the current one (`--env ENV` \
                     for another)"
                ));
                env = Some(current);
            }
            (None, key, text)
        }
        _ => anyhow::bail!(
            "expected `[COMPONENT] KEY VALUE` or `--KEY=VALUE`, got `{}`",
            args.args.join(" ")
        ),
    };
    let target = target(env.as_deref(), component.as_deref())?;
    let limits = args.run.limits(Some(&app), env.as_deref())?;
    let engine = args.run.engine(&limits)?;
    let mut prototypes = Prototypes::new(&app, &engine, limits);
    let value = match spec(&app, &mut prototypes, component.as_deref(), &key)? {
        Some(spec) => spec.parse(&text)?,
        None => {
            printer.warn(&format!("no prototype declares `{key}`; stored as a string"));
            ParamValue::String(text.clone())
        }
    };
    let change = app.param_change(target, &key, &value)?;
    let changed = app.with_change(&change)?;
    for (env, selection) in affected(&app, target)? {
        // Each environment renders under its own limits, with an engine of its own only when
        // they differ.
        let env_limits = args.run.limits(Some(&app), Some(&env))?;
        let env_engine;
        let engine = if env_limits == limits {
            &engine
        } else {
            env_engine = args.run.engine(&env_limits)?;
            &env_engine
        };
        let generated = pipeline::generate(&changed, &env, &selection, engine, env_limits);
        crate::cli::flush_notes(engine, printer);
        generated.with_context(|| {
            format!("`{key}` was not set: the prototype refuses it in environment `{env}`")
        })?;
    }
    app.write_change(&change)?;
    Ok(ExitCode::SUCCESS)
}

/// What a change of a param at `target` may change: (environment, components to render; all
/// when empty).
fn affected(app: &App, target: ParamTarget) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    Ok(match target {
        ParamTarget::Component(c) => {
            app.environments()?.into_iter().map(|env| (env, vec![c.to_string()])).collect()
        }
        ParamTarget::EnvComponent { env, component } => {
            vec![(env.to_string(), vec![component.to_string()])]
        }
        ParamTarget::EnvGlobal(env) => vec![(env.to_string(), Vec::new())],
    })
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
