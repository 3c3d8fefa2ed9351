//! Executing a plan against a cluster: server-side apply with field manager `kiln`, phase by
//! phase with bounded concurrency, CRDs waited on until Established and each annotated phase
//! until its objects are ready (see [`super::plan`] and [`super::ready`]), prune and delete of
//! Kiln's own objects only, readiness waits, and retries on throttling and server errors.

use std::collections::HashMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::{DeleteParams, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams};
use kube::discovery::Scope;
use serde_json::Value;

use super::client::Cluster;
use super::inventory::{Inventory, InventoryRef};
use super::plan::{self, ObjectKey};
use super::ready::{Status, status};
use super::{Error, FIELD_MANAGER};
use crate::manifest::{APP_LABEL, ENV_LABEL, MANAGED_BY, MANAGER};

/// How `--dry-run` was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DryRun {
    /// Print the plan; contact no server.
    Client,
    /// Ask the server to apply without persisting anything.
    Server,
}

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Dry run, if any.
    pub dry_run: Option<DryRun>,
    /// Delete objects of this app and environment that are no longer rendered.
    pub prune: bool,
    /// Take over fields owned by other managers.
    pub force_conflicts: bool,
    /// Wait for every object applied to be ready (by the rules of [`super::Status`]), up to
    /// this long.
    pub wait: Option<Duration>,
    /// How long the wait between two phases of the `kiln.dev/phase` annotation waits for the
    /// earlier phase's objects to be ready (`--timeout`); there is none on a dry run.
    pub timeout: Duration,
    /// Objects applied at once.
    pub concurrency: usize,
    /// Leave alone objects unchanged since the last apply (see `Cluster::apply_one`).
    pub skip_unchanged: bool,
    /// The components applied (empty: all), which bounds what prune may delete.
    pub components: Vec<String>,
}

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It did not exist and was created.
    Created,
    /// It existed and changed.
    Configured,
    /// It existed and nothing changed.
    Unchanged,
    /// It existed exactly as Kiln last applied it, so it was not sent again.
    Kept,
    /// It was deleted by a prune.
    Pruned,
    /// It was deleted.
    Deleted,
    /// It was not there (nothing to delete).
    Absent,
    /// It was left alone, and why.
    Skipped(String),
}

impl Outcome {
    /// The word the summary uses.
    pub fn word(&self) -> &str {
        match self {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged | Outcome::Kept => "unchanged",
            Outcome::Pruned => "pruned",
            Outcome::Deleted => "deleted",
            Outcome::Absent => "absent",
            Outcome::Skipped(_) => "skipped",
        }
    }

    /// The word, and why for outcomes that say so: one object's line of progress.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Kept => "unchanged (as last applied: not sent)".into(),
            Outcome::Skipped(why) => format!("skipped ({why})"),
            other => other.word().into(),
        }
    }
}

/// Progress, for the display.
#[derive(Debug, Clone)]
pub enum Event {
    /// Something the user should know about the environment (a namespace created, a lease
    /// taken over).
    Note(String),
    /// Something that may be a mistake, or leaves the environment less safe than asked.
    Warning(String),
    /// One object is done.
    Done(ObjectKey, Outcome),
    /// Waiting for an object.
    Waiting(ObjectKey, &'static str),
}

/// The result of an apply or delete, in plan order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Each object and what happened to it.
    pub results: Vec<(ObjectKey, Outcome)>,
}

impl Report {
    /// Counts per outcome word, in a fixed order, for the summary line.
    pub fn summary(&self) -> String {
        let words =
            ["created", "configured", "unchanged", "pruned", "deleted", "absent", "skipped"];
        let parts: Vec<String> = words
            .iter()
            .map(|w| (w, self.results.iter().filter(|(_, o)| o.word() == *w).count()))
            .filter(|(_, n)| *n > 0)
            .map(|(w, n)| format!("{n} {w}"))
            .collect();
        if parts.is_empty() { "nothing to do".into() } else { parts.join(", ") }
    }
}

/// Objects of one kind in one namespace from which one LIST of their metadata replaces a GET
/// each (see [`Cluster::look_up`]).
const LIST_FROM: usize = 4;

/// Objects per page of such a LIST.
const LIST_PAGE: u32 = 500;

/// What [`Cluster::look_up`] found: each object looked up, and its metadata if it exists.
type Known = HashMap<ObjectKey, Option<ObjectMeta>>;

