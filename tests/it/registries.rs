//! Registries and packages end to end through the CLI: publish to a directory, a git
//! repository and a real OCI registry on loopback, install, render, update, remove; the lock
//! file's digests and grants; tampering, lying indexes and unsafe package contents, each
//! refused with nothing written; and a permission denied at render.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{Scratch, text};

/// Write a package source directory `src` (relative to the scratch dir) for `name@version`
/// with `prototypes` as (name, wasm path).
pub(crate) fn package_source(
    s: &Scratch,
    src: &str,
    name: &str,
    version: &str,
    prototypes: &[(&str, &str)],
) {
    let dir = s.dir.path().join(src);
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = format!(
        "name = \"{name}\"\nversion = \"{version}\"\ndescription = \"The {name} package\"\n"
    );
    for (proto, wasm) in prototypes {
        text.push_str(&format!("[[prototypes]]\nname = \"{proto}\"\nfile = \"{wasm}\"\n"));
    }
    std::fs::write(dir.join("kiln-package.toml"), text).unwrap();
}

pub(crate) fn serving_source(s: &Scratch, version: &str) -> String {
    let src = format!("src-serving-{version}");
    package_source(
        s,
        &src,
        "serving",
        version,
        &[("tf-serving", kiln_guest_artifacts::TF_SERVING)],
    );
    src
}

pub(crate) fn hostile_source(s: &Scratch) -> String {
    package_source(
        s,
        "src-hostile",
        "hostile",
        "1.0.0",
        &[("hostile", kiln_guest_artifacts::HOSTILE)],
    );
    "src-hostile".into()
}

pub(crate) fn init(s: &Scratch) {
    s.ok(".", &["init", "app", "--namespace", "dev"]);
}

fn lock(s: &Scratch) -> String {
    std::fs::read_to_string(s.app("app").join("kiln.lock")).unwrap()
}

/// An app with kubeflow/tf-serving installed and one component, `web`, of it.
fn serving_app() -> Scratch {
    let s = Scratch::new();
    init(&s);
    s.ok("app", &["pkg", "install", "kubeflow/tf-serving"]);
    s.ok("app", &["generate", "tf-serving", "web", "--name=web", "--modelPath=gs://b/m"]);
    s
}

#[test]
fn directory_registry_round_trip() {
    let s = Scratch::new();
    let src = serving_source(&s, "1.0.0");
    let out = s.run_in(".", &["pkg", "publish", &src, "--to", "registry"]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("published serving@1.0.0"), "{stderr}");
    assert!(stderr.contains("objects in namespaces other than the environment's"), "{stderr}");
    let registry = s.dir.path().join("registry");
    assert!(registry.join("packages/serving/1.0.0/tf-serving.wasm").is_file());
    // Publishing the same content again is a no-op; other content under that version is refused.
    s.ok(".", &["pkg", "publish", &src, "--to", "registry"]);

    init(&s);
    s.ok("app", &["registry", "add", "local", "../registry"]);
    let listed = s.ok("app", &["registry", "list"]);
    assert!(listed.contains("local") && listed.contains("directory"), "{listed}");
    let described = s.ok("app", &["registry", "describe", "local"]);
    assert!(described.contains("local/serving") && described.contains("1.0.0"), "{described}");
    let search = s.ok("app", &["pkg", "search", "serving"]);
    assert!(search.contains("local/serving"), "{search}");

    // Without --yes and without a terminal, permissions are not granted and nothing changes.
    let before = s.files("app");
    let err = s.fails("app", &["pkg", "install", "local/serving"]);
    assert!(err.contains("asks to emit") && err.contains("--yes"), "{err}");
    assert_eq!(s.files("app"), before, "a refused install writes nothing");

    s.ok("app", &["pkg", "install", "local/serving@1.0.0", "--yes"]);
    let lock_text = lock(&s);
    assert!(lock_text.contains("registry = \"local\""), "{lock_text}");
    assert!(lock_text.contains("source = \"dir:"), "{lock_text}");
    assert!(lock_text.contains("other-namespaces = true"), "{lock_text}");
    assert!(lock_text.contains("\"tf-serving.wasm\" = \"sha256:"), "{lock_text}");
    let installed = s.ok("app", &["pkg", "list", "--installed"]);
    assert!(installed.contains("local/serving") && installed.contains("1.0.0"), "{installed}");
    let described = s.ok("app", &["pkg", "describe", "local/serving"]);
    assert!(
        described.contains("granted:") && described.contains("tf-serving  sha256:"),
        "{described}"
    );

    s.ok(
        "app",
        &[
            "generate",
            "local/serving/tf-serving",
            "inception",
            "--name=inception",
            "--modelPath=gs://b/m",
        ],
    );
    let shown = s.ok("app", &["show", "default"]);
    assert!(shown.contains("kind: Deployment") && shown.contains("name: inception"), "{shown}");
    s.ok("app", &["pkg", "verify"]);

    // A new version, then update.
    let src2 = serving_source(&s, "1.1.0");
    s.ok(".", &["pkg", "publish", &src2, "--to", "registry"]);
    package_source(
        &s,
        "src-other",
        "serving",
        "1.1.0",
        &[("hostile", kiln_guest_artifacts::HOSTILE)],
    );
    let err = s.fails(".", &["pkg", "publish", "src-other", "--to", "registry"]);
    assert!(err.contains("already published with different content"), "{err}");
    let out = s.ok("app", &["pkg", "update"]);
    assert!(out.is_empty(), "update reports on stderr");
    assert!(lock(&s).contains("version = \"1.1.0\""), "{}", lock(&s));
    let listed = s.ok("app", &["pkg", "list"]);
    assert!(listed.contains("local/serving*"), "{listed}");

    // The package cannot go while a component uses it, nor the registry while a package does.
    let err = s.fails("app", &["pkg", "rm", "local/serving"]);
    assert!(err.contains("used by `inception`"), "{err}");
    let err = s.fails("app", &["registry", "rm", "local"]);
    assert!(err.contains("used by `local/serving`"), "{err}");
    s.ok("app", &["component", "rm", "inception"]);
    s.ok("app", &["pkg", "rm", "local/serving"]);
    assert!(!s.app("app").join("vendor/local/serving/tf-serving.wasm").exists());
    s.ok("app", &["registry", "rm", "local"]);
    assert!(!std::fs::read_to_string(s.app("app").join("kiln.toml")).unwrap().contains("local"));
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=kiln", "-c", "user.email=kiln@example.invalid"])
        .args(["-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git is installed");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "git {args:?} failed: {stderr}");
    stdout.trim().to_string()
}

