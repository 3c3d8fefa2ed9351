//! The app CLI end to end, in scratch directories: the seed's commands, environments,
//! components, params, `show`, and bad input that must leave every file as it was.

use crate::common::Scratch;

const APP: &str = "my-kubeflow";
const MODEL_PATH: &str = "--modelPath=gs://cloud-ml-dev_jlewi/tmp/inception";

/// An app with tf-serving installed, environments `nocloud` and `cloud` (cloud=gke) and the
/// seed's `serveInception` component.
fn seed_app() -> Scratch {
    let s = Scratch::new();
    seed_steps(&s, false);
    s
}

/// The Kubeflow walkthrough of the seed, as the Kubeflow packages issue spells it out.
pub fn kubeflow_seed(s: &Scratch) {
    seed_steps(s, true);
}

/// The seed's commands in order; `kubeflow` adds the core and nfs components.
fn seed_steps(s: &Scratch, kubeflow: bool) {
    s.ok(".", &["init", APP]);
    if kubeflow {
        s.ok(APP, &["pkg", "install", "kubeflow/core"]);
    }
    s.ok(APP, &["pkg", "install", "kubeflow/tf-serving"]);
    if kubeflow {
        s.ok(APP, &["generate", "core", "kubeflow-core", "--name=kubeflow-core"]);
    }
    s.ok(APP, &["env", "add", "nocloud"]);
    s.ok(APP, &["env", "add", "cloud"]);
    s.ok(APP, &["param", "set", "--env", "cloud", "cloud", "gke"]);
    let serving = ["--name=inception", "--namespace=default", MODEL_PATH];
    s.ok(APP, &[&["generate", "tf-serving", "serveInception"][..], &serving].concat());
    if kubeflow {
        s.ok(APP, &["generate", "nfs", "nfs"]);
        s.ok(APP, &["param", "set", "--env=cloud", "nfs", "disks", "pd1,pd2"]);
    }
}

/// Run `args` expecting failure, and check that no file of the app changed.
fn fails_changing_nothing(s: &Scratch, args: &[&str]) -> String {
    let before = s.files(APP);
    let stderr = s.fails(APP, args);
    assert_eq!(s.files(APP), before, "kiln {args:?} changed files");
    stderr
}

#[test]
fn the_seed_walkthrough_renders_show_output() {
    let s = seed_app();
    let shown = s.ok(APP, &["show", "cloud"]);
    insta::assert_snapshot!("seed_show_cloud", crate::common::redact_digests(&shown));
    for _ in 0..2 {
        assert_eq!(s.ok(APP, &["show", "cloud"]), shown, "byte-identical across runs");
    }
    let json: serde_json::Value =
        serde_json::from_str(&s.ok(APP, &["show", "cloud", "-o", "json", "-c", "serveInception"]))
            .unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), 2);
    assert_eq!(json["items"][0]["metadata"]["labels"]["kiln.dev/environment"], "cloud");
}

#[test]
fn init_creates_the_files_of_the_design() {
    let s = Scratch::new();
    s.ok(".", &["init", APP, "--namespace", "kubeflow", "--server", "https://127.0.0.1:6443"]);
    let files = s.files(APP);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["components/.keep", "environments/default.toml", "kiln.toml", "vendor/.keep"]
    );
    let env = String::from_utf8(files["environments/default.toml"].clone()).unwrap();
    assert!(env.contains("namespace = \"kubeflow\""), "{env}");
    assert!(env.contains("server = \"https://127.0.0.1:6443\""), "{env}");
    let stderr = s.fails(".", &["init", APP]);
    assert!(stderr.contains("already exists"), "{stderr}");
}

#[test]
fn init_takes_the_current_kubeconfig_context() {
    let s = Scratch::new();
    let kubeconfig = s.dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: dev\ncontexts:\n- name: dev\n  context:\n    cluster: c1\n    namespace: team\nclusters:\n- name: c1\n  cluster:\n    server: https://10.0.0.1:6443\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kiln-under-test"))
        .args(["init", APP])
        .current_dir(s.dir.path())
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    assert!(out.status.success());
    let env = std::fs::read_to_string(s.app(APP).join("environments/default.toml")).unwrap();
    assert!(env.contains("context = \"dev\""), "{env}");
    assert!(env.contains("namespace = \"team\""), "{env}");
}

