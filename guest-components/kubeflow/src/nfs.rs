//! NFS servers for the notebooks' shared disks: one nfs-provisioner per disk, serving a
//! ReadWriteMany claim named after the disk. Rendered by `nfs`, and by `core` when its own
//! `disks` param is set; the caller checks the disk names (see [`crate::check_disks`]).

use k8s::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, GCEPersistentDiskVolumeSource,
    ObjectFieldSelector, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec, SecurityContext, Service,
    ServiceAccount, ServicePort, ServiceSpec, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s::api::rbac::v1::{ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s::api::storage::v1::StorageClass;
use k8s::apimachinery::pkg::api::resource::Quantity;
use k8s::apimachinery::pkg::util::intstr::IntOrString;
use kiln_sdk::prelude::*;

use crate::{Cloud, labels, map, meta};

/// The NFS provisioner image of the reference.
pub const IMAGE: &str = "quay.io/kubernetes_incubator/nfs-provisioner:v1.0.8";
/// The size of a disk's backing claim when no cloud disk backs it.
pub const DISK_SIZE: &str = "10Gi";
/// The value of `app.kubernetes.io/name` on NFS objects.
const APP: &str = "nfs-provisioner";
/// The built-in ClusterRole external provisioners are bound to.
const PROVISIONER_ROLE: &str = "system:persistent-volume-provisioner";
/// (name, port, protocol) of the ports an NFS server listens on.
const PORTS: &[(&str, i32, &str)] = &[
    ("nfs", 2049, "TCP"),
    ("mountd", 20048, "TCP"),
    ("rpcbind", 111, "TCP"),
    ("rpcbind-udp", 111, "UDP"),
];

/// The params `core` and `nfs` both declare for NFS, after `disks`.
pub fn params(info: Info) -> Info {
    info.param(Param::string("nfsImage").default(IMAGE).doc("The NFS provisioner image")).param(
        Param::string("diskSize").default(DISK_SIZE).doc(
            "Size of the claim backing each disk when `cloud` is not `gke` (which uses the GCE \
             persistent disk of that name)",
        ),
    )
}

/// Everything needed to render NFS servers for some disks.
#[derive(Debug, Clone)]
pub struct Nfs<'a> {
    /// The name of the shared objects (ServiceAccount, Role and bindings).
    pub name: &'a str,
    /// Where the namespaced objects go.
    pub namespace: &'a str,
    /// The component rendering them, for labels.
    pub component: &'a str,
    /// The disks, already checked.
    pub disks: &'a [String],
    /// What backs each disk's export directory.
    pub cloud: Cloud,
    /// The provisioner image.
    pub image: &'a str,
    /// The size of each backing claim when no cloud disk backs it.
    pub disk_size: &'a str,
}

