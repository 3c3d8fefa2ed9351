//! Text Kiln did not write reaches the terminal escaped, through every command that prints it.
//! The `hostile-text` prototype puts terminal escapes (OSC 52, which writes the clipboard, CSI,
//! an 8-bit CSI), DEL, carriage returns, newlines before lines that look like Kiln's own
//! (`error: forged`), bidi overrides and invisible characters into its description, param docs
//! and defaults, logs, objects and errors; a directory registry does the same in its package's
//! description. Each command runs through the real binary, and both streams are checked.
//!
//! Not covered here: `diff`, `apply` and `delete` need an API server (only `apply
//! --dry-run=client` runs without one, and is covered).

use std::process::Output;

use kiln_guest_artifacts::HOSTILE_TEXT;

use crate::common::{Scratch, kiln, text};

/// The guest's OSC 52 (write "hello" to the clipboard) as Kiln shows it.
const OSC52: &str = r"\u{1b}]52;c;aGVsbG8=\u{7}";
/// The same as JSON writes it.
const OSC52_JSON: &str = r"\u001b]52;c;aGVsbG8=\u0007";
/// The guest's forged line, shown on the line of the text it came in.
const FORGED: &str = r"\nerror: forged";

/// What a terminal would act on or hide: any control but newline and tab (C0, DEL, C1), bidi
/// controls, invisible characters.
fn hostile_chars(text: &str) -> Vec<char> {
    text.chars().filter(|&c| c != '\n' && c != '\t' && kiln::untrusted::needs_escape(c)).collect()
}

/// Check both streams of a command: nothing a terminal would act on, no line the guest or
/// registry started that could pass for one of Kiln's (`error:`, `warning:`, `note:`, `hint:`
/// at the start of a line), and each of `shown` (how the hostile text looks escaped) somewhere,
/// so the user sees what was sent. Returns stdout and stderr.
#[track_caller]
fn check(what: &str, out: &Output, code: i32, shown: &[&str]) -> (String, String) {
    let (stdout, stderr) = text(out);
    assert_eq!(out.status.code(), Some(code), "{what}: exit status\n{stdout}\n{stderr}");
    for (stream, bytes, text) in
        [("stdout", &out.stdout, &stdout), ("stderr", &out.stderr, &stderr)]
    {
        assert!(std::str::from_utf8(bytes).is_ok(), "{what}: {stream} is not UTF-8");
        let bad = hostile_chars(text);
        assert!(bad.is_empty(), "{what}: {stream} holds {bad:?} raw:\n{text}");
        // The guest's and the registry's lines all say `forged` right after the label.
        for line in text.lines() {
            for label in ["error:", "warning:", "note:", "hint:"] {
                let forged = line.starts_with(&format!("{label} forged"));
                assert!(!forged, "{what}: {stream} has a forged line `{line}`:\n{text}");
            }
        }
    }
    let both = format!("{stdout}{stderr}");
    for s in shown {
        assert!(both.contains(s), "{what}: `{s}` is not shown:\n{both}");
    }
    (stdout, stderr)
}

/// A package source for the `hostile-text` prototype whose description is hostile too (TOML
/// escapes, so the file itself is plain).
fn package_source(s: &Scratch) {
    let dir = s.dir.path().join("src");
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!(
        "name = \"hostile\"\nversion = \"1.0.0\"\n\
         description = \"Hostile package \\u001b]52;c;aGVsbG8=\\u0007 \\u001b[31mred \\u009b2J \
         del\\u007f cr\\rover\\nerror: forged \\u202eright-to-left \\u2066isolate \
         zero\\u200bwidth tag\\U000E0041\"\n\
         [[prototypes]]\nname = \"hostile-text\"\nfile = \"{}\"\n",
        HOSTILE_TEXT.replace('\\', "\\\\")
    );
    std::fs::write(dir.join("kiln-package.toml"), text).unwrap();
}

