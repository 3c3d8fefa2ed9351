//! Whether a kind is namespaced or cluster-scoped, as far as Kiln can know it: built-in kinds
//! from tables, custom kinds from their CustomResourceDefinitions (rendered, or in the app's
//! `crds/`), and any kind from the cluster's discovery when there is a cluster to ask. Nothing
//! is assumed: a kind none of these know has no scope, and emitting it needs a grant.

use std::collections::BTreeMap;

use serde_json::Value;

use super::post::{api_group, is_crd, str_at};

/// Where objects of a kind live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// In a namespace.
    Namespaced,
    /// In the whole cluster.
    Cluster,
}

/// What Kiln knows of kinds' scopes beyond its built-in tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes {
    /// From the cluster's discovery, by (group, kind): the truth, when there is a cluster.
    discovered: BTreeMap<(String, String), Scope>,
    /// From CustomResourceDefinitions, by (group, kind); `None` when two definitions disagree
    /// or one names no valid scope.
    defined: BTreeMap<(String, String), Option<Scope>>,
}

impl Scopes {
    /// Nothing known beyond the built-in tables.
    pub fn new() -> Self {
        Scopes::default()
    }

    /// Learn the scope `crd` gives its kind. Anything that is not a CustomResourceDefinition
    /// is ignored; a definition that contradicts an earlier one for the same kind makes the
    /// kind's scope unknown (the cluster would keep only one of them).
    pub fn define(&mut self, crd: &Value) {
        if !is_crd(crd) {
            return;
        }
        let key = (
            str_at(crd, &["spec", "group"]).to_string(),
            str_at(crd, &["spec", "names", "kind"]).to_string(),
        );
        let scope = match str_at(crd, &["spec", "scope"]) {
            "Namespaced" => Some(Scope::Namespaced),
            "Cluster" => Some(Scope::Cluster),
            _ => None,
        };
        self.defined
            .entry(key)
            .and_modify(|known| {
                if *known != scope {
                    *known = None;
                }
            })
            .or_insert(scope);
    }

    /// Record what the cluster's discovery says of `group`/`kind`.
    pub fn discovered(&mut self, group: &str, kind: &str, scope: Scope) {
        self.discovered.insert((group.into(), kind.into()), scope);
    }

    /// The scope of `kind` in `api_version`: what the cluster said, else the built-in table,
    /// else the kind's CustomResourceDefinitions; `None` when Kiln cannot know it.
    pub fn of(&self, api_version: &str, kind: &str) -> Option<Scope> {
        let group = api_group(api_version);
        let key = (group.to_string(), kind.to_string());
        if let Some(scope) = self.discovered.get(&key) {
            return Some(*scope);
        }
        builtin(group, kind).or_else(|| self.defined.get(&key).copied().flatten())
    }
}

/// The scope of a built-in kind, from tables of every kind Kubernetes 1.25 to 1.37 serve;
/// `None` for a kind these do not list (a custom kind, or a built-in one not listed here).
pub fn builtin(group: &str, kind: &str) -> Option<Scope> {
    let listed = |table: &[(&str, &[&str])]| {
        table.iter().any(|&(g, kinds)| g == group && kinds.contains(&kind))
    };
    if listed(CLUSTER_SCOPED) {
        Some(Scope::Cluster)
    } else if listed(NAMESPACED) {
        Some(Scope::Namespaced)
    } else {
        None
    }
}

const CORE: &str = "";
const RBAC: &str = "rbac.authorization.k8s.io";

