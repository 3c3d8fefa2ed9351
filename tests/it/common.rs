//! Helpers shared by the integration tests.

use std::path::Path;
use std::process::{Command, Output};

use kiln::prototype::{Environment, Info, ParamValue, Params};
use kiln::render::{Engine, EngineOptions, Error, Limits, Prototype, Rendered};

/// An engine that compiles without a cache, so tests do not depend on each other.
pub fn engine() -> Engine {
    Engine::new(EngineOptions { cache_dir: None, ..Default::default() })
}

/// Load and describe the guest at `path`.
pub fn load(engine: &Engine, path: &str) -> (Prototype, Info) {
    let wasm = fs_read(path);
    let mut prototype = engine.load(label(path), &wasm).expect("load");
    let info = prototype.describe(&Limits::default()).expect("describe");
    (prototype, info)
}

fn label(path: &str) -> &str {
    Path::new(path).file_stem().and_then(|s| s.to_str()).unwrap_or("guest")
}

/// Read a guest's wasm, failing with a hint when it was not built.
pub fn fs_read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| {
        panic!("cannot read guest {path}: {e}; it is built by kiln-guest-artifacts (`cargo build -p kiln-guest-artifacts`)")
    })
}

/// String params from pairs.
pub fn strings(pairs: &[(&str, &str)]) -> Params {
    pairs.iter().map(|(k, v)| (k.to_string(), ParamValue::String(v.to_string()))).collect()
}

/// Render with default limits in the preview environment (namespace `default`).
pub fn render(
    prototype: &Prototype,
    info: &Info,
    component: &str,
    params: &Params,
) -> Result<Rendered, Error> {
    prototype.generate(
        info,
        component,
        params,
        &Environment::preview("default"),
        &Limits::default(),
    )
}

/// Run the `kiln` binary with `args`, in `dir`, with its cache in `cache`.
pub fn kiln(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiln-under-test"))
        .args(args)
        .env("KILN_CACHE_DIR", cache)
        .env("NO_COLOR", "1")
        .output()
        .expect("run kiln")
}

/// stdout and stderr of a run, as text.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A scratch directory for `kiln init`, with its own compiled-code cache.
pub struct Scratch {
    /// The temporary directory; apps are created inside it.
    pub dir: tempfile::TempDir,
    cache: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
}

/// The kubeconfig of the test API server that `scripts/test` starts.
pub fn test_kubeconfig() -> std::path::PathBuf {
    match std::env::var_os("KILN_TEST_KUBECONFIG") {
        Some(path) if std::path::Path::new(&path).is_file() => path.into(),
        _ => panic!(
            "cluster tests need the test API server: run them with `scripts/test`, or start one \
             with `tests/envtest/build && tests/envtest/start DIR` and set \
             KILN_TEST_KUBECONFIG=DIR/kubeconfig"
        ),
    }
}

impl Scratch {
    /// A new empty scratch directory, with no kubeconfig.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("no-kubeconfig");
        Scratch { dir, cache: tempfile::tempdir().unwrap(), kubeconfig }
    }

    /// A new scratch directory whose commands use the test API server's kubeconfig.
    pub fn with_cluster() -> Self {
        Scratch { kubeconfig: test_kubeconfig(), ..Scratch::new() }
    }

    /// A new scratch directory whose commands use the kubeconfig at `kubeconfig`.
    pub fn with_kubeconfig(kubeconfig: std::path::PathBuf) -> Self {
        Scratch { kubeconfig, ..Scratch::new() }
    }

    /// Run kubectl against the test API server; require success and return stdout.
    pub fn kubectl(&self, args: &[&str]) -> String {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .expect("kubectl is installed");
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "kubectl {args:?} failed: {stderr}");
        stdout
    }

    /// Run kubectl with `stdin` as input; require success.
    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> String {
        use std::io::Write;
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("kubectl is installed");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "kubectl {args:?} failed: {stderr}");
        stdout
    }

    /// The compiled-code cache its commands use (`KILN_CACHE_DIR`).
    pub fn cache(&self) -> &Path {
        self.cache.path()
    }

    /// The directory of app `name`.
    pub fn app(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// Run `kiln` in `cwd` (relative to the scratch dir), with no kubeconfig.
    pub fn run_in(&self, cwd: &str, args: &[&str]) -> Output {
        self.command(cwd, args).output().expect("run kiln")
    }

    /// The `kiln` command that `run_in` runs, to spawn it instead.
    pub fn command(&self, cwd: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kiln-under-test"));
        command
            .args(args)
            .current_dir(self.dir.path().join(cwd))
            .env("KILN_CACHE_DIR", self.cache.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .env("NO_COLOR", "1");
        command
    }

    /// Run `kiln` in `cwd` and require success; return stdout.
    pub fn ok(&self, cwd: &str, args: &[&str]) -> String {
        let out = self.run_in(cwd, args);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "kiln {args:?} failed:\n{stderr}");
        stdout
    }

    /// Run `kiln` in `cwd` and require failure with exit code 1; return stderr.
    pub fn fails(&self, cwd: &str, args: &[&str]) -> String {
        let out = self.run_in(cwd, args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "kiln {args:?} should fail:\n{stdout}{stderr}");
        stderr
    }

    /// Every file under app `name` with its contents, to prove a command changed nothing.
    pub fn files(&self, name: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
        let root = self.app(name);
        files_under(&root)
            .into_iter()
            .map(|path| {
                let rel = path.strip_prefix(&root).unwrap().display().to_string();
                let bytes = std::fs::read(&path).unwrap_or_default();
                (rel, bytes)
            })
            .collect()
    }
}

/// Every file under `root`, recursively, in no particular order.
pub fn files_under(root: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { stack.push(path) } else { files.push(path) }
        }
    }
    files
}

/// `text` with every `sha256:<hex>` digest replaced by `sha256:<digest>`, so snapshots do not
/// change with every rebuild of a prototype (determinism is checked by comparing runs).
pub fn redact_digests(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("sha256:") {
        let (before, after) = rest.split_at(at + "sha256:".len());
        out.push_str(before);
        let hex = after.chars().take_while(char::is_ascii_hexdigit).count();
        if hex == 64 {
            out.push_str("<digest>");
            rest = &after[64..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}
