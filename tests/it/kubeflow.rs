//! The Kubeflow package `core` (prototypes `core`, `nfs`, `tf-job`) rendered through the real
//! engine: the reference's objects, each deliberate difference of KUBEFLOW.md, and bad params.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use kiln::manifest::{self, ComponentObjects, Format};
use kiln::prototype::{ComponentView, Environment, Info, ParamType, ParamValue, Params};
use kiln::render::{Error, Limits, Prototype, Rendered};
use kiln_guest_artifacts::{CORE, NFS, TF_JOB};
use serde_json::{Value, json};

use crate::common::{engine, load};

mod differences;
mod nfs;
mod tf_job;

const OPERATOR_IMAGE: &str = "gcr.io/tf-on-k8s-dogfood/tf_operator:v20171214-0bd02ac";
const HUB_IMAGE: &str = "gcr.io/kubeflow/jupyterhub:1.0";
const NFS_IMAGE: &str = "quay.io/kubernetes_incubator/nfs-provisioner:v1.0.8";

/// The reference's ten objects, in its order, then the CRD and the operator's cluster RBAC.
const CORE_OBJECTS: &[&str] = &[
    "ConfigMap/jupyterhub-config",
    "Service/tf-hub-0",
    "Service/tf-hub-lb",
    "StatefulSet/tf-hub",
    "Role/jupyter-role",
    "ServiceAccount/jupyter-hub",
    "RoleBinding/jupyter-role",
    "Deployment/tf-job-operator",
    "ConfigMap/tf-job-operator-config",
    "ServiceAccount/tf-job-operator",
    "ClusterRole/tf-job-operator",
    "ClusterRoleBinding/tf-job-operator",
    "CustomResourceDefinition/tfjobs.tensorflow.org",
];

fn s(value: &str) -> ParamValue {
    ParamValue::String(value.into())
}

fn list(values: &[&str]) -> ParamValue {
    ParamValue::StringList(values.iter().map(|v| v.to_string()).collect())
}

fn params(pairs: &[(&str, ParamValue)]) -> Params {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// `core`'s seed params plus `extra`.
fn core_params(extra: &[(&str, ParamValue)]) -> Params {
    let mut p = params(&[("name", s("kubeflow-core"))]);
    p.extend(params(extra));
    p
}

struct Guest {
    prototype: Prototype,
    info: Info,
}

impl Guest {
    fn load(path: &str) -> Guest {
        let (prototype, info) = load(&engine(), path);
        Guest { prototype, info }
    }

    fn render_in(&self, component: &str, params: &Params, env: &Environment) -> Rendered {
        self.try_render(component, params, env).unwrap_or_else(|e| panic!("render: {e}"))
    }

    fn render(&self, component: &str, params: &Params) -> Vec<Value> {
        self.render_in(component, params, &Environment::preview("default")).objects
    }

    fn try_render(
        &self,
        component: &str,
        params: &Params,
        env: &Environment,
    ) -> Result<Rendered, Error> {
        self.prototype.generate(&self.info, component, params, env, &Limits::default())
    }

    /// The param and message of a render the prototype rejects.
    fn rejection(&self, params: &Params) -> (String, String) {
        match self.try_render("c", params, &Environment::preview("default")) {
            Err(Error::Rejected { param, message, .. }) => (param, message),
            other => panic!("expected a rejected param, got {other:?}"),
        }
    }
}

/// The guests, compiled once for this module: compiling them for every test would take most of
/// its time. Rendering is a pure function, so sharing them does not couple the tests.
fn core_guest() -> &'static Guest {
    static GUEST: OnceLock<Guest> = OnceLock::new();
    GUEST.get_or_init(|| Guest::load(CORE))
}

fn nfs_guest() -> &'static Guest {
    static GUEST: OnceLock<Guest> = OnceLock::new();
    GUEST.get_or_init(|| Guest::load(NFS))
}

fn tf_job_guest() -> &'static Guest {
    static GUEST: OnceLock<Guest> = OnceLock::new();
    GUEST.get_or_init(|| Guest::load(TF_JOB))
}

/// `Kind/name` of each object, in order.
fn names(objects: &[Value]) -> Vec<String> {
    objects.iter().map(what).collect()
}

/// `Kind/name` of an object, for messages.
fn what(object: &Value) -> String {
    format!("{}/{}", as_str(&object["kind"]), as_str(&object["metadata"]["name"]))
}

