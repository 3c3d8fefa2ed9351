//! Secret params end to end: a value goes from `kiln secret set` to the applied Secret on the
//! real API server and nowhere else (not the app's files or their git history, `show`, `diff`,
//! revisions, logs or errors), and a prototype that tries to get it out gets nothing usable.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use kiln_guest_artifacts::{OLD_WIT, SECRET_USER};

use crate::common::{Scratch, text};

fn namespace(test: &str) -> String {
    format!("kiln-{test}-{}", std::process::id())
}

/// A value no render, file or message could hold by chance.
fn value(test: &str) -> String {
    format!("pw-{test}-{}-n0t-in-any-file", std::process::id())
}

/// App `name` with environment `default` (namespace `ns`) and the secret-user prototype copied in.
fn app(s: &Scratch, name: &str, ns: &str) {
    s.ok(".", &["init", name, "--context", "envtest", "--namespace", ns]);
    std::fs::create_dir(s.app(name).join("prototypes")).unwrap();
    std::fs::copy(SECRET_USER, s.app(name).join("prototypes/secret-user.wasm")).unwrap();
}

/// Run kiln in app `name` with `identity` as the age identity, `env` set, `stdin` as input.
fn run(
    s: &Scratch,
    name: &str,
    identity: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: &str,
) -> Output {
    let mut command: Command = s.command(name, args);
    command.env("KILN_AGE_IDENTITY", identity).envs(env.iter().copied());
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("run kiln");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// `run`, required to succeed; stdout and stderr.
fn ok(s: &Scratch, name: &str, identity: &std::path::Path, args: &[&str], stdin: &str) -> String {
    let out = run(s, name, identity, &[], args, stdin);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "kiln {args:?} failed:\n{stderr}");
    stdout + &stderr
}

/// `run`, required to fail with exit code 1; stdout and stderr.
fn fails(s: &Scratch, name: &str, identity: &std::path::Path, args: &[&str]) -> String {
    let out = run(s, name, identity, &[], args, "");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "kiln {args:?} should fail:\n{stdout}{stderr}");
    stdout + &stderr
}

/// A new identity at `path`; its recipient.
fn keygen(s: &Scratch, path: &std::path::Path) -> String {
    let out = s.command(".", &["secret", "keygen", "--output", path.to_str().unwrap()]).output();
    let out = out.unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    text(&out).0.trim().to_string()
}

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git is installed");
    assert!(out.status.success(), "git {args:?}: {}", text(&out).1);
    text(&out).0
}

