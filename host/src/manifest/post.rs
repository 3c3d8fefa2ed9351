//! Post-processing of rendered objects into the final list: default namespaces, ownership
//! labels, a duplicate check and a stable apply order. Pure and deterministic: the same objects
//! give byte-identical output whatever order the components come in.

use std::collections::{BTreeMap, btree_map::Entry};

use serde_json::{Map, Value};

/// The label naming the tool that manages an object; Kiln sets it to [`MANAGER`].
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY`] on every object Kiln renders.
pub const MANAGER: &str = "kiln";
/// The label naming the app an object belongs to.
pub const APP_LABEL: &str = "kiln.dev/app";
/// The label naming the environment an object was rendered for.
pub const ENV_LABEL: &str = "kiln.dev/environment";
/// The label naming the component that rendered an object.
pub const COMPONENT_LABEL: &str = "kiln.dev/component";

const CORE: &str = "";
const RBAC: &str = "rbac.authorization.k8s.io";
const APIEXTENSIONS: &str = "apiextensions.k8s.io";
const CRD: &str = "CustomResourceDefinition";

/// One component's rendered objects, as input to [`post_process`].
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentObjects {
    /// The component's name.
    pub component: String,
    /// The objects its prototype returned, in the prototype's order.
    pub objects: Vec<Value>,
}

/// What post-processing needs to know about the app and environment.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The app's name.
    pub app: &'a str,
    /// The environment's name.
    pub environment: &'a str,
    /// The environment's namespace, given to namespaced objects that name none.
    pub namespace: &'a str,
    /// The environment's labels, added to every object that does not set them itself.
    pub labels: &'a BTreeMap<String, String>,
}

/// A rendered object after post-processing, remembering its component.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The component that rendered it.
    pub component: String,
    /// The object.
    pub value: Value,
}

/// An error from post-processing. Every variant names the object or its component.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Two rendered objects have the same identity (API group, kind, namespace and name), so
    /// one would overwrite the other in the cluster.
    #[error("object `{object}` is rendered {}", by_whom(first, second))]
    Duplicate {
        /// The object, as [`object_ref`] writes it.
        object: String,
        /// The component that rendered it first, in output order.
        first: String,
        /// The component that rendered it again; equal to `first` for a repeat within one
        /// component.
        second: String,
    },
    /// A cluster-scoped object carries `metadata.namespace`.
    #[error(
        "component `{component}` renders cluster-scoped object `{object}` with a namespace: \
         cluster-scoped objects carry no namespace"
    )]
    NamespaceOnClusterScoped {
        /// The component that rendered it.
        component: String,
        /// The object, as [`object_ref`] writes it (with the namespace it should not have).
        object: String,
    },
    /// A rendered value lacks what post-processing relies on (rendering normally checks this
    /// first, so this is a prototype's output that bypassed it).
    #[error("object #{index} of component `{component}` is invalid: {}", at(path, message))]
    InvalidObject {
        /// The component that rendered it.
        component: String,
        /// The object's position in the component's output, from 1.
        index: usize,
        /// The field at fault (`metadata.name`), empty for the whole object.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Duplicate { first, second, .. } if first == second => Some(format!(
                "component `{first}` must render each object once; give the copies distinct names"
            )),
            Error::Duplicate { .. } => Some(
                "each object belongs to one component; rename it in one of them or drop it from \
                 one component"
                    .into(),
            ),
            Error::NamespaceOnClusterScoped { .. } => Some(
                "drop `metadata.namespace` from the object in its prototype; if the kind comes \
                 from a CustomResourceDefinition, check the definition's `spec.scope`"
                    .into(),
            ),
            Error::InvalidObject { .. } => None,
        }
    }
}

fn at(path: &str, message: &str) -> String {
    if path.is_empty() { message.to_string() } else { format!("`{path}` {message}") }
}

fn by_whom(first: &str, second: &str) -> String {
    if first == second {
        format!("twice by component `{first}`")
    } else {
        format!("by both component `{first}` and component `{second}`")
    }
}

/// Turn each component's rendered objects into the final list: namespaced objects without a
/// namespace get the environment's, every object gets the environment's and the ownership
/// labels, duplicates are rejected, and the result is sorted into apply order.
///
/// Kinds are namespaced unless [`is_cluster_scoped`] knows them (built in, or defined by a
/// CustomResourceDefinition among the rendered objects). Only `metadata.labels` is labelled:
/// pod-template labels feed selectors, which are immutable on a live Deployment.
///
/// Fails with the first problem [`post_process_all`] finds.
pub fn post_process(ctx: &Context, rendered: Vec<ComponentObjects>) -> Result<Vec<Object>, Error> {
    let Processed { objects, mut problems } = post_process_all(ctx, rendered);
    if problems.is_empty() { Ok(objects) } else { Err(problems.swap_remove(0)) }
}

/// The result of [`post_process_all`]: the objects and every problem found on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Processed {
    /// The objects in apply order. An object that cannot be placed (no kind, no name) is left
    /// out; a duplicate or a cluster-scoped object with a namespace stays in.
    pub objects: Vec<Object>,
    /// Every problem, single objects' first (in component order), then duplicates.
    pub problems: Vec<Error>,
}

/// [`post_process`] that goes on past problems and reports them all, for validation.
pub fn post_process_all(ctx: &Context, mut rendered: Vec<ComponentObjects>) -> Processed {
    // Problems with single objects come in component order, not input order.
    rendered.sort_by(|a, b| a.component.cmp(&b.component));
    let scopes = cluster_scopes(&rendered);
    let mut keyed = Vec::new();
    let mut problems = Vec::new();
    for (ComponentObjects { component, objects }, scopes) in rendered.into_iter().zip(scopes) {
        for (index, (value, cluster_scoped)) in objects.into_iter().zip(scopes).enumerate() {
            let Some(value) =
                normalize(ctx, &component, index, value, cluster_scoped, &mut problems)
            else {
                continue;
            };
            let key = Key::of(&value, &component);
            keyed.push((key, Object { component: component.clone(), value }));
        }
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    problems.extend(duplicates(&keyed));
    Processed { objects: keyed.into_iter().map(|(_, object)| object).collect(), problems }
}

/// `kind/namespace/name`, or `kind/name` for an object without a namespace: how every message
/// names an object. Missing fields read as empty.
pub fn object_ref(value: &Value) -> String {
    let kind = str_at(value, &["kind"]);
    let name = str_at(value, &["metadata", "name"]);
    match str_at(value, &["metadata", "namespace"]) {
        "" => format!("{kind}/{name}"),
        namespace => format!("{kind}/{namespace}/{name}"),
    }
}

/// Whether objects of `kind` in `api_version` are cluster-scoped: built-in Kubernetes kinds from
/// a table, custom kinds from a CustomResourceDefinition among `crds` with `spec.scope` `Cluster`
/// (matched on `spec.group` and `spec.names.kind`; other values in `crds` are ignored). Any other
/// kind is taken as namespaced, as most kinds are.
pub fn is_cluster_scoped(api_version: &str, kind: &str, crds: &[&Value]) -> bool {
    let group = api_group(api_version);
    CLUSTER_SCOPED.iter().any(|&(g, kinds)| g == group && kinds.contains(&kind))
        || crds.iter().any(|crd| {
            is_crd(crd)
                && str_at(crd, &["spec", "scope"]) == "Cluster"
                && str_at(crd, &["spec", "group"]) == group
                && str_at(crd, &["spec", "names", "kind"]) == kind
        })
}

/// Built-in cluster-scoped kinds by API group, as the API server's discovery reports them.
const CLUSTER_SCOPED: &[(&str, &[&str])] = &[
    (CORE, &["Namespace", "Node", "PersistentVolume", "ComponentStatus"]),
    (RBAC, &["ClusterRole", "ClusterRoleBinding"]),
    (APIEXTENSIONS, &[CRD]),
    (
        "storage.k8s.io",
        &["StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass"],
    ),
    ("scheduling.k8s.io", &["PriorityClass"]),
    ("node.k8s.io", &["RuntimeClass"]),
    ("networking.k8s.io", &["IngressClass", "IPAddress", "ServiceCIDR"]),
    (
        "admissionregistration.k8s.io",
        &[
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "MutatingAdmissionPolicy",
            "MutatingAdmissionPolicyBinding",
        ],
    ),
    ("apiregistration.k8s.io", &["APIService"]),
    ("certificates.k8s.io", &["CertificateSigningRequest", "ClusterTrustBundle"]),
    ("flowcontrol.apiserver.k8s.io", &["FlowSchema", "PriorityLevelConfiguration"]),
    ("resource.k8s.io", &["DeviceClass", "ResourceSlice"]),
    ("policy", &["PodSecurityPolicy"]),
];

/// Apply order, one rank per row; kinds not listed come last. An object may refer to objects of
/// lower ranks, so applying in this order does not trip over something not created yet (the
/// idea of Helm's install order): everything namespaced lives in a Namespace, custom kinds need
/// their definition, RBAC bindings and pods name ServiceAccounts, bindings name roles, pods
/// mount ConfigMaps and Secrets.
const APPLY_ORDER: &[&[(&str, &str)]] = &[
    &[(CORE, "Namespace")],
    &[(APIEXTENSIONS, CRD)],
    &[(CORE, "ServiceAccount")],
    &[(RBAC, "Role"), (RBAC, "ClusterRole")],
    &[(RBAC, "RoleBinding"), (RBAC, "ClusterRoleBinding")],
    &[(CORE, "ConfigMap"), (CORE, "Secret")],
];

fn rank(group: &str, kind: &str) -> usize {
    APPLY_ORDER.iter().position(|row| row.contains(&(group, kind))).unwrap_or(APPLY_ORDER.len())
}

/// Where an object goes in the output. The fields after `rank` are the identity plus the
/// component, so two objects compare equal only if they are duplicates of one component.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    rank: usize,
    kind: String,
    namespace: String,
    name: String,
    component: String,
    group: String,
}

impl Key {
    fn of(value: &Value, component: &str) -> Self {
        let group = api_group(str_at(value, &["apiVersion"]));
        let kind = str_at(value, &["kind"]);
        Key {
            rank: rank(group, kind),
            kind: kind.to_string(),
            namespace: str_at(value, &["metadata", "namespace"]).to_string(),
            name: str_at(value, &["metadata", "name"]).to_string(),
            component: component.to_string(),
            group: group.to_string(),
        }
    }
}

/// Every object whose identity an earlier one already has, naming both components in output
/// order.
fn duplicates(keyed: &[(Key, Object)]) -> Vec<Error> {
    let mut seen = BTreeMap::new();
    let mut found = Vec::new();
    for (key, object) in keyed {
        let identity = (&key.group, &key.kind, &key.namespace, &key.name);
        match seen.entry(identity) {
            Entry::Vacant(entry) => {
                entry.insert(&object.component);
            }
            Entry::Occupied(entry) => found.push(Error::Duplicate {
                object: object_ref(&object.value),
                first: entry.get().to_string(),
                second: object.component.clone(),
            }),
        }
    }
    found
}

/// For each component, whether each of its objects is cluster-scoped, knowing every
/// CustomResourceDefinition in the render (a component may use a kind another one defines).
fn cluster_scopes(rendered: &[ComponentObjects]) -> Vec<Vec<bool>> {
    let crds: Vec<&Value> =
        rendered.iter().flat_map(|c| &c.objects).filter(|v| is_crd(v)).collect();
    rendered
        .iter()
        .map(|c| {
            c.objects
                .iter()
                .map(|v| is_cluster_scoped(str_at(v, &["apiVersion"]), str_at(v, &["kind"]), &crds))
                .collect()
        })
        .collect()
}

/// Check that `value` has what post-processing relies on, then set its namespace and labels.
/// `None` (with its problems recorded) when it cannot be placed at all.
fn normalize(
    ctx: &Context,
    component: &str,
    index: usize,
    mut value: Value,
    cluster_scoped: bool,
    problems: &mut Vec<Error>,
) -> Option<Value> {
    let object = object_ref(&value);
    let invalid = |(path, message): (&str, &str)| Error::InvalidObject {
        component: component.to_string(),
        index: index + 1,
        path: path.to_string(),
        message: message.to_string(),
    };
    let metadata = match metadata(&mut value) {
        Ok(metadata) => metadata,
        Err(found) => {
            problems.extend(found.into_iter().map(invalid));
            return None;
        }
    };
    let namespace = metadata.get("namespace").and_then(Value::as_str).unwrap_or_default();
    if cluster_scoped {
        if namespace.is_empty() {
            metadata.remove("namespace");
        } else {
            problems
                .push(Error::NamespaceOnClusterScoped { component: component.to_string(), object });
        }
    } else if namespace.is_empty() && !ctx.namespace.is_empty() {
        metadata.insert("namespace".into(), ctx.namespace.into());
    }
    add_labels(ctx, component, metadata);
    Some(value)
}

type Problem = (&'static str, &'static str);

/// The object's metadata, once the fields post-processing reads are known to be there; or
/// every field that is not.
fn metadata(value: &mut Value) -> Result<&mut Map<String, Value>, Vec<Problem>> {
    let object = value.as_object_mut().ok_or_else(|| vec![("", "not a JSON object")])?;
    let mut problems = Vec::new();
    let non_empty = |v: Option<&Value>| matches!(v, Some(Value::String(s)) if !s.is_empty());
    if !non_empty(object.get("apiVersion")) {
        problems.push(("apiVersion", "must be a non-empty string"));
    }
    if !non_empty(object.get("kind")) {
        problems.push(("kind", "must be a non-empty string"));
    }
    let Some(Value::Object(metadata)) = object.get_mut("metadata") else {
        problems.push(("metadata", "must be an object"));
        return Err(problems);
    };
    if !non_empty(metadata.get("name")) {
        // Kiln applies and prunes objects by name, so `generateName` alone cannot work.
        problems.push(("metadata.name", "must be a non-empty string"));
    }
    if !matches!(metadata.get("namespace"), None | Some(Value::Null | Value::String(_))) {
        problems.push(("metadata.namespace", "must be a string"));
    }
    if !matches!(metadata.get("labels"), None | Some(Value::Null | Value::Object(_))) {
        problems.push(("metadata.labels", "must be an object"));
    }
    if problems.is_empty() { Ok(metadata) } else { Err(problems) }
}

/// Add the environment's labels where the prototype set none of that key, then the ownership
/// labels, which always win: pruning and deletion select on them.
fn add_labels(ctx: &Context, component: &str, metadata: &mut Map<String, Value>) {
    let labels = metadata.entry("labels").or_insert(Value::Null);
    if labels.is_null() {
        *labels = Value::Object(Map::new());
    }
    // `metadata` checked that labels are an object or null.
    let Value::Object(labels) = labels else { return };
    for (key, value) in ctx.labels {
        labels.entry(key.as_str()).or_insert_with(|| value.as_str().into());
    }
    let ownership = [
        (MANAGED_BY, MANAGER),
        (APP_LABEL, ctx.app),
        (ENV_LABEL, ctx.environment),
        (COMPONENT_LABEL, component),
    ];
    for (key, value) in ownership {
        labels.insert(key.into(), value.into());
    }
}

/// Whether `value` is a CustomResourceDefinition (`apiextensions.k8s.io`, any version).
pub fn is_crd(value: &Value) -> bool {
    str_at(value, &["kind"]) == CRD && api_group(str_at(value, &["apiVersion"])) == APIEXTENSIONS
}

/// The API group of an `apiVersion`: `apps` for `apps/v1`, empty for the core `v1`.
pub fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or(CORE, |(group, _)| group)
}

/// The string at `path`, or empty if it is missing or not a string.
pub(crate) fn str_at<'v>(value: &'v Value, path: &[&str]) -> &'v str {
    path.iter().try_fold(value, |v, key| v.get(key)).and_then(Value::as_str).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env_labels() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("team".to_string(), "ml".to_string()),
            ("tier".to_string(), "backend".to_string()),
        ])
    }

    fn run(
        labels: &BTreeMap<String, String>,
        rendered: &[(&str, Vec<Value>)],
    ) -> Result<Vec<Object>, Error> {
        let ctx = Context { app: "shop", environment: "prod", namespace: "shop-prod", labels };
        let rendered = rendered
            .iter()
            .map(|(component, objects)| ComponentObjects {
                component: component.to_string(),
                objects: objects.clone(),
            })
            .collect();
        post_process(&ctx, rendered)
    }

    fn process(rendered: &[(&str, Vec<Value>)]) -> Result<Vec<Object>, Error> {
        run(&BTreeMap::new(), rendered)
    }

    fn obj(api_version: &str, kind: &str, name: &str) -> Value {
        json!({ "apiVersion": api_version, "kind": kind, "metadata": { "name": name } })
    }

    fn in_ns(api_version: &str, kind: &str, namespace: &str, name: &str) -> Value {
        json!({
            "apiVersion": api_version,
            "kind": kind,
            "metadata": { "name": name, "namespace": namespace },
        })
    }

    fn crd(group: &str, kind: &str, scope: &str) -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": { "name": format!("{}s.{group}", kind.to_lowercase()) },
            "spec": { "group": group, "scope": scope, "names": { "kind": kind } },
        })
    }

    fn refs(objects: &[Object]) -> Vec<String> {
        objects.iter().map(|o| object_ref(&o.value)).collect()
    }

    #[test]
    fn namespaced_objects_without_a_namespace_get_the_environments() {
        let mut empty = obj("v1", "ConfigMap", "empty");
        empty["metadata"]["namespace"] = json!("");
        let mut null = obj("v1", "ConfigMap", "null");
        null["metadata"]["namespace"] = Value::Null;
        let out = process(&[(
            "web",
            vec![
                obj("apps/v1", "Deployment", "web"),
                empty,
                null,
                in_ns("v1", "Service", "other", "web"),
            ],
        )])
        .unwrap();
        assert_eq!(
            refs(&out),
            [
                "ConfigMap/shop-prod/empty",
                "ConfigMap/shop-prod/null",
                "Deployment/shop-prod/web",
                "Service/other/web",
            ]
        );
    }

    #[test]
    fn cluster_scoped_objects_get_no_namespace() {
        let mut role = obj("rbac.authorization.k8s.io/v1", "ClusterRole", "reader");
        role["metadata"]["namespace"] = json!("");
        let out = process(&[(
            "base",
            vec![
                obj("v1", "Namespace", "shop"),
                role,
                obj("storage.k8s.io/v1", "StorageClass", "fast"),
                crd("example.com", "Widget", "Namespaced"),
            ],
        )])
        .unwrap();
        for object in &out {
            assert_eq!(object.value["metadata"].get("namespace"), None, "{}", object.value);
        }
        assert_eq!(
            refs(&out),
            [
                "Namespace/shop",
                "CustomResourceDefinition/widgets.example.com",
                "ClusterRole/reader",
                "StorageClass/fast",
            ]
        );
    }

    #[test]
    fn cluster_scoped_object_with_a_namespace_is_an_error() {
        let err = process(&[(
            "rbac",
            vec![in_ns("rbac.authorization.k8s.io/v1", "ClusterRole", "shop", "reader")],
        )])
        .unwrap_err();
        assert_eq!(
            err,
            Error::NamespaceOnClusterScoped {
                component: "rbac".into(),
                object: "ClusterRole/shop/reader".into(),
            }
        );
        assert_eq!(
            err.to_string(),
            "component `rbac` renders cluster-scoped object `ClusterRole/shop/reader` with a \
             namespace: cluster-scoped objects carry no namespace"
        );
        assert!(err.hint().is_some());
    }

    #[test]
    fn scope_table_matches_group_and_kind() {
        assert!(is_cluster_scoped("v1", "Namespace", &[]));
        assert!(is_cluster_scoped("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", &[]));
        assert!(is_cluster_scoped("apiextensions.k8s.io/v1", "CustomResourceDefinition", &[]));
        assert!(is_cluster_scoped(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            &[]
        ));
        assert!(!is_cluster_scoped("v1", "Pod", &[]));
        assert!(!is_cluster_scoped("rbac.authorization.k8s.io/v1", "Role", &[]));
        // A kind is only cluster-scoped in its own group.
        assert!(!is_cluster_scoped("v1", "ClusterRole", &[]));
        assert!(!is_cluster_scoped("example.com/v1", "Namespace", &[]));
    }

    #[test]
    fn custom_kind_is_cluster_scoped_when_its_crd_says_so() {
        let cluster = crd("example.com", "Tenant", "Cluster");
        let namespaced = crd("example.com", "Widget", "Namespaced");
        let crds = [&cluster, &namespaced];
        assert!(is_cluster_scoped("example.com/v1", "Tenant", &crds));
        assert!(is_cluster_scoped("example.com/v1beta1", "Tenant", &crds));
        assert!(!is_cluster_scoped("example.com/v1", "Widget", &crds));
        assert!(!is_cluster_scoped("other.example.com/v1", "Tenant", &crds));
        assert!(!is_cluster_scoped("example.com/v1", "Tenant", &[]));
        // Something shaped like a CRD but not one does not define a scope.
        let mut fake = cluster.clone();
        fake["apiVersion"] = json!("example.com/v1");
        assert!(!is_cluster_scoped("example.com/v1", "Tenant", &[&fake]));
    }

    #[test]
    fn crd_in_one_component_scopes_objects_of_another() {
        let out = process(&[
            (
                "tenants",
                vec![obj("example.com/v1", "Tenant", "acme"), obj("example.com/v1", "Widget", "w")],
            ),
            (
                "crds",
                vec![
                    crd("example.com", "Tenant", "Cluster"),
                    crd("example.com", "Widget", "Namespaced"),
                ],
            ),
        ])
        .unwrap();
        assert!(refs(&out).contains(&"Tenant/acme".to_string()), "{:?}", refs(&out));
        assert!(refs(&out).contains(&"Widget/shop-prod/w".to_string()), "{:?}", refs(&out));

        let err = process(&[
            ("tenants", vec![in_ns("example.com/v1", "Tenant", "x", "acme")]),
            ("crds", vec![crd("example.com", "Tenant", "Cluster")]),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            Error::NamespaceOnClusterScoped {
                component: "tenants".into(),
                object: "Tenant/x/acme".into()
            }
        );
    }

    #[test]
    fn labels_env_labels_yield_to_the_prototype_and_ownership_labels_win() {
        let mut labels = env_labels();
        labels.insert(COMPONENT_LABEL.into(), "from-env".into());
        let mut deployment = obj("apps/v1", "Deployment", "web");
        deployment["metadata"]["labels"] = json!({
            "tier": "frontend",
            "app": "web",
            MANAGED_BY: "helm",
            APP_LABEL: "other",
        });
        deployment["spec"] = json!({ "template": { "metadata": { "labels": { "app": "web" } } } });
        let out = run(&labels, &[("web", vec![deployment])]).unwrap();
        assert_eq!(
            out[0].value["metadata"]["labels"],
            json!({
                "app": "web",
                "tier": "frontend",
                "team": "ml",
                "app.kubernetes.io/managed-by": "kiln",
                "kiln.dev/app": "shop",
                "kiln.dev/environment": "prod",
                "kiln.dev/component": "web",
            })
        );
        // Pod-template labels feed immutable selectors: left alone.
        assert_eq!(out[0].value["spec"]["template"]["metadata"]["labels"], json!({ "app": "web" }));
    }

    #[test]
    fn labels_are_created_when_missing_or_null() {
        let mut null = obj("v1", "ConfigMap", "b");
        null["metadata"]["labels"] = Value::Null;
        let out = run(&env_labels(), &[("cfg", vec![obj("v1", "ConfigMap", "a"), null])]).unwrap();
        let expected = json!({
            "team": "ml",
            "tier": "backend",
            "app.kubernetes.io/managed-by": "kiln",
            "kiln.dev/app": "shop",
            "kiln.dev/environment": "prod",
            "kiln.dev/component": "cfg",
        });
        for object in &out {
            assert_eq!(object.value["metadata"]["labels"], expected);
            assert_eq!(object.component, "cfg");
        }
    }

    #[test]
    fn duplicate_across_components_is_an_error() {
        let rendered = [
            ("b", vec![obj("apps/v1", "Deployment", "web")]),
            ("a", vec![in_ns("apps/v1", "Deployment", "shop-prod", "web")]),
        ];
        let err = process(&rendered).unwrap_err();
        assert_eq!(
            err.to_string(),
            "object `Deployment/shop-prod/web` is rendered by both component `a` and component `b`"
        );
        assert!(err.hint().is_some());
    }

    #[test]
    fn duplicate_within_a_component_is_an_error() {
        let err = process(&[(
            "a",
            vec![obj("apps/v1", "Deployment", "web"), obj("apps/v1beta1", "Deployment", "web")],
        )])
        .unwrap_err();
        assert_eq!(
            err,
            Error::Duplicate {
                object: "Deployment/shop-prod/web".into(),
                first: "a".into(),
                second: "a".into(),
            }
        );
        assert_eq!(
            err.to_string(),
            "object `Deployment/shop-prod/web` is rendered twice by component `a`"
        );
    }

    #[test]
    fn same_name_in_another_namespace_kind_or_group_is_no_duplicate() {
        let out = process(&[
            ("a", vec![obj("v1", "Service", "web"), obj("example.com/v1", "Certificate", "web")]),
            ("b", vec![in_ns("v1", "Service", "other", "web"), obj("v1", "ConfigMap", "web")]),
            ("c", vec![obj("cert-manager.io/v1", "Certificate", "web")]),
        ])
        .unwrap();
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn objects_are_sorted_into_apply_order() {
        let out = process(&[
            (
                "z",
                vec![
                    obj("apps/v1", "Deployment", "web"),
                    obj("v1", "Secret", "s"),
                    obj("rbac.authorization.k8s.io/v1", "RoleBinding", "rb"),
                    obj("v1", "ServiceAccount", "sa"),
                    obj("v1", "Namespace", "ns"),
                ],
            ),
            (
                "a",
                vec![
                    obj("v1", "Service", "web"),
                    obj("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "crb"),
                    obj("v1", "ConfigMap", "c"),
                    obj("rbac.authorization.k8s.io/v1", "Role", "r"),
                    obj("rbac.authorization.k8s.io/v1", "ClusterRole", "cr"),
                    crd("example.com", "Widget", "Namespaced"),
                    obj("example.com/v1", "Widget", "w"),
                    in_ns("apps/v1", "Deployment", "a-ns", "web"),
                ],
            ),
        ])
        .unwrap();
        assert_eq!(
            refs(&out),
            [
                "Namespace/ns",
                "CustomResourceDefinition/widgets.example.com",
                "ServiceAccount/shop-prod/sa",
                "ClusterRole/cr",
                "Role/shop-prod/r",
                "ClusterRoleBinding/crb",
                "RoleBinding/shop-prod/rb",
                "ConfigMap/shop-prod/c",
                "Secret/shop-prod/s",
                "Deployment/a-ns/web",
                "Deployment/shop-prod/web",
                "Service/shop-prod/web",
                "Widget/shop-prod/w",
            ]
        );
    }

    #[test]
    fn within_a_rank_ties_break_on_component_then_group() {
        let out = process(&[
            ("b", vec![obj("v1", "Thing", "x")]),
            (
                "a",
                vec![obj("z.example.com/v1", "Thing", "x"), obj("a.example.com/v1", "Thing", "x")],
            ),
        ])
        .unwrap();
        let order: Vec<_> = out
            .iter()
            .map(|o| (o.component.as_str(), o.value["apiVersion"].as_str().unwrap()))
            .collect();
        assert_eq!(order, [("a", "a.example.com/v1"), ("a", "z.example.com/v1"), ("b", "v1")]);
    }

    #[test]
    fn output_does_not_depend_on_component_order() {
        let a = ("a", vec![obj("apps/v1", "Deployment", "web"), obj("v1", "Service", "web")]);
        let b = ("b", vec![obj("v1", "Namespace", "shop"), obj("v1", "ConfigMap", "cfg")]);
        let c = (
            "c",
            vec![crd("example.com", "Tenant", "Cluster"), obj("example.com/v1", "Tenant", "t")],
        );
        let encode = |out: Vec<Object>| {
            let values: Vec<Value> = out.into_iter().map(|o| o.value).collect();
            crate::manifest::encode(&values, crate::manifest::Format::Yaml).unwrap()
        };
        let first = encode(run(&env_labels(), &[a.clone(), b.clone(), c.clone()]).unwrap());
        for order in [[&c, &b, &a], [&b, &a, &c], [&c, &a, &b]] {
            let rendered: Vec<_> = order.into_iter().cloned().collect();
            assert_eq!(encode(run(&env_labels(), &rendered).unwrap()), first);
        }

        // Errors too: the same components are named in the same order.
        let x = ("x", vec![obj("v1", "ConfigMap", "cfg")]);
        let y = ("y", vec![obj("v1", "ConfigMap", "cfg")]);
        assert_eq!(process(&[x.clone(), y.clone()]).unwrap_err(), process(&[y, x]).unwrap_err());
    }

    #[test]
    fn object_ref_is_kind_namespace_name() {
        assert_eq!(
            object_ref(&in_ns("apps/v1", "Deployment", "default", "web")),
            "Deployment/default/web"
        );
        assert_eq!(object_ref(&obj("v1", "Namespace", "shop")), "Namespace/shop");
        assert_eq!(object_ref(&in_ns("v1", "ConfigMap", "", "c")), "ConfigMap/c");
        assert_eq!(object_ref(&json!({ "kind": "Pod" })), "Pod/");
        assert_eq!(object_ref(&json!("not an object")), "/");
    }

    #[test]
    fn objects_missing_what_post_processing_reads_are_rejected() {
        let cases = [
            (json!("text"), "", "not a JSON object"),
            (
                json!({ "kind": "Pod", "metadata": { "name": "p" } }),
                "apiVersion",
                "must be a non-empty string",
            ),
            (json!({ "apiVersion": "v1", "kind": "Pod" }), "metadata", "must be an object"),
            (
                json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "generateName": "p-" } }),
                "metadata.name",
                "must be a non-empty string",
            ),
            (
                json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "p", "namespace": 3 } }),
                "metadata.namespace",
                "must be a string",
            ),
            (
                json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "p", "labels": ["a"] } }),
                "metadata.labels",
                "must be an object",
            ),
        ];
        for (value, path, message) in cases {
            let err = process(&[("web", vec![obj("v1", "ConfigMap", "ok"), value])]).unwrap_err();
            assert_eq!(
                err,
                Error::InvalidObject {
                    component: "web".into(),
                    index: 2,
                    path: path.into(),
                    message: message.into()
                }
            );
        }
        let err = process(&[("web", vec![json!({ "apiVersion": "v1", "kind": "Pod" })])]);
        assert_eq!(
            err.unwrap_err().to_string(),
            "object #1 of component `web` is invalid: `metadata` must be an object"
        );
    }

    #[test]
    fn post_process_all_reports_every_problem_and_keeps_what_it_can_place() {
        let ctx = Context {
            app: "shop",
            environment: "prod",
            namespace: "shop-prod",
            labels: &BTreeMap::new(),
        };
        let rendered = vec![
            ComponentObjects {
                component: "b".into(),
                objects: vec![
                    json!({ "metadata": {} }),
                    in_ns("rbac.authorization.k8s.io/v1", "ClusterRole", "x", "r"),
                    obj("v1", "ConfigMap", "c"),
                ],
            },
            ComponentObjects { component: "a".into(), objects: vec![obj("v1", "ConfigMap", "c")] },
        ];
        let Processed { objects, problems } = post_process_all(&ctx, rendered);
        assert_eq!(
            refs(&objects),
            ["ClusterRole/x/r", "ConfigMap/shop-prod/c", "ConfigMap/shop-prod/c"]
        );
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "object #1 of component `b` is invalid: `apiVersion` must be a non-empty string",
                "object #1 of component `b` is invalid: `kind` must be a non-empty string",
                "object #1 of component `b` is invalid: `metadata.name` must be a non-empty string",
                "component `b` renders cluster-scoped object `ClusterRole/x/r` with a namespace: \
                 cluster-scoped objects carry no namespace",
                "object `ConfigMap/shop-prod/c` is rendered by both component `a` and component `b`",
            ]
        );
    }
}