#[test]
fn environments_can_be_listed_changed_described_and_removed() {
    let s = seed_app();
    s.ok(
        APP,
        &[
            "env",
            "set",
            "cloud",
            "--namespace",
            "kubeflow",
            "--label",
            "team=ml",
            "--kubernetes-version",
            "1.30",
        ],
    );
    insta::assert_snapshot!("env_list", s.ok(APP, &["env", "list"]));
    insta::assert_snapshot!("env_describe_cloud", s.ok(APP, &["env", "describe", "cloud"]));
    let shown = s.ok(APP, &["show", "cloud"]);
    assert!(shown.contains("team: ml"), "env labels on every object");
    assert!(shown.contains("namespace: default"), "an explicit namespace param wins: {shown}");
    assert_eq!(s.ok(APP, &["env", "current"]), "default\n");
    s.ok(APP, &["env", "current", "--set", "cloud"]);
    assert_eq!(s.ok(APP, &["env", "current"]), "cloud\n");
    s.ok(APP, &["env", "rm", "cloud"]);
    assert_eq!(s.ok(APP, &["env", "list"]).lines().count(), 3, "header, default, nocloud");
    let kiln_toml = std::fs::read_to_string(s.app(APP).join("kiln.toml")).unwrap();
    assert!(!kiln_toml.contains("defaultEnvironment"), "removed env is no longer the default");
}

#[test]
fn params_resolve_with_precedence_and_sources() {
    let s = seed_app();
    s.ok(APP, &["param", "set", "serveInception", "serviceType", "NodePort"]);
    s.ok(APP, &["param", "set", "--env", "cloud", "serveInception", "serviceType", "LoadBalancer"]);
    insta::assert_snapshot!("param_list_cloud", s.ok(APP, &["param", "list", "--env", "cloud"]));
    insta::assert_snapshot!("param_diff", s.ok(APP, &["param", "diff", "nocloud", "cloud"]));
    assert!(s.ok(APP, &["show", "cloud"]).contains("type: LoadBalancer"));
    assert!(s.ok(APP, &["show", "nocloud"]).contains("type: NodePort"));
    s.ok(APP, &["param", "unset", "--env", "cloud", "serveInception", "serviceType"]);
    assert!(s.ok(APP, &["show", "cloud"]).contains("type: NodePort"));
}

#[test]
fn param_set_keeps_comments_and_order() {
    let s = seed_app();
    let path = s.app(APP).join("components/serveInception.toml");
    let text = "# my model server\nprototype = \"kubeflow/tf-serving/tf-serving\"\n\n[params]\n# where the model is\nmodelPath = \"gs://a\" # old bucket\nname = \"inception\"\n";
    std::fs::write(&path, text).unwrap();
    s.ok(APP, &["param", "set", "serveInception", "modelPath", "gs://b"]);
    s.ok(APP, &["param", "set", "serveInception", "image", "my/image:2"]);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "# my model server\nprototype = \"kubeflow/tf-serving/tf-serving\"\n\n[params]\n# where the model is\nmodelPath = \"gs://b\" # old bucket\nname = \"inception\"\nimage = \"my/image:2\"\n"
    );
}

#[test]
fn components_are_listed_and_removed_with_their_overrides() {
    let s = seed_app();
    s.ok(APP, &["param", "set", "--env", "cloud", "serveInception", "image", "x/y:1"]);
    assert_eq!(
        s.ok(APP, &["component", "list"]),
        "COMPONENT       PROTOTYPE\nserveInception  kubeflow/tf-serving/tf-serving\n"
    );
    s.ok(APP, &["component", "rm", "serveInception"]);
    assert_eq!(s.ok(APP, &["component", "list"]), "COMPONENT  PROTOTYPE\n");
    let env = std::fs::read_to_string(s.app(APP).join("environments/cloud.toml")).unwrap();
    assert!(!env.contains("serveInception"), "{env}");
    assert_eq!(s.ok(APP, &["show", "cloud"]), "");
}

#[test]
fn generate_help_lists_the_prototypes_params() {
    let s = seed_app();
    insta::assert_snapshot!("generate_help", s.ok(APP, &["generate", "tf-serving", "--help"]));
}

