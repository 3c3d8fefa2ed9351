//! The app's hand-edited TOML files as typed values: `kiln.toml`, `components/<name>.toml` and
//! `environments/<name>.toml`. Reading checks every key and type and reports the file and line;
//! writing edits the document in place, so the user's comments and ordering survive.

use std::collections::BTreeMap;

use toml_edit::{Document, DocumentMut, Item, Table, Value};

use super::AppError;
use crate::render::Limit;

/// A param value as written in a file: JSON-shaped, typed later by the prototype's description.
#[derive(Debug, Clone, PartialEq)]
pub struct RawParam {
    /// The value.
    pub value: serde_json::Value,
    /// Where it was written: `components/web.toml:4`.
    pub origin: String,
}

/// Raw params by name.
pub type RawParams = BTreeMap<String, RawParam>;

/// The settings of a `[limits]` table, in the file's order: what `--limit NAME=VALUE` would
/// set, checked as `--limit` checks it.
pub type LimitSettings = Vec<(Limit, u64)>;

/// `kiln.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct AppFile {
    /// The app's name.
    pub name: String,
    /// The environment commands use when none is given.
    pub default_environment: Option<String>,
    /// Registries added with `kiln registry add`, by name.
    pub registries: BTreeMap<String, RegistryEntry>,
    /// The app's `[limits]`: over Kiln's defaults, under an environment's.
    pub limits: LimitSettings,
}

/// A `[registries.NAME]` table of `kiln.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryEntry {
    /// A directory, git URL or `oci://HOST/NAMESPACE`.
    pub uri: String,
    /// The git branch, tag or commit to read at.
    pub reference: Option<String>,
    /// Where it is written: `kiln.toml:7`.
    pub origin: String,
}

/// `components/<name>.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentFile {
    /// The prototype it instantiates: `registry/package/prototype`.
    pub prototype: String,
    /// The component's params.
    pub params: RawParams,
}

/// `environments/<name>.toml`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EnvironmentFile {
    /// The namespace objects go to by default.
    pub namespace: String,
    /// The kubeconfig context to deploy with.
    pub context: Option<String>,
    /// The API server URL, when given instead of a context.
    pub server: Option<String>,
    /// The target Kubernetes version (`major.minor`).
    pub kubernetes_version: String,
    /// Labels for every object.
    pub labels: BTreeMap<String, String>,
    /// Params for every component whose prototype declares them.
    pub params: RawParams,
    /// Per-component param overrides.
    pub components: BTreeMap<String, RawParams>,
    /// The environment's `[limits]`: over the app's, under `--limit`.
    pub limits: LimitSettings,
}

/// A parsed file with what is needed to point at its lines.
struct Source<'a> {
    path: &'a str,
    text: &'a str,
}

