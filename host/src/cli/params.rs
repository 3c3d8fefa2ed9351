//! Params on the command line, typed by the prototype's own description: `--name=value` or
//! `--name value`, and a `--help` generated from the declared params.

use crate::prototype::{Info, ParamError, ParamSpec, Params};
use crate::untrusted::{self, Untrusted};

/// What the trailing arguments asked for.
#[derive(Debug)]
pub enum ParamArgs {
    /// Param values, typed.
    Params(Params),
    /// `--help` / `-h`: show the params.
    Help,
}

/// Parse `args` against `info`'s params. Unknown names get a near-match suggestion; values
/// are converted to the declared type.
pub fn parse(info: &Info, args: &[String]) -> Result<ParamArgs, ParamError> {
    let mut params = Params::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(ParamArgs::Help);
        }
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(info.unknown_param(arg));
        };
        let (name, text) = match flag.split_once('=') {
            Some((name, text)) => (name, text.to_string()),
            None => {
                let spec = info.param(flag).ok_or_else(|| info.unknown_param(flag))?;
                let text = args.next().ok_or_else(|| ParamError::Invalid {
                    name: spec.name.clone(),
                    ty: spec.ty,
                    value: String::new(),
                    reason: "no value given".into(),
                })?;
                (flag, text.clone())
            }
        };
        let spec = info.param(name).ok_or_else(|| info.unknown_param(name))?;
        params.insert(spec.name.clone(), spec.parse(&text)?);
    }
    Ok(ParamArgs::Params(params))
}

/// Help listing `info`'s params, for `usage` (e.g. `kiln prototype preview FILE`). The
/// prototype's description is indented, so none of its lines can pass for one of Kiln's.
pub fn help(info: &Info, usage: &str) -> String {
    let mut out = format!(
        "{}\n\nUsage: {usage} [--PARAM=VALUE]...\n\nParams:\n",
        untrusted::block(info.description.trim_end(), "  ")
    );
    let flags: Vec<String> =
        info.params.iter().map(|p| format!("--{} <{}>", p.name, p.ty.placeholder())).collect();
    let width = flags.iter().map(String::len).max().unwrap_or(0);
    for (flag, p) in flags.iter().zip(&info.params) {
        out.push_str(&format!("  {flag:width$}  {}\n", describe_param(p)));
    }
    out
}

/// One line about a param: its doc, then `[required]` or `[default: ...]`. Doc and default
/// come from the prototype, and are shown escaped on that one line.
pub fn describe_param(p: &ParamSpec) -> String {
    let mut line = Untrusted(p.doc.trim()).to_string();
    if p.required {
        line.push_str(" [required]");
    } else if let Some(default) = &p.default {
        line.push_str(&format!(" [default: {}]", Untrusted(&shown(&default.to_string()))));
    }
    line.trim().to_string()
}

fn shown(value: &str) -> String {
    if value.is_empty() { "\"\"".to_string() } else { value.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prototype::{ParamType, ParamValue, Permissions};

    fn info() -> Info {
        Info {
            name: "web".into(),
            description: "A web server".into(),
            params: vec![
                ParamSpec {
                    name: "replicas".into(),
                    ty: ParamType::Integer,
                    doc: "How many".into(),
                    required: false,
                    default: Some(ParamValue::Integer(1)),
                },
                ParamSpec {
                    name: "disks".into(),
                    ty: ParamType::StringList,
                    doc: "Disks".into(),
                    required: true,
                    default: None,
                },
            ],
            permissions: Permissions::default(),
        }
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn both_flag_forms_are_typed() {
        let ParamArgs::Params(params) =
            parse(&info(), &args(&["--replicas=3", "--disks", "a,b"])).unwrap()
        else {
            panic!("expected params")
        };
        assert_eq!(params["replicas"], ParamValue::Integer(3));
        assert_eq!(params["disks"], ParamValue::StringList(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn unknown_flags_and_bad_values_are_named() {
        let err = parse(&info(), &args(&["--replicsa=3"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown param `replicsa` for prototype `web` (did you mean `replicas`?)"
        );
        let err = parse(&info(), &args(&["--replicas=many"])).unwrap_err();
        assert_eq!(err.param(), Some("replicas"));
        let err = parse(&info(), &args(&["--replicas"])).unwrap_err();
        assert!(err.to_string().contains("no value given"), "{err}");
    }

    #[test]
    fn help_lists_every_param_with_type_and_default() {
        assert!(matches!(parse(&info(), &args(&["--help"])), Ok(ParamArgs::Help)));
        let text = help(&info(), "kiln prototype preview web.wasm");
        assert!(text.contains("--replicas <INT>"), "{text}");
        assert!(text.contains("How many [default: 1]"), "{text}");
        assert!(text.contains("Disks [required]"), "{text}");
    }

    #[test]
    fn help_escapes_the_prototypes_text_and_indents_its_description() {
        let mut info = info();
        info.description = "Web\nerror: forged\u{1b}]52;c;eA==\u{7}\n".into();
        info.params[0].doc = "How\nerror: many\u{202e}".into();
        info.params[0].default = Some(ParamValue::String("a\rb".into()));
        let text = help(&info, "kiln generate web COMPONENT");
        assert!(text.starts_with("  Web\n  error: forged\\u{1b}]52;c;eA==\\u{7}\n\n"), "{text}");
        assert!(text.contains("How\\nerror: many\\u{202e} [default: a\\rb]"), "{text}");
        assert!(!text.lines().any(|l| l.starts_with("error:")), "{text}");
    }
}
