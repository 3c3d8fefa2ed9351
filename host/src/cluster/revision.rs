//! Revisions of an environment, kept in its cluster: every apply that changes something records
//! what it applied (the objects themselves, compressed), who applied it, with which Kiln, which
//! packages and which params, so that `kiln history` can say what happened and `kiln rollback`
//! can go back with neither the old checkout nor the registry.
//!
//! A revision is one or more Secrets in the environment's namespace (Secrets, as Helm keeps its
//! releases: rendered objects may hold what only Secrets should), labelled as Kiln's with the
//! app, the environment and the revision's number. The first part holds the description
//! (`meta`, JSON) and the gzip-compressed objects begin there; a revision too large for one
//! object (the API server takes about 1 MiB) continues in further parts of [`PART_BYTES`]
//! each. The parts after the first are written first, so a revision whose first part exists is
//! whole. The inventory (`inventory.rs`) keeps its role: what prune looks at.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::Cluster;
use super::inventory::InventoryRef;
use super::plan::ObjectKey;
use super::{Error, Outcome, Report};
use crate::manifest::{APP_LABEL, ENV_LABEL, MANAGED_BY, MANAGER, REVISION_PREFIX};

/// The label with a revision's number.
pub const REVISION_LABEL: &str = "kiln.dev/revision";
/// The label with a part's index within its revision.
const PART_LABEL: &str = "kiln.dev/revision-part";
/// The type of a revision's Secrets.
const SECRET_TYPE: &str = "kiln.dev/revision";
/// Compressed bytes in one part: well under what the API server takes in one object.
pub const PART_BYTES: usize = 512 * 1024;
/// Revisions kept by default (`--history-max`).
pub const HISTORY_MAX: usize = 10;

/// How many objects an apply created, configured and pruned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// Created.
    pub created: usize,
    /// Changed.
    pub configured: usize,
    /// Deleted by prune.
    pub pruned: usize,
}

impl Changes {
    /// What `report` did.
    pub fn of(report: &Report) -> Self {
        let count = |o: &Outcome| report.results.iter().filter(|(_, r)| r == o).count();
        Changes {
            created: count(&Outcome::Created),
            configured: count(&Outcome::Configured),
            pruned: count(&Outcome::Pruned),
        }
    }

    /// Whether anything changed.
    pub fn any(&self) -> bool {
        self.created + self.configured + self.pruned > 0
    }
}

/// `3 created, 1 configured, 0 pruned`.
impl std::fmt::Display for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} created, {} configured, {} pruned",
            self.created, self.configured, self.pruned
        )
    }
}

/// A package as the lock had it when a revision was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRecord {
    /// Its version.
    pub version: String,
    /// The `sha256:` digest of its files' digests in `kiln.lock`.
    pub digest: String,
}

/// What a revision says of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// 1, 2, ...: one more than the newest before it.
    pub number: u64,
    /// When it was recorded (RFC 3339, the API server's clock).
    #[serde(default)]
    pub time: String,
    /// The kubeconfig user that applied it.
    pub user: String,
    /// The Kiln that applied it.
    pub kiln_version: String,
    /// The packages of `kiln.lock`, by `registry/name`.
    pub packages: BTreeMap<String, PackageRecord>,
    /// A digest of every component's resolved params.
    pub params_hash: String,
    /// The revision it rolled back to, if it was a rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<u64>,
    /// What the apply changed.
    pub changes: Changes,
    /// How many objects it holds.
    pub objects: usize,
    /// How many Secrets hold it.
    pub parts: usize,
}

impl Meta {
    /// `apply`, or `rollback to 3`.
    pub fn description(&self) -> String {
        match self.rollback_of {
            Some(n) => format!("rollback to {n}"),
            None => "apply".into(),
        }
    }
}

/// What a new revision records besides its objects (its number, time and size are Kiln's).
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// The packages of `kiln.lock`.
    pub packages: BTreeMap<String, PackageRecord>,
    /// A digest of every component's resolved params.
    pub params_hash: String,
    /// The revision it rolls back to, if it does.
    pub rollback_of: Option<u64>,
}