impl Nfs<'_> {
    /// The objects: the shared ServiceAccount, Role and bindings once, then per disk its
    /// StorageClass, claim, Service, Deployment and, without a cloud disk, its backing claim.
    /// Nothing at all without disks.
    pub fn objects(&self) -> Result<Vec<Object>, Error> {
        if self.disks.is_empty() {
            return Ok(Vec::new());
        }
        let mut objects = self.shared()?;
        for disk in self.disks {
            objects.extend(self.disk(disk)?);
        }
        Ok(objects)
    }

    fn labels(&self, extra: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        labels(APP, self.component, extra)
    }

    fn meta(&self, name: String, extra: &[(&str, &str)]) -> ObjectMeta {
        meta(name, Some(self.namespace), self.labels(extra))
    }

    fn shared(&self) -> Result<Vec<Object>, Error> {
        let subjects = crate::account_subjects(self.name, self.namespace);
        let account =
            ServiceAccount { metadata: self.meta(self.name.into(), &[]), ..Default::default() };
        // Leader election on Endpoints, and the Service the provisioner advertises.
        let role = Role {
            metadata: self.meta(self.name.into(), &[]),
            rules: Some(vec![
                rule(&["endpoints"], &["get", "list", "watch", "create", "update", "patch"]),
                rule(&["services"], &["get"]),
            ]),
        };
        let binding = RoleBinding {
            metadata: self.meta(format!("{}-nfs-role", self.name), &[]),
            role_ref: crate::role_ref("Role", self.name),
            subjects: subjects.clone(),
        };
        let cluster_binding = ClusterRoleBinding {
            metadata: meta(format!("{}-nfs-role", self.name), None, self.labels(&[])),
            role_ref: crate::role_ref("ClusterRole", PROVISIONER_ROLE),
            subjects,
        };
        Ok(vec![object(&account)?, object(&role)?, object(&binding)?, object(&cluster_binding)?])
    }

    fn disk(&self, disk: &str) -> Result<Vec<Object>, Error> {
        let provisioner = format!("{disk}-provisioner");
        let service_name = format!("{disk}-service");
        let storage_class = StorageClass {
            metadata: meta(format!("{disk}-nfs"), None, self.labels(&[])),
            provisioner: format!("{disk}/nfs"),
            ..Default::default()
        };
        let claim =
            new_claim(self.meta(disk.into(), &[]), "ReadWriteMany", "1Mi", Some(&storage_class));
        let service = Service {
            metadata: self.meta(service_name.clone(), &[("app", &provisioner)]),
            spec: Some(ServiceSpec {
                selector: Some(map("app", provisioner.clone())),
                ports: Some(
                    PORTS
                        .iter()
                        .map(|&(name, port, protocol)| service_port(name, port, protocol))
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        };
        let (export, backing) = match self.cloud {
            Cloud::Gke => (
                Volume {
                    name: "export".into(),
                    gce_persistent_disk: Some(GCEPersistentDiskVolumeSource {
                        pd_name: disk.into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                None,
            ),
            Cloud::None | Cloud::Azure => {
                let name = format!("{disk}-backing");
                let backing =
                    new_claim(self.meta(name.clone(), &[]), "ReadWriteOnce", self.disk_size, None);
                let volume = Volume {
                    name: "export".into(),
                    persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                        claim_name: name,
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                (volume, Some(backing))
            }
        };
        let deployment = Deployment {
            metadata: self.meta(provisioner.clone(), &[("app", &provisioner)]),
            spec: Some(DeploymentSpec {
                replicas: Some(1),
                // Two servers must never export the same disk at once.
                strategy: Some(DeploymentStrategy {
                    type_: Some("Recreate".into()),
                    ..Default::default()
                }),
                selector: LabelSelector {
                    match_labels: Some(map("app", provisioner.clone())),
                    ..Default::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(self.labels(&[("app", &provisioner)])),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        service_account_name: Some(self.name.into()),
                        containers: vec![self.container(disk, &service_name)],
                        volumes: Some(vec![export]),
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut objects =
            vec![object(&storage_class)?, object(&claim)?, object(&service)?, object(&deployment)?];
        if let Some(backing) = backing {
            objects.push(object(&backing)?);
        }
        Ok(objects)
    }

    fn container(&self, disk: &str, service_name: &str) -> Container {
        let field = |path: &str| EnvVarSource {
            field_ref: Some(ObjectFieldSelector { field_path: path.into(), ..Default::default() }),
            ..Default::default()
        };
        Container {
            name: "nfs-provisioner".into(),
            image: Some(self.image.into()),
            args: Some(vec![format!("-provisioner={disk}/nfs")]),
            env: Some(vec![
                EnvVar {
                    name: "POD_IP".into(),
                    value_from: Some(field("status.podIP")),
                    ..Default::default()
                },
                EnvVar {
                    name: "SERVICE_NAME".into(),
                    value: Some(service_name.into()),
                    ..Default::default()
                },
                EnvVar {
                    name: "POD_NAMESPACE".into(),
                    value_from: Some(field("metadata.namespace")),
                    ..Default::default()
                },
            ]),
            ports: Some(
                PORTS
                    .iter()
                    .map(|&(name, port, protocol)| ContainerPort {
                        name: Some(name.into()),
                        container_port: port,
                        protocol: Some(protocol.into()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            security_context: Some(SecurityContext {
                capabilities: Some(Capabilities {
                    add: Some(vec!["DAC_READ_SEARCH".into()]),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            volume_mounts: Some(vec![VolumeMount {
                name: "export".into(),
                mount_path: "/export".into(),
                ..Default::default()
            }]),
            ..Default::default()
        }
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

fn service_port(name: &str, port: i32, protocol: &str) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::Int(port)),
        protocol: Some(protocol.into()),
        ..Default::default()
    }
}

/// A claim of `size` with `mode`, from `class` or, without one, the default StorageClass.
fn new_claim(
    metadata: ObjectMeta,
    mode: &str,
    size: &str,
    class: Option<&StorageClass>,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata,
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec![mode.into()]),
            storage_class_name: class.and_then(|c| c.metadata.name.clone()),
            resources: Some(VolumeResourceRequirements {
                requests: Some(map("storage", Quantity(size.into()))),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
