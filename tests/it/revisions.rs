//! Revisions, `kiln history` and `kiln rollback` against a real kube-apiserver (tests/envtest,
//! started by `scripts/test`), checked with the real kubectl.

use kiln_guest_artifacts::ECHO;
use serde_json::{Value, json};

use crate::common::{Scratch, text};

fn namespace(test: &str) -> String {
    format!("kiln-rev-{test}-{}", std::process::id())
}

/// An app `name` whose `dev` environment targets namespace `ns` of the test cluster.
fn app_in(name: &str, ns: &str) -> Scratch {
    let s = Scratch::with_cluster();
    s.ok(".", &["init", name, "--context", "envtest", "--namespace", ns]);
    s.ok(name, &["env", "add", "dev", "--context", "envtest", "--namespace", ns]);
    s.kubectl(&["create", "namespace", ns]);
    s
}

/// Run kiln in `app`, require success, and return stderr.
fn ok_stderr(s: &Scratch, app: &str, args: &[&str]) -> String {
    let out = s.run_in(app, args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "kiln {args:?} failed:\n{stdout}\n{stderr}");
    stderr
}

fn history(s: &Scratch, app: &str) -> Vec<Value> {
    let out = s.ok(app, &["history", "dev", "-o", "json"]);
    serde_json::from_str(&out).expect("history -o json is JSON")
}

fn deployment_args(s: &Scratch, ns: &str, name: &str) -> String {
    s.kubectl(&[
        "-n",
        ns,
        "get",
        "deployment",
        name,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].args}",
    ])
}

#[test]
fn a_rollback_restores_the_previous_objects_and_prunes_newer_ones_from_the_cluster_alone() {
    let (app, ns) = ("back", &namespace("back"));
    let s = app_in(app, ns);
    s.ok(app, &["pkg", "install", "tf-serving"]);
    s.ok(app, &["generate", "tf-serving", "web", "--name=web", "--modelPath=gs://bucket/v1"]);
    let stderr = ok_stderr(&s, app, &["apply", "dev"]);
    assert!(stderr.contains("applied `dev`: 2 created (revision 1)"), "{stderr}");

    s.ok(app, &["param", "set", "web", "modelPath", "gs://bucket/v2"]);
    s.ok(app, &["generate", "tf-serving", "api", "--name=api", "--modelPath=gs://bucket/api"]);
    let stderr = ok_stderr(&s, app, &["apply", "dev", "--prune"]);
    assert!(stderr.contains("(revision 2)"), "{stderr}");
    let stderr = ok_stderr(&s, app, &["apply", "dev"]);
    assert!(
        stderr.contains("applied `dev`: 4 unchanged") && !stderr.contains("revision"),
        "{stderr}"
    );
    assert!(deployment_args(&s, ns, "web").contains("gs://bucket/v2"));

    let table = s.ok(app, &["history", "dev"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("REVISION  UPDATED"), "{table}");
    assert!(
        lines[1].starts_with("2 ") && lines[1].contains("2 created, 2 configured, 0 pruned"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("1 ") && lines[2].contains("2 created, 0 configured, 0 pruned"),
        "{table}"
    );
    assert!(lines[1].contains("admin") && lines[1].contains(env!("CARGO_PKG_VERSION")), "{table}");
    assert_eq!(lines.len(), 3, "no revision for an apply that changed nothing:\n{table}");
    let revisions = history(&s, app);
    assert_eq!(
        revisions[0]["packages"]["kubeflow/tf-serving"]["version"],
        revisions[1]["packages"]["kubeflow/tf-serving"]["version"]
    );
    assert_ne!(revisions[0]["paramsHash"], revisions[1]["paramsHash"], "the params changed");
    assert_eq!(revisions[0]["objects"], 4);

    // The old checkout is gone, and so are the packages: the cluster has all a rollback needs.
    for dir in ["components", "vendor"] {
        std::fs::remove_dir_all(s.app(app).join(dir)).unwrap();
    }
    let dry = s.run_in(app, &["rollback", "dev", "--dry-run"]);
    let (_, stderr) = text(&dry);
    assert!(dry.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("Deployment/{ns}/api pruned")), "{stderr}");
    assert!(stderr.contains("(server dry run)"), "{stderr}");
    assert!(deployment_args(&s, ns, "web").contains("gs://bucket/v2"), "a dry run changes nothing");
    assert_eq!(history(&s, app).len(), 2, "a dry run records nothing");

    let stderr = ok_stderr(&s, app, &["rollback", "dev"]);
    assert!(
        stderr.contains("rolled back `dev` to revision 1: 2 configured, 2 pruned (revision 3)"),
        "{stderr}"
    );
    assert!(deployment_args(&s, ns, "web").contains("gs://bucket/v1"));
    let left = s.kubectl(&["-n", ns, "get", "deployments,services", "-o", "name"]);
    assert!(!left.contains("/api"), "the newer objects are pruned: {left}");
    let revisions = history(&s, app);
    assert_eq!(revisions.len(), 3);
    assert_eq!(revisions[0]["number"], 3);
    assert_eq!(revisions[0]["rollbackOf"], 1);
    assert_eq!(revisions[0]["paramsHash"], revisions[2]["paramsHash"]);
    let table = s.ok(app, &["history", "dev"]);
    assert!(table.lines().nth(1).unwrap().ends_with("rollback to 1"), "{table}");

    let err = s.fails(app, &["rollback", "dev", "9"]);
    assert!(err.contains("environment `dev` has no revision 9 in its cluster"), "{err}");
    assert!(err.contains("`kiln history dev` lists the revisions it keeps"), "{err}");
}

/// Text that gzip cannot shrink much: hex of a pseudo-random sequence.
fn noise(seed: u64, bytes: usize) -> String {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..bytes / 16)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            format!("{x:016x}")
        })
        .collect()
}

