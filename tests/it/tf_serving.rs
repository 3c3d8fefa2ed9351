//! The first real prototype, `tf-serving`: what it describes, what it renders, what it refuses.

use kiln::manifest::{self, Format};
use kiln::prototype::{Environment, ParamType, ParamValue};
use kiln::render::{Error, Limits};
use kiln_guest_artifacts::TF_SERVING;
use serde_json::json;

use crate::common::{engine, load, render, strings};

const SEED: &[(&str, &str)] = &[
    ("name", "inception"),
    ("namespace", "default"),
    ("modelPath", "gs://cloud-ml-dev_jlewi/tmp/inception"),
];

#[test]
fn describes_its_params_and_permissions() {
    let (_, info) = load(&engine(), TF_SERVING);
    assert_eq!(info.name, "tf-serving");
    let params: Vec<(&str, ParamType, bool)> =
        info.params.iter().map(|p| (p.name.as_str(), p.ty, p.required)).collect();
    assert_eq!(
        params,
        [
            ("name", ParamType::String, true),
            ("namespace", ParamType::String, false),
            ("modelPath", ParamType::String, true),
            ("image", ParamType::String, false),
            ("serviceType", ParamType::String, false),
            ("cloud", ParamType::String, false),
            ("gcpCredentialSecretName", ParamType::String, false),
            ("s3SecretName", ParamType::String, false),
        ]
    );
    assert_eq!(
        info.param("image").unwrap().default,
        Some(ParamValue::String("gcr.io/kubeflow/model-server:1.0".into()))
    );
    assert!(info.permissions.other_namespaces, "the namespace param can leave the env's");
    assert!(!info.permissions.rbac && info.permissions.cluster_scoped.is_empty());
}

#[test]
fn renders_the_seed_component() {
    let (prototype, info) = load(&engine(), TF_SERVING);
    let rendered = render(&prototype, &info, "serveInception", &strings(SEED)).unwrap();
    let [deployment, service] = rendered.objects.as_slice() else {
        panic!("expected a Deployment and a Service, got {:#?}", rendered.objects)
    };

    assert_eq!(deployment["apiVersion"], "apps/v1");
    assert_eq!(deployment["kind"], "Deployment");
    assert_eq!(deployment["metadata"]["name"], "inception");
    assert_eq!(deployment["metadata"]["namespace"], "default");
    assert_eq!(deployment["spec"]["selector"]["matchLabels"], json!({"app": "inception"}));
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"], json!({"runAsUser": 1000, "fsGroup": 1000}));
    let container = &pod["containers"][0];
    assert_eq!(container["name"], "inception");
    assert_eq!(container["image"], "gcr.io/kubeflow/model-server:1.0");
    assert_eq!(container["command"], json!(["/usr/bin/tensorflow_model_server"]));
    assert_eq!(
        container["args"],
        json!([
            "--port=9000",
            "--model_name=inception",
            "--model_base_path=gs://cloud-ml-dev_jlewi/tmp/inception"
        ])
    );
    assert_eq!(container["ports"], json!([{"containerPort": 9000}]));
    assert_eq!(
        container["resources"],
        json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "4", "memory": "4Gi"}})
    );

    assert_eq!(service["apiVersion"], "v1");
    assert_eq!(service["kind"], "Service");
    assert_eq!(service["spec"]["type"], "ClusterIP", "LoadBalancer only on request");
    assert_eq!(service["spec"]["selector"], json!({"app": "inception"}));
    assert_eq!(service["spec"]["ports"][0]["port"], 9000);
    for object in [deployment, service] {
        let labels = &object["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/instance"], "serveInception");
        assert_eq!(labels["app.kubernetes.io/part-of"], "kubeflow");
    }

    insta::assert_snapshot!(manifest::encode(&rendered.objects, Format::Yaml).unwrap());
}

#[test]
fn namespace_comes_from_the_environment_unless_given() {
    let (prototype, info) = load(&engine(), TF_SERVING);
    let params = strings(&[("name", "m"), ("modelPath", "gs://b/m")]);
    let env = Environment::preview("kubeflow");
    let rendered = prototype.generate(&info, "m", &params, &env, &Limits::default()).unwrap();
    assert_eq!(rendered.objects[0]["metadata"]["namespace"], "kubeflow");
}

#[test]
fn credentials_secrets_are_mounted_when_named() {
    let (prototype, info) = load(&engine(), TF_SERVING);
    let mut params = strings(SEED);
    params.extend(strings(&[("gcpCredentialSecretName", "gcp-key"), ("cloud", "gke")]));
    let rendered = render(&prototype, &info, "m", &params).unwrap();
    let container = &rendered.objects[0]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["env"],
        json!([{"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": "/secret/gcp-credentials/key.json"}])
    );
    assert_eq!(container["volumeMounts"][0]["mountPath"], "/secret/gcp-credentials");

    let params = strings(&[("name", "m"), ("modelPath", "s3://b/m"), ("s3SecretName", "aws")]);
    let rendered = render(&prototype, &info, "m", &params).unwrap();
    let env = &rendered.objects[0]["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(
        env[0]["valueFrom"]["secretKeyRef"],
        json!({"name": "aws", "key": "AWS_ACCESS_KEY_ID", "optional": false})
    );
}

#[test]
fn bad_values_are_rejected_naming_the_param() {
    let (prototype, info) = load(&engine(), TF_SERVING);
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (&[("name", "Inception_1")], "name", "not a valid DNS-1123 label"),
        (
            &[("serviceType", "Ingress")],
            "serviceType",
            "expected one of `ClusterIP`, `NodePort`, `LoadBalancer`",
        ),
        (&[("cloud", "aws")], "cloud", "expected one of"),
        (&[("namespace", "Team_A")], "namespace", "not a valid DNS-1123 label"),
        (&[("s3SecretName", "aws")], "s3SecretName", "only used with an s3:// model path"),
        (&[("modelPath", " ")], "modelPath", "must not be empty"),
    ];
    for (overrides, param, needle) in cases {
        let mut params = strings(SEED);
        params.extend(strings(overrides));
        match render(&prototype, &info, "m", &params) {
            Err(Error::Rejected { prototype, param: p, message }) => {
                assert_eq!(prototype, "tf-serving");
                assert_eq!(&p, param);
                assert!(message.contains(needle), "{message}");
            }
            other => panic!("{overrides:?}: expected a rejected param, got {other:?}"),
        }
    }
}

#[test]
fn missing_model_path_is_caught_before_the_prototype_runs() {
    let (prototype, info) = load(&engine(), TF_SERVING);
    let err = render(&prototype, &info, "m", &strings(&[("name", "m")])).unwrap_err();
    assert_eq!(err.to_string(), "missing required param `modelPath` for prototype `tf-serving`");
}

#[test]
fn same_inputs_render_byte_identical_output() {
    let yaml = || {
        let (prototype, info) = load(&engine(), TF_SERVING);
        let rendered = render(&prototype, &info, "serveInception", &strings(SEED)).unwrap();
        manifest::encode(&rendered.objects, Format::Yaml).unwrap()
    };
    let first = yaml();
    for _ in 0..3 {
        assert_eq!(yaml(), first);
    }
}

/// The seed's `serveInception` objects, for tests that put them beside other prototypes'.
pub fn seed_render() -> Vec<serde_json::Value> {
    let (prototype, info) = load(&engine(), TF_SERVING);
    render(&prototype, &info, "serveInception", &strings(SEED)).unwrap().objects
}