#[test]
fn unknown_names_get_suggestions_and_change_nothing() {
    let s = seed_app();
    let cases: &[(&[&str], &str)] = &[
        (&["show", "clod"], "error: unknown environment `clod` (did you mean `cloud`?)"),
        (
            &["show", "cloud", "-c", "serveInceptoin"],
            "error: unknown component `serveInceptoin` (did you mean `serveInception`?)",
        ),
        (
            &["generate", "tf-servng", "m", "--name=m", MODEL_PATH],
            "error: unknown prototype `tf-servng` (did you mean `tf-serving`?)",
        ),
        (
            &["generate", "tf-serving", "m", "--nme=m", MODEL_PATH],
            "error: unknown param `nme` for prototype `tf-serving` (did you mean `name`?)",
        ),
        (
            &["param", "set", "serveInception", "modelPth", "x"],
            "error: unknown param `modelPth` for prototype `tf-serving` (did you mean `modelPath`?)",
        ),
        (
            &["param", "set", "--env", "clod", "serveInception", "image", "x"],
            "error: unknown environment `clod` (did you mean `cloud`?)",
        ),
        (
            &["env", "rm", "nocluod"],
            "error: unknown environment `nocluod` (did you mean `nocloud`?)",
        ),
        (
            &["component", "rm", "serve"],
            "error: unknown component `serve` (did you mean `serveInception`?)",
        ),
        (
            &["pkg", "install", "kubeflow/tf-servin"],
            "error: registry `kubeflow` has no package `tf-servin` (did you mean `tf-serving`?)",
        ),
    ];
    for (args, first_line) in cases {
        let stderr = fails_changing_nothing(&s, args);
        assert_eq!(stderr.lines().next(), Some(*first_line), "{args:?}:\n{stderr}");
    }
}

#[test]
fn duplicate_and_invalid_names_are_refused() {
    let s = seed_app();
    let cases: &[(&[&str], &str)] = &[
        (&["env", "add", "cloud"], "error: environment `cloud` already exists"),
        (
            &["generate", "tf-serving", "serveInception", "--name=x", MODEL_PATH],
            "error: component `serveInception` already exists",
        ),
        (&["env", "add", "Cloud_2"], "error: invalid environment name `Cloud_2`"),
        (
            &["generate", "tf-serving", "../escape", "--name=x", MODEL_PATH],
            "error: invalid component name `../escape`",
        ),
        (&["pkg", "install", "tf-serving"], "error: package `kubeflow/tf-serving` already exists"),
    ];
    for (args, start) in cases {
        let stderr = fails_changing_nothing(&s, args);
        assert!(stderr.starts_with(start), "{args:?}:\n{stderr}");
    }
    let before = s.files(APP);
    let out = s.run_in(APP, &["env", "set", "cloud", "--label", "bad key=x"]);
    assert_eq!(out.status.code(), Some(2), "a malformed flag is a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid label key `bad key`"));
    assert_eq!(s.files(APP), before);
}

#[test]
fn values_are_typed_by_the_prototype() {
    let s = seed_app();
    let stderr =
        fails_changing_nothing(&s, &["generate", "tf-serving", "m", "--name=Bad_Name", MODEL_PATH]);
    assert!(stderr.starts_with("error: cannot generate component `m`"), "{stderr}");
    assert!(
        stderr.contains("rejected param `name`: `Bad_Name` is not a valid DNS-1123 label"),
        "{stderr}"
    );
    let stderr = fails_changing_nothing(&s, &["generate", "tf-serving", "m", "--name=m"]);
    assert!(stderr.contains("missing required param `modelPath`"), "{stderr}");
    let stderr =
        fails_changing_nothing(&s, &["param", "set", "--env", "cloud", "cloud", "aws", "extra"]);
    assert!(stderr.starts_with("error: unknown component `cloud`"), "{stderr}");
}