impl Cluster {
    /// What is in the cluster already for `keys` (one phase), so each apply needs one request,
    /// not a GET and a PATCH: the metadata of every object of a kind in a namespace, read with
    /// one paged LIST, for each kind and namespace with at least [`LIST_FROM`] of the objects.
    /// Objects in smaller groups, or of kinds Kiln may not list, are not in the map (their
    /// apply reads them itself); those looked up and absent map to `None`.
    async fn look_up(&self, keys: &[&ObjectKey], concurrency: usize) -> Result<Known, Error> {
        let mut groups: HashMap<(&str, &str, Option<&str>), Vec<&ObjectKey>> = HashMap::new();
        for key in keys {
            let group = (key.api_version.as_str(), key.kind.as_str(), key.namespace.as_deref());
            groups.entry(group).or_default().push(key);
        }
        let lists = groups.into_values().filter(|g| g.len() >= LIST_FROM).map(|group| async move {
            let api = self.api(group[0]).await?;
            // Errors name the kind and namespace listed: `Deployment/ns/*`.
            let all = ObjectKey { name: "*".into(), ..group[0].clone() };
            let mut live: HashMap<String, ObjectMeta> = HashMap::new();
            let mut params = ListParams::default().limit(LIST_PAGE);
            loop {
                let page = match self.retry(|| api.list_metadata(&params)).await {
                    Ok(page) => page,
                    // Allowed to get and apply but not to list: each apply reads its object.
                    Err(kube::Error::Api(status)) if status.code == 403 => return Ok(Vec::new()),
                    Err(e) => return Err(self.error("list", &all, e)),
                };
                live.extend(
                    page.items
                        .into_iter()
                        .filter_map(|o| Some((o.metadata.name.clone()?, o.metadata))),
                );
                match page.metadata.continue_ {
                    Some(token) if !token.is_empty() => params = params.continue_token(&token),
                    _ => break,
                }
            }
            Ok::<_, Error>(
                group
                    .into_iter()
                    .map(move |k| (k.clone(), live.remove(&k.name)))
                    .collect::<Vec<_>>(),
            )
        });
        let found: Vec<_> =
            futures::stream::iter(lists).buffer_unordered(concurrency.max(1)).try_collect().await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Server-side apply one object; `known`, what [`Cluster::look_up`] found for it, if it
    /// looked; `last`, its fingerprint in the inventory. Returns what happened and the
    /// fingerprint to record (none after a dry run).
    ///
    /// Skips the request when nothing changed since the last apply: Kiln would apply the same
    /// object, and nobody wrote it since (see [`applied`]); an apply would then change nothing.
    /// Secrets are always sent.
    async fn apply_one(
        &self,
        key: &ObjectKey,
        object: &Value,
        known: Option<Option<ObjectMeta>>,
        last: Option<&str>,
        opts: &ApplyOptions,
    ) -> Result<(Outcome, Option<String>), Error> {
        let (api, scope) = self.api_scoped(key).await?;
        // Post-processing placed the object by the scope this cluster reported (see `scopes`);
        // an object placed otherwise would land somewhere its grant was not checked for.
        if (scope == Scope::Cluster) != key.namespace.is_none() {
            return Err(Error::ScopeMismatch {
                object: key.to_string(),
                served: if scope == Scope::Cluster { "cluster-wide" } else { "in namespaces" },
            });
        }
        let before = match known {
            Some(known) => known,
            None => self
                .retry(|| api.get_metadata_opt(&key.name))
                .await
                .map_err(|e| self.error("get", key, e))?
                .map(|live| live.metadata),
        };
        // A Secret is sent every time and gets no fingerprint: a digest of its values in the
        // inventory, a ConfigMap, would let whoever may read ConfigMaps test guesses of them.
        let desired = (!super::secret::is_secret(object)).then(|| applied_digest(object));
        if let (Some(live), Some(last), Some(desired)) = (&before, last, &desired)
            && opts.skip_unchanged
            && applied(desired, live).as_deref() == Some(last)
        {
            return Ok((Outcome::Kept, Some(last.to_string())));
        }
        if let Some(live) = &before
            && !opts.force_conflicts
        {
            check_owner(key, live, object)?;
        }
        let mut params = PatchParams::apply(FIELD_MANAGER);
        params.force = opts.force_conflicts;
        params.dry_run = opts.dry_run == Some(DryRun::Server);
        // The whole object is applied; the server is asked to answer with its metadata only
        // (kube's `patch_metadata` sets that `Accept`), which is all Kiln reads of the answer.
        // Not encoding the rest took about a sixth off the API server's CPU for a re-apply of
        // 1,000 objects (bench/run's `--reapply-unchanged` case).
        let after = self
            .retry(|| async { api.patch_metadata(&key.name, &params, &Patch::Apply(object)).await })
            .await
            .map_err(|e| self.error("apply", key, e))?;
        let outcome = match before {
            None => Outcome::Created,
            Some(b) if b.resource_version == after.metadata.resource_version => Outcome::Unchanged,
            Some(_) => Outcome::Configured,
        };
        let fingerprint = match desired {
            Some(desired) if !params.dry_run => applied(&desired, &after.metadata),
            _ => None,
        };
        Ok((outcome, fingerprint))
    }

    /// Delete `key` if it is Kiln's object of this app and environment; anything else is left.
    async fn delete_owned(
        &self,
        key: &ObjectKey,
        inventory: &InventoryRef,
        dry_run: bool,
    ) -> Result<Outcome, Error> {
        let api = match self.api(key).await {
            Ok(api) => api,
            Err(Error::UnknownKind { .. }) => return Ok(Outcome::Absent),
            Err(e) => return Err(e),
        };
        let Some(live) =
            self.retry(|| api.get_opt(&key.name)).await.map_err(|e| self.error("get", key, e))?
        else {
            return Ok(Outcome::Absent);
        };
        let labels = live.metadata.labels.clone().unwrap_or_default();
        let ours = labels.get(MANAGED_BY).map(String::as_str) == Some(MANAGER)
            && labels.get(APP_LABEL) == Some(&inventory.app)
            && labels.get(ENV_LABEL) == Some(&inventory.environment);
        if !ours {
            return Ok(Outcome::Skipped(
                "it does not carry this app's and environment's labels".into(),
            ));
        }
        let mut params = DeleteParams::background();
        params.dry_run = dry_run;
        // Delete exactly the object whose labels were checked, not one recreated since.
        params.preconditions = Some(kube::api::Preconditions {
            uid: live.metadata.uid.clone(),
            resource_version: live.metadata.resource_version.clone(),
        });
        self.retry(|| api.delete(&key.name, &params))
            .await
            .map_err(|e| self.error("delete", key, e))?;
        Ok(Outcome::Deleted)
    }

    /// The live object of `key` as JSON, `None` if there is none.
    pub(super) async fn live(&self, key: &ObjectKey) -> Result<Option<Value>, Error> {
        let api = self.api(key).await?;
        let live =
            self.retry(|| api.get_opt(&key.name)).await.map_err(|e| self.error("get", key, e))?;
        Ok(live.map(|o| serde_json::to_value(o).unwrap_or(Value::Null)))
    }

    /// Wait until every object of `keys` is ready by [`super::ready`]'s rules, polling those not
    /// ready yet every 500 ms. An object that failed ends the wait at once ([`Error::Failed`]);
    /// after `timeout`, the first one still not ready is named with why ([`Error::NotReady`]).
    async fn wait_ready(
        &self,
        keys: &[&ObjectKey],
        timeout: Duration,
        concurrency: usize,
        on_event: &(dyn Fn(&Event) + Sync),
    ) -> Result<(), Error> {
        for key in keys {
            on_event(&Event::Waiting((*key).clone(), "ready"));
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut pending: Vec<&ObjectKey> = keys.to_vec();
        loop {
            let states: Vec<(&ObjectKey, Status)> =
                futures::stream::iter(pending)
                    .map(|key| async move {
                        Ok::<_, Error>((key, status(self.live(key).await?.as_ref())))
                    })
                    .buffered(concurrency.max(1))
                    .try_collect()
                    .await?;
            let mut waiting = Vec::new();
            for (key, state) in states {
                match state {
                    Status::Current => {}
                    Status::Failed(reason) => {
                        return Err(Error::Failed { object: key.to_string(), reason });
                    }
                    other => waiting.push((key, other)),
                }
            }
            let Some((first, state)) = waiting.first() else { return Ok(()) };
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::NotReady {
                    object: first.to_string(),
                    reason: state.reason().unwrap_or_default().to_string(),
                    seconds: timeout.as_secs(),
                });
            }
            pending = waiting.into_iter().map(|(key, _)| key).collect();
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Poll `check` every 250 ms until it says yes or `timeout` passes.
    async fn wait_for(
        &self,
        key: &ObjectKey,
        what: &'static str,
        timeout: Duration,
        check: impl Fn(Option<&DynamicObject>) -> bool,
    ) -> Result<(), Error> {
        let api = self.api(key).await?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let live = self
                .retry(|| api.get_opt(&key.name))
                .await
                .map_err(|e| self.error("get", key, e))?;
            if check(live.as_ref()) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Timeout {
                    object: key.to_string(),
                    what,
                    seconds: timeout.as_secs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// The sha256 of `object` as Kiln applies it.
pub(super) fn applied_digest(object: &Value) -> String {
    crate::checked::digest(object.to_string().as_bytes())
}

/// The fingerprint of an apply of an object whose digest is `desired` (see [`applied_digest`])
/// that left the live object at `live`'s resource version. Any write to the object since, by
/// anyone (another environment or a checkout of this one, an edit, a controller), changes its
/// resource version. `None` when the server gave none.
pub(super) fn applied(desired: &str, live: &ObjectMeta) -> Option<String> {
    let version = live.resource_version.as_deref().filter(|v| !v.is_empty())?;
    Some(crate::checked::digest(format!("{desired}\n{version}").as_bytes()))
}

/// Refuse to take over an object that exists but is not this app's: prune and delete would
/// later remove it. `--force-conflicts` adopts it. Another environment of the same app may take
/// it over (the seed applies `nocloud`, then `cloud`, to one cluster); the labels then name the
/// new environment, so the old one's prune and delete leave it alone.
fn check_owner(key: &ObjectKey, live: &ObjectMeta, desired: &Value) -> Result<(), Error> {
    let labels = live.labels.clone().unwrap_or_default();
    let app = desired["metadata"]["labels"][APP_LABEL].as_str();
    let message = if labels.get(MANAGED_BY).map(String::as_str) != Some(MANAGER) {
        "it exists and was not made by Kiln".to_string()
    } else if labels.get(APP_LABEL).map(String::as_str) != app {
        let owner = labels.get(APP_LABEL).map(String::as_str).unwrap_or("?");
        format!("it belongs to the Kiln app `{owner}`")
    } else {
        return Ok(());
    };
    Err(Error::Conflict { object: key.to_string(), message })
}

const CRD_TIMEOUT: Duration = Duration::from_secs(60);

/// Apply `objects` (post-processed, each with its component) to the cluster of `cluster`.
pub async fn apply(
    cluster: &Cluster,
    objects: &[(String, Value)],
    inventory: &InventoryRef,
    opts: &ApplyOptions,
    on_event: &(dyn Fn(&Event) + Sync),
) -> Result<Report, Error> {
    let keys: Vec<ObjectKey> = objects.iter().map(|(c, v)| ObjectKey::of(v, c)).collect();
    // Post-processing refuses Kiln's reserved names; this is the last word before a forged
    // inventory could be written over the real one.
    if let Some(key) = keys.iter().find(|k| inventory.is(k)) {
        return Err(Error::Api {
            action: "apply",
            object: key.to_string(),
            message: "it is the environment's inventory, which only Kiln writes".into(),
        });
    }
    let values: Vec<Value> = objects.iter().map(|(_, v)| v.clone()).collect();
    let dry_run = opts.dry_run == Some(DryRun::Server);
    // Record what this run may create before creating it, so an apply that fails or is
    // interrupted half-way leaves nothing a later prune cannot find.
    let previous = inventory.read(cluster).await?;
    let mut recording = Inventory {
        objects: [previous.objects.clone(), keys.clone()].concat(),
        applied: previous.applied.clone(),
    };
    inventory.write(cluster, &recording, dry_run).await?;
    let mut results: Vec<Option<Outcome>> = vec![None; objects.len()];
    let (keys_ref, values_ref, previous_ref) = (&keys, &values, &previous);
    for phase in plan::plan(&values) {
        let phase_keys: Vec<&ObjectKey> = phase.objects.iter().map(|&i| &keys[i]).collect();
        let mut known = cluster.look_up(&phase_keys, opts.concurrency).await?;
        let work: Vec<_> = phase.objects.iter().map(|&i| (i, known.remove(&keys[i]))).collect();
        let done: Vec<(usize, Outcome, Option<String>)> = futures::stream::iter(work)
            .map(|(i, known)| async move {
                let key = &keys_ref[i];
                let last = previous_ref.applied.get(&Inventory::id(key)).map(String::as_str);
                let (outcome, applied) =
                    cluster.apply_one(key, &values_ref[i], known, last, opts).await?;
                on_event(&Event::Done(key.clone(), outcome.clone()));
                Ok::<_, Error>((i, outcome, applied))
            })
            .buffer_unordered(opts.concurrency.max(1))
            .try_collect()
            .await?;
        for (i, outcome, applied) in done {
            results[i] = Some(outcome);
            match applied {
                Some(fingerprint) => recording.applied.insert(Inventory::id(&keys[i]), fingerprint),
                None => recording.applied.remove(&Inventory::id(&keys[i])),
            };
        }
        // A dry run persists nothing, so there is nothing to become ready: no waits.
        if opts.dry_run.is_none() {
            let phase_keys: Vec<&ObjectKey> = phase.objects.iter().map(|&i| &keys[i]).collect();
            if phase.wait_established {
                cluster.wait_ready(&phase_keys, CRD_TIMEOUT, opts.concurrency, on_event).await?;
            } else if phase.wait_ready {
                cluster.wait_ready(&phase_keys, opts.timeout, opts.concurrency, on_event).await?;
            }
        }
    }
    let mut report = Report {
        results: keys
            .iter()
            .cloned()
            .zip(results.into_iter().map(|o| o.unwrap_or(Outcome::Unchanged)))
            .collect(),
    };
    let mut recorded: Vec<ObjectKey> = previous
        .objects
        .iter()
        .filter(|k| !opts.components.is_empty() && !opts.components.contains(&k.component))
        .cloned()
        .collect();
    recorded.extend(keys.iter().cloned());
    if opts.prune {
        for key in plan::prune(&previous.objects, &keys, &opts.components) {
            let outcome = match cluster.delete_owned(&key, inventory, dry_run).await? {
                Outcome::Deleted => Outcome::Pruned,
                other => other,
            };
            on_event(&Event::Done(key.clone(), outcome.clone()));
            report.results.push((key, outcome));
        }
    } else {
        // Not pruning: keep remembering objects that are no longer rendered, so a later
        // `--prune` still finds them.
        recorded.extend(plan::prune(&previous.objects, &keys, &opts.components));
    }
    recording.objects = recorded;
    inventory.write(cluster, &recording, dry_run).await?;
    if let Some(timeout) = opts.wait.filter(|_| opts.dry_run.is_none()) {
        let all: Vec<&ObjectKey> = keys.iter().collect();
        cluster.wait_ready(&all, timeout, opts.concurrency, on_event).await?;
    }
    Ok(report)
}

/// Delete Kiln's objects of the environment: those rendered now and those in the inventory,
/// limited to `components` when given, in reverse apply order.
pub async fn delete(
    cluster: &Cluster,
    objects: &[(String, Value)],
    inventory: &InventoryRef,
    components: &[String],
    wait: Option<Duration>,
    on_event: &(dyn Fn(&Event) + Sync),
) -> Result<Report, Error> {
    let rendered: Vec<ObjectKey> = objects.iter().map(|(c, v)| ObjectKey::of(v, c)).collect();
    let previous = inventory.read(cluster).await?;
    // Everything rendered, in reverse apply order (phases included), then what only the
    // inventory remembers, whose phases are not known.
    let values: Vec<Value> = objects.iter().map(|(_, v)| v.clone()).collect();
    let mut targets: Vec<ObjectKey> =
        plan::delete_order(&values).into_iter().map(|i| rendered[i].clone()).collect();
    targets.extend(plan::prune(&previous.objects, &rendered, components));
    let mut seen = std::collections::BTreeSet::new();
    targets.retain(|k| seen.insert(k.identity()));
    let mut report = Report::default();
    for key in &targets {
        let outcome = cluster.delete_owned(key, inventory, false).await?;
        if outcome == Outcome::Deleted
            && let Some(timeout) = wait
        {
            on_event(&Event::Waiting(key.clone(), "deleted"));
            cluster.wait_for(key, "deleted", timeout, |l| l.is_none()).await?;
        }
        on_event(&Event::Done(key.clone(), outcome.clone()));
        report.results.push((key.clone(), outcome));
    }
    let deleted: std::collections::BTreeSet<_> = targets.iter().map(ObjectKey::identity).collect();
    let remaining = Inventory {
        objects: previous
            .objects
            .into_iter()
            .filter(|k| !deleted.contains(&k.identity()))
            .collect(),
        applied: previous.applied,
    };
    inventory.write(cluster, &remaining, false).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_covers_what_is_applied_and_any_write_since() {
        let at = |version: &str| ObjectMeta {
            resource_version: Some(version.into()),
            ..ObjectMeta::default()
        };
        let print = applied("sha256:a", &at("41")).expect("a resource version");
        assert_eq!(applied("sha256:a", &at("41")), Some(print.clone()));
        assert_ne!(applied("sha256:b", &at("41")), Some(print.clone()), "what is applied counts");
        assert_ne!(applied("sha256:a", &at("42")), Some(print), "a write since counts");
        assert_eq!(applied("sha256:a", &ObjectMeta::default()), None);
    }
}