impl Source<'_> {
    fn parse(&self) -> Result<Document<&str>, AppError> {
        Document::parse(self.text).map_err(|e| AppError::Toml {
            path: self.path.into(),
            message: e.to_string().trim_end().to_string(),
        })
    }

    fn origin(&self, span: Option<std::ops::Range<usize>>) -> String {
        match span {
            Some(span) => {
                let line = self.text[..span.start.min(self.text.len())].matches('\n').count() + 1;
                format!("{}:{line}", self.path)
            }
            None => self.path.to_string(),
        }
    }

    fn error(&self, span: Option<std::ops::Range<usize>>, message: String) -> AppError {
        AppError::Invalid { location: self.origin(span), message }
    }

    fn check_keys(&self, table: &Table, allowed: &[&str], what: &str) -> Result<(), AppError> {
        for (key, item) in table.iter() {
            if !allowed.contains(&key) {
                let suggestion = crate::prototype::suggest(key, allowed.iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(
                    self.error(item.span(), format!("unknown key `{key}` in {what}{suggestion}"))
                );
            }
        }
        Ok(())
    }

    fn string(&self, table: &Table, key: &str) -> Result<Option<String>, AppError> {
        match table.get(key) {
            None => Ok(None),
            Some(Item::Value(Value::String(s))) => Ok(Some(s.value().clone())),
            Some(item) => Err(self.error(item.span(), format!("`{key}` must be a string"))),
        }
    }

    fn table<'d>(&self, table: &'d Table, key: &str) -> Result<Option<&'d Table>, AppError> {
        match table.get(key) {
            None => Ok(None),
            Some(Item::Table(t)) => Ok(Some(t)),
            Some(item) => Err(self.error(item.span(), format!("`{key}` must be a table"))),
        }
    }

    /// A `[limits]` table: each key a limit's name and each value its amount, read by the code
    /// that reads `--limit NAME=VALUE` ([`Limit::setting`]), so both say the same. An amount is
    /// a string as `--limit` takes it (`"512MiB"`, `"5e9"`) or a TOML number.
    fn limits(&self, table: &Table) -> Result<LimitSettings, AppError> {
        let mut settings = LimitSettings::new();
        for (key, item) in table.iter() {
            let invalid =
                |message: String| self.error(item.span(), format!("`[limits]`: {message}"));
            let amount = match item {
                Item::Value(Value::String(s)) => s.value().clone(),
                Item::Value(Value::Integer(i)) => i.value().to_string(),
                Item::Value(Value::Float(f)) => f.value().to_string(),
                _ => {
                    let limit: Limit = key.parse().map_err(invalid)?;
                    return Err(invalid(format!(
                        "limit `{limit}` must be a number or a string such as \"512MiB\""
                    )));
                }
            };
            settings.push(Limit::setting(key, &amount).map_err(invalid)?);
        }
        Ok(settings)
    }

    fn params(&self, table: &Table) -> Result<RawParams, AppError> {
        let mut params = RawParams::new();
        for (key, item) in table.iter() {
            let value = match item {
                Item::Value(v) => to_json(v).map_err(|m| self.error(item.span(), format!("param `{key}`: {m}")))?,
                _ => return Err(self.error(item.span(), format!("param `{key}` must be a value, not a table (write objects inline: `{key} = {{ a = 1 }}`)"))),
            };
            params.insert(key.to_string(), RawParam { value, origin: self.origin(item.span()) });
        }
        Ok(params)
    }
}

/// Convert a TOML value to JSON. Dates become strings.
fn to_json(value: &Value) -> Result<serde_json::Value, String> {
    Ok(match value {
        Value::String(s) => s.value().as_str().into(),
        Value::Integer(i) => (*i.value()).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f.value())
            .map(serde_json::Value::Number)
            .ok_or_else(|| format!("{} is not a finite number", f.value()))?,
        Value::Boolean(b) => (*b.value()).into(),
        Value::Datetime(d) => d.value().to_string().into(),
        Value::Array(a) => a.iter().map(to_json).collect::<Result<Vec<_>, _>>()?.into(),
        Value::InlineTable(t) => t
            .iter()
            .map(|(k, v)| Ok((k.to_string(), to_json(v)?)))
            .collect::<Result<serde_json::Map<_, _>, String>>()?
            .into(),
    })
}

/// How deeply arrays and tables written to an app file may nest: the TOML reader refuses more
/// than 80 levels, and a file Kiln writes must read back.
const MAX_DEPTH: usize = 64;

/// Convert JSON to a TOML value for writing. TOML has no null.
pub fn from_json(value: &serde_json::Value) -> Result<Value, String> {
    from_json_at(value, 0)
}

fn from_json_at(value: &serde_json::Value, depth: usize) -> Result<Value, String> {
    if (value.is_array() || value.is_object()) && depth == MAX_DEPTH {
        return Err(format!(
            "it nests arrays and objects more than {MAX_DEPTH} deep, which a TOML file cannot"
        ));
    }
    let from_json = |v| from_json_at(v, depth + 1);
    Ok(match value {
        serde_json::Value::Null => return Err("TOML cannot hold `null`".into()),
        serde_json::Value::Bool(b) => (*b).into(),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.into(),
            // Written as a float it would read back as another number.
            (None, _) if n.is_u64() => {
                return Err(format!("{n} is larger than TOML's largest integer, {}", i64::MAX));
            }
            (None, Some(f)) => f.into(),
            _ => return Err(format!("{n} does not fit a TOML number")),
        },
        serde_json::Value::String(s) => s.as_str().into(),
        serde_json::Value::Array(items) => {
            Value::Array(items.iter().map(from_json).collect::<Result<_, _>>()?)
        }
        serde_json::Value::Object(map) => {
            let mut table = toml_edit::InlineTable::new();
            for (k, v) in map {
                table.insert(k, from_json(v)?);
            }
            Value::InlineTable(table)
        }
    })
}

