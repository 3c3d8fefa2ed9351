//! JSON Schema checks shared by built-in kinds, CRDs and params: compile a schema with the
//! `jsonschema` crate and turn its errors into Kubernetes-style messages (JSON paths, unknown
//! fields with a near-match suggestion, as kubectl's strict field validation reports them).

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use super::finding::{join, json_path};

/// A compiled schema and the document it came from (for suggestions).
pub struct Compiled {
    validator: jsonschema::Validator,
    document: Value,
}

/// One problem inside a value: where, what, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON path, `spec.template.spec.containers[0].image`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// A suggestion, e.g. the field that was probably meant.
    pub hint: Option<String>,
}

impl Compiled {
    /// Compile `document` (a Draft 2020-12 schema; `$ref`s point into its own `$defs`).
    /// Formats are annotations only: Kubernetes' formats (`int32`, `byte`) are not JSON
    /// Schema's, and the API server checks them where it cares.
    pub fn new(document: Value) -> Result<Self, String> {
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(false)
            .build(&document)
            .map_err(|e| e.to_string())?;
        Ok(Compiled { validator, document })
    }

    /// Every problem of `instance`, in the validator's order.
    pub fn check(&self, instance: &Value) -> Vec<Problem> {
        let mut problems = Vec::new();
        for error in self.validator.iter_errors(instance) {
            let segments: Vec<String> =
                error.instance_path().iter().map(|s| s.to_string()).collect();
            let path = json_path(instance, segments.iter().map(String::as_str));
            let at = at(instance, &segments);
            match error.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    problems.extend(self.unknown_fields(instance, &segments, &path, unexpected));
                }
                // `additionalProperties: false` beside no `properties` is reported this way, once
                // for the object.
                ValidationErrorKind::FalseSchema
                    if error.schema_path().as_str().ends_with("/additionalProperties") =>
                {
                    let fields: Vec<String> = at
                        .and_then(Value::as_object)
                        .map(|o| o.keys().cloned().collect())
                        .unwrap_or_default();
                    let known = self.properties_at(instance, &segments);
                    let unknown: Vec<String> =
                        fields.into_iter().filter(|f| !known.contains(f)).collect();
                    problems.extend(self.unknown_fields(instance, &segments, &path, &unknown));
                }
                ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    problems.push(Problem {
                        path: join(&path, name),
                        message: format!("missing required field `{name}`"),
                        hint: None,
                    });
                }
                ValidationErrorKind::Type { kind } => {
                    let expected: Vec<String> = match kind {
                        TypeKind::Single(t) => vec![t.to_string()],
                        TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
                    };
                    let expected: Vec<String> =
                        expected.into_iter().filter(|t| t != "null").collect();
                    problems.push(Problem {
                        path,
                        message: format!(
                            "expected {}, got {}",
                            expected.join(" or "),
                            describe(at.unwrap_or(&Value::Null))
                        ),
                        hint: None,
                    });
                }
                ValidationErrorKind::Enum { options } => {
                    let allowed: Vec<String> = options
                        .as_array()
                        .map(|o| o.iter().map(ToString::to_string).collect())
                        .unwrap_or_default();
                    problems.push(Problem {
                        path,
                        message: format!(
                            "{} is not one of {}",
                            at.map(ToString::to_string).unwrap_or_default(),
                            allowed.join(", ")
                        ),
                        hint: None,
                    });
                }
                _ => problems.push(Problem { path, message: error.to_string(), hint: None }),
            }
        }
        problems
    }

    /// One problem per unknown field of the object at `segments`, with a suggestion.
    fn unknown_fields(
        &self,
        instance: &Value,
        segments: &[String],
        path: &str,
        fields: &[String],
    ) -> Vec<Problem> {
        let known = self.properties_at(instance, segments);
        fields
            .iter()
            .map(|field| {
                let suggestion = crate::prototype::suggest(field, known.iter().map(String::as_str));
                Problem {
                    path: join(path, field),
                    message: format!("unknown field `{field}`"),
                    hint: Some(match suggestion {
                        Some(s) => format!("did you mean `{s}`?"),
                        None if known.is_empty() => "no fields are allowed here".into(),
                        None => format!("known fields: {}", list(&known, 12)),
                    }),
                }
            })
            .collect()
    }

    /// The property names the schema allows at `segments` of `instance`, following `$ref`,
    /// `items`, `properties`, `additionalProperties` and the branches of `allOf`/`anyOf`/`oneOf`.
    fn properties_at(&self, instance: &Value, segments: &[String]) -> Vec<String> {
        let mut nodes = vec![&self.document];
        let mut value = Some(instance);
        for segment in segments {
            let is_array = matches!(value, Some(Value::Array(_)));
            let mut next = Vec::new();
            for node in nodes.iter().flat_map(|n| self.expand(n)) {
                let child = if is_array {
                    node.get("items")
                } else {
                    node.get("properties")
                        .and_then(|p| p.get(segment))
                        .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))
                };
                next.extend(child);
            }
            nodes = next;
            value = value.and_then(|v| match v {
                Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
                other => other.get(segment),
            });
        }
        let mut names: Vec<String> = nodes
            .iter()
            .flat_map(|n| self.expand(n))
            .filter_map(|n| n.get("properties").and_then(Value::as_object))
            .flat_map(|p| p.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// `node` with its `$ref` followed and its combinator branches, each once.
    fn expand<'a>(&'a self, node: &'a Value) -> Vec<&'a Value> {
        let mut out = Vec::new();
        let mut stack = vec![node];
        while let Some(node) = stack.pop() {
            if out.len() > 64 {
                break; // A recursive schema: enough to suggest from.
            }
            out.push(node);
            if let Some(target) = node.get("$ref").and_then(Value::as_str).and_then(|r| {
                r.strip_prefix('#').and_then(|pointer| self.document.pointer(pointer))
            }) {
                stack.push(target);
            }
            for key in ["allOf", "anyOf", "oneOf"] {
                stack.extend(node.get(key).and_then(Value::as_array).into_iter().flatten());
            }
        }
        out
    }
}

