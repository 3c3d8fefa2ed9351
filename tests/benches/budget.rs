//! What the compile budget sees and costs, per prototype: the Kubeflow prototypes, the
//! JavaScript and Python examples (built by `scripts/build-examples`, which this runs first),
//! and the two compile bombs of issue 19. For each: its shape (functions, code bytes, most
//! locals, deepest nesting), how long reading it took, whether the default limits admit it, and
//! its compile in each tier by `kiln __compile` without any budget, with wall time and peak
//! RSS. Then the largest shape the default shape limits admit, through the whole budget
//! (`kiln prototype describe --no-cache`): the time and memory limits are what stop it. Last,
//! what compiling in a child process adds to a cold load of the seed's prototypes, against
//! compiling in the process, interleaved.
//!
//! Run with `cargo bench -p kiln-tests --bench budget`. Needs GNU time (`/usr/bin/time`) for
//! peak RSS.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kiln::render::shape::{self, Shape};
use kiln::render::{Engine, EngineOptions, Limit, Limits, Tier};

#[path = "../it/bombs.rs"]
mod bombs;

const KILN: &str = env!("CARGO_BIN_EXE_kiln-under-test");

/// Wall time and peak RSS (KiB) of `kiln __compile` of `wasm` in `tier`, or its failure.
fn compile(wasm: &Path, tier: Tier) -> Result<(Duration, u64), String> {
    let report = tempfile::NamedTempFile::new().expect("temp file");
    let max_stack = Limits::default().get(Limit::Stack).to_string();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%e %M", "-o"])
        .arg(report.path())
        .arg(KILN)
        .args([kiln::render::COMPILE_VERB, "--tier", tier.name(), "--max-stack", &max_stack])
        .stdin(std::fs::File::open(wasm).expect("wasm"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("GNU time is installed (Debian package `time`)");
    let measured = std::fs::read_to_string(report.path()).expect("time wrote its report");
    let mut fields = measured.lines().last().unwrap_or_default().split_whitespace();
    let seconds: f64 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(f64::NAN);
    let rss = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!("failed: {}", stderr.lines().next().unwrap_or_default()));
    }
    Ok((Duration::from_secs_f64(seconds), rss))
}

/// Limits with every shape limit out of the way, to measure a whole shape.
fn unlimited() -> Limits {
    let mut limits = Limits::default();
    for limit in [
        Limit::CompileFunctions,
        Limit::CompileCodeBytes,
        Limit::CompileLocals,
        Limit::CompileNesting,
    ] {
        limits.set(limit, u64::MAX);
    }
    limits
}

/// The largest shape the default limits admit, as far as one module can: as many functions as
/// `compile-functions` allows, sharing `compile-code-bytes` equally, each declaring
/// `compile-locals` locals (each one is set to zero on entry) and adding them up in a long
/// chain (register pressure is what costs the register allocator).
fn worst_within_defaults() -> Vec<u8> {
    use wasm_encoder::{
        CodeSection, Component, Function, FunctionSection, Instruction, Module, ModuleSection,
        TypeSection, ValType,
    };
    let defaults = Limits::default();
    let functions = defaults.get(Limit::CompileFunctions) as u32;
    let locals = defaults.get(Limit::CompileLocals) as u32;
    let bytes_each = defaults.get(Limit::CompileCodeBytes) / u64::from(functions);
    let mut body = Function::new([(locals, ValType::I64)]);
    let mut i = 0;
    // `local.get a; local.get b; i64.add; local.set c` is 10 bytes with two-byte indices.
    while (i + 1) * 10 + 16 < bytes_each {
        body.instruction(&Instruction::LocalGet((i * 7 % u64::from(locals)) as u32));
        body.instruction(&Instruction::LocalGet((i * 13 % u64::from(locals)) as u32));
        body.instruction(&Instruction::I64Add);
        body.instruction(&Instruction::LocalSet((i * 31 % u64::from(locals)) as u32));
        i += 1;
    }
    body.instruction(&Instruction::End);
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut section = FunctionSection::new();
    let mut code = CodeSection::new();
    for _ in 0..functions {
        section.function(0);
        code.function(&body);
    }
    let mut module = Module::new();
    module.section(&types).section(&section).section(&code);
    let mut component = Component::new();
    component.section(&ModuleSection(&module));
    component.finish()
}

/// Build the examples (a no-op when they are up to date) and return their directory.
fn examples() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the repo");
    let out = std::env::var_os("KILN_EXAMPLES_OUT")
        .map_or_else(|| repo.join("target/examples"), PathBuf::from);
    let status = Command::new(repo.join("scripts/build-examples"))
        .env("KILN_EXAMPLES_OUT", &out)
        .stdout(Stdio::null())
        .status()
        .expect("run scripts/build-examples");
    assert!(status.success(), "scripts/build-examples failed (see above)");
    out
}

fn cell(result: &Result<(Duration, u64), String>) -> String {
    match result {
        Ok((time, rss)) => format!("{:.2} s, {} MiB", time.as_secs_f64(), rss / 1024),
        Err(e) => e.clone(),
    }
}

