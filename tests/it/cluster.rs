//! `apply`, `diff` and `delete` against a real kube-apiserver (tests/envtest, started by
//! `scripts/test`), checked with the real kubectl. Each test works in its own namespace.

use crate::common::Scratch;

/// A namespace of its own for each test and run, so runs against one server do not collide.
pub(crate) fn namespace(test: &str) -> String {
    format!("kiln-{test}-{}", std::process::id())
}

/// An app `name` whose `dev` environment targets the test cluster's namespace `ns`, with
/// tf-serving installed and a component `web`.
pub(crate) fn cluster_app(name: &str, ns: &str) -> Scratch {
    let s = Scratch::with_cluster();
    s.ok(".", &["init", name, "--context", "envtest", "--namespace", ns]);
    s.ok(name, &["env", "add", "dev", "--context", "envtest", "--namespace", ns]);
    s.ok(name, &["pkg", "install", "tf-serving"]);
    s.ok(name, &["generate", "tf-serving", "web", "--name=web", "--modelPath=gs://bucket/web"]);
    s.kubectl(&["create", "namespace", ns]);
    s
}

fn resource_version(s: &Scratch, ns: &str, what: &str) -> String {
    s.kubectl(&["-n", ns, "get", what, "-o", "jsonpath={.metadata.resourceVersion}"])
}

