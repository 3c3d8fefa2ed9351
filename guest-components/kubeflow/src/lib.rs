//! What Kiln's Kubeflow prototypes share: standard labels and metadata, the `cloud` param, disk
//! names, the TfJob API's names, and the NFS servers both `core` and `nfs` render.
//! A library, not a prototype: it exports nothing and is linked into the prototypes that use it.

pub mod nfs;

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;
use kiln_sdk::{Context, Params};

/// The values of the `cloud` param: none, Google Kubernetes Engine, Azure.
pub const CLOUDS: &[&str] = &["", "gke", "azure"];

/// The TfJob custom resource, as `core`'s CustomResourceDefinition defines it and `tf-job`
/// instantiates it. One place for the names keeps the two in step.
pub mod tfjob {
    /// The API group.
    pub const GROUP: &str = "tensorflow.org";
    /// The one version served.
    pub const VERSION: &str = "v1alpha1";
    /// `apiVersion` of a TfJob.
    pub const API_VERSION: &str = "tensorflow.org/v1alpha1";
    /// The kind.
    pub const KIND: &str = "TfJob";
    /// The resource (plural) name.
    pub const PLURAL: &str = "tfjobs";
    /// The singular name.
    pub const SINGULAR: &str = "tfjob";
    /// The replica types a job may have, in the order the operator documents them.
    pub const REPLICA_TYPES: &[&str] = &["MASTER", "WORKER", "PS"];
    /// The container the operator looks for in each replica's pod template.
    pub const CONTAINER: &str = "tensorflow";
}

/// The curated cloud configuration the `cloud` param selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    /// No cloud: nothing host-specific, storage from the cluster's default StorageClass.
    None,
    /// Google Kubernetes Engine: GCE persistent disks, GKE's NVIDIA driver paths.
    Gke,
    /// Azure: the NVIDIA driver paths of Azure's GPU nodes.
    Azure,
}

impl Cloud {
    /// The `cloud` param of `params`, checked against [`CLOUDS`].
    pub fn from_params(params: &Params) -> Result<Cloud, Error> {
        let value = params.string("cloud")?;
        validate::one_of("cloud", &value, CLOUDS)?;
        Ok(match value.as_str() {
            "gke" => Cloud::Gke,
            "azure" => Cloud::Azure,
            _ => Cloud::None,
        })
    }
}

/// The `cloud` param, declared the same way by every Kubeflow prototype.
pub fn cloud_param() -> Param {
    Param::string("cloud")
        .default("")
        .doc("Curated cloud configuration: `gke`, `azure`, or empty for none")
}

/// Labels for an object of the Kubeflow application `app` (e.g. `jupyterhub`) rendered by
/// `component`: the standard `app.kubernetes.io` ones plus the reference's own `extra` labels.
pub fn labels(app: &str, component: &str, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), app.to_string()),
        ("app.kubernetes.io/instance".to_string(), component.to_string()),
        ("app.kubernetes.io/part-of".to_string(), "kubeflow".to_string()),
    ]);
    labels.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    labels
}

/// Metadata with `name`, `labels` and, for namespaced objects, `namespace`; cluster-scoped
/// objects pass `None` since they carry no namespace.
pub fn meta(
    name: impl Into<String>,
    namespace: Option<&str>,
    labels: BTreeMap<String, String>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: namespace.map(str::to_string),
        labels: Some(labels),
        ..Default::default()
    }
}

/// A single-entry map, for selectors and resource lists.
pub fn map<V>(key: &str, value: V) -> BTreeMap<String, V> {
    BTreeMap::from([(key.to_string(), value)])
}

/// The name for objects shared by a component: the `name` param when given, otherwise the
/// component's own name. Either must be a DNS-1123 label, and the error says which was used.
pub fn name_or_component(ctx: &Context) -> Result<String, Error> {
    match ctx.params.opt_string("name")? {
        Some(name) => {
            validate::dns1123_label("name", &name)?;
            Ok(name)
        }
        None => {
            validate::dns1123_label("name", &ctx.component).map_err(|_| {
                Error::param(
                    "name",
                    format!(
                        "is not set and the component name `{}` is not a valid DNS-1123 label; \
                         set `name` to a lowercase name",
                        ctx.component
                    ),
                )
            })?;
            Ok(ctx.component.clone())
        }
    }
}