/// A git repository `repo` in the scratch dir with serving 1.0.0 published into its work tree
/// (not committed yet).
fn git_registry(s: &Scratch) -> PathBuf {
    let repo = s.dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "--quiet"]);
    let src = serving_source(s, "1.0.0");
    s.ok(".", &["pkg", "publish", &src, "--to", "repo"]);
    repo
}

#[test]
fn git_registry_pins_a_ref_and_records_the_commit() {
    let s = Scratch::new();
    let repo = git_registry(&s);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "--quiet", "-m", "serving 1.0.0"]);
    git(&repo, &["tag", "v1"]);
    let v1 = git(&repo, &["rev-parse", "HEAD"]);
    let src = serving_source(&s, "2.0.0");
    s.ok(".", &["pkg", "publish", &src, "--to", "repo"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "--quiet", "-m", "serving 2.0.0"]);

    init(&s);
    let url = format!("file://{}", repo.display());
    s.ok("app", &["registry", "add", "pinned", &url, "--ref", "v1"]);
    s.ok("app", &["registry", "add", "head", &format!("git+{url}")]);
    let toml = std::fs::read_to_string(s.app("app").join("kiln.toml")).unwrap();
    assert!(toml.contains("ref = \"v1\""), "{toml}");
    let described = s.ok("app", &["registry", "describe", "pinned"]);
    assert!(described.contains("1.0.0") && !described.contains("2.0.0"), "{described}");
    let described = s.ok("app", &["registry", "describe", "head"]);
    assert!(described.contains("2.0.0"), "{described}");

    s.ok("app", &["pkg", "install", "pinned/serving", "--yes"]);
    let lock_text = lock(&s);
    assert!(lock_text.contains(&format!("source = \"git+{url}#{v1}\"")), "{lock_text}");
    assert!(lock_text.contains("version = \"1.0.0\""), "{lock_text}");
    s.ok("app", &["generate", "tf-serving", "web", "--name=web", "--modelPath=gs://b/m"]);
    s.ok("app", &["show", "default"]);

    let err = s.fails("app", &["registry", "add", "nowhere", "file:///does/not/exist.git"]);
    assert!(err.contains("registry `nowhere`") && err.contains("git fetch failed"), "{err}");
    let err = s.fails("app", &["registry", "add", "badref", &url, "--ref", "v9"]);
    assert!(err.contains("no branch, tag or commit `v9`"), "{err}");
}

