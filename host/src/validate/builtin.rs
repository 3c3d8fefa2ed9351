//! The schemas of Kubernetes' built-in kinds, per Kubernetes minor version, embedded from
//! `kubernetes-schemas.json` (made by `scripts/gen-kubernetes-schemas` from the PyPI package
//! `kubernetes-validate`). Parsed lazily: its header (the versions) for every validation, its
//! outline only when a kind's schema is needed, then only the definitions that kind reaches.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::schema::Compiled;

const BUNDLE: &str = include_str!("kubernetes-schemas.json");
/// The bundle's `source` and `versions`, written beside it by the same script: every
/// validation needs them, few need the definitions.
const HEADER: &str = include_str!("kubernetes-versions.json");

/// Built-in API groups older than every embedded version, whose kinds now live elsewhere
/// (`extensions/v1beta1` Deployments and Ingresses).
const LEGACY_GROUPS: &[&str] = &["extensions"];

#[derive(Deserialize)]
struct Bundle<'a> {
    #[serde(borrow)]
    kinds: BTreeMap<&'a str, &'a str>,
    #[serde(borrow)]
    defs: HashMap<&'a str, Vec<Variant<'a>>>,
}

/// One definition's body, the same in the Kubernetes versions listed (indices into `versions`).
#[derive(Deserialize)]
struct Variant<'a> {
    v: Vec<usize>,
    #[serde(borrow)]
    s: &'a RawValue,
}

/// The bundle's source and versions: enough to pick a version, without the definitions.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    source: &'a str,
    #[serde(borrow)]
    versions: Vec<&'a str>,
}

fn header() -> Result<&'static Header<'static>, String> {
    static PARSED: OnceLock<Result<Header<'static>, String>> = OnceLock::new();
    parsed(&PARSED, HEADER)
}

fn bundle() -> Result<&'static Bundle<'static>, String> {
    static PARSED: OnceLock<Result<Bundle<'static>, String>> = OnceLock::new();
    parsed(&PARSED, BUNDLE)
}

