//! `apply` through a fault-injecting TCP proxy: 503s, 429s, dropped connections, slow
//! responses, more faults than retries, and an apply killed half-way. The proxy forwards to the
//! test API server's plain-HTTP port (`INSECURE_PORT` in `$KILN_TEST_ENVTEST_STATE/env`, which
//! `tests/envtest/start` writes when run with `KILN_ENVTEST_INSECURE=1`, as `scripts/test` does).
//! Kiln talks only to the proxy; the tests check the result with kubectl against the real server.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{Scratch, redact_digests, text};

/// What the proxy does to a connection while its fault budget lasts.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Answer the first request with this status (503 or 429) and close.
    Status(u16),
    /// Answer 429 asking to retry after this many seconds, as kube-apiserver's priority and
    /// fairness does: a `Retry-After` header and `details.retryAfterSeconds` in the Status.
    Throttle(u32),
    /// Close the connection at once, answering nothing.
    Drop,
    /// Wait this many milliseconds, then forward.
    Delay(u64),
}

struct Shared {
    fault: Mutex<Fault>,
    /// Connections still to be faulted.
    budget: AtomicUsize,
    /// Connections accepted so far.
    accepted: AtomicUsize,
    stop: AtomicBool,
    upstream: u16,
}

/// A fault-injecting proxy on 127.0.0.1; it stops accepting when dropped.
struct Proxy {
    port: u16,
    shared: Arc<Shared>,
}

impl Proxy {
    fn start(upstream: u16, fault: Fault, budget: usize) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            fault: Mutex::new(fault),
            budget: AtomicUsize::new(budget),
            accepted: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            upstream,
        });
        let accepting = Arc::clone(&shared);
        thread::spawn(move || {
            for conn in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                accepting.accepted.fetch_add(1, Ordering::SeqCst);
                let faulted = accepting
                    .budget
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1))
                    .is_ok();
                let fault = faulted.then(|| *accepting.fault.lock().unwrap());
                let upstream = accepting.upstream;
                thread::spawn(move || handle(conn, fault, upstream));
            }
        });
        Proxy { port, shared }
    }

    /// Fault the next `budget` connections.
    fn set_budget(&self, budget: usize) {
        self.shared.budget.store(budget, Ordering::SeqCst);
    }

    fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn handle(conn: TcpStream, fault: Option<Fault>, upstream: u16) {
    match fault {
        Some(Fault::Status(code)) => answer(conn, code, None),
        Some(Fault::Throttle(seconds)) => answer(conn, 429, Some(seconds)),
        Some(Fault::Drop) => drop(conn),
        Some(Fault::Delay(ms)) => {
            thread::sleep(Duration::from_millis(ms));
            forward(conn, upstream);
        }
        None => forward(conn, upstream),
    }
}

/// Read one request (head and a Content-Length body), answer `code` with a Status (asking to
/// retry after `retry_after` seconds, if given), and close.
fn answer(mut conn: TcpStream, code: u16, retry_after: Option<u32>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 1 << 20 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let (reason, phrase) = match code {
        429 => ("TooManyRequests", "Too Many Requests"),
        _ => ("ServiceUnavailable", "Service Unavailable"),
    };
    let (details, header) = match retry_after {
        Some(seconds) => (
            format!(r#","details":{{"retryAfterSeconds":{seconds}}}"#),
            format!("Retry-After: {seconds}\r\n"),
        ),
        None => (String::new(), String::new()),
    };
    let body = format!(
        r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"injected","reason":"{reason}","code":{code}{details}}}"#
    );
    let response = format!(
        "HTTP/1.1 {code} {phrase}\r\nContent-Type: application/json\r\n{header}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.write_all(response.as_bytes());
    // Close gracefully: FIN, then drain, so that unread input does not turn into a reset.
    let _ = conn.shutdown(Shutdown::Write);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(1)));
    while matches!(conn.read(&mut chunk), Ok(n) if n > 0) {}
}

/// Copy bytes both ways between `conn` and the upstream port until either side closes.
fn forward(conn: TcpStream, upstream: u16) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { return };
    let (mut c_in, mut c_out) = (conn.try_clone().unwrap(), conn);
    let (mut s_in, mut s_out) = (server.try_clone().unwrap(), server);
    let up = thread::spawn(move || {
        let _ = std::io::copy(&mut c_in, &mut s_out);
        let _ = s_out.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut s_in, &mut c_out);
    let _ = c_out.shutdown(Shutdown::Both);
    let _ = up.join();
}

