//! Whether a live object is ready: one set of rules, read from the object's JSON alone, for
//! `apply --wait`, the waits between phases and `kiln status`. The rules are kstatus's
//! (sigs.k8s.io/cli-utils/pkg/kstatus), as Argo CD, Flux and `kubectl wait` users know them:
//!
//! - every kind: an object being deleted, or whose `status.observedGeneration` is behind its
//!   `metadata.generation`, is in progress; a `Stalled` condition True is failed, a
//!   `Reconciling` condition True in progress;
//! - built-in kinds by their own status (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
//!   Pod, PersistentVolumeClaim, Service of type LoadBalancer, CustomResourceDefinition,
//!   Namespace; see [`status`]);
//! - any other kind, custom resources included: a `Ready` condition False is in progress;
//!   otherwise, an object without those conditions is current as soon as it exists.
//!
//! Failed means waiting longer will not help (a Job that failed, a Deployment past its progress
//! deadline, a CRD whose names clash): a wait stops at once with the reason.

use serde_json::Value;

/// The state of one live object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Ready: reconciled and available, or done (a completed Job or Pod).
    Current,
    /// Not ready yet, and why.
    InProgress(String),
    /// Will not become ready without a change, and why.
    Failed(String),
    /// There is no such object.
    NotFound,
}

impl Status {
    /// `ready`, `in progress`, `failed` or `missing`: the word `kiln status` shows.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Current => "ready",
            Status::InProgress(_) => "in progress",
            Status::Failed(_) => "failed",
            Status::NotFound => "missing",
        }
    }

    /// Why it is not ready, if it is not.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Status::InProgress(r) | Status::Failed(r) => Some(r),
            Status::Current => None,
            Status::NotFound => Some("not found"),
        }
    }
}

fn progress(reason: impl Into<String>) -> Status {
    Status::InProgress(reason.into())
}

fn int(value: &Value, pointer: &str) -> Option<i64> {
    value.pointer(pointer).and_then(Value::as_i64)
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// The condition of `type` in `status.conditions`, if any.
fn condition<'a>(live: &'a Value, kind: &str) -> Option<&'a Value> {
    live.pointer("/status/conditions")?.as_array()?.iter().find(|c| c["type"] == kind)
}

/// Whether the condition of `type` has status `want` (`True`, `False`).
fn has(live: &Value, kind: &str, want: &str) -> bool {
    condition(live, kind).is_some_and(|c| c["status"] == want)
}

/// The condition's message, else its reason, else `fallback`.
fn said(live: &Value, kind: &str, fallback: &str) -> String {
    let c = condition(live, kind);
    let pick = |field: &str| c.and_then(|c| c[field].as_str()).filter(|s| !s.is_empty());
    pick("message").or_else(|| pick("reason")).unwrap_or(fallback).to_string()
}

/// The state of `live`, the object as the API server returns it (`None`: not found).
pub fn status(live: Option<&Value>) -> Status {
    let Some(live) = live else { return Status::NotFound };
    if let Some(generic) = generic(live) {
        return generic;
    }
    let group = text(live, "/apiVersion").rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    match (group, text(live, "/kind")) {
        ("apps", "Deployment") => deployment(live),
        ("apps", "StatefulSet") => stateful_set(live),
        ("apps", "DaemonSet") => daemon_set(live),
        ("apps", "ReplicaSet") => replica_set(live),
        ("batch", "Job") => job(live),
        ("", "Pod") => pod(live),
        ("", "PersistentVolumeClaim") => claim(live),
        ("", "Service") => service(live),
        ("", "Namespace") => namespace(live),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(live),
        _ => other(live),
    }
}