#[test]
fn a_changed_file_in_vendor_is_caught_before_any_guest_code_runs() {
    let s = serving_app();
    let wasm = s.app("app").join("vendor/kubeflow/tf-serving/tf-serving.wasm");
    // Swap in another valid prototype: only the digest can tell.
    std::fs::copy(kiln_guest_artifacts::HOSTILE, &wasm).unwrap();
    let err = s.fails("app", &["show", "default"]);
    assert!(
        err.contains(
            "vendor/kubeflow/tf-serving/tf-serving.wasm does not match its digest in kiln.lock"
        ),
        "{err}"
    );
    let out = s.run_in("app", &["pkg", "verify"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("kubeflow/tf-serving: vendor/kubeflow/tf-serving/tf-serving.wasm"),
        "{stderr}"
    );
    s.ok("app", &["pkg", "install", "kubeflow/tf-serving", "--force"]);
    s.ok("app", &["pkg", "verify"]);

    // Editing the lock to match a changed file is caught too: the package's own manifest,
    // itself verified, lists the original digest.
    let hostile = std::fs::read(kiln_guest_artifacts::HOSTILE).unwrap();
    std::fs::write(&wasm, &hostile).unwrap();
    let lock_path = s.app("app").join("kiln.lock");
    let original = std::fs::read_to_string(&lock_path).unwrap();
    let line = original.lines().find(|l| l.starts_with("\"tf-serving.wasm\"")).unwrap();
    let forged = original
        .replace(line, &format!("\"tf-serving.wasm\" = \"{}\"", kiln::registry::digest(&hostile)));
    std::fs::write(&lock_path, forged).unwrap();
    let err = s.fails("app", &["show", "default"]);
    assert!(err.contains("differs from the one in the package's kiln-package.toml"), "{err}");
}

/// A warm run does not read installed wasm unchanged since it last matched the lock
/// (`kiln::checked`); a change in place that keeps the file's size and modification time is
/// still caught, because its status-change time moves.
#[test]
fn a_file_changed_in_place_after_warm_runs_is_caught() {
    use kiln::app::App;
    use kiln::checked::Checked;
    let s = serving_app();
    // Files changed less than this long ago are checked but not remembered.
    std::thread::sleep(kiln::checked::SETTLED + std::time::Duration::from_millis(100));
    let shown = s.ok("app", &["show", "default"]);

    let app = App::find(&s.app("app")).unwrap();
    let installed = app.installed().unwrap();
    let prototype = installed.find_prototype("tf-serving").unwrap();
    let check = |memo: &mut Checked| app.check_prototype(&installed, &prototype, Some(memo));
    let mut memo = Checked::open(s.cache(), app.dir().root());
    let (wasm, _) = check(&mut memo).unwrap();
    assert!(wasm.bytes.is_none(), "`kiln show` remembered the file as checked");
    assert_eq!(s.ok("app", &["show", "default"]), shown, "a warm run renders the same");

    let path = s.app("app").join("vendor/kubeflow/tf-serving/tf-serving.wasm");
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(modified).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), modified);

    let err = check(&mut Checked::open(s.cache(), app.dir().root())).unwrap_err().to_string();
    assert!(err.contains("does not match its digest in kiln.lock"), "{err}");
    let err = s.fails("app", &["show", "default"]);
    assert!(err.contains("tf-serving.wasm does not match its digest in kiln.lock"), "{err}");
}

/// A published directory registry in the scratch dir, with serving 1.0.0.
pub(crate) fn published(s: &Scratch) -> PathBuf {
    let src = serving_source(s, "1.0.0");
    s.ok(".", &["pkg", "publish", &src, "--to", "registry"]);
    init(s);
    s.ok("app", &["registry", "add", "local", "../registry"]);
    s.dir.path().join("registry")
}

/// Install `local/serving`, require failure, check that nothing in the app changed, and return
/// the error.
pub(crate) fn install_fails(s: &Scratch) -> String {
    let before = s.files("app");
    let err = s.fails("app", &["pkg", "install", "local/serving", "--yes"]);
    assert_eq!(s.files("app"), before, "a refused install writes nothing");
    err
}

/// Where [`published`] put serving@1.0.0 in its registry.
pub(crate) const SERVING_1: &str = "packages/serving/1.0.0";

/// The published serving@1.0.0's manifest.
pub(crate) fn published_manifest(registry: &Path) -> String {
    std::fs::read_to_string(registry.join(SERVING_1).join("kiln-package.toml")).unwrap()
}

