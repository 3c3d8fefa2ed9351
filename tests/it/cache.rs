//! The compiled-code cache: a second load comes from disk, and a corrupt or foreign entry is
//! rebuilt rather than trusted.

use kiln::render::{CodeSource, Engine, EngineOptions, Tier};
use kiln_guest_artifacts::TF_SERVING;
use sha2::{Digest, Sha256};

use crate::common::{Scratch, fs_read, render, strings};

fn engine_with_cache(dir: &std::path::Path) -> Engine {
    Engine::new(EngineOptions { cache_dir: Some(dir.to_path_buf()), ..Default::default() })
}

/// The files in `dir` (not the memo directories beside compiled code), sorted.
fn cached_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path());
    let mut files: Vec<_> = entries.filter(|path| path.is_file()).collect();
    files.sort();
    files
}

fn load_and_render(engine: &Engine) -> CodeSource {
    load_render_tier(engine).0
}

/// Where tf-serving's code came from, its tier and what it rendered.
fn load_render_tier(engine: &Engine) -> (CodeSource, Tier, Vec<serde_json::Value>) {
    let mut prototype = engine.load("tf-serving", &fs_read(TF_SERVING)).unwrap();
    let info = prototype.describe(&Default::default()).unwrap();
    let params = strings(&[("name", "m"), ("modelPath", "gs://b/m")]);
    let rendered =
        render(&prototype, &info, "m", &params).expect("renders from whatever code was loaded");
    (prototype.code_source(), prototype.tier(), rendered.objects)
}

fn precompile(engine: &Engine) -> bool {
    let wasm = fs_read(TF_SERVING);
    engine.precompile("tf-serving", &wasm, Sha256::digest(&wasm).into()).unwrap()
}

#[test]
fn precompiled_optimised_code_is_preferred_and_renders_the_same_objects() {
    let dir = tempfile::tempdir().unwrap();
    let uncached = Engine::new(EngineOptions { cache_dir: None, ..Default::default() });
    let (source, tier, quick) = load_render_tier(&uncached);
    assert_eq!((source, tier), (CodeSource::Compiled, Tier::Quick), "a miss compiles quickly");

    assert!(precompile(&engine_with_cache(dir.path())), "compiled into the cache");
    assert!(!precompile(&engine_with_cache(dir.path())), "already there: not compiled again");
    assert_eq!(cached_files(dir.path()).len(), 1);
    let engine = engine_with_cache(dir.path());
    let (source, tier, optimised) = load_render_tier(&engine);
    assert_eq!((source, tier), (CodeSource::Cached, Tier::Optimised));
    assert_eq!(cached_files(dir.path()).len(), 1, "no quick code compiled beside it");
    assert_eq!(optimised, quick, "both tiers render the same objects");
    assert!(engine.take_notes().is_empty());
    assert!(!precompile(&Engine::new(EngineOptions { cache_dir: None, ..Default::default() })));
}

#[test]
fn broken_optimised_code_is_passed_over_for_quick_code() {
    let dir = tempfile::tempdir().unwrap();
    precompile(&engine_with_cache(dir.path()));
    let entry = cached_files(dir.path()).pop().unwrap();
    let mut corrupt = std::fs::read(&entry).unwrap();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    std::fs::write(&entry, corrupt).unwrap();

    let engine = engine_with_cache(dir.path());
    let (source, tier, _) = load_render_tier(&engine);
    assert_eq!((source, tier), (CodeSource::Compiled, Tier::Quick));
    let notes = engine.take_notes();
    assert!(notes.iter().any(|n| n.contains("not using the optimised code")), "{notes:?}");
    assert_eq!(cached_files(dir.path()).len(), 2, "quick code cached beside the broken entry");
    let (source, tier, _) = load_render_tier(&engine_with_cache(dir.path()));
    assert_eq!((source, tier), (CodeSource::Cached, Tier::Quick));

    let engine = engine_with_cache(dir.path());
    assert!(precompile(&engine), "compiling ahead of time mends it");
    assert!(engine.take_notes().is_empty(), "without a note: it is the remedy");
    let (source, tier, _) = load_render_tier(&engine_with_cache(dir.path()));
    assert_eq!((source, tier), (CodeSource::Cached, Tier::Optimised));
}

