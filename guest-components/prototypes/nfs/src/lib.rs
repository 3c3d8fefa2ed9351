//! `nfs`: NFS servers sharing disks with Kubeflow's notebooks, one per disk, each serving a
//! ReadWriteMany claim named after the disk. `core` components of the app mount these claims.
//!
//! On `gke` each disk is the GCE persistent disk of that name; otherwise it is backed by a
//! claim of `diskSize` from the cluster's default StorageClass, so it works on any cluster.

use kiln_sdk::prelude::*;
use kubeflow_common::nfs::{self, Nfs};
use kubeflow_common::{Cloud, check_disks, check_quantity, cloud_param, name_or_component};

struct NfsPrototype;

impl Prototype for NfsPrototype {
    fn describe() -> Info {
        let info = Info::new(
            "nfs",
            "NFS servers that share disks with every Kubeflow notebook\n\n\
             For each disk D: an nfs-provisioner Deployment `D-provisioner` and Service \
             `D-service`, a StorageClass `D-nfs`, and a ReadWriteMany claim `D` that the \
             notebooks of the app's `core` components mount at /mnt/D.",
        )
        .param(
            Param::string("name").doc(
                "Name of the servers' ServiceAccount and roles (default: the component's name)",
            ),
        )
        .param(
            Param::string("namespace").doc("Namespace to deploy to (default: the environment's)"),
        )
        .param(Param::strings("disks").default(&[] as &[&str]).doc(
            "Disks to share, e.g. `pd1,pd2` (on gke, GCE persistent disks of these names); \
             empty renders nothing",
        ))
        .param(cloud_param());
        nfs::params(info)
            .cluster_scoped("rbac.authorization.k8s.io", "ClusterRoleBinding")
            .cluster_scoped("storage.k8s.io", "StorageClass")
            .rbac()
            .other_namespaces()
    }

    fn generate(ctx: &Context) -> Result<Vec<Object>, Error> {
        let p = &ctx.params;
        let name = name_or_component(ctx)?;
        let namespace = ctx.namespace("namespace")?;
        let cloud = Cloud::from_params(p)?;
        let disks = p.strings("disks")?;
        check_disks("disks", &disks)?;
        let disk_size = p.string("diskSize")?;
        check_quantity("diskSize", &disk_size)?;
        Nfs {
            name: &name,
            namespace: &namespace,
            component: &ctx.component,
            disks: &disks,
            cloud,
            image: &p.string("nfsImage")?,
            disk_size: &disk_size,
        }
        .objects()
    }
}

kiln_sdk::prototype!(NfsPrototype);