/// One object of a revision, with its component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    /// The component that rendered it.
    pub component: String,
    /// The object as it was applied.
    pub object: Value,
}

/// A revision with its objects.
#[derive(Debug, Clone)]
pub struct Revision {
    /// What it says of itself.
    pub meta: Meta,
    /// Its objects, in apply order.
    pub objects: Vec<Applied>,
}

fn api(cluster: &Cluster, env: &InventoryRef) -> Api<Secret> {
    Api::namespaced(cluster.client().clone(), &env.namespace)
}

/// The name of part `part` of revision `number`: dots, which app and environment names cannot
/// hold, keep every app, environment and number apart.
fn name(env: &InventoryRef, number: u64, part: usize) -> String {
    let base = format!("{}{}.{}.v{number}", REVISION_PREFIX, env.app, env.environment);
    if part == 0 { base } else { format!("{base}.p{part}") }
}

fn selector(env: &InventoryRef) -> String {
    format!(
        "{MANAGED_BY}={MANAGER},{APP_LABEL}={},{ENV_LABEL}={},{REVISION_LABEL}",
        env.app, env.environment
    )
}

/// An error about revision `number` (or the environment's revisions) that failed with `err`.
fn error(cluster: &Cluster, env: &InventoryRef, action: &'static str, err: kube::Error) -> Error {
    let key = ObjectKey {
        api_version: "v1".into(),
        kind: "Secret".into(),
        namespace: Some(env.namespace.clone()),
        name: format!("{}{}.{}.*", REVISION_PREFIX, env.app, env.environment),
        component: String::new(),
    };
    cluster.error(action, &key, err)
}

fn invalid(name: &str, why: impl std::fmt::Display) -> Error {
    Error::Api {
        action: "read revision",
        object: format!("Secret/{name}"),
        message: format!("{why}; delete it to leave it out of the history"),
    }
}

/// The environment's revisions, newest first, without their objects.
pub async fn list(cluster: &Cluster, env: &InventoryRef) -> Result<Vec<Meta>, Error> {
    list_or(cluster, env).await?.map_err(|e| error(cluster, env, "list revisions", e))
}

/// [`list`], or the error of the request that failed, for the caller to judge.
async fn list_or(
    cluster: &Cluster,
    env: &InventoryRef,
) -> Result<Result<Vec<Meta>, kube::Error>, Error> {
    let api = api(cluster, env);
    let params = ListParams::default().labels(&format!("{},{PART_LABEL}=0", selector(env)));
    let secrets = match cluster.retry(|| api.list(&params)).await {
        Ok(secrets) => secrets,
        Err(e) => return Ok(Err(e)),
    };
    let mut metas = Vec::new();
    for secret in secrets.items {
        let name = secret.metadata.name.clone().unwrap_or_default();
        metas.push(meta_of(&name, &secret)?);
    }
    metas.sort_by_key(|m| std::cmp::Reverse(m.number));
    Ok(Ok(metas))
}

/// What [`record`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Recorded as this revision.
    Number(u64),
    /// The identity may not keep revisions in the namespace (the server's message): the apply
    /// stands, without a revision, as before revisions.
    Forbidden(String),
}

fn forbidden(err: &kube::Error) -> Option<String> {
    match err {
        kube::Error::Api(status) if status.code == 403 => Some(shown(&status.message)),
        _ => None,
    }
}

fn shown(text: &str) -> String {
    crate::untrusted::line(text).into_owned()
}

fn meta_of(name: &str, secret: &Secret) -> Result<Meta, Error> {
    let data = secret.data.as_ref().and_then(|d| d.get("meta"));
    let bytes = data.ok_or_else(|| invalid(name, "it has no `meta`"))?;
    let mut meta: Meta = serde_json::from_slice(&bytes.0)
        .map_err(|e| invalid(name, format!("its `meta` is not a revision's ({e})")))?;
    if let Some(time) = &secret.metadata.creation_timestamp {
        meta.time = time.0.to_string();
    }
    Ok(meta)
}

