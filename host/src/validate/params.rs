//! A prototype's params as JSON Schema (Draft 2020-12), for `kiln prototype describe
//! --json-schema` and editors, and each component's resolved values checked against it.

use serde_json::{Map, Value, json};

use super::finding::{Check, Finding, Severity};
use super::schema::Compiled;
use crate::prototype::{Info, ParamType, Params};

/// The JSON Schema of `info`'s params: one property per param (type, default, doc as
/// description), required params listed, no other properties.
pub fn json_schema(info: &Info) -> Value {
    let mut properties = Map::new();
    for spec in &info.params {
        let mut property = match spec.ty {
            ParamType::String => json!({ "type": "string" }),
            ParamType::Integer => json!({ "type": "integer" }),
            ParamType::Number => json!({ "type": "number" }),
            ParamType::Boolean => json!({ "type": "boolean" }),
            ParamType::StringList => json!({ "type": "array", "items": { "type": "string" } }),
            // Any JSON value: an object param may hold a list or a scalar too.
            ParamType::Object => json!({}),
            ParamType::Secret => json!({
                "type": "object",
                "properties": { "secret": { "type": "string" } },
                "required": ["secret"],
                "additionalProperties": false,
            }),
        };
        if !spec.doc.is_empty() {
            property["description"] = spec.doc.clone().into();
        }
        if let Some(default) = &spec.default {
            property["default"] = default.to_json();
        }
        properties.insert(spec.name.clone(), property);
    }
    let required: Vec<&str> =
        info.params.iter().filter(|p| p.required).map(|p| p.name.as_str()).collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("params of prototype `{}`", info.name),
        "description": info.description,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// `params` as one JSON object, as they are checked.
pub fn values(params: &Params) -> Value {
    Value::Object(params.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// Findings for `component`'s resolved params, as [`values`], against `schema`, the JSON
/// schema of `info`'s params.
pub fn check(component: &str, info: &Info, schema: Value, values: &Value) -> Vec<Finding> {
    let finding = |path: String, message: String, hint: Option<String>| Finding {
        component: Some(component.to_string()),
        object: None,
        path,
        severity: Severity::Error,
        check: Check::Params,
        message,
        hint,
    };
    match Compiled::new(schema) {
        Ok(compiled) => compiled
            .check(values)
            .into_iter()
            .map(|p| {
                let message = p.message.replacen("field", "param", 1);
                let hint = p.hint.map(|h| h.replacen("fields", "params", 1));
                finding(format!("params.{}", p.path), message, hint)
            })
            .collect(),
        Err(e) => vec![finding(
            "params".into(),
            format!("the params of prototype `{}` make no valid schema: {e}", info.name),
            None,
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prototype::{ParamSpec, ParamValue, Permissions};

    fn info() -> Info {
        let spec = |name: &str, ty, required, default, doc: &str| ParamSpec {
            name: name.into(),
            ty,
            doc: doc.into(),
            required,
            default,
        };
        Info {
            name: "tf-serving".into(),
            description: "Serve a model".into(),
            params: vec![
                spec("name", ParamType::String, true, None, "The name"),
                spec("replicas", ParamType::Integer, false, Some(ParamValue::Integer(1)), ""),
                spec("ratio", ParamType::Number, false, None, ""),
                spec("gpu", ParamType::Boolean, false, Some(ParamValue::Boolean(false)), ""),
                spec("disks", ParamType::StringList, false, None, ""),
                spec("extra", ParamType::Object, false, None, ""),
            ],
            permissions: Permissions::default(),
        }
    }

    #[test]
    fn schema_has_a_property_per_param() {
        let schema = json_schema(&info());
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(schema["required"], json!(["name"]));
        assert_eq!(
            schema["properties"]["name"],
            json!({"type": "string", "description": "The name"})
        );
        assert_eq!(schema["properties"]["replicas"], json!({"type": "integer", "default": 1}));
        assert_eq!(
            schema["properties"]["disks"],
            json!({"type": "array", "items": {"type": "string"}})
        );
        assert_eq!(schema["properties"]["extra"], json!({}));
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn values_are_checked_against_it() {
        let params: Params = [
            ("replicas".to_string(), ParamValue::String("two".into())),
            ("replcas".to_string(), ParamValue::Integer(2)),
            ("extra".to_string(), ParamValue::Object(json!([1, "x"]))),
        ]
        .into_iter()
        .collect();
        let mut found: Vec<String> =
            check("serving", &info(), json_schema(&info()), &values(&params))
                .into_iter()
                .map(|f| format!("{}: {} {}", f.path, f.message, f.hint.unwrap_or_default()))
                .collect();
        found.sort();
        assert_eq!(
            found,
            [
                "params.name: missing required param `name` ",
                "params.replcas: unknown param `replcas` did you mean `replicas`?",
                "params.replicas: expected integer, got string \"two\" ",
            ]
        );
    }
}