fn as_str(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} in {:?}", names(objects)))
}

fn data<'a>(objects: &'a [Value], config_map: &str, key: &str) -> &'a str {
    as_str(&find(objects, "ConfigMap", config_map)["data"][key])
}

/// Post-process and validate `rendered` (component, objects) as one environment: namespace
/// `default`, Kubernetes 1.33, no params to check.
fn validate(rendered: &[(&str, Vec<Value>)]) -> kiln::validate::Report {
    let labels = BTreeMap::new();
    let ctx = manifest::Context {
        app: "kubeflow",
        environment: "test",
        namespace: "default",
        labels: &labels,
        scopes: &manifest::Scopes::new(),
    };
    let rendered = rendered
        .iter()
        .map(|(c, objects)| ComponentObjects {
            component: c.to_string(),
            objects: objects.clone(),
            annotations: BTreeMap::new(),
        })
        .collect();
    let processed = manifest::post_process_all(&ctx, rendered);
    let input = kiln::validate::Input {
        objects: &processed.objects,
        problems: &processed.problems,
        kubernetes_version: "1.33",
        components: Vec::new(),
        app_crds: &[],
        memo: None,
    };
    kiln::validate::validate(&input).expect("validation runs")
}

fn hub_config(objects: &[Value]) -> &str {
    data(objects, "jupyterhub-config", "jupyterhub_config.py")
}

fn operator_config(objects: &[Value]) -> &str {
    data(objects, "tf-job-operator-config", "controller_config_file.yaml")
}

fn yaml(objects: &[Value]) -> String {
    manifest::encode(objects, Format::Yaml).unwrap()
}

fn with_components(namespace: &str, components: Vec<ComponentView>) -> Environment {
    Environment { components: components.into(), ..Environment::preview(namespace) }
}

fn nfs_view(disks: &[&str]) -> ComponentView {
    ComponentView {
        name: "nfs".into(),
        prototype: "nfs".into(),
        params: params(&[("disks", list(disks)), ("cloud", s("gke"))]),
    }
}

#[test]
fn describes_params_and_permissions() {
    let core = core_guest().info.clone();
    let declared: Vec<(&str, ParamType, bool)> =
        core.params.iter().map(|p| (p.name.as_str(), p.ty, p.required)).collect();
    assert_eq!(
        declared,
        [
            ("name", ParamType::String, true),
            ("namespace", ParamType::String, false),
            ("disks", ParamType::StringList, false),
            ("cloud", ParamType::String, false),
            ("tfJobImage", ParamType::String, false),
            ("jupyterHubImage", ParamType::String, false),
            ("jupyterHubServiceType", ParamType::String, false),
            ("notebookImage", ParamType::String, false),
            ("nfsImage", ParamType::String, false),
            ("diskSize", ParamType::String, false),
        ]
    );
    assert_eq!(core.param("disks").unwrap().default, Some(list(&[])));
    assert_eq!(core.param("diskSize").unwrap().default, Some(s("10Gi")));
    let kinds = |info: &Info| -> Vec<String> {
        info.permissions.cluster_scoped.iter().map(|gk| gk.to_string()).collect()
    };
    assert_eq!(
        kinds(&core),
        [
            "apiextensions.k8s.io/CustomResourceDefinition",
            "rbac.authorization.k8s.io/ClusterRole",
            "rbac.authorization.k8s.io/ClusterRoleBinding",
            "storage.k8s.io/StorageClass",
        ]
    );
    assert!(core.permissions.rbac && core.permissions.other_namespaces);

    let nfs = nfs_guest().info.clone();
    assert!(!nfs.param("name").unwrap().required, "defaults to the component's name");
    assert_eq!(
        kinds(&nfs),
        ["rbac.authorization.k8s.io/ClusterRoleBinding", "storage.k8s.io/StorageClass"]
    );
    assert!(nfs.permissions.rbac);

    let tf_job = tf_job_guest().info.clone();
    let declared: Vec<(&str, ParamType)> =
        tf_job.params.iter().map(|p| (p.name.as_str(), p.ty)).collect();
    assert_eq!(
        declared,
        [
            ("name", ParamType::String),
            ("namespace", ParamType::String),
            ("image", ParamType::String),
            ("image_gpu", ParamType::String),
            ("num_masters", ParamType::Integer),
            ("num_workers", ParamType::Integer),
            ("num_ps", ParamType::Integer),
            ("num_gpus", ParamType::Integer),
            ("args", ParamType::StringList),
        ]
    );
    assert_eq!(tf_job.param("num_masters").unwrap().default, Some(ParamValue::Integer(1)));
    assert!(tf_job.permissions.cluster_scoped.is_empty() && !tf_job.permissions.rbac);
}