/// Replace the published serving@1.0.0's manifest with `text`, and its digest in the index,
/// as a registry that serves other contents would.
pub(crate) fn set_manifest(registry: &Path, text: &str) {
    std::fs::write(registry.join(SERVING_1).join("kiln-package.toml"), text).unwrap();
    let index = registry.join("index.toml");
    let old = std::fs::read_to_string(&index).unwrap();
    let start = old.find("sha256:").unwrap();
    let digest = kiln::registry::digest(text.as_bytes());
    std::fs::write(&index, format!("{}{digest}{}", &old[..start], &old[start + 71..])).unwrap();
}

#[test]
fn an_index_that_lies_about_a_digest_is_refused() {
    let s = Scratch::new();
    let registry = published(&s);
    let index = registry.join("index.toml");
    let text = std::fs::read_to_string(&index).unwrap();
    let start = text.find("sha256:").unwrap();
    let lie = format!("{}sha256:{}{}", &text[..start], "0".repeat(64), &text[start + 71..]);
    std::fs::write(&index, lie).unwrap();
    let err = install_fails(&s);
    assert!(
        err.contains("kiln-package.toml has digest sha256:")
            && err.contains("but the index says sha256:0000"),
        "{err}"
    );
}

#[test]
fn a_wasm_that_differs_from_its_manifest_is_refused() {
    let s = Scratch::new();
    let registry = published(&s);
    std::fs::copy(
        kiln_guest_artifacts::HOSTILE,
        registry.join("packages/serving/1.0.0/tf-serving.wasm"),
    )
    .unwrap();
    let err = install_fails(&s);
    assert!(
        err.contains("tf-serving.wasm has digest") && err.contains("but kiln-package.toml says"),
        "{err}"
    );
}

#[test]
fn unsafe_package_contents_are_refused() {
    let s = Scratch::new();
    let registry = published(&s);
    let pkg = registry.join(SERVING_1);
    let manifest = published_manifest(&registry);

    // A file name that climbs out of the package.
    set_manifest(
        &registry,
        &manifest.replace("file = \"tf-serving.wasm\"", "file = \"../../../../etc/passwd\""),
    );
    let err = install_fails(&s);
    assert!(err.contains("must be `tf-serving.wasm`"), "{err}");

    // An absolute path.
    set_manifest(
        &registry,
        &manifest.replace("file = \"tf-serving.wasm\"", "file = \"/etc/passwd\""),
    );
    let err = install_fails(&s);
    assert!(err.contains("must be `tf-serving.wasm`"), "{err}");

    // A symlink where the wasm should be.
    set_manifest(&registry, &manifest);
    let wasm = pkg.join("tf-serving.wasm");
    let real = registry.join("elsewhere.wasm");
    std::fs::rename(&wasm, &real).unwrap();
    std::os::unix::fs::symlink(&real, &wasm).unwrap();
    let err = install_fails(&s);
    assert!(
        err.contains("refusing packages/serving/1.0.0/tf-serving.wasm")
            && err.contains("is a symlink"),
        "{err}"
    );

    // A huge file (sparse, so the test stays cheap): refused by size before it is read.
    std::fs::remove_file(&wasm).unwrap();
    let huge = std::fs::File::create(&wasm).unwrap();
    huge.set_len(kiln::registry::MAX_WASM_BYTES + 1).unwrap();
    let err = install_fails(&s);
    assert!(err.contains("over the limit of 134217728"), "{err}");

    // A malformed manifest names the package and the file.
    set_manifest(&registry, "name = \"serving\"\nversion = 3\n");
    let err = install_fails(&s);
    assert!(err.contains("package `local/serving@1.0.0`: kiln-package.toml"), "{err}");
}

#[test]
fn a_symlink_in_a_git_registry_is_refused() {
    let s = Scratch::new();
    let repo = git_registry(&s);
    let wasm = repo.join("packages/serving/1.0.0/tf-serving.wasm");
    std::fs::remove_file(&wasm).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &wasm).unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "--quiet", "-m", "a symlink"]);
    init(&s);
    s.ok("app", &["registry", "add", "g", &format!("file://{}", repo.display())]);
    let before = s.files("app");
    let err = s.fails("app", &["pkg", "install", "g/serving", "--yes"]);
    assert_eq!(s.files("app"), before);
    assert!(
        err.contains("refusing packages/serving/1.0.0/tf-serving.wasm: it is a symlink"),
        "{err}"
    );
}

