//! The scripts a newcomer runs first: they work, and they leave nothing behind.

use std::path::Path;
use std::process::Command;

use crate::common::text;

/// `scripts/walkthrough` (the README's first command) runs the seed's Kubeflow walkthrough end
/// to end against an API server of its own, and leaves nothing behind: no etcd, kube-apiserver
/// or kube-controller-manager running, no state directory. (Its exit trap once stopped the
/// server by a relative path after changing into the app's directory, silently, leaving about
/// 400 MB of processes running.) Runs the kiln under test rather than a release build.
#[test]
fn the_walkthrough_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the repo");
    let out = Command::new(repo.join("scripts/walkthrough"))
        .env("KILN_WALKTHROUGH_BIN", env!("CARGO_BIN_EXE_kiln-under-test"))
        .env("TMPDIR", tmp.path())
        .env("KILN_CACHE_DIR", cache.path())
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .output()
        .expect("run scripts/walkthrough");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "the walkthrough failed:\n{stdout}\n{stderr}");
    assert!(stderr.contains("the seed walkthrough ran end to end"), "{stderr}");
    assert!(stdout.contains("statefulset.apps/tf-hub"), "{stdout}");

    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().path()).collect();
    for dir in left.iter().filter(|p| p.join(".kiln-envtest").exists()) {
        // Stop what the walkthrough left running before failing, not to leave it to the machine.
        let _ = Command::new(repo.join("tests/envtest/stop")).arg(dir).status();
    }
    assert!(left.is_empty(), "left behind in TMPDIR: {left:?}");
    let tmp = tmp.path().to_string_lossy().into_owned();
    let running: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .map(|cmdline| String::from_utf8_lossy(&cmdline).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(&tmp))
        .collect();
    assert!(running.is_empty(), "still running:\n{}", running.join("\n"));
}