/// `kiln pkg install` leaves optimised code of every prototype of the package in the cache,
/// and renders use it without compiling anything.
#[test]
fn pkg_install_compiles_its_prototypes_ahead_of_time() {
    let s = Scratch::new();
    s.ok(".", &["init", "app"]);
    s.ok("app", &["pkg", "install", "kubeflow/core"]);
    let compiled = cached_files(s.cache());
    assert_eq!(compiled.len(), 3, "core, nfs and tf-job: {compiled:?}");
    s.ok("app", &["generate", "nfs", "nfs"]);
    s.ok("app", &["env", "add", "cloud"]);
    let (_, stderr) = crate::common::text(&s.run_in("app", &["show", "cloud", "-v"]));
    assert_eq!(cached_files(s.cache()), compiled, "nothing compiled for the render: {stderr}");
    let describe =
        || crate::common::text(&s.run_in("app", &["prototype", "describe", "nfs", "-v"])).1;
    let stderr = describe();
    assert!(stderr.contains("Cached Optimised code"), "{stderr}");

    // A cache that lost it (or a fresh clone of the app): a render compiles quick code, and
    // `pkg update` of an up-to-date package compiles the optimised code again.
    std::fs::remove_dir_all(s.cache()).unwrap();
    assert!(describe().contains("Compiled Quick code"));
    s.ok("app", &["pkg", "update"]);
    let stderr = describe();
    assert!(stderr.contains("Cached Optimised code"), "{stderr}");
}

#[test]
fn second_load_is_served_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(load_and_render(&engine_with_cache(dir.path())), CodeSource::Compiled);
    assert_eq!(cached_files(dir.path()).len(), 1);
    let engine = engine_with_cache(dir.path());
    assert_eq!(load_and_render(&engine), CodeSource::Cached);
    assert!(engine.take_notes().is_empty());
}

#[test]
fn corrupt_and_foreign_entries_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    load_and_render(&engine_with_cache(dir.path()));
    let entry = cached_files(dir.path()).pop().unwrap();
    let good = std::fs::read(&entry).unwrap();

    let mut corrupt = good.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    let truncated = good[..good.len() / 3].to_vec();
    let foreign = fs_read(TF_SERVING); // a real wasm file, but not Kiln's compiled code

    for (what, bytes) in [("corrupt", corrupt), ("truncated", truncated), ("foreign", foreign)] {
        std::fs::write(&entry, bytes).unwrap();
        let engine = engine_with_cache(dir.path());
        assert_eq!(load_and_render(&engine), CodeSource::Compiled, "{what} entry rebuilt");
        let notes = engine.take_notes();
        assert!(notes.iter().any(|n| n.contains("rebuilding cached code")), "{what}: {notes:?}");
        assert_eq!(std::fs::read(&entry).unwrap(), good, "{what} entry replaced by good code");
    }
}

#[test]
fn an_unwritable_cache_is_a_note_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let engine = engine_with_cache(&file);
    assert_eq!(load_and_render(&engine), CodeSource::Compiled);
    let notes = engine.take_notes();
    assert!(notes.iter().any(|n| n.contains("cannot cache compiled code")), "{notes:?}");
}

/// A description depends only on the wasm, so it is kept beside the compiled code; one written
/// by another Kiln build, unreadable or inconsistent is not trusted and is described again.
#[test]
fn a_description_is_remembered_and_a_foreign_or_broken_one_is_described_again() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = fs_read(TF_SERVING);
    let describe = || {
        let mut prototype = engine_with_cache(dir.path()).load("tf-serving", &wasm).unwrap();
        prototype.describe(&Default::default()).unwrap()
    };
    let described = describe();
    let files = cached_files(&dir.path().join("described"));
    let [file] = files.as_slice() else { panic!("one remembered description: {files:?}") };
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();

    // What is remembered is what a warm load returns: edit it to see.
    let mut edited = original.clone();
    edited["info"]["description"] = "remembered".into();
    std::fs::write(file, edited.to_string()).unwrap();
    assert_eq!(describe().description, "remembered");

    // Not from a directory other users can write.
    use std::os::unix::fs::PermissionsExt;
    let described_dir = dir.path().join("described");
    let mode = |mode| std::fs::Permissions::from_mode(mode);
    std::fs::set_permissions(&described_dir, mode(0o777)).unwrap();
    assert_eq!(describe(), described, "a description others could have written is not used");
    std::fs::set_permissions(&described_dir, mode(0o700)).unwrap();

    let mut foreign = edited.clone();
    foreign["kiln"] = "kiln 0.0.1 another build".into();
    let mut inconsistent = edited.clone();
    inconsistent["info"]["name"] = "Not A DNS Label".into();
    for (what, bytes) in [
        ("another build's", foreign.to_string().into_bytes()),
        ("inconsistent", inconsistent.to_string().into_bytes()),
        ("torn", original.to_string().as_bytes()[..40].to_vec()),
    ] {
        std::fs::write(file, bytes).unwrap();
        assert_eq!(describe(), described, "{what} description: the guest describes itself");
        let rewritten: serde_json::Value =
            serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        assert_eq!(rewritten, original, "{what} description replaced");
    }
}
