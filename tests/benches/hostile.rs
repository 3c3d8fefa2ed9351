//! What it costs to stop each attack of the `hostile` test guest: the whole `kiln prototype
//! preview` process, its exit code, the first line it prints, wall time (median of 3 runs) and
//! peak RSS, each beside a benign render measured in the same run (our machines are shared).
//! Then the compile bombs of issue 19 (`tests/it/bombs.rs`), with the compile budget and
//! without it (every `compile-*` limit raised out of the way), compiled afresh each run
//! (`--no-cache`); peak RSS is the largest of kiln and its compiling child process.
//!
//! Run with `cargo bench -p kiln-tests --bench hostile`. Needs GNU time (`/usr/bin/time`,
//! Debian package `time`) for peak RSS.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[path = "../it/bombs.rs"]
mod bombs;

/// (label, attack, size, extra `--limit`s).
const CASES: &[(&str, &str, i64, &[&str])] = &[
    ("benign render (baseline)", "probe", 0, &[]),
    ("infinite loop", "loop", 0, &[]),
    ("deep recursion", "recursion", 100_000_000, &[]),
    ("memory bomb", "memory", 0, &[]),
    ("32 MiB of output", "output", 32 << 20, &[]),
    ("a million tiny objects", "objects", 1_000_000, &[]),
    ("10 MB to stdout", "stdout-flood", 10_000_000, &[]),
    ("a million log lines", "log-flood", 1_000_000, &[]),
    ("sleep for an hour", "sleep", 3_600, &[]),
    ("spin on the clock", "wait-for-time", 10, &[]),
    ("trap", "trap", 0, &[]),
    ("read /etc/passwd", "read-file", 0, &[]),
    ("invalid JSON", "bad-json", 0, &[]),
    ("10 MB error message", "huge-error", 10_000_000, &[]),
    ("infinite loop, fuel 1e12", "loop", 0, &["fuel=1e12", "time-ms=2000"]),
    ("objects inside a custom kind's `items`", "items", 0, &[]),
    ("Kiln's inventory, forged", "forge-inventory", 0, &[]),
    ("metadata the API server sets", "server-metadata", 0, &[]),
];

/// Every `compile-*` limit out of the way.
const NO_BUDGET: &[&str] = &[
    "compile-functions=1e9",
    "compile-code-bytes=1e12",
    "compile-locals=1e9",
    "compile-nesting=1e9",
    "compile-time-ms=1e9",
    "compile-memory=1e15",
];

struct Run {
    code: i32,
    first_line: String,
    time: Duration,
    rss_kib: u64,
}

/// `kiln prototype preview` of the `hostile` guest's `attack`, measured.
fn run(attack: &str, size: i64, limits: &[&str], cache: &Path) -> Run {
    let params = [format!("--attack={attack}"), format!("--size={size}")];
    run_preview(kiln_guest_artifacts::HOSTILE, &params, &with_limits(&[], limits), cache)
}

/// `flags` followed by `--limit L` for each of `limits`.
fn with_limits(flags: &[&str], limits: &[&str]) -> Vec<String> {
    let limits = limits.iter().flat_map(|limit| ["--limit", limit]);
    flags.iter().copied().chain(limits).map(String::from).collect()
}

