//! The engine's costs for `tf-serving`: cold compile, cached load, instantiate, generate, and
//! the whole per-process path. Prints a table of medians with how many times faster than the
//! cold compile measured in the same run each step is (our machines are shared; absolute
//! numbers drift).
//!
//! Run with `cargo bench -p kiln-tests --bench engine`.

use std::time::{Duration, Instant};

use kiln::prototype::{Environment, ParamValue, Params};
use kiln::render::{CodeSource, Engine, EngineOptions, Limits};

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

fn main() {
    let wasm = std::fs::read(kiln_guest_artifacts::TF_SERVING).expect("tf-serving is built");
    let cache = tempfile::tempdir().expect("temp dir");
    let limits = Limits::default();
    let env = Environment::preview("default");
    let params: Params = [("name", "inception"), ("modelPath", "gs://bucket/inception")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), ParamValue::String(v.to_string())))
        .collect();
    let cached_engine = || {
        Engine::new(EngineOptions { cache_dir: Some(cache.path().into()), ..Default::default() })
            .expect("engine")
    };

    let uncached = Engine::new(EngineOptions { cache_dir: None, ..Default::default() }).unwrap();
    let cold = time(5, || uncached.load("tf-serving", &wasm).unwrap());
    let warm_engine = cached_engine();
    let first = warm_engine.load("tf-serving", &wasm).unwrap();
    assert_eq!(first.code_source(), CodeSource::Compiled, "the cache starts empty");
    let cached = time(50, || {
        let p = warm_engine.load("tf-serving", &wasm).unwrap();
        assert_eq!(p.code_source(), CodeSource::Cached);
        p
    });
    let mut prototype = warm_engine.load("tf-serving", &wasm).unwrap();
    let info = prototype.describe(&limits).unwrap();
    let instantiate = time(500, || prototype.instantiate_only(&limits).unwrap());
    let generate = time(500, || prototype.generate(&info, "m", &params, &env, &limits).unwrap());
    let whole = time(50, || {
        let engine = cached_engine();
        let mut p = engine.load("tf-serving", &wasm).unwrap();
        let info = p.describe(&limits).unwrap();
        p.generate(&info, "m", &params, &env, &limits).unwrap()
    });

    println!("tf-serving ({} KiB of wasm)", wasm.len() / 1024);
    println!("| step | median | cold compile / step |");
    println!("|---|---:|---:|");
    let rows = [
        ("cold compile", cold),
        ("cached load (verify + deserialize + link)", cached),
        ("instantiate", instantiate),
        ("instantiate + generate", generate),
        ("whole path: engine + cached load + describe + generate", whole),
    ];
    for (step, d) in rows {
        println!("| {step} | {d:.2?} | {:.0}x |", cold.as_secs_f64() / d.as_secs_f64());
    }
}