#[test]
fn hand_broken_files_are_reported_with_file_and_line() {
    let s = seed_app();
    let component = s.app(APP).join("components/serveInception.toml");
    let original = std::fs::read_to_string(&component).unwrap();

    std::fs::write(&component, format!("{original}\nreplicas = [\n")).unwrap();
    let stderr = fails_changing_nothing(&s, &["show", "cloud"]);
    assert!(
        stderr.starts_with(
            "error: components/serveInception.toml: invalid TOML: TOML parse error at line"
        ),
        "{stderr}"
    );

    std::fs::write(&component, original.replace("[params]", "[params]\nserviceType = 3")).unwrap();
    let stderr = fails_changing_nothing(&s, &["show", "cloud"]);
    assert_eq!(
        stderr.lines().next(),
        Some(
            "error: components/serveInception.toml:4: param `serviceType` expects a string, got `3`"
        )
    );

    std::fs::write(&component, original.replace("[params]", "[params]\nreplicas = 3")).unwrap();
    let stderr = fails_changing_nothing(&s, &["show", "cloud"]);
    assert!(
        stderr.starts_with("error: components/serveInception.toml:4: unknown param `replicas`"),
        "{stderr}"
    );

    std::fs::write(&component, original.replace("prototype", "protoype")).unwrap();
    let stderr = fails_changing_nothing(&s, &["show", "cloud"]);
    assert!(
        stderr.contains("unknown key `protoype` in a component (did you mean `prototype`?)"),
        "{stderr}"
    );
}

#[test]
fn a_failing_prototype_names_the_component() {
    let s = seed_app();
    // By hand: `param set` refuses a value the prototype rejects.
    let component = s.app(APP).join("components/serveInception.toml");
    let text = std::fs::read_to_string(&component).unwrap();
    assert!(text.trim_end().ends_with('"') && text.contains("[params]"), "{text}");
    std::fs::write(&component, format!("{text}serviceType = \"Ingress\"\n")).unwrap();
    let stderr = fails_changing_nothing(&s, &["show", "cloud"]);
    assert_eq!(
        stderr.lines().next(),
        Some(
            "error: component `serveInception`: prototype `tf-serving` rejected param `serviceType`: unknown value `Ingress`; expected one of `ClusterIP`, `NodePort`, `LoadBalancer`"
        )
    );
}

