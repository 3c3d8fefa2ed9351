//! Package permissions: what a package's prototypes may emit beyond namespaced objects in the
//! environment's namespace. The user grants them at install (recorded in `kiln.lock`); every
//! rendered object is checked against its package's grant here, after post-processing has
//! flattened Lists, established each kind's scope and given namespaced objects their namespace.
//! Deny by default: an object whose kind's scope Kiln could not establish needs the grant a
//! cluster-scoped kind needs.

use std::collections::BTreeMap;

use super::post::{api_group, str_at};
use super::{Object, Scope, object_ref};
use crate::registry::PermissionSet;
use crate::untrusted::Untrusted;

const RBAC: &str = "rbac.authorization.k8s.io";

/// A package's grant, for the components whose prototype comes from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// `registry/package`.
    pub package: String,
    /// What it may emit.
    pub granted: PermissionSet,
}

/// An object outside its package's grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The component that rendered it.
    pub component: String,
    /// `registry/package`.
    pub package: String,
    /// The object, as [`object_ref`] writes it.
    pub object: String,
    /// The permission it would need.
    pub missing: String,
    /// Whether it needs it because Kiln could not establish its kind's scope.
    pub unknown_scope: bool,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "component `{}` (package `{}`) renders `{}`, which needs {}",
            self.component, self.package, self.object, self.missing
        )
    }
}

/// Every object in `objects` that its component's package may not emit. Components without a
/// grant (prototypes that are files of the app itself) are not restricted.
pub fn check(
    objects: &[Object],
    namespace: &str,
    grants: &BTreeMap<String, Grant>,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    for object in objects {
        let Some(grant) = grants.get(&object.component) else { continue };
        let value = &object.value;
        let api_group = api_group(str_at(value, &["apiVersion"]));
        let kind = str_at(value, &["kind"]);
        let object_namespace = str_at(value, &["metadata", "namespace"]);
        let gk =
            if api_group.is_empty() { kind.to_string() } else { format!("{api_group}/{kind}") };
        let granted_kind = grant.granted.cluster_scoped.contains(&gk);
        let mut missing = Vec::new();
        match object.scope {
            Some(Scope::Cluster) if !granted_kind => {
                missing.push(format!("the cluster-scoped kind `{}`", Untrusted(&gk)));
            }
            None if !granted_kind => missing.push(format!(
                "the kind `{}`, which may be cluster-scoped (Kiln knows no \
                 CustomResourceDefinition for it)",
                Untrusted(&gk)
            )),
            _ => {}
        }
        if !object_namespace.is_empty()
            && object_namespace != namespace
            && !grant.granted.other_namespaces
        {
            missing
                .push(format!("other namespaces (the environment's namespace is `{namespace}`)"));
        }
        if api_group == RBAC && !grant.granted.rbac {
            missing.push("RBAC objects".into());
        }
        if !missing.is_empty() {
            violations.push(Violation {
                component: object.component.clone(),
                package: grant.package.clone(),
                object: object_ref(value),
                missing: format!("permission for {}", missing.join(" and ")),
                unknown_scope: object.scope.is_none() && !granted_kind,
            });
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: serde_json::Value) -> Object {
        let scope = crate::manifest::Scopes::new().of(
            value["apiVersion"].as_str().unwrap_or_default(),
            value["kind"].as_str().unwrap_or_default(),
        );
        Object { component: "web".into(), value, scope }
    }

    #[test]
    fn objects_outside_the_grant_are_named() {
        let objects = vec![
            object(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "dev"}}),
            ),
            object(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "prod"}}),
            ),
            object(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "admin"}}),
            ),
            object(
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "dev"}}),
            ),
        ];
        let grant = |granted| {
            BTreeMap::from([("web".to_string(), Grant { package: "local/web".into(), granted })])
        };
        let found = check(&objects, "dev", &grant(PermissionSet::default()));
        let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "component `web` (package `local/web`) renders `ConfigMap/prod/b`, which needs permission for other namespaces (the environment's namespace is `dev`)",
                "component `web` (package `local/web`) renders `ClusterRole/admin`, which needs permission for the cluster-scoped kind `rbac.authorization.k8s.io/ClusterRole` and RBAC objects",
                "component `web` (package `local/web`) renders `Role/dev/r`, which needs permission for RBAC objects",
            ]
        );
        let all = PermissionSet {
            cluster_scoped: vec!["rbac.authorization.k8s.io/ClusterRole".into()],
            rbac: true,
            other_namespaces: true,
        };
        assert!(check(&objects, "dev", &grant(all)).is_empty());
        assert!(
            check(&objects, "dev", &BTreeMap::new()).is_empty(),
            "ungranted components are the app's own"
        );
    }

    #[test]
    fn a_kind_of_unknown_scope_needs_the_grant_a_cluster_scoped_kind_needs() {
        // Placed as namespaced (in the environment's namespace), but Kiln cannot know.
        let tenant = json!({"apiVersion": "policy.example.com/v1", "kind": "Tenant", "metadata": {"name": "t", "namespace": "dev"}});
        let objects = vec![object(tenant.clone())];
        assert_eq!(objects[0].scope, None);
        let grants = |cluster_scoped: Vec<String>, other_namespaces| {
            let granted = PermissionSet { cluster_scoped, rbac: false, other_namespaces };
            BTreeMap::from([("web".to_string(), Grant { package: "local/web".into(), granted })])
        };
        let found = check(&objects, "dev", &grants(vec![], false));
        assert_eq!(
            found.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "component `web` (package `local/web`) renders `Tenant/dev/t`, which needs permission \
              for the kind `policy.example.com/Tenant`, which may be cluster-scoped (Kiln knows no \
              CustomResourceDefinition for it)"
            ]
        );
        assert!(found[0].unknown_scope);
        let granted = grants(vec!["policy.example.com/Tenant".into()], false);
        assert!(check(&objects, "dev", &granted).is_empty());
        // Once known namespaced (a CRD in `crds/`, or discovery), it needs nothing.
        let known = Object { scope: Some(Scope::Namespaced), ..object(tenant) };
        assert!(check(std::slice::from_ref(&known), "dev", &grants(vec![], false)).is_empty());
        // Granting the kind does not grant other namespaces.
        let mut elsewhere = known;
        elsewhere.value["metadata"]["namespace"] = json!("kube-system");
        elsewhere.scope = None;
        let found = check(&[elsewhere], "dev", &granted);
        assert_eq!(found.len(), 1);
        assert!(found[0].missing.contains("other namespaces") && !found[0].unknown_scope);
    }
}