/// The whole `kiln prototype describe --no-cache` of `wasm`, with the default limits: wall
/// time, peak RSS (of kiln and its compiling child) and the error it ends with.
fn describe(wasm: &Path) -> String {
    let report = tempfile::NamedTempFile::new().expect("temp file");
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%e %M", "-o"])
        .arg(report.path())
        .arg(KILN)
        .args(["prototype", "describe", "--no-cache"])
        .arg(wasm)
        .env("NO_COLOR", "1")
        .output()
        .expect("GNU time is installed (Debian package `time`)");
    let measured = std::fs::read_to_string(report.path()).expect("time wrote its report");
    // GNU time says first when the command failed; the figures are the last line.
    let mut fields = measured.lines().last().unwrap_or_default().split_whitespace();
    let seconds = fields.next().unwrap_or("?").to_string();
    let rss = fields.next().and_then(|k| k.parse::<u64>().ok()).unwrap_or(0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said = stderr.lines().find(|l| l.contains("  1: ")).unwrap_or("(described)").trim();
    format!("{seconds} s, {} MiB: {said}", rss / 1024)
}

fn shape_row(name: &str, wasm: &Path) -> String {
    let bytes = std::fs::read(wasm).expect("wasm");
    let started = Instant::now();
    let found: Shape = shape::check(&bytes, &unlimited()).expect("readable");
    let read = started.elapsed();
    let within = shape::check(&bytes, &Limits::default()).is_ok();
    let quick = cell(&compile(wasm, Tier::Quick));
    let optimised = cell(&compile(wasm, Tier::Optimised));
    format!(
        "| {name} | {} KiB | {} | {} | {} | {} | {:.1?} | {} | {quick} | {optimised} |",
        bytes.len() / 1024,
        found.functions,
        found.code_bytes,
        found.max_locals,
        found.max_nesting,
        read,
        if within { "yes" } else { "no" },
    )
}

/// Median cold load (quick tier, no cache) of each of `wasm` in process and in a child
/// process, interleaved: what the child process adds.
fn child_overhead(guests: &[(&str, Vec<u8>)], runs: usize) -> (Duration, Duration) {
    let engine = |compile_in: Option<PathBuf>| {
        Engine::new(EngineOptions { cache_dir: None, compile_in, ..Default::default() })
    };
    let (mut here, mut child) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        for (samples, compile_in) in [(&mut here, None), (&mut child, Some(PathBuf::from(KILN)))] {
            let engine = engine(compile_in);
            let started = Instant::now();
            for (name, wasm) in guests {
                engine.load(name, wasm).expect("load");
            }
            samples.push(started.elapsed());
        }
    }
    here.sort();
    child.sort();
    (here[runs / 2], child[runs / 2])
}

fn main() {
    assert!(Path::new("/usr/bin/time").exists(), "needs GNU time: `apt-get install time`");
    let examples = examples();
    let dir = tempfile::tempdir().expect("temp dir");
    let generated =
        |name: &str, wasm: Vec<u8>| PathBuf::from(bombs::write(dir.path(), name, &wasm));
    let functions = generated("functions.wasm", bombs::many_functions(bombs::MANY_FUNCTIONS));
    let nested = generated("nested.wasm", bombs::nested_blocks(1, bombs::NESTING));
    let artifact = |name: &str| {
        let (_, path) = kiln_guest_artifacts::ALL.iter().find(|(n, _)| *n == name).expect(name);
        PathBuf::from(path)
    };
    let rows: Vec<(&str, PathBuf)> = vec![
        ("tf-serving", artifact("tf-serving")),
        ("core", artifact("core")),
        ("nfs", artifact("nfs")),
        ("tf-job", artifact("tf-job")),
        ("web-app-js (QuickJS)", examples.join("web-app-js.wasm")),
        ("web-app-python (componentize-py)", examples.join("web-app-python.wasm")),
        ("bomb: 3.6 MB of tiny functions", functions),
        ("bomb: 6 MB of nested blocks", nested),
    ];
    println!(
        "| prototype | wasm | functions | code bytes | most locals | deepest nesting | read in \
         | within defaults | quick compile, no budget | optimised compile, no budget |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|");
    for (name, wasm) in &rows {
        println!("{}", shape_row(name, wasm));
    }

    let worst = generated("worst.wasm", worst_within_defaults());
    let found = shape::check(&std::fs::read(&worst).expect("wasm"), &unlimited()).expect("shape");
    println!(
        "\nlargest shape within the default shape limits ({} functions, {} code bytes, {} \
         locals each), `kiln prototype describe --no-cache` (quick tier) with the default \
         limits: {}",
        found.functions,
        found.code_bytes,
        found.max_locals,
        describe(&worst)
    );

    let seed: Vec<(&str, Vec<u8>)> = ["tf-serving", "core", "nfs", "tf-job"]
        .into_iter()
        .map(|name| (name, std::fs::read(artifact(name)).expect("wasm")))
        .collect();
    let (here, child) = child_overhead(&seed, 7);
    println!(
        "\ncold load of the seed's four prototypes (quick tier, no cache), median of 7, \
         interleaved: in process {here:.2?}, in a child process {child:.2?} ({:.2}x)",
        child.as_secs_f64() / here.as_secs_f64()
    );
}
