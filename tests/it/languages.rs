//! Prototypes in other languages than Rust, through the `kiln` CLI like any other prototype:
//! the Python and JavaScript examples (`examples/`), the projects `kiln prototype new` creates,
//! and components that import what Kiln does not provide.
//!
//! The examples are built by `scripts/build-examples` (which these tests run once: a no-op
//! when nothing changed) with the toolchains `scripts/setup-guest-langs` pins and installs into
//! `$KILN_TOOLS_CACHE` (default `~/.cache/kiln-tools`); the `.wasm` files land in
//! `$KILN_EXAMPLES_OUT` (default `target/examples` in the repo). A missing toolchain fails the
//! tests with the command that installs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use kiln::render::Error;

use crate::common::{Scratch, engine, text};

const LANGS: [&str; 2] = ["python", "js"];

/// The repository's root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the repo").into()
}

/// The built examples and a compiled-code cache they share, so each (a Python guest takes
/// many seconds to compile) is compiled once per test run.
struct Examples {
    out: PathBuf,
    cache: tempfile::TempDir,
    tools: PathBuf,
}

fn examples() -> &'static Examples {
    static EXAMPLES: OnceLock<Examples> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let out = std::env::var_os("KILN_EXAMPLES_OUT")
            .map_or_else(|| repo().join("target/examples"), PathBuf::from);
        let build = Command::new(repo().join("scripts/build-examples"))
            .env("KILN_EXAMPLES_OUT", &out)
            .output()
            .expect("run scripts/build-examples");
        let (_, stderr) = text(&build);
        assert!(
            build.status.success(),
            "building the Python and JavaScript examples failed:\n{stderr}\n\
             run `scripts/build-examples`: it needs python3 (with venv) and npm, and installs \
             the pinned componentize-py and componentize-qjs into $KILN_TOOLS_CACHE \
             (default ~/.cache/kiln-tools) from PyPI and npm"
        );
        // Already installed by the build above: this only prints where.
        let setup = Command::new(repo().join("scripts/setup-guest-langs")).output().unwrap();
        assert!(setup.status.success(), "scripts/setup-guest-langs: {}", text(&setup).1);
        let tools = PathBuf::from(text(&setup).0.trim()).join("bin");
        let examples = Examples { out, cache: tempfile::tempdir().unwrap(), tools };
        for lang in LANGS {
            // Compile into the shared cache now, one at a time.
            kiln_ok(&examples, &["prototype", "describe", &example(&examples, lang)]);
        }
        examples
    })
}

/// The path of the `lang` example's wasm.
fn example(examples: &Examples, lang: &str) -> String {
    let wasm = examples.out.join(format!("web-app-{lang}.wasm"));
    assert!(wasm.is_file(), "{} is missing: run `scripts/build-examples`", wasm.display());
    wasm.display().to_string()
}

/// Run `kiln` with the examples' cache.
fn kiln(examples: &Examples, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kiln-under-test"))
        .args(args)
        .env("KILN_CACHE_DIR", examples.cache.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run kiln")
}

fn kiln_ok(examples: &Examples, args: &[&str]) -> String {
    let out = kiln(examples, args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "kiln {args:?} failed:\n{stderr}");
    stdout
}

fn kiln_fails(examples: &Examples, args: &[&str]) -> String {
    let out = kiln(examples, args);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "kiln {args:?} should fail:\n{stdout}{stderr}");
    stderr
}

/// `kiln prototype preview` of the `lang` example as component `web`, in namespace `shop`.
fn preview(lang: &str, format: &str, params: &[&str]) -> String {
    let e = examples();
    let wasm = example(e, lang);
    let args = ["prototype", "preview", "-o", format, "--env-namespace", "shop"];
    let args = [&args[..], &["--component", "web", &wasm], params].concat();
    kiln_ok(e, &args)
}

/// The objects of the `v1/List` that `-o json` prints.
fn items(json: &str) -> Vec<serde_json::Value> {
    let list: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(list["kind"], "List", "{json}");
    list["items"].as_array().unwrap().clone()
}

