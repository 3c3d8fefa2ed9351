//! Checks on an object's identity that need no schema: names by the rule of their kind, the
//! namespace, label and annotation syntax; and post-processing's own problems (missing fields,
//! duplicates, namespaced cluster-scoped objects) as findings.

use serde_json::Value;

use super::finding::{Check, Finding, Severity, join};
use crate::manifest::{self, Object};
use crate::names::{check_label, is_dns1123_label, is_dns1123_subdomain};

/// How Kubernetes validates the name of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameRule {
    /// DNS-1123 subdomain: most kinds.
    Subdomain,
    /// DNS-1123 label: Namespaces.
    Label,
    /// DNS-1035 label (starts with a letter): Services.
    Dns1035,
    /// Any path segment (no `/`, `%`, not `.` or `..`): RBAC kinds.
    PathSegment,
}

fn name_rule(api_version: &str, kind: &str) -> NameRule {
    match (manifest::api_group(api_version), kind) {
        ("", "Namespace") => NameRule::Label,
        ("", "Service") => NameRule::Dns1035,
        (
            "rbac.authorization.k8s.io",
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding",
        ) => NameRule::PathSegment,
        _ => NameRule::Subdomain,
    }
}

fn check_name(rule: NameRule, name: &str) -> Result<(), String> {
    let ok = match rule {
        NameRule::Subdomain => is_dns1123_subdomain(name),
        NameRule::Label => is_dns1123_label(name),
        NameRule::Dns1035 => {
            is_dns1123_label(name) && name.starts_with(|c: char| c.is_ascii_lowercase())
        }
        NameRule::PathSegment => !matches!(name, "." | "..") && !name.contains(['/', '%']),
    };
    if ok {
        return Ok(());
    }
    Err(match rule {
        NameRule::Subdomain => format!(
            "invalid name `{name}`: a DNS-1123 subdomain is at most 253 lowercase letters, digits, \
             `-` and `.`, starting and ending with a letter or digit"
        ),
        NameRule::Label => format!(
            "invalid name `{name}`: a DNS-1123 label is at most 63 lowercase letters, digits and \
             `-`, starting and ending with a letter or digit"
        ),
        NameRule::Dns1035 => format!(
            "invalid name `{name}`: a Service name is a DNS-1035 label: at most 63 lowercase \
             letters, digits and `-`, starting with a letter and ending with a letter or digit"
        ),
        NameRule::PathSegment => {
            format!("invalid name `{name}`: it may not be `.` or `..` or contain `/` or `%`")
        }
    })
}

/// Findings about each object's name, namespace, labels and annotations.
pub fn check_objects(objects: &[Object]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for Object { component, value, scope } in objects {
        let object = manifest::object_ref(value);
        let error = |path: &str, message: String| {
            Finding::object(Severity::Error, Check::Structure, component, &object, path, message)
        };
        let api_version = value["apiVersion"].as_str().unwrap_or_default();
        let kind = value["kind"].as_str().unwrap_or_default();
        let name = value["metadata"]["name"].as_str().unwrap_or_default();
        if let Err(message) = check_name(name_rule(api_version, kind), name) {
            findings.push(error("metadata.name", message));
        }
        if manifest::is_crd(value) {
            findings.extend(check_crd_name(value).map(|m| error("metadata.name", m)));
        }
        let namespace = value["metadata"]["namespace"].as_str().unwrap_or_default();
        if !namespace.is_empty() && !is_dns1123_label(namespace) {
            findings.push(error(
                "metadata.namespace",
                format!("invalid namespace `{namespace}`: namespaces are DNS-1123 labels"),
            ));
        }
        if namespace.is_empty() && *scope != Some(manifest::Scope::Cluster) {
            findings.push(
                error("metadata.namespace", format!("namespaced kind `{kind}` has no namespace"))
                    .with_hint(Some(
                        "set one in the prototype, or give the environment a namespace \
                         (`kiln env set ENV --namespace NAMESPACE`)"
                            .into(),
                    )),
            );
        }
        for path in [
            &["metadata", "labels"][..],
            &["spec", "selector", "matchLabels"],
            &["spec", "template", "metadata", "labels"],
        ] {
            findings.extend(check_labels(value, path).into_iter().map(|(p, m)| error(&p, m)));
        }
        findings.extend(check_selector(value).map(|m| error("spec.selector.matchLabels", m)));
        if let Some(annotations) = value["metadata"]["annotations"].as_object() {
            for key in annotations.keys() {
                if let Err(message) = check_label(key, "") {
                    let message = message.replacen("label key", "annotation key", 1);
                    findings.push(error(&join("metadata.annotations", key), message));
                }
            }
        }
    }
    findings
}