#[test]
fn core_without_disks_renders_the_reference_objects_plus_crd_and_cluster_rbac() {
    let objects = core_guest().render("kubeflow-core", &core_params(&[]));
    assert_eq!(names(&objects), CORE_OBJECTS);

    let config = hub_config(&objects);
    for needle in [
        "class KubeFormSpawner(KubeSpawner):",
        "def _options_form_default(self):",
        "extra_resource_limits",
        "DEFAULT_IMAGE = \"gcr.io/kubeflow/tensorflow-notebook-cpu\"",
        "DEFAULT_CPU = '500m'",
        "DEFAULT_MEMORY = '1Gi'",
        "c.KubeSpawner.cmd = 'start-singleuser.sh'",
        "c.KubeSpawner.args = ['--allow-root']",
        "c.KubeSpawner.start_timeout = 600",
        "c.JupyterHub.hub_ip = '0.0.0.0'",
        "c.JupyterHub.authenticator_class = 'dummyauthenticator.DummyAuthenticator'",
        "c.KubeSpawner.pvc_name_template = 'claim-{username}{servername}'",
        "c.KubeSpawner.user_storage_capacity = '10Gi'",
    ] {
        assert!(config.contains(needle), "{needle} missing from\n{config}");
    }
    assert!(!config.contains("/mnt/"), "no disks, no shared mounts");

    let hub = &find(&objects, "StatefulSet", "tf-hub")["spec"];
    assert_eq!(hub["replicas"], 1);
    let pod = &hub["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "jupyter-hub");
    assert_eq!(pod["containers"][0]["name"], "tf-hub");
    assert_eq!(pod["containers"][0]["image"], HUB_IMAGE);
    assert_eq!(
        pod["containers"][0]["command"],
        json!(["jupyterhub", "-f", "/etc/config/jupyterhub_config.py"])
    );
    assert_eq!(pod["containers"][0]["volumeMounts"][0]["mountPath"], "/etc/config");
    assert_eq!(pod["volumes"][0]["configMap"]["name"], "jupyterhub-config");

    let headless = &find(&objects, "Service", "tf-hub-0")["spec"];
    assert_eq!(headless["clusterIP"], "None");
    assert_eq!(
        headless["ports"],
        json!([{"name": "hub", "port": 8000, "protocol": "TCP", "targetPort": 8000}])
    );
    assert_eq!(headless["selector"], json!({"app": "tf-hub"}));
    let public = &find(&objects, "Service", "tf-hub-lb")["spec"];
    assert_eq!(
        public["ports"][0],
        json!({"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8000})
    );
    assert_eq!(public["selector"], json!({"app": "tf-hub"}));

    let binding = find(&objects, "RoleBinding", "jupyter-role");
    assert_eq!(binding["roleRef"]["name"], "jupyter-role");
    assert_eq!(binding["subjects"][0]["name"], "jupyter-hub");
    assert_eq!(
        find(&objects, "ServiceAccount", "jupyter-hub")["metadata"]["labels"]["app"],
        "jupyter-hub"
    );
    assert_eq!(
        find(&objects, "ServiceAccount", "tf-job-operator")["metadata"]["labels"]["app"],
        "tf-job-operator"
    );

    let operator = &find(&objects, "Deployment", "tf-job-operator")["spec"]["template"]["spec"];
    assert_eq!(operator["serviceAccountName"], "tf-job-operator");
    let container = &operator["containers"][0];
    assert_eq!(container["image"], OPERATOR_IMAGE);
    assert_eq!(
        container["command"],
        json!([
            "/opt/mlkube/tf_operator",
            "--controller_config_file=/etc/config/controller_config_file.yaml",
            "-alsologtostderr",
            "-v=1"
        ])
    );
    assert_eq!(
        container["env"],
        json!([
            {"name": "MY_POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "MY_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ])
    );
    assert_eq!(operator["volumes"][0]["configMap"]["name"], "tf-job-operator-config");
    assert_eq!(
        operator_config(&objects),
        "grpcServerFilePath: /opt/mlkube/grpc_tensorflow_server/grpc_tensorflow_server.py\n",
        "no cloud, no accelerators"
    );

    insta::assert_snapshot!(yaml(&objects));
}

#[test]
fn core_on_gke_gives_gpu_containers_the_gke_driver_paths() {
    let objects = core_guest().render("kubeflow-core", &core_params(&[("cloud", s("gke"))]));
    assert_eq!(names(&objects), CORE_OBJECTS, "no disks: nothing for NFS");
    assert_eq!(
        operator_config(&objects),
        "grpcServerFilePath: /opt/mlkube/grpc_tensorflow_server/grpc_tensorflow_server.py\n\
         accelerators:\n  \
           nvidia.com/gpu:\n    \
             volumes:\n    \
             - name: nvidia-libraries\n      \
               mountPath: /usr/local/nvidia/lib64\n      \
               hostPath: /home/kubernetes/bin/nvidia/lib\n    \
             - name: nvidia-binaries\n      \
               mountPath: /usr/local/nvidia/bin\n      \
               hostPath: /home/kubernetes/bin/nvidia/bin\n"
    );
    insta::assert_snapshot!(yaml(&objects));
}

#[test]
fn core_on_azure_gives_gpu_containers_the_azure_driver_paths() {
    let objects = core_guest().render("kubeflow-core", &core_params(&[("cloud", s("azure"))]));
    let config = operator_config(&objects);
    assert!(config.contains("hostPath: /usr/lib/nvidia-384\n"), "{config}");
    assert!(config.contains("hostPath: /usr/lib/nvidia-384/bin\n"), "{config}");
    assert!(!config.contains("/home/kubernetes"), "{config}");
    insta::assert_snapshot!(config);
}

#[test]
fn unknown_cloud_is_rejected_listing_the_known_ones() {
    for guest in [core_guest(), nfs_guest()] {
        let (param, message) = guest.rejection(&core_params(&[("cloud", s("aws"))]));
        assert_eq!(param, "cloud");
        assert_eq!(message, "unknown value `aws`; expected one of ``, `gke`, `azure`");
    }
}

#[test]
fn other_bad_params_are_rejected_naming_them() {
    let core = core_guest();
    let (param, message) = core.rejection(&core_params(&[("diskSize", s("10GB"))]));
    assert_eq!(
        (param.as_str(), message.contains("`10GB` is not a Kubernetes quantity")),
        ("diskSize", true)
    );
    let (param, _) = core.rejection(&params(&[("name", s("Kubeflow_Core"))]));
    assert_eq!(param, "name");

    let tf_job = tf_job_guest();
    let job = |extra: &[(&str, ParamValue)]| {
        let mut p = params(&[("name", s("j"))]);
        p.extend(params(extra));
        tf_job.rejection(&p)
    };
    assert_eq!(job(&[("num_workers", ParamValue::Integer(-1))]).0, "num_workers");
    assert_eq!(
        job(&[("num_gpus", ParamValue::Integer(1))]),
        ("num_gpus".into(), "GPUs go to the workers, and num_workers is 0".into())
    );
    assert_eq!(job(&[("num_masters", ParamValue::Integer(0))]).0, "num_masters");
}

#[test]
fn missing_name_is_caught_before_the_prototype_runs() {
    for (path, prototype) in [(CORE, "core"), (TF_JOB, "tf-job")] {
        let guest = Guest::load(path);
        let err =
            guest.try_render("c", &Params::new(), &Environment::preview("default")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("missing required param `name` for prototype `{prototype}`")
        );
    }
}

#[test]
fn same_inputs_render_byte_identical_output() {
    let env = with_components("kubeflow", vec![nfs_view(&["pd1", "pd2"])]);
    let core = core_guest();
    let render = || {
        yaml(&core.render_in("kubeflow-core", &core_params(&[("cloud", s("azure"))]), &env).objects)
    };
    let first = render();
    assert_eq!(render(), first);
    assert_eq!(
        yaml(
            &Guest::load(CORE)
                .render_in("kubeflow-core", &core_params(&[("cloud", s("azure"))]), &env)
                .objects
        ),
        first
    );
}
