//! Custom resources against the `openAPIV3Schema` of their CustomResourceDefinition: find the
//! definition (in the render or among the app's `crds/`), and turn its structural schema into
//! JSON Schema the way the API server reads it: `nullable`, `x-kubernetes-int-or-string`,
//! `x-kubernetes-preserve-unknown-fields`, `x-kubernetes-embedded-resource`, and unknown fields
//! as errors (strict field validation) rather than silently pruned.

use serde_json::{Map, Value, json};

/// Where a custom resource's schema comes from.
pub enum Definition {
    /// The definition has a schema for the version: check against it.
    Schema {
        /// `metadata.name` of the definition.
        crd: String,
        /// The schema, converted to JSON Schema.
        schema: Value,
    },
    /// The definition says nothing about the object's fields.
    NoSchema {
        /// `metadata.name` of the definition.
        crd: String,
    },
    /// The definition does not serve the object's version.
    NotServed {
        /// `metadata.name` of the definition.
        crd: String,
        /// The versions it serves.
        served: Vec<String>,
    },
}

/// The definition of `kind` in `api_version` among `crds` (values that are not
/// CustomResourceDefinitions are ignored), or `None`.
pub fn find(crds: &[&Value], api_version: &str, kind: &str) -> Option<Definition> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let crd = crds.iter().find(|crd| {
        crate::manifest::is_crd(crd)
            && crd.pointer("/spec/group").and_then(Value::as_str) == Some(group)
            && crd.pointer("/spec/names/kind").and_then(Value::as_str) == Some(kind)
    })?;
    let name =
        crd.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
    let versions = crd.pointer("/spec/versions").and_then(Value::as_array);
    let served: Vec<String> = versions
        .into_iter()
        .flatten()
        .filter(|v| v.get("served").and_then(Value::as_bool).unwrap_or(true))
        .filter_map(|v| v.get("name").and_then(Value::as_str).map(String::from))
        .collect();
    // apiextensions.k8s.io/v1beta1 had one `spec.version` and a schema for every version.
    let legacy_version = crd.pointer("/spec/version").and_then(Value::as_str);
    let entry = versions.into_iter().flatten().find(|v| v["name"] == version);
    let is_served = match entry {
        Some(entry) => entry.get("served").and_then(Value::as_bool).unwrap_or(true),
        None => legacy_version == Some(version),
    };
    if !is_served {
        let mut served = served;
        served.extend(legacy_version.map(String::from));
        return Some(Definition::NotServed { crd: name, served });
    }
    let schema = entry
        .and_then(|v| v.pointer("/schema/openAPIV3Schema"))
        .or_else(|| crd.pointer("/spec/validation/openAPIV3Schema"));
    Some(match schema {
        Some(schema) => Definition::Schema { crd: name, schema: to_json_schema(schema) },
        None => Definition::NoSchema { crd: name },
    })
}

/// A CRD's `openAPIV3Schema` as a Draft 2020-12 JSON Schema with Kubernetes' semantics.
pub fn to_json_schema(schema: &Value) -> Value {
    let mut root = convert(schema, true);
    if let Value::Object(root) = &mut root {
        // The API server checks these itself, whatever the schema says of them.
        let properties = root.entry("properties").or_insert_with(|| json!({}));
        if let Value::Object(properties) = properties {
            properties.insert("apiVersion".into(), json!({ "type": "string" }));
            properties.insert("kind".into(), json!({ "type": "string" }));
            properties.insert("metadata".into(), json!({ "type": "object" }));
        }
    }
    root
}

