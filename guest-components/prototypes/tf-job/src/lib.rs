//! `tf-job`: one distributed TensorFlow training job, a TfJob run by the operator of `core`.
//!
//! Replica sets MASTER, WORKER and PS with the counts of `num_masters`, `num_workers` and
//! `num_ps` (empty sets are left out), each pod running container `tensorflow`. With `num_gpus`
//! the workers run `image_gpu` with that many `nvidia.com/gpu`. The fields are those of the
//! CustomResourceDefinition `core` renders, which checks them.

use k8s::api::core::v1::{Container, PodSpec, PodTemplateSpec, ResourceRequirements};
use k8s::apimachinery::pkg::api::resource::Quantity;
use kiln_sdk::prelude::*;
use kubeflow_common::{labels, map, meta, tfjob};

/// The sample images of the operator's own examples, which run a short smoke test.
const IMAGE: &str = "gcr.io/tf-on-k8s-dogfood/tf_sample:dc944ff";
const IMAGE_GPU: &str = "gcr.io/tf-on-k8s-dogfood/tf_sample_gpu:dc944ff";
const GPU_RESOURCE: &str = "nvidia.com/gpu";

struct TfJob;

impl Prototype for TfJob {
    fn describe() -> Info {
        Info::new(
            "tf-job",
            "A distributed TensorFlow training job (TfJob) for the operator of Kubeflow core\n\n\
             Needs a `core` component in the cluster: it defines the TfJob kind and runs the \
             operator that starts the job's pods.",
        )
        .param(Param::string("name").required().doc("Name of the job"))
        .param(Param::string("namespace").doc("Namespace to run in (default: the environment's)"))
        .param(Param::string("image").default(IMAGE).doc("The image of masters, workers and PSs"))
        .param(
            Param::string("image_gpu")
                .default(IMAGE_GPU)
                .doc("The image of the workers when `num_gpus` is above 0"),
        )
        .param(Param::integer("num_masters").default(1).doc("How many masters"))
        .param(Param::integer("num_workers").default(0).doc("How many workers"))
        .param(Param::integer("num_ps").default(0).doc("How many parameter servers"))
        .param(Param::integer("num_gpus").default(0).doc("GPUs per worker (`nvidia.com/gpu`)"))
        .param(
            Param::strings("args")
                .default(&[] as &[&str])
                .doc("Arguments of the `tensorflow` container (default: the image's)"),
        )
        .other_namespaces()
    }

    fn generate(ctx: &Context) -> Result<Vec<Object>, Error> {
        let p = &ctx.params;
        let name = p.string("name")?;
        validate::dns1123_label("name", &name)?;
        let namespace = ctx.namespace("namespace")?;
        let [masters, workers, ps, gpus] =
            ["num_masters", "num_workers", "num_ps", "num_gpus"].map(|n| count(p, n));
        let (masters, workers, ps, gpus) = (masters?, workers?, ps?, gpus?);
        if masters + workers + ps == 0 {
            return Err(Error::param(
                "num_masters",
                "the job has no replicas: num_masters, num_workers and num_ps are all 0",
            ));
        }
        if gpus > 0 && workers == 0 {
            return Err(Error::param("num_gpus", "GPUs go to the workers, and num_workers is 0"));
        }
        let args = p.strings("args")?;
        let image = p.string("image")?;
        let image_gpu = p.string("image_gpu")?;

        let replicas = [
            ("MASTER", masters, replica(&image, &args, 0)),
            (
                "WORKER",
                workers,
                if gpus > 0 { replica(&image_gpu, &args, gpus) } else { replica(&image, &args, 0) },
            ),
            ("PS", ps, replica(&image, &args, 0)),
        ];
        let mut specs = Vec::new();
        for (kind, count, template) in replicas {
            if count > 0 {
                specs.push(json!({
                    "replicas": count,
                    "tfReplicaType": kind,
                    "template": object(&template)?,
                }));
            }
        }
        let metadata = meta(name, Some(&namespace), labels("tf-job", &ctx.component, &[]));
        Ok(vec![json!({
            "apiVersion": tfjob::API_VERSION,
            "kind": tfjob::KIND,
            "metadata": object(&metadata)?,
            "spec": { "replicaSpecs": specs },
        })])
    }
}

kiln_sdk::prototype!(TfJob);

/// The integer param `name`, at least 0 and small enough for the API's 32-bit counts.
fn count(params: &kiln_sdk::Params, name: &str) -> Result<i32, Error> {
    let value = params.integer(name)?;
    i32::try_from(value).ok().filter(|v| *v >= 0).ok_or_else(|| {
        Error::param(name, format!("`{value}` is not a count from 0 to {}", i32::MAX))
    })
}

/// The pod template of one replica set: container `tensorflow` running `image` with `args`,
/// restarted on failure, with `gpus` GPUs when above 0.
fn replica(image: &str, args: &[String], gpus: i32) -> PodTemplateSpec {
    let resources = (gpus > 0).then(|| ResourceRequirements {
        limits: Some(map(GPU_RESOURCE, Quantity(gpus.to_string()))),
        ..Default::default()
    });
    PodTemplateSpec {
        metadata: None,
        spec: Some(PodSpec {
            containers: vec![Container {
                name: tfjob::CONTAINER.into(),
                image: Some(image.into()),
                args: (!args.is_empty()).then(|| args.to_vec()),
                resources,
                ..Default::default()
            }],
            restart_policy: Some("OnFailure".into()),
            ..Default::default()
        }),
    }
}