/// Every revision's objects, as text (gunzipped), by reading the revision Secrets' data.
fn revisions_text(s: &Scratch, ns: &str) -> String {
    let names = s.kubectl(&[
        "-n",
        ns,
        "get",
        "secrets",
        "-l",
        "kiln.dev/revision",
        "-o",
        "jsonpath={range .items[*]}{.data.objects}{\"\\n\"}{end}",
    ]);
    let mut all = String::new();
    for encoded in names.lines().filter(|l| !l.is_empty()) {
        let mut gunzip = Command::new("sh")
            .args(["-c", "base64 -d | gzip -dc"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("sh, base64 and gzip are installed");
        gunzip.stdin.take().unwrap().write_all(encoded.as_bytes()).unwrap();
        let out = gunzip.wait_with_output().unwrap();
        all.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    all
}

#[test]
fn a_value_goes_from_secret_set_to_the_applied_secret_and_nowhere_else() {
    let s = Scratch::with_cluster();
    let ns = namespace("secret-trip");
    let identity = s.dir.path().join("keys.txt");
    let recipient = keygen(&s, &identity);
    app(&s, "a", &ns);
    let first = value("first");
    let second = value("second");
    let app_dir = s.app("a");
    git(&app_dir, &["init", "-q"]);

    // No recipient yet: nothing is stored, and the hint says how to add one.
    let before = s.files("a");
    let err =
        text(&run(&s, "a", &identity, &[], &["secret", "set", "default", "db-password"], &first)).1;
    assert!(
        err.contains("no recipients") && err.contains("kiln secret recipient add default"),
        "{err}"
    );
    assert_eq!(s.files("a"), before, "a refused `secret set` changed the app");

    ok(&s, "a", &identity, &["secret", "recipient", "add", "default", &recipient], "");
    ok(&s, "a", &identity, &["secret", "set", "default", "db-password"], &format!("{first}\n"));
    ok(
        &s,
        "a",
        &identity,
        &["generate", "prototypes/secret-user.wasm", "db", "--password=db-password"],
        "",
    );
    let listed = ok(&s, "a", &identity, &["secret", "list", "default"], "");
    assert!(listed.contains("db-password") && listed.contains(&recipient), "{listed}");
    git(&app_dir, &["add", "-A"]);
    git(&app_dir, &["commit", "-qm", "first"]);

    // `show` masks; `--reveal-secrets` decrypts.
    let shown = ok(&s, "a", &identity, &["show", "default"], "");
    assert!(shown.contains("password: <secret db-password>"), "{shown}");
    assert!(shown.contains("1 secret masked"), "{shown}");
    let revealed = ok(&s, "a", &identity, &["show", "default", "--reveal-secrets"], "");
    assert!(revealed.contains(&first), "{revealed}");

    // Applied: the Secret holds the value, read back by kubectl.
    ok(&s, "a", &identity, &["apply", "default"], "");
    let applied = s.kubectl(&["-n", &ns, "get", "secret", "db", "-o", "jsonpath={.data.password}"]);
    let decoded = Command::new("sh")
        .args(["-c", &format!("printf %s {applied} | base64 -d")])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&decoded.stdout), first);

    // A new value: diff names the key and prints neither value; apply sends it.
    ok(&s, "a", &identity, &["secret", "set", "default", "db-password"], &second);
    git(&app_dir, &["commit", "-qam", "second"]);
    let out = run(&s, "a", &identity, &[], &["diff", "default"], "");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "diff should find a change:\n{stdout}{stderr}");
    assert!(stdout.contains("*** (before)") && stdout.contains("*** (after)"), "{stdout}");
    for v in [&first, &second] {
        assert!(!stdout.contains(v.as_str()) && !stderr.contains(v.as_str()), "diff printed {v}");
    }
    let applied = ok(&s, "a", &identity, &["apply", "default"], "");
    assert!(!applied.contains(&second), "{applied}");
    let live = s.kubectl(&["-n", &ns, "get", "secret", "db", "-o", "jsonpath={.data.password}"]);
    assert_ne!(live, String::new());

    // Revisions keep masks; the inventory and events keep nothing of the values either.
    let revisions = revisions_text(&s, &ns);
    assert!(revisions.contains("<secret db-password>"), "{revisions}");
    let configmaps = s.kubectl(&["-n", &ns, "get", "configmaps", "-o", "json"]);
    for v in [&first, &second] {
        assert!(!revisions.contains(v.as_str()), "a revision holds {v}");
        assert!(!configmaps.contains(v.as_str()), "a ConfigMap holds {v}");
    }

    // A rollback needs no value: the live Secret keeps the one it has.
    ok(&s, "a", &identity, &["rollback", "default", "1"], "");
    let after = s.kubectl(&["-n", &ns, "get", "secret", "db", "-o", "jsonpath={.data.password}"]);
    assert_eq!(after, live, "a rollback changed the secret's value");
    let status = run(&s, "a", &identity, &[], &["status", "default"], "");
    let (stdout, _) = text(&status);
    // In sync: the revision's mask is completed with the live value before comparing.
    assert!(stdout.contains(&format!("Secret/{ns}/db  present  in sync")), "{stdout}");
    assert!(!stdout.contains(&second), "{stdout}");

    // Nothing in the app or its history holds either value in plain text.
    let history = git(&app_dir, &["log", "-p", "--all"]);
    for v in [&first, &second] {
        assert!(!history.contains(v.as_str()), "git history holds {v}");
        for (file, bytes) in s.files("a") {
            assert!(!String::from_utf8_lossy(&bytes).contains(v.as_str()), "{file} holds {v}");
        }
    }
    s.kubectl(&["delete", "namespace", &ns, "--wait=false"]);
}

/// Component `db` of app `a`, whose secret param names `db-password`, taken at the time of
/// use from the process environment's `DB_PW`.
fn db_with_secret_from_env(s: &Scratch, identity: &std::path::Path) {
    let set = ["secret", "set", "default", "db-password", "--from-env", "DB_PW"];
    ok(s, "a", identity, &set, "");
    let generate = ["generate", "prototypes/secret-user.wasm", "db", "--password=db-password"];
    ok(s, "a", identity, &generate, "");
}