/// Label syntax of the string map at `path`; values of other types are the schema's business.
fn check_labels(value: &Value, path: &[&str]) -> Vec<(String, String)> {
    let Some(labels) = path.iter().try_fold(value, |v, k| v.get(k)).and_then(Value::as_object)
    else {
        return Vec::new();
    };
    let at = path.join(".");
    labels
        .iter()
        .filter_map(|(key, v)| {
            let message = check_label(key, v.as_str().unwrap_or_default()).err()?;
            Some((join(&at, key), message))
        })
        .collect()
}

/// A workload's selector must select its own pods: the API server refuses a Deployment,
/// StatefulSet, DaemonSet or ReplicaSet whose `matchLabels` its pod template does not carry.
fn check_selector(value: &Value) -> Option<String> {
    let workload = manifest::api_group(value["apiVersion"].as_str().unwrap_or_default()) == "apps"
        && matches!(
            value["kind"].as_str(),
            Some("Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        );
    let selector = value.pointer("/spec/selector/matchLabels")?.as_object()?;
    let labels = value.pointer("/spec/template/metadata/labels").and_then(Value::as_object);
    let missing: Vec<String> = selector
        .iter()
        .filter(|(k, v)| labels.and_then(|l| l.get(*k)) != Some(*v))
        .map(|(k, v)| format!("`{k}={}`", v.as_str().unwrap_or_default()))
        .collect();
    (workload && !missing.is_empty()).then(|| {
        format!(
            "selector does not match the pod template's labels: the template lacks {}",
            missing.join(", ")
        )
    })
}

/// A CRD's name must be `<plural>.<group>`.
fn check_crd_name(crd: &Value) -> Option<String> {
    let plural = crd.pointer("/spec/names/plural").and_then(Value::as_str)?;
    let group = crd.pointer("/spec/group").and_then(Value::as_str)?;
    let name = crd.pointer("/metadata/name").and_then(Value::as_str)?;
    let expected = format!("{plural}.{group}");
    (name != expected).then(|| {
        format!("a CustomResourceDefinition's name must be `<plural>.<group>`: `{expected}`")
    })
}

/// Post-processing's problems, as findings.
pub fn from_manifest(problems: &[manifest::Error]) -> Vec<Finding> {
    problems
        .iter()
        .map(|problem| {
            let hint = problem.hint();
            let finding = match problem {
                manifest::Error::Duplicate { object, first, second } => Finding::object(
                    Severity::Error,
                    Check::Structure,
                    second,
                    object,
                    "",
                    if first == second {
                        "rendered twice by this component".to_string()
                    } else {
                        format!("also rendered by component `{first}`")
                    },
                ),
                manifest::Error::NamespaceOnClusterScoped { component, object } => Finding::object(
                    Severity::Error,
                    Check::Structure,
                    component,
                    object,
                    "metadata.namespace",
                    "cluster-scoped objects carry no namespace",
                ),
                manifest::Error::InvalidObject { component, index, item, path, message } => {
                    let items: String = item.iter().map(|i| format!(" item #{i}")).collect();
                    Finding::object(
                        Severity::Error,
                        Check::Structure,
                        component,
                        &format!("object #{index}{items}"),
                        path.clone(),
                        message.clone(),
                    )
                }
                manifest::Error::Nested { component, object } => Finding::object(
                    Severity::Error,
                    Check::Structure,
                    component,
                    object,
                    "items",
                    "only a List may carry objects",
                ),
                manifest::Error::InvalidPhase { component, object, message } => Finding::object(
                    Severity::Error,
                    Check::Structure,
                    component,
                    object,
                    format!("metadata.annotations.{}", manifest::PHASE_ANNOTATION),
                    message.clone(),
                ),
                manifest::Error::Reserved { component, object, what } => Finding::object(
                    Severity::Error,
                    Check::Structure,
                    component,
                    object,
                    "metadata",
                    what.clone(),
                ),
            };
            finding.with_hint(hint)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Object {
        let scope = manifest::Scopes::new().of(
            value["apiVersion"].as_str().unwrap_or_default(),
            value["kind"].as_str().unwrap_or_default(),
        );
        Object { component: "web".into(), value, scope }
    }

    fn messages(findings: &[Finding]) -> Vec<String> {
        findings
            .iter()
            .map(|f| format!("{} {}: {}", f.object.as_deref().unwrap_or(""), f.path, f.message))
            .collect()
    }

    #[test]
    fn names_follow_the_rule_of_their_kind() {
        let objects = [
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a.b-c", "namespace": "ns"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Web_1", "namespace": "ns"}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1web", "namespace": "ns"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "system:reader"}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "a/b", "namespace": "ns"}}),
        ];
        let objects: Vec<Object> = objects.into_iter().map(object).collect();
        let found = messages(&check_objects(&objects));
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(found[0].starts_with(
            "ConfigMap/ns/Web_1 metadata.name: invalid name `Web_1`: a DNS-1123 subdomain"
        ));
        assert!(found[1].starts_with(
            "Service/ns/1web metadata.name: invalid name `1web`: a Service name is a DNS-1035 label"
        ));
        assert!(
            found[2]
                .starts_with("Namespace/a.b metadata.name: invalid name `a.b`: a DNS-1123 label")
        );
        assert!(found[3].starts_with("Role/ns/a/b metadata.name: invalid name `a/b`"));
    }

    #[test]
    fn namespaces_labels_and_annotations() {
        let objects = [
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
                "name": "web", "namespace": "Shop",
                "labels": {"app": "web", "bad key": "x", "tier": "front end"},
                "annotations": {"example.com/ok": "anything at all", "-nope": ""}},
                "spec": {"selector": {"matchLabels": {"app": "web!"}},
                         "template": {"metadata": {"labels": {"app": "web!"}}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        ];
        let objects: Vec<Object> = objects.into_iter().map(object).collect();
        let found = messages(&check_objects(&objects));
        let paths: Vec<&str> = found.iter().map(|m| m.split(':').next().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "Deployment/Shop/web metadata.namespace",
                "Deployment/Shop/web metadata.labels[\"bad key\"]",
                "Deployment/Shop/web metadata.labels.tier",
                "Deployment/Shop/web spec.selector.matchLabels.app",
                "Deployment/Shop/web spec.template.metadata.labels.app",
                "Deployment/Shop/web metadata.annotations.-nope",
                "ConfigMap/c metadata.namespace",
            ]
        );
        assert!(found[5].contains("invalid annotation key `-nope`"), "{}", found[5]);
        assert!(found[6].ends_with("namespaced kind `ConfigMap` has no namespace"));
    }

    #[test]
    fn workload_selectors_must_match_their_pod_template() {
        let deployment = |template: Value| {
            object(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "ns"},
                "spec": {"selector": {"matchLabels": {"app": "web", "tier": "front"}},
                         "template": {"metadata": {"labels": template}}}}))
        };
        let ok = deployment(json!({"app": "web", "tier": "front", "extra": "x"}));
        assert_eq!(messages(&check_objects(&[ok])), Vec::<String>::new());
        let bad = deployment(json!({"app": "api", "tier": "front"}));
        assert_eq!(
            messages(&check_objects(&[bad])),
            ["Deployment/ns/web spec.selector.matchLabels: selector does not match the pod \
              template's labels: the template lacks `app=web`"]
        );
    }

    #[test]
    fn crd_names_are_plural_dot_group() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widget.example.com"},
            "spec": {"group": "example.com", "names": {"plural": "widgets", "kind": "Widget"}, "scope": "Namespaced"}});
        let found = messages(&check_objects(&[object(crd)]));
        assert_eq!(
            found,
            [
                "CustomResourceDefinition/widget.example.com metadata.name: a CustomResourceDefinition's \
              name must be `<plural>.<group>`: `widgets.example.com`"
            ]
        );
    }
}