/// `text` (embedded) parsed once into `cell`.
fn parsed<T: Deserialize<'static>>(
    cell: &'static OnceLock<Result<T, String>>,
    text: &'static str,
) -> Result<&'static T, String> {
    cell.get_or_init(|| {
        serde_json::from_str(text).map_err(|e| format!("embedded schemas are corrupt: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Where the built-in schemas come from, for notes: `kubernetes-validate 1.37.0 (PyPI)...`.
pub fn source() -> &'static str {
    header().map(|b| b.source).unwrap_or_default()
}

/// The Kubernetes versions schemas are embedded for, `major.minor`, oldest first.
pub fn versions() -> Vec<&'static str> {
    header().map(|b| b.versions.clone()).unwrap_or_default()
}

/// What the built-in schemas say about a kind.
pub enum Lookup<'a> {
    /// A built-in kind, served in this version: check against this schema.
    Found(&'a Compiled),
    /// An API group Kubernetes has, but not this `apiVersion`/kind in this version; the
    /// `apiVersion`s that serve the kind there, if any.
    NotServed(Vec<String>),
    /// Not a built-in group: a custom resource.
    Custom,
    /// The schema could not be used (a bug in the embedded file).
    Broken(String),
}

/// Built-in schemas for one Kubernetes version, compiled on first use per kind.
pub struct Builtin {
    version: usize,
    compiled: HashMap<(String, String), Result<Compiled, String>>,
}

impl Builtin {
    /// Schemas for Kubernetes `wanted` (`1.33`): that version's if embedded, else the nearest
    /// one, with a note saying which. `Err` if the embedded file cannot be read.
    pub fn for_version(wanted: &str) -> Result<(Self, Option<String>), String> {
        let bundle = header()?;
        // `1.33`, `v1.33` and `1.33.2` all mean 1.33.
        let parse = |v: &str| {
            let mut parts = v.trim().trim_start_matches('v').split('.');
            Some((parts.next()?.parse::<i64>().ok()?, parts.next()?.parse::<i64>().ok()?))
        };
        let wanted_parsed = parse(wanted);
        let exact = bundle
            .versions
            .iter()
            .position(|v| wanted_parsed.is_some() && parse(v) == wanted_parsed);
        let (index, note) = match exact {
            Some(i) => (i, None),
            None => {
                let target = wanted_parsed.unwrap_or((1, 0));
                let index = bundle
                    .versions
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, v)| {
                        let (major, minor) = parse(v).unwrap_or_default();
                        ((major - target.0) * 1000 + (minor - target.1)).abs()
                    })
                    .map(|(i, _)| i)
                    .ok_or("embedded schemas list no Kubernetes version")?;
                let note = format!(
                    "no schemas for Kubernetes {wanted}: built-in kinds are checked against \
                     Kubernetes {} (schemas embedded for {}..{})",
                    bundle.versions[index],
                    bundle.versions.first().unwrap_or(&""),
                    bundle.versions.last().unwrap_or(&""),
                );
                (index, Some(note))
            }
        };
        Ok((Builtin { version: index, compiled: HashMap::new() }, note))
    }

    /// The Kubernetes version these schemas are for.
    pub fn version(&self) -> &'static str {
        header().map(|b| b.versions[self.version]).unwrap_or_default()
    }

    /// The schema of `kind` in `api_version`.
    pub fn lookup(&mut self, api_version: &str, kind: &str) -> Lookup<'_> {
        let Ok(bundle) = bundle() else { return Lookup::Broken("no embedded schemas".into()) };
        let served = bundle
            .kinds
            .get(format!("{api_version} {kind}").as_str())
            .filter(|def| self.body(bundle, def).is_some());
        let Some(def) = served else {
            let group = crate::manifest::api_group(api_version);
            let builtin_group = LEGACY_GROUPS.contains(&group)
                || bundle.kinds.keys().any(|k| crate::manifest::api_group(gv(k)) == group);
            if !builtin_group {
                return Lookup::Custom;
            }
            let others = bundle
                .kinds
                .iter()
                .filter(|(k, def)| {
                    k.ends_with(&format!(" {kind}")) && self.body(bundle, def).is_some()
                })
                .map(|(k, _)| gv(k).to_string())
                .collect();
            return Lookup::NotServed(others);
        };
        let key = (api_version.to_string(), kind.to_string());
        if !self.compiled.contains_key(&key) {
            let compiled = self.document(bundle, def).and_then(Compiled::new);
            self.compiled.insert(key.clone(), compiled);
        }
        match &self.compiled[&key] {
            Ok(compiled) => Lookup::Found(compiled),
            Err(e) => Lookup::Broken(e.clone()),
        }
    }

    /// The body of definition `name` in this version.
    fn body(&self, bundle: &'static Bundle<'static>, name: &str) -> Option<&'static RawValue> {
        let variants = bundle.defs.get(name)?;
        variants.iter().find(|v| v.v.contains(&self.version)).map(|v| v.s)
    }

    /// A self-contained schema for definition `root`: it and every definition it reaches.
    fn document(&self, bundle: &'static Bundle<'static>, root: &str) -> Result<Value, String> {
        let mut defs = serde_json::Map::new();
        let mut todo = vec![root.to_string()];
        let mut seen = BTreeSet::new();
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let body = self.body(bundle, &name).ok_or(format!("definition `{name}` is missing"))?;
            let value: Value = serde_json::from_str(body.get()).map_err(|e| e.to_string())?;
            refs(&value, &mut todo);
            defs.insert(name, value);
        }
        Ok(serde_json::json!({ "$ref": format!("#/$defs/{root}"), "$defs": defs }))
    }
}

/// `apps/v1` of a `kinds` key `apps/v1 Deployment`.
fn gv(key: &str) -> &str {
    key.split_once(' ').map_or(key, |(gv, _)| gv)
}