/// What holds for every kind: deletion, an observed generation behind, `Stalled` and
/// `Reconciling`. `None` when none of them says anything.
fn generic(live: &Value) -> Option<Status> {
    if live.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null()) {
        return Some(progress("being deleted"));
    }
    let generation = int(live, "/metadata/generation");
    let observed = int(live, "/status/observedGeneration");
    if let (Some(generation), Some(observed)) = (generation, observed)
        && observed != generation
    {
        return Some(progress(format!(
            "generation {generation} not observed yet by its controller (observed {observed})"
        )));
    }
    if has(live, "Stalled", "True") {
        return Some(Status::Failed(said(live, "Stalled", "stalled")));
    }
    if has(live, "Reconciling", "True") {
        return Some(progress(said(live, "Reconciling", "reconciling")));
    }
    None
}

/// `spec.replicas`, 1 when unset as the controllers default it.
fn replicas(live: &Value) -> i64 {
    int(live, "/spec/replicas").unwrap_or(1)
}

fn deployment(live: &Value) -> Status {
    if condition(live, "Progressing").is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded") {
        return Status::Failed(format!(
            "progress deadline exceeded: {}",
            said(live, "Progressing", "no progress")
        ));
    }
    let want = replicas(live);
    let count = |field: &str| int(live, &format!("/status/{field}")).unwrap_or(0);
    let (total, updated) = (count("replicas"), count("updatedReplicas"));
    let (ready, available) = (count("readyReplicas"), count("availableReplicas"));
    if total < want {
        return progress(format!("{total} of {want} replicas created"));
    }
    if updated < want {
        return progress(format!("{updated} of {want} replicas updated"));
    }
    if total > want {
        return progress(format!("{} old replicas terminating", total - want));
    }
    if available < updated {
        return progress(format!("{available} of {want} replicas available"));
    }
    if ready < want {
        return progress(format!("{ready} of {want} replicas ready"));
    }
    // Without a progress deadline the controller sets no `Progressing` condition.
    let no_deadline = live.pointer("/spec/progressDeadlineSeconds").is_none_or(Value::is_null)
        && condition(live, "Progressing").is_none();
    let rolled_out = no_deadline
        || condition(live, "Progressing")
            .is_some_and(|c| c["status"] == "True" && c["reason"] == "NewReplicaSetAvailable");
    if !rolled_out {
        return progress("new ReplicaSet not available yet");
    }
    if !has(live, "Available", "True") {
        return progress("not Available");
    }
    Status::Current
}

fn stateful_set(live: &Value) -> Status {
    if text(live, "/spec/updateStrategy/type") == "OnDelete" {
        // Pods are replaced only when deleted: there is no rollout to wait for.
        return Status::Current;
    }
    let want = replicas(live);
    let count = |field: &str| int(live, &format!("/status/{field}")).unwrap_or(0);
    let (total, ready) = (count("replicas"), count("readyReplicas"));
    let (current, updated) = (count("currentReplicas"), count("updatedReplicas"));
    if total < want {
        return progress(format!("{total} of {want} replicas created"));
    }
    if ready < want {
        return progress(format!("{ready} of {want} replicas ready"));
    }
    if let Some(partition) = int(live, "/spec/updateStrategy/rollingUpdate/partition") {
        // Only the replicas at or above the partition are updated.
        let expected = (want - partition).max(0);
        if updated < expected {
            return progress(format!("{updated} of {expected} replicas updated (partition)"));
        }
        return Status::Current;
    }
    if current < want {
        return progress(format!("{current} of {want} replicas at the current revision"));
    }
    if text(live, "/status/currentRevision") != text(live, "/status/updateRevision") {
        return progress("rolling out the update revision");
    }
    Status::Current
}

fn daemon_set(live: &Value) -> Status {
    let Some(want) = int(live, "/status/desiredNumberScheduled") else {
        return progress("not yet scheduled by its controller");
    };
    let count = |field: &str| int(live, &format!("/status/{field}")).unwrap_or(0);
    for (field, what) in [
        ("currentNumberScheduled", "scheduled"),
        ("updatedNumberScheduled", "updated"),
        ("numberReady", "ready"),
        ("numberAvailable", "available"),
    ] {
        let n = count(field);
        if n < want {
            return progress(format!("{n} of {want} pods {what}"));
        }
    }
    Status::Current
}

