//! One change of an environment at a time (the environment's Lease), and the environment's
//! namespace created by `apply`, against the real kube-apiserver (tests/envtest).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cluster::{cluster_app, namespace};
use crate::common::{Scratch, text};

/// An RFC 3339 time with microseconds (a Lease's MicroTime), `offset` seconds from now.
fn micro_time(offset: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let at = now.as_secs() as i64 + offset;
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{at}"), "+%Y-%m-%dT%H:%M:%S.000000Z"])
        .output()
        .expect("date is installed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Take the lease of `app`'s `dev` as another machine's Kiln would, renewed `renewed` seconds
/// from now (negative: in the past).
fn take_lease_as_someone_else(s: &Scratch, app: &str, ns: &str, renewed: i64) {
    let lease = format!(
        "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: kiln-lease-{app}-dev\n  namespace: {ns}\n  annotations:\n    kiln.dev/operation: apply\nspec:\n  holderIdentity: someone@elsewhere pid 42\n  acquireTime: \"{}\"\n  renewTime: \"{}\"\n  leaseDurationSeconds: 30\n",
        micro_time(renewed - 60),
        micro_time(renewed)
    );
    s.kubectl_stdin(&["apply", "-f", "-"], &lease);
}

fn leases(s: &Scratch, ns: &str) -> String {
    s.kubectl(&["-n", ns, "get", "leases", "-o", "name"])
}

#[test]
fn a_held_lease_stops_a_second_apply_naming_the_holder() {
    let (app, ns) = ("held", &namespace("held"));
    let s = cluster_app(app, ns);
    take_lease_as_someone_else(&s, app, ns, 0);

    let stderr = s.fails(app, &["apply", "dev"]);
    assert!(
        stderr.starts_with(
            "error: environment `dev` is locked by someone@elsewhere pid 42 (running `kiln apply`) \
             since "
        ),
        "{stderr}"
    );
    assert!(stderr.contains(", last renewed "), "{stderr}");
    let command = format!("kubectl -n {ns} delete lease kiln-lease-{app}-dev");
    assert!(stderr.contains("hint: wait for it to finish"), "{stderr}");
    assert!(stderr.contains(&format!("`{command}`")), "{stderr}");
    let applied = s.kubectl(&["-n", ns, "get", "deployments,services", "-o", "name"]);
    assert_eq!(applied, "", "nothing applied");
    let stderr = s.fails(app, &["delete", "dev"]);
    assert!(stderr.starts_with("error: environment `dev` is locked by someone"), "{stderr}");

    // Changing nothing, a server dry run and a diff take no lease.
    s.ok(app, &["apply", "dev", "--dry-run=server"]);
    assert_eq!(s.run_in(app, &["diff", "dev"]).status.code(), Some(1), "a diff, not an error");

    // Broken by hand as the hint says, the lease is Kiln's to take; and given back after.
    let args: Vec<&str> = command.split(' ').skip(1).collect();
    s.kubectl(&args);
    s.ok(app, &["apply", "dev"]);
    assert_eq!(leases(&s, ns), "", "released after the apply");
}

#[test]
fn a_lease_whose_holder_stopped_renewing_is_taken_over() {
    let (app, ns) = ("stale", &namespace("stale"));
    let s = cluster_app(app, ns);
    take_lease_as_someone_else(&s, app, ns, -3600);
    let out = s.run_in(app, &["apply", "dev"]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "note: took over the lease of `dev` from someone@elsewhere pid 42, who last renewed \
             it 1 h ago and is gone"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("applied `dev`: 2 created"), "{stderr}");
    assert_eq!(leases(&s, ns), "", "released after the apply");
}

/// Wait until the lease of `app`'s `dev` exists; its JSON.
fn wait_for_lease(s: &Scratch, app: &str, ns: &str) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let listed = leases(s, ns);
        if listed.contains(&format!("kiln-lease-{app}-dev")) {
            let name = format!("lease/kiln-lease-{app}-dev");
            return serde_json::from_str(&s.kubectl(&["-n", ns, "get", &name, "-o", "json"]))
                .unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no lease taken: {listed}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A real pair: an apply that holds the lease while it waits (the test server runs no pods,
/// so its Deployment never becomes ready), and a second one that fails naming the first's
/// process; Ctrl-C stops the first, which gives the lease back on its way out.
#[test]
fn a_second_apply_fails_while_the_first_runs_and_ctrl_c_releases() {
    let (app, ns) = ("pair", &namespace("pair"));
    let s = cluster_app(app, ns);
    let first = s
        .command(app, &["apply", "dev", "--wait", "--timeout", "120"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kiln");
    let pid = first.id();
    let lease = wait_for_lease(&s, app, ns);
    let holder = lease["spec"]["holderIdentity"].as_str().unwrap();
    assert!(holder.contains(&format!(" pid {pid}")), "{holder}");
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 30);
    let labels = &lease["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/managed-by"], "kiln");
    assert_eq!(labels["kiln.dev/app"], app);
    assert_eq!(labels["kiln.dev/environment"], "dev");

    let stderr = s.fails(app, &["apply", "dev"]);
    assert!(stderr.starts_with("error: environment `dev` is locked by "), "{stderr}");
    assert!(stderr.contains(&format!(" pid {pid}")), "names the first apply: {stderr}");
    assert!(stderr.contains("(running `kiln apply`)"), "{stderr}");

    let interrupted = Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
    assert!(interrupted.success());
    let out = first.wait_with_output().unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(leases(&s, ns), "", "given back after Ctrl-C");
}

/// While it works, the holder renews its lease (every 10 s); a lease broken by hand meanwhile
/// stops it at its next renewal, rather than let it run beside whoever takes the lease next.
#[test]
fn the_holder_renews_its_lease_and_stops_when_it_is_broken() {
    let (app, ns) = ("renew", &namespace("renew"));
    let s = cluster_app(app, ns);
    let mut first = s
        .command(app, &["apply", "dev", "--wait", "--timeout", "120"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kiln");
    let taken = wait_for_lease(&s, app, ns);
    std::thread::sleep(Duration::from_secs(11));
    let renewed = wait_for_lease(&s, app, ns);
    assert_eq!(renewed["spec"]["acquireTime"], taken["spec"]["acquireTime"]);
    assert_ne!(renewed["spec"]["renewTime"], taken["spec"]["renewTime"], "renewed");
    assert!(first.try_wait().unwrap().is_none(), "still waiting");

    s.kubectl(&["-n", ns, "delete", "lease", &format!("kiln-lease-{app}-dev")]);
    let started = Instant::now();
    let out = first.wait_with_output().unwrap();
    let (_, stderr) = text(&out);
    assert!(started.elapsed() < Duration::from_secs(20), "stopped at the next renewal");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: stopped: lost the lease `Lease/{ns}/kiln-lease-{app}-dev` while working (it \
             was deleted"
        )),
        "{stderr}"
    );
    assert_eq!(leases(&s, ns), "", "not taken again on the way out");
}

/// Two applies started together: exactly one takes the lease (a create fails if the lease
/// exists), the other fails naming it. The winner then times out waiting (no pods run here).
#[test]
fn of_two_applies_racing_for_the_lease_exactly_one_wins() {
    let (app, ns) = ("race", &namespace("race"));
    let s = cluster_app(app, ns);
    let start = || {
        s.command(app, &["apply", "dev", "--wait", "--timeout", "8"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kiln")
    };
    let (a, b) = (start(), start());
    let outputs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let stderrs: Vec<String> = outputs.iter().map(|o| text(o).1).collect();
    let locked = stderrs.iter().filter(|e| e.contains("is locked by")).count();
    assert_eq!(locked, 1, "{stderrs:#?}");
    let waited = stderrs.iter().filter(|e| e.contains("timed out after 8 s")).count();
    assert_eq!(waited, 1, "the winner applied and waited: {stderrs:#?}");
    assert_eq!(leases(&s, ns), "", "the winner gave it back, on an error too");
}

/// The labels of namespace `ns`, and whether it is being deleted (or gone).
fn namespace_of(s: &Scratch, ns: &str) -> Option<serde_json::Value> {
    let listed = s.kubectl(&["get", "namespaces", "-o", "name"]);
    if !listed.lines().any(|l| l == format!("namespace/{ns}")) {
        return None;
    }
    Some(serde_json::from_str(&s.kubectl(&["get", "namespace", ns, "-o", "json"])).unwrap())
}

#[test]
fn a_missing_namespace_is_created_as_kilns_and_deleted_only_when_asked() {
    let (app, ns) = ("newns", &namespace("newns"));
    let s = Scratch::with_cluster();
    s.ok(".", &["init", app, "--context", "envtest", "--namespace", ns]);
    s.ok(app, &["env", "add", "dev", "--context", "envtest", "--namespace", ns]);
    s.ok(app, &["pkg", "install", "tf-serving"]);
    s.ok(app, &["generate", "tf-serving", "web", "--name=web", "--modelPath=gs://bucket/web"]);

    // A server dry run creates nothing, and says what an apply would do.
    let out = s.run_in(app, &["apply", "dev", "--dry-run=server"]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr
            .contains(&format!("note: namespace `{ns}` does not exist: an apply would create it")),
        "{stderr}"
    );
    assert!(stderr.contains("2 skipped (server dry run)"), "{stderr}");
    assert!(namespace_of(&s, ns).is_none(), "not created by a dry run");

    let out = s.run_in(app, &["apply", "dev"]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.starts_with(&format!("note: created namespace `{ns}`\n")), "{stderr}");
    assert!(stderr.contains("applied `dev`: 2 created"), "{stderr}");
    let created = namespace_of(&s, ns).expect("created");
    let labels = &created["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/managed-by"], "kiln");
    assert_eq!(labels["kiln.dev/app"], app);
    assert_eq!(labels["kiln.dev/environment"], "dev");

    // A plain delete keeps it.
    let out = s.run_in(app, &["delete", "dev"]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("namespace"), "{stderr}");
    let kept = namespace_of(&s, ns).expect("kept");
    assert!(kept["metadata"]["deletionTimestamp"].is_null(), "{kept}");

    // Asked, it goes: marked for deletion, or gone once finalized.
    let out = s.run_in(app, &["delete", "dev", "--delete-namespace"]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("note: deleted namespace `{ns}`")), "{stderr}");
    if let Some(left) = namespace_of(&s, ns) {
        assert!(left["metadata"]["deletionTimestamp"].is_string(), "{left}");
    }
}

#[test]
fn a_namespace_kiln_did_not_create_is_kept_even_when_asked() {
    let (app, ns) = ("keepns", &namespace("keepns"));
    let s = cluster_app(app, ns);
    s.ok(app, &["apply", "dev"]);
    let out = s.run_in(app, &["delete", "dev", "--delete-namespace"]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: kept namespace `{ns}`: Kiln did not create it for app `{app}`, \
             environment `dev`"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("deleted from `dev`: 2 deleted"), "{stderr}");
    let kept = namespace_of(&s, ns).expect("kept");
    assert!(kept["metadata"]["deletionTimestamp"].is_null(), "{kept}");
}
