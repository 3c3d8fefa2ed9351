//! A crash in the middle of writing the app: `kiln` is SIGKILLed at a sweep of delays while it
//! rewrites many large files, and after every kill each app file is exactly its old or its new
//! version (never torn, never half-written) and the app still loads.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use kiln::app::App;

use crate::common::{Scratch, files_under};

const APP: &str = "crashy";
/// Environments, each a large file the commands below rewrite.
const ENVIRONMENTS: usize = 16;
/// Bytes of comments in each environment file (kept by every edit), so writing it takes time.
const PADDING: usize = 256 << 10;
/// Kills per command, at delays spread over its uninterrupted run time.
const KILLS: u32 = 40;

/// An app with component `web` and [`ENVIRONMENTS`] large environment files, each overriding a
/// param of `web`.
fn large_app() -> Scratch {
    let s = Scratch::new();
    s.ok(".", &["init", APP]);
    s.ok(APP, &["pkg", "install", "kubeflow/tf-serving"]);
    s.ok(APP, &["generate", "tf-serving", "web", "--name=web", "--modelPath=gs://b/m"]);
    let padding: String = (0..PADDING / 64).map(|i| format!("# {i:060}\n")).collect();
    for i in 0..ENVIRONMENTS {
        let text = format!(
            "namespace = \"default\"\nkubernetesVersion = \"1.33\"\n{padding}\n[components.web]\nmodelPath = \"gs://b/m{i}\"\n"
        );
        std::fs::write(s.app(APP).join(format!("environments/env{i}.toml")), text).unwrap();
    }
    s
}

/// Every file of the app, by path relative to it; the temp files and set-aside copies a killed
/// write leaves (hidden, so never read as app files) are left out.
fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    files_under(root)
        .into_iter()
        .filter(|path| !left_by_a_killed_write(path, &[".tmp", ".old"]))
        .map(|path| {
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let bytes = std::fs::read(&path).unwrap();
            (rel, bytes)
        })
        .collect()
}