impl AppFile {
    /// Parse `kiln.toml`.
    pub fn parse(path: &str, text: &str) -> Result<Self, AppError> {
        let src = Source { path, text };
        let doc = src.parse()?;
        src.check_keys(
            doc.as_table(),
            &["name", "defaultEnvironment", "registries", "limits"],
            "kiln.toml",
        )?;
        let name = src
            .string(doc.as_table(), "name")?
            .ok_or_else(|| src.error(None, "missing `name`".into()))?;
        let mut registries = BTreeMap::new();
        if let Some(table) = src.table(doc.as_table(), "registries")? {
            for (reg, item) in table.iter() {
                let entry = src.table(table, reg)?.expect("iterated key exists");
                src.check_keys(entry, &["uri", "ref"], &format!("registry `{reg}`"))?;
                let uri = src.string(entry, "uri")?.ok_or_else(|| {
                    src.error(item.span(), format!("registry `{reg}` has no `uri`"))
                })?;
                registries.insert(
                    reg.to_string(),
                    RegistryEntry {
                        uri,
                        reference: src.string(entry, "ref")?,
                        origin: src.origin(item.span()),
                    },
                );
            }
        }
        Ok(AppFile {
            name,
            default_environment: src.string(doc.as_table(), "defaultEnvironment")?,
            registries,
            limits: match src.table(doc.as_table(), "limits")? {
                Some(t) => src.limits(t)?,
                None => LimitSettings::new(),
            },
        })
    }

    /// A new `kiln.toml`.
    pub fn render(&self) -> String {
        let mut doc = DocumentMut::new();
        doc.decor_mut().set_prefix(
            "# The Kiln app. Components are in components/, environments in environments/.\n",
        );
        doc["name"] = toml_edit::value(&self.name);
        if let Some(env) = &self.default_environment {
            doc["defaultEnvironment"] = toml_edit::value(env);
        }
        doc.to_string()
    }
}

impl ComponentFile {
    /// Parse `components/<name>.toml`.
    pub fn parse(path: &str, text: &str) -> Result<Self, AppError> {
        let src = Source { path, text };
        let doc = src.parse()?;
        src.check_keys(doc.as_table(), &["prototype", "params"], "a component")?;
        let prototype = src
            .string(doc.as_table(), "prototype")?
            .ok_or_else(|| src.error(None, "missing `prototype`".into()))?;
        let params = match src.table(doc.as_table(), "params")? {
            Some(t) => src.params(t)?,
            None => RawParams::new(),
        };
        Ok(ComponentFile { prototype, params })
    }
}

impl EnvironmentFile {
    /// Parse `environments/<name>.toml`.
    pub fn parse(path: &str, text: &str) -> Result<Self, AppError> {
        let src = Source { path, text };
        let doc = src.parse()?;
        let root = doc.as_table();
        src.check_keys(
            root,
            &[
                "namespace",
                "kubernetesVersion",
                "cluster",
                "labels",
                "params",
                "components",
                "limits",
            ],
            "an environment",
        )?;
        let mut env = EnvironmentFile {
            namespace: src.string(root, "namespace")?.unwrap_or_else(|| "default".into()),
            kubernetes_version: src
                .string(root, "kubernetesVersion")?
                .unwrap_or_else(|| crate::prototype::DEFAULT_KUBERNETES_VERSION.into()),
            ..Default::default()
        };
        if !crate::names::is_dns1123_label(&env.namespace) {
            return Err(src.error(
                root.get("namespace").and_then(|i| i.span()),
                format!("namespace `{}` is not a valid DNS-1123 label", env.namespace),
            ));
        }
        if let Some(cluster) = src.table(root, "cluster")? {
            src.check_keys(cluster, &["context", "server"], "`[cluster]`")?;
            env.context = src.string(cluster, "context")?;
            env.server = src.string(cluster, "server")?;
        }
        if let Some(labels) = src.table(root, "labels")? {
            for (key, item) in labels.iter() {
                let value = src.string(labels, key)?.unwrap_or_default();
                crate::names::check_label(key, &value).map_err(|m| src.error(item.span(), m))?;
                env.labels.insert(key.to_string(), value);
            }
        }
        if let Some(params) = src.table(root, "params")? {
            env.params = src.params(params)?;
        }
        if let Some(components) = src.table(root, "components")? {
            for (name, _) in components.iter() {
                let table = src.table(components, name)?.expect("iterated key exists");
                env.components.insert(name.to_string(), src.params(table)?);
            }
        }
        if let Some(limits) = src.table(root, "limits")? {
            env.limits = src.limits(limits)?;
        }
        Ok(env)
    }
}