#[test]
fn objects_outside_the_grant_are_refused_at_render() {
    let s = Scratch::new();
    let src = hostile_source(&s);
    s.ok(".", &["pkg", "publish", &src, "--to", "registry"]);
    init(&s);
    s.ok("app", &["registry", "add", "local", "../registry"]);
    // `hostile` asks for nothing, so it installs without a prompt.
    s.ok("app", &["pkg", "install", "local/hostile"]);
    s.ok("app", &["generate", "hostile", "evil", "--attack=forge"]);
    let before = s.files("app");
    let err = s.fails("app", &["show", "default"]);
    assert_eq!(s.files("app"), before);
    assert!(err.contains("objects outside their package's granted permissions"), "{err}");
    assert!(
        err.contains(
            "component `evil` (package `local/hostile`) renders `ClusterRoleBinding/hostile-admin`, \
             which needs permission for the cluster-scoped kind \
             `rbac.authorization.k8s.io/ClusterRoleBinding` and RBAC objects"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "renders `Secret/kube-system/planted`, which needs permission for other namespaces"
        ),
        "{err}"
    );
    assert!(err.contains("kiln pkg describe local/hostile"), "{err}");
    // A prototype file of the app itself is the user's own code and is not restricted.
    std::fs::copy(kiln_guest_artifacts::HOSTILE, s.app("app").join("own.wasm")).unwrap();
    s.ok("app", &["component", "rm", "evil"]);
    s.ok("app", &["generate", "own.wasm", "mine", "--attack=forge"]);
    let shown = s.ok("app", &["show", "default"]);
    assert!(shown.contains("ClusterRoleBinding"), "{shown}");
}

/// A Docker distribution registry on loopback (Debian's `docker-registry`), stopped on drop.
struct OciRegistry {
    child: std::process::Child,
    _storage: tempfile::TempDir,
    host: String,
}

impl OciRegistry {
    fn start() -> Self {
        let binary = Path::new("/usr/bin/docker-registry");
        assert!(
            binary.is_file(),
            "the OCI tests need Debian's docker-registry: `apt-get install docker-registry` \
             (scripts/test installs it)"
        );
        let storage = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let host = format!("127.0.0.1:{port}");
        let config = storage.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\n",
                storage.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let registry = OciRegistry { child, _storage: storage, host };
        for _ in 0..100 {
            if std::net::TcpStream::connect(&registry.host).is_ok() {
                return registry;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("docker-registry did not start on {}", registry.host);
    }
}

impl Drop for OciRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn oci_registry_round_trip() {
    let registry = OciRegistry::start();
    let s = Scratch::new();
    let uri = format!("oci://{}/kiln", registry.host);
    let src = serving_source(&s, "1.0.0");
    let out = s.run_in(".", &["pkg", "publish", &src, "--to", &uri]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "published serving@1.0.0 to {}/kiln/serving:1.0.0",
            uri.trim_end_matches("/kiln")
        )),
        "{stderr}"
    );
    s.ok(".", &["pkg", "publish", &src, "--to", &uri]);
    let src = hostile_source(&s);
    s.ok(".", &["pkg", "publish", &src, "--to", &uri]);

    init(&s);
    s.ok("app", &["registry", "add", "oci", &uri]);
    let described = s.ok("app", &["registry", "describe", "oci"]);
    assert!(described.contains("oci/serving") && described.contains("oci/hostile"), "{described}");
    s.ok("app", &["pkg", "install", "oci/serving", "--yes"]);
    let lock_text = lock(&s);
    assert!(
        lock_text.contains(&format!("source = \"oci://{}/kiln/serving@sha256:", registry.host)),
        "{lock_text}"
    );
    s.ok("app", &["generate", "tf-serving", "web", "--name=web", "--modelPath=gs://b/m"]);
    let shown = s.ok("app", &["show", "default"]);
    assert!(shown.contains("name: web"), "{shown}");
    // The same bytes as the directory registry would hold: the digest in the lock is the
    // digest of the wasm built with Kiln.
    let wasm = std::fs::read(kiln_guest_artifacts::TF_SERVING).unwrap();
    assert!(lock_text.contains(&kiln::registry::digest(&wasm)), "{lock_text}");

    let err =
        s.fails("app", &["registry", "add", "empty", &format!("oci://{}/nothing", registry.host)]);
    assert!(err.contains("not a Kiln registry yet"), "{err}");
}

