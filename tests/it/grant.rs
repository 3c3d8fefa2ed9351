//! The grant holds for every object, by every door: a package installed with nothing granted
//! cannot emit objects of custom kinds that may be cluster-scoped, smuggle objects inside
//! others, or forge Kiln's own state, through `show` (validated or not), `prototype preview` or
//! `apply` to the real API server (tests/envtest) with custom kinds installed there, one
//! cluster-scoped and one namespaced. And the whole attack set of the `hostile` guest, run as a
//! restricted package, leaves nothing outside the environment's namespace.

use std::path::Path;

use crate::common::{Scratch, text};

/// The API group of the test kinds; the `hostile` guest emits them.
const GROUP: &str = "kiln-test.dev";

/// The test kinds' definitions: `ClusterPolicy` is cluster-scoped (as a policy engine's kinds
/// are), `Gizmo` namespaced.
fn crds() -> String {
    let crd = |plural: &str, kind: &str, scope: &str| {
        format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n\
             metadata:\n  name: {plural}.{GROUP}\nspec:\n  group: {GROUP}\n  scope: {scope}\n\
             \x20 names:\n    plural: {plural}\n    singular: {}\n    kind: {kind}\n\
             \x20 versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n\
             \x20     openAPIV3Schema:\n        type: object\n        \
             x-kubernetes-preserve-unknown-fields: true\n",
            kind.to_lowercase()
        )
    };
    format!(
        "{}---\n{}",
        crd("clusterpolicies", "ClusterPolicy", "Cluster"),
        crd("gizmos", "Gizmo", "Namespaced")
    )
}

/// Install the test kinds in the test API server (idempotent: every test may do it).
fn install_crds(s: &Scratch) {
    s.kubectl_stdin(&["apply", "-f", "-"], &crds());
    s.kubectl(&[
        "wait",
        "--for=condition=Established",
        &format!("crd/clusterpolicies.{GROUP}"),
        &format!("crd/gizmos.{GROUP}"),
    ]);
}

/// An app `app` whose environment `dev` targets namespace `ns` of the test cluster, with the
/// `hostile` guest installed from a directory registry as package `local/hostile`, granted
/// nothing (it asks for nothing).
fn restricted_app(s: &Scratch, ns: &str) {
    let src = s.dir.path().join("src-hostile");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("kiln-package.toml"),
        "name = \"hostile\"\nversion = \"1.0.0\"\ndescription = \"Misbehaves\"\n\
         [[prototypes]]\nname = \"hostile\"\nfile = \"hostile.wasm\"\n",
    )
    .unwrap();
    std::fs::copy(kiln_guest_artifacts::HOSTILE, src.join("hostile.wasm")).unwrap();
    s.ok(".", &["pkg", "publish", "src-hostile", "--to", "registry"]);
    s.ok(".", &["init", "app", "--context", "envtest", "--namespace", ns]);
    s.ok("app", &["env", "add", "dev", "--context", "envtest", "--namespace", ns]);
    s.ok("app", &["registry", "add", "local", "../registry"]);
    s.ok("app", &["pkg", "install", "local/hostile"]);
}

/// Make component `evil` of the app run `attack` (replacing what it ran before). Written as
/// a file: `kiln generate` renders the component first, and most attacks fail to render.
fn attack(s: &Scratch, attack: &str) {
    let text = format!("prototype = \"hostile\"\n\n[params]\nattack = \"{attack}\"\n");
    std::fs::write(s.app("app").join("components/evil.toml"), text).unwrap();
}

/// Write the test kinds' definitions into the app's `crds/`.
fn add_crds_to_app(s: &Scratch) {
    let dir = s.app("app").join("crds");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("test-kinds.yaml"), crds()).unwrap();
}