/// Parse `text` for editing, reporting errors against `path`.
pub fn edit(path: &str, text: &str) -> Result<DocumentMut, AppError> {
    text.parse::<DocumentMut>().map_err(|e| AppError::Toml {
        path: path.into(),
        message: e.to_string().trim_end().to_string(),
    })
}

/// The table at `keys` in `doc`, created (as a standard table) if missing.
pub fn table_mut<'d>(doc: &'d mut DocumentMut, keys: &[&str]) -> &'d mut Table {
    let mut table = doc.as_table_mut();
    for key in keys {
        let item = table.entry(key).or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        if !item.is_table() {
            *item = Item::Table(Table::new());
        }
        table = item.as_table_mut().expect("just made a table");
    }
    table.set_implicit(false);
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_reads_every_section() {
        let text = r#"
namespace = "kubeflow"
kubernetesVersion = "1.30"
[cluster]
context = "gke"
[labels]
team = "ml"
[params]
cloud = "gke"
[components.nfs]
disks = ["pd1", "pd2"]
"#;
        let env = EnvironmentFile::parse("environments/cloud.toml", text).unwrap();
        assert_eq!(env.namespace, "kubeflow");
        assert_eq!(env.context.as_deref(), Some("gke"));
        assert_eq!(env.labels["team"], "ml");
        assert_eq!(env.params["cloud"].value, "gke");
        assert_eq!(env.params["cloud"].origin, "environments/cloud.toml:9");
        assert_eq!(env.components["nfs"]["disks"].value, serde_json::json!(["pd1", "pd2"]));
    }

    #[test]
    fn errors_name_file_and_line() {
        let err =
            EnvironmentFile::parse("environments/a.toml", "namespace = \"x\"\nnamspace = 1\n")
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environments/a.toml:2: unknown key `namspace` in an environment (did you mean `namespace`?)"
        );
        let err = ComponentFile::parse("components/web.toml", "prototype = \"a\"\n[params\n")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("components/web.toml: invalid TOML: TOML parse error at line 2"),
            "{err}"
        );
        let err = ComponentFile::parse("components/web.toml", "prototype = 3\n").unwrap_err();
        assert_eq!(err.to_string(), "components/web.toml:1: `prototype` must be a string");
    }

    #[test]
    fn limits_tables_take_what_the_command_line_takes() {
        let app = AppFile::parse(
            "kiln.toml",
            "name = \"a\"\n[limits]\nmemory = \"512MiB\"\nfuel = \"5e9\"\nobjects = 20\n",
        )
        .unwrap();
        assert_eq!(
            app.limits,
            [(Limit::Memory, 512 << 20), (Limit::Fuel, 5_000_000_000), (Limit::Objects, 20)]
        );
        let env = EnvironmentFile::parse(
            "environments/prod.toml",
            "[limits]\nstack = \"1MiB\"\ntime-ms = 1e3\n",
        )
        .unwrap();
        assert_eq!(env.limits, [(Limit::Stack, 1 << 20), (Limit::TimeMs, 1000)]);
        assert!(EnvironmentFile::parse("environments/a.toml", "").unwrap().limits.is_empty());
    }

    /// A `[limits]` error is `--limit`'s own message for the same setting, with the file, line
    /// and table in front.
    #[test]
    fn limits_errors_are_the_command_lines_with_file_and_line() {
        let env_error = |text: &str| {
            EnvironmentFile::parse("environments/prod.toml", text).unwrap_err().to_string()
        };
        let cli_error =
            |setting: &str| crate::render::Limits::default().apply(setting).unwrap_err();
        assert_eq!(
            env_error("namespace = \"x\"\n[limits]\nmemroy = \"1GiB\"\n"),
            format!("environments/prod.toml:3: `[limits]`: {}", cli_error("memroy=1GiB"))
        );
        assert!(cli_error("memroy=1").contains("(did you mean `memory`?)"));
        assert_eq!(
            env_error("[limits]\nfuel = \"lots\"\n"),
            "environments/prod.toml:2: `[limits]`: limit `fuel`: `lots` is not a whole number"
        );
        assert_eq!(
            env_error("[limits]\nfuel = -1\n"),
            "environments/prod.toml:2: `[limits]`: limit `fuel`: `-1` is not a whole number"
        );
        assert_eq!(
            env_error("[limits]\nfuel = 1.5\n"),
            format!("environments/prod.toml:2: `[limits]`: {}", cli_error("fuel=1.5"))
        );
        assert_eq!(
            env_error("[limits]\nstack = \"8MiB\"\n"),
            "environments/prod.toml:2: `[limits]`: limit `stack` can be at most 4194304 (4 MiB)"
        );
        assert_eq!(
            env_error("[limits]\nfuel = true\n"),
            "environments/prod.toml:2: `[limits]`: limit `fuel` must be a number or a string \
             such as \"512MiB\""
        );
        assert_eq!(env_error("limits = 3\n"), "environments/prod.toml:1: `limits` must be a table");
        let app_error =
            AppFile::parse("kiln.toml", "name = \"a\"\n[limits]\nobjcts = 1\n").unwrap_err();
        assert_eq!(
            app_error.to_string(),
            format!("kiln.toml:3: `[limits]`: {}", cli_error("objcts=1"))
        );
        assert!(app_error.to_string().contains("(did you mean `objects`?)"), "{app_error}");
    }

    #[test]
    fn json_round_trips_through_toml_values() {
        let json = serde_json::json!({"a": [1, 2.5, "x", true], "b": {"c": "d"}});
        assert_eq!(to_json(&from_json(&json).unwrap()).unwrap(), json);
        assert!(from_json(&serde_json::Value::Null).is_err());
    }

    /// Found by fuzzing (`fuzz/fuzz_targets/params.rs`): `param set` wrote an object param
    /// nested 81 to 128 levels deep (JSON allows 128), which TOML's reader refuses, so the
    /// component file no longer loaded.
    #[test]
    fn values_too_deep_to_read_back_are_refused() {
        let nested = |depth: usize| -> serde_json::Value {
            serde_json::from_str(&format!("{}{}", "[".repeat(depth), "]".repeat(depth))).unwrap()
        };
        let err = from_json(&nested(100)).unwrap_err();
        assert_eq!(err, "it nests arrays and objects more than 64 deep, which a TOML file cannot");
        let deepest = nested(MAX_DEPTH);
        let mut doc = DocumentMut::new();
        doc["prototype"] = toml_edit::value("p");
        table_mut(&mut doc, &["params"])["p"] = toml_edit::value(from_json(&deepest).unwrap());
        let file = ComponentFile::parse("components/web.toml", &doc.to_string()).unwrap();
        assert_eq!(file.params["p"].value, deepest);
    }

    /// Found by fuzzing (`fuzz/fuzz_targets/params.rs`): an integer past `i64::MAX` in an
    /// object param was written as the float 1.8446744073709552e19, so `param set` silently
    /// changed the value.
    #[test]
    fn integers_toml_cannot_hold_are_refused_not_rounded() {
        let json = serde_json::json!({ "big": u64::MAX });
        assert_eq!(
            from_json(&json).unwrap_err(),
            "18446744073709551615 is larger than TOML's largest integer, 9223372036854775807"
        );
        let fits = serde_json::json!([i64::MAX, i64::MIN, 1e300]);
        assert_eq!(to_json(&from_json(&fits).unwrap()).unwrap(), fits);
    }
}
