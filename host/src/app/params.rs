//! Resolving a component's params for an environment, with the precedence
//! prototype default < component < environment global < environment component override,
//! typing each value by the prototype's description and remembering where it came from.

use super::{AppError, ComponentFile, EnvironmentFile, RawParam};
use crate::prototype::{Info, ParamSpec, ParamType, ParamValue, Params};

/// Where a resolved param's value came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ParamSource {
    /// The prototype's default.
    Default,
    /// The component's file.
    Component,
    /// The environment's `[params]`.
    EnvGlobal,
    /// The environment's `[components.NAME]`.
    EnvOverride,
}

impl ParamSource {
    /// A short name for tables.
    pub fn name(&self) -> &'static str {
        match self {
            ParamSource::Default => "default",
            ParamSource::Component => "component",
            ParamSource::EnvGlobal => "environment",
            ParamSource::EnvOverride => "environment override",
        }
    }
}

/// One resolved param.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedParam {
    /// Its value.
    pub value: ParamValue,
    /// Where the value came from.
    pub source: ParamSource,
    /// `file:line`, when it came from a file.
    pub origin: Option<String>,
}

/// Type `raw` as the param `spec` declares. A string is accepted for a list (`"a,b"`), as
/// on the command line; integers are accepted for numbers.
pub fn typed(spec: &ParamSpec, raw: &RawParam) -> Result<ParamValue, AppError> {
    use serde_json::Value as J;
    // One arm per param type (no wildcard), so a new type fails to compile here until it
    // says which JSON values it accepts.
    let value = match spec.ty {
        ParamType::String => raw.value.as_str().map(|s| ParamValue::String(s.to_string())),
        ParamType::Integer => raw.value.as_i64().map(ParamValue::Integer),
        ParamType::Number => raw.value.as_f64().map(ParamValue::Number),
        ParamType::Boolean => raw.value.as_bool().map(ParamValue::Boolean),
        ParamType::StringList => match &raw.value {
            J::String(s) => spec.ty.parse(s).ok(),
            J::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(String::from))
                .collect::<Option<Vec<_>>>()
                .map(ParamValue::StringList),
            _ => None,
        },
        ParamType::Object => Some(ParamValue::Object(raw.value.clone())),
        // `{ secret = "NAME" }`, never the value: a bare string is refused, so a password typed
        // where its name belongs is not taken for a name (and the hint says what to do).
        ParamType::Secret => match raw.value.as_object() {
            Some(table) if table.len() == 1 => {
                table.get("secret").and_then(J::as_str).map(|s| ParamValue::Secret(s.to_string()))
            }
            _ => None,
        },
    };
    if spec.ty == ParamType::Secret && value.is_none() {
        return Err(AppError::Invalid {
            location: raw.origin.clone(),
            message: format!(
                "param `{}` is a secret: its value is the name of a secret of the environment, \
                 `{{ secret = \"NAME\" }}` (`kiln secret set ENV NAME` stores the value, \
                 encrypted; `kiln param set COMPONENT {} NAME` names it)",
                spec.name, spec.name
            ),
        });
    }
    value.ok_or_else(|| AppError::Invalid {
        location: raw.origin.clone(),
        message: format!(
            "param `{}` expects {} {}, got `{}`",
            spec.name,
            spec.ty.article(),
            spec.ty,
            raw.value
        ),
    })
}