/// The longest disk name: the provisioner's pod label `app=<disk>-provisioner` must fit in 63
/// characters.
const MAX_DISK_NAME: usize = 63 - "-provisioner".len();

/// Check the disk names of param `param`: each names a claim, a StorageClass prefix and a
/// Service prefix, so each must be a DNS-1123 label that starts with a letter, short enough for
/// the names derived from it, and listed once.
pub fn check_disks(param: &str, disks: &[String]) -> Result<(), Error> {
    for (i, disk) in disks.iter().enumerate() {
        validate::dns1123_label(param, disk)?;
        if !disk.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(Error::param(
                param,
                format!(
                    "`{disk}` must start with a lowercase letter (it names Service `{disk}-service`)"
                ),
            ));
        }
        if disk.len() > MAX_DISK_NAME {
            return Err(Error::param(
                param,
                format!(
                    "`{disk}` is longer than {MAX_DISK_NAME} characters, too long for the \
                     label `app={disk}-provisioner`"
                ),
            ));
        }
        if disks[..i].contains(disk) {
            return Err(Error::param(param, format!("`{disk}` is listed twice")));
        }
    }
    Ok(())
}

/// Check that `value` of param `param` is a Kubernetes quantity such as `10Gi` or `500m`.
pub fn check_quantity(param: &str, value: &str) -> Result<(), Error> {
    const SUFFIXES: &[&str] =
        &["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"];
    let digits_end = value.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(value.len());
    let (number, suffix) = value.split_at(digits_end);
    let number_ok = !number.is_empty()
        && number.matches('.').count() <= 1
        && !number.starts_with('.')
        && !number.ends_with('.');
    if number_ok && SUFFIXES.contains(&suffix) {
        Ok(())
    } else {
        Err(Error::param(
            param,
            format!("`{value}` is not a Kubernetes quantity such as `10Gi`, `500Mi` or `1`"),
        ))
    }
}

/// A reference to the RBAC role `kind` (`Role` or `ClusterRole`) named `name`.
pub fn role_ref(kind: &str, name: &str) -> k8s::api::rbac::v1::RoleRef {
    k8s::api::rbac::v1::RoleRef {
        api_group: "rbac.authorization.k8s.io".into(),
        kind: kind.into(),
        name: name.into(),
    }
}

/// The subjects of a binding to the ServiceAccount `name` in `namespace`.
pub fn account_subjects(name: &str, namespace: &str) -> Option<Vec<k8s::api::rbac::v1::Subject>> {
    Some(vec![k8s::api::rbac::v1::Subject {
        kind: "ServiceAccount".into(),
        name: name.into(),
        namespace: Some(namespace.into()),
        ..Default::default()
    }])
}

/// The ConfigMap `config_map` mounted at `dir`: the container's mount and the pod's volume.
pub fn config_volume(
    config_map: &str,
    dir: &str,
) -> (k8s::api::core::v1::VolumeMount, k8s::api::core::v1::Volume) {
    use k8s::api::core::v1::{ConfigMapVolumeSource, Volume, VolumeMount};
    let name = "config-volume";
    let mount = VolumeMount { name: name.into(), mount_path: dir.into(), ..Default::default() };
    let volume = Volume {
        name: name.into(),
        config_map: Some(ConfigMapVolumeSource { name: config_map.into(), ..Default::default() }),
        ..Default::default()
    };
    (mount, volume)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disks(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn disk_names_must_be_labels_starting_with_a_letter_listed_once() {
        assert!(check_disks("disks", &disks(&["pd1", "pd-2"])).is_ok());
        for bad in [&["pd_1"][..], &["PD1"], &["1pd"], &["pd1", "pd1"], &[&"d".repeat(52)]] {
            let err = check_disks("disks", &disks(bad)).unwrap_err();
            assert!(matches!(err, Error::Param { ref name, .. } if name == "disks"), "{bad:?}");
        }
    }

    #[test]
    fn quantities() {
        for good in ["10Gi", "1", "1.5Gi", "500m", "1Mi"] {
            assert!(check_quantity("q", good).is_ok(), "{good}");
        }
        for bad in ["", "Gi", "10 Gi", "10GB", "1..5", ".5", "ten"] {
            assert!(check_quantity("q", bad).is_err(), "{bad}");
        }
    }
}