/// `kiln prototype preview OPTIONS... WASM PARAMS...`, measured.
fn run_preview(wasm: &str, params: &[String], options: &[String], cache: &Path) -> Run {
    let out_file = tempfile::NamedTempFile::new().expect("temp file");
    let mut command = Command::new("/usr/bin/time");
    command
        .arg("-f")
        .arg("%e %M")
        .arg("-o")
        .arg(out_file.path())
        .arg(env!("CARGO_BIN_EXE_kiln-under-test"))
        .args(["prototype", "preview"])
        .args(options);
    let output = command
        .arg(wasm)
        .args(params)
        .env("KILN_CACHE_DIR", cache)
        .env("NO_COLOR", "1")
        .output()
        .expect("GNU time is installed (Debian package `time`)");
    let measured = std::fs::read_to_string(out_file.path()).expect("time wrote its report");
    let last = measured.lines().last().unwrap_or_default();
    let mut fields = last.split_whitespace();
    let seconds: f64 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(f64::NAN);
    let rss_kib = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The error, or its last cause when it has any (`cannot load prototype ...` says little).
    let cause = stderr.lines().rfind(|l| l.starts_with("  ") && l.contains(": "));
    let first_line = cause
        .map(|l| format!("error: {}", l.split_once(": ").map_or(l, |(_, m)| m)))
        .or_else(|| stderr.lines().find(|l| l.starts_with("error:")).map(String::from))
        .or_else(|| stderr.lines().next().map(String::from))
        .unwrap_or_else(|| "(rendered)".into());
    Run {
        code: output.status.code().unwrap_or(-1),
        first_line,
        time: Duration::from_secs_f64(seconds.max(0.0)),
        rss_kib,
    }
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}...", text.chars().take(max).collect::<String>())
    }
}

fn main() {
    assert!(
        Path::new("/usr/bin/time").exists(),
        "this benchmark needs GNU time: `apt-get install time`"
    );
    let cache = tempfile::tempdir().expect("temp dir");
    // Warm the compiled-code cache so every row measures a cached load, as users see it.
    run("probe", 0, &[], cache.path());
    let bombs_dir = tempfile::tempdir().expect("temp dir");
    let functions = bombs::write(
        bombs_dir.path(),
        "functions.wasm",
        &bombs::many_functions(bombs::MANY_FUNCTIONS),
    );
    let nested =
        bombs::write(bombs_dir.path(), "nested.wasm", &bombs::nested_blocks(1, bombs::NESTING));
    let bomb_cases: [(&str, &str, &[&str]); 4] = [
        ("3.6 MB of tiny functions", &functions, &[]),
        ("3.6 MB of tiny functions, no compile budget", &functions, NO_BUDGET),
        ("6 MB of nested blocks", &nested, &[]),
        ("6 MB of nested blocks, no compile budget", &nested, NO_BUDGET),
    ];
    let hostile = CASES.iter().map(|(label, attack, size, limits)| {
        let params = vec![format!("--attack={attack}"), format!("--size={size}")];
        (*label, kiln_guest_artifacts::HOSTILE.to_string(), params, with_limits(&[], limits))
    });
    // Compiled afresh every run: a bomb that compiled would be cached, though no prototype.
    let bombs = bomb_cases.iter().map(|(label, wasm, limits)| {
        (*label, wasm.to_string(), Vec::new(), with_limits(&["--no-cache"], limits))
    });
    let mut rows = Vec::new();
    let mut baseline = None;
    for (label, wasm, params, options) in hostile.chain(bombs) {
        let mut runs: Vec<Run> =
            (0..3).map(|_| run_preview(&wasm, &params, &options, cache.path())).collect();
        runs.sort_by_key(|r| r.time);
        let median = runs.remove(1);
        let peak = runs.iter().map(|r| r.rss_kib).chain([median.rss_kib]).max().unwrap_or(0);
        let (base_time, base_rss) = *baseline.get_or_insert((median.time, peak));
        rows.push(format!(
            "| {label} | {} | {} | {:.2} s | {:.1}x | {:.0} MiB | {:.1}x |",
            median.code,
            cut(&median.first_line.replace('|', "/"), 90),
            median.time.as_secs_f64(),
            median.time.as_secs_f64() / base_time.as_secs_f64().max(1e-3),
            peak as f64 / 1024.0,
            peak as f64 / base_rss.max(1) as f64,
        ));
    }
    println!("| case | exit | what kiln said | time | vs benign | peak RSS | vs benign |");
    println!("|---|---:|---|---:|---:|---:|---:|");
    for row in rows {
        println!("{row}");
    }
}
