//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): the pure functions behind
//! reading and editing app files and checking a prototype's output, which the library otherwise
//! reaches only through an app on disk or a running guest. Not a stable API.

use crate::app::{AppError, InstalledPackage};
use crate::render::{Error, Limits};

/// Read `kiln.lock`'s text: its packages, sorted, or why it is refused.
pub fn parse_lock(text: &str) -> Result<Vec<InstalledPackage>, AppError> {
    crate::app::packages::parse_lock(text)
}

/// The text `kiln pkg install` writes to `kiln.lock` for `packages`.
pub fn render_lock(packages: Vec<InstalledPackage>) -> String {
    crate::app::packages::render_lock(packages)
}

/// What `kiln param set` writes: `text` (the file `path`) with param `key` set to `value` in
/// the table at `keys` (`["params"]`, or `["components", NAME]` in an environment).
pub fn set_param(
    path: &str,
    text: &str,
    keys: &[&str],
    key: &str,
    value: &crate::prototype::ParamValue,
) -> Result<String, AppError> {
    crate::app::set_param_in(path, text, keys, key, value)
}

/// What `kiln param unset` writes; `None` when the param is not set there.
pub fn unset_param(
    path: &str,
    text: &str,
    keys: &[&str],
    key: &str,
) -> Result<Option<String>, AppError> {
    crate::app::unset_param_in(path, text, keys, key)
}

/// What `kiln env current --set` writes to `kiln.toml` (`None`: what `env rm` of the default
/// environment writes).
pub fn with_default_environment(text: &str, env: Option<&str>) -> Result<String, AppError> {
    crate::app::with_default_environment(text, env)
}

/// The host's check of the JSON a prototype's `generate` returned.
pub fn parse_output(
    label: &str,
    json: &str,
    limits: &Limits,
) -> Result<Vec<serde_json::Value>, Error> {
    crate::render::parse_output(label, json, limits)
}

/// The params typed from the arguments after a prototype's name (`--NAME=VALUE`,
/// `--NAME VALUE`); `None` for `--help`.
pub fn parse_param_args(
    info: &crate::prototype::Info,
    args: &[String],
) -> Result<Option<crate::prototype::Params>, crate::prototype::ParamError> {
    use crate::cli::params::{ParamArgs, parse};
    Ok(match parse(info, args)? {
        ParamArgs::Params(params) => Some(params),
        ParamArgs::Help => None,
    })
}