/// Built-in cluster-scoped kinds by API group, as the API server's discovery reports them.
const CLUSTER_SCOPED: &[(&str, &[&str])] = &[
    (CORE, &["Namespace", "Node", "PersistentVolume", "ComponentStatus"]),
    (RBAC, &["ClusterRole", "ClusterRoleBinding"]),
    ("apiextensions.k8s.io", &["CustomResourceDefinition"]),
    (
        "storage.k8s.io",
        &["StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass"],
    ),
    ("scheduling.k8s.io", &["PriorityClass"]),
    ("node.k8s.io", &["RuntimeClass"]),
    ("networking.k8s.io", &["IngressClass", "IPAddress", "ServiceCIDR", "ClusterCIDR"]),
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
    ("resource.k8s.io", &["DeviceClass", "ResourceSlice", "ResourceClass", "DeviceTaintRule"]),
    ("policy", &["PodSecurityPolicy"]),
    ("storagemigration.k8s.io", &["StorageVersionMigration"]),
    ("internal.apiserver.k8s.io", &["StorageVersion"]),
    ("authentication.k8s.io", &["TokenReview", "SelfSubjectReview"]),
    (
        "authorization.k8s.io",
        &["SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview"],
    ),
];

/// Built-in namespaced kinds by API group.
const NAMESPACED: &[(&str, &[&str])] = &[
    (
        CORE,
        &[
            "Binding",
            "ConfigMap",
            "Endpoints",
            "Event",
            "LimitRange",
            "PersistentVolumeClaim",
            "Pod",
            "PodTemplate",
            "ReplicationController",
            "ResourceQuota",
            "Secret",
            "Service",
            "ServiceAccount",
        ],
    ),
    (RBAC, &["Role", "RoleBinding"]),
    ("apps", &["ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"]),
    ("autoscaling", &["HorizontalPodAutoscaler"]),
    ("batch", &["CronJob", "Job"]),
    ("certificates.k8s.io", &["PodCertificateRequest"]),
    ("coordination.k8s.io", &["Lease", "LeaseCandidate"]),
    ("discovery.k8s.io", &["EndpointSlice"]),
    ("events.k8s.io", &["Event"]),
    ("networking.k8s.io", &["Ingress", "NetworkPolicy"]),
    ("policy", &["PodDisruptionBudget"]),
    (
        "resource.k8s.io",
        &[
            "ResourceClaim",
            "ResourceClaimTemplate",
            "PodSchedulingContext",
            "ResourceClaimParameters",
            "ResourceClassParameters",
        ],
    ),
    ("storage.k8s.io", &["CSIStorageCapacity"]),
    ("authorization.k8s.io", &["LocalSubjectAccessReview"]),
];

#[cfg(test)]
pub(super) mod tests {
    use serde_json::json;

    use super::*;