/// Grant package `local/hostile` the cluster-scoped kinds `kinds`, as `kiln pkg install` would
/// have recorded had the user said yes.
fn grant_kinds(app: &Path, kinds: &[&str]) {
    let lock = app.join("kiln.lock");
    let text = std::fs::read_to_string(&lock).unwrap();
    let quoted: Vec<String> = kinds.iter().map(|k| format!("\"{k}\"")).collect();
    let granted = format!("[package.granted]\ncluster-scoped = [{}]\n", quoted.join(", "));
    assert!(text.contains("[package.granted]\n"), "{text}");
    std::fs::write(&lock, text.replace("[package.granted]\n", &granted)).unwrap();
}

/// `kiln` in the app fails (exit code 1; 2 for `diff`, whose 1 means "different"), prints no
/// objects, changes none of the app's files, and says `expected`; returns stderr.
fn refused(s: &Scratch, args: &[&str], expected: &str) -> String {
    let before = s.files("app");
    let out = s.run_in("app", args);
    let (stdout, stderr) = text(&out);
    let code = if args[0] == "diff" { 2 } else { 1 };
    assert_eq!(out.status.code(), Some(code), "kiln {args:?} should fail:\n{stdout}{stderr}");
    assert!(stdout.is_empty(), "kiln {args:?} printed objects:\n{stdout}");
    assert!(stderr.contains(expected), "kiln {args:?}: expected `{expected}` in:\n{stderr}");
    assert_eq!(s.files("app"), before, "kiln {args:?} changed the app");
    stderr
}

/// Every door an environment's objects leave by, offline: `show`, with and without
/// validation, and a preview of the installed prototype.
fn refused_offline(s: &Scratch, attack_name: &str, expected: &str) {
    refused(s, &["show", "dev"], expected);
    refused(s, &["show", "dev", "--no-validate", "-o", "json"], expected);
    let preview = ["prototype", "preview", "hostile", &format!("--attack={attack_name}")];
    refused(s, &preview, expected);
}

/// `kubectl get` of `what` (`-n NS` and such before it): the names found, one per line.
fn names(s: &Scratch, what: &[&str]) -> String {
    s.kubectl(&[&["get"], what, &["-o", "name", "--ignore-not-found"]].concat())
}

/// A namespace for one test and run, created in the test cluster.
fn namespace(s: &Scratch, test: &str) -> String {
    let ns = format!("kiln-grant-{test}-{}", std::process::id());
    s.kubectl(&["create", "namespace", &ns]);
    ns
}

#[test]
fn custom_kinds_kiln_cannot_place_offline_need_a_grant() {
    let s = Scratch::new();
    restricted_app(&s, "shop");
    attack(&s, "custom-cluster-kind");
    let err = "which needs permission for the kind `kiln-test.dev/ClusterPolicy`, which may be \
               cluster-scoped (Kiln knows no CustomResourceDefinition for it)";
    refused_offline(&s, "custom-cluster-kind", err);
    let stderr = refused(
        &s,
        &["show", "dev"],
        &format!("renders `ClusterPolicy/shop/hostile-policy`, {err}"),
    );
    assert!(stderr.contains("put its CustomResourceDefinition in the app's `crds/`"), "{stderr}");
    // The namespaced kind too: Kiln cannot tell it from a cluster-scoped one.
    attack(&s, "custom-namespaced-kind");
    refused_offline(
        &s,
        "custom-namespaced-kind",
        "`kiln-test.dev/Gizmo`, which may be cluster-scoped",
    );

    // With the definitions in the app, the scopes are known.
    add_crds_to_app(&s);
    let shown = s.ok("app", &["show", "dev"]);
    assert!(shown.contains("kind: Gizmo") && shown.contains("namespace: shop"), "{shown}");
    attack(&s, "custom-kind-elsewhere");
    refused(
        &s,
        &["show", "dev"],
        "renders `Gizmo/kube-system/evil-gizmo`, which needs permission for other namespaces",
    );
    attack(&s, "custom-cluster-kind");
    refused(
        &s,
        &["show", "dev", "--no-validate"],
        "renders `ClusterPolicy/hostile-policy`, which needs permission for the cluster-scoped kind \
         `kiln-test.dev/ClusterPolicy`",
    );
    // Granted, it renders, without a namespace.
    grant_kinds(&s.app("app"), &["kiln-test.dev/ClusterPolicy"]);
    let shown = s.ok("app", &["show", "dev"]);
    assert!(shown.contains("kind: ClusterPolicy") && !shown.contains("namespace:"), "{shown}");
}