/// Revision `number` with its objects.
pub async fn read(cluster: &Cluster, env: &InventoryRef, number: u64) -> Result<Revision, Error> {
    let api = api(cluster, env);
    let first = name(env, number, 0);
    let secret = cluster
        .retry(|| api.get_opt(&first))
        .await
        .map_err(|e| error(cluster, env, "read revision", e))?
        .ok_or_else(|| Error::NoRevision { environment: env.environment.clone(), number })?;
    let meta = meta_of(&first, &secret)?;
    let mut compressed = chunk(&first, &secret)?;
    for part in 1..meta.parts {
        let part_name = name(env, number, part);
        let secret = cluster
            .retry(|| api.get_opt(&part_name))
            .await
            .map_err(|e| error(cluster, env, "read revision", e))?
            .ok_or_else(|| invalid(&first, format!("its part {part} ({part_name}) is missing")))?;
        compressed.extend(chunk(&part_name, &secret)?);
    }
    let objects = decode(&compressed).map_err(|why| invalid(&first, why))?;
    Ok(Revision { meta, objects })
}

fn chunk(name: &str, secret: &Secret) -> Result<Vec<u8>, Error> {
    let data = secret.data.as_ref().and_then(|d| d.get("objects"));
    Ok(data.ok_or_else(|| invalid(name, "it has no `objects`"))?.0.clone())
}

/// The objects, gzip-compressed JSON: what a revision's parts hold, split.
pub fn encode(objects: &[Applied]) -> Vec<u8> {
    let json = serde_json::to_vec(objects).expect("JSON values serialize");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&json).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// What [`encode`] made.
pub fn decode(compressed: &[u8]) -> Result<Vec<Applied>, String> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(compressed)
        .read_to_end(&mut json)
        .map_err(|e| format!("its objects cannot be decompressed ({e})"))?;
    serde_json::from_slice(&json).map_err(|e| format!("its objects are not a revision's ({e})"))
}

/// Record a revision of `objects` after the newest, keeping the newest `history_max` and
/// deleting older ones. An identity the server does not let keep Secrets in the namespace
/// records nothing (see [`Recorded::Forbidden`]).
pub async fn record(
    cluster: &Cluster,
    env: &InventoryRef,
    record: Record,
    changes: Changes,
    objects: &[Applied],
    history_max: usize,
) -> Result<Recorded, Error> {
    let existing = match list_or(cluster, env).await? {
        Ok(existing) => existing,
        Err(e) => match forbidden(&e) {
            Some(message) => return Ok(Recorded::Forbidden(message)),
            None => return Err(error(cluster, env, "list revisions", e)),
        },
    };
    let number = existing.first().map_or(1, |m| m.number + 1);
    let compressed = encode(objects);
    let chunks: Vec<&[u8]> =
        if compressed.is_empty() { vec![&[]] } else { compressed.chunks(PART_BYTES).collect() };
    let meta = Meta {
        number,
        time: String::new(),
        user: cluster.kubeconfig_user().unwrap_or("unknown").to_string(),
        kiln_version: env!("CARGO_PKG_VERSION").to_string(),
        packages: record.packages,
        params_hash: record.params_hash,
        rollback_of: record.rollback_of,
        changes,
        objects: objects.len(),
        parts: chunks.len(),
    };
    let api = api(cluster, env);
    let post = PostParams::default();
    // The first part last: it is what marks the revision whole.
    for (part, bytes) in chunks.iter().enumerate().rev() {
        let mut data = BTreeMap::from([("objects".to_string(), ByteString(bytes.to_vec()))]);
        if part == 0 {
            let meta = serde_json::to_vec(&meta).expect("a revision's meta serializes");
            data.insert("meta".into(), ByteString(meta));
        }
        let secret = Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(name(env, number, part)),
                namespace: Some(env.namespace.clone()),
                labels: Some(BTreeMap::from([
                    (MANAGED_BY.to_string(), MANAGER.to_string()),
                    (APP_LABEL.to_string(), env.app.clone()),
                    (ENV_LABEL.to_string(), env.environment.clone()),
                    (REVISION_LABEL.to_string(), number.to_string()),
                    (PART_LABEL.to_string(), part.to_string()),
                ])),
                ..Default::default()
            },
            type_: Some(SECRET_TYPE.into()),
            data: Some(data),
            immutable: Some(true),
            ..Default::default()
        };
        match cluster.retry(|| api.create(&post, &secret)).await {
            Ok(_) => {}
            Err(e) => match forbidden(&e) {
                Some(message) => return Ok(Recorded::Forbidden(message)),
                None => return Err(error(cluster, env, "record revision", e)),
            },
        }
    }
    forget_older(cluster, env, number, history_max).await?;
    Ok(Recorded::Number(number))
}

