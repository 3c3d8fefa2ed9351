//! Readiness against a real kube-apiserver (tests/envtest): `apply --wait` and the waits
//! between `kiln.dev/phase` phases, and `kiln status`. There is no kubelet, so the tests play
//! the controllers' part and write objects' status through the status subresource.

use std::time::{Duration, Instant};

use kiln_guest_artifacts::ECHO;
use serde_json::{Value, json};

use crate::common::Scratch;

fn namespace(test: &str) -> String {
    format!("kiln-{test}-{}", std::process::id())
}

/// An app `name` whose `dev` environment targets namespace `ns` of the test cluster, with the
/// echo prototype rendering `objects` as component `db` and `more` as component `web` (if any).
fn echo_app(name: &str, ns: &str, objects: &[Value], more: &[Value]) -> Scratch {
    let s = Scratch::with_cluster();
    s.ok(".", &["init", name, "--context", "envtest", "--namespace", ns]);
    s.ok(name, &["env", "add", "dev", "--context", "envtest", "--namespace", ns]);
    std::fs::create_dir(s.app(name).join("prototypes")).unwrap();
    std::fs::copy(ECHO, s.app(name).join("prototypes/echo.wasm")).unwrap();
    for (component, objects) in [("db", objects), ("web", more)] {
        if !objects.is_empty() {
            let objects = format!("--objects={}", Value::from(objects.to_vec()));
            s.ok(name, &["generate", "prototypes/echo.wasm", component, &objects]);
        }
    }
    s.kubectl(&["create", "namespace", ns]);
    s
}

/// A Job `name`, in phase `phase` if given: a database migration, say.
fn job(name: &str, phase: Option<&str>) -> Value {
    let mut job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": { "name": name },
        "spec": { "backoffLimit": 0, "template": { "spec": {
            "restartPolicy": "Never",
            "containers": [{ "name": "migrate", "image": "example.com/migrate:1" }],
        } } },
    });
    if let Some(phase) = phase {
        job["metadata"]["annotations"] = json!({ "kiln.dev/phase": phase });
    }
    job
}

fn config_map(name: &str) -> Value {
    json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": name },
        "data": { "a": "b" } })
}

/// Write `status` into `what`'s status, as its controller would.
fn set_status(s: &Scratch, ns: &str, what: &str, status: Value) {
    let patch = json!({ "status": status }).to_string();
    s.kubectl(&["-n", ns, "patch", what, "--subresource=status", "--type=merge", "-p", &patch]);
}

fn job_failed() -> Value {
    json!({ "failed": 1, "conditions": [{ "type": "Failed", "status": "True",
        "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit" }] })
}

fn job_complete() -> Value {
    json!({ "succeeded": 1, "startTime": "2024-01-01T00:00:00Z",
        "completionTime": "2024-01-01T00:00:05Z",
        "conditions": [{ "type": "Complete", "status": "True" }] })
}

fn exists(s: &Scratch, ns: &str, what: &str) -> bool {
    s.kubectl(&["-n", ns, "get", what, "--ignore-not-found", "-o", "name"]).contains('/')
}