fn replica_set(live: &Value) -> Status {
    if has(live, "ReplicaFailure", "True") {
        return progress(format!(
            "replica failure: {}",
            said(live, "ReplicaFailure", "check its pods")
        ));
    }
    let want = replicas(live);
    let count = |field: &str| int(live, &format!("/status/{field}")).unwrap_or(0);
    for (field, what) in [
        ("fullyLabeledReplicas", "labelled"),
        ("availableReplicas", "available"),
        ("readyReplicas", "ready"),
    ] {
        let n = count(field);
        if n < want {
            return progress(format!("{n} of {want} replicas {what}"));
        }
    }
    let total = count("replicas");
    if total > want {
        return progress(format!("{} extra replicas terminating", total - want));
    }
    Status::Current
}

fn job(live: &Value) -> Status {
    let count = |field: &str| int(live, &format!("/status/{field}")).unwrap_or(0);
    if has(live, "Failed", "True") {
        return Status::Failed(format!("Job failed: {}", said(live, "Failed", "failed")));
    }
    if has(live, "Complete", "True") {
        return Status::Current;
    }
    if live.pointer("/status/startTime").is_none_or(Value::is_null) {
        return progress("Job not started");
    }
    progress(format!(
        "Job running: {} succeeded, {} active, {} failed",
        count("succeeded"),
        count("active"),
        count("failed")
    ))
}

fn pod(live: &Value) -> Status {
    match text(live, "/status/phase") {
        "Succeeded" => Status::Current,
        "Failed" => Status::Failed(format!(
            "Pod failed: {}",
            Some(text(live, "/status/message"))
                .filter(|m| !m.is_empty())
                .unwrap_or("see its events")
        )),
        "Running" if has(live, "Ready", "True") => Status::Current,
        phase => {
            let crashing: Vec<&str> = live
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|c| c.pointer("/state/waiting/reason") == Some(&"CrashLoopBackOff".into()))
                .filter_map(|c| c["name"].as_str())
                .collect();
            if !crashing.is_empty() {
                return Status::Failed(format!(
                    "containers crash-looping: {}",
                    crashing.join(", ")
                ));
            }
            if condition(live, "PodScheduled")
                .is_some_and(|c| c["status"] == "False" && c["reason"] == "Unschedulable")
            {
                return progress(format!(
                    "Pod cannot be scheduled: {}",
                    said(live, "PodScheduled", "unschedulable")
                ));
            }
            match phase {
                "Running" => progress("Pod running but not Ready"),
                "" => progress("Pod not scheduled yet"),
                other => progress(format!("Pod {other}")),
            }
        }
    }
}

fn claim(live: &Value) -> Status {
    match text(live, "/status/phase") {
        "Bound" => Status::Current,
        "" => progress("PersistentVolumeClaim not Bound yet"),
        phase => progress(format!("PersistentVolumeClaim {phase}, not Bound")),
    }
}

fn service(live: &Value) -> Status {
    let ingress = live.pointer("/status/loadBalancer/ingress").and_then(Value::as_array);
    if text(live, "/spec/type") == "LoadBalancer" && ingress.is_none_or(Vec::is_empty) {
        return progress("no load balancer ingress assigned yet");
    }
    Status::Current
}

fn namespace(live: &Value) -> Status {
    match text(live, "/status/phase") {
        "Active" => Status::Current,
        "" => progress("Namespace not Active yet"),
        phase => progress(format!("Namespace {phase}")),
    }
}

fn crd(live: &Value) -> Status {
    if has(live, "NamesAccepted", "False") {
        return Status::Failed(format!(
            "names not accepted: {}",
            said(live, "NamesAccepted", "they clash with another definition")
        ));
    }
    if has(live, "Established", "True") {
        return Status::Current;
    }
    progress("not Established yet")
}

