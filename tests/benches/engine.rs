//! The engine's costs per language: `tf-serving` (Rust) and the web-app examples in Python and
//! JavaScript (`examples/`, built by `scripts/build-examples`, which this runs first). For each:
//! cold compile in both tiers (quick: what a render on a miss compiles; optimised: what
//! `kiln pkg install` compiles), cached load, instantiate, generate in both tiers, and the whole
//! per-process path on optimised code. Prints a
//! table of medians with how many times faster than the cold compile measured in the same run
//! each step is (our machines are shared; absolute numbers drift).
//!
//! Run with `cargo bench -p kiln-tests --bench engine`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kiln::prototype::{Environment, ParamValue, Params};
use kiln::render::{CodeSource, Engine, EngineOptions, Limits, Tier};
use sha2::{Digest, Sha256};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(f());
                start.elapsed()
            })
            .collect(),
    )
}

/// The medians of one prototype.
struct Row {
    name: &'static str,
    kib: usize,
    cold: Duration,
    optimised_compile: Duration,
    cached: Duration,
    instantiate: Duration,
    generate: Duration,
    optimised_generate: Duration,
    whole: Duration,
}

fn measure(name: &'static str, wasm: &[u8], params: &Params) -> Row {
    let cache = tempfile::tempdir().expect("temp dir");
    let limits = Limits::default();
    let env = Environment::preview("default");
    let cached_engine = || {
        Engine::new(EngineOptions { cache_dir: Some(cache.path().into()), ..Default::default() })
    };
    // Large guests compile for seconds: fewer cold runs for them.
    let cold_runs = if wasm.len() > 4 << 20 { 3 } else { 5 };
    let uncached = Engine::new(EngineOptions { cache_dir: None, ..Default::default() });
    let cold = time(cold_runs, || uncached.load(name, wasm).unwrap());
    let warm_engine = cached_engine();
    let first = warm_engine.load(name, wasm).unwrap();
    assert_eq!(first.code_source(), CodeSource::Compiled, "the cache starts empty");
    let cached = time(50, || {
        let p = warm_engine.load(name, wasm).unwrap();
        assert_eq!(p.code_source(), CodeSource::Cached);
        p
    });
    let mut prototype = warm_engine.load(name, wasm).unwrap();
    let info = prototype.describe(&limits).unwrap();
    let instantiate = time(200, || prototype.instantiate_only(&limits).unwrap());
    let generate = time(200, || prototype.generate(&info, "m", params, &env, &limits).unwrap());

    // The optimised tier: compiled ahead of time, as `kiln pkg install` does.
    let sha256: [u8; 32] = Sha256::digest(wasm).into();
    let with_cache = |dir: &Path| {
        Engine::new(EngineOptions { cache_dir: Some(dir.into()), ..Default::default() })
    };
    let optimised_compile = time(cold_runs, || {
        let fresh = tempfile::tempdir().expect("temp dir");
        assert!(with_cache(fresh.path()).precompile(name, wasm, sha256).unwrap());
    });
    assert!(cached_engine().precompile(name, wasm, sha256).unwrap());
    let mut optimised = cached_engine().load(name, wasm).unwrap();
    assert_eq!(optimised.tier(), Tier::Optimised);
    let info = optimised.describe(&limits).unwrap();
    let optimised_generate =
        time(200, || optimised.generate(&info, "m", params, &env, &limits).unwrap());
    let whole = time(30, || {
        let engine = cached_engine();
        let mut p = engine.load(name, wasm).unwrap();
        let info = p.describe(&limits).unwrap();
        p.generate(&info, "m", params, &env, &limits).unwrap()
    });
    Row {
        name,
        kib: wasm.len() / 1024,
        cold,
        optimised_compile,
        cached,
        instantiate,
        generate,
        optimised_generate,
        whole,
    }
}

fn strings(pairs: &[(&str, &str)]) -> Params {
    pairs.iter().map(|(k, v)| (k.to_string(), ParamValue::String(v.to_string()))).collect()
}

/// Build the examples (a no-op when they are up to date) and return their directory.
fn examples() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the repo");
    let out = std::env::var_os("KILN_EXAMPLES_OUT")
        .map_or_else(|| repo.join("target/examples"), PathBuf::from);
    let status = std::process::Command::new(repo.join("scripts/build-examples"))
        .env("KILN_EXAMPLES_OUT", &out)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run scripts/build-examples");
    assert!(status.success(), "scripts/build-examples failed (see above)");
    out
}

fn main() {
    let read = |path: &Path| {
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    };
    let examples = examples();
    let web = strings(&[("name", "web"), ("image", "nginx:1.27")]);
    let rows = [
        measure(
            "tf-serving (Rust)",
            &read(Path::new(kiln_guest_artifacts::TF_SERVING)),
            &strings(&[("name", "inception"), ("modelPath", "gs://bucket/inception")]),
        ),
        measure("web-app-js (JavaScript, QuickJS)", &read(&examples.join("web-app-js.wasm")), &web),
        measure("web-app-python (Python)", &read(&examples.join("web-app-python.wasm")), &web),
    ];

    println!("medians; in brackets: how many times faster than that prototype's quick compile");
    println!(
        "| prototype | wasm | quick compile | optimised compile | cached load | instantiate \
         | instantiate + generate, quick | optimised | whole path |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        let cell =
            |d: Duration| format!("{d:.2?} ({:.0}x)", row.cold.as_secs_f64() / d.as_secs_f64());
        println!(
            "| {} | {} KiB | {:.2?} | {:.2?} | {} | {} | {} | {} | {} |",
            row.name,
            row.kib,
            row.cold,
            row.optimised_compile,
            cell(row.cached),
            cell(row.instantiate),
            cell(row.generate),
            cell(row.optimised_generate),
            cell(row.whole),
        );
    }
    println!(
        "\ncached load = verify + deserialize + link (quick code); whole path = new engine + \
         cached load + describe + generate on optimised code (what one `kiln` process pays per \
         prototype after `kiln pkg install`)"
    );
}