/// The definitions `value` refers to.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        out.extend(r.strip_prefix("#/$defs/").map(String::from));
                    }
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn found<'a>(builtin: &'a mut Builtin, api_version: &str, kind: &str) -> &'a Compiled {
        match builtin.lookup(api_version, kind) {
            Lookup::Found(c) => c,
            _ => panic!("no schema for {api_version} {kind}"),
        }
    }

    #[test]
    fn the_header_is_the_bundles() {
        let bundle: serde_json::Value = serde_json::from_str(BUNDLE).unwrap();
        let header = header().unwrap();
        assert_eq!(bundle["source"], header.source);
        assert_eq!(bundle["versions"], serde_json::json!(header.versions));
    }

    #[test]
    fn embeds_versions_and_picks_the_nearest_with_a_note() {
        let versions = versions();
        assert!(versions.contains(&"1.33"), "{versions:?}");
        for exact in ["1.33", "v1.33", "1.33.2"] {
            let (builtin, note) = Builtin::for_version(exact).unwrap();
            assert_eq!((builtin.version(), note), ("1.33", None), "{exact}");
        }
        let (builtin, note) = Builtin::for_version("1.20").unwrap();
        assert_eq!(builtin.version(), versions[0]);
        assert!(note.unwrap().contains("no schemas for Kubernetes 1.20"));
        let (builtin, _) = Builtin::for_version("1.99").unwrap();
        assert_eq!(builtin.version(), *versions.last().unwrap());
    }

    #[test]
    fn deployment_fields_and_types_are_checked() {
        let (mut builtin, _) = Builtin::for_version("1.33").unwrap();
        let deployment = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": { "name": "web", "labels": { "app": "web" } },
            "spec": {
                "replcas": 2,
                "selector": { "matchLabels": { "app": "web" } },
                "template": {
                    "metadata": { "labels": { "app": "web" } },
                    "spec": { "containers": [{
                        "name": "web",
                        "image": "nginx",
                        "imagePullPolcy": "Always",
                        "ports": [{ "containerPort": "80" }],
                    }] },
                },
            },
        });
        let problems = found(&mut builtin, "apps/v1", "Deployment").check(&deployment);
        let mut lines: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {} {}", p.path, p.message, p.hint.clone().unwrap_or_default()))
            .collect();
        lines.sort();
        assert_eq!(
            lines,
            [
                "spec.replcas: unknown field `replcas` did you mean `replicas`?",
                "spec.template.spec.containers[0].imagePullPolcy: unknown field `imagePullPolcy` \
                 did you mean `imagePullPolicy`?",
                "spec.template.spec.containers[0].ports[0].containerPort: expected integer, got \
                 string \"80\" ",
            ]
        );
    }

    #[test]
    fn kinds_not_served_in_a_version_name_the_ones_that_are() {
        let (mut builtin, _) = Builtin::for_version("1.33").unwrap();
        match builtin.lookup("extensions/v1beta1", "Deployment") {
            Lookup::NotServed(others) => assert_eq!(others, ["apps/v1"]),
            _ => panic!("extensions/v1beta1 Deployment is gone since 1.16"),
        }
        assert!(matches!(builtin.lookup("tensorflow.org/v1alpha1", "TfJob"), Lookup::Custom));
        // Removed in 1.29: there in 1.25's schemas, not in 1.33's.
        let (mut old, _) = Builtin::for_version("1.25").unwrap();
        let v1beta2 = "flowcontrol.apiserver.k8s.io/v1beta2";
        assert!(matches!(old.lookup(v1beta2, "FlowSchema"), Lookup::Found(_)));
        match builtin.lookup(v1beta2, "FlowSchema") {
            Lookup::NotServed(others) => {
                assert_eq!(others, ["flowcontrol.apiserver.k8s.io/v1"]);
            }
            _ => panic!("v1beta2 FlowSchema is gone in 1.33"),
        }
    }
}