#[test]
fn apply_checks_the_scope_the_cluster_reports_before_sending_anything() {
    let s = Scratch::with_cluster();
    install_crds(&s);
    let ns = namespace(&s, "scope");
    restricted_app(&s, &ns);
    let inventory = "configmap/kiln-inventory-app-dev";
    for (attack_name, expected) in [
        // Placed in the namespace offline; the cluster says the kind is cluster-scoped.
        (
            "custom-cluster-kind",
            "which needs permission for the cluster-scoped kind `kiln-test.dev/ClusterPolicy`",
        ),
        // Its own definition claims the kind is namespaced; the cluster's is the truth.
        (
            "crd-claims-namespaced",
            "renders `ClusterPolicy/hostile-claimed`, which needs permission for the cluster-scoped kind",
        ),
        (
            "custom-kind-elsewhere",
            "renders `Gizmo/kube-system/evil-gizmo`, which needs permission for other namespaces",
        ),
    ] {
        attack(&s, attack_name);
        refused(&s, &["apply", "dev"], expected);
        refused(&s, &["apply", "dev", "--no-validate", "--dry-run=server"], expected);
        refused(&s, &["diff", "dev"], expected);
        assert_eq!(names(&s, &["clusterpolicies"]), "", "{attack_name} created a ClusterPolicy");
        assert_eq!(names(&s, &["-n", "kube-system", "gizmos"]), "", "{attack_name}");
        assert_eq!(names(&s, &["-n", &ns, inventory]), "", "{attack_name}: something was sent");
    }
    // A namespaced custom kind Kiln cannot place offline applies once the cluster says where.
    attack(&s, "custom-namespaced-kind");
    refused(&s, &["show", "dev"], "which may be cluster-scoped");
    s.ok("app", &["apply", "dev"]);
    assert_eq!(names(&s, &["-n", &ns, "gizmos"]), "gizmo.kiln-test.dev/evil-gizmo\n");
    // Granted the cluster-scoped kind, it is created cluster-wide, not in the namespace, and
    // deleted with the environment.
    grant_kinds(&s.app("app"), &["kiln-test.dev/ClusterPolicy"]);
    attack(&s, "custom-cluster-kind");
    s.ok("app", &["apply", "dev", "--prune"]);
    assert_eq!(names(&s, &["clusterpolicies"]), "clusterpolicy.kiln-test.dev/hostile-policy\n");
    assert_eq!(names(&s, &["-n", &ns, "gizmos"]), "", "pruned");
    s.ok("app", &["delete", "dev"]);
    assert_eq!(names(&s, &["clusterpolicies"]), "");
}

#[test]
fn objects_nested_in_others_never_leave_the_pipeline() {
    let s = Scratch::with_cluster();
    let ns = namespace(&s, "nested");
    restricted_app(&s, &ns);
    for (attack_name, expected) in [
        (
            "list",
            "renders `ClusterRoleBinding/hostile-list-admin`, which needs permission for the cluster-scoped kind",
        ),
        ("list", "renders `ValidatingWebhookConfiguration/hostile-webhook`"),
        ("typed-list", "renders `ClusterRoleBinding/hostile-typed-admin`"),
        ("nested-list", "renders `ClusterRoleBinding/hostile-deep-admin`"),
        ("items", "only a List may carry objects"),
        ("items", "/hostile-bundle`"),
    ] {
        attack(&s, attack_name);
        refused_offline(&s, attack_name, expected);
        refused(&s, &["apply", "dev", "--no-validate"], expected);
    }
    // Validation lists every smuggler, not only the first.
    attack(&s, "items");
    let stderr = refused(&s, &["show", "dev"], "/hostile-bundle` at `items`");
    assert!(stderr.contains("/carrier` at `items`: only a List may carry objects"), "{stderr}");
    assert_eq!(names(&s, &["clusterrolebindings"]).matches("hostile").count(), 0);
    assert_eq!(names(&s, &["validatingwebhookconfigurations"]), "");

    // The user's own prototype is not restricted, but its Lists are flattened all the same:
    // what leaves is each object, labelled, never the List.
    std::fs::copy(kiln_guest_artifacts::HOSTILE, s.app("app").join("own.wasm")).unwrap();
    s.ok("app", &["component", "rm", "evil"]);
    s.ok("app", &["generate", "own.wasm", "mine", "--attack=nested-list"]);
    let shown = s.ok("app", &["show", "dev", "--no-validate"]);
    assert!(!shown.contains("kind: List"), "{shown}");
    assert!(
        shown.contains("kind: ClusterRoleBinding") && shown.contains("kiln.dev/component: mine")
    );
    // Objects carried by anything but a List are refused whoever made them.
    s.ok("app", &["component", "rm", "mine"]);
    s.ok("app", &["generate", "own.wasm", "mine", "--attack=items"]);
    refused(
        &s,
        &["show", "dev", "--no-validate"],
        "with objects inside its `items`: only a List may carry objects",
    );
    refused(&s, &["show", "dev"], "only a List may carry objects");
}

