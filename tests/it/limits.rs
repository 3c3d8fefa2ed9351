//! `[limits]` in the app's files: an environment's limits hold when it renders, over the app's,
//! under `--limit`; a wrong setting is refused naming the file, the line and the limit.

use kiln_guest_artifacts::HOSTILE;

use crate::common::Scratch;

const APP: &str = "limited";

/// An app whose component `many` renders six ConfigMaps, with environments `tight` (a
/// `[limits]` of five objects) and `roomy` (none).
fn limited_app() -> Scratch {
    let s = Scratch::new();
    s.ok(".", &["init", APP]);
    let app = s.app(APP);
    std::fs::copy(HOSTILE, app.join("hostile.wasm")).unwrap();
    // Written by hand: `generate` previews the component, under the app's limits.
    std::fs::write(
        app.join("components/many.toml"),
        "prototype = \"hostile.wasm\"\n\n[params]\nattack = \"objects\"\nsize = 6\n",
    )
    .unwrap();
    s.ok(APP, &["env", "add", "tight"]);
    s.ok(APP, &["env", "add", "roomy"]);
    append(&s, "environments/tight.toml", "\n[limits]\nobjects = 5\nmemory = \"256MiB\"\n");
    s
}

fn append(s: &Scratch, file: &str, text: &str) {
    let path = s.app(APP).join(file);
    let before = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{before}{text}")).unwrap();
}

/// How many lines `file` of the app has: the number of its last.
fn lines_of(s: &Scratch, file: &str) -> usize {
    std::fs::read_to_string(s.app(APP).join(file)).unwrap().lines().count()
}

fn objects_limit_of(limit: u64) -> String {
    format!("exceeded its `objects` limit of {limit} rendered objects")
}

#[test]
fn limits_of_an_environment_hold_when_it_renders() {
    let s = limited_app();
    let stderr = s.fails(APP, &["show", "tight"]);
    assert!(stderr.contains(&objects_limit_of(5)), "{stderr}");
    assert!(stderr.contains("component `many`"), "{stderr}");
    let shown = s.ok(APP, &["show", "roomy"]);
    assert_eq!(shown.matches("kind: ConfigMap").count(), 6, "{shown}");
    // `validate` renders the environment the same way (and exits 2: it could not run).
    let out = s.run_in(APP, &["validate", "tight"]);
    let (_, stderr) = crate::common::text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&objects_limit_of(5)), "{stderr}");
}

#[test]
fn limits_on_the_command_line_go_over_the_files() {
    let s = limited_app();
    let shown = s.ok(APP, &["show", "tight", "--limit", "objects=6"]);
    assert_eq!(shown.matches("kind: ConfigMap").count(), 6, "{shown}");
    let stderr = s.fails(APP, &["show", "roomy", "--limit", "objects=3"]);
    assert!(stderr.contains(&objects_limit_of(3)), "{stderr}");
}

#[test]
fn limits_of_the_app_hold_under_an_environments() {
    let s = limited_app();
    append(&s, "kiln.toml", "\n[limits]\nobjects = 4\n");
    // `roomy` has no `[limits]`: the app's hold.
    let stderr = s.fails(APP, &["show", "roomy"]);
    assert!(stderr.contains(&objects_limit_of(4)), "{stderr}");
    // `tight`'s own go over the app's.
    let stderr = s.fails(APP, &["show", "tight"]);
    assert!(stderr.contains(&objects_limit_of(5)), "{stderr}");
    append(&s, "environments/roomy.toml", "\n[limits]\nobjects = \"1e3\"\n");
    s.ok(APP, &["show", "roomy"]);
    // Verbs without an environment run prototypes under the app's limits.
    let preview = ["prototype", "preview", "hostile.wasm", "--attack=objects", "--size=6"];
    let stderr = s.fails(APP, &preview);
    assert!(stderr.contains(&objects_limit_of(4)), "{stderr}");
    let raised = [&preview[..2], &["--limit", "objects=6"], &preview[2..]].concat();
    assert!(s.ok(APP, &raised).contains("cm-5"));
}

#[test]
fn a_wrong_setting_names_the_file_line_and_limit() {
    let s = limited_app();
    append(&s, "environments/tight.toml", "objcts = 2\n");
    let stderr = s.fails(APP, &["show", "tight"]);
    let line = lines_of(&s, "environments/tight.toml");
    assert!(
        stderr.starts_with(&format!(
            "error: environments/tight.toml:{line}: `[limits]`: unknown limit `objcts` (did you \
             mean `objects`?); known limits: fuel, time-ms, memory,"
        )),
        "{stderr}"
    );
    // `--limit` says the same of the same mistake.
    let flag = s.fails(APP, &["show", "roomy", "--limit", "objcts=2"]);
    let message = |text: &str| text.split_once("unknown limit").unwrap().1.to_string();
    assert_eq!(message(&flag), message(&stderr));
    // Only `tight` is broken.
    s.ok(APP, &["show", "roomy"]);

    append(&s, "kiln.toml", "\n[limits]\nfuel = \"lots\"\n");
    let line = lines_of(&s, "kiln.toml");
    let stderr = s.fails(APP, &["show", "roomy"]);
    assert!(
        stderr.starts_with(&format!(
            "error: kiln.toml:{line}: `[limits]`: limit `fuel`: `lots` is not a whole number"
        )),
        "{stderr}"
    );
}

/// Kiln edits app files in place: what it writes for `param set` and `env set` leaves the
/// user's `[limits]` as they wrote it.
#[test]
fn editing_an_environment_keeps_its_limits() {
    let s = limited_app();
    let limits = "\n[limits]\nobjects = 5\nmemory = \"256MiB\"\n";
    s.ok(APP, &["param", "set", "--env", "tight", "many", "size", "4"]);
    s.ok(APP, &["env", "set", "tight", "--namespace", "tight-ns"]);
    let text = std::fs::read_to_string(s.app(APP).join("environments/tight.toml")).unwrap();
    assert!(text.contains(limits), "{text}");
    assert!(text.contains("namespace = \"tight-ns\""), "{text}");
    // Four objects are under the environment's limit of five.
    let shown = s.ok(APP, &["show", "tight"]);
    assert_eq!(shown.matches("kind: ConfigMap").count(), 4, "{shown}");
    // `param set` renders under the environment's limits before it writes.
    let stderr = s.fails(APP, &["param", "set", "--env", "tight", "many", "size", "6"]);
    assert!(stderr.contains(&objects_limit_of(5)), "{stderr}");
    s.ok(APP, &["param", "set", "--env", "roomy", "many", "size", "6"]);
}