/// An app with the hostile package installed from a directory registry, component `web` of
/// it, and a second environment `other`.
fn hostile_app() -> Scratch {
    let s = Scratch::new();
    package_source(&s);
    let out = s.run_in(".", &["pkg", "publish", "src", "--to", "registry"]);
    check("pkg publish", &out, 0, &[]);
    s.ok(".", &["init", "app", "--namespace", "dev"]);
    s.ok("app", &["registry", "add", "local", "../registry"]);
    s.ok("app", &["env", "add", "other", "--namespace", "other", "--kubernetes-version", "1.33"]);
    s.ok("app", &["pkg", "install", "local/hostile", "--yes"]);
    s.ok("app", &["generate", "hostile-text", "web", "--required=r"]);
    s
}

#[test]
fn registry_text_is_escaped_in_every_listing() {
    let s = Scratch::new();
    package_source(&s);
    s.ok(".", &["pkg", "publish", "src", "--to", "registry"]);
    s.ok(".", &["init", "app", "--namespace", "dev"]);
    let run = |args: &[&str]| s.run_in("app", args);
    check("registry add", &run(&["registry", "add", "local", "../registry"]), 0, &[]);
    check("registry describe", &run(&["registry", "describe", "local"]), 0, &[OSC52, FORGED]);
    check("pkg list", &run(&["pkg", "list"]), 0, &[OSC52, FORGED]);
    check("pkg search", &run(&["pkg", "search", "hostile"]), 0, &[OSC52, FORGED]);
    check("pkg describe", &run(&["pkg", "describe", "local/hostile"]), 0, &[OSC52, FORGED]);
    // Without a terminal and without --yes the grant is refused, naming what was asked.
    let (_, stderr) = check("pkg install", &run(&["pkg", "install", "local/hostile"]), 1, &[]);
    assert!(stderr.contains("asks to emit"), "{stderr}");
    let (_, stderr) =
        check("pkg install --yes", &run(&["pkg", "install", "local/hostile", "--yes"]), 0, &[]);
    assert!(stderr.contains("granted (--yes)"), "{stderr}");
    check("pkg list --installed", &run(&["pkg", "list", "--installed"]), 0, &[]);
    check("pkg describe installed", &run(&["pkg", "describe", "hostile"]), 0, &[OSC52, FORGED]);
    check("pkg update", &run(&["pkg", "update"]), 0, &[]);
    check("pkg verify", &run(&["pkg", "verify"]), 0, &[]);
}

/// A registry whose index quotes hostile text where TOML cannot read it: the parse error
/// quotes it back, escaped and on one line.
#[test]
fn an_unreadable_index_is_reported_with_its_text_escaped() {
    let s = Scratch::new();
    s.ok(".", &["init", "app", "--namespace", "dev"]);
    let registry = s.dir.path().join("bad-registry");
    std::fs::create_dir_all(&registry).unwrap();
    std::fs::write(
        registry.join("index.toml"),
        "[packages.web]\n\"x\\u001b]52;c;aGVsbG8=\\u0007\\nerror: forged\" = 1\n",
    )
    .unwrap();
    let out = s.run_in("app", &["registry", "add", "bad", "../bad-registry"]);
    check("registry add (bad index)", &out, 1, &[OSC52, FORGED]);
}