/// The test API server's plain-HTTP port.
fn insecure_port() -> u16 {
    let state = std::env::var_os("KILN_TEST_ENVTEST_STATE").unwrap_or_else(|| {
        panic!(
            "fault tests need the test API server's plain-HTTP port: run them with `scripts/test`, \
             or start one with `KILN_ENVTEST_INSECURE=1 tests/envtest/start DIR` and set \
             KILN_TEST_ENVTEST_STATE=DIR (and KILN_TEST_KUBECONFIG=DIR/kubeconfig)"
        )
    });
    let env = PathBuf::from(state).join("env");
    let text = std::fs::read_to_string(&env)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", env.display()));
    text.lines()
        .find_map(|l| l.strip_prefix("INSECURE_PORT="))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "{} has no INSECURE_PORT: start the server with KILN_ENVTEST_INSECURE=1",
                env.display()
            )
        })
}

/// One test's setup: the proxy, a kubeconfig whose only context `faulty` points at it, an app
/// created against that context, and kubectl against the real server.
struct Faulty {
    proxy: Proxy,
    /// Runs kiln through the proxy.
    kiln: Scratch,
    /// Runs kubectl against the real server.
    real: Scratch,
    ns: String,
    _kubeconfig: tempfile::TempDir,
}

const APP: &str = "faulty";

impl Faulty {
    /// An app in namespace `kiln-faults-TEST-PID`, the proxy starting with no faults.
    fn new(test: &str) -> Faulty {
        let real = Scratch::with_cluster();
        let proxy = Proxy::start(insecure_port(), Fault::Drop, 0);
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: faulty\n  cluster:\n    server: http://127.0.0.1:{}\nusers:\n- name: nobody\n  user: {{}}\ncontexts:\n- name: faulty\n  context:\n    cluster: faulty\n    user: nobody\ncurrent-context: faulty\n",
                proxy.port
            ),
        )
        .unwrap();
        let ns = format!("kiln-faults-{test}-{}", std::process::id());
        let kiln = Scratch::with_kubeconfig(kubeconfig);
        kiln.ok(".", &["init", APP, "--context", "faulty", "--namespace", &ns]);
        kiln.ok(APP, &["pkg", "install", "tf-serving"]);
        kiln.ok(APP, &["generate", "tf-serving", "web", "--name=web", "--modelPath=gs://b/m"]);
        real.kubectl(&["create", "namespace", &ns]);
        Faulty { proxy, kiln, real, ns, _kubeconfig: dir }
    }

    fn fault(&self, fault: Fault, budget: usize) {
        *self.proxy.shared.fault.lock().unwrap() = fault;
        self.proxy.set_budget(budget);
    }

    /// `kiln apply default`: (success, stderr, seconds).
    fn apply(&self) -> (bool, Option<i32>, String, f64) {
        let t0 = Instant::now();
        let out = self.kiln.run_in(APP, &["apply", "default"]);
        let secs = t0.elapsed().as_secs_f64();
        let (_, stderr) = text(&out);
        eprintln!("[{}] apply in {secs:.2} s, {}:\n{stderr}", self.ns, out.status);
        (out.status.success(), out.status.code(), stderr, secs)
    }

    /// Kiln's objects in the namespace, as `kind/name` lines, sorted.
    fn objects(&self) -> Vec<String> {
        let listed = self.real.kubectl(&[
            "-n",
            &self.ns,
            "get",
            "deployments,services,configmaps",
            "-l",
            "app.kubernetes.io/managed-by=kiln",
            "-o",
            "name",
        ]);
        let mut names: Vec<String> = listed.lines().map(str::to_string).collect();
        names.sort();
        names
    }

    /// Everything in the namespace Kiln may have made, kube-root-ca aside, sorted.
    fn all_objects(&self) -> Vec<String> {
        let listed = self.real.kubectl(&[
            "-n",
            &self.ns,
            "get",
            "deployments,services,configmaps",
            "-o",
            "name",
        ]);
        let mut names: Vec<String> =
            listed.lines().filter(|l| !l.contains("kube-root-ca")).map(str::to_string).collect();
        names.sort();
        names
    }

    fn assert_applied(&self) {
        let objects = self.objects();
        assert!(objects.contains(&"deployment.apps/web".to_string()), "{objects:?}");
        assert!(objects.contains(&"service/web".to_string()), "{objects:?}");
    }

    fn cleanup(&self) {
        self.real.kubectl(&["delete", "namespace", &self.ns, "--wait=false"]);
    }
}

/// Faults on the first `budget` connections are retried away: apply succeeds and creates both
/// objects.
fn survives(test: &str, fault: Fault, budget: usize) {
    let f = Faulty::new(test);
    f.fault(fault, budget);
    let (ok, _, stderr, _) = f.apply();
    assert!(ok, "apply through {budget} × {fault:?} should succeed:\n{stderr}");
    assert!(stderr.contains("applied `default`: 2 created"), "{stderr}");
    let left = f.proxy.shared.budget.load(Ordering::SeqCst);
    if let Fault::Delay(_) = fault {
        // Kept-alive connections are reused, so fewer than `budget` may be opened.
        assert!(left < budget, "some connection was slowed");
    } else {
        // Each fault closes its connection, and each retry opens a new one.
        assert_eq!(left, 0, "every fault was met");
        assert!(f.proxy.accepted() > budget, "connections past the faults were forwarded");
    }
    f.assert_applied();
    f.cleanup();
}

