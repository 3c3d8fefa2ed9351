//! Planning an apply, as plain values: which objects go in which phase, and what a prune
//! removes.
//!
//! Namespaces come first, then CRDs (waited on until Established), then the objects' own
//! phases: the integer of their `kiln.dev/phase` annotation ([`crate::manifest::phase`]),
//! lowest first, objects without it in phase 0 (as Argo CD's sync waves: negatives before the
//! unannotated, positives after). Each of those phases but the last is waited on until its
//! objects are ready before the next starts. The annotation does not move a Namespace or a CRD:
//! they always come first, since everything else may need them. Delete goes in reverse.

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
    /// Whether to wait for this phase's objects to be ready before the next: every phase of
    /// the `kiln.dev/phase` annotation but the last.
    pub wait_ready: bool,
    /// The annotation's phase number; `None` for the Namespaces and the CRDs.
    pub number: Option<i32>,
}

fn is_crd(v: &Value) -> bool {
    v["kind"] == "CustomResourceDefinition"
        && v["apiVersion"].as_str().is_some_and(|a| a.starts_with("apiextensions.k8s.io/"))
}

/// The phases of applying `objects`: Namespaces, CRDs, then one per `kiln.dev/phase` number,
/// lowest first (see the module's docs). Empty phases are left out. A phase annotation that is
/// not an integer was refused by post-processing; here it counts as phase 0.
pub fn plan(objects: &[Value]) -> Vec<Phase> {
    let (mut namespaces, mut crds) = (Vec::new(), Vec::new());
    let mut numbered: std::collections::BTreeMap<i32, Vec<usize>> = Default::default();
    for (i, v) in objects.iter().enumerate() {
        if v["kind"] == "Namespace" && v["apiVersion"] == "v1" {
            namespaces.push(i);
        } else if is_crd(v) {
            crds.push(i);
        } else {
            numbered.entry(crate::manifest::phase(v).unwrap_or(0)).or_default().push(i);
        }
    }
    let last = numbered.keys().next_back().copied();
    let first = [(namespaces, false), (crds, true)].into_iter().map(|(objects, crds)| Phase {
        objects,
        wait_established: crds,
        wait_ready: false,
        number: None,
    });
    let rest = numbered.into_iter().map(|(n, objects)| Phase {
        objects,
        wait_established: false,
        wait_ready: Some(n) != last,
        number: Some(n),
    });
    first.chain(rest).filter(|p| !p.objects.is_empty()).collect()
}

/// The order in which to delete `objects`: the phases of [`plan`] in reverse, so objects of a
/// later phase go before those they needed, and Namespaces and CRDs last.
pub fn delete_order(objects: &[Value]) -> Vec<usize> {
    plan(objects).into_iter().rev().flat_map(|p| p.objects).collect()
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
        let phase = |objects: Vec<usize>, crds: bool, number: Option<i32>| Phase {
            objects,
            wait_established: crds,
            wait_ready: false,
            number,
        };
        assert_eq!(
            plan(&objects),
            [
                phase(vec![2], false, None),
                phase(vec![1], true, None),
                phase(vec![0, 3], false, Some(0))
            ]
        );
    }

    #[test]
    fn annotated_phases_apply_lowest_first_unannotated_in_phase_0_each_waited_but_the_last() {
        let object = |kind: &str, phase: Option<&str>| {
            let mut o = json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}});
            if let Some(p) = phase {
                o["metadata"]["annotations"] = json!({"kiln.dev/phase": p});
            }
            o
        };
        let objects = [
            object("Service", None),
            object("ConfigMap", Some("2")),
            object("Secret", Some("-1")),
            object("Namespace", Some("5")),
            object("Pod", Some("0")),
        ];
        let planned: Vec<_> =
            plan(&objects).into_iter().map(|p| (p.objects, p.number, p.wait_ready)).collect();
        assert_eq!(
            planned,
            [
                (vec![3], None, false),
                (vec![2], Some(-1), true),
                (vec![0, 4], Some(0), true),
                (vec![1], Some(2), false),
            ]
        );
        assert_eq!(delete_order(&objects), [1, 0, 4, 2, 3]);
        // One phase only (no annotations): nothing waits.
        assert!(plan(&objects[..1]).iter().all(|p| !p.wait_ready));
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
