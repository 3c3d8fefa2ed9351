//! The per-environment inventory: a ConfigMap in the environment's namespace listing every
//! object the last apply made, so prune knows what to look at without listing every kind in
//! the cluster.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};

use super::execute::Cluster;
use super::{Error, FIELD_MANAGER, ObjectKey};
use crate::manifest::{APP_LABEL, ENV_LABEL, MANAGED_BY, MANAGER};

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
        format!("kiln-inventory-{}-{}", self.app, self.environment)
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

    /// The recorded objects; none if there is no inventory yet.
    pub async fn read(&self, cluster: &Cluster) -> Result<Vec<ObjectKey>, Error> {
        let object = self.key().to_string();
        let (api, name) = (self.api(cluster), self.name());
        let cm = cluster
            .retry(|| api.get_opt(&name))
            .await
            .map_err(|e| cluster.error("read inventory", &self.key(), e))?;
        let Some(text) = cm.and_then(|cm| cm.data).and_then(|mut d| d.remove("objects")) else {
            return Ok(Vec::new());
        };
        serde_json::from_str(&text).map_err(|e| Error::Api {
            action: "read inventory",
            object,
            message: format!("it is not valid JSON ({e}); delete it to start over"),
        })
    }

    /// Record `objects` as the environment's inventory.
    pub async fn write(
        &self,
        cluster: &Cluster,
        objects: &[ObjectKey],
        dry_run: bool,
    ) -> Result<(), Error> {
        let mut objects = objects.to_vec();
        objects.sort();
        objects.dedup();
        let cm = serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.name(),
                "namespace": self.namespace,
                "labels": { MANAGED_BY: MANAGER, APP_LABEL: self.app, ENV_LABEL: self.environment },
            },
            "data": { "objects": serde_json::to_string_pretty(&objects).unwrap_or_default() },
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