    /// A CustomResourceDefinition of `kind` in `group`, with `scope`.
    pub fn crd(group: &str, kind: &str, scope: &str) -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": { "name": format!("{}s.{group}", kind.to_lowercase()) },
            "spec": { "group": group, "scope": scope, "names": { "kind": kind } },
        })
    }

    #[test]
    fn built_in_kinds_are_known_in_their_own_group_only() {
        let none = Scopes::new();
        assert_eq!(none.of("v1", "Namespace"), Some(Scope::Cluster));
        assert_eq!(none.of("v1", "ConfigMap"), Some(Scope::Namespaced));
        assert_eq!(
            none.of("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
            Some(Scope::Cluster)
        );
        assert_eq!(none.of("rbac.authorization.k8s.io/v1", "Role"), Some(Scope::Namespaced));
        assert_eq!(none.of("v1", "ClusterRole"), None, "a kind is built in only in its group");
        assert_eq!(none.of("example.com/v1", "Namespace"), None);
        assert_eq!(none.of("example.com/v1", "Widget"), None, "custom kinds are not assumed");
    }

    #[test]
    fn custom_kinds_take_their_definitions_scope_in_any_version() {
        let mut scopes = Scopes::new();
        scopes.define(&crd("example.com", "Tenant", "Cluster"));
        scopes.define(&crd("example.com", "Widget", "Namespaced"));
        assert_eq!(scopes.of("example.com/v1", "Tenant"), Some(Scope::Cluster));
        assert_eq!(scopes.of("example.com/v1beta1", "Tenant"), Some(Scope::Cluster));
        assert_eq!(scopes.of("example.com/v1", "Widget"), Some(Scope::Namespaced));
        assert_eq!(scopes.of("other.example.com/v1", "Tenant"), None);
        // Something shaped like a CRD but not one defines nothing.
        let mut fake = crd("example.com", "Gadget", "Namespaced");
        fake["apiVersion"] = json!("example.com/v1");
        scopes.define(&fake);
        assert_eq!(scopes.of("example.com/v1", "Gadget"), None);
        // A definition cannot change a built-in kind's scope.
        scopes.define(&crd("", "Namespace", "Namespaced"));
        assert_eq!(scopes.of("v1", "Namespace"), Some(Scope::Cluster));
    }

    #[test]
    fn definitions_that_disagree_or_name_no_scope_leave_the_kind_unknown() {
        let mut scopes = Scopes::new();
        scopes.define(&crd("example.com", "Tenant", "Namespaced"));
        scopes.define(&crd("example.com", "Tenant", "Namespaced"));
        assert_eq!(scopes.of("example.com/v1", "Tenant"), Some(Scope::Namespaced));
        scopes.define(&crd("example.com", "Tenant", "Cluster"));
        assert_eq!(scopes.of("example.com/v1", "Tenant"), None);
        scopes.define(&crd("example.com", "Tenant", "Namespaced"));
        assert_eq!(scopes.of("example.com/v1", "Tenant"), None, "stays unknown");
        scopes.define(&crd("example.com", "Odd", "Global"));
        assert_eq!(scopes.of("example.com/v1", "Odd"), None);
    }

    #[test]
    fn discovery_is_the_truth() {
        let mut scopes = Scopes::new();
        scopes.define(&crd("example.com", "Tenant", "Namespaced"));
        scopes.discovered("example.com", "Tenant", Scope::Cluster);
        assert_eq!(scopes.of("example.com/v1", "Tenant"), Some(Scope::Cluster));
        scopes.discovered("example.com", "Thing", Scope::Namespaced);
        assert_eq!(scopes.of("example.com/v2", "Thing"), Some(Scope::Namespaced));
    }

    /// Every kind the embedded schemas of Kubernetes 1.25 to 1.37 know has a scope here, but
    /// lists (flattened before any scope is asked) and kinds that are no objects of their own.
    #[test]
    fn the_tables_cover_every_built_in_kind() {
        let schemas: Value =
            serde_json::from_str(include_str!("../validate/kubernetes-schemas.json")).unwrap();
        let not_objects = [
            "APIGroup",
            "APIGroupList",
            "APIResourceList",
            "APIVersions",
            "Status",
            "Scale",
            "Eviction",
            "TokenRequest",
        ];
        // Alpha kinds of the newest releases whose scope is not settled; unknown, so granted.
        let unsettled = [
            "EvictionRequest",
            "PodScheduling",
            "ResourcePoolStatusRequest",
            "Workload",
            "PodGroup",
            "CompositePodGroup",
        ];
        let mut missing = Vec::new();
        for key in schemas["kinds"].as_object().unwrap().keys() {
            let (api_version, kind) = key.split_once(' ').unwrap();
            let skip = kind.ends_with("List") || not_objects.contains(&kind);
            if !skip
                && !unsettled.contains(&kind)
                && builtin(api_group(api_version), kind).is_none()
            {
                missing.push(key.clone());
            }
        }
        assert_eq!(missing, Vec::<String>::new());
        for (table, other) in [(CLUSTER_SCOPED, NAMESPACED), (NAMESPACED, CLUSTER_SCOPED)] {
            for (group, kinds) in table {
                for kind in *kinds {
                    let twice = other.iter().any(|(g, k)| g == group && k.contains(kind));
                    assert!(!twice, "`{group}/{kind}` is in both tables");
                }
            }
        }
    }
}