#[test]
fn a_prototype_that_misuses_its_secret_gets_nothing_usable() {
    let s = Scratch::new();
    let identity = s.dir.path().join("none.txt");
    app(&s, "a", "default");
    let secret = value("hostile");
    // From the process environment: no identity needed, and the value is at hand to look for.
    db_with_secret_from_env(&s, &identity);
    ok(
        &s,
        "a",
        &identity,
        &[
            "generate",
            "prototypes/secret-user.wasm",
            "spy",
            "--password=db-password",
            "--use=others",
        ],
        "",
    );
    let env = [("DB_PW", secret.as_str())];
    let show = |args: &[&str]| run(&s, "a", &identity, &env, args, "");

    let refused = [
        ("configmap", "ConfigMap/db` at `data.password`"),
        ("annotation", "Secret/db` at `metadata.annotations.copy`"),
        ("name", "ConfigMap/kiln-secret:"),
        ("key", "ConfigMap/db` at `data.kiln-secret:"),
        ("data", "Secret/db` at `data.encoded` (base64-encoded)"),
        ("split", "ConfigMap/db` at `data.a` (as part of a string)"),
    ];
    for (use_, place) in refused {
        s.ok("a", &["param", "set", "db", "use", use_]);
        let out = show(&["show", "default", "--reveal-secrets", "-c", "db"]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{use_}: should fail:\n{stdout}{stderr}");
        let expected =
            format!("component `db` put the reference to secret `db-password` in {place}");
        assert!(stderr.replace('`', "").contains(&expected.replace('`', "")), "{use_}: {stderr}");
        assert!(!stdout.contains(&secret) && !stderr.contains(&secret), "{use_}: leaked");
    }

    // A hash, a log line or an error message carries the reference, never the value, and the
    // process environment and files hold nothing for a prototype (`read`): revealed, the value
    // is where the prototype placed it, in its Secret, and nowhere else.
    for (use_, placed) in [("hash", 1), ("log", 1), ("read", 1)] {
        s.ok("a", &["param", "set", "db", "use", use_]);
        let out = show(&["show", "default", "--reveal-secrets", "-c", "db"]);
        let (stdout, stderr) = text(&out);
        assert_eq!(stdout.matches(&secret).count(), placed, "{use_}: {stdout}");
        assert!(!stderr.contains(&secret), "{use_}: {stderr}");
    }
    let out = run(&s, "a", &identity, &env, &["param", "set", "db", "use", "error"], "");
    let stderr = text(&out).1;
    assert!(
        stderr.contains("the password is kiln-secret:") && !stderr.contains(&secret),
        "{stderr}"
    );

    // The hash changes at every render: the reference is new each time.
    s.ok("a", &["param", "set", "db", "use", "hash"]);
    let hashes: Vec<String> =
        (0..2).map(|_| text(&show(&["show", "default", "-c", "db", "-o", "json"])).0).collect();
    assert_ne!(hashes[0], hashes[1]);

    // Another component sees no secret param of the others, nor its own.
    let out = show(&["show", "default", "-c", "spy", "--reveal-secrets"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("seen: db.use,spy.use"), "{stdout}");
    assert!(stdout.contains(&secret), "the spy's own Secret gets the value:\n{stdout}");

    // From a file, relative to the app wherever the command runs.
    std::fs::write(s.app("a").join("pw.txt"), format!("{secret}-file")).unwrap();
    ok(
        &s,
        "a",
        &identity,
        &["secret", "set", "default", "db-password", "--from-file", "pw.txt"],
        "",
    );
    let out = run(
        &s,
        "a/prototypes",
        &identity,
        &[],
        &["show", "default", "-c", "spy", "--reveal-secrets"],
        "",
    );
    let (stdout, stderr) = text(&out);
    assert!(stdout.contains(&format!("{secret}-file")), "{stdout}{stderr}");
    ok(&s, "a", &identity, &["secret", "set", "default", "db-password", "--from-env", "DB_PW"], "");

    // The variable unset: a clear error naming the secret and the environment.
    let out =
        run(&s, "a", &identity, &[], &["show", "default", "-c", "spy", "--reveal-secrets"], "");
    let stderr = text(&out).1;
    assert!(
        stderr.contains("secret `db-password` of environment `default`")
            && stderr.contains("no `DB_PW`"),
        "{stderr}"
    );
}

#[test]
fn a_wrong_identity_a_moved_value_and_a_tampered_file_are_refused_with_the_files_kept() {
    let s = Scratch::new();
    let (mine, theirs) = (s.dir.path().join("mine.txt"), s.dir.path().join("theirs.txt"));
    let recipient = keygen(&s, &mine);
    keygen(&s, &theirs);
    app(&s, "a", "default");
    ok(&s, "a", &mine, &["secret", "recipient", "add", "default", &recipient], "");
    ok(&s, "a", &mine, &["secret", "set", "default", "db-password"], &value("a"));
    ok(&s, "a", &mine, &["secret", "set", "default", "other"], &value("b"));
    ok(
        &s,
        "a",
        &mine,
        &["generate", "prototypes/secret-user.wasm", "db", "--password=db-password"],
        "",
    );
    let kept = s.files("a");

    // Someone else's identity.
    let err = fails(&s, "a", &theirs, &["show", "default", "--reveal-secrets"]);
    assert!(err.contains("secret `db-password` of environment `default`"), "{err}");
    assert!(err.contains("none of the identities"), "{err}");
    // No identity at all.
    let err =
        fails(&s, "a", &s.dir.path().join("missing.txt"), &["show", "default", "--reveal-secrets"]);
    assert!(
        err.contains("cannot read the age identity") && err.contains("kiln secret keygen"),
        "{err}"
    );
    // Adding a recipient needs to decrypt, so it fails the same way and changes nothing.
    fails(
        &s,
        "a",
        &theirs,
        &["secret", "recipient", "add", "default", &keygen(&s, &s.dir.path().join("x.txt"))],
    );
    assert_eq!(s.files("a"), kept);

    // One value moved under another name.
    let path = s.app("a").join("secrets/default.toml");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut file: toml::Table = original.parse().unwrap();
    let secrets = file["secrets"].as_table_mut().unwrap();
    let other = secrets["other"].clone();
    secrets.insert("db-password".into(), other);
    std::fs::write(&path, toml::to_string(&file).unwrap()).unwrap();
    let err = fails(&s, "a", &mine, &["show", "default", "--reveal-secrets"]);
    assert!(err.contains("made for secret `other`") && err.contains("tampered"), "{err}");

    // One character of the ciphertext changed.
    let armored = original.lines().position(|l| l.starts_with("-----BEGIN AGE")).unwrap();
    let mut lines: Vec<String> = original.lines().map(String::from).collect();
    let body = &mut lines[armored + 1];
    let flipped = if body.starts_with('Y') { "Z" } else { "Y" };
    body.replace_range(0..1, flipped);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let err = fails(&s, "a", &mine, &["show", "default", "--reveal-secrets"]);
    assert!(
        err.contains("secret `db-password` of environment `default`") && err.contains("edited"),
        "{err}"
    );

    // A secret a param still names, removed: said, with where it is named.
    std::fs::write(&path, &original).unwrap();
    let removed = ok(&s, "a", &mine, &["secret", "rm", "default", "db-password"], "");
    assert!(
        removed.contains("secret `db-password` is still named at components/db.toml:"),
        "{removed}"
    );
    std::fs::write(&path, &original).unwrap();

    // A secret param naming no secret of the environment.
    let err = fails(&s, "a", &mine, &["param", "set", "db", "password", "nope"]);
    assert!(err.contains("secret `nope` (param `password` of component `db`) is not set"), "{err}");
    assert!(err.contains("kiln secret set default nope"), "{err}");
    // A value where the name belongs, by hand: refused, and not echoed back.
    let component = s.app("a").join("components/db.toml");
    let text_before = std::fs::read_to_string(&component).unwrap();
    let edited = text_before.replace("{ secret = \"db-password\" }", "\"hunter2-plain\"");
    assert_ne!(edited, text_before, "{text_before}");
    std::fs::write(&component, edited).unwrap();
    let err = fails(&s, "a", &mine, &["show", "default"]);
    assert!(
        err.contains("param `password` is a secret") && !err.contains("hunter2-plain"),
        "{err}"
    );
}

#[test]
fn a_prototype_built_for_wit_0_2_runs_beside_secret_params() {
    let s = Scratch::new();
    let identity = s.dir.path().join("none.txt");
    app(&s, "a", "default");
    std::fs::copy(OLD_WIT, s.app("a").join("prototypes/old.wasm")).unwrap();
    let described = s.ok("a", &["prototype", "describe", "prototypes/old.wasm"]);
    assert!(described.contains("greeting"), "{described}");
    db_with_secret_from_env(&s, &identity);
    s.ok("a", &["generate", "prototypes/old.wasm", "old", "--greeting=hi"]);
    let out = run(&s, "a", &identity, &[("DB_PW", "x")], &["show", "default", "-c", "old"], "");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("greeting: hi"), "{stdout}");
    // Its view of the app: every param but the other component's secret.
    assert!(stdout.contains("seen: db.use,old.greeting"), "{stdout}");
    assert!(stderr.contains("greeting old"), "its log line: {stderr}");
}
