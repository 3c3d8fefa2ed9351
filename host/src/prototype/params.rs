//! Param values against a prototype's description: parsing typed values from text, and
//! resolving given values (unknown names, wrong types, missing required, defaults) before any
//! guest code runs.

use super::{Info, ParamSpec, ParamType, ParamValue, Params};

/// A param value that does not fit the prototype's description.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// No param of that name.
    #[error("unknown param `{name}` for prototype `{prototype}`{}", did_you_mean(suggestion))]
    Unknown {
        /// The prototype.
        prototype: String,
        /// The name given.
        name: String,
        /// The closest declared name, if one is close.
        suggestion: Option<String>,
    },
    /// A value that cannot be read as the param's type.
    #[error("param `{name}` expects {article} {ty}, got `{value}`: {reason}", article = ty.article())]
    Invalid {
        /// The param.
        name: String,
        /// Its declared type.
        ty: ParamType,
        /// The text given.
        value: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A typed value of another type than declared.
    #[error("param `{name}` expects {article} {expected}, got {found_article} {found}", article = expected.article(), found_article = found.article())]
    WrongType {
        /// The param.
        name: String,
        /// Its declared type.
        expected: ParamType,
        /// The type given.
        found: ParamType,
    },
    /// Required params without a value.
    #[error("missing required param{} {} for prototype `{prototype}`", plural(names), list(names))]
    Missing {
        /// The prototype.
        prototype: String,
        /// The params, in declaration order.
        names: Vec<String>,
    },
}

impl ParamError {
    /// The name of the param at fault, when there is exactly one.
    pub fn param(&self) -> Option<&str> {
        match self {
            ParamError::Unknown { name, .. }
            | ParamError::Invalid { name, .. }
            | ParamError::WrongType { name, .. } => Some(name),
            ParamError::Missing { names, .. } if names.len() == 1 => Some(&names[0]),
            ParamError::Missing { .. } => None,
        }
    }
}

impl ParamError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ParamError::Unknown { .. } | ParamError::Missing { .. } => {
                Some("`kiln prototype describe` lists the prototype's params".into())
            }
            ParamError::Invalid { .. } | ParamError::WrongType { .. } => None,
        }
    }
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
}

fn plural(names: &[String]) -> &'static str {
    if names.len() == 1 { "" } else { "s" }
}

fn list(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// The closest of `candidates` to `name`, if it is close enough to be a likely typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&name.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

impl ParamType {
    /// Read `text` as a value of this type, the way the command line and `param set` do:
    /// a list from `a,b`, a boolean from `true`/`false`, JSON for objects, a secret's name
    /// for a secret.
    pub fn parse(self, text: &str) -> Result<ParamValue, String> {
        match self {
            ParamType::String => Ok(ParamValue::String(text.to_string())),
            ParamType::Integer => text
                .trim()
                .parse()
                .map(ParamValue::Integer)
                .map_err(|_| "not a whole number".to_string()),
            ParamType::Number => match text.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(ParamValue::Number(n)),
                _ => Err("not a finite number".to_string()),
            },
            ParamType::Boolean => match text.trim() {
                "true" => Ok(ParamValue::Boolean(true)),
                "false" => Ok(ParamValue::Boolean(false)),
                _ => Err("use `true` or `false`".to_string()),
            },
            ParamType::StringList => Ok(ParamValue::StringList(
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
            )),
            ParamType::Object => serde_json::from_str(text)
                .map(ParamValue::Object)
                .map_err(|err| format!("not valid JSON ({err})")),
            ParamType::Secret => crate::secrets::check_name(text.trim())
                .map(|()| ParamValue::Secret(text.trim().to_string())),
        }
    }
}

impl ParamSpec {
    /// Read `text` as this param's value.
    pub fn parse(&self, text: &str) -> Result<ParamValue, ParamError> {
        self.ty.parse(text).map_err(|reason| ParamError::Invalid {
            name: self.name.clone(),
            ty: self.ty,
            value: text.to_string(),
            reason,
        })
    }
}

impl Info {
    /// The closest declared param name to `name`.
    pub fn suggest_param(&self, name: &str) -> Option<String> {
        suggest(name, self.params.iter().map(|p| p.name.as_str()))
    }

    /// An unknown-param error for `name`, with a suggestion.
    pub fn unknown_param(&self, name: &str) -> ParamError {
        ParamError::Unknown {
            prototype: self.name.clone(),
            name: name.to_string(),
            suggestion: self.suggest_param(name),
        }
    }
}

