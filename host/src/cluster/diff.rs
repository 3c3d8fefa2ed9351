//! `diff`: what an apply would change, from a server-side dry-run against the live object,
//! with managed fields, status and server-set metadata hidden, and Secrets' values masked.

use kube::api::{Patch, PatchParams};
use serde_json::Value;

use super::client::Cluster;
use super::{Error, FIELD_MANAGER, ObjectKey};

/// One object's difference, as a unified diff of YAML.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// The object.
    pub key: ObjectKey,
    /// The unified diff (`---`/`+++` headers, hunks).
    pub text: String,
}

/// Metadata the server sets, which a diff should not show.
const SERVER_METADATA: &[&str] =
    &["managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink"];

/// `value` without status and server-set metadata.
pub fn normalize(value: &Value) -> Value {
    let mut value = value.clone();
    if let Some(object) = value.as_object_mut() {
        object.remove("status");
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in SERVER_METADATA {
                meta.remove(*field);
            }
            let empty =
                meta.get("annotations").and_then(Value::as_object).is_some_and(|a| a.is_empty());
            if empty {
                meta.remove("annotations");
            }
        }
    }
    value
}

fn yaml(value: &Value) -> String {
    serde_saphyr::to_string(&normalize(value)).unwrap_or_default()
}

/// The differences between the live objects and what applying `objects` would make them.
pub async fn diff(
    cluster: &Cluster,
    objects: &[(String, Value)],
    force_conflicts: bool,
) -> Result<Vec<Diff>, Error> {
    let mut diffs = Vec::new();
    for (component, object) in objects {
        let key = ObjectKey::of(object, component);
        let (live, applied) = cluster.dry_run(&key, object, force_conflicts).await?;
        // Secrets' values never reach the diff, only which keys changed.
        let (live, applied) = super::secret::masked_pair(live.as_ref(), &applied);
        let before = live.as_ref().map(yaml).unwrap_or_default();
        let after = yaml(&applied);
        if before != after {
            let label = key.to_string();
            let text = similar::TextDiff::from_lines(&before, &after)
                .unified_diff()
                .context_radius(3)
                .header(&format!("live/{label}"), &format!("kiln/{label}"))
                .to_string();
            diffs.push(Diff { key, text });
        }
    }
    Ok(diffs)
}

impl Cluster {
    /// The live object (if any) and what a server-side dry-run apply makes of it.
    pub(super) async fn dry_run(
        &self,
        key: &ObjectKey,
        object: &Value,
        force: bool,
    ) -> Result<(Option<Value>, Value), Error> {
        let api = match self.api(key).await {
            Ok(api) => api,
            // A kind the cluster does not serve yet (a CRD in the same render): all new.
            Err(Error::UnknownKind { .. }) => return Ok((None, object.clone())),
            Err(e) => return Err(e),
        };
        let live =
            self.retry(|| api.get_opt(&key.name)).await.map_err(|e| self.error("get", key, e))?;
        let mut params = PatchParams::apply(FIELD_MANAGER).dry_run();
        params.force = force;
        let applied = self
            .retry(|| async { api.patch(&key.name, &params, &Patch::Apply(object)).await })
            .await
            .map_err(|e| self.error("apply", key, e))?;
        let to_value = |o| serde_json::to_value(o).unwrap_or(Value::Null);
        Ok((live.map(to_value), to_value(applied)))
    }
}