fn other(live: &Value) -> Status {
    if has(live, "Ready", "False") {
        return progress(format!("not Ready: {}", said(live, "Ready", "no reason given")));
    }
    Status::Current
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(api_version: &str, kind: &str, spec: Value, status: Value) -> Value {
        json!({
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {"name": "x", "namespace": "ns", "generation": 2},
            "spec": spec,
            "status": status,
        })
    }

    fn progressing(s: Status) -> String {
        match s {
            Status::InProgress(reason) => reason,
            other => panic!("expected in progress, got {other:?}"),
        }
    }

    fn failed(s: Status) -> String {
        match s {
            Status::Failed(reason) => reason,
            other => panic!("expected failed, got {other:?}"),
        }
    }

    fn cond(kind: &str, status: &str, reason: &str) -> Value {
        json!({"type": kind, "status": status, "reason": reason, "message": ""})
    }

    #[test]
    fn missing_and_generic_rules_hold_for_every_kind() {
        assert_eq!(status(None), Status::NotFound);
        let plain = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        assert_eq!(status(Some(&plain)), Status::Current, "no status: current once it exists");
        let mut deleting = plain.clone();
        deleting["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
        assert_eq!(progressing(status(Some(&deleting))), "being deleted");
        let behind =
            object("example.com/v1", "Widget", json!({}), json!({"observedGeneration": 1}));
        assert_eq!(
            progressing(status(Some(&behind))),
            "generation 2 not observed yet by its controller (observed 1)"
        );
        // Observed, and the conditions of kstatus's convention.
        let with = |conditions: Value| {
            object(
                "example.com/v1",
                "Widget",
                json!({}),
                json!({"observedGeneration": 2, "conditions": conditions}),
            )
        };
        assert_eq!(status(Some(&with(json!([])))), Status::Current);
        assert_eq!(status(Some(&with(json!([cond("Ready", "True", "Ok")])))), Status::Current);
        let not_ready = json!([{"type": "Ready", "status": "False", "message": "waiting for db"}]);
        assert_eq!(progressing(status(Some(&with(not_ready)))), "not Ready: waiting for db");
        let reconciling =
            json!([cond("Reconciling", "True", "Scaling"), cond("Ready", "True", "")]);
        assert_eq!(progressing(status(Some(&with(reconciling)))), "Scaling");
        let stalled = json!([{"type": "Stalled", "status": "True", "message": "bad spec"}]);
        assert_eq!(failed(status(Some(&with(stalled)))), "bad spec");
        let over = json!([cond("Stalled", "False", ""), cond("Reconciling", "False", "")]);
        assert_eq!(status(Some(&with(over))), Status::Current);
    }

    #[test]
    fn deployments_wait_for_every_replica_and_fail_past_their_deadline() {
        let deploy = |status: Value| {
            object(
                "apps/v1",
                "Deployment",
                json!({"replicas": 3, "progressDeadlineSeconds": 600}),
                status,
            )
        };
        assert_eq!(progressing(status(Some(&deploy(json!({}))))), "0 of 3 replicas created");
        let rolling = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3,
            "readyReplicas": 1, "availableReplicas": 1});
        assert_eq!(progressing(status(Some(&deploy(rolling)))), "1 of 3 replicas available");
        let old = json!({"replicas": 4, "updatedReplicas": 3, "readyReplicas": 3,
            "availableReplicas": 3});
        assert_eq!(progressing(status(Some(&deploy(old)))), "1 old replicas terminating");
        let counted = |conditions: Value| {
            json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3,
                "readyReplicas": 3, "availableReplicas": 3, "conditions": conditions})
        };
        let done = counted(json!([
            cond("Progressing", "True", "NewReplicaSetAvailable"),
            cond("Available", "True", "MinimumReplicasAvailable"),
        ]));
        assert_eq!(status(Some(&deploy(done))), Status::Current);
        let unavailable = counted(json!([
            cond("Progressing", "True", "NewReplicaSetAvailable"),
            cond("Available", "False", "MinimumReplicasUnavailable"),
        ]));
        assert_eq!(progressing(status(Some(&deploy(unavailable)))), "not Available");
        let still = counted(json!([cond("Progressing", "True", "ReplicaSetUpdated")]));
        assert_eq!(progressing(status(Some(&deploy(still)))), "new ReplicaSet not available yet");
        let stuck = json!({"replicas": 3, "conditions": [{"type": "Progressing", "status": "False",
            "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"web-1\" has timed out progressing."}]});
        assert_eq!(
            failed(status(Some(&deploy(stuck)))),
            "progress deadline exceeded: ReplicaSet \"web-1\" has timed out progressing."
        );
        // No deadline: no Progressing condition to wait for; one replica by default.
        let bare = object(
            "apps/v1",
            "Deployment",
            json!({}),
            json!({"replicas": 1,
            "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
            "conditions": [cond("Available", "True", "")]}),
        );
        assert_eq!(status(Some(&bare)), Status::Current);
    }

    #[test]
    fn stateful_sets_wait_for_ready_current_replicas_or_their_partition() {
        let set = |spec: Value, status: Value| object("apps/v1", "StatefulSet", spec, status);
        let full = json!({"replicas": 3, "readyReplicas": 3, "currentReplicas": 3,
            "updatedReplicas": 3, "currentRevision": "r2", "updateRevision": "r2"});
        assert_eq!(status(Some(&set(json!({"replicas": 3}), full.clone()))), Status::Current);
        assert_eq!(
            progressing(status(Some(&set(
                json!({"replicas": 3}),
                json!({"replicas": 3,
                "readyReplicas": 2})
            )))),
            "2 of 3 replicas ready"
        );
        let mut rolling = full.clone();
        rolling["currentReplicas"] = json!(1);
        assert_eq!(
            progressing(status(Some(&set(json!({"replicas": 3}), rolling)))),
            "1 of 3 replicas at the current revision"
        );
        let mut revision = full.clone();
        revision["updateRevision"] = json!("r3");
        assert_eq!(
            progressing(status(Some(&set(json!({"replicas": 3}), revision)))),
            "rolling out the update revision"
        );
        let partitioned = json!({"replicas": 3, "updateStrategy": {"type": "RollingUpdate",
            "rollingUpdate": {"partition": 2}}});
        let mut part = full.clone();
        part["updatedReplicas"] = json!(0);
        assert_eq!(
            progressing(status(Some(&set(partitioned.clone(), part.clone())))),
            "0 of 1 replicas updated (partition)"
        );
        part["updatedReplicas"] = json!(1);
        part["currentReplicas"] = json!(2);
        assert_eq!(status(Some(&set(partitioned, part))), Status::Current);
        let on_delete = json!({"replicas": 3, "updateStrategy": {"type": "OnDelete"}});
        assert_eq!(status(Some(&set(on_delete, json!({})))), Status::Current);
    }

    #[test]
    fn daemon_sets_and_replica_sets_count_their_pods() {
        let ds = |status: Value| object("apps/v1", "DaemonSet", json!({}), status);
        assert_eq!(
            progressing(status(Some(&ds(json!({}))))),
            "not yet scheduled by its controller"
        );
        let all = json!({"desiredNumberScheduled": 2, "currentNumberScheduled": 2,
            "updatedNumberScheduled": 2, "numberReady": 2, "numberAvailable": 2});
        assert_eq!(status(Some(&ds(all.clone()))), Status::Current);
        let mut one = all;
        one["numberReady"] = json!(1);
        assert_eq!(progressing(status(Some(&ds(one)))), "1 of 2 pods ready");

        let rs = |status: Value| object("apps/v1", "ReplicaSet", json!({"replicas": 2}), status);
        let all = json!({"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 2,
            "availableReplicas": 2});
        assert_eq!(status(Some(&rs(all.clone()))), Status::Current);
        let mut short = all.clone();
        short["availableReplicas"] = json!(1);
        assert_eq!(progressing(status(Some(&rs(short)))), "1 of 2 replicas available");
        let mut quota = all;
        quota["conditions"] = json!([{"type": "ReplicaFailure", "status": "True",
            "message": "exceeded quota"}]);
        assert_eq!(progressing(status(Some(&rs(quota)))), "replica failure: exceeded quota");
    }

    #[test]
    fn jobs_are_ready_when_complete_and_failed_when_failed() {
        let job = |status: Value| object("batch/v1", "Job", json!({}), status);
        assert_eq!(progressing(status(Some(&job(json!({}))))), "Job not started");
        let running = json!({"startTime": "2024-01-01T00:00:00Z", "active": 1, "failed": 1});
        assert_eq!(
            progressing(status(Some(&job(running)))),
            "Job running: 0 succeeded, 1 active, 1 failed"
        );
        let done = json!({"succeeded": 1, "conditions": [cond("Complete", "True", "")]});
        assert_eq!(status(Some(&job(done))), Status::Current);
        let failed_job = json!({"failed": 6, "conditions": [{"type": "Failed", "status": "True",
            "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]});
        assert_eq!(
            failed(status(Some(&job(failed_job)))),
            "Job failed: Job has reached the specified backoff limit"
        );
    }

    #[test]
    fn pods_are_ready_when_running_and_ready_or_succeeded() {
        let pod = |status: Value| object("v1", "Pod", json!({}), status);
        assert_eq!(progressing(status(Some(&pod(json!({}))))), "Pod not scheduled yet");
        assert_eq!(progressing(status(Some(&pod(json!({"phase": "Pending"}))))), "Pod Pending");
        let unschedulable = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled",
            "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available"}]});
        assert_eq!(
            progressing(status(Some(&pod(unschedulable)))),
            "Pod cannot be scheduled: 0/3 nodes are available"
        );
        let running = json!({"phase": "Running", "conditions": [cond("Ready", "False", "")]});
        assert_eq!(progressing(status(Some(&pod(running)))), "Pod running but not Ready");
        let ready = json!({"phase": "Running", "conditions": [cond("Ready", "True", "")]});
        assert_eq!(status(Some(&pod(ready))), Status::Current);
        assert_eq!(status(Some(&pod(json!({"phase": "Succeeded"})))), Status::Current);
        let crashing = json!({"phase": "Running", "containerStatuses": [{"name": "app",
            "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]});
        assert_eq!(failed(status(Some(&pod(crashing)))), "containers crash-looping: app");
        let died = json!({"phase": "Failed", "message": "OOMKilled"});
        assert_eq!(failed(status(Some(&pod(died)))), "Pod failed: OOMKilled");
    }

    #[test]
    fn claims_services_namespaces_and_crds() {
        let pvc =
            |phase: &str| object("v1", "PersistentVolumeClaim", json!({}), json!({"phase": phase}));
        assert_eq!(status(Some(&pvc("Bound"))), Status::Current);
        assert_eq!(
            progressing(status(Some(&pvc("Pending")))),
            "PersistentVolumeClaim Pending, not Bound"
        );

        let svc =
            |kind: &str, status: Value| object("v1", "Service", json!({"type": kind}), status);
        assert_eq!(status(Some(&svc("ClusterIP", json!({})))), Status::Current);
        assert_eq!(
            progressing(status(Some(&svc("LoadBalancer", json!({"loadBalancer": {}}))))),
            "no load balancer ingress assigned yet"
        );
        let assigned = json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}});
        assert_eq!(status(Some(&svc("LoadBalancer", assigned))), Status::Current);

        let ns = |phase: &str| object("v1", "Namespace", json!({}), json!({"phase": phase}));
        assert_eq!(status(Some(&ns("Active"))), Status::Current);
        assert_eq!(progressing(status(Some(&ns("Terminating")))), "Namespace Terminating");

        let crd = |conditions: Value| {
            object(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                json!({}),
                json!({"conditions": conditions}),
            )
        };
        assert_eq!(progressing(status(Some(&crd(json!([]))))), "not Established yet");
        let established =
            json!([cond("NamesAccepted", "True", ""), cond("Established", "True", "")]);
        assert_eq!(status(Some(&crd(established))), Status::Current);
        let clash = json!([{"type": "NamesAccepted", "status": "False", "reason": "NameConflict",
            "message": "\"widgets\" is already in use"}]);
        assert_eq!(
            failed(status(Some(&crd(clash)))),
            "names not accepted: \"widgets\" is already in use"
        );
    }
}
