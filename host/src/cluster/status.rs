//! `status`: where each of an environment's objects stands in its cluster: there or missing,
//! as Kiln applied it or changed since (and by whom), ready or not (see [`super::ready`]).
//!
//! An object is in sync when nobody wrote it since Kiln's last apply (the inventory's
//! fingerprint of what was applied and the resource version it left still matches), or, when
//! something did (a controller writing status or its own annotations, someone adding a label),
//! when applying it now would change nothing: a server-side dry run of the apply leaves it as
//! it is. A dry run that conflicts means another field manager took over fields Kiln sets
//! (`kubectl edit`, `kubectl patch`, `kubectl scale`): the object was changed by that manager.
//! A dry run that would change the object without a conflict means it differs from what Kiln
//! applied (someone removed a field Kiln set, say) and applying again would restore it.

use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::client::Cluster;
use super::execute::{applied, applied_digest};
use super::inventory::{Inventory, InventoryRef};
use super::ready::{Status, status as readiness};
use super::{Error, FIELD_MANAGER, ObjectKey};

/// How a live object compares with what Kiln applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sync {
    /// As Kiln applied it; applying again would change nothing.
    InSync,
    /// Another field manager took over fields Kiln sets: these managers, as the server names
    /// them (or, failing that, the last one to write the object).
    ChangedBy(Vec<String>),
    /// Nobody else owns Kiln's fields, but the live object differs from what Kiln applied:
    /// applying it again would change it.
    Differs,
}

impl Sync {
    /// How `kiln status` says it.
    pub fn describe(&self) -> String {
        match self {
            Sync::InSync => "in sync".into(),
            Sync::ChangedBy(managers) => format!("changed by {}", managers.join(", ")),
            Sync::Differs => "differs from what Kiln applied".into(),
        }
    }
}

/// Where one object stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectStatus {
    /// The object.
    pub key: ObjectKey,
    /// How it compares with what Kiln applied; `None` when it is missing.
    pub sync: Option<Sync>,
    /// Whether it is ready ([`Status::NotFound`] when missing).
    pub ready: Status,
}

impl ObjectStatus {
    /// Whether it is there, as applied, and ready.
    pub fn is_ok(&self) -> bool {
        self.sync == Some(Sync::InSync) && self.ready == Status::Current
    }
}

/// Where each of `objects` (each with its component) stands in `cluster`, in their order,
/// compared with what the environment's inventory says Kiln applied.
pub async fn status(
    cluster: &Cluster,
    objects: &[(String, Value)],
    inventory: &InventoryRef,
    concurrency: usize,
) -> Result<Vec<ObjectStatus>, Error> {
    let recorded = inventory.read(cluster).await?;
    let recorded = &recorded;
    futures::stream::iter(objects)
        .map(|(component, object)| async move {
            let key = ObjectKey::of(object, component);
            let live = match cluster.live(&key).await {
                Ok(live) => live,
                // The kind is not served (its CRD is gone): neither is the object.
                Err(Error::UnknownKind { .. }) => None,
                Err(e) => return Err(e),
            };
            let Some(live) = live else {
                return Ok(ObjectStatus { key, sync: None, ready: Status::NotFound });
            };
            let sync = sync(cluster, &key, object, &live, recorded).await?;
            Ok(ObjectStatus { key, sync: Some(sync), ready: readiness(Some(&live)) })
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await
}

/// How `live` compares with `object` as Kiln applies it (see the module's docs).
async fn sync(
    cluster: &Cluster,
    key: &ObjectKey,
    object: &Value,
    live: &Value,
    recorded: &Inventory,
) -> Result<Sync, Error> {
    let meta: kube::api::ObjectMeta =
        serde_json::from_value(live["metadata"].clone()).unwrap_or_default();
    let last = recorded.applied.get(&Inventory::id(key));
    if last.is_some() && applied(&applied_digest(object), &meta).as_ref() == last {
        return Ok(Sync::InSync);
    }
    match cluster.dry_run(key, object, false).await {
        Ok((Some(before), after)) => {
            let same = super::diff::normalize(&before) == super::diff::normalize(&after);
            Ok(if same { Sync::InSync } else { Sync::Differs })
        }
        Ok((None, _)) => Ok(Sync::Differs),
        Err(Error::Conflict { message, .. }) => {
            let mut managers = conflicting_managers(&message);
            if managers.is_empty() {
                managers.extend(last_writer(live));
            }
            if managers.is_empty() {
                managers.push("another field manager".into());
            }
            Ok(Sync::ChangedBy(managers))
        }
        Err(e) => Err(e),
    }
}

/// The managers a server-side apply conflict names: `conflict with "kubectl-edit" using
/// apps/v1: .spec.replicas`, once each.
fn conflicting_managers(message: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for part in message.split("conflict with \"").skip(1) {
        if let Some((name, _)) = part.split_once('"')
            && !found.iter().any(|f| f == name)
        {
            found.push(name.to_string());
        }
    }
    found
}

/// The field manager other than Kiln that wrote `live` last (by `managedFields` time), not
/// counting writes of its status.
fn last_writer(live: &Value) -> Option<String> {
    live.pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .filter(|m| m["manager"] != FIELD_MANAGER && m["subresource"] != "status")
        .filter_map(|m| Some((m["time"].as_str().unwrap_or_default(), m["manager"].as_str()?)))
        // RFC 3339 times in UTC, as the server writes them, order as text.
        .max_by(|a, b| a.0.cmp(b.0))
        .map(|(_, manager)| manager.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_conflict_names_each_manager_once() {
        let message = "Apply failed with 2 conflicts: conflict with \"kubectl-edit\" using apps/v1: \
                       .spec.replicas\nconflict with \"kubectl-edit\" using apps/v1: .spec.paused \
                       conflict with \"hpa\": .spec.x";
        assert_eq!(conflicting_managers(message), ["kubectl-edit", "hpa"]);
        assert!(conflicting_managers("it exists and was not made by Kiln").is_empty());
    }

    #[test]
    fn the_last_writer_is_the_latest_manager_but_kiln_not_counting_status() {
        let live = json!({"metadata": {"managedFields": [
            {"manager": "kiln", "operation": "Apply", "time": "2024-05-01T10:00:09Z"},
            {"manager": "kube-controller-manager", "operation": "Update",
             "time": "2024-05-01T10:00:01Z"},
            {"manager": "kubectl-patch", "operation": "Update", "time": "2024-05-01T10:00:05Z"},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
             "time": "2024-05-01T10:00:08Z"},
        ]}});
        assert_eq!(last_writer(&live).as_deref(), Some("kubectl-patch"));
        assert_eq!(last_writer(&json!({"metadata": {}})), None);
    }
}