#[test]
fn a_failed_job_fails_the_wait_at_once_with_its_reason() {
    let (app, ns) = ("jobfail", &namespace("jobfail"));
    let s = echo_app(app, ns, &[job("migrate", None)], &[]);
    s.ok(app, &["apply", "dev"]);
    set_status(&s, ns, "job/migrate", job_failed());
    let started = Instant::now();
    let stderr = s.fails(app, &["apply", "dev", "--wait", "--timeout", "120"]);
    assert!(
        stderr.starts_with(&format!(
            "error: `Job/{ns}/migrate` failed: Job failed: Job has reached the specified backoff \
             limit"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("waiting longer would not help"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60), "not after the timeout");
}

#[test]
fn phases_apply_in_order_and_a_phase_not_ready_holds_the_next() {
    let (app, ns) = ("phases", &namespace("phases"));
    // The migration runs in phase -1; the app's ConfigMap has no annotation: phase 0, after.
    let s = echo_app(app, ns, &[job("migrate", Some("-1"))], &[config_map("app")]);
    let stderr = s.fails(app, &["apply", "dev", "--timeout", "3"]);
    assert!(
        stderr.starts_with(&format!(
            "error: timed out after 3 s waiting for `Job/{ns}/migrate` to be ready: Job"
        )),
        "{stderr}"
    );
    assert!(exists(&s, ns, "job/migrate"));
    assert!(!exists(&s, ns, "configmap/app"), "phase 0 waits for phase -1");

    // The migration completes: the next apply goes on to phase 0.
    set_status(&s, ns, "job/migrate", job_complete());
    let out = s.run_in(app, &["apply", "dev", "--timeout", "30", "--show-objects"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(exists(&s, ns, "configmap/app"));
    let job_line = stderr.find(&format!("Job/{ns}/migrate")).unwrap();
    let map_line = stderr.find(&format!("ConfigMap/{ns}/app created")).unwrap();
    assert!(job_line < map_line, "{stderr}");

    // A dry run does not wait, whatever the phases.
    set_status(&s, ns, "job/migrate", json!({ "conditions": [], "succeeded": 0 }));
    s.ok(app, &["apply", "dev", "--dry-run=server", "--timeout", "1"]);

    // Delete goes in reverse: phase 0 first, the migration last.
    let out = s.run_in(app, &["delete", "dev", "--show-objects"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let map_line = stderr.find(&format!("ConfigMap/{ns}/app deleted")).unwrap();
    let job_line = stderr.find(&format!("Job/{ns}/migrate deleted")).unwrap();
    assert!(map_line < job_line, "{stderr}");
}

#[test]
fn a_phase_annotation_that_is_not_an_integer_is_refused() {
    let (app, ns) = ("badphase", &namespace("badphase"));
    let s = echo_app(app, ns, &[job("migrate", Some("first"))], &[]);
    let stderr = s.fails(app, &["apply", "dev"]);
    assert!(stderr.contains("`Job/") && stderr.contains("migrate"), "{stderr}");
    assert!(stderr.contains("annotation `kiln.dev/phase` must be an integer"), "{stderr}");
    assert!(!exists(&s, ns, "job/migrate"));
}

/// `kiln status dev` with `extra` arguments: exit code, stdout, stderr.
fn status(s: &Scratch, app: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = s.run_in(app, &[&["status", "dev"][..], extra].concat());
    let (stdout, stderr) = crate::common::text(&out);
    (out.status.code(), stdout, stderr)
}

/// The row of `object` in `kiln status`'s table.
fn row<'a>(table: &'a str, object: &str) -> &'a str {
    table.lines().find(|l| l.starts_with(&format!("{object} "))).unwrap_or_else(|| {
        panic!("no row for {object} in\n{table}");
    })
}

#[test]
fn status_reports_missing_changed_and_not_ready_objects() {
    let (app, ns) = ("status", &namespace("status"));
    let s = echo_app(app, ns, &[job("migrate", None)], &[config_map("settings")]);
    let (job, map) = (format!("Job/{ns}/migrate"), format!("ConfigMap/{ns}/settings"));

    // Nothing applied: all missing.
    let (code, stdout, stderr) = status(&s, app, &[]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(row(&stdout, &map).contains("missing"), "{stdout}");
    assert!(stderr.contains("`dev`: 2 objects: 2 missing"), "{stderr}");

    // Applied: the Job is not done yet.
    s.ok(app, &["apply", "dev"]);
    let (code, stdout, _) = status(&s, app, &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(row(&stdout, &map).contains("present  in sync"), "{stdout}");
    assert!(row(&stdout, &job).contains("in progress: Job"), "{stdout}");

    // Done: all well (the controller's writes since the apply do not count as changes).
    set_status(&s, ns, "job/migrate", job_complete());
    let (code, stdout, stderr) = status(&s, app, &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("2 objects: all present, in sync and ready"), "{stderr}");
    assert!(row(&stdout, &job).ends_with("ready"), "{stdout}");

    // Someone edits a field Kiln set: named.
    let patch = json!({ "data": { "a": "edited" } }).to_string();
    s.kubectl(&["-n", ns, "patch", "configmap/settings", "--type=merge", "-p", &patch]);
    let (code, stdout, stderr) = status(&s, app, &[]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(row(&stdout, &map).contains("changed by kubectl-patch"), "{stdout}");
    assert!(stderr.contains("1 not in sync"), "{stderr}");
    // A label Kiln does not set is no change of Kiln's: applying would not touch it.
    s.ok(app, &["apply", "dev", "--force-conflicts"]);
    s.kubectl(&["-n", ns, "label", "configmap/settings", "team=db"]);
    assert_eq!(status(&s, app, &[]).0, Some(0));

    // The checkout changes (a param): status is about what was applied, `diff` about this.
    let mut settings = config_map("settings");
    settings["data"]["a"] = json!("new");
    let changed = Value::from(vec![settings, config_map("extra")]).to_string();
    s.ok(app, &["param", "set", "web", "objects", &changed]);
    let (code, stdout, _) = status(&s, app, &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(!stdout.contains("extra"), "{stdout}");
    // Someone removes what Kiln set, without taking it over: differs, and a re-apply restores it.
    s.kubectl(&["-n", ns, "annotate", "configmap/settings", "kiln.dev/params-hash-"]);
    let (code, stdout, _) = status(&s, app, &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(row(&stdout, &map).contains("differs from what Kiln applied"), "{stdout}");

    // Deleted behind Kiln's back, and failed: JSON says so.
    s.kubectl(&["-n", ns, "delete", "configmap/settings"]);
    set_status(&s, ns, "job/migrate", job_failed());
    let (code, stdout, _) = status(&s, app, &["-o", "json"]);
    assert_eq!(code, Some(1), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["ok"], false);
    let object = |name: &str| {
        report["objects"].as_array().unwrap().iter().find(|o| o["name"] == name).unwrap().clone()
    };
    assert_eq!(object("settings")["present"], false);
    assert_eq!(object("settings")["ready"], "not-found");
    assert_eq!(object("migrate")["ready"], "failed");
    assert_eq!(
        object("migrate")["reason"],
        "Job failed: Job has reached the specified backoff limit"
    );
    assert_eq!(object("migrate")["sync"], "in-sync");

    // No cluster: exit 2.
    s.ok(app, &["env", "set", "dev", "--server", "https://127.0.0.1:1"]);
    let (code, _, stderr) = status(&s, app, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot reach the cluster"), "{stderr}");
}

#[test]
fn wait_covers_every_kind_by_its_rules() {
    // A PVC (no provisioner here) is Pending until bound, and a Deployment needs replicas:
    // `--wait` waits for both; once their controllers' part is played, it passes.
    let pvc = json!({ "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": { "name": "data" },
        "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "1Gi" } } } });
    let (app, ns) = ("waitall", &namespace("waitall"));
    let s = echo_app(app, ns, &[pvc], &[]);
    let stderr = s.fails(app, &["apply", "dev", "--wait", "--timeout", "2"]);
    assert!(
        stderr.starts_with(&format!(
            "error: timed out after 2 s waiting for `PersistentVolumeClaim/{ns}/data` to be \
             ready: PersistentVolumeClaim"
        )),
        "{stderr}"
    );
    set_status(&s, ns, "pvc/data", json!({ "phase": "Bound" }));
    s.ok(app, &["apply", "dev", "--wait", "--timeout", "30"]);
}
