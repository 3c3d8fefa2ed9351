//! Offline validation of a rendered environment, before anything reaches a cluster: structure
//! (identity, names, labels, namespaces, duplicates), the schema of built-in kinds for the
//! environment's Kubernetes version, custom resources against their CRD's schema, and each
//! component's params against its prototype's param schema. Every finding is collected, none
//! stops the others. No I/O: the app's CRD files are read by the caller.

mod builtin;
mod crd;
mod finding;
mod memo;
mod params;
mod schema;
mod structure;

use std::collections::HashMap;

use serde_json::Value;

pub use builtin::{source as schema_source, versions as schema_versions};
pub use finding::{Check, Finding, Report, Severity};
pub use memo::{Fingerprint, Memo};
pub use params::json_schema as params_json_schema;

use crate::manifest::{self, Object};
use crate::prototype::{Info, Params};

/// Why validation could not run, or refused the output.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The schemas embedded in Kiln cannot be read (a bug in the build).
    #[error("cannot read the Kubernetes schemas built into Kiln: {0}")]
    Schemas(String),
    /// The environment has errors, so `show` or `apply` will not go on.
    #[error("environment `{environment}` is not valid: {summary}")]
    Invalid {
        /// The environment.
        environment: String,
        /// The report's summary line.
        summary: String,
        /// The flag that skips validation, for the hint.
        flag: &'static str,
    },
}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Schemas(_) => None,
            Error::Invalid { flag, .. } => Some(format!(
                "fix the errors above (`kiln validate ENV` lists them), or pass `{flag}` to go on \
                 anyway"
            )),
        }
    }
}

/// One component's params and the prototype that declares them.
pub struct ComponentParams<'a> {
    /// The component.
    pub component: &'a str,
    /// Its prototype's description.
    pub info: &'a Info,
    /// Its resolved params.
    pub params: &'a Params,
}

/// What to validate.
pub struct Input<'a> {
    /// The post-processed objects.
    pub objects: &'a [Object],
    /// What post-processing found wrong.
    pub problems: &'a [manifest::Error],
    /// The environment's Kubernetes version, `major.minor`.
    pub kubernetes_version: &'a str,
    /// The rendered components' params.
    pub components: Vec<ComponentParams<'a>>,
    /// CustomResourceDefinitions the user added to the app (`crds/`), besides those rendered.
    pub app_crds: &'a [Value],
    /// Objects an earlier run found valid under the same schemas: their schema checks are
    /// skipped.
    pub memo: Option<&'a Memo>,
}

/// Validate everything in `input`, collecting every finding.
pub fn validate(input: &Input) -> Result<Report, Error> {
    let mut findings = structure::from_manifest(input.problems);
    let mut crds: Vec<&Value> =
        input.objects.iter().map(|o| &o.value).filter(|v| manifest::is_crd(v)).collect();
    crds.extend(input.app_crds.iter());
    findings.extend(structure::check_objects(input.objects));

    let (mut builtin, note) =
        builtin::Builtin::for_version(input.kubernetes_version).map_err(Error::Schemas)?;
    findings.extend(note.map(|message| Finding {
        component: None,
        object: None,
        path: String::new(),
        severity: Severity::Warning,
        check: Check::Schema,
        message,
        hint: Some(
            "set the environment's version with `kiln env set ENV --kubernetes-version X.Y`".into(),
        ),
    }));
    let mut custom: HashMap<(String, String), Result<schema::Compiled, String>> = HashMap::new();
    let mut crd_schemas: HashMap<(String, String), String> = HashMap::new();
    let mut passed = Vec::new();
    let mut checks = Vec::with_capacity(input.objects.len());
    for object in input.objects {
        let value = &object.value;
        let api_version = value["apiVersion"].as_str().unwrap_or_default();
        let kind = value["kind"].as_str().unwrap_or_default();
        let definition = crd::find(&crds, api_version, kind);
        // What the object is checked against; none when the check cannot pass anyway.
        let schema = match &definition {
            None => Some(format!("builtin {} {api_version} {kind}", builtin.version())),
            Some(crd::Definition::Schema { crd, schema }) => Some(
                crd_schemas
                    .entry((crd.clone(), api_version.to_string()))
                    .or_insert_with(|| {
                        let digest = crate::checked::digest(schema.to_string().as_bytes());
                        format!("crd {crd} {api_version} {digest}")
                    })
                    .clone(),
            ),
            Some(_) => None,
        };
        checks.push((object, definition, schema));
    }
    let prints = fingerprints(input.memo, &checks);
    for ((object, definition, _), fingerprint) in checks.into_iter().zip(prints) {
        findings.extend(remembered(input.memo, fingerprint, &mut passed, || {
            check_schema(object, definition, &mut builtin, &mut custom)
        }));
    }
    // Components of one prototype share its params schema.
    let mut schemas: Vec<(&Info, Value, String)> = Vec::new();
    for c in &input.components {
        let known = schemas.iter().position(|(info, ..)| *info == c.info);
        let at = known.unwrap_or_else(|| {
            let schema = params::json_schema(c.info);
            let id = format!("params {schema}");
            schemas.push((c.info, schema, id));
            schemas.len() - 1
        });
        let (_, schema, id) = &schemas[at];
        let values = params::values(c.params);
        let fingerprint = input.memo.and_then(|memo| memo.fingerprint(id, &values));
        findings.extend(remembered(input.memo, fingerprint, &mut passed, || {
            params::check(c.component, c.info, schema.clone(), &values)
        }));
    }
    let mut report = Report::new(findings, input.objects.len());
    report.schemas = format!("Kubernetes {}", builtin.version());
    // Components with the same prototype and params share a fingerprint.
    passed.sort_unstable();
    passed.dedup();
    report.passed = passed;
    Ok(report)
}

