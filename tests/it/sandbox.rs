//! The sandbox holds: a hostile guest is stopped at each limit with an error that names the
//! prototype and the limit, and sees no files, environment, clock or real randomness.

use kiln::prototype::{ParamError, ParamValue, Params};
use kiln::render::{Error, FIXED_TIME_SECS, Limit, Limits, LogLevel, Rendered};
use kiln_guest_artifacts::HOSTILE;

use crate::common::{engine, load};

fn attack(name: &str, size: i64, limits: &Limits) -> Result<Rendered, Error> {
    let (prototype, info) = load(&engine(), HOSTILE);
    let params = Params::from([
        ("attack".to_string(), ParamValue::String(name.into())),
        ("size".to_string(), ParamValue::Integer(size)),
    ]);
    let env = kiln::prototype::Environment::preview("default");
    prototype.generate(&info, "evil", &params, &env, limits)
}

fn assert_limit(result: Result<Rendered, Error>, expected: Limit) {
    match result {
        Err(err @ Error::Limit { .. }) => {
            let Error::Limit { prototype, limit, .. } = &err else { unreachable!() };
            assert_eq!(prototype, "hostile");
            assert_eq!(*limit, expected, "{err}");
            assert!(err.to_string().contains(&format!("`{expected}` limit")), "{err}");
            let hint = err.hint().expect("limits come with a hint");
            assert!(hint.contains(&format!("--limit {expected}=")), "{hint}");
        }
        other => panic!("expected the `{expected}` limit, got {other:?}"),
    }
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    assert_limit(attack("loop", 0, &Limits::default()), Limit::Fuel);
}

#[test]
fn deep_recursion_hits_the_stack_limit() {
    assert_limit(attack("recursion", 100_000_000, &Limits::default()), Limit::Stack);
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    assert_limit(attack("memory", 0, &Limits::default()), Limit::Memory);
}

#[test]
fn oversized_output_hits_the_output_limit() {
    let mut limits = Limits::default();
    limits.set(Limit::OutputBytes, 1 << 20);
    assert_limit(attack("output", 2 << 20, &limits), Limit::OutputBytes);
    assert!(attack("output", 1 << 19, &limits).is_ok(), "under the limit renders");
}

#[test]
fn too_many_objects_hit_the_object_limit() {
    let mut limits = Limits::default();
    limits.set(Limit::Objects, 100);
    assert_limit(attack("objects", 101, &limits), Limit::Objects);
    assert_eq!(attack("objects", 100, &limits).unwrap().objects.len(), 100);
}

#[test]
fn flooding_stdout_hits_the_stdio_limit() {
    assert_limit(attack("stdout-flood", 10_000, &Limits::default()), Limit::StdioBytes);
}

#[test]
fn sleeping_returns_at_once_instead_of_blocking_the_host() {
    let started = std::time::Instant::now();
    let rendered = attack("sleep", 3600, &Limits::default()).unwrap();
    assert_eq!(rendered.objects[0]["metadata"]["name"], "rested");
    // An hour-long sleep that blocked would hang the test run; this bound is generous.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn waiting_for_the_clock_to_move_burns_fuel() {
    assert_limit(attack("wait-for-time", 1, &Limits::default()), Limit::Fuel);
}

#[test]
fn the_wall_clock_backstop_names_the_time_limit() {
    let mut limits = Limits::default();
    limits.set(Limit::Fuel, u64::MAX).set(Limit::TimeMs, 200);
    assert_limit(attack("loop", 0, &limits), Limit::TimeMs);
}

