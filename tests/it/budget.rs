//! The compile budget (issue 19, item 5) and the check that a package is what its manifest says
//! (item 8), through the real binary: compile bombs refused by their shape before any compile,
//! a compile stopped at its time and memory limits in its child process, and `pkg install` and
//! `pkg update` refusing with the app's files exactly as they were.

use std::path::Path;
use std::time::{Duration, Instant};

use kiln_guest_artifacts::{HOSTILE, TF_SERVING};

use crate::bombs;
use crate::common::{Scratch, text};
use crate::registries::{
    SERVING_1, init, package_source, published, published_manifest, serving_source, set_manifest,
};

/// Run `kiln` in the scratch dir under a data limit of `data_kib` (`ulimit -d`, which the
/// compile's child process would inherit as its ceiling), require exit code 1, and return
/// stderr and how long it took.
fn fails_within(s: &Scratch, cwd: &str, data_kib: u64, args: &[&str]) -> (String, Duration) {
    let kiln = s.command(cwd, args);
    let mut shell = std::process::Command::new("sh");
    shell
        .args(["-c", &format!("ulimit -d {data_kib} && exec \"$0\" \"$@\"")])
        .arg(kiln.get_program())
        .args(kiln.get_args())
        .current_dir(kiln.get_current_dir().unwrap());
    for (name, value) in kiln.get_envs() {
        shell.env(name, value.unwrap());
    }
    let started = Instant::now();
    let out = shell.output().unwrap();
    let took = started.elapsed();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "kiln {args:?} should fail:\n{stdout}{stderr}");
    (stderr, took)
}

/// Check that `stderr` is the refusal of prototype `label` at `limit`, with the hint to raise it.
fn assert_refused_at(stderr: &str, label: &str, limit: &str) {
    assert!(
        stderr.contains(&format!("prototype `{label}` exceeds its `{limit}` limit of"))
            || stderr.contains(&format!("prototype `{label}` exceeded its `{limit}` limit of")),
        "expected the `{limit}` limit: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "hint: if the prototype is trusted to need more, raise it with `--limit {limit}=<N>`"
        )),
        "{stderr}"
    );
}