#[test]
fn an_oci_artifact_with_a_path_for_a_layer_title_is_refused() {
    use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
    use oci_client::{Client, Reference, secrets::RegistryAuth};

    let registry = OciRegistry::start();
    let s = Scratch::new();
    let uri = format!("oci://{}/kiln", registry.host);
    let src = serving_source(&s, "1.0.0");
    s.ok(".", &["pkg", "publish", &src, "--to", &uri]);

    // Overwrite the published tag with an artifact whose extra layer is titled with a path. The
    // manifest layer is the genuine one, so the index's digest still matches.
    let published = s.dir.path().join("dir-registry");
    s.ok(".", &["pkg", "publish", &src, "--to", published.to_str().unwrap()]);
    let manifest =
        std::fs::read(published.join("packages/serving/1.0.0/kiln-package.toml")).unwrap();
    let wasm = std::fs::read(published.join("packages/serving/1.0.0/tf-serving.wasm")).unwrap();
    let title = |name: &str| {
        Some(std::collections::BTreeMap::from([(
            "org.opencontainers.image.title".to_string(),
            name.to_string(),
        )]))
    };
    let layers = vec![
        ImageLayer::new(
            manifest,
            "application/vnd.kiln.package.v1+toml".into(),
            title("kiln-package.toml"),
        ),
        ImageLayer::new(wasm.clone(), "application/wasm".into(), title("tf-serving.wasm")),
        ImageLayer::new(wasm, "application/wasm".into(), title("../../.bashrc")),
    ];
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::new(ClientConfig {
        protocol: ClientProtocol::HttpsExcept(vec![registry.host.clone()]),
        ..Default::default()
    });
    let reference =
        Reference::with_tag(registry.host.clone(), "kiln/serving".into(), "1.0.0".into());
    let config = Config::new(b"{}".to_vec(), "application/vnd.wasm.config.v0+json".into(), None);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(client.push(&reference, &layers, config, &RegistryAuth::Anonymous, None))
        .unwrap();

    init(&s);
    s.ok("app", &["registry", "add", "oci", &uri]);
    let before = s.files("app");
    let err = s.fails("app", &["pkg", "install", "oci/serving", "--yes"]);
    assert_eq!(s.files("app"), before);
    assert!(
        err.contains("refusing ../../.bashrc: a layer's title must be a plain file name"),
        "{err}"
    );
}

/// The built-in packages declare their permissions in Kiln's own table (so installing them runs
/// no guest code); that table must say exactly what their prototypes' `describe()` asks for.
#[test]
fn builtin_packages_declare_what_their_prototypes_ask_for() {
    use kiln::registry::{PermissionSet, builtin_packages, builtin_wasm};
    let engine = crate::common::engine();
    for package in builtin_packages() {
        let mut asked = PermissionSet::default();
        for name in package.prototypes {
            let wasm = builtin_wasm(name).expect("embedded");
            let mut prototype = engine.load(name, wasm).expect("load");
            let info = prototype.describe(&kiln::render::Limits::default()).expect("describe");
            asked = asked.union(&PermissionSet::from_permissions(&info.permissions));
        }
        assert_eq!(package.manifest().permissions, asked, "package `{}`", package.name);
    }
}

/// `pkg install` compiles and describes a package's prototypes before it writes anything, to
/// check them against the manifest. A prototype that does not compile cannot be checked: the
/// package is refused, naming it, and nothing is written. (It used to be installed all the
/// same, with a warning: then a registry could install a prototype under any name.)
#[test]
fn a_prototype_that_does_not_compile_is_refused_at_install() {
    let s = Scratch::new();
    let registry = published(&s);
    let wasm = registry.join(SERVING_1).join("tf-serving.wasm");
    let old_digest = kiln::registry::digest(&std::fs::read(&wasm).unwrap());
    let garbage = b"\0asm\x0d\0\x01\0 this is no component".to_vec();
    std::fs::write(&wasm, &garbage).unwrap();
    let manifest = published_manifest(&registry);
    assert!(manifest.contains(&old_digest), "{manifest}");
    set_manifest(&registry, &manifest.replace(&old_digest, &kiln::registry::digest(&garbage)));

    let err = install_fails(&s);
    assert!(
        err.contains(
            "package `local/serving@1.0.0`: cannot compile prototype `local/serving/tf-serving`"
        ),
        "{err}"
    );
    assert!(err.contains("nothing was installed"), "{err}");
    assert!(!s.app("app").join("vendor/local/serving").exists());
}
