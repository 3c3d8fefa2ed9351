//! The TensorFlow job operator: its Deployment, config (with the cloud's GPU driver paths),
//! ServiceAccount and the cluster-wide RBAC it needs to run TfJobs in any namespace.

use k8s::api::apps::v1::{Deployment, DeploymentSpec};
use k8s::api::core::v1::{
    ConfigMap, Container, EnvVar, EnvVarSource, ObjectFieldSelector, PodSpec, PodTemplateSpec,
    ServiceAccount,
};
use k8s::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule};
use kiln_sdk::prelude::*;
use kubeflow_common::{Cloud, account_subjects, config_volume, labels, map, meta, role_ref, tfjob};

/// The operator image of the reference.
pub const IMAGE: &str = "gcr.io/tf-on-k8s-dogfood/tf_operator:v20171214-0bd02ac";

const NAME: &str = "tf-job-operator";
const CONFIG_MAP: &str = "tf-job-operator-config";
const CONFIG_KEY: &str = "controller_config_file.yaml";
const CONFIG_DIR: &str = "/etc/config";
const GRPC_SERVER: &str = "/opt/mlkube/grpc_tensorflow_server/grpc_tensorflow_server.py";
/// The resource whose limit makes the operator mount the GPU driver paths: the one `tf-job`
/// sets on its GPU workers.
const GPU_RESOURCE: &str = "nvidia.com/gpu";

/// What the operator's objects depend on.
pub struct Operator<'a> {
    /// Where the namespaced objects go.
    pub namespace: &'a str,
    /// The component, for labels.
    pub component: &'a str,
    /// The operator image.
    pub image: &'a str,
    /// Which GPU driver paths the config names.
    pub cloud: Cloud,
}

impl Operator<'_> {
    /// The Deployment, ConfigMap and ServiceAccount of the reference, then the ClusterRole and
    /// ClusterRoleBinding the reference lacked.
    pub fn objects(&self) -> Result<Vec<Object>, Error> {
        let config = ConfigMap {
            metadata: self.meta(CONFIG_MAP, &[]),
            data: Some(map(CONFIG_KEY, self.config())),
            ..Default::default()
        };
        let deployment = Deployment {
            metadata: self.meta(NAME, &[("name", NAME)]),
            spec: Some(DeploymentSpec {
                replicas: Some(1),
                selector: LabelSelector {
                    match_labels: Some(map("name", NAME.to_string())),
                    ..Default::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels(NAME, self.component, &[("name", NAME)])),
                        ..Default::default()
                    }),
                    spec: Some(self.pod()),
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        let account =
            ServiceAccount { metadata: self.meta(NAME, &[("app", NAME)]), ..Default::default() };
        let cluster_role = ClusterRole {
            metadata: meta(NAME, None, labels(NAME, self.component, &[("app", NAME)])),
            rules: Some(rules()),
            ..Default::default()
        };
        let cluster_binding = ClusterRoleBinding {
            metadata: meta(NAME, None, labels(NAME, self.component, &[("app", NAME)])),
            role_ref: role_ref("ClusterRole", NAME),
            subjects: account_subjects(NAME, self.namespace),
        };
        Ok(vec![
            object(&deployment)?,
            object(&config)?,
            object(&account)?,
            object(&cluster_role)?,
            object(&cluster_binding)?,
        ])
    }

    fn meta(&self, name: &str, extra: &[(&str, &str)]) -> ObjectMeta {
        meta(name, Some(self.namespace), labels(NAME, self.component, extra))
    }

    fn pod(&self) -> PodSpec {
        let (mount, volume) = config_volume(CONFIG_MAP, CONFIG_DIR);
        let field = |path: &str| EnvVarSource {
            field_ref: Some(ObjectFieldSelector { field_path: path.into(), ..Default::default() }),
            ..Default::default()
        };
        PodSpec {
            service_account_name: Some(NAME.into()),
            containers: vec![Container {
                name: NAME.into(),
                image: Some(self.image.into()),
                command: Some(vec![
                    "/opt/mlkube/tf_operator".into(),
                    format!("--controller_config_file={CONFIG_DIR}/{CONFIG_KEY}"),
                    "-alsologtostderr".into(),
                    "-v=1".into(),
                ]),
                env: Some(vec![
                    EnvVar {
                        name: "MY_POD_NAMESPACE".into(),
                        value_from: Some(field("metadata.namespace")),
                        ..Default::default()
                    },
                    EnvVar {
                        name: "MY_POD_NAME".into(),
                        value_from: Some(field("metadata.name")),
                        ..Default::default()
                    },
                ]),
                volume_mounts: Some(vec![mount]),
                ..Default::default()
            }],
            volumes: Some(vec![volume]),
            ..Default::default()
        }
    }

    /// `controller_config_file.yaml`: the gRPC server for default parameter servers and, on a
    /// known cloud, the host paths of the NVIDIA drivers that GPU containers get mounted.
    fn config(&self) -> String {
        let mut config = format!("grpcServerFilePath: {GRPC_SERVER}\n");
        let paths = match self.cloud {
            Cloud::Gke => {
                Some(("/home/kubernetes/bin/nvidia/lib", "/home/kubernetes/bin/nvidia/bin"))
            }
            Cloud::Azure => Some(("/usr/lib/nvidia-384", "/usr/lib/nvidia-384/bin")),
            Cloud::None => None,
        };
        if let Some((lib, bin)) = paths {
            config.push_str(&format!(
                "accelerators:\n  \
                 {GPU_RESOURCE}:\n    \
                 volumes:\n    \
                 - name: nvidia-libraries\n      \
                 mountPath: /usr/local/nvidia/lib64\n      \
                 hostPath: {lib}\n    \
                 - name: nvidia-binaries\n      \
                 mountPath: /usr/local/nvidia/bin\n      \
                 hostPath: {bin}\n"
            ));
        }
        config
    }
}

/// What the operator does cluster-wide: run TfJobs as Jobs with Services and ConfigMaps (the
/// default parameter server's code), TensorBoard as Deployments, report Events, and check its
/// CustomResourceDefinition (this version still tries to register it at start-up).
fn rules() -> Vec<PolicyRule> {
    let all = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];
    vec![
        rule(tfjob::GROUP, &[tfjob::PLURAL], &all),
        rule(
            "apiextensions.k8s.io",
            &["customresourcedefinitions"],
            &["get", "list", "watch", "create"],
        ),
        rule("batch", &["jobs"], &all),
        rule("apps", &["deployments"], &all),
        rule("", &["configmaps", "pods", "services", "endpoints", "events"], &all),
    ]
}

fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(resources.iter().map(|r| r.to_string()).collect()),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..Default::default()
    }
}