#[test]
fn a_prototypes_description_docs_and_defaults_are_escaped() {
    let s = hostile_app();
    let run = |args: &[&str]| s.run_in("app", args);
    let shown = [OSC52, FORGED, r"\u{9b}2J", r"\u{202e}", r"\u{e0041}", r"\r"];
    check("prototype describe", &run(&["prototype", "describe", "hostile-text"]), 0, &shown);
    let (stdout, _) = check(
        "prototype describe --imports",
        &run(&["prototype", "describe", "hostile-text", "--imports"]),
        0,
        &shown,
    );
    assert!(stdout.contains("\n  Hostile text"), "the description is indented:\n{stdout}");
    for (flag, json) in [("--json", true), ("--json-schema", false)] {
        let out = run(&["prototype", "describe", "hostile-text", flag]);
        let (stdout, _) = check(&format!("prototype describe {flag}"), &out, 0, &[OSC52_JSON]);
        let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        if json {
            // JSON reads back as exactly what the guest said.
            let description = value["description"].as_str().unwrap();
            assert!(description.contains("\u{1b}]52;c;aGVsbG8=\u{7}"), "{description}");
            assert!(description.contains("\u{9b}2J\u{20}del\u{7f}"), "{description}");
            assert!(description.contains("\u{202e}desrever\u{202c}"), "{description}");
        }
    }
    // Listings show the description's first line.
    check("prototype list", &run(&["prototype", "list"]), 0, &[OSC52, r"cr\rover"]);
    check("prototype search", &run(&["prototype", "search", "hostile"]), 0, &[OSC52]);
    let out = run(&["prototype", "preview", HOSTILE_TEXT, "--help"]);
    let (stdout, _) = check("prototype preview --help", &out, 0, &shown);
    assert!(stdout.starts_with("  Hostile text"), "{stdout}");
    check("generate --help", &run(&["generate", "hostile-text", "--help"]), 0, &shown);
    check("generate NAME --help", &run(&["generate", "hostile-text", "x", "--help"]), 0, &shown);
    check("component list", &run(&["component", "list"]), 0, &[]);
    check("param list", &run(&["param", "list"]), 0, &[OSC52, FORGED]);
    check("param list --env", &run(&["param", "list", "web", "--env", "other"]), 0, &[OSC52]);
    s.ok("app", &["param", "set", "--env", "other", "web", "text", "user\u{1b}[2Jtext"]);
    check("param diff", &run(&["param", "diff", "default", "other"]), 0, &[OSC52, r"\u{1b}[2J"]);
    check("env describe", &run(&["env", "describe", "other"]), 0, &[r"user\u001b[2Jtext"]);
    check("env list", &run(&["env", "list"]), 0, &[]);
}

#[test]
fn findings_name_what_the_guest_wrote_escaped() {
    let s = hostile_app();
    let run = |args: &[&str]| s.run_in("app", args);
    let shown = [OSC52, r"\u{202e}"];
    let (stdout, _) = check("validate", &run(&["validate", "default"]), 1, &shown);
    assert!(stdout.lines().count() > 1, "{stdout}");
    let (stdout, _) =
        check("validate -o json", &run(&["validate", "default", "-o", "json"]), 1, &[OSC52_JSON]);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["message"].as_str().unwrap().contains("\u{1b}]52;c;aGVsbG8=")),
        "JSON reads back as what the guest wrote: {report:#}"
    );
    // `show` and `apply` print the findings on stderr and refuse; the logs come first.
    check("show", &run(&["show", "default"]), 1, &shown);
    check("show -v (logs)", &run(&["show", "default", "-v"]), 1, &[r"debug: debug x\u{1b}]52"]);
    check("validate -v (logs)", &run(&["validate", "default", "-v"]), 1, &[OSC52, "[web] info"]);
    check("apply --dry-run", &run(&["apply", "default", "--dry-run"]), 1, &shown);
    // Told not to validate, it names each object it would apply, the guest's name escaped.
    let args = ["apply", "default", "--dry-run", "--no-validate"];
    let (stdout, _) = check("apply --dry-run --no-validate", &run(&args), 0, &[OSC52, FORGED]);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
}

