//! Compiling in a child process, so that a compile's time and memory are bounded: Cranelift
//! cannot be interrupted, and a thread's memory cannot be capped, but a process can be killed
//! and given an `RLIMIT_DATA`. The parent runs its own executable as `kiln __compile` with the
//! wasm on stdin and reads wasmtime's compiled code from stdout. Both halves of that protocol
//! are here; what the child prints is trusted like a cache entry Kiln wrote (it is the same
//! executable), and nothing else is.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::Error;
use super::engine::{Tier, config};
use super::limits::{Limit, Limits};

/// The first argument that makes `kiln` the child process of a compile: not a verb of the
/// command line (`cli::main` looks for it before parsing), so neither help nor completions
/// show it.
pub const VERB: &str = "__compile";

/// The child's exit code when wasmtime refused the wasm; its reason is on stderr.
const REFUSED: u8 = 3;

/// The child's exit code when it could not start the compiler's threads: under its data limit
/// that is memory for their stacks.
const NO_MEMORY: u8 = 4;

/// Bytes of the child's stderr kept for an error message.
const STDERR_BYTES: u64 = 16 << 10;

/// The most threads a compile uses. Each compiles one function at a time and holds its working
/// memory meanwhile, so the memory a compile needs grows with them: the Python example needs
/// 450 MiB of data on 2 threads, 700 MiB on 8 and 770 MiB on 16. Capped, `compile-memory`
/// means the same on a laptop and on a 64-core server.
const MAX_THREADS: usize = 8;

/// The threads of a compile on this machine.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS)
}

/// Compile `wasm` (labelled `label` in errors) for `tier` in a child process running `exe`,
/// within `limits`' `compile-time-ms` and `compile-memory`. Returns what
/// `wasmtime::Engine::precompile_component` returned in the child.
pub(super) fn compile(
    exe: &Path,
    tier: Tier,
    max_stack: usize,
    wasm: &[u8],
    limits: &Limits,
    label: &str,
) -> Result<Vec<u8>, Error> {
    let internal = |message: String| Error::Internal { prototype: label.into(), message };
    let memory = limits.get(Limit::CompileMemory);
    let child = spawn(exe, tier, max_stack, memory, limits.get(Limit::CompileTimeMs))
        .map_err(|e| internal(format!("cannot start {} to compile: {e}", exe.display())))?;
    let ended = run(child, wasm, Duration::from_millis(limits.get(Limit::CompileTimeMs)))
        .map_err(|e| internal(format!("cannot wait for the compiler process: {e}")))?;
    let limit =
        |limit: Limit| Error::Limit { prototype: label.into(), limit, value: limits.get(limit) };
    let status = ended.status;
    if ended.timed_out || killed_by(status, rustix::process::Signal::XCPU) {
        return Err(limit(Limit::CompileTimeMs));
    }
    if status.code() == Some(i32::from(NO_MEMORY))
        || !status.success() && out_of_memory(&ended.stderr)
    {
        return Err(limit(Limit::CompileMemory));
    }
    match status.code() {
        Some(0) => ended.stdout.map_err(|e| internal(format!("cannot read compiled code: {e}"))),
        Some(c) if c == i32::from(REFUSED) => {
            Err(Error::Compile { prototype: label.into(), message: ended.stderr.trim_end().into() })
        }
        // Under a data limit too small even to start, a process can die in many ways.
        _ => Err(internal(format!(
            "the compiler process failed ({status}) with a `compile-memory` limit of {memory} \
             bytes: {}",
            ended.stderr.trim_end()
        ))),
    }
}

/// `exe __compile` for `tier`, started with its limits: `memory` bytes of data, and CPU time
/// as a backstop of the wall-clock `time_ms`.
fn spawn(
    exe: &Path,
    tier: Tier,
    max_stack: usize,
    memory: u64,
    time_ms: u64,
) -> std::io::Result<Child> {
    let mut command = Command::new(exe);
    command
        .args([VERB, "--tier", tier.name(), "--max-stack", &max_stack.to_string()])
        // A backtrace is printed with a lock held, and symbolising it allocates: out of memory,
        // the allocation failure handler would wait for that lock for ever.
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let cpu_seconds = cpu_seconds(time_ms);
    // SAFETY: the closure runs in the child between fork and exec, and only makes system calls
    // (no allocation, no locks), which is what `pre_exec` allows.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(move || bound_this_process(memory, cpu_seconds).map_err(Into::into));
    }
    command.spawn()
}

/// How a child process ended.
struct Ended {
    /// Whether it was killed at its deadline.
    timed_out: bool,
    status: ExitStatus,
    /// All it wrote to stdout.
    stdout: std::io::Result<Vec<u8>>,
    /// The start of what it wrote to stderr.
    stderr: String,
}

