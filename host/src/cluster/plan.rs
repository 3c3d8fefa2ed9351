//! Planning an apply, as plain values: which objects go in which phase (Namespaces, then CRDs
//! waited on until Established, then everything else in parallel), and what a prune removes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::untrusted::Untrusted;

/// An object's identity in a cluster.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectKey {
    /// `group/version` or `v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// The kind.
    pub kind: String,
    /// The namespace, for namespaced objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
    /// The component that rendered it.
    #[serde(default)]
    pub component: String,
}

impl ObjectKey {
    /// The key of a rendered object.
    pub fn of(value: &Value, component: &str) -> Self {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let namespace = value["metadata"]["namespace"].as_str().filter(|s| !s.is_empty());
        ObjectKey {
            api_version: text(&value["apiVersion"]),
            kind: text(&value["kind"]),
            namespace: namespace.map(String::from),
            name: text(&value["metadata"]["name"]),
            component: component.to_string(),
        }
    }

    /// The API group (empty for core).
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("")
    }

    /// The same object, whatever its version or component: what prune compares.
    pub fn identity(&self) -> (String, String, Option<String>, String) {
        (self.group().to_string(), self.kind.clone(), self.namespace.clone(), self.name.clone())
    }
}

/// `kind/namespace/name`, escaped for the terminal: the parts come from prototypes.
impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, name) = (Untrusted(&self.kind), Untrusted(&self.name));
        match &self.namespace {
            Some(ns) => write!(f, "{kind}/{}/{name}", Untrusted(ns)),
            None => write!(f, "{kind}/{name}"),
        }
    }
}

/// A group of objects applied together; a phase starts when the previous one is done.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// Indexes into the objects, in their order.
    pub objects: Vec<usize>,
    /// Whether to wait for CRDs in this phase to be Established before the next.
    pub wait_established: bool,
}

fn is_crd(v: &Value) -> bool {
    v["kind"] == "CustomResourceDefinition"
        && v["apiVersion"].as_str().is_some_and(|a| a.starts_with("apiextensions.k8s.io/"))
}

/// The phases of applying `objects`: Namespaces, CRDs, then the rest. Empty phases are left out.
pub fn plan(objects: &[Value]) -> Vec<Phase> {
    let mut phases = [Vec::new(), Vec::new(), Vec::new()];
    for (i, v) in objects.iter().enumerate() {
        let phase = if v["kind"] == "Namespace" && v["apiVersion"] == "v1" {
            0
        } else if is_crd(v) {
            1
        } else {
            2
        };
        phases[phase].push(i);
    }
    phases
        .into_iter()
        .enumerate()
        .filter(|(_, objects)| !objects.is_empty())
        .map(|(i, objects)| Phase { objects, wait_established: i == 1 })
        .collect()
}

/// What a prune deletes: objects recorded before (`previous`) that are not rendered now,
/// limited to `components` when given. Deletion happens in reverse apply order.
pub fn prune(
    previous: &[ObjectKey],
    current: &[ObjectKey],
    components: &[String],
) -> Vec<ObjectKey> {
    let rendered: std::collections::BTreeSet<_> = current.iter().map(ObjectKey::identity).collect();
    let mut gone: Vec<ObjectKey> = previous
        .iter()
        .filter(|k| components.is_empty() || components.contains(&k.component))
        .filter(|k| !rendered.contains(&k.identity()))
        .cloned()
        .collect();
    gone.sort();
    gone.dedup();
    gone.sort_by_key(|k| std::cmp::Reverse(phase_rank(k)));
    gone
}

fn phase_rank(k: &ObjectKey) -> u8 {
    match (k.kind.as_str(), k.group()) {
        ("Namespace", "") => 0,
        ("CustomResourceDefinition", "apiextensions.k8s.io") => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(kind: &str, name: &str, component: &str) -> ObjectKey {
        ObjectKey::of(
            &json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": "ns"}}),
            component,
        )
    }

    #[test]
    fn namespaces_then_crds_then_the_rest() {
        let objects = [
            json!({"apiVersion": "apps/v1", "kind": "Deployment"}),
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}),
            json!({"apiVersion": "v1", "kind": "Namespace"}),
            json!({"apiVersion": "v1", "kind": "Service"}),
        ];
        assert_eq!(
            plan(&objects),
            [
                Phase { objects: vec![2], wait_established: false },
                Phase { objects: vec![1], wait_established: true },
                Phase { objects: vec![0, 3], wait_established: false },
            ]
        );
    }

    #[test]
    fn prune_removes_only_what_is_no_longer_rendered_in_the_selection() {
        let previous =
            [key("ConfigMap", "a", "web"), key("ConfigMap", "b", "web"), key("Secret", "c", "db")];
        let current = [key("ConfigMap", "a", "web")];
        assert_eq!(
            prune(&previous, &current, &[]),
            [key("ConfigMap", "b", "web"), key("Secret", "c", "db")]
        );
        assert_eq!(prune(&previous, &current, &["web".into()]), [key("ConfigMap", "b", "web")]);
    }
}