/// Check `given` against `info` and complete it with defaults: the params a prototype's
/// `generate` receives. Fails on the first unknown or mistyped param, or on all missing ones.
pub fn resolve(info: &Info, given: &Params) -> Result<Params, ParamError> {
    for (name, value) in given {
        let spec = info.param(name).ok_or_else(|| info.unknown_param(name))?;
        if value.param_type() != spec.ty {
            return Err(ParamError::WrongType {
                name: name.clone(),
                expected: spec.ty,
                found: value.param_type(),
            });
        }
    }
    let missing: Vec<String> = info
        .params
        .iter()
        .filter(|p| p.required && !given.contains_key(&p.name))
        .map(|p| p.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(ParamError::Missing { prototype: info.name.clone(), names: missing });
    }
    let mut resolved = given.clone();
    for spec in &info.params {
        if let (Some(default), false) = (&spec.default, given.contains_key(&spec.name)) {
            resolved.insert(spec.name.clone(), default.clone());
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prototype::Permissions;

    fn info() -> Info {
        let spec = |name: &str, ty, required, default| ParamSpec {
            name: name.into(),
            ty,
            doc: String::new(),
            required,
            default,
        };
        Info {
            name: "tf-serving".into(),
            description: "serve".into(),
            params: vec![
                spec("name", ParamType::String, true, None),
                spec("modelPath", ParamType::String, true, None),
                spec("replicas", ParamType::Integer, false, Some(ParamValue::Integer(1))),
                spec("disks", ParamType::StringList, false, None),
            ],
            permissions: Permissions::default(),
        }
    }

    fn given(pairs: &[(&str, ParamValue)]) -> Params {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn parses_each_type_from_text() {
        assert_eq!(ParamType::Integer.parse(" 42"), Ok(ParamValue::Integer(42)));
        assert!(ParamType::Integer.parse("4.2").is_err());
        assert_eq!(ParamType::Number.parse("0.5"), Ok(ParamValue::Number(0.5)));
        assert!(ParamType::Number.parse("NaN").is_err());
        assert_eq!(ParamType::Boolean.parse("true"), Ok(ParamValue::Boolean(true)));
        assert!(ParamType::Boolean.parse("yes").is_err());
        assert_eq!(
            ParamType::StringList.parse("pd1, pd2,"),
            Ok(ParamValue::StringList(vec!["pd1".into(), "pd2".into()]))
        );
        assert_eq!(ParamType::StringList.parse(""), Ok(ParamValue::StringList(vec![])));
        assert_eq!(
            ParamType::Object.parse(r#"{"a":1}"#),
            Ok(ParamValue::Object(serde_json::json!({"a": 1})))
        );
        assert!(ParamType::Object.parse("{").is_err());
    }

    #[test]
    fn resolve_fills_defaults_and_keeps_given_values() {
        let params = given(&[
            ("name", ParamValue::String("inception".into())),
            ("modelPath", ParamValue::String("gs://m".into())),
        ]);
        let resolved = resolve(&info(), &params).unwrap();
        assert_eq!(resolved["replicas"], ParamValue::Integer(1));
        assert_eq!(resolved["name"], ParamValue::String("inception".into()));
        assert!(!resolved.contains_key("disks"), "no default, not given: absent");
    }

    #[test]
    fn unknown_param_suggests_the_nearest() {
        let params = given(&[("replcas", ParamValue::Integer(2))]);
        let err = resolve(&info(), &params).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown param `replcas` for prototype `tf-serving` (did you mean `replicas`?)"
        );
        assert_eq!(err.param(), Some("replcas"));
    }

    #[test]
    fn wrong_type_and_missing_params_are_named() {
        let params = given(&[("replicas", ParamValue::String("two".into()))]);
        let err = resolve(&info(), &params).unwrap_err();
        assert_eq!(err.to_string(), "param `replicas` expects an integer, got a string");

        let err = resolve(&info(), &Params::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing required params `name`, `modelPath` for prototype `tf-serving`"
        );
    }

    #[test]
    fn invalid_text_names_param_type_and_value() {
        let spec = info().params[2].clone();
        let err = spec.parse("lots").unwrap_err();
        assert_eq!(
            err.to_string(),
            "param `replicas` expects an integer, got `lots`: not a whole number"
        );
    }
}