/// A component of 900,000 functions in 3.6 MB: refused by its function count before any of it
/// is compiled, in well under a second and in well under 256 MiB (a compile of it, which takes
/// 5 GiB, would stop at that data limit, the ceiling of its child process, with another error).
#[test]
fn many_tiny_functions_are_refused_before_compiling() {
    let s = Scratch::new();
    let bomb =
        bombs::write(s.dir.path(), "functions.wasm", &bombs::many_functions(bombs::MANY_FUNCTIONS));
    assert!(std::fs::metadata(&bomb).unwrap().len() > 3_500_000);
    let (stderr, took) = fails_within(&s, ".", 256 << 10, &["prototype", "preview", &bomb]);
    assert_refused_at(&stderr, "functions", "compile-functions");
    assert!(stderr.contains("(it has at least 900000)"), "{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// 6 MB of blocks nested two million deep, in one function: refused at the `compile-nesting`
/// limit, as soon as the reading passes it.
#[test]
fn blocks_nested_deep_are_refused_before_compiling() {
    let s = Scratch::new();
    let bomb = bombs::write(s.dir.path(), "nested.wasm", &bombs::nested_blocks(1, bombs::NESTING));
    assert!(std::fs::metadata(&bomb).unwrap().len() > 5_900_000);
    let (stderr, took) = fails_within(&s, ".", 256 << 10, &["prototype", "preview", &bomb]);
    assert_refused_at(&stderr, "nested", "compile-nesting");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// The other two shape limits, on a real prototype with the limit lowered under what it has.
#[test]
fn code_bytes_and_locals_are_limited_too() {
    let s = Scratch::new();
    for (limit, value) in [("compile-code-bytes", "1000"), ("compile-locals", "2")] {
        let setting = format!("{limit}={value}");
        let stderr = s.fails(".", &["prototype", "describe", "--limit", &setting, TF_SERVING]);
        assert_refused_at(&stderr, "tf_serving", limit);
    }
}

/// A limit raised past what a prototype has lets it through to the compiler: here a component
/// nested deeper than the default allows, which is no prototype, so the compiler's verdict
/// comes next.
#[test]
fn a_raised_limit_lets_a_component_through() {
    let s = Scratch::new();
    let bomb = bombs::write(s.dir.path(), "deep.wasm", &bombs::nested_blocks(1, 5_000));
    let stderr = s.fails(".", &["prototype", "describe", &bomb]);
    assert_refused_at(&stderr, "deep", "compile-nesting");
    let stderr = s.fails(".", &["prototype", "describe", "--limit", "compile-nesting=5000", &bomb]);
    assert!(stderr.contains("does not implement the kiln:prototype world"), "{stderr}");
    assert!(!stderr.contains("limit"), "{stderr}");
}

/// A compile that takes longer than `compile-time-ms` is killed in its child process, and the
/// error names the limit. Nothing is cached, and with the default limit the same prototype
/// compiles and renders.
#[test]
fn a_compile_over_its_time_limit_is_stopped() {
    let s = Scratch::new();
    let args = ["prototype", "preview", "--limit", "compile-time-ms=5", TF_SERVING];
    let started = Instant::now();
    let stderr = s.fails(".", &[&args[..], &["--name=x", "--modelPath=gs://b/m"]].concat());
    assert_refused_at(&stderr, "tf_serving", "compile-time-ms");
    assert!(stderr.contains("limit of 5 milliseconds of compiling"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let shown =
        s.ok(".", &["prototype", "preview", TF_SERVING, "--name=x", "--modelPath=gs://b/m"]);
    assert!(shown.contains("kind: Deployment"), "{shown}");
}

/// A compile that needs more memory than `compile-memory` runs out in its child process (its
/// data limit), and the error names the limit.
#[test]
fn a_compile_over_its_memory_limit_is_stopped() {
    let s = Scratch::new();
    let stderr =
        s.fails(".", &["prototype", "describe", "--limit", "compile-memory=12MiB", TF_SERVING]);
    assert_refused_at(&stderr, "tf_serving", "compile-memory");
    assert!(stderr.contains("limit of 12582912 bytes of memory for compiling"), "{stderr}");
}

/// Run `kiln` in the app with `args`, require failure, check that no file of the app changed,
/// and return stderr.
fn refused(s: &Scratch, args: &[&str]) -> String {
    let before = s.files("app");
    let err = s.fails("app", args);
    assert_eq!(s.files("app"), before, "a refused command writes nothing");
    err
}

/// Replace the published serving@1.0.0's `tf-serving.wasm` with `wasm`, with the digests in
/// its manifest and the index to match, as a registry that serves it would.
fn serve_wasm(registry: &Path, wasm: &[u8]) {
    let file = registry.join(SERVING_1).join("tf-serving.wasm");
    let old = kiln::registry::digest(&std::fs::read(&file).unwrap());
    std::fs::write(&file, wasm).unwrap();
    let manifest = published_manifest(registry);
    set_manifest(registry, &manifest.replace(&old, &kiln::registry::digest(wasm)));
}

/// A package whose prototype is a compile bomb is refused at install, naming the package, the
/// prototype and the limit, and the app is unchanged.
#[test]
fn pkg_install_refuses_a_compile_bomb() {
    let s = Scratch::new();
    let registry = published(&s);
    serve_wasm(&registry, &bombs::many_functions(bombs::MANY_FUNCTIONS));
    let err = refused(&s, &["pkg", "install", "local/serving", "--yes"]);
    assert!(err.contains("package `local/serving@1.0.0`: "), "{err}");
    assert_refused_at(&err, "local/serving/tf-serving", "compile-functions");
    assert!(err.contains("nothing was installed"), "{err}");
}

/// `pkg install` takes `--limit` as the verbs that render do: a limit lowered under what a
/// prototype needs refuses it with nothing written, whether the limit is on its shape, its
/// compile's time or its compile's memory (each is compiled afresh: nothing reached the
/// cache), and the default lets it through.
#[test]
fn pkg_install_holds_prototypes_to_the_compile_budget() {
    let s = Scratch::new();
    published(&s);
    for (limit, value) in
        [("compile-functions", "10"), ("compile-time-ms", "5"), ("compile-memory", "12MiB")]
    {
        let setting = format!("{limit}={value}");
        let err = refused(&s, &["pkg", "install", "local/serving", "--yes", "--limit", &setting]);
        assert!(err.contains("package `local/serving@1.0.0`: "), "{err}");
        assert_refused_at(&err, "local/serving/tf-serving", limit);
    }
    s.ok("app", &["pkg", "install", "local/serving", "--yes"]);
    assert!(s.app("app").join("vendor/local/serving/tf-serving.wasm").is_file());
}

/// The built-in packages go through the same check.
#[test]
fn builtin_packages_are_held_to_the_compile_budget() {
    let s = Scratch::new();
    init(&s);
    let err = refused(&s, &["pkg", "install", "kubeflow/core", "--limit", "compile-functions=10"]);
    assert!(err.contains("package `kubeflow/core@"), "{err}");
    assert_refused_at(&err, "kubeflow/core/core", "compile-functions");
    s.ok("app", &["pkg", "install", "kubeflow/core"]);
}

/// `pkg update` checks a new version as install does, before anything is written. Code in the
/// cache is not compiled again, so not held to the budget again: 1.1.0 has the same wasm as
/// 1.0.0, whose optimised code `pkg install` cached, and only `--no-cache` compiles it anew.
#[test]
fn pkg_update_holds_prototypes_to_the_compile_budget() {
    let s = Scratch::new();
    published(&s);
    s.ok("app", &["pkg", "install", "local/serving", "--yes"]);
    let src = serving_source(&s, "1.1.0");
    s.ok(".", &["pkg", "publish", &src, "--to", "registry"]);
    let lowered = ["pkg", "update", "--limit", "compile-locals=2"];
    let err = refused(&s, &[&lowered[..], &["--no-cache"]].concat());
    assert!(err.contains("package `local/serving@1.1.0`: "), "{err}");
    assert_refused_at(&err, "local/serving/tf-serving", "compile-locals");
    s.ok("app", &["pkg", "update"]);
    let lock = std::fs::read_to_string(s.app("app").join("kiln.lock")).unwrap();
    assert!(lock.contains("version = \"1.1.0\""), "{lock}");
}

/// A registry whose manifest installs a prototype under another name than its `describe()`
/// gives: `pkg publish` cannot make one, a registry can serve one, and install refuses it.
#[test]
fn a_prototype_installed_under_another_name_is_refused() {
    let s = Scratch::new();
    package_source(&s, "src-web", "web", "1.0.0", &[("hostile", HOSTILE)]);
    s.ok(".", &["pkg", "publish", "src-web", "--to", "registry"]);
    // Rename the prototype `web`, as a registry may: the file, the manifest and the index.
    let registry = s.dir.path().join("registry");
    let dir = registry.join("packages/web/1.0.0");
    std::fs::rename(dir.join("hostile.wasm"), dir.join("web.wasm")).unwrap();
    let manifest = std::fs::read_to_string(dir.join("kiln-package.toml")).unwrap();
    let manifest = manifest
        .replace("name = \"hostile\"", "name = \"web\"")
        .replace("hostile.wasm", "web.wasm");
    assert!(manifest.contains("name = \"web\"\nfile = \"web.wasm\""), "{manifest}");
    std::fs::write(dir.join("kiln-package.toml"), &manifest).unwrap();
    let index = std::fs::read_to_string(registry.join("index.toml")).unwrap();
    let start = index.find("sha256:").unwrap();
    let digest = kiln::registry::digest(manifest.as_bytes());
    std::fs::write(
        registry.join("index.toml"),
        format!("{}{digest}{}", &index[..start], &index[start + 71..]),
    )
    .unwrap();

    init(&s);
    s.ok("app", &["registry", "add", "local", "../registry"]);
    let err = refused(&s, &["pkg", "install", "local/web", "--yes"]);
    assert!(
        err.contains("package `local/web@1.0.0`: prototype `web` describes itself as `hostile`; nothing was installed"),
        "{err}"
    );
    assert!(
        err.contains("hint: the package's kiln-package.toml does not say what its prototypes are"),
        "{err}"
    );
}

/// A prototype whose `describe()` asks to emit more than the manifest declares (and so more
/// than the user is asked to grant) is refused at install.
#[test]
fn a_prototype_asking_for_more_than_its_manifest_declares_is_refused() {
    let s = Scratch::new();
    let registry = published(&s);
    let manifest = published_manifest(&registry);
    assert!(manifest.contains("other-namespaces = true"), "{manifest}");
    set_manifest(
        &registry,
        &manifest.replace("other-namespaces = true", "other-namespaces = false"),
    );
    let err = refused(&s, &["pkg", "install", "local/serving", "--yes"]);
    assert!(
        err.contains(
            "package `local/serving@1.0.0`: prototype `tf-serving` asks to emit what \
             kiln-package.toml does not declare:\n  - objects in namespaces other than the \
             environment's\nnothing was installed"
        ),
        "{err}"
    );
}

/// The child process's verb is no part of Kiln's interface: not in help, not in completions.
#[test]
fn the_compile_verb_is_hidden() {
    let s = Scratch::new();
    let help = s.ok(".", &["--help"]);
    assert!(help.contains("completions") && !help.contains("__compile"), "{help}");
    let bash = s.ok(".", &["completions", "bash"]);
    assert!(bash.contains("completions") && !bash.contains("__compile"));
    let limits = s.ok(".", &["pkg", "install", "--help"]);
    for name in [
        "compile-functions",
        "compile-code-bytes",
        "compile-locals",
        "compile-nesting",
        "compile-time-ms",
        "compile-memory",
    ] {
        assert!(limits.contains(name), "`--limit` lists {name}: {limits}");
    }
}
