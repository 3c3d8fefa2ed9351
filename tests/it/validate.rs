//! `kiln validate` and the validation `show` and `apply` run first: every kind of finding
//! through the whole pipeline (the `echo` test guest renders whatever objects it is given),
//! several findings in one run, exit codes, and the Kubeflow walkthrough valid.

use kiln_guest_artifacts::{ECHO, TF_SERVING};
use serde_json::{Value, json};

use crate::common::{Scratch, kiln, text};

const APP: &str = "checked";

/// An app with environment `dev` (namespace `shop`, Kubernetes 1.33) and the echo prototype
/// copied in; each `(component, objects)` becomes a component that renders those objects.
fn app(components: &[(&str, Value)]) -> Scratch {
    let s = Scratch::new();
    s.ok(".", &["init", APP, "--namespace", "shop"]);
    s.ok(APP, &["env", "add", "dev", "--namespace", "shop", "--kubernetes-version", "1.33"]);
    std::fs::create_dir(s.app(APP).join("prototypes")).unwrap();
    std::fs::copy(ECHO, s.app(APP).join("prototypes/echo.wasm")).unwrap();
    for (component, objects) in components {
        let objects = format!("--objects={objects}");
        s.ok(APP, &["generate", "prototypes/echo.wasm", component, &objects]);
    }
    s
}

fn deployment(name: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name },
        "spec": {
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": { "containers": [{ "name": name, "image": "nginx:1.27" }] },
            },
        },
    })
}

fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": "widgets.example.com" },
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": { "kind": "Widget", "plural": "widgets" },
            "versions": [{ "name": "v1", "served": true, "storage": true,
                "schema": { "openAPIV3Schema": { "type": "object", "properties": {
                    "spec": { "type": "object", "properties": { "size": { "type": "integer" } } },
                } } } }],
        },
    })
}

/// Run `kiln validate dev` and return (exit code, stdout, stderr).
fn validate(s: &Scratch, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = s.run_in(APP, &[&["validate", "dev"][..], extra].concat());
    let (stdout, stderr) = text(&out);
    (out.status.code(), stdout, stderr)
}

#[test]
fn a_valid_environment_exits_0_and_says_so() {
    let s = app(&[("web", json!([deployment("web")]))]);
    let (code, stdout, stderr) = validate(&s, &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("`dev`: 0 errors, 0 warnings in 1 object (schemas of Kubernetes 1.33)"),
        "{stderr}"
    );
}

/// The memo of what passed lives beside the compiled code: its fingerprints, 32 bytes each.
fn remembered(s: &Scratch) -> usize {
    let dir = s.cache().join("validated");
    let files: Vec<_> = std::fs::read_dir(&dir).map(|d| d.flatten().collect()).unwrap_or_default();
    assert!(files.len() <= 1, "one memo per environment: {files:?}");
    files.first().map_or(0, |f| std::fs::metadata(f.path()).unwrap().len() as usize / 32)
}

#[test]
fn what_passed_is_remembered_and_a_change_to_an_object_or_its_schema_is_checked_again() {
    let widget = |size: Value| {
        json!({ "apiVersion": "example.com/v1", "kind": "Widget", "metadata": { "name": "w" },
                "spec": { "size": size } })
    };
    let s = app(&[("web", json!([deployment("web"), widget_crd(), widget(json!(3))]))]);
    assert_eq!(validate(&s, &[]).0, Some(0));
    // Three objects and the component's params.
    assert_eq!(remembered(&s), 4);
    assert_eq!(validate(&s, &[]).0, Some(0), "a second run from the memo is still valid");

    // The same Widget, now against a schema that wants a string: checked again, and wrong.
    let mut crd = widget_crd();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["size"]
        ["type"] = json!("string");
    let objects = json!([deployment("web"), crd, widget(json!(3))]).to_string();
    s.ok(APP, &["param", "set", "web", "objects", &objects]);
    let (code, stdout, stderr) = validate(&s, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.contains("`spec.size`: expected string, got integer 3"), "{stdout}");

    // Back to the schema it passed: remembered; then a changed Deployment is checked again.
    let objects = json!([deployment("web"), widget_crd(), widget(json!(3))]).to_string();
    s.ok(APP, &["param", "set", "web", "objects", &objects]);
    assert_eq!(validate(&s, &[]).0, Some(0));
    let mut bad = deployment("web");
    bad["spec"]["replcas"] = json!(2);
    let objects = json!([bad, widget_crd(), widget(json!(3))]).to_string();
    s.ok(APP, &["param", "set", "web", "objects", &objects]);
    let out = s.run_in(APP, &["show", "dev"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "show refuses it too: {stderr}");
    assert!(stderr.contains("unknown field `replcas`"), "{stderr}");

    // `--no-cache` neither reads nor writes the memo.
    std::fs::remove_dir_all(s.cache().join("validated")).unwrap();
    assert_eq!(validate(&s, &["--no-cache"]).0, Some(1));
    assert_eq!(remembered(&s), 0);
}

#[test]
fn every_kind_of_finding_is_reported_in_one_run() {
    let mut bad = deployment("web");
    bad["spec"]["replcas"] = json!(2);
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!(3);
    bad["metadata"]["labels"] = json!({ "tier": "front end" });
    let s = app(&[
        (
            "web",
            json!([
                bad,
                { "apiVersion": "v1", "kind": "Service", "metadata": { "name": "1web" },
                  "spec": { "ports": [{ "port": 80 }] } },
                { "apiVersion": "extensions/v1beta1", "kind": "Ingress", "metadata": { "name": "web" } },
                { "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                  "metadata": { "name": "reader", "namespace": "shop" } },
                widget_crd(),
                { "apiVersion": "example.com/v1", "kind": "Widget", "metadata": { "name": "w" },
                  "spec": { "size": "big", "colour": "red" } },
                { "apiVersion": "example.com/v1", "kind": "Gadget", "metadata": { "name": "g" } },
                { "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "generateName": "c-" } },
            ]),
        ),
        (
            "copy",
            json!([{ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "cfg" } }]),
        ),
        (
            "other",
            json!([{ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "cfg" } }]),
        ),
    ]);
    let (code, stdout, stderr) = validate(&s, &[]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    insta::assert_snapshot!("every_kind_of_finding", stdout);
    assert!(stderr.contains("`dev`: 10 errors, 1 warning in 9 objects"), "{stderr}");

    // The same report as JSON, for CI.
    let (code, stdout, _) = validate(&s, &["-o", "json"]);
    assert_eq!(code, Some(1));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["valid"], false);
    let unknown = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "spec.replcas")
        .expect("the unknown field is reported");
    assert_eq!(
        unknown,
        &json!({
            "component": "web",
            "object": "Deployment/shop/web",
            "path": "spec.replcas",
            "severity": "error",
            "check": "schema",
            "message": "unknown field `replcas`",
            "hint": "did you mean `replicas`?",
        })
    );

    // `-c` checks only the components named.
    let (code, stdout, _) = validate(&s, &["-c", "copy"]);
    assert_eq!((code, stdout.as_str()), (Some(0), ""));
}

