//! A prototype that misbehaves on request (param `attack`), so Kiln's tests can prove the
//! sandbox and the grant hold. With `attack=probe` it behaves and reports what it could see of
//! the outside. Every attack is listed in [`ATTACKS`], which the `attack` param's doc repeats,
//! so a test can run the whole set from the prototype's description.

use kiln_sdk::prelude::*;

struct Hostile;

/// Every value of `attack`.
const ATTACKS: &[&str] = &[
    "probe",
    "loop",
    "recursion",
    "memory",
    "output",
    "objects",
    "trap",
    "read-file",
    "log-flood",
    "stdout-flood",
    "sleep",
    "wait-for-time",
    "crd-and-cr",
    "forge",
    "bad-json",
    "reject",
    "huge-error",
    "custom-cluster-kind",
    "custom-namespaced-kind",
    "custom-kind-elsewhere",
    "crd-claims-namespaced",
    "list",
    "typed-list",
    "nested-list",
    "items",
    "forge-inventory",
    "forge-labels",
    "server-metadata",
    "null-annotations",
];

/// The group of the custom kinds the tests install in their API server: `ClusterPolicy`
/// (cluster-scoped, as a policy engine's would be) and `Gizmo` (namespaced).
const TEST_GROUP: &str = "kiln-test.dev";

impl Prototype for Hostile {
    fn describe() -> Info {
        let attacks = format!("What to try: one of {}", ATTACKS.join(", "));
        Info::new("hostile", "Misbehaves on request, for sandbox tests")
            .param(Param::string("attack").required().doc(&attacks))
            .param(Param::integer("size").default(1000).doc("How much of it"))
            .param(Param::string("app").default("app").doc("The app whose state to forge"))
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
            "custom-cluster-kind" => Ok(vec![cluster_policy("hostile-policy")]),
            "custom-namespaced-kind" => Ok(vec![gizmo(ctx, None)]),
            "custom-kind-elsewhere" => Ok(vec![gizmo(ctx, Some("kube-system"))]),
            // Its own definition says the kind is namespaced; the cluster's says otherwise.
            "crd-claims-namespaced" => Ok(vec![
                json!({
                    "apiVersion": "apiextensions.k8s.io/v1",
                    "kind": "CustomResourceDefinition",
                    "metadata": { "name": format!("clusterpolicies.{TEST_GROUP}") },
                    "spec": {
                        "group": TEST_GROUP,
                        "scope": "Namespaced",
                        "names": { "plural": "clusterpolicies", "singular": "clusterpolicy", "kind": "ClusterPolicy" },
                        "versions": [{ "name": "v1", "served": true, "storage": true,
                            "schema": { "openAPIV3Schema": { "type": "object", "x-kubernetes-preserve-unknown-fields": true } } }],
                    },
                }),
                cluster_policy("hostile-claimed"),
            ]),
            // Objects smuggled inside others: a List, a typed List, Lists in Lists, and kinds
            // that are no Lists at all carrying `items`.
            "list" => Ok(vec![json!({
                "apiVersion": "v1",
                "kind": "List",
                "metadata": {},
                "items": [admin_binding("hostile-list-admin"), webhook(), config_map("listed", "")],
            })]),
            "typed-list" => Ok(vec![json!({
                "apiVersion": "v1",
                "kind": "ConfigMapList",
                "metadata": {},
                "items": [config_map("typed", ""), admin_binding("hostile-typed-admin")],
            })]),
            "nested-list" => Ok(vec![json!({
                "apiVersion": "v1",
                "kind": "List",
                "metadata": {},
                "items": [{ "apiVersion": "v1", "kind": "List", "items": [admin_binding("hostile-deep-admin")] }],
            })]),
            "items" => Ok(vec![
                json!({
                    "apiVersion": format!("bundles.{TEST_GROUP}/v1"),
                    "kind": "Bundle",
                    "metadata": { "name": "hostile-bundle" },
                    "items": [admin_binding("hostile-bundled-admin")],
                }),
                json!({
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": { "name": "carrier" },
                    "items": [{ "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "planted", "namespace": "kube-system" } }],
                }),
            ]),
            // Kiln's own state: the environment's inventory, listing what a later prune would
            // delete; and Kiln's ownership labels.
            "forge-inventory" => {
                let app = ctx.params.string("app")?;
                Ok(vec![json!({
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": { "name": format!("kiln-inventory-{app}-{}", ctx.env.name) },
                    "data": { "objects": "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"namespace\":\"default\",\"name\":\"victim\",\"component\":\"other\"}]" },
                })])
            }
            "forge-labels" => Ok(vec![json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "disguised",
                    "labels": { "kiln.dev/app": "another-app", "kiln.dev/environment": "prod" },
                    "annotations": { "kiln.dev/prototype-digest": "sha256:0" },
                },
            })]),
            "server-metadata" => Ok(vec![json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "stamped",
                    "uid": "0e7a3a4e-0000-4000-8000-000000000000",
                    "resourceVersion": "1",
                    "managedFields": [{ "manager": "kubectl", "operation": "Apply" }],
                    "deletionTimestamp": "2000-01-01T00:00:00Z",
                },
            })]),
            // Not an attack: `null` annotations must still get Kiln's provenance annotations.
            "null-annotations" => Ok(vec![json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": { "name": "unannotated", "annotations": null },
            })]),
            "bad-json" => Ok(vec![json!("not an object")]),
            "reject" => Err(Error::param("size", "is never right")),
            "huge-error" => Err(Error::failed("e".repeat(size as usize))),
            other => Err(Error::param("attack", format!("unknown attack `{other}`"))),
        }
    }
}

kiln_sdk::prototype!(Hostile);

/// A custom resource of the cluster-scoped test kind.
fn cluster_policy(name: &str) -> Object {
    json!({
        "apiVersion": format!("{TEST_GROUP}/v1"),
        "kind": "ClusterPolicy",
        "metadata": { "name": name },
        "spec": { "rule": "allow-everything" },
    })
}

/// A custom resource of the namespaced test kind, in `namespace` or the environment's.
fn gizmo(ctx: &Context, namespace: Option<&str>) -> Object {
    let mut gizmo = json!({
        "apiVersion": format!("{TEST_GROUP}/v1"),
        "kind": "Gizmo",
        "metadata": { "name": format!("{}-gizmo", ctx.component.to_lowercase()) },
        "spec": { "size": 3 },
    });
    if let Some(namespace) = namespace {
        gizmo["metadata"]["namespace"] = json!(namespace);
    }
    gizmo
}

/// A binding that makes the default service account of `default` a cluster admin.
fn admin_binding(name: &str) -> Object {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": { "name": name },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin" },
        "subjects": [{ "kind": "ServiceAccount", "name": "default", "namespace": "default" }],
    })
}

/// A webhook that would see every object created in the cluster.
fn webhook() -> Object {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": { "name": "hostile-webhook" },
        "webhooks": [{
            "name": "spy.kiln-test.dev",
            "clientConfig": { "url": "https://127.0.0.1:9/spy" },
            "rules": [{ "operations": ["CREATE"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"] }],
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "failurePolicy": "Ignore",
        }],
    })
}

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
