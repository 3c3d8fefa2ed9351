//! A prototype that misbehaves on request (param `attack`), so Kiln's tests can prove the
//! sandbox holds. With `attack=probe` it behaves and reports what it could see of the outside.

use kiln_sdk::prelude::*;

struct Hostile;

impl Prototype for Hostile {
    fn describe() -> Info {
        Info::new("hostile", "Misbehaves on request, for sandbox tests")
            .param(Param::string("attack").required().doc("What to try"))
            .param(Param::integer("size").default(1000).doc("How much of it"))
    }

    fn generate(ctx: &Context) -> Result<Vec<Object>, Error> {
        let size = ctx.params.integer("size")?;
        match ctx.params.string("attack")?.as_str() {
            "probe" => Ok(vec![probe(ctx)?]),
            "loop" => loop {
                std::hint::black_box(size);
            },
            "recursion" => Ok(vec![json!({ "depth": recurse(size as u64) })]),
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "output" => Ok(vec![config_map("big", &"x".repeat(size as usize))]),
            "objects" => Ok((0..size).map(|i| config_map(&format!("cm-{i}"), "")).collect()),
            "trap" => panic!("the hostile prototype panicked on purpose"),
            "read-file" => match std::fs::read_to_string("/etc/passwd") {
                Ok(text) => Ok(vec![config_map("stolen", &text)]),
                Err(err) => Err(Error::failed(format!("cannot read /etc/passwd: {err}"))),
            },
            "log-flood" => {
                for i in 0..size {
                    kiln_sdk::log::info(&format!("line {i} {}", "y".repeat(100)));
                }
                Ok(vec![])
            }
            "stdout-flood" => {
                for i in 0..size {
                    println!("stdout line {i} {}", "z".repeat(100));
                }
                Ok(vec![])
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(size as u64));
                Ok(vec![config_map("rested", "")])
            }
            "wait-for-time" => {
                let start = std::time::Instant::now();
                while start.elapsed().as_secs() < size as u64 {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Ok(vec![config_map("waited", "")])
            }
            "crd-and-cr" => Ok(vec![
                json!({
                    "apiVersion": "apiextensions.k8s.io/v1",
                    "kind": "CustomResourceDefinition",
                    "metadata": { "name": "widgets.example.kiln.dev" },
                    "spec": {
                        "group": "example.kiln.dev",
                        "scope": "Namespaced",
                        "names": { "plural": "widgets", "singular": "widget", "kind": "Widget" },
                        "versions": [{
                            "name": "v1", "served": true, "storage": true,
                            "schema": { "openAPIV3Schema": {
                                "type": "object",
                                "properties": { "spec": { "type": "object", "properties": {
                                    "size": { "type": "integer" } } } },
                            } },
                        }],
                    },
                }),
                json!({
                    "apiVersion": "example.kiln.dev/v1",
                    "kind": "Widget",
                    "metadata": { "name": format!("{}-widget", ctx.component.to_lowercase()) },
                    "spec": { "size": size },
                }),
            ]),
            // Objects no package should emit without a grant: an RBAC escalation (cluster-scoped)
            // and a Secret placed in another namespace. `hostile` declares no permissions.
            "forge" => Ok(vec![
                json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRoleBinding",
                    "metadata": { "name": "hostile-admin" },
                    "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin" },
                    "subjects": [{ "kind": "ServiceAccount", "name": "default", "namespace": "default" }],
                }),
                json!({
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": { "name": "planted", "namespace": "kube-system" },
                    "stringData": { "token": "x" },
                }),
                config_map("harmless", ""),
            ]),
            "bad-json" => Ok(vec![json!("not an object")]),
            "reject" => Err(Error::param("size", "is never right")),
            "huge-error" => Err(Error::failed("e".repeat(size as usize))),
            other => Err(Error::param("attack", format!("unknown attack `{other}`"))),
        }
    }
}

kiln_sdk::prototype!(Hostile);

fn recurse(n: u64) -> u64 {
    if n == 0 { 0 } else { 1 + std::hint::black_box(recurse(n - 1)) }
}

fn config_map(name: &str, value: &str) -> Object {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": name },
        "data": { "value": value },
    })
}

/// What the sandbox lets a guest observe: all of it must be empty or fixed.
fn probe(ctx: &Context) -> Result<Object, Error> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(u64::MAX);
    let mut random = [0u8; 8];
    let random_ok = getrandom(&mut random);
    let dir = std::fs::read_dir("/").map(|d| d.count()).map_err(|e| e.to_string());
    let cwd = std::env::current_dir().map(|p| p.display().to_string()).map_err(|e| e.to_string());
    eprintln!("probe ran for {}", ctx.component);
    Ok(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": "probe" },
        "data": {
            "env": std::env::vars().count().to_string(),
            "args": std::env::args().count().to_string(),
            "now": now.to_string(),
            "random": format!("{random_ok}:{random:?}"),
            "readDir": format!("{dir:?}"),
            "cwd": format!("{cwd:?}"),
            "namespace": ctx.env.namespace,
        },
    }))
}

/// Randomness through std's hasher seeds, which come from the host's random source.
fn getrandom(buf: &mut [u8; 8]) -> bool {
    use std::hash::{BuildHasher, RandomState};
    let seed = RandomState::new().hash_one(0u8);
    *buf = seed.to_le_bytes();
    true
}