/// Resolve the params of component `name` for `env`: every declared param that has a value,
/// with its source. Unknown params in the component or its override are errors naming the
/// file and line; environment globals apply only to prototypes that declare them.
pub fn resolve(
    info: &Info,
    name: &str,
    component: &ComponentFile,
    env: &EnvironmentFile,
) -> Result<std::collections::BTreeMap<String, ResolvedParam>, AppError> {
    let mut resolved = std::collections::BTreeMap::new();
    for spec in &info.params {
        if let Some(default) = &spec.default {
            resolved.insert(
                spec.name.clone(),
                ResolvedParam {
                    value: default.clone(),
                    source: ParamSource::Default,
                    origin: None,
                },
            );
        }
    }
    let empty = Default::default();
    let layers = [
        (&component.params, ParamSource::Component, true),
        (&env.params, ParamSource::EnvGlobal, false),
        (env.components.get(name).unwrap_or(&empty), ParamSource::EnvOverride, true),
    ];
    for (raw_params, source, strict) in layers {
        for (key, raw) in raw_params {
            let Some(spec) = info.param(key) else {
                if strict {
                    return Err(AppError::Invalid {
                        location: raw.origin.clone(),
                        message: info.unknown_param(key).to_string(),
                    });
                }
                continue;
            };
            resolved.insert(
                key.clone(),
                ResolvedParam {
                    value: typed(spec, raw)?,
                    source: source.clone(),
                    origin: Some(raw.origin.clone()),
                },
            );
        }
    }
    Ok(resolved)
}

/// Just the values of resolved params.
pub fn values(resolved: &std::collections::BTreeMap<String, ResolvedParam>) -> Params {
    resolved.iter().map(|(k, r)| (k.clone(), r.value.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::RawParams;
    use crate::prototype::Permissions;

    fn raw(value: serde_json::Value, origin: &str) -> RawParam {
        RawParam { value, origin: origin.into() }
    }

    fn info() -> Info {
        let spec = |name: &str, ty, default: Option<ParamValue>| ParamSpec {
            name: name.into(),
            ty,
            doc: String::new(),
            required: false,
            default,
        };
        Info {
            name: "nfs".into(),
            description: String::new(),
            params: vec![
                spec("disks", ParamType::StringList, Some(ParamValue::StringList(vec![]))),
                spec("cloud", ParamType::String, Some(ParamValue::String(String::new()))),
                spec("replicas", ParamType::Integer, Some(ParamValue::Integer(1))),
            ],
            permissions: Permissions::default(),
        }
    }

    #[test]
    fn precedence_is_default_component_global_override() {
        let component = ComponentFile {
            prototype: "kubeflow/core/nfs".into(),
            params: RawParams::from([
                ("disks".into(), raw(serde_json::json!("a"), "components/nfs.toml:3")),
                ("replicas".into(), raw(serde_json::json!(2), "components/nfs.toml:4")),
            ]),
        };
        let env = EnvironmentFile {
            params: RawParams::from([
                ("cloud".into(), raw(serde_json::json!("gke"), "environments/cloud.toml:5")),
                ("unrelated".into(), raw(serde_json::json!(1), "environments/cloud.toml:6")),
            ]),
            components: [(
                "nfs".to_string(),
                RawParams::from([(
                    "disks".into(),
                    raw(serde_json::json!(["pd1", "pd2"]), "environments/cloud.toml:8"),
                )]),
            )]
            .into(),
            ..Default::default()
        };
        let resolved = resolve(&info(), "nfs", &component, &env).unwrap();
        assert_eq!(resolved["disks"].source, ParamSource::EnvOverride);
        assert_eq!(
            resolved["disks"].value,
            ParamValue::StringList(vec!["pd1".into(), "pd2".into()])
        );
        assert_eq!(resolved["cloud"].source, ParamSource::EnvGlobal);
        assert_eq!(resolved["replicas"].value, ParamValue::Integer(2));
        assert!(!resolved.contains_key("unrelated"), "globals apply only where declared");
    }

    #[test]
    fn unknown_and_mistyped_params_name_file_and_line() {
        let component = ComponentFile {
            prototype: "p".into(),
            params: RawParams::from([(
                "replcas".into(),
                raw(serde_json::json!(2), "components/nfs.toml:4"),
            )]),
        };
        let err = resolve(&info(), "nfs", &component, &Default::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "components/nfs.toml:4: unknown param `replcas` for prototype `nfs` (did you mean `replicas`?)"
        );
        let spec = &info().params[2];
        let err = typed(spec, &raw(serde_json::json!("two"), "components/nfs.toml:4")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "components/nfs.toml:4: param `replicas` expects an integer, got `\"two\"`"
        );
    }
}