/// Feed `input` to `child`, collect its output, and kill it if it has not closed its stdout
/// (by exiting) within `deadline`.
fn run(mut child: Child, input: &[u8], deadline: Duration) -> std::io::Result<Ended> {
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) = (stdin, stdout, stderr) else {
        unreachable!("`spawn` pipes all three");
    };
    let (eof, wait_for_eof) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        // A child that stops reading (it ran out of memory) ends the write: nothing to report.
        scope.spawn(move || drop(stdin.write_all(input)));
        let errors = scope.spawn(move || {
            let mut text = Vec::new();
            let _ = (&mut stderr).take(STDERR_BYTES).read_to_end(&mut text);
            // The rest is read and dropped, so the child never blocks on a full pipe.
            let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            String::from_utf8_lossy(&text).into_owned()
        });
        let code = scope.spawn(move || {
            let mut code = Vec::new();
            let read = stdout.read_to_end(&mut code).map(|_| code);
            drop(eof);
            read
        });
        // Stdout closes when the child exits. The child is reaped only after it is killed, so
        // its pid cannot have been reused by then.
        let timed_out =
            matches!(wait_for_eof.recv_timeout(deadline), Err(mpsc::RecvTimeoutError::Timeout));
        if timed_out {
            let _ = child.kill();
        }
        let status = child.wait()?;
        let panicked = || std::io::Error::other("a reader thread panicked");
        Ok(Ended {
            timed_out,
            status,
            stdout: code.join().map_err(|_| panicked())?,
            stderr: errors.join().map_err(|_| panicked())?,
        })
    })
}

/// The CPU-time backstop of a compile with a wall-clock limit of `time_ms`: the child is
/// killed at its wall-clock deadline, and this bounds it should the parent die first (with
/// parallel compilation, CPU time is up to wall time times the threads).
fn cpu_seconds(time_ms: u64) -> u64 {
    time_ms.div_ceil(1000).saturating_mul(threads() as u64).saturating_add(1)
}

/// Limit the calling process (a child about to exec the compiler): `memory` bytes of data
/// segment and heap (`RLIMIT_DATA`: what malloc and anonymous mappings take, not the
/// executable's mappings or reserved address space), `cpu_seconds` of CPU, no core dumps (a
/// compile that dies at its limit would write one its size), and death with the parent.
fn bound_this_process(memory: u64, cpu_seconds: u64) -> rustix::io::Result<()> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    // Lowered, never raised past what Kiln itself was given (`ulimit`): that would be refused.
    let lower = |resource, soft: u64, hard: u64| {
        let ceiling = getrlimit(resource).maximum.unwrap_or(u64::MAX);
        let limit = Rlimit { current: Some(soft.min(ceiling)), maximum: Some(hard.min(ceiling)) };
        setrlimit(resource, limit)
    };
    lower(Resource::Data, memory, memory)?;
    lower(Resource::Cpu, cpu_seconds, cpu_seconds.saturating_add(1))?;
    lower(Resource::Core, 0, 0)?;
    // Elsewhere the CPU limit is what ends an orphan.
    #[cfg(target_os = "linux")]
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
    Ok(())
}

fn killed_by(status: ExitStatus, signal: rustix::process::Signal) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(signal.as_raw())
}

/// Whether the child's stderr says it ran out of memory: Rust's allocation failure message, or
/// an operating system error from a mapping or a thread it could not get.
fn out_of_memory(stderr: &str) -> bool {
    stderr.contains("memory allocation of") || stderr.contains("Cannot allocate memory")
}

/// The child's half, `kiln __compile --tier TIER --max-stack BYTES` with `args` what follows
/// the verb: read wasm from stdin, compile it for the tier with the engine settings the parent
/// uses, write the compiled code to stdout. wasmtime's refusal goes to stderr with an exit code
/// of its own; running out of memory aborts (Rust's allocation failure) or, for the compiler's
/// threads, exits with another code, which the parent reads as the `compile-memory` limit.
pub fn serve(args: impl Iterator<Item = OsString>) -> ExitCode {
    let refuse = |message: String| {
        let _ = writeln!(std::io::stderr(), "{message}");
        ExitCode::from(REFUSED)
    };
    let fail = |message: String| {
        let _ = writeln!(std::io::stderr(), "{message}");
        ExitCode::FAILURE
    };
    let args: Vec<OsString> = args.collect();
    let (tier, max_stack) = match args.iter().map(|a| a.to_str()).collect::<Vec<_>>()[..] {
        [Some("--tier"), Some(tier), Some("--max-stack"), Some(max_stack)] => {
            (Tier::from_name(tier), max_stack.parse::<usize>().ok())
        }
        _ => (None, None),
    };
    let (Some(tier), Some(max_stack)) = (tier, max_stack) else {
        return fail(format!(
            "usage: kiln {VERB} --tier quick|optimised --max-stack BYTES (Kiln runs this itself)"
        ));
    };
    // A panic is a failure to report, not to unwind from: unwinding allocates, and the default
    // hook takes a lock that an allocation failure's handler then waits on.
    std::panic::set_hook(Box::new(|info| {
        let _ = writeln!(std::io::stderr(), "{info}");
        std::process::abort();
    }));
    // wasmtime compiles on rayon's threads; started here, as many as `MAX_THREADS`, and a
    // failure to start them (their stacks count against the data limit) is reported as what
    // it is.
    if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(threads()).build_global() {
        let _ = writeln!(std::io::stderr(), "cannot start the compiler's threads: {e}");
        return ExitCode::from(NO_MEMORY);
    }
    let mut wasm = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut wasm) {
        return fail(format!("cannot read the wasm to compile: {e}"));
    }
    let engine = match wasmtime::Engine::new(&config(tier, max_stack)) {
        Ok(engine) => engine,
        Err(e) => return fail(format!("cannot create the Wasm engine: {e:#}")),
    };
    let code = match engine.precompile_component(&wasm) {
        Ok(code) => code,
        Err(e) => return refuse(format!("{e:#}")),
    };
    drop(wasm);
    match std::io::stdout().lock().write_all(&code) {
        Ok(()) => ExitCode::SUCCESS,
        // The parent is gone or stopped reading: nobody to tell.
        Err(_) => ExitCode::FAILURE,
    }
}