const BASIC: &[&str] = &["--name=web", "--image=nginx:1.27"];
const FULL: &[&str] = &[
    "--name=shop-front",
    "--image=registry.example/shop/front:2.1",
    "--port=3000",
    "--servicePort=8080",
    "--serviceType=LoadBalancer",
    "--minReplicas=3",
    "--maxReplicas=12",
    "--cpuTarget=65",
    "--cpuRequest=250m",
    "--memoryRequest=256Mi",
    "--args=--verbose,--listen=:3000",
    r#"--labels={"team":"shop","tier":"front"}"#,
];
const FIXED: &[&str] = &["--name=web", "--image=nginx:1.27", "--autoscale=false"];

#[test]
fn each_example_declares_the_same_typed_params() {
    let e = examples();
    let describe = |lang| -> serde_json::Value {
        serde_json::from_str(&kiln_ok(e, &["prototype", "describe", "--json", &example(e, lang)]))
            .unwrap()
    };
    let (python, js) = (describe("python"), describe("js"));
    assert_eq!(python["name"], "web-app-python");
    assert_eq!(js["name"], "web-app-js");
    assert_eq!(python["params"], js["params"]);
    let types: Vec<(&str, &str)> = python["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        types,
        [
            ("name", "string"),
            ("image", "string"),
            ("port", "integer"),
            ("servicePort", "integer"),
            ("serviceType", "string"),
            ("autoscale", "boolean"),
            ("minReplicas", "integer"),
            ("maxReplicas", "integer"),
            ("cpuTarget", "integer"),
            ("cpuRequest", "string"),
            ("memoryRequest", "string"),
            ("args", "list of strings"),
            ("labels", "object"),
            ("apiKey", "secret"),
        ]
    );
    assert_eq!(python["permissions"], js["permissions"]);
}

#[test]
fn python_and_javascript_render_the_same_objects() {
    for params in [BASIC, FULL, FIXED] {
        let python = preview("python", "yaml", params);
        assert_eq!(python, preview("js", "yaml", params), "params {params:?}");
    }
}

#[test]
fn both_languages_place_a_secret_the_same_way() {
    let params = [BASIC, &["--apiKey=shop-api-key"]].concat();
    let python = preview("python", "yaml", &params);
    assert_eq!(python, preview("js", "yaml", &params));
    assert!(python.contains("API_KEY: <secret shop-api-key>"), "{python}");
    assert!(python.contains("secretKeyRef"), "{python}");
}

#[test]
fn the_example_renders_a_deployment_a_service_and_an_autoscaler() {
    let objects = items(&preview("js", "json", FULL));
    let kinds: Vec<_> = objects.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Deployment", "Service", "HorizontalPodAutoscaler"]);
    for object in &objects {
        assert_eq!(object["metadata"]["namespace"], "shop", "from the environment");
        assert_eq!(object["metadata"]["labels"]["team"], "shop");
        assert_eq!(object["metadata"]["labels"]["app.kubernetes.io/instance"], "web");
    }
    let [deployment, service, hpa] = objects.as_slice() else { unreachable!() };
    assert_eq!(deployment["spec"].get("replicas"), None, "left to the autoscaler");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["args"], serde_json::json!(["--verbose", "--listen=:3000"]));
    assert_eq!(container["ports"][0]["containerPort"], 3000);
    assert_eq!(service["spec"]["type"], "LoadBalancer");
    assert_eq!(service["spec"]["ports"][0]["port"], 8080);
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["spec"]["minReplicas"], 3);
    assert_eq!(hpa["spec"]["maxReplicas"], 12);
    assert_eq!(hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 65);

    let fixed = items(&preview("python", "json", FIXED));
    assert_eq!(fixed.len(), 2, "no autoscaler when autoscale is off");
    assert_eq!(fixed[0]["spec"]["replicas"], 2);
}

#[test]
fn renders_are_byte_identical() {
    for lang in LANGS {
        let first = preview(lang, "yaml", FULL);
        assert_eq!(first, preview(lang, "yaml", FULL), "{lang}");
    }
}