#[test]
fn apply_retries_503s() {
    survives("503", Fault::Status(503), 3);
}

#[test]
fn apply_retries_429s() {
    survives("429", Fault::Status(429), 3);
}

/// Throttled twice with `Retry-After: 2`, Kiln waits the 2 s the server asks for each time
/// instead of its own backoff (0.1 s, then 0.2 s), then succeeds. The two may be requests in
/// flight together (the discovery of each kind is), so at least 2 s pass in all.
#[test]
fn apply_waits_as_long_as_a_429_asks() {
    let f = Faulty::new("throttle");
    f.fault(Fault::Throttle(2), 2);
    let (ok, _, stderr, secs) = f.apply();
    assert!(ok, "{stderr}");
    assert!(stderr.contains("applied `default`: 2 created"), "{stderr}");
    assert_eq!(f.proxy.shared.budget.load(Ordering::SeqCst), 0, "both 429s were answered");
    assert!(secs >= 2.0, "waited {secs:.2} s for two `Retry-After: 2`");
    f.assert_applied();
    f.cleanup();
}

#[test]
fn apply_retries_dropped_connections() {
    survives("drop", Fault::Drop, 3);
}

#[test]
fn apply_survives_slow_responses() {
    survives("slow", Fault::Delay(300), 5);
}

#[test]
fn more_faults_than_retries_fail_clearly_and_a_rerun_converges() {
    let f = Faulty::new("exhaust");
    f.fault(Fault::Status(503), 50);
    let (ok, code, stderr, secs) = f.apply();
    assert!(!ok);
    // Kiln's 6 attempts sleep 3.1 s in all; no other retry layer may stretch that.
    assert!(secs < 30.0, "gave up after {secs:.1} s");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.starts_with("error: cannot "), "{stderr}");
    // The first requests are discovery's (one per kind, in flight together), which name the
    // kind they ask about.
    let kinds = ["cannot discover `v1 Service`", "cannot discover `apps/v1 Deployment`"];
    assert!(kinds.iter().any(|k| stderr.contains(k)), "names the kind: {stderr}");
    assert!(stderr.contains("injected"), "carries the server's message: {stderr}");

    f.fault(Fault::Status(503), 0);
    let (ok, _, stderr, _) = f.apply();
    assert!(ok, "{stderr}");
    f.assert_applied();
    let (ok, _, stderr, _) = f.apply();
    assert!(ok, "{stderr}");
    assert!(stderr.contains("applied `default`: 2 unchanged"), "{stderr}");
    f.cleanup();
}

#[test]
fn an_apply_killed_midway_converges_on_rerun() {
    // The reference: a clean apply in a namespace of its own.
    let clean = Faulty::new("clean");
    let (ok, _, stderr, _) = clean.apply();
    assert!(ok, "{stderr}");

    let f = Faulty::new("killed");
    f.fault(Fault::Delay(2000), usize::MAX);
    let mut child = f
        .kiln
        .command(APP, &["apply", "default"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run kiln");
    thread::sleep(Duration::from_secs(1));
    assert!(child.try_wait().unwrap().is_none(), "apply was still running when killed");
    child.kill().unwrap();
    child.wait().unwrap();

    f.fault(Fault::Delay(0), 0);
    let (ok, _, stderr, _) = f.apply();
    assert!(ok, "{stderr}");
    let (ok, _, stderr, _) = f.apply();
    assert!(ok, "{stderr}");
    assert!(stderr.contains("applied `default`: 2 unchanged"), "{stderr}");
    // Requests the killed apply left in the proxy are forwarded late; let them land.
    thread::sleep(Duration::from_millis(2500));
    f.assert_applied();
    assert_eq!(f.all_objects(), clean.all_objects(), "same objects as a clean apply");
    let inventory = |x: &Faulty| {
        let data = x.real.kubectl(&[
            "-n",
            &x.ns,
            "get",
            "configmaps",
            "-l",
            "app.kubernetes.io/managed-by=kiln",
            "-o",
            "jsonpath={.items[*].data}",
        ]);
        // The fingerprints of what was applied differ with the namespace in the objects.
        redact_digests(&data.replace(&x.ns, "NS"))
    };
    assert_eq!(inventory(&f), inventory(&clean), "same inventory as a clean apply");
    clean.cleanup();
    f.cleanup();
}
