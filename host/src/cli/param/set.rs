//! `kiln param set` and `kiln param unset`.

use std::process::ExitCode;

use crate::app::ParamTarget;
use crate::cli::{Printer, RunArgs};

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

/// Run `kiln param set`.
pub fn set(args: SetArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let session = args.run.open(printer)?;
    let app = session.app()?;
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
    session.set_param(target, &key, &text)?;
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