#[test]
fn bad_params_are_errors_that_name_the_param() {
    let e = examples();
    let cases: &[(&[&str], &str)] = &[
        (&["--name=Web_1"], "rejected param `name`: `Web_1` is not a valid DNS-1123 label"),
        (&["--port=0"], "rejected param `port`: 0 is not between 1 and 65535"),
        (&["--serviceType=Ingress"], "rejected param `serviceType`: `Ingress` is not one of"),
        (&["--maxReplicas=1"], "rejected param `maxReplicas`: 1 is less than minReplicas (2)"),
        (&["--cpuTarget=150"], "rejected param `cpuTarget`: 150 is not between 1 and 100"),
        (&[r#"--labels={"team":1}"#], "rejected param `labels`: the value of `team` is not"),
        (&["--labels=[1]"], "rejected param `labels`: must be a JSON object of strings"),
        // Refused by Kiln from the description, before the guest runs.
        (&["--replicas=3"], "unknown param `replicas`"),
        (&["--port=http"], "`port`"),
    ];
    for lang in LANGS {
        let wasm = example(e, lang);
        for (params, expected) in cases {
            let base = ["prototype", "preview", &wasm, "--name=web", "--image=nginx"];
            let stderr = kiln_fails(e, &[&base[..], params].concat());
            assert!(stderr.contains(expected), "{lang} {params:?}: {stderr}");
        }
        let stderr = kiln_fails(e, &["prototype", "preview", &wasm, "--name=web"]);
        assert!(stderr.contains("`image`"), "{lang}: a missing required param: {stderr}");
    }
}

#[test]
fn limits_still_apply() {
    let e = examples();
    // Every param is given, so the guest is stopped by the limit whether `describe` runs or its
    // description is remembered from another test's render with the same cache.
    for lang in LANGS {
        let wasm = example(e, lang);
        for (limit, name) in [("fuel=100000", "fuel"), ("memory=1MiB", "memory")] {
            let args = [&["prototype", "preview", "--limit", limit, &wasm][..], BASIC].concat();
            let stderr = kiln_fails(e, &args);
            assert!(stderr.contains(&format!("exceeded its `{name}` limit")), "{lang}: {stderr}");
        }
    }
}

#[test]
fn the_examples_import_only_what_kiln_provides() {
    let e = examples();
    for lang in LANGS {
        let json = kiln_ok(e, &["prototype", "describe", "--json", "--imports", &example(e, lang)]);
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        let imports: Vec<&str> =
            json["imports"].as_array().unwrap().iter().map(|i| i.as_str().unwrap()).collect();
        assert!(imports.contains(&"kiln:prototype/log@0.3.0"), "{lang}: {imports:?}");
        for import in &imports {
            assert!(
                !import.starts_with("wasi:http/") && !import.starts_with("wasi:sockets/"),
                "{lang} imports {import}"
            );
        }
        if lang == "python" {
            let only_kiln = imports.iter().all(|i| i.starts_with("kiln:prototype/"));
            assert!(only_kiln, "built with WASI stubbed out: {imports:?}");
        }
    }
}

#[test]
fn an_example_is_a_component_of_an_app() {
    let e = examples();
    let s = Scratch::new();
    s.ok(".", &["init", "shop", "--namespace", "shop"]);
    let app = s.app("shop");
    for lang in LANGS {
        std::fs::copy(example(e, lang), app.join(format!("web-app-{lang}.wasm"))).unwrap();
    }
    let run = |args: &[&str]| {
        let out = s.command("shop", args).env("KILN_CACHE_DIR", e.cache.path()).output().unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "kiln {args:?} failed:\n{stderr}");
        stdout
    };
    run(&["generate", "web-app-python.wasm", "front", "--name=front", "--image=nginx:1.27"]);
    run(&["generate", "web-app-js.wasm", "back", "--name=back", "--image=nginx:1.27"]);
    run(&["param", "set", "back", "maxReplicas", "9"]);
    let shown = run(&["show", "default"]);
    assert_eq!(shown, run(&["show", "default"]), "byte-identical");
    assert_eq!(shown.matches("kind: HorizontalPodAutoscaler").count(), 2, "{shown}");
    assert!(shown.contains("maxReplicas: 9"), "{shown}");
    assert!(shown.contains("namespace: shop"), "{shown}");
}

/// A component with one import, of an instance named `name` with `exports` in its type.
fn importing(name: &str, exports: &str) -> Vec<u8> {
    wat::parse_str(format!(r#"(component (import "{name}" (instance {exports})))"#)).unwrap()
}

#[test]
fn a_function_kiln_does_not_define_is_refused_naming_the_import() {
    // Kiln's own interface, with a function this version of Kiln does not have.
    let wasm = importing("kiln:prototype/log@0.3.0", r#"(export "steal" (func))"#);
    match engine().load("importer", &wasm) {
        Err(err @ Error::DeniedImport { .. }) => {
            let message = err.to_string();
            assert!(message.contains("imports `kiln:prototype/log@0.3.0`"), "{message}");
            assert!(message.contains("steal"), "says what is missing: {message}");
        }
        Err(other) => panic!("expected a denied import, got {other}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn a_prototype_built_for_another_wit_version_says_so_before_compiling() {
    // 0.1.0: older than the versions this Kiln still runs.
    let wasm = importing("kiln:prototype/types@0.1.0", r#"(export "x" (func))"#);
    match engine().load("old", &wasm) {
        Err(err @ Error::NotAPrototype { .. }) => {
            let message = err.to_string();
            assert!(message.contains("prototype `old`"), "{message}");
            assert!(message.contains("built for kiln:prototype@0.1.0"), "{message}");
            assert!(
                message.contains("implements kiln:prototype@0.3.0 (and runs 0.2.0)"),
                "{message}"
            );
        }
        Err(other) => panic!("expected `not a prototype`, got {other}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn a_component_importing_what_kiln_does_not_offer_is_refused_naming_the_import() {
    let engine = engine();
    for (import, reason) in [
        ("wasi:sockets/tcp@0.2.0", "prototypes run without network access"),
        ("wasi:http/outgoing-handler@0.2.0", "prototypes run without network access"),
        ("acme:secrets/vault@1.0.0", "prototypes may import only"),
        // Under names Kiln allows, but not provided: an interface WASI does not have.
        ("wasi:cli/secrets@0.2.0", "no matching definition"),
    ] {
        // A function in the instance: an empty instance is satisfied by nothing at all.
        let wasm = importing(import, r#"(export "get" (func))"#);
        match engine.load("importer", &wasm) {
            Err(err @ Error::DeniedImport { .. }) => {
                let message = err.to_string();
                assert!(message.contains(&format!("prototype `importer` imports `{import}`")));
                assert!(message.contains(reason), "{message}");
                assert!(err.hint().is_some());
            }
            Err(other) => panic!("{import}: expected a denied import, got {other}"),
            Ok(_) => panic!("{import} was accepted"),
        }
    }
}

#[test]
fn the_cli_names_the_refused_import_and_the_prototype() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("leaky.wasm");
    std::fs::write(&wasm, importing("wasi:sockets/udp@0.2.3", "")).unwrap();
    let out = crate::common::kiln(&["prototype", "describe", wasm.to_str().unwrap()], dir.path());
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("prototype `leaky` imports `wasi:sockets/udp@0.2.3`"),
        "names the import and the prototype: {stderr}"
    );
    assert!(stderr.contains("hint: prototypes run deny-by-default"), "{stderr}");
}

/// The projects `kiln prototype new` creates, one per language, each built by its `build`
/// script with the pinned toolchains: (language, wasm). Built once per test run.
fn scaffolds() -> &'static [(&'static str, PathBuf)] {
    static SCAFFOLDS: OnceLock<(tempfile::TempDir, Vec<(&str, PathBuf)>)> = OnceLock::new();
    let (_, built) = SCAFFOLDS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let built = ["rust", "python", "js"].map(|lang| (lang, scaffold(lang, dir.path())));
        (dir, built.into())
    });
    built
}

/// Create a `lang` project with `kiln prototype new`, build it, and return its wasm.
fn scaffold(lang: &str, dir: &Path) -> PathBuf {
    let e = examples();
    let name = format!("hello-{lang}");
    let project = dir.join(&name);
    let sdk = repo().join("guest-components/sdk");
    let out = Command::new(env!("CARGO_BIN_EXE_kiln-under-test"))
        .args(["prototype", "new", &name, "--lang", lang, "--dir"])
        .arg(&project)
        .arg("--sdk-path")
        .arg(&sdk)
        .output()
        .unwrap();
    assert!(out.status.success(), "prototype new: {}", text(&out).1);

    let mut build = Command::new(project.join("build"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![e.tools.clone()];
    paths.extend(std::env::split_paths(&path));
    build.env("PATH", std::env::join_paths(paths).unwrap());
    if lang == "rust" {
        // Reuse the guest workspace's build of kiln-sdk and k8s-openapi: same versions (its
        // lock file), same profile, same target dir.
        std::fs::copy(repo().join("guest-components/Cargo.lock"), project.join("Cargo.lock"))
            .unwrap();
        build.env("CARGO_TARGET_DIR", repo().join("guest-components/target"));
        for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "RUSTC_WRAPPER"] {
            build.env_remove(var);
        }
    }
    let out = build.output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "building the {lang} scaffold failed:\n{stdout}{stderr}");
    project.join(format!("{name}.wasm"))
}

fn scaffold_wasm(lang: &str) -> String {
    let (_, wasm) = scaffolds().iter().find(|(l, _)| *l == lang).unwrap();
    wasm.display().to_string()
}

fn renders_its_scaffold(lang: &str) {
    let wasm = scaffold_wasm(lang);
    let e = examples();
    let args = ["prototype", "preview", "-o", "json", "--env-namespace", "apps", &wasm];
    let objects = items(&kiln_ok(e, &[&args[..], &["--replicas=2"]].concat()));
    let deployment = &objects[0];
    assert_eq!(deployment["kind"], "Deployment");
    assert_eq!(deployment["metadata"]["name"], format!("hello-{lang}"));
    assert_eq!(deployment["metadata"]["namespace"], "apps");
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(deployment["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27");
    let stderr = kiln_fails(e, &["prototype", "preview", &wasm, "--replicas=-1"]);
    assert!(stderr.contains("rejected param `replicas`: -1 is not between 0 and 100"), "{stderr}");
}

#[test]
fn the_rust_scaffold_builds_and_renders() {
    renders_its_scaffold("rust");
}

#[test]
fn the_python_scaffold_builds_and_renders() {
    renders_its_scaffold("python");
}

#[test]
fn the_js_scaffold_builds_and_renders() {
    renders_its_scaffold("js");
}

#[test]
fn scaffolds_render_the_same_deployment_in_every_language() {
    let e = examples();
    let render = |lang| {
        let wasm = scaffold_wasm(lang);
        let args = ["prototype", "preview", "--component", "hello", &wasm];
        kiln_ok(e, &[&args[..], &["--image=busybox", "--replicas=3"]].concat())
    };
    let rust = render("rust");
    assert_eq!(render("python"), rust);
    assert_eq!(render("js"), rust);
}

/// A Rust project made by a copy of the `kiln` binary, in a directory with no checkout above
/// it, builds with Rust and the crates registry alone: the binary writes the SDK it carries
/// into the project. (It once wrote a path dependency into the checkout Kiln was built from.)
#[test]
fn a_rust_scaffold_builds_with_nothing_of_this_repository() {
    let root = tempfile::tempdir().unwrap();
    let kiln = root.path().join("bin/kiln");
    std::fs::create_dir_all(kiln.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_kiln-under-test"), &kiln).unwrap();
    let out = Command::new(&kiln)
        .args(["prototype", "new", "standalone", "--lang", "rust"])
        .current_dir(root.path())
        .env_remove("KILN_SDK_PATH")
        .output()
        .unwrap();
    assert!(out.status.success(), "prototype new: {}", text(&out).1);
    let project = root.path().join("standalone");
    let repo = repo().display().to_string();
    for file in crate::common::files_under(&project) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains(&repo), "{} names the checkout: {text}", file.display());
    }

    // Its target dir is kept between runs (a cache of compiled crates, not a source).
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("standalone-scaffold");
    let mut build = Command::new(project.join("build"));
    build.current_dir(&project).env("CARGO_TARGET_DIR", &target);
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "RUSTC_WRAPPER"] {
        build.env_remove(var);
    }
    let out = build.output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "building the standalone scaffold failed:\n{stdout}{stderr}");

    let wasm = project.join("standalone.wasm");
    let out = Command::new(&kiln)
        .args(["prototype", "preview", "-o", "json", "--env-namespace", "apps"])
        .arg(&wasm)
        .arg("--replicas=2")
        .env("KILN_CACHE_DIR", root.path().join("cache"))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let objects = items(&stdout);
    assert_eq!(objects[0]["kind"], "Deployment");
    assert_eq!(objects[0]["spec"]["replicas"], 2);
}

#[test]
fn a_new_project_is_not_written_over_an_existing_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    let out = crate::common::kiln(
        &["prototype", "new", "hello", "--lang", "js", "--dir", dir.path().to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("already exists and is not empty"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