/// The fingerprint of each object under its schema (`None`: a check that cannot pass, or no
/// memo), computed on every core for large renders: it serializes every object.
fn fingerprints(
    memo: Option<&Memo>,
    checks: &[(&Object, Option<crd::Definition>, Option<String>)],
) -> Vec<Option<Fingerprint>> {
    let Some(memo) = memo else { return vec![None; checks.len()] };
    crate::parallel::map(checks, |(object, _, schema)| {
        schema.as_ref().and_then(|schema| memo.fingerprint(schema, &object.value))
    })
}

/// The findings of `check`, unless `memo` remembers the check passing: `fingerprint` names
/// the value under its schema (`None`: a check that cannot pass). Fingerprints of checks that
/// pass, now or before, go to `passed`.
fn remembered(
    memo: Option<&Memo>,
    fingerprint: Option<Fingerprint>,
    passed: &mut Vec<Fingerprint>,
    check: impl FnOnce() -> Vec<Finding>,
) -> Vec<Finding> {
    if let (Some(memo), Some(known)) = (memo, fingerprint)
        && memo.contains(&known)
    {
        passed.push(known);
        return Vec::new();
    }
    let found = check();
    if found.is_empty() {
        passed.extend(fingerprint);
    }
    found
}

/// Schema findings for one object: against `definition`, its CRD if one defines it, else the
/// built-in schema of its kind.
fn check_schema(
    object: &Object,
    definition: Option<crd::Definition>,
    builtin: &mut builtin::Builtin,
    custom: &mut HashMap<(String, String), Result<schema::Compiled, String>>,
) -> Vec<Finding> {
    let value = &object.value;
    let api_version = value["apiVersion"].as_str().unwrap_or_default();
    let kind = value["kind"].as_str().unwrap_or_default();
    let object_ref = manifest::object_ref(value);
    let finding = |severity, path: &str, message: String, hint: Option<String>| {
        Finding::object(severity, Check::Schema, &object.component, &object_ref, path, message)
            .with_hint(hint)
    };
    let problems = |compiled: &schema::Compiled| -> Vec<Finding> {
        compiled
            .check(value)
            .into_iter()
            .map(|p| finding(Severity::Error, &p.path, p.message, p.hint))
            .collect()
    };
    if let Some(definition) = definition {
        return match definition {
            crd::Definition::Schema { crd, schema } => {
                let key = (crd.clone(), api_version.to_string());
                let compiled = custom.entry(key).or_insert_with(|| schema::Compiled::new(schema));
                match compiled {
                    Ok(compiled) => problems(compiled),
                    Err(e) => vec![finding(
                        Severity::Error,
                        "",
                        format!(
                            "the schema of CustomResourceDefinition `{crd}` cannot be used: {e}"
                        ),
                        None,
                    )],
                }
            }
            crd::Definition::NoSchema { crd } => vec![finding(
                Severity::Warning,
                "",
                format!(
                    "CustomResourceDefinition `{crd}` has no schema for `{api_version}`: fields not checked"
                ),
                None,
            )],
            crd::Definition::NotServed { crd, served } => vec![finding(
                Severity::Error,
                "apiVersion",
                format!("CustomResourceDefinition `{crd}` does not serve `{api_version}`"),
                Some(format!("served versions: {}", quoted(&served))),
            )],
        };
    }
    let version = builtin.version();
    match builtin.lookup(api_version, kind) {
        builtin::Lookup::Found(compiled) => problems(compiled),
        builtin::Lookup::NotServed(others) => vec![finding(
            Severity::Error,
            "apiVersion",
            format!("Kubernetes {version} has no `{kind}` in `{api_version}`"),
            Some(if others.is_empty() {
                format!(
                    "Kubernetes {version} has no built-in kind `{kind}`; is it a custom resource without its CustomResourceDefinition?"
                )
            } else {
                format!("use `apiVersion: {}`", others.join("` or `apiVersion: "))
            }),
        )],
        builtin::Lookup::Custom => vec![finding(
            Severity::Warning,
            "",
            format!("no schema for `{kind}` in `{api_version}`: fields not checked"),
            Some(
                "render its CustomResourceDefinition, or add the definition to the app's `crds/` \
                 directory"
                    .into(),
            ),
        )],
        builtin::Lookup::Broken(e) => vec![finding(
            Severity::Warning,
            "",
            format!("the built-in schema of `{kind}` cannot be used: {e}"),
            None,
        )],
    }
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
