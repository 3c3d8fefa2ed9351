//! The host side of `wit/prototype.wit` (the one `bindgen!` of the host), and conversions
//! between its types and the plain types of [`crate::prototype`].

use crate::prototype::{
    ComponentView, Environment, GroupKind, Info, ParamSpec, ParamType, ParamValue, Params,
    Permissions,
};

mod generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "prototype",
    });
}

/// Facts of `wit/prototype.wit` that the host names in checks and messages, read from the
/// WIT by `build.rs` (with the parser `bindgen!` uses), so they cannot drift from it.
mod wit_facts {
    include!(concat!(env!("OUT_DIR"), "/wit.rs"));
}

pub use generated::kiln;
pub use generated::{Prototype, PrototypePre};
use kiln::prototype::types as wit;
pub use wit_facts::{WIT_PACKAGE, WIT_VERSION, WORLD_IMPORTS};

/// Convert a guest's description into host types. Fails (with a message) on a default whose
/// JSON does not parse; the remaining consistency checks are in `engine`.
pub fn info_from_wit(info: wit::PrototypeInfo) -> Result<Info, String> {
    let params = info
        .params
        .into_iter()
        .map(|p| {
            let default = p
                .default
                .map(|v| {
                    value_from_wit(v).map_err(|e| format!("default of param `{}`: {e}", p.name))
                })
                .transpose()?;
            Ok(ParamSpec {
                name: p.name,
                ty: type_from_wit(p.type_),
                doc: p.doc,
                required: p.required,
                default,
            })
        })
        .collect::<Result<_, String>>()?;
    let mut cluster_scoped: Vec<GroupKind> = info
        .permissions
        .cluster_scoped
        .into_iter()
        .map(|gk| GroupKind { group: gk.group, kind: gk.kind })
        .collect();
    cluster_scoped.sort();
    cluster_scoped.dedup();
    Ok(Info {
        name: info.name,
        description: info.description,
        params,
        permissions: Permissions {
            cluster_scoped,
            rbac: info.permissions.rbac,
            other_namespaces: info.permissions.other_namespaces,
        },
    })
}

fn type_from_wit(ty: wit::ParamType) -> ParamType {
    match ty {
        wit::ParamType::String => ParamType::String,
        wit::ParamType::Integer => ParamType::Integer,
        wit::ParamType::Number => ParamType::Number,
        wit::ParamType::Boolean => ParamType::Boolean,
        wit::ParamType::StringList => ParamType::StringList,
        wit::ParamType::Object => ParamType::Object,
        wit::ParamType::Secret => ParamType::Secret,
    }
}

fn value_from_wit(value: wit::ParamValue) -> Result<ParamValue, String> {
    Ok(match value {
        wit::ParamValue::String(s) => ParamValue::String(s),
        wit::ParamValue::Integer(i) => ParamValue::Integer(i),
        wit::ParamValue::Number(n) if n.is_finite() => ParamValue::Number(n),
        wit::ParamValue::Number(n) => return Err(format!("{n} is not a finite number")),
        wit::ParamValue::Boolean(b) => ParamValue::Boolean(b),
        wit::ParamValue::StringList(l) => ParamValue::StringList(l),
        wit::ParamValue::Object(json) => ParamValue::Object(
            serde_json::from_str(&json).map_err(|e| format!("invalid JSON: {e}"))?,
        ),
        // Only ever a default, which a secret cannot have: its value is the environment's.
        wit::ParamValue::Secret(_) => return Err("a secret param has no default".into()),
    })
}

fn value_to_wit(value: &ParamValue) -> wit::ParamValue {
    match value {
        ParamValue::String(s) => wit::ParamValue::String(s.clone()),
        ParamValue::Integer(i) => wit::ParamValue::Integer(*i),
        ParamValue::Number(n) => wit::ParamValue::Number(*n),
        ParamValue::Boolean(b) => wit::ParamValue::Boolean(*b),
        ParamValue::StringList(l) => wit::ParamValue::StringList(l.clone()),
        ParamValue::Object(v) => wit::ParamValue::Object(v.to_string()),
        // A reference by now (see `secrets::References::mint`), never a name or a value.
        ParamValue::Secret(reference) => wit::ParamValue::Secret(reference.clone()),
    }
}

/// Params as the guest receives them, sorted by name.
pub fn params_to_wit(params: &Params) -> Vec<wit::Param> {
    params
        .iter()
        .map(|(name, value)| wit::Param { name: name.clone(), value: value_to_wit(value) })
        .collect()
}

/// The environment as the guest receives it.
pub fn environment_to_wit(env: &Environment) -> wit::Environment {
    wit::Environment {
        name: env.name.clone(),
        namespace: env.namespace.clone(),
        server: env.server.clone(),
        kubernetes_version: env.kubernetes_version.clone(),
        labels: env.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    }
}

/// A component of the app as the guest sees it (`app.components`).
pub fn component_to_wit(c: &ComponentView) -> wit::ComponentView {
    wit::ComponentView {
        name: c.name.clone(),
        prototype: c.prototype.clone(),
        params: params_to_wit(&c.params),
    }
}

#[cfg(test)]
mod tests {
    use super::{WIT_PACKAGE, WIT_VERSION, WORLD_IMPORTS};

    /// The docs that name the WIT package name it at the version of `wit/prototype.wit`.
    #[test]
    fn docs_name_the_wit_version() {
        let docs = [
            ("README.md", include_str!("../../../README.md")),
            ("docs/prototypes.md", include_str!("../../../docs/prototypes.md")),
        ];
        let package = format!("{WIT_PACKAGE}@");
        for (path, text) in docs {
            assert!(text.contains(&package), "{path} no longer names `{package}`: drop it here");
            for (at, _) in text.match_indices(&package) {
                let version: String = text[at + package.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                    .collect();
                assert_eq!(
                    version.trim_end_matches('.'),
                    WIT_VERSION,
                    "{path} names {package}{version}; wit/prototype.wit is at {WIT_VERSION}"
                );
            }
        }
    }

    /// What `build.rs` read from the WIT: interfaces of this package at its version.
    #[test]
    fn the_world_imports_interfaces_of_the_package() {
        assert!(!WORLD_IMPORTS.is_empty());
        for name in WORLD_IMPORTS {
            let interface = name.strip_prefix(&format!("{WIT_PACKAGE}/")).expect(name);
            assert!(interface.ends_with(&format!("@{WIT_VERSION}")), "{name}");
        }
    }
}