#[test]
fn a_changed_vendored_prototype_is_refused_before_it_runs() {
    let s = seed_app();
    let wasm = s.app(APP).join("vendor/kubeflow/tf-serving/tf-serving.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    bytes.push(0);
    std::fs::write(&wasm, bytes).unwrap();
    let stderr = fails_changing_nothing(&s, &["show", "cloud"]);
    assert!(
        stderr.starts_with("error: vendor/kubeflow/tf-serving/tf-serving.wasm does not match its digest in kiln.lock"),
        "{stderr}"
    );
}

#[test]
fn prototype_files_cannot_escape_the_app() {
    let s = seed_app();
    let component = s.app(APP).join("components/serveInception.toml");
    let original = std::fs::read_to_string(&component).unwrap();
    let outside = s.dir.path().join("evil.wasm");
    std::fs::copy(kiln_guest_artifacts::HOSTILE, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, s.app(APP).join("link.wasm")).unwrap();
    for reference in ["../evil.wasm", outside.to_str().unwrap(), "link.wasm"] {
        let text = original.replace("kubeflow/tf-serving/tf-serving", reference);
        std::fs::write(&component, text).unwrap();
        let stderr = fails_changing_nothing(&s, &["show", "cloud"]);
        assert!(stderr.contains("cannot read"), "{reference}: {stderr}");
    }
    let stderr = fails_changing_nothing(
        &s,
        &["generate", outside.to_str().unwrap(), "evil", "--attack=probe"],
    );
    assert!(stderr.contains("is outside the app"), "{stderr}");
}

/// A prototype `.wasm` is refused unread when it is larger than a registry may serve (128 MiB),
/// whether it is a file of the app or a tampered vendored one: the files here are sparse and
/// far larger than memory, so reading one before checking would exhaust it.
#[test]
fn an_oversized_prototype_file_is_refused_before_it_is_read() {
    const HUGE: u64 = 64 << 30;
    let s = seed_app();
    let sparse = |path: std::path::PathBuf| {
        std::fs::File::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .unwrap()
            .set_len(HUGE)
            .unwrap()
    };
    let component = s.app(APP).join("components/serveInception.toml");
    let original = std::fs::read_to_string(&component).unwrap();
    sparse(s.app(APP).join("huge.wasm"));
    std::fs::write(&component, original.replace("kubeflow/tf-serving/tf-serving", "huge.wasm"))
        .unwrap();
    let stderr = s.fails(APP, &["show", "cloud"]);
    assert!(
        stderr.contains(&format!(
            "huge.wasm is {HUGE} bytes, more than the 134217728 bytes a prototype may have"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("hint: check that the component names the right file"), "{stderr}");

    std::fs::write(&component, &original).unwrap();
    sparse(s.app(APP).join("vendor/kubeflow/tf-serving/tf-serving.wasm"));
    let stderr = s.fails(APP, &["show", "cloud"]);
    assert!(
        stderr.contains(&format!(
            "vendor/kubeflow/tf-serving/tf-serving.wasm is {HUGE} bytes, more than the 134217728 bytes"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("hint: it was changed after install; reinstall"), "{stderr}");
}

#[test]
fn a_local_prototype_file_inside_the_app_works() {
    let s = seed_app();
    std::fs::create_dir(s.app(APP).join("prototypes")).unwrap();
    std::fs::copy(kiln_guest_artifacts::HOSTILE, s.app(APP).join("prototypes/hostile.wasm"))
        .unwrap();
    s.ok(APP, &["generate", "prototypes/hostile.wasm", "probe", "--attack=probe"]);
    let shown = s.ok(APP, &["show", "nocloud", "-c", "probe"]);
    assert!(shown.contains("kiln.dev/component: probe"), "{shown}");
}

#[test]
fn the_app_is_found_from_a_subdirectory() {
    let s = seed_app();
    assert!(!s.ok(&format!("{APP}/components"), &["show", "cloud"]).is_empty());
    let stderr = s.fails(".", &["show", "cloud"]);
    assert!(stderr.starts_with("error: no Kiln app in"), "{stderr}");
    assert!(stderr.contains("hint: create one with `kiln init NAME`"), "{stderr}");
}

#[test]
fn completions_are_generated() {
    let s = Scratch::new();
    let script = s.ok(".", &["completions", "bash"]);
    assert!(script.contains("kiln__generate") || script.contains("generate"), "{script}");
}

#[test]
fn help_of_the_main_verbs() {
    let s = Scratch::new();
    for verb in [&["init"][..], &["env", "add"], &["param", "set"], &["show"], &["pkg", "install"]]
    {
        let mut args = verb.to_vec();
        args.push("--help");
        let name = format!("help_{}", verb.join("_"));
        insta::assert_snapshot!(name, s.ok(".", &args));
    }
}

#[test]
fn the_kubeflow_seed_renders_jupyterhub_the_operator_serving_and_two_nfs_servers() {
    let s = Scratch::new();
    kubeflow_seed(&s);
    let shown = s.ok(APP, &["show", "cloud"]);
    insta::assert_snapshot!("kubeflow_seed_show_cloud", crate::common::redact_digests(&shown));
    assert_eq!(s.ok(APP, &["show", "cloud"]), shown, "byte-identical across runs");
    let list: serde_json::Value =
        serde_json::from_str(&s.ok(APP, &["show", "cloud", "-o", "json"])).unwrap();
    let items = list["items"].as_array().unwrap();
    let count = |kind: &str| items.iter().filter(|o| o["kind"] == kind).count();
    assert_eq!(count("StatefulSet"), 1, "JupyterHub");
    assert_eq!(count("CustomResourceDefinition"), 1, "the TfJob CRD");
    assert_eq!(count("Deployment"), 4, "operator, serving, two NFS provisioners");
    assert_eq!(count("PersistentVolumeClaim"), 2, "one claim per disk");
    assert_eq!(items[0]["kind"], "CustomResourceDefinition", "CRDs first");
    let config = items
        .iter()
        .find(|o| o["metadata"]["name"] == "jupyterhub-config")
        .expect("the JupyterHub config");
    let py = config["data"]["jupyterhub_config.py"].as_str().unwrap();
    assert!(py.contains("/mnt/pd1") && py.contains("/mnt/pd2"), "notebooks mount both disks");
    // No cloud, no disks: nocloud renders core and serving only.
    let nocloud: serde_json::Value =
        serde_json::from_str(&s.ok(APP, &["show", "nocloud", "-o", "json"])).unwrap();
    assert!(!nocloud.to_string().contains("pd1"));
}

#[test]
fn an_unknown_cloud_lists_the_known_ones() {
    let s = Scratch::new();
    kubeflow_seed(&s);
    // By hand: `param set` refuses a value the prototype rejects.
    let env = s.app(APP).join("environments/cloud.toml");
    let text = std::fs::read_to_string(&env).unwrap();
    assert!(text.contains("cloud = \"gke\""), "{text}");
    std::fs::write(&env, text.replace("cloud = \"gke\"", "cloud = \"aws\"")).unwrap();
    let stderr = s.fails(APP, &["show", "cloud"]);
    assert!(stderr.contains("rejected param `cloud`"), "{stderr}");
    assert!(stderr.contains("`gke`") && stderr.contains("`azure`"), "{stderr}");
}

/// The seed's `registry add github.com/kubeflow/ksonnet` (one argument, `HOST/PATH`): the
/// Kubeflow packages are built in, so Kiln says where they are and changes nothing. A
/// registry given without a name is named after the end of its location.
#[test]
fn the_seeds_registry_add_finds_the_built_in_packages() {
    let s = Scratch::new();
    s.ok(".", &["init", APP]);
    let before = s.files(APP);
    let out = s.run_in(APP, &["registry", "add", "github.com/kubeflow/ksonnet"]);
    let (_, stderr) = crate::common::text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("are built into Kiln as the registry `kubeflow`; nothing to add"),
        "{stderr}"
    );
    assert_eq!(s.files(APP), before);

    std::fs::create_dir_all(s.dir.path().join("team-registry")).unwrap();
    std::fs::write(s.dir.path().join("team-registry/index.toml"), "").unwrap();
    s.ok(APP, &["registry", "add", "../team-registry"]);
    let listed = s.ok(APP, &["registry", "list"]);
    assert!(listed.contains("team-registry  directory"), "{listed}");
}

/// `param set` renders what the value changes before it writes it: a value the prototype
/// rejects is refused as `generate` refuses it, with the files as they were. (It was written,
/// and refused only later by `show` or `apply`.)
#[test]
fn param_set_refuses_a_value_the_prototype_rejects() {
    let s = Scratch::new();
    kubeflow_seed(&s);
    let stderr =
        fails_changing_nothing(&s, &["param", "set", "--env=cloud", "nfs", "disks", "PD1,PD2"]);
    assert!(
        stderr.starts_with(
            "error: `disks` was not set: the prototype refuses it in environment `cloud`"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("rejected param `disks`"), "{stderr}");
    // On the component itself: every environment renders it.
    let stderr =
        fails_changing_nothing(&s, &["param", "set", "serveInception", "name", "Bad_Name"]);
    assert!(stderr.contains("rejected param `name`"), "{stderr}");
    // Environment-wide: every component of the environment renders.
    s.ok(APP, &["param", "set", "--env", "nocloud", "cloud", "azure"]);
    let stderr = fails_changing_nothing(&s, &["param", "set", "--env", "nocloud", "cloud", "aws"]);
    assert!(stderr.contains("unknown value `aws`; expected one of ``, `gke`, `azure`"), "{stderr}");
    assert!(stderr.contains("environment `nocloud`"), "{stderr}");
}

/// The seed's `param set --cloud=gke`: ksonnet's form of an environment-wide param, in
/// `--env` or the current environment.
#[test]
fn param_set_takes_the_seeds_flag_form() {
    let s = seed_app();
    s.ok(APP, &["param", "set", "--env", "nocloud", "--cloud=azure"]);
    let env = std::fs::read_to_string(s.app(APP).join("environments/nocloud.toml")).unwrap();
    assert!(env.contains("cloud = \"azure\""), "{env}");
    let out = s.run_in(APP, &["param", "set", "--cloud", "azure"]);
    let (_, stderr) = crate::common::text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("setting `cloud` for environment `default`, the current one"),
        "{stderr}"
    );
    let env = std::fs::read_to_string(s.app(APP).join("environments/default.toml")).unwrap();
    assert!(env.contains("cloud = \"azure\""), "{env}");
    let stderr = fails_changing_nothing(&s, &["param", "set", "--cloud"]);
    assert!(stderr.contains("expected `--KEY=VALUE`, got `--cloud`"), "{stderr}");
}
