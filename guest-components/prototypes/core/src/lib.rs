//! `core`: Kubeflow's core, JupyterHub and the TensorFlow job operator, plus NFS servers for
//! the disks given in `disks`.
//!
//! Renders the reference's ten objects with Kiln's deliberate differences: `apps/v1` with
//! selectors, the namespace from the environment, a ClusterIP hub unless
//! `jupyterHubServiceType` says otherwise, images as params, standard labels, the TfJob CRD and
//! the operator's cluster RBAC, and a `cloud` param that picks GPU driver paths and disk backing.
//! Notebooks mount the disks of `disks` or, when it is empty, those of the app's `nfs`
//! components, which then serve them: each object is rendered by one component only.

mod crd;
mod jupyterhub;
mod operator;

use kiln_sdk::log;
use kiln_sdk::prelude::*;
use kubeflow_common::nfs::{self, Nfs};
use kubeflow_common::{Cloud, check_disks, check_quantity, cloud_param};

use jupyterhub::Hub;
use operator::Operator;

/// The prototype whose components serve disks the notebooks mount.
const NFS_PROTOTYPE: &str = "nfs";

struct Core;

impl Prototype for Core {
    fn describe() -> Info {
        let info = Info::new(
            "core",
            "Kubeflow core: JupyterHub for notebooks and the TensorFlow job operator\n\n\
             Also defines the TfJob custom resource and the operator's cluster-wide RBAC. \
             Notebooks mount the disks named in `disks` (served by NFS servers this component \
             renders) or, when `disks` is empty, the disks of the app's `nfs` components.",
        )
        .param(
            Param::string("name").required().doc(
                "Name of the deployment; also names the NFS servers' ServiceAccount and roles",
            ),
        )
        .param(
            Param::string("namespace").doc("Namespace to deploy to (default: the environment's)"),
        )
        .param(Param::strings("disks").default(&[] as &[&str]).doc(
            "Disks to share with every notebook at /mnt/<disk> over NFS (on gke, GCE persistent \
             disks of these names); empty: mount the disks of the app's `nfs` components",
        ))
        .param(cloud_param())
        .param(Param::string("tfJobImage").default(operator::IMAGE).doc("The TfJob operator image"))
        .param(
            Param::string("jupyterHubImage").default(jupyterhub::IMAGE).doc("The JupyterHub image"),
        )
        .param(Param::string("jupyterHubServiceType").default("ClusterIP").doc(
            "Type of the tf-hub-lb Service: ClusterIP, NodePort or LoadBalancer (public, and the \
             hub accepts any password)",
        ))
        .param(
            Param::string("notebookImage")
                .default(jupyterhub::NOTEBOOK_IMAGE)
                .doc("The notebook image when the spawn form leaves it blank"),
        );
        nfs::params(info)
            .cluster_scoped("apiextensions.k8s.io", "CustomResourceDefinition")
            .cluster_scoped("rbac.authorization.k8s.io", "ClusterRole")
            .cluster_scoped("rbac.authorization.k8s.io", "ClusterRoleBinding")
            .cluster_scoped("storage.k8s.io", "StorageClass")
            .rbac()
            .other_namespaces()
    }

    fn generate(ctx: &Context) -> Result<Vec<Object>, Error> {
        let p = &ctx.params;
        let name = p.string("name")?;
        validate::dns1123_label("name", &name)?;
        let namespace = ctx.namespace("namespace")?;
        let cloud = Cloud::from_params(p)?;
        let service_type = p.string("jupyterHubServiceType")?;
        validate::one_of("jupyterHubServiceType", &service_type, jupyterhub::SERVICE_TYPES)?;
        let disks = p.strings("disks")?;
        check_disks("disks", &disks)?;
        let disk_size = p.string("diskSize")?;
        check_quantity("diskSize", &disk_size)?;

        let mounted =
            if disks.is_empty() { nfs_component_disks(ctx, &namespace)? } else { disks.clone() };
        let hub = Hub {
            namespace: &namespace,
            component: &ctx.component,
            image: &p.string("jupyterHubImage")?,
            service_type: &service_type,
            notebook_image: &p.string("notebookImage")?,
            disks: &mounted,
        };
        let operator = Operator {
            namespace: &namespace,
            component: &ctx.component,
            image: &p.string("tfJobImage")?,
            cloud,
        };
        let nfs = Nfs {
            name: &name,
            namespace: &namespace,
            component: &ctx.component,
            disks: &disks,
            cloud,
            image: &p.string("nfsImage")?,
            disk_size: &disk_size,
        };
        let mut objects = hub.objects()?;
        objects.extend(operator.objects()?);
        objects.push(crd::tfjob_crd(&ctx.component)?);
        objects.extend(nfs.objects()?);
        Ok(objects)
    }
}

kiln_sdk::prototype!(Core);

/// The disks served by the app's `nfs` components in `namespace`, in component order, each
/// once. Disks served elsewhere cannot be mounted, so they are skipped with a warning; invalid
/// ones are skipped too, since their component fails to render.
fn nfs_component_disks(ctx: &Context, namespace: &str) -> Result<Vec<String>, Error> {
    let mut disks: Vec<String> = Vec::new();
    for view in ctx.components().into_iter().filter(|c| c.prototype == NFS_PROTOTYPE) {
        let params = &view.params;
        let theirs = params.opt_strings("disks")?.unwrap_or_default();
        if check_disks("disks", &theirs).is_err() {
            // That component rejects them itself, naming its param; failing here would blame
            // this component instead.
            continue;
        }
        let their_namespace =
            params.opt_string("namespace")?.unwrap_or_else(|| ctx.env.namespace.clone());
        if their_namespace != namespace && !theirs.is_empty() {
            log::warn(&format!(
                "not mounting the disks of component `{}` ({}): they are served in namespace \
                 `{their_namespace}` and the notebooks run in `{namespace}`",
                view.name,
                theirs.join(", "),
            ));
            continue;
        }
        for disk in theirs {
            if !disks.contains(&disk) {
                disks.push(disk);
            }
        }
    }
    Ok(disks)
}