/// The value at `segments` of `value`.
fn at<'v>(value: &'v Value, segments: &[String]) -> Option<&'v Value> {
    segments.iter().try_fold(value, |v, s| match v {
        Value::Array(items) => s.parse::<usize>().ok().and_then(|i| items.get(i)),
        other => other.get(s.as_str()),
    })
}

/// A value's JSON type with the value when it is short: `string "2"`, `object`.
fn describe(value: &Value) -> String {
    let ty = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let text = value.to_string();
    if matches!(value, Value::Array(_) | Value::Object(_)) || text.len() > 40 {
        ty.to_string()
    } else {
        format!("{ty} {text}")
    }
}

/// Names in backticks, at most `max` of them.
fn list(names: &[String], max: usize) -> String {
    let mut out: Vec<String> = names.iter().take(max).map(|n| format!("`{n}`")).collect();
    if names.len() > max {
        out.push(format!("and {} more", names.len() - max));
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Compiled {
        Compiled::new(json!({
            "$ref": "#/$defs/Thing",
            "$defs": {
                "Thing": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name"],
                    "properties": {
                        "name": { "type": "string" },
                        "replicas": { "type": ["integer", "null"] },
                        "policy": { "enum": ["Always", "Never"] },
                        "items": { "type": "array", "items": { "$ref": "#/$defs/Thing" } },
                    },
                },
            },
        }))
        .unwrap()
    }

    #[test]
    fn errors_become_paths_messages_and_suggestions() {
        let value = json!({
            "replcas": 2,
            "policy": "Sometimes",
            "items": [{ "name": "a", "replicas": "2" }],
        });
        let mut problems = schema().check(&value);
        problems.sort_by(|a, b| a.path.cmp(&b.path));
        let lines: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {} ({})", p.path, p.message, p.hint.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            lines,
            [
                "items[0].replicas: expected integer, got string \"2\" ()",
                "name: missing required field `name` ()",
                "policy: \"Sometimes\" is not one of \"Always\", \"Never\" ()",
                "replcas: unknown field `replcas` (did you mean `replicas`?)",
            ]
        );
    }

    #[test]
    fn suggestions_follow_refs_into_arrays() {
        let value = json!({ "name": "a", "items": [{ "name": "b", "nmae": "c" }] });
        let problems = schema().check(&value);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let unknown = problems.iter().find(|p| p.path == "items[0].nmae").unwrap();
        assert_eq!(unknown.hint.as_deref(), Some("did you mean `name`?"));
    }
}