/// Set component `web`'s `mode` in its file, as a user editing it would.
fn set_mode_by_hand(s: &Scratch, mode: &str) {
    let path = s.app("app").join("components/web.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("mode = ")).collect();
    assert!(kept.last().is_some_and(|l| !l.starts_with('[')), "params last: {text}");
    std::fs::write(&path, format!("{}\nmode = \"{mode}\"\n", kept.join("\n"))).unwrap();
}

#[test]
fn render_errors_quote_the_guest_escaped() {
    let s = hostile_app();
    let run = |args: &[&str]| s.run_in("app", args);
    // A panic's lines are joined with spaces by the engine; the rest keep the guest's newline,
    // escaped.
    for (mode, said, newline) in [
        ("fail", r"failed: failed x\u{1b}]52", FORGED),
        ("param", r"rejected param `param x\u{1b}]52", FORGED),
        ("trap", r"panicked x\u{1b}]52", " error: forged"),
    ] {
        // `param set` renders before it writes, so it quotes the guest's error too, and a
        // failing mode is written by hand.
        let refused = run(&["param", "set", "web", "mode", mode]);
        check(&format!("param set ({mode})"), &refused, 1, &[said]);
        set_mode_by_hand(&s, mode);
        check(&format!("show ({mode})"), &run(&["show", "default"]), 1, &[said, newline]);
        check(&format!("validate ({mode})"), &run(&["validate", "default"]), 2, &[said]);
        let out =
            run(&["generate", "hostile-text", "again", "--required=r", &format!("--mode={mode}")]);
        check(&format!("generate ({mode})"), &out, 1, &[said]);
        let cache = tempfile::tempdir().unwrap();
        let args =
            ["prototype", "preview", HOSTILE_TEXT, "--required=r", &format!("--mode={mode}")];
        check(&format!("prototype preview ({mode})"), &kiln(&args, cache.path()), 1, &[said]);
    }
}

/// `kiln show` and `prototype preview` print data for kubectl and GitOps tools: YAML whose
/// double-quoted scalars escape every control character, so none reaches a terminal raw, and
/// which reads back as exactly what the guest rendered.
#[test]
fn shown_objects_escape_controls_and_read_back_the_same() {
    let s = hostile_app();
    s.ok("app", &["param", "set", "web", "mode", "valid"]);
    let yaml = s.ok("app", &["show", "default"]);
    let json = s.ok("app", &["show", "default", "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    let object = &list["items"][0];
    let data = object["data"]["text"].as_str().unwrap();
    assert!(data.contains("\u{1b}]52;c;aGVsbG8=\u{7}") && data.contains("\nerror: forged"));
    let documents: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&yaml).expect("kiln show prints YAML");
    assert_eq!(
        documents,
        std::slice::from_ref(object),
        "YAML and JSON hold the same object:\n{yaml}"
    );
    // YAML escapes every control character (C0, DEL, C1) in double quotes; JSON escapes C0.
    // Bidi controls and invisible characters are not terminal controls, and stay as they are
    // in the data.
    let controls = |text: &str| -> Vec<char> {
        text.chars().filter(|&c| c.is_control() && c != '\n').collect()
    };
    assert!(controls(&yaml).is_empty(), "{:?} raw in:\n{yaml}", controls(&yaml));
    assert!(!json.chars().any(|c| (c as u32) < 0x20 && c != '\n'), "{json}");
    for output in [&yaml, &json] {
        assert!(!output.lines().any(|l| l.starts_with("error: forged")), "{output}");
    }
    assert!(
        yaml.contains(
            r#"text: "x\e]52;c;aGVsbG8=\a \e[31mred\e[0m \x9B2J del\x7F cr\rover\nerror: forged\n"#
        ),
        "{yaml}"
    );
    let cache = tempfile::tempdir().unwrap();
    let args = ["prototype", "preview", HOSTILE_TEXT, "--required=r", "--mode=valid"];
    let preview = kiln(&args, cache.path());
    assert!(preview.status.success(), "{}", text(&preview).1);
    let (preview, _) = text(&preview);
    assert!(controls(&preview).is_empty(), "{preview}");
    let dry_run = s.ok("app", &["apply", "default", "--dry-run"]);
    assert_eq!(dry_run, "ConfigMap/dev/valid (dry run, component web)\n");
}

/// `kiln show -o json` (and `prototype preview -o json`) writes DEL and C1 controls as `\u`
/// escapes, which read back the same, not raw as serde_json alone would: a terminal may act
/// on an 8-bit CSI.
#[test]
fn shown_json_escapes_del_and_c1() {
    let s = hostile_app();
    s.ok("app", &["param", "set", "web", "mode", "valid"]);
    let out = s.run_in("app", &["show", "default", "-o", "json"]);
    let (stdout, _) = check("show -o json", &out, 0, &[OSC52_JSON]);
    let list: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(list["items"][0]["data"]["text"].as_str().unwrap().contains("\u{9b}2J"));
}
