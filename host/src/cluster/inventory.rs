//! The per-environment inventory: a ConfigMap in the environment's namespace listing every
//! object the last apply made, so prune knows what to look at without listing every kind in
//! the cluster; and, for each object, a fingerprint of what Kiln applied and the resource
//! version it left, so a re-apply can leave alone what nobody changed (see `execute::applied`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};

use super::client::Cluster;
use super::{Error, FIELD_MANAGER, ObjectKey};
use crate::manifest::{APP_LABEL, ENV_LABEL, INVENTORY_PREFIX, MANAGED_BY, MANAGER};

/// What an environment's inventory records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// The objects applied, and those remembered for a later prune.
    pub objects: Vec<ObjectKey>,
    /// For objects applied, by [`Inventory::id`]: the fingerprint of what was applied and the
    /// resource version it left.
    pub applied: BTreeMap<String, String>,
}

impl Inventory {
    /// The key of `key` in [`Inventory::applied`]: `apps/v1 Deployment/ns/name`.
    pub fn id(key: &ObjectKey) -> String {
        format!("{} {key}", key.api_version)
    }
}

/// Where an environment's inventory lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryRef {
    /// The app.
    pub app: String,
    /// The environment.
    pub environment: String,
    /// The environment's namespace, which holds the ConfigMap.
    pub namespace: String,
}

impl InventoryRef {
    /// The ConfigMap's name.
    pub fn name(&self) -> String {
        format!("{INVENTORY_PREFIX}{}-{}", self.app, self.environment)
    }

    /// Whether `key` names this inventory.
    pub fn is(&self, key: &ObjectKey) -> bool {
        key.identity() == self.key().identity()
    }

    fn api(&self, cluster: &Cluster) -> Api<ConfigMap> {
        Api::namespaced(cluster.client().clone(), &self.namespace)
    }

    fn key(&self) -> ObjectKey {
        ObjectKey {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some(self.namespace.clone()),
            name: self.name(),
            component: String::new(),
        }
    }

    /// The recorded objects and their fingerprints by `Inventory::id`; none if there is no
    /// inventory yet. An inventory from before fingerprints has none.
    pub async fn read(&self, cluster: &Cluster) -> Result<Inventory, Error> {
        let object = self.key().to_string();
        let (api, name) = (self.api(cluster), self.name());
        let cm = cluster
            .retry(|| api.get_opt(&name))
            .await
            .map_err(|e| cluster.error("read inventory", &self.key(), e))?;
        let mut data = cm.and_then(|cm| cm.data).unwrap_or_default();
        let invalid = |e: serde_json::Error| Error::Api {
            action: "read inventory",
            object: object.clone(),
            message: format!("it is not valid JSON ({e}); delete it to start over"),
        };
        let objects = match data.remove("objects") {
            Some(text) => serde_json::from_str(&text).map_err(invalid)?,
            None => Vec::new(),
        };
        let applied = match data.remove("applied") {
            Some(text) => serde_json::from_str(&text).map_err(invalid)?,
            None => BTreeMap::new(),
        };
        Ok(Inventory { objects, applied })
    }

    /// Record `inventory` as the environment's, keeping fingerprints only of its objects.
    pub async fn write(
        &self,
        cluster: &Cluster,
        inventory: &Inventory,
        dry_run: bool,
    ) -> Result<(), Error> {
        let mut objects = inventory.objects.clone();
        objects.sort();
        objects.dedup();
        let ids: std::collections::BTreeSet<String> = objects.iter().map(Inventory::id).collect();
        let mut applied = inventory.applied.clone();
        applied.retain(|id, _| ids.contains(id));
        let cm = serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.name(),
                "namespace": self.namespace,
                "labels": { MANAGED_BY: MANAGER, APP_LABEL: self.app, ENV_LABEL: self.environment },
            },
            "data": {
                "objects": serde_json::to_string_pretty(&objects).unwrap_or_default(),
                "applied": serde_json::to_string_pretty(&applied).unwrap_or_default(),
            },
        });
        let mut params = PatchParams::apply(FIELD_MANAGER).force();
        params.dry_run = dry_run;
        let (api, name) = (self.api(cluster), self.name());
        cluster
            .retry(|| async { api.patch(&name, &params, &Patch::Apply(&cm)).await })
            .await
            .map_err(|e| cluster.error("write inventory", &self.key(), e))?;
        Ok(())
    }
}
