//! The environment's namespace: created by `apply` when it does not exist (as Helm's
//! `--create-namespace` does), labelled as Kiln's for the app and environment, so that
//! `delete --delete-namespace` can tell the namespaces Kiln created from everyone else's.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams, Preconditions};

use super::client::Cluster;
use super::{Error, InventoryRef, ObjectKey};
use crate::manifest::{APP_LABEL, ENV_LABEL, MANAGED_BY, MANAGER};

/// What the cluster says of a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceState {
    /// It exists.
    Exists,
    /// It does not.
    Missing,
    /// The identity may not read it (a role limited to the namespace): Kiln goes on as if it
    /// existed, and the cluster says otherwise if it does not.
    Unknown,
}

fn key(name: &str) -> ObjectKey {
    ObjectKey {
        api_version: "v1".into(),
        kind: "Namespace".into(),
        namespace: None,
        name: name.into(),
        component: String::new(),
    }
}

fn api(cluster: &Cluster) -> Api<Namespace> {
    Api::all(cluster.client().clone())
}

/// Whether the namespace `name` exists.
pub async fn namespace_state(cluster: &Cluster, name: &str) -> Result<NamespaceState, Error> {
    let api = api(cluster);
    match cluster.retry(|| api.get_metadata_opt(name)).await {
        Ok(Some(_)) => Ok(NamespaceState::Exists),
        Ok(None) => Ok(NamespaceState::Missing),
        Err(kube::Error::Api(status)) if status.code == 403 => Ok(NamespaceState::Unknown),
        Err(e) => Err(cluster.error("get", &key(name), e)),
    }
}

/// Create the environment's namespace, labelled as Kiln's for its app and environment; with
/// `dry_run`, only let the server check that it would. `false` when it existed after all
/// (created meanwhile by someone else).
pub async fn create_namespace(
    cluster: &Cluster,
    environment: &InventoryRef,
    dry_run: bool,
) -> Result<bool, Error> {
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(environment.namespace.clone()),
            labels: Some(labels(environment).into_iter().collect()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    let params = PostParams { dry_run, field_manager: Some(super::FIELD_MANAGER.into()) };
    let api = api(cluster);
    match cluster.retry(|| api.create(&params, &namespace)).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(e) => Err(cluster.error("create", &key(&environment.namespace), e)),
    }
}

/// What `delete --delete-namespace` did with the namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceDeleted {
    /// Deleted (the server finalizes it: it may stay `Terminating` for a while).
    Deleted,
    /// Left: Kiln did not create it for this app and environment.
    NotKilns,
    /// It did not exist.
    Absent,
}

/// Delete the environment's namespace if Kiln created it for this app and environment (it
/// carries their labels); anything else is left.
pub async fn delete_namespace(
    cluster: &Cluster,
    environment: &InventoryRef,
) -> Result<NamespaceDeleted, Error> {
    let (api, name) = (api(cluster), environment.namespace.as_str());
    let Some(live) = cluster
        .retry(|| api.get_metadata_opt(name))
        .await
        .map_err(|e| cluster.error("get", &key(name), e))?
    else {
        return Ok(NamespaceDeleted::Absent);
    };
    let live_labels = live.metadata.labels.unwrap_or_default();
    if labels(environment).iter().any(|(k, v)| live_labels.get(k) != Some(v)) {
        return Ok(NamespaceDeleted::NotKilns);
    }
    let params = DeleteParams {
        // Exactly the namespace whose labels were checked.
        preconditions: Some(Preconditions {
            uid: live.metadata.uid,
            resource_version: live.metadata.resource_version,
        }),
        ..DeleteParams::background()
    };
    match cluster.retry(|| api.delete(name, &params)).await {
        Ok(_) => Ok(NamespaceDeleted::Deleted),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(NamespaceDeleted::Absent),
        Err(e) => Err(cluster.error("delete", &key(name), e)),
    }
}

/// The labels that make a namespace Kiln's for `environment`'s app and environment.
fn labels(environment: &InventoryRef) -> [(String, String); 3] {
    [
        (MANAGED_BY.into(), MANAGER.into()),
        (APP_LABEL.into(), environment.app.clone()),
        (ENV_LABEL.into(), environment.environment.clone()),
    ]
}