/// Replace the app's files with `files`, removing everything else.
fn restore(root: &Path, files: &BTreeMap<String, Vec<u8>>) {
    std::fs::remove_dir_all(root).unwrap();
    for (rel, bytes) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// The app opens and every file of it reads: `kiln.toml`, the lock, each component and
/// environment.
fn assert_loads(root: &Path, context: &str) {
    let app = App::open(root).unwrap_or_else(|e| panic!("{context}: the app does not open: {e}"));
    app.installed_packages().unwrap_or_else(|e| panic!("{context}: kiln.lock: {e}"));
    for env in app.environments().unwrap() {
        app.environment(&env).unwrap_or_else(|e| panic!("{context}: environment `{env}`: {e}"));
    }
    for component in app.components().unwrap() {
        app.component(&component)
            .unwrap_or_else(|e| panic!("{context}: component `{component}`: {e}"));
    }
}

/// What a kill left.
#[derive(Debug, Default)]
struct Outcomes {
    /// Every file old.
    untouched: u32,
    /// Some files new, some old.
    partial: u32,
    /// Every file new.
    complete: u32,
    /// Kills that left a staged temp file behind: they landed in the middle of writing.
    mid_write: u32,
}

/// Sweeps of kills to try before concluding that none lands mid-write: where a kill lands is
/// timing, and one sweep on a loaded machine can miss a short write.
const SWEEPS: u32 = 4;

/// [`kill_sweep`] until a kill has landed in the middle of writing (at most [`SWEEPS`] times):
/// every kill of every sweep must leave each file old or new.
fn kill_midway(s: &Scratch, args: &[&str]) -> Outcomes {
    let root = s.app(APP);
    let original = snapshot(&root);
    let mut total = Outcomes::default();
    for _ in 0..SWEEPS {
        restore(&root, &original);
        let o = kill_sweep(s, args);
        total.untouched += o.untouched;
        total.partial += o.partial;
        total.complete += o.complete;
        total.mid_write += o.mid_write;
        if total.mid_write > 0 {
            break;
        }
    }
    assert!(total.untouched > 0 && total.complete > 0, "the kills did not span the run");
    assert!(total.mid_write > 0, "no kill landed while files were being written");
    total
}

/// Run `args` to completion once, then kill it [`KILLS`] times: half at delays spread from 0 to
/// a little past its run time, then bisecting between the latest kill that changed nothing and
/// the earliest that changed everything, which closes in on where the writing happens. After
/// each kill every file must be its old or new version and the app must load.
fn kill_sweep(s: &Scratch, args: &[&str]) -> Outcomes {
    let root = s.app(APP);
    let old = snapshot(&root);
    let t0 = Instant::now();
    s.ok(APP, args);
    let run_time = t0.elapsed();
    let new = snapshot(&root);
    assert_ne!(old, new, "kiln {args:?} changed nothing");

    let mut outcomes = Outcomes::default();
    let (mut last_untouched, mut first_complete) = (Duration::ZERO, run_time.mul_f64(1.1));
    for kill in 0..KILLS {
        let half = KILLS / 2;
        let delay = if kill < half {
            run_time.mul_f64(1.1 * f64::from(kill) / f64::from(half))
        } else {
            // Timing noise can cross the bounds; then look just around the crossing.
            let (a, b) = (last_untouched.min(first_complete), last_untouched.max(first_complete));
            (a + b) / 2
        };
        restore(&root, &old);
        let mut child = s.command(APP, args).spawn().expect("run kiln");
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        let context = format!("kiln {args:?} killed after {delay:?} ({status})");

        let now = snapshot(&root);
        let paths: std::collections::BTreeSet<&String> =
            old.keys().chain(new.keys()).chain(now.keys()).collect();
        for path in paths {
            let found = now.get(path);
            if found != old.get(path) {
                assert_eq!(found, new.get(path), "{context}: `{path}` is neither old nor new");
            }
        }
        assert_loads(&root, &context);
        if leftovers(&root) > 0 {
            outcomes.mid_write += 1;
        }
        if now == old {
            outcomes.untouched += 1;
            last_untouched = last_untouched.max(delay);
        } else if now == new {
            outcomes.complete += 1;
            first_complete = first_complete.min(delay);
        } else {
            outcomes.partial += 1;
        }
    }
    eprintln!("kiln {args:?} ({run_time:?} uninterrupted), {KILLS} kills: {outcomes:?}");
    outcomes
}

/// Hidden temp files under `root`: what a write killed after staging leaves.
fn leftovers(root: &Path) -> usize {
    files_under(root).iter().filter(|path| left_by_a_killed_write(path, &[".tmp"])).count()
}

/// Whether `path` is a hidden file ending in one of `suffixes`: a staged temp file or a
/// set-aside copy, never read as an app file.
fn left_by_a_killed_write(path: &Path, suffixes: &[&str]) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    name.starts_with('.') && suffixes.iter().any(|s| name.ends_with(s))
}

/// `component rm` rewrites every environment (dropping the component's overrides) and removes
/// the component file, in one transaction.
#[test]
fn a_kill_during_a_multi_file_write_leaves_each_file_old_or_new() {
    let s = large_app();
    kill_midway(&s, &["component", "rm", "web"]);
}

/// `param set` rewrites one large file.
#[test]
fn a_kill_during_param_set_leaves_the_file_old_or_new() {
    let s = large_app();
    kill_midway(&s, &["param", "set", "--env", "env3", "web", "modelPath", "gs://b/new"]);
}

/// Temp files a killed write left behind are not app files, and the next write succeeds.
#[test]
fn leftovers_of_a_killed_write_do_not_disturb_the_next_one() {
    let s = large_app();
    let root = s.app(APP);
    std::fs::write(root.join("environments/.env3.toml.kiln-1.tmp"), "half a fi").unwrap();
    std::fs::write(root.join("environments/.env3.toml.kiln-1.old"), "stale").unwrap();
    assert_loads(&root, "with leftovers");
    s.ok(APP, &["param", "set", "--env", "env3", "web", "modelPath", "gs://b/seven"]);
    let text = std::fs::read_to_string(root.join("environments/env3.toml")).unwrap();
    assert!(
        text.ends_with("[components.web]\nmodelPath = \"gs://b/seven\"\n"),
        "{}",
        &text[text.len() - 60..]
    );
    assert_eq!(App::open(&root).unwrap().environments().unwrap().len(), ENVIRONMENTS + 1);
}