#[test]
fn a_revision_too_large_for_one_object_is_split_and_the_history_is_bounded() {
    let (app, ns) = ("large", &namespace("large"));
    let s = app_in(app, ns);
    std::fs::create_dir_all(s.app(app).join("prototypes")).unwrap();
    std::fs::copy(ECHO, s.app(app).join("prototypes/echo.wasm")).unwrap();
    let objects = |round: u64, i: u64| {
        json!([{
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": format!("blob-{i}") },
            "data": { "noise": noise(round * 100 + i, 96 * 1024) },
        }])
        .to_string()
    };
    // 12 objects of 96 KiB of noise: more than a part holds once compressed.
    for i in 0..12 {
        s.ok(
            app,
            &[
                "generate",
                "prototypes/echo.wasm",
                &format!("blob{i}"),
                &format!("--objects={}", objects(0, i)),
            ],
        );
    }
    ok_stderr(&s, app, &["apply", "dev"]);
    let parts = s.kubectl(&["-n", ns, "get", "secrets", "-l", "kiln.dev/revision=1", "-o", "name"]);
    assert!(parts.lines().count() >= 2, "one revision in several Secrets: {parts}");
    let first = history(&s, app);
    assert!(first[0]["parts"].as_u64().unwrap() >= 2, "{first:?}");
    let original =
        s.kubectl(&["-n", ns, "get", "configmap", "blob-3", "-o", "jsonpath={.data.noise}"]);

    for round in 1..=3 {
        s.ok(app, &["param", "set", "blob3", "objects", &objects(round, 3)]);
        let stderr = ok_stderr(&s, app, &["apply", "dev", "--history-max", "2"]);
        assert!(stderr.contains(&format!("(revision {})", round + 1)), "{stderr}");
    }
    let kept: Vec<u64> = history(&s, app).iter().map(|r| r["number"].as_u64().unwrap()).collect();
    assert_eq!(kept, [4, 3], "the newest two are kept");
    let all =
        s.kubectl(&["-n", ns, "get", "secrets", "-l", "kiln.dev/revision in (1,2)", "-o", "name"]);
    assert!(all.trim().is_empty(), "every part of a forgotten revision is deleted: {all}");

    ok_stderr(&s, app, &["rollback", "dev", "3"]);
    let now = s.kubectl(&["-n", ns, "get", "configmap", "blob-3", "-o", "jsonpath={.data.noise}"]);
    assert_eq!(now, noise(2 * 100 + 3, 96 * 1024), "revision 3 had round 2's noise");
    assert_ne!(now, original);
}

#[test]
fn a_revision_of_a_thousand_components_stores_and_rolls_back() {
    let (app, ns) = ("thousand", &namespace("thousand"));
    let s = app_in(app, ns);
    let root = s.app(app);
    std::fs::create_dir_all(root.join("prototypes")).unwrap();
    std::fs::copy(ECHO, root.join("prototypes/echo.wasm")).unwrap();
    // Written as `kiln generate` writes them, without running it a thousand times.
    let write = |i: usize, value: &str| {
        let file = format!(
            "prototype = \"prototypes/echo.wasm\"\n\n[params]\nobjects = [{{ apiVersion = \"v1\", \
             kind = \"ConfigMap\", metadata = {{ name = \"c{i:04}\" }}, data = {{ value = \"{value}\" }} }}]\n"
        );
        std::fs::write(root.join(format!("components/c{i:04}.toml")), file).unwrap();
    };
    for i in 0..1000 {
        write(i, &format!("first {i}"));
    }
    let stderr = ok_stderr(&s, app, &["apply", "dev"]);
    assert!(stderr.contains("applied `dev`: 1000 created (revision 1)"), "{stderr}");
    write(7, "second");
    std::fs::remove_file(root.join("components/c0999.toml")).unwrap();
    let stderr = ok_stderr(&s, app, &["apply", "dev", "--prune"]);
    assert!(stderr.contains("1 configured, 998 unchanged, 1 pruned (revision 2)"), "{stderr}");

    let stderr = ok_stderr(&s, app, &["rollback", "dev"]);
    assert!(stderr.contains("to revision 1: 1 created, 1 configured, 998 unchanged"), "{stderr}");
    let value = |name: &str| {
        s.kubectl(&["-n", ns, "get", "configmap", name, "-o", "jsonpath={.data.value}"])
    };
    assert_eq!(value("c0007"), "first 7");
    assert_eq!(value("c0999"), "first 999");
    let revisions = history(&s, app);
    assert_eq!(revisions[0]["objects"], 1000);
    assert_eq!(revisions[0]["rollbackOf"], 1);
}