#[test]
fn apply_creates_then_reapply_changes_nothing() {
    let (app, ns) = ("idem", &namespace("idem"));
    let s = cluster_app(app, ns);
    let out = s.run_in(app, &["apply", "dev"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("applied `dev`: 2 created"), "{stderr}");
    let before = resource_version(&s, ns, "deployment/web");

    let out = s.run_in(app, &["apply", "dev", "--show-objects"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("Deployment/{ns}/web unchanged")), "{stderr}");
    assert!(stderr.contains("applied `dev`: 2 unchanged"), "{stderr}");
    assert_eq!(resource_version(&s, ns, "deployment/web"), before, "no write on re-apply");

    // kubectl sees Kiln's labels, annotations and field manager.
    let live: serde_json::Value = serde_json::from_str(&s.kubectl(&[
        "-n",
        ns,
        "get",
        "deployment/web",
        "-o",
        "json",
        "--show-managed-fields",
    ]))
    .unwrap();
    assert_eq!(live["metadata"]["labels"]["app.kubernetes.io/managed-by"], "kiln");
    assert_eq!(live["metadata"]["labels"]["kiln.dev/environment"], "dev");
    assert!(
        live["metadata"]["annotations"]["kiln.dev/prototype-digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let managers: Vec<&str> = live["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["operation"] == "Apply")
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["kiln"]);
}

#[test]
fn a_reapply_sends_only_what_changed_since_the_last_apply() {
    let (app, ns) = ("skip", &namespace("skip"));
    let s = cluster_app(app, ns);
    s.ok(app, &["apply", "dev"]);
    let apply = |extra: &[&str]| {
        let out = s.run_in(app, &[&["apply", "dev", "--show-objects"][..], extra].concat());
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.success(), stderr)
    };
    let kept = |what: &str| format!("{what} unchanged (as last applied: not sent)");

    // Nothing changed: nothing sent. (The Service: a controller may still write the Deployment
    // after creating it, which rightly makes Kiln send it again.)
    let service = format!("Service/{ns}/web");
    let (ok, stderr) = apply(&[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains(&kept(&service)), "{stderr}");
    let (ok, stderr) = apply(&["--reapply-unchanged"]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains(&format!("{service} unchanged\n")), "sent: {stderr}");

    // Any write since (here a label Kiln does not own): sent again, which leaves the label, as
    // server-side apply does; then kept.
    s.kubectl(&["-n", ns, "label", "service/web", "team=ml"]);
    let (ok, stderr) = apply(&[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains(&format!("{service} unchanged\n")), "sent: {stderr}");
    let label =
        s.kubectl(&["-n", ns, "get", "service/web", "-o", "jsonpath={.metadata.labels.team}"]);
    assert_eq!(label, "ml");
    let (ok, stderr) = apply(&[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains(&kept(&service)), "{stderr}");

    // Someone else changes a field Kiln applied: it is sent again, and conflicts as it would
    // have without the skip.
    s.kubectl(&["-n", ns, "annotate", "--overwrite", "service/web", "kiln.dev/params-hash=edited"]);
    let (ok, stderr) = apply(&[]);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains(&format!("conflict applying `Service/{ns}/web`")), "{stderr}");
    let (ok, stderr) = apply(&["--force-conflicts"]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains(&format!("Service/{ns}/web configured")), "{stderr}");

    // A changed param changes what Kiln applies (the image, and both objects' params-hash
    // annotation): sent; then kept again.
    s.ok(app, &["param", "set", "web", "image", "tensorflow/serving:2.19.0"]);
    let (ok, stderr) = apply(&[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains(&format!("Deployment/{ns}/web configured")), "{stderr}");
    let (ok, stderr) = apply(&[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains(&kept(&service)), "{stderr}");

    // Deleted behind Kiln's back: created again.
    s.kubectl(&["-n", ns, "delete", "service/web"]);
    let (ok, stderr) = apply(&[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains(&format!("Service/{ns}/web created")), "{stderr}");
}

#[test]
fn an_identity_that_may_not_list_still_applies() {
    let (app, ns) = ("nolist", &namespace("nolist"));
    let admin = cluster_app(app, ns);
    // Four of each kind, so Kiln would read them with one LIST.
    for i in 1..4 {
        let name = format!("web{i}");
        let args =
            ["generate", "tf-serving", &name, &format!("--name={name}"), "--modelPath=gs://b/m"];
        admin.ok(app, &args);
    }
    // A service account that may get, create and patch what the app renders, but not list it.
    admin.kubectl(&["-n", ns, "create", "serviceaccount", "deployer"]);
    let verbs = ["--verb=get", "--verb=create", "--verb=patch"];
    let resource = "--resource=deployments,services,configmaps";
    admin.kubectl(&[&["-n", ns, "create", "role", "deployer", resource][..], &verbs].concat());
    let subject = format!("--serviceaccount={ns}:deployer");
    admin.kubectl(&["-n", ns, "create", "rolebinding", "deployer", "--role=deployer", &subject]);
    let token = admin.kubectl(&["-n", ns, "create", "token", "deployer"]);
    let kubeconfig = admin.app("deployer.kubeconfig");
    std::fs::copy(crate::common::test_kubeconfig(), &kubeconfig).unwrap();
    let deployer = Scratch::with_kubeconfig(kubeconfig);
    deployer.kubectl(&[
        "config",
        "set-credentials",
        "deployer",
        &format!("--token={}", token.trim()),
    ]);
    deployer.kubectl(&["config", "set-context", "envtest", "--user=deployer"]);
    // The app's commands, as the service account.
    let apply = || {
        let mut command = admin.command(app, &["apply", "dev"]);
        let out = command.env("KUBECONFIG", admin.app("deployer.kubeconfig")).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, stderr) = apply();
    assert!(ok && stderr.contains("applied `dev`: 8 created"), "{stderr}");
    // Nor take the environment's lease: it goes on, warned, as before leases.
    assert!(stderr.contains("warning: going on without the lease"), "{stderr}");
    // Nor keep revisions (Secrets): applied all the same, warned.
    assert!(stderr.contains("warning: no revision recorded"), "{stderr}");
    let (ok, stderr) = apply();
    assert!(ok && stderr.contains("applied `dev`: 8 unchanged"), "{stderr}");
}

#[test]
fn a_conflict_names_the_other_manager_and_force_takes_over() {
    let (app, ns) = ("conflict", &namespace("conflict"));
    let s = cluster_app(app, ns);
    s.ok(app, &["apply", "dev"]);
    let other = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: {ns}\nspec:\n  type: NodePort\n"
    );
    s.kubectl_stdin(
        &["apply", "--server-side", "--force-conflicts", "--field-manager=someone-else", "-f", "-"],
        &other,
    );
    let stderr = s.fails(app, &["apply", "dev"]);
    assert!(
        stderr.starts_with(&format!("error: conflict applying `Service/{ns}/web`")),
        "{stderr}"
    );
    assert!(stderr.contains("someone-else"), "names the other manager: {stderr}");
    assert!(stderr.contains(".spec.type"), "names the field: {stderr}");
    assert!(stderr.contains("--force-conflicts"), "{stderr}");
    s.ok(app, &["apply", "dev", "--force-conflicts"]);
    assert_eq!(
        s.kubectl(&["-n", ns, "get", "service/web", "-o", "jsonpath={.spec.type}"]),
        "ClusterIP"
    );
}

#[test]
fn objects_kiln_did_not_make_are_not_taken_over_unless_forced() {
    let (app, ns) = ("adopt", &namespace("adopt"));
    let s = cluster_app(app, ns);
    s.kubectl(&["-n", ns, "create", "service", "clusterip", "web", "--tcp=9000:9000"]);
    let stderr = s.fails(app, &["apply", "dev"]);
    assert!(
        stderr.starts_with(&format!(
            "error: conflict applying `Service/{ns}/web`: it exists and was not made by Kiln"
        )),
        "{stderr}"
    );
    s.ok(app, &["apply", "dev", "--force-conflicts"]);
    let labels = s.kubectl(&[
        "-n",
        ns,
        "get",
        "service/web",
        "-o",
        "jsonpath={.metadata.labels.kiln\\.dev/app}",
    ]);
    assert_eq!(labels, app);
}

#[test]
fn dry_runs_write_nothing() {
    let (app, ns) = ("dryrun", &namespace("dryrun"));
    let s = cluster_app(app, ns);
    let client = s.ok(app, &["apply", "dev", "--dry-run=client"]);
    assert!(client.contains(&format!("Deployment/{ns}/web (dry run, component web)")), "{client}");
    let out = s.run_in(app, &["apply", "dev", "--dry-run=server"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = s.kubectl(&["-n", ns, "get", "deployments,services,configmaps", "-o", "name"]);
    assert!(!listed.contains("web"), "{listed}");
    assert!(!listed.contains("kiln-inventory"), "{listed}");
}

#[test]
fn prune_removes_exactly_the_removed_components_objects() {
    let (app, ns) = ("prune", &namespace("prune"));
    let s = cluster_app(app, ns);
    s.ok(app, &["generate", "tf-serving", "api", "--name=api", "--modelPath=gs://bucket/api"]);
    s.ok(app, &["apply", "dev"]);
    // A look-alike nobody labelled, in the same namespace.
    s.kubectl(&["-n", ns, "create", "configmap", "api-lookalike", "--from-literal=a=b"]);
    s.ok(app, &["component", "rm", "api"]);
    let out = s.run_in(app, &["apply", "dev", "--prune"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("2 unchanged, 2 pruned"), "{stderr}");
    let names = s.kubectl(&["-n", ns, "get", "deployments,services,configmaps", "-o", "name"]);
    assert!(names.contains("deployment.apps/web"), "{names}");
    assert!(!names.contains("deployment.apps/api"), "{names}");
    assert!(!names.contains("service/api\n"), "{names}");
    assert!(names.contains("configmap/api-lookalike"), "the unlabelled look-alike stays: {names}");
}

#[test]
fn a_crd_and_its_custom_resource_apply_in_one_go() {
    let (app, ns) = ("crd", &namespace("crd"));
    let s = cluster_app(app, ns);
    std::fs::create_dir(s.app(app).join("prototypes")).unwrap();
    std::fs::copy(kiln_guest_artifacts::HOSTILE, s.app(app).join("prototypes/hostile.wasm"))
        .unwrap();
    s.ok(
        app,
        &["generate", "prototypes/hostile.wasm", "gadget", "--attack=crd-and-cr", "--size=3"],
    );
    s.ok(app, &["apply", "dev", "-c", "gadget"]);
    assert_eq!(
        s.kubectl(&["-n", ns, "get", "widget/gadget-widget", "-o", "jsonpath={.spec.size}"]),
        "3"
    );
}

#[test]
fn diff_exits_0_when_equal_1_when_different_2_on_error() {
    let (app, ns) = ("diff", &namespace("diff"));
    let s = cluster_app(app, ns);
    let out = s.run_in(app, &["diff", "dev"]);
    assert_eq!(out.status.code(), Some(1), "nothing applied yet");
    s.ok(app, &["apply", "dev"]);
    let out = s.run_in(app, &["diff", "dev"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    s.ok(app, &["param", "set", "web", "image", "my/server:2"]);
    let out = s.run_in(app, &["diff", "dev"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("--- live/Deployment/{ns}/web")), "{text}");
    assert!(text.contains("-        image: gcr.io/kubeflow/model-server:1.0"), "{text}");
    assert!(text.contains("+        image: my/server:2"), "{text}");
    assert!(!text.contains("managedFields"), "{text}");
    s.ok(app, &["env", "set", "dev", "--server", "https://127.0.0.1:1"]);
    let out = s.run_in(app, &["diff", "dev"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cannot reach the cluster at https://127.0.0.1:1")
    );
}

#[test]
fn delete_removes_only_kilns_objects() {
    let (app, ns) = ("delete", &namespace("delete"));
    let s = cluster_app(app, ns);
    s.ok(app, &["apply", "dev"]);
    s.kubectl(&["-n", ns, "create", "configmap", "keep-me", "--from-literal=a=b"]);
    let out = s.run_in(app, &["delete", "dev", "--wait", "--timeout", "60"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("2 deleted"), "{stderr}");
    let names = s.kubectl(&["-n", ns, "get", "deployments,services,configmaps", "-o", "name"]);
    assert!(!names.contains("/web"), "{names}");
    assert!(names.contains("configmap/keep-me"), "{names}");
}

#[test]
fn an_unreachable_cluster_is_a_clear_error() {
    let (app, ns) = ("unreach", &namespace("unreach"));
    let s = Scratch::with_cluster();
    s.ok(".", &["init", app, "--server", "https://127.0.0.1:1", "--namespace", ns]);
    s.ok(app, &["pkg", "install", "tf-serving"]);
    s.ok(app, &["generate", "tf-serving", "web", "--name=web", "--modelPath=gs://b/w"]);
    let stderr = s.fails(app, &["apply", "default"]);
    assert!(
        stderr.starts_with("error: cannot reach the cluster at https://127.0.0.1:1"),
        "{stderr}"
    );
}

#[test]
fn the_seed_walkthrough_applies_end_to_end() {
    let s = Scratch::with_cluster();
    crate::app::kubeflow_seed(&s);
    let app = "my-kubeflow";
    let ns = namespace("seed");
    s.kubectl(&["create", "namespace", &ns]);
    for env in ["nocloud", "cloud"] {
        s.ok(app, &["env", "set", env, "--context", "envtest", "--namespace", &ns]);
    }
    s.ok(app, &["apply", "nocloud", "-c", "kubeflow-core"]);
    assert_eq!(
        s.kubectl(&[
            "-n",
            &ns,
            "get",
            "statefulset/tf-hub",
            "-o",
            "jsonpath={.metadata.labels.kiln\\.dev/environment}"
        ]),
        "nocloud"
    );
    s.ok(app, &["apply", "cloud", "-c", "serveInception"]);
    // The seed's tf-serving sets --namespace=default itself.
    assert!(
        s.kubectl(&["-n", "default", "get", "deployment/inception", "-o", "name"])
            .contains("inception")
    );
    let out = s.run_in(app, &["apply", "cloud"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let names = s.kubectl(&["-n", &ns, "get", "deployments,services,pvc", "-o", "name"]);
    for expected in [
        "deployment.apps/tf-job-operator",
        "deployment.apps/pd1-provisioner",
        "service/pd2-service",
        "persistentvolumeclaim/pd1",
    ] {
        assert!(names.contains(expected), "{expected} in {names}");
    }
    assert!(s.kubectl(&["get", "crd", "tfjobs.tensorflow.org", "-o", "name"]).contains("tfjobs"));
    let out = s.run_in(app, &["diff", "cloud"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "applied means no diff: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    s.kubectl(&["-n", "default", "delete", "deployment/inception", "service/inception"]);
}

#[test]
fn wait_reports_what_never_became_ready() {
    // The test API server runs no pods, so a Deployment never becomes available: `--wait`
    // must give up at its timeout and name the object, after applying everything.
    let (app, ns) = ("wait", &namespace("wait"));
    let s = cluster_app(app, ns);
    let stderr = s.fails(app, &["apply", "dev", "--wait", "--timeout", "2"]);
    assert!(
        stderr.starts_with(&format!(
            "error: timed out after 2 s waiting for `Deployment/{ns}/web` to be ready"
        )),
        "{stderr}"
    );
    assert!(s.kubectl(&["-n", ns, "get", "service/web", "-o", "name"]).contains("web"));
}