/// Delete every part of the revisions older than the newest `keep` up to `newest`.
async fn forget_older(
    cluster: &Cluster,
    env: &InventoryRef,
    newest: u64,
    keep: usize,
) -> Result<(), Error> {
    let Some(oldest_kept) = newest.checked_sub(keep.max(1) as u64 - 1) else { return Ok(()) };
    let api = api(cluster, env);
    let params = ListParams::default().labels(&selector(env));
    let parts = cluster
        .retry(|| api.list_metadata(&params))
        .await
        .map_err(|e| error(cluster, env, "list revisions", e))?;
    let delete = DeleteParams::default();
    for part in parts.items {
        let number =
            part.metadata.labels.as_ref().and_then(|l| l.get(REVISION_LABEL)?.parse::<u64>().ok());
        let (Some(number), Some(name)) = (number, part.metadata.name) else { continue };
        if number < oldest_kept {
            match cluster.retry(|| api.delete(&name, &delete)).await {
                Ok(_) | Err(kube::Error::Api(_)) => {}
                Err(e) => return Err(error(cluster, env, "forget revision", e)),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(app: &str, environment: &str) -> InventoryRef {
        InventoryRef { app: app.into(), environment: environment.into(), namespace: "ns".into() }
    }

    #[test]
    fn objects_round_trip_compressed() {
        let objects: Vec<Applied> = (0..200)
            .map(|i| Applied {
                component: format!("c{}", i % 7),
                object: serde_json::json!({
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": format!("cm-{i}"), "namespace": "ns" },
                    "data": { "key": "value ".repeat(20) },
                }),
            })
            .collect();
        let compressed = encode(&objects);
        assert!(compressed.len() * 10 < serde_json::to_vec(&objects).unwrap().len());
        assert_eq!(decode(&compressed).unwrap(), objects);
        assert_eq!(encode(&objects), compressed, "the same objects, the same bytes");
        assert!(decode(&compressed[..compressed.len() / 2]).is_err());
    }

    #[test]
    fn names_keep_apps_environments_numbers_and_parts_apart() {
        assert_eq!(name(&env("a", "b-1"), 2, 0), "kiln-revision-a.b-1.v2");
        assert_ne!(name(&env("a", "b-1"), 2, 0), name(&env("a-b", "1"), 2, 0));
        assert_eq!(name(&env("a", "b"), 12, 3), "kiln-revision-a.b.v12.p3");
        assert!(crate::names::is_dns1123_subdomain(&name(&env("a", "b"), 12, 3)));
    }

    #[test]
    fn changes_count_what_the_report_did() {
        let key = |n: &str| ObjectKey {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: None,
            name: n.into(),
            component: String::new(),
        };
        let report = Report {
            results: vec![
                (key("a"), Outcome::Created),
                (key("b"), Outcome::Configured),
                (key("c"), Outcome::Kept),
                (key("d"), Outcome::Pruned),
                (key("e"), Outcome::Created),
            ],
        };
        let changes = Changes::of(&report);
        assert_eq!(changes.to_string(), "2 created, 1 configured, 1 pruned");
        assert!(changes.any());
        assert!(!Changes::default().any());
    }
}