/// Convert one node. `structural` is false inside `allOf`/`anyOf`/`oneOf`/`not`, where a
/// structural schema only restricts values and never declares fields, so no field is unknown
/// there.
fn convert(node: &Value, structural: bool) -> Value {
    let Value::Object(node) = node else { return node.clone() };
    let flag = |key: &str| node.get(key).and_then(Value::as_bool).unwrap_or(false);
    let mut out = Map::new();
    for (key, value) in node {
        let converted = match key.as_str() {
            "properties" | "patternProperties" | "definitions" | "$defs" => match value {
                Value::Object(children) => Value::Object(
                    children.iter().map(|(k, v)| (k.clone(), convert(v, structural))).collect(),
                ),
                other => other.clone(),
            },
            "items" | "additionalProperties" => convert(value, structural),
            "allOf" | "anyOf" | "oneOf" => match value {
                Value::Array(branches) => {
                    Value::Array(branches.iter().map(|b| convert(b, false)).collect())
                }
                other => other.clone(),
            },
            "not" => convert(value, false),
            "nullable" => continue,
            k if k.starts_with("x-kubernetes-") => continue,
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    if flag("x-kubernetes-int-or-string") {
        out.insert("type".into(), json!(["integer", "string"]));
    }
    if flag("nullable") {
        match out.get_mut("type") {
            Some(Value::String(t)) => {
                let t = t.clone();
                out.insert("type".into(), json!([t, "null"]));
            }
            Some(Value::Array(types)) => types.push("null".into()),
            _ => {}
        }
    }
    if flag("x-kubernetes-embedded-resource") {
        let properties = out.entry("properties").or_insert_with(|| json!({}));
        if let Value::Object(properties) = properties {
            properties.entry("apiVersion").or_insert_with(|| json!({ "type": "string" }));
            properties.entry("kind").or_insert_with(|| json!({ "type": "string" }));
            properties.entry("metadata").or_insert_with(|| json!({ "type": "object" }));
        }
    }
    let is_object = out.get("type").and_then(Value::as_str) == Some("object");
    if structural && is_object && !flag("x-kubernetes-preserve-unknown-fields") {
        // Fields a structural schema does not name are pruned by the API server, and refused
        // with strict field validation (kubectl's default): report them.
        // (An empty `properties` makes the validator name each unknown field.)
        out.entry("properties").or_insert_with(|| json!({}));
        out.entry("additionalProperties").or_insert(Value::Bool(false));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::schema::Compiled;

    fn widget_crd(schema: Value) -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": { "name": "widgets.example.com" },
            "spec": {
                "group": "example.com",
                "names": { "kind": "Widget", "plural": "widgets" },
                "scope": "Namespaced",
                "versions": [
                    { "name": "v1", "served": true, "storage": true,
                      "schema": { "openAPIV3Schema": schema } },
                    { "name": "v0", "served": false, "storage": false },
                ],
            },
        })
    }

    fn problems(schema: Value, object: Value) -> Vec<String> {
        let crd = widget_crd(schema);
        let Some(Definition::Schema { schema, .. }) = find(&[&crd], "example.com/v1", "Widget")
        else {
            panic!("schema expected")
        };
        let mut lines: Vec<String> = Compiled::new(schema)
            .unwrap()
            .check(&object)
            .into_iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect();
        lines.sort();
        lines
    }

    #[test]
    fn kubernetes_extensions_mean_what_the_api_server_makes_of_them() {
        let schema = json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "port": { "x-kubernetes-int-or-string": true },
                        "note": { "type": "string", "nullable": true },
                        "extra": { "type": "object", "x-kubernetes-preserve-unknown-fields": true },
                        "template": { "type": "object", "x-kubernetes-embedded-resource": true,
                                      "properties": { "spec": { "type": "object" } } },
                        "size": { "type": "integer", "minimum": 1 },
                    },
                    "anyOf": [{ "required": ["port"] }, { "required": ["size"] }],
                },
            },
        });
        let good = json!({ "apiVersion": "example.com/v1", "kind": "Widget", "metadata": { "name": "w" },
            "spec": { "port": "http", "note": null, "extra": { "any": { "thing": 1 } },
                      "template": { "apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {} } } });
        assert_eq!(problems(schema.clone(), good), Vec::<String>::new());
        let bad = json!({ "apiVersion": "example.com/v1", "kind": "Widget", "metadata": { "name": "w" },
            "spec": { "port": 1.5, "size": 0, "colour": "red", "template": { "spec": { "x": 1 } } } });
        assert_eq!(
            problems(schema, bad),
            [
                "spec.colour: unknown field `colour`",
                "spec.port: expected integer or string, got number 1.5",
                "spec.size: 0 is less than the minimum of 1",
                "spec.template.spec.x: unknown field `x`",
            ]
        );
    }

    #[test]
    fn versions_the_definition_does_not_serve_are_named() {
        let crd = widget_crd(json!({ "type": "object" }));
        for version in ["v0", "v2"] {
            match find(&[&crd], &format!("example.com/{version}"), "Widget") {
                Some(Definition::NotServed { crd, served }) => {
                    assert_eq!((crd.as_str(), served), ("widgets.example.com", vec!["v1".into()]));
                }
                _ => panic!("{version} is not served"),
            }
        }
        assert!(find(&[&crd], "example.com/v1", "Gadget").is_none());
        assert!(find(&[&crd], "other.com/v1", "Widget").is_none());
    }
}
