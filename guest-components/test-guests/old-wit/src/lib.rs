//! A prototype built against `kiln:prototype@0.2.0` (`wit-compat/0.2.0`) with wit-bindgen
//! alone, as third-party packages published before WIT 0.3.0 were: Kiln must still run it. It
//! renders a ConfigMap holding its `greeting` param, the environment's namespace and the params
//! it sees of every component, and logs a line.

// The generated import glue of `app.components` takes one argument per flattened field.
#![allow(clippy::too_many_arguments)]

wit_bindgen::generate!({
    path: "../../../wit-compat/0.2.0",
    world: "prototype",
});

// The world's own `use` puts `Environment`, `Param`, `PrototypeInfo` and `RenderError` here.
use kiln::prototype::types::{Level, ParamSpec, ParamType, ParamValue, Permissions};

struct Old;

impl Guest for Old {
    fn describe() -> PrototypeInfo {
        PrototypeInfo {
            name: "old-wit".into(),
            description: "A ConfigMap, from a prototype built for WIT 0.2.0".into(),
            params: vec![ParamSpec {
                name: "greeting".into(),
                type_: ParamType::String,
                doc: "What to say".into(),
                required: false,
                default: Some(ParamValue::String("hello".into())),
            }],
            permissions: Permissions {
                cluster_scoped: vec![],
                rbac: false,
                other_namespaces: false,
            },
        }
    }

    fn generate(
        component: String,
        params: Vec<Param>,
        environment: Environment,
    ) -> Result<String, RenderError> {
        let greeting = params
            .iter()
            .find_map(|p| match (&*p.name, &p.value) {
                ("greeting", ParamValue::String(s)) => Some(s.clone()),
                _ => None,
            })
            .ok_or_else(|| RenderError::Failed("no greeting".into()))?;
        let seen: Vec<String> = kiln::prototype::app::components()
            .iter()
            .flat_map(|c| c.params.iter().map(move |p| format!("{}.{}", c.name, p.name)))
            .collect();
        kiln::prototype::log::log(Level::Info, &format!("greeting {component}"));
        let object = serde_json::json!([{
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": { "name": component, "namespace": environment.namespace },
            "data": { "greeting": greeting, "seen": seen.join(",") },
        }]);
        Ok(object.to_string())
    }
}

export!(Old);
