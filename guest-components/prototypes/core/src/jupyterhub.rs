//! JupyterHub: its config (KubeSpawner with an options form, the shared disks mounted in every
//! notebook), the `tf-hub` StatefulSet, its two Services and the RBAC that lets it spawn pods.

use k8s::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s::api::core::v1::{
    ConfigMap, Container, ContainerPort, PodSpec, PodTemplateSpec, Service, ServiceAccount,
    ServicePort, ServiceSpec,
};
use k8s::api::rbac::v1::{PolicyRule, Role, RoleBinding};
use k8s::apimachinery::pkg::util::intstr::IntOrString;
use kiln_sdk::prelude::*;
use kiln_sdk::serde_json::Value;
use kubeflow_common::{account_subjects, config_volume, labels, map, meta, role_ref};

/// The JupyterHub image of the reference.
pub const IMAGE: &str = "gcr.io/kubeflow/jupyterhub:1.0";
/// The notebook image a blank options form starts.
pub const NOTEBOOK_IMAGE: &str = "gcr.io/kubeflow/tensorflow-notebook-cpu";
/// Service types `jupyterHubServiceType` accepts.
pub const SERVICE_TYPES: &[&str] = &["ClusterIP", "NodePort", "LoadBalancer"];

const APP: &str = "jupyterhub";
const HUB: &str = "tf-hub";
const HEADLESS: &str = "tf-hub-0";
const CONFIG_MAP: &str = "jupyterhub-config";
const CONFIG_KEY: &str = "jupyterhub_config.py";
const CONFIG_DIR: &str = "/etc/config";
const ACCOUNT: &str = "jupyter-hub";
const ROLE: &str = "jupyter-role";
const HUB_PORT: i32 = 8000;
const API_PORT: i32 = 8081;

/// What the JupyterHub objects depend on.
pub struct Hub<'a> {
    /// Where they go.
    pub namespace: &'a str,
    /// The component, for labels.
    pub component: &'a str,
    /// The hub image.
    pub image: &'a str,
    /// The type of the `tf-hub-lb` Service.
    pub service_type: &'a str,
    /// The notebook image a blank form starts.
    pub notebook_image: &'a str,
    /// Claims to mount in every notebook at `/mnt/<claim>`.
    pub disks: &'a [String],
}