#[test]
fn show_refuses_invalid_output_unless_told_and_apply_too() {
    let mut bad = deployment("web");
    bad["spec"]["replcas"] = json!(2);
    let s = app(&[("web", json!([bad]))]);
    let out = s.run_in(APP, &["show", "dev"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout, "", "nothing is printed");
    assert!(
        stderr.contains(
            "error: component `web`, `Deployment/shop/web` at `spec.replcas`: unknown field \
             `replcas`\n  hint: did you mean `replicas`?\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: environment `dev` is not valid: 1 error, 0 warnings in 1 object"),
        "{stderr}"
    );
    assert!(stderr.contains("pass `--no-validate` to go on anyway"), "{stderr}");

    let shown = s.ok(APP, &["show", "dev", "--no-validate"]);
    assert!(shown.contains("replcas: 2"), "{shown}");

    // apply refuses before it looks for a cluster (this scratch app has none).
    let stderr = s.fails(APP, &["apply", "dev"]);
    assert!(stderr.contains("environment `dev` is not valid"), "{stderr}");
}

#[test]
fn warnings_do_not_block_and_an_unknown_version_uses_the_nearest_schemas() {
    let s = app(&[("web", json!([deployment("web")]))]);
    s.ok(APP, &["env", "set", "dev", "--kubernetes-version", "1.20"]);
    let (code, stdout, stderr) = validate(&s, &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with(
            "warning: no schemas for Kubernetes 1.20: built-in kinds are checked against \
             Kubernetes 1.25"
        ),
        "{stdout}"
    );
    let out = s.run_in(APP, &["show", "dev"]);
    assert!(out.status.success());
    assert!(text(&out).1.contains("warning: no schemas for Kubernetes 1.20"));
}

#[test]
fn custom_resources_are_checked_against_crds_the_app_adds() {
    let widget = json!({ "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": { "name": "w" }, "spec": { "size": "big" } });
    let s = app(&[("widgets", json!([widget]))]);
    let (code, stdout, _) = validate(&s, &[]);
    assert_eq!(code, Some(0), "without its definition a Widget is a warning: {stdout}");
    assert!(
        stdout.contains("warning: component `widgets`, `Widget/shop/w`: no schema"),
        "{stdout}"
    );

    let crds = s.app(APP).join("crds");
    std::fs::create_dir(&crds).unwrap();
    let yaml = format!("---\n{}", serde_json::to_string(&widget_crd()).unwrap());
    std::fs::write(crds.join("widgets.yaml"), yaml).unwrap();
    let (code, stdout, _) = validate(&s, &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(
        stdout,
        "error: component `widgets`, `Widget/shop/w` at `spec.size`: expected integer, got \
         string \"big\"\n"
    );

    std::fs::write(crds.join("nope.json"), r#"{"apiVersion": "v1", "kind": "ConfigMap"}"#).unwrap();
    let (code, _, stderr) = validate(&s, &[]);
    assert_eq!(code, Some(2), "a broken app cannot be validated: {stderr}");
    assert!(stderr.contains("crds/nope.json: document 1 is not"), "{stderr}");
}

#[test]
fn validate_exits_2_when_it_cannot_run() {
    let s = app(&[]);
    let out = s.run_in(APP, &["validate", "prod"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("unknown environment `prod`"), "{}", text(&out).1);
}

#[test]
fn the_kubeflow_walkthrough_validates() {
    let s = Scratch::new();
    crate::app::kubeflow_seed(&s);
    for env in ["cloud", "nocloud"] {
        let out = s.run_in("my-kubeflow", &["validate", env]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
        assert_eq!(stdout, "", "no findings at all");
    }
}

#[test]
fn describe_exports_params_as_json_schema() {
    let cache = tempfile::tempdir().unwrap();
    let out = kiln(&["prototype", "describe", "--json-schema", TF_SERVING], cache.path());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let schema: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["required"], json!(["name", "modelPath"]));
    assert_eq!(schema["properties"]["modelPath"]["type"], "string");
    assert!(schema["properties"]["modelPath"]["description"].as_str().is_some());
}