#[test]
fn a_panic_is_a_crash_with_its_message() {
    match attack("trap", 0, &Limits::default()) {
        Err(Error::Trap { prototype, message }) => {
            assert_eq!(prototype, "hostile");
            assert!(message.contains("panicked on purpose"), "{message}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn files_cannot_be_read() {
    match attack("read-file", 0, &Limits::default()) {
        Err(Error::Failed { message, .. }) => {
            assert!(message.starts_with("cannot read /etc/passwd"), "{message}");
        }
        other => panic!("expected the read to fail inside the guest, got {other:?}"),
    }
}

#[test]
fn the_guest_sees_no_environment_a_fixed_clock_and_seeded_randomness() {
    let probe = || attack("probe", 0, &Limits::default()).unwrap();
    let first = probe();
    let data = &first.objects[0]["data"];
    assert_eq!(data["env"], "0", "no environment variables");
    assert_eq!(data["args"], "0", "no arguments");
    assert_eq!(data["now"], FIXED_TIME_SECS.to_string(), "fixed clock");
    assert!(data["readDir"].as_str().unwrap().starts_with("Err"), "no preopened dirs: {data}");
    assert_eq!(probe().objects, first.objects, "randomness is seeded: same every run");
    assert!(
        first.logs.iter().any(|l| l.level == LogLevel::Warn && l.message == "probe ran for evil"),
        "stderr is captured as log lines: {:?}",
        first.logs
    );
}

#[test]
fn log_floods_are_truncated_not_fatal() {
    let rendered = attack("log-flood", 10_000, &Limits::default()).unwrap();
    let kept: usize = rendered.logs.iter().map(|l| l.message.len()).sum();
    assert!(kept < (64 << 10) + 200, "kept {kept} bytes");
    let last = rendered.logs.last().unwrap();
    assert!(last.message.contains("more log lines dropped"), "{}", last.message);
}

#[test]
fn non_objects_are_refused() {
    match attack("bad-json", 0, &Limits::default()) {
        Err(Error::InvalidObject { index, message, .. }) => {
            assert_eq!(index, 1);
            assert_eq!(message, "not a JSON object");
        }
        other => panic!("expected an invalid object, got {other:?}"),
    }
}

#[test]
fn params_are_checked_before_any_guest_code_runs() {
    let (prototype, info) = load(&engine(), HOSTILE);
    let env = kiln::prototype::Environment::preview("default");
    // Were the guest to run with attack=loop it would burn its fuel: the error proves it did not.
    let typo = Params::from([
        ("attack".to_string(), ParamValue::String("loop".into())),
        ("sise".to_string(), ParamValue::Integer(1)),
    ]);
    match prototype.generate(&info, "evil", &typo, &env, &Limits::default()) {
        Err(Error::Param(ParamError::Unknown { name, suggestion, .. })) => {
            assert_eq!(name, "sise");
            assert_eq!(suggestion.as_deref(), Some("size"));
        }
        other => panic!("expected an unknown param, got {other:?}"),
    }
    let wrong_type = Params::from([
        ("attack".to_string(), ParamValue::String("loop".into())),
        ("size".to_string(), ParamValue::String("big".into())),
    ]);
    let err = prototype.generate(&info, "evil", &wrong_type, &env, &Limits::default()).unwrap_err();
    assert_eq!(err.to_string(), "param `size` expects an integer, got a string");
    let err =
        prototype.generate(&info, "evil", &Params::new(), &env, &Limits::default()).unwrap_err();
    assert_eq!(err.to_string(), "missing required param `attack` for prototype `hostile`");
}

#[test]
fn huge_error_messages_are_cut() {
    match attack("huge-error", 1 << 20, &Limits::default()) {
        Err(Error::Failed { message, .. }) => {
            assert!(message.len() < 5000, "{} bytes kept", message.len());
            assert!(message.ends_with("bytes cut)"), "{}", &message[message.len() - 40..]);
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn an_oversized_description_is_refused() {
    let wasm = crate::common::fs_read(kiln_guest_artifacts::BIG_INFO);
    let mut prototype = engine().load("big-info", &wasm).unwrap();
    match prototype.describe(&Limits::default()) {
        Err(Error::BadInfo { message, .. }) => {
            assert_eq!(message, "its description is larger than 1048576 bytes");
        }
        other => panic!("expected a refused description, got {other:?}"),
    }
}

/// A 100 MiB description is refused while it is still in the guest: the host stops at its
/// copy budget instead of copying 100 MiB and then measuring it.
#[test]
fn a_huge_description_is_refused_before_the_host_copies_it() {
    let wasm = crate::common::fs_read(kiln_guest_artifacts::HUGE_INFO);
    let mut prototype = engine().load("huge-info", &wasm).unwrap();
    match prototype.describe(&Limits::default()) {
        Err(err @ Error::BadInfo { .. }) => {
            assert_eq!(
                err.to_string(),
                "prototype `huge-info` describes itself incorrectly: it handed the host more than \
                 16777216 bytes at once, and a description may hold at most 1048576 bytes"
            );
        }
        other => panic!("expected a refused description, got {other:?}"),
    }
}

/// Several components render on several threads; each thread has room for the largest Wasm
/// stack a user may allow, so deep recursion still ends at the `stack` limit, not in a crash.
#[test]
fn components_on_render_threads_stop_at_the_stack_limit() {
    let s = recursing_app("deep", &["a", "b", "c", "d"]);
    let out = s.run_in("deep", &["show", "default", "--limit", "stack=4MiB"]);
    let (_, stderr) = crate::common::text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("component `a`"), "the first component in order: {stderr}");
    assert!(stderr.contains("`stack` limit"), "{stderr}");
}

/// A main thread with less stack than a guest may use (`ulimit -s 2048`, under the 8 MiB that
/// a `stack=4MiB` render needs with the host's frames) does not run guests: the render moves
/// to a thread with room, so deep recursion still ends at the `stack` limit, not in a crash.
#[test]
fn a_small_main_thread_stack_still_stops_at_the_stack_limit() {
    let s = recursing_app("small", &["a"]);
    let out = with_small_stack(s.command("small", &["show", "default", "--limit", "stack=4MiB"]));
    let stderr = stopped_at_the_stack_limit(&out);
    assert!(stderr.contains("component `a`"), "{stderr}");
}

/// The same outside any app: `prototype preview` calls the guest itself, not through a render.
#[test]
fn a_preview_on_a_small_main_thread_stack_stops_at_the_stack_limit() {
    let s = crate::common::Scratch::new();
    let args = ["prototype", "preview", "--limit", "stack=4MiB", HOSTILE, "--attack=recursion"];
    let out = with_small_stack(s.command(".", &[&args[..], &["--size=100000000"]].concat()));
    stopped_at_the_stack_limit(&out);
}

/// `out`'s stderr, once it is checked to be the `stack` limit's error, not a crash.
fn stopped_at_the_stack_limit(out: &std::process::Output) -> String {
    let (_, stderr) = crate::common::text(out);
    assert_eq!(out.status.code(), Some(1), "an error, not a crash: {stderr}");
    assert!(stderr.contains("`stack` limit"), "{stderr}");
    stderr
}

/// Run `kiln` (its program, arguments, directory and environment) under `ulimit -s 2048`.
fn with_small_stack(kiln: std::process::Command) -> std::process::Output {
    let mut shell = std::process::Command::new("sh");
    shell
        .args(["-c", "ulimit -s 2048 && exec \"$0\" \"$@\""])
        .arg(kiln.get_program())
        .args(kiln.get_args())
        .current_dir(kiln.get_current_dir().unwrap());
    for (name, value) in kiln.get_envs() {
        shell.env(name, value.unwrap());
    }
    shell.output().unwrap()
}

/// A scratch dir with app `name` whose `components` each recurse without end.
fn recursing_app(name: &str, components: &[&str]) -> crate::common::Scratch {
    let s = crate::common::Scratch::new();
    s.ok(".", &["init", name, "--namespace", name]);
    let app = s.app(name);
    std::fs::copy(HOSTILE, app.join("hostile.wasm")).unwrap();
    // Written by hand: `generate` would preview the attack, and refuse the component.
    for component in components {
        std::fs::write(
            app.join(format!("components/{component}.toml")),
            "prototype = \"hostile.wasm\"\n\n[params]\nattack = \"recursion\"\nsize = 100000000\n",
        )
        .unwrap();
    }
    s
}