impl Hub<'_> {
    /// The ConfigMap, Services, StatefulSet and RBAC objects, in the reference's order.
    pub fn objects(&self) -> Result<Vec<Object>, Error> {
        let config = ConfigMap {
            metadata: self.meta(CONFIG_MAP, &[]),
            data: Some(map(CONFIG_KEY, self.config())),
            ..Default::default()
        };
        let selector = map("app", HUB.to_string());
        let headless = Service {
            metadata: self.meta(HEADLESS, &[("app", HUB)]),
            spec: Some(ServiceSpec {
                cluster_ip: Some("None".into()),
                selector: Some(selector.clone()),
                ports: Some(vec![port("hub", HUB_PORT, HUB_PORT)]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let public = Service {
            metadata: self.meta("tf-hub-lb", &[("app", "tf-hub-lb")]),
            spec: Some(ServiceSpec {
                type_: Some(self.service_type.into()),
                selector: Some(selector.clone()),
                ports: Some(vec![port("http", 80, HUB_PORT)]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let hub = StatefulSet {
            metadata: self.meta(HUB, &[("app", HUB)]),
            spec: Some(StatefulSetSpec {
                replicas: Some(1),
                service_name: Some(HEADLESS.into()),
                selector: LabelSelector { match_labels: Some(selector), ..Default::default() },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels(APP, self.component, &[("app", HUB)])),
                        ..Default::default()
                    }),
                    spec: Some(self.pod()),
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        // KubeSpawner manages each user's pod and claim, and watches their events.
        let role = Role {
            metadata: self.meta(ROLE, &[]),
            rules: Some(vec![
                rule(
                    &["pods", "persistentvolumeclaims"],
                    &["get", "list", "watch", "create", "update", "patch", "delete"],
                ),
                rule(&["events"], &["get", "list", "watch"]),
            ]),
        };
        let account = ServiceAccount {
            metadata: self.meta(ACCOUNT, &[("app", ACCOUNT)]),
            ..Default::default()
        };
        let binding = RoleBinding {
            metadata: self.meta(ROLE, &[]),
            role_ref: role_ref("Role", ROLE),
            subjects: account_subjects(ACCOUNT, self.namespace),
        };
        Ok(vec![
            object(&config)?,
            object(&headless)?,
            object(&public)?,
            object(&hub)?,
            object(&role)?,
            object(&account)?,
            object(&binding)?,
        ])
    }

    fn meta(&self, name: &str, extra: &[(&str, &str)]) -> ObjectMeta {
        meta(name, Some(self.namespace), labels(APP, self.component, extra))
    }

    fn pod(&self) -> PodSpec {
        let (mount, volume) = config_volume(CONFIG_MAP, CONFIG_DIR);
        PodSpec {
            service_account_name: Some(ACCOUNT.into()),
            containers: vec![Container {
                name: HUB.into(),
                image: Some(self.image.into()),
                command: Some(vec![
                    "jupyterhub".into(),
                    "-f".into(),
                    format!("{CONFIG_DIR}/{CONFIG_KEY}"),
                ]),
                ports: Some(vec![
                    ContainerPort {
                        name: Some("hub".into()),
                        container_port: HUB_PORT,
                        ..Default::default()
                    },
                    ContainerPort {
                        name: Some("api".into()),
                        container_port: API_PORT,
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

    /// `jupyterhub_config.py`. Values from params are written as Python literals, so no param
    /// can inject code into the hub's config.
    fn config(&self) -> String {
        let mut volumes = vec![json!({
            "name": "volume-{username}{servername}",
            "persistentVolumeClaim": { "claimName": "claim-{username}{servername}" },
        })];
        let mut mounts = vec![
            json!({ "name": "volume-{username}{servername}", "mountPath": "/home/jovyan/work" }),
        ];
        for disk in self.disks {
            volumes.push(json!({ "name": disk, "persistentVolumeClaim": { "claimName": disk } }));
            mounts.push(json!({ "name": disk, "mountPath": format!("/mnt/{disk}") }));
        }
        let list = |items: Vec<Value>| {
            let lines: Vec<String> =
                items.iter().map(|i| format!("    {},\n", python_literal(i))).collect();
            format!("[\n{}]", lines.concat())
        };
        format!(
            "{HEADER}\
             DEFAULT_IMAGE = {image}\n\
             DEFAULT_CPU = '500m'\n\
             DEFAULT_MEMORY = '1Gi'\n\
             {SPAWNER}\n\
             {SETTINGS}\n\
             c.KubeSpawner.volumes = {volumes}\n\
             c.KubeSpawner.volume_mounts = {mounts}\n",
            image = python_literal(&json!(self.notebook_image)),
            volumes = list(volumes),
            mounts = list(mounts),
        )
    }
}

/// Python text for `value`: JSON's strings, lists and objects of strings are valid Python, so
/// whatever a param holds stays inside its string literal.
fn python_literal(value: &Value) -> String {
    value.to_string()
}

fn port(name: &str, port: i32, target: i32) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::Int(target)),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

fn rule(resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![String::new()]),
        resources: Some(resources.iter().map(|r| r.to_string()).collect()),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..Default::default()
    }
}

const HEADER: &str = "\
# JupyterHub for Kubeflow, rendered by Kiln's `core` prototype.
import json

from kubespawner.spawner import KubeSpawner

";

/// The spawner: KubeSpawner plus a form for the image, resources and extra limits; blank
/// fields fall back to the defaults above it.
const SPAWNER: &str = r#"

class KubeFormSpawner(KubeSpawner):
    """KubeSpawner that asks for the notebook image, CPU, memory and extra resource limits."""

    def _options_form_default(self):
        return '''
<label for="image">Image</label>&nbsp;&nbsp;
<input name="image" placeholder="repo/image:tag"></input>
<br/><br/>
<label for="cpu_guarantee">CPU</label>&nbsp;&nbsp;
<input name="cpu_guarantee" placeholder="200m, 1.0, 2.5, etc"></input>
<br/><br/>
<label for="mem_guarantee">Memory</label>&nbsp;&nbsp;
<input name="mem_guarantee" placeholder="100Mi, 1.5Gi"></input>
<br/><br/>
<label for="extra_resource_limits">Extra Resource Limits</label>&nbsp;&nbsp;
<input name="extra_resource_limits" placeholder='{"nvidia.com/gpu": 3}'></input>
<br/><br/>
'''

    def options_from_form(self, formdata):
        fields = ('image', 'cpu_guarantee', 'mem_guarantee', 'extra_resource_limits')
        return {field: formdata.get(field, [''])[0].strip() for field in fields}

    @property
    def singleuser_image_spec(self):
        return self.user_options.get('image') or DEFAULT_IMAGE

    @property
    def cpu_guarantee(self):
        return self.user_options.get('cpu_guarantee') or DEFAULT_CPU

    @property
    def mem_guarantee(self):
        return self.user_options.get('mem_guarantee') or DEFAULT_MEMORY

    @property
    def extra_resource_limits(self):
        extra = self.user_options.get('extra_resource_limits')
        return json.loads(extra) if extra else {}
"#;

const SETTINGS: &str = "
# The hub listens on every interface; it is exposed by the tf-hub-0 and tf-hub-lb Services.
c.JupyterHub.ip = '0.0.0.0'
c.JupyterHub.hub_ip = '0.0.0.0'
# Keep notebooks running when the hub restarts.
c.JupyterHub.cleanup_servers = False
c.JupyterHub.spawner_class = KubeFormSpawner
# Any user name and password is accepted: keep the hub private (the default ClusterIP Service)
# or configure a real authenticator.
c.JupyterHub.authenticator_class = 'dummyauthenticator.DummyAuthenticator'

c.KubeSpawner.cmd = 'start-singleuser.sh'
c.KubeSpawner.args = ['--allow-root']
# First pulls of notebook images are slow.
c.KubeSpawner.start_timeout = 600

# Each user's work directory is a claim of its own, from the default StorageClass.
c.KubeSpawner.user_storage_pvc_ensure = True
c.KubeSpawner.user_storage_capacity = '10Gi'
c.KubeSpawner.pvc_name_template = 'claim-{username}{servername}'";
