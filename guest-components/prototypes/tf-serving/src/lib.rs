//! `tf-serving`: TensorFlow Serving for one model, a Deployment and a Service.
//!
//! Renders what Kubeflow's December 2017 prototype did, with the deliberate differences of
//! Kiln's Kubeflow packages: `apps/v1` with a selector, the namespace from the environment, a
//! ClusterIP Service unless `serviceType` says otherwise, the image as a param, standard labels,
//! `fsGroup` in the pod's security context (the only place Kubernetes accepts it), and optional
//! credentials for GCS (`gcpCredentialSecretName`) and S3 (`s3SecretName`) model paths.

use std::collections::BTreeMap;

use k8s::api::apps::v1::{Deployment, DeploymentSpec};
use k8s::api::core::v1::{
    Container, ContainerPort, EnvVar, EnvVarSource, PodSecurityContext, PodSpec, PodTemplateSpec,
    ResourceRequirements, SecretKeySelector, SecretVolumeSource, Service, ServicePort, ServiceSpec,
    Volume, VolumeMount,
};
use k8s::apimachinery::pkg::api::resource::Quantity;
use k8s::apimachinery::pkg::util::intstr::IntOrString;
use kiln_sdk::prelude::*;

const PORT: i32 = 9000;
const IMAGE: &str = "gcr.io/kubeflow/model-server:1.0";
const CLOUDS: &[&str] = &["", "gke", "azure"];
const SERVICE_TYPES: &[&str] = &["ClusterIP", "NodePort", "LoadBalancer"];
const GCP_CREDENTIALS_DIR: &str = "/secret/gcp-credentials";

struct TfServing;

impl Prototype for TfServing {
    fn describe() -> Info {
        Info::new(
            "tf-serving",
            "TensorFlow Serving for one model: a Deployment and a Service on gRPC port 9000",
        )
        .param(
            Param::string("name").required().doc("Name of the model, its Deployment and Service"),
        )
        .param(
            Param::string("namespace").doc("Namespace to deploy to (default: the environment's)"),
        )
        .param(
            Param::string("modelPath")
                .required()
                .doc("Where the model lives, e.g. gs://bucket/inception or s3://bucket/model"),
        )
        .param(Param::string("image").default(IMAGE).doc("The model server image"))
        .param(
            Param::string("serviceType")
                .default("ClusterIP")
                .doc("Service type: ClusterIP, NodePort or LoadBalancer"),
        )
        .param(Param::string("cloud").default("").doc("Curated cloud config: gke, azure or empty"))
        .param(
            Param::string("gcpCredentialSecretName")
                .doc("Secret with a GCP service account key (key.json) for gs:// model paths"),
        )
        .param(
            Param::string("s3SecretName").doc(
                "Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for s3:// model paths",
            ),
        )
        .other_namespaces()
    }

    fn generate(ctx: &Context) -> Result<Vec<Object>, Error> {
        let p = &ctx.params;
        let name = p.string("name")?;
        validate::dns1035_label("name", &name)?;
        let namespace = ctx.namespace("namespace")?;
        let model_path = p.string("modelPath")?;
        if model_path.trim().is_empty() {
            return Err(Error::param("modelPath", "must not be empty"));
        }
        validate::one_of("cloud", &p.string("cloud")?, CLOUDS)?;
        let service_type = p.string("serviceType")?;
        validate::one_of("serviceType", &service_type, SERVICE_TYPES)?;
        let s3_secret = p.opt_string("s3SecretName")?;
        if s3_secret.is_some() && !model_path.starts_with("s3://") {
            return Err(Error::param(
                "s3SecretName",
                format!("is only used with an s3:// model path, and modelPath is `{model_path}`"),
            ));
        }

        let meta = ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(namespace),
            labels: Some(labels(&name, &ctx.component)),
            ..Default::default()
        };
        let mut pod = pod_spec(&name, &p.string("image")?, &model_path);
        if let Some(secret) = p.opt_string("gcpCredentialSecretName")? {
            mount_gcp_credentials(&mut pod, &secret);
        }
        if let Some(secret) = s3_secret {
            add_s3_credentials(&mut pod, &secret);
        }
        let selector = BTreeMap::from([("app".to_string(), name.clone())]);
        let deployment = Deployment {
            metadata: meta.clone(),
            spec: Some(DeploymentSpec {
                replicas: Some(1),
                selector: LabelSelector {
                    match_labels: Some(selector.clone()),
                    ..Default::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels(&name, &ctx.component)),
                        ..Default::default()
                    }),
                    spec: Some(pod),
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        let service = Service {
            metadata: meta,
            spec: Some(ServiceSpec {
                type_: Some(service_type),
                selector: Some(selector),
                ports: Some(vec![ServicePort {
                    name: Some("grpc".into()),
                    port: PORT,
                    target_port: Some(IntOrString::Int(PORT)),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        Ok(vec![object(&deployment)?, object(&service)?])
    }
}

kiln_sdk::prototype!(TfServing);

fn labels(name: &str, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app".into(), name.into()),
        ("app.kubernetes.io/name".into(), "tf-serving".into()),
        ("app.kubernetes.io/instance".into(), component.into()),
        ("app.kubernetes.io/part-of".into(), "kubeflow".into()),
    ])
}

fn quantities(cpu: &str, memory: &str) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        ("cpu".to_string(), Quantity(cpu.into())),
        ("memory".to_string(), Quantity(memory.into())),
    ])
}

fn pod_spec(name: &str, image: &str, model_path: &str) -> PodSpec {
    PodSpec {
        security_context: Some(PodSecurityContext {
            run_as_user: Some(1000),
            fs_group: Some(1000),
            ..Default::default()
        }),
        containers: vec![Container {
            name: name.into(),
            image: Some(image.into()),
            command: Some(vec!["/usr/bin/tensorflow_model_server".into()]),
            args: Some(vec![
                format!("--port={PORT}"),
                format!("--model_name={name}"),
                format!("--model_base_path={model_path}"),
            ]),
            ports: Some(vec![ContainerPort { container_port: PORT, ..Default::default() }]),
            resources: Some(ResourceRequirements {
                requests: Some(quantities("1", "1Gi")),
                limits: Some(quantities("4", "4Gi")),
                ..Default::default()
            }),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn container(pod: &mut PodSpec) -> &mut Container {
    &mut pod.containers[0]
}

fn mount_gcp_credentials(pod: &mut PodSpec, secret: &str) {
    pod.volumes.get_or_insert_default().push(Volume {
        name: "gcp-credentials".into(),
        secret: Some(SecretVolumeSource { secret_name: Some(secret.into()), ..Default::default() }),
        ..Default::default()
    });
    let container = container(pod);
    container.volume_mounts.get_or_insert_default().push(VolumeMount {
        name: "gcp-credentials".into(),
        mount_path: GCP_CREDENTIALS_DIR.into(),
        read_only: Some(true),
        ..Default::default()
    });
    container.env.get_or_insert_default().push(EnvVar {
        name: "GOOGLE_APPLICATION_CREDENTIALS".into(),
        value: Some(format!("{GCP_CREDENTIALS_DIR}/key.json")),
        ..Default::default()
    });
}

fn add_s3_credentials(pod: &mut PodSpec, secret: &str) {
    let env = container(pod).env.get_or_insert_default();
    for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        env.push(EnvVar {
            name: key.into(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: secret.into(),
                    key: key.into(),
                    optional: Some(false),
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
}