#[test]
fn kilns_own_state_cannot_be_forged() {
    let s = Scratch::with_cluster();
    let ns = namespace(&s, "state");
    restricted_app(&s, &ns);
    attack(&s, "probe");
    s.ok("app", &["apply", "dev"]);
    let version = |s: &Scratch| {
        s.kubectl(&[
            "-n",
            &ns,
            "get",
            "configmap/kiln-inventory-app-dev",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
    };
    let before = version(&s);
    attack(&s, "forge-inventory");
    let expected =
        "names starting with `kiln-inventory-` are Kiln's own, for its state in the cluster";
    refused_offline(&s, "forge-inventory", expected);
    let stderr = refused(&s, &["apply", "dev", "--no-validate", "--prune"], expected);
    assert!(stderr.contains("`ConfigMap/kiln-inventory-app-dev`"), "{stderr}");
    assert_eq!(version(&s), before, "the inventory was written");
    attack(&s, "forge-labels");
    refused_offline(
        &s,
        "forge-labels",
        "label `kiln.dev/app` is in the `kiln.dev` domain, which is Kiln's own",
    );
    refused(
        &s,
        &["apply", "dev"],
        "annotation `kiln.dev/prototype-digest` is in the `kiln.dev` domain",
    );
    // Nobody's prototype may: the user's own is refused too.
    std::fs::copy(kiln_guest_artifacts::HOSTILE, s.app("app").join("own.wasm")).unwrap();
    s.ok("app", &["component", "rm", "evil"]);
    s.ok("app", &["generate", "own.wasm", "mine", "--attack=forge-inventory"]);
    refused(
        &s,
        &["show", "dev", "--no-validate"],
        "names starting with `kiln-inventory-` are Kiln's own",
    );
}

#[test]
fn server_set_metadata_is_refused_and_null_annotations_keep_kilns() {
    let s = Scratch::new();
    restricted_app(&s, "shop");
    attack(&s, "server-metadata");
    refused_offline(&s, "server-metadata", "is set by the API server, not by a prototype");
    let stderr =
        refused(&s, &["show", "dev", "--no-validate"], "`metadata.uid` is set by the API server");
    assert!(stderr.contains("`metadata.uid`"), "{stderr}");
    let stderr = refused(&s, &["show", "dev"], "is set by the API server, not by a prototype");
    for field in ["uid", "resourceVersion", "managedFields", "deletionTimestamp"] {
        assert!(stderr.contains(&format!("`metadata.{field}`")), "{field}: {stderr}");
    }
    attack(&s, "null-annotations");
    let shown = s.ok("app", &["show", "dev", "-o", "json"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let annotations = &shown["items"][0]["metadata"]["annotations"];
    assert!(
        annotations["kiln.dev/prototype-digest"].as_str().is_some_and(|d| d.starts_with("sha256:")),
        "{shown}"
    );
    assert!(annotations["kiln.dev/params-hash"].is_string(), "{shown}");
}

/// Every attack of the `hostile` guest (as its description lists them), run as a package
/// granted nothing through `show`, `show --no-validate`, a preview and `apply`: each either
/// renders or fails with a clear error (exit 1, never a crash), and afterwards nothing exists
/// outside the environment's namespace. Limits are lowered so that the runaway attacks stop
/// quickly; the sandbox tests check each limit on its own.
#[test]
fn the_whole_hostile_attack_set_stays_inside_the_grant() {
    let s = Scratch::with_cluster();
    install_crds(&s);
    let ns = namespace(&s, "attacks");
    restricted_app(&s, &ns);
    let described = s.ok("app", &["prototype", "describe", "hostile", "--json"]);
    let described: serde_json::Value = serde_json::from_str(&described).unwrap();
    let doc = described["params"]
        .as_array()
        .and_then(|params| params.iter().find(|p| p["name"] == "attack"))
        .and_then(|p| p["doc"].as_str())
        .expect("the attack param is documented")
        .to_string();
    let attacks: Vec<&str> = doc.split_once("one of ").expect(&doc).1.split(", ").collect();
    assert!(attacks.len() >= 29 && attacks.contains(&"nested-list"), "{attacks:?}");
    let limits = ["--limit", "fuel=3e8", "--limit", "time-ms=3000", "--limit", "memory=64MiB"];
    let mut outcomes = Vec::new();
    for attack_name in &attacks {
        attack(&s, attack_name);
        let mut codes = Vec::new();
        for verb in [&["show", "dev"][..], &["show", "dev", "--no-validate"], &["apply", "dev"]] {
            let args = [verb, &limits[..]].concat();
            let out = s.run_in("app", &args);
            let (stdout, stderr) = text(&out);
            let code = out.status.code();
            assert!(matches!(code, Some(0 | 1)), "{attack_name}: kiln {args:?} crashed:\n{stderr}");
            if code == Some(1) {
                assert!(
                    stderr.starts_with("error: ") || stderr.contains("\nerror: "),
                    "{attack_name}: {stderr}"
                );
            }
            for line in stdout.lines().filter(|l| l.starts_with("kind: ")) {
                let kind = &line["kind: ".len()..];
                assert!(
                    matches!(kind, "ConfigMap" | "Gizmo"),
                    "{attack_name}: a restricted package emitted a {kind}:\n{stdout}"
                );
            }
            codes.push(code.unwrap_or(-1));
        }
        outcomes.push(format!("{attack_name}: {codes:?}"));
    }
    // Nothing outside the namespace, and in it only what Kiln labelled.
    let cluster_wide = "clusterrolebindings,clusterroles,validatingwebhookconfigurations,\
                        customresourcedefinitions,namespaces,clusterpolicies";
    let made = s.kubectl(&["get", cluster_wide, "-l", "kiln.dev/component=evil", "-o", "name"]);
    assert_eq!(made, "", "a restricted package created cluster-wide objects\n{outcomes:#?}");
    let named = names(&s, &[cluster_wide])
        + &names(&s, &["-n", "kube-system", "secrets,configmaps,gizmos"]);
    for forbidden in ["hostile", "planted", "evil"] {
        assert!(!named.contains(forbidden), "found `{forbidden}` outside the namespace:\n{named}");
    }
    let unlabelled = s.kubectl(&[
        "-n",
        &ns,
        "get",
        "configmaps,gizmos",
        "-l",
        "kiln.dev/app!=app",
        "-o",
        "name",
    ]);
    assert_eq!(
        unlabelled.lines().filter(|l| !l.ends_with("/kube-root-ca.crt")).count(),
        0,
        "objects Kiln did not label:\n{unlabelled}"
    );
    // The benign ones did render and apply: the sandbox is not refusing everything.
    for benign in ["probe", "custom-namespaced-kind", "null-annotations"] {
        assert!(
            outcomes
                .iter()
                .any(|o| o == &format!("{benign}: [1, 1, 0]")
                    || o == &format!("{benign}: [0, 0, 0]")),
            "{outcomes:#?}"
        );
    }
}
