//! Prototypes built for the previous WIT, `kiln:prototype@0.2.0` (`wit-compat/0.2.0`), run
//! unchanged: 0.3.0 only added the `secret` param type, so every 0.2.0 value is a 0.3.0 value.
//! The host links both versions' imports, and converts at the boundary: what an old prototype
//! returns is lifted into the current types, what it is given is lowered into its own. It
//! cannot declare a secret param, and the views of other components it gets leave secret
//! params out, as they do for every prototype.
//!
//! To retire 0.2.0: delete this file, `wit-compat/0.2.0`, [`OLD_VERSIONS`]'s entry and the
//! `Wit::V0_2` arms in `engine.rs` (the compiler lists them).

use super::bindings::kiln::prototype::types as now;
use super::sandbox::Host;

mod generated {
    wasmtime::component::bindgen!({
        path: "../wit-compat/0.2.0",
        world: "prototype",
    });
}

use generated::kiln::prototype::types as old;
pub use generated::{Prototype, PrototypePre};
pub use old::PrototypeInfo;

/// The versions of the WIT package before this one that still run.
pub const OLD_VERSIONS: &[&str] = &["0.2.0"];

/// The arguments of a 0.2.0 `generate`, as lowered into the guest.
pub type GenerateParams<'a> = (&'a str, &'a [old::Param], &'a old::Environment);
/// Its result.
pub type GenerateResult = Result<String, old::RenderError>;

/// A 0.2.0 description as a current one.
pub fn info(info: old::PrototypeInfo) -> now::PrototypeInfo {
    now::PrototypeInfo {
        name: info.name,
        description: info.description,
        params: info
            .params
            .into_iter()
            .map(|p| now::ParamSpec {
                name: p.name,
                type_: param_type(p.type_),
                doc: p.doc,
                required: p.required,
                default: p.default.map(value),
            })
            .collect(),
        permissions: now::Permissions {
            cluster_scoped: info
                .permissions
                .cluster_scoped
                .into_iter()
                .map(|gk| now::GroupKind { group: gk.group, kind: gk.kind })
                .collect(),
            rbac: info.permissions.rbac,
            other_namespaces: info.permissions.other_namespaces,
        },
    }
}

fn param_type(ty: old::ParamType) -> now::ParamType {
    match ty {
        old::ParamType::String => now::ParamType::String,
        old::ParamType::Integer => now::ParamType::Integer,
        old::ParamType::Number => now::ParamType::Number,
        old::ParamType::Boolean => now::ParamType::Boolean,
        old::ParamType::StringList => now::ParamType::StringList,
        old::ParamType::Object => now::ParamType::Object,
    }
}

fn value(value: old::ParamValue) -> now::ParamValue {
    match value {
        old::ParamValue::String(s) => now::ParamValue::String(s),
        old::ParamValue::Integer(i) => now::ParamValue::Integer(i),
        old::ParamValue::Number(n) => now::ParamValue::Number(n),
        old::ParamValue::Boolean(b) => now::ParamValue::Boolean(b),
        old::ParamValue::StringList(l) => now::ParamValue::StringList(l),
        old::ParamValue::Object(o) => now::ParamValue::Object(o),
    }
}

/// A 0.2.0 prototype's refusal as a current one.
pub fn render_error(error: old::RenderError) -> now::RenderError {
    match error {
        old::RenderError::InvalidParam(p) => {
            now::RenderError::InvalidParam(now::ParamError { name: p.name, message: p.message })
        }
        old::RenderError::Failed(message) => now::RenderError::Failed(message),
    }
}

/// Params for a 0.2.0 prototype. A secret has no 0.2.0 form, and a 0.2.0 prototype declares
/// none (its params are checked against its description first), so none is left out that it
/// asked for; the views of other components lose theirs here.
pub fn params(params: &[now::Param]) -> Vec<old::Param> {
    params
        .iter()
        .filter_map(|p| {
            let value = match &p.value {
                now::ParamValue::String(s) => old::ParamValue::String(s.clone()),
                now::ParamValue::Integer(i) => old::ParamValue::Integer(*i),
                now::ParamValue::Number(n) => old::ParamValue::Number(*n),
                now::ParamValue::Boolean(b) => old::ParamValue::Boolean(*b),
                now::ParamValue::StringList(l) => old::ParamValue::StringList(l.clone()),
                now::ParamValue::Object(o) => old::ParamValue::Object(o.clone()),
                now::ParamValue::Secret(_) => return None,
            };
            Some(old::Param { name: p.name.clone(), value })
        })
        .collect()
}

/// The environment for a 0.2.0 prototype.
pub fn environment(env: now::Environment) -> old::Environment {
    old::Environment {
        name: env.name,
        namespace: env.namespace,
        server: env.server,
        kubernetes_version: env.kubernetes_version,
        labels: env.labels,
    }
}

impl generated::kiln::prototype::log::Host for Host {
    fn log(&mut self, level: old::Level, message: String) {
        let level = match level {
            old::Level::Debug => now::Level::Debug,
            old::Level::Info => now::Level::Info,
            old::Level::Warn => now::Level::Warn,
            old::Level::Error => now::Level::Error,
        };
        super::bindings::kiln::prototype::log::Host::log(self, level, message);
    }
}

impl generated::kiln::prototype::app::Host for Host {
    fn components(&mut self) -> Vec<old::ComponentView> {
        super::bindings::kiln::prototype::app::Host::components(self)
            .into_iter()
            .map(|c| old::ComponentView {
                name: c.name,
                prototype: c.prototype,
                params: params(&c.params),
            })
            .collect()
    }
}

impl old::Host for Host {}
