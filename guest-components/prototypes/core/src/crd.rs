//! The TfJob CustomResourceDefinition. The reference's operator registered it at start-up, so
//! TfJobs could be neither validated nor applied with the operator; Kiln ships it with a
//! structural schema: typed down to each replica spec, open where the shape is Kubernetes' own
//! (pod templates, volumes) or the operator's (status).

use std::collections::BTreeMap;

use k8s::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionNames, CustomResourceDefinitionSpec,
    CustomResourceDefinitionVersion, CustomResourceValidation, JSON, JSONSchemaProps,
    JSONSchemaPropsOrArray,
};
use kiln_sdk::prelude::*;
use kubeflow_common::{labels, meta, tfjob};

/// The CRD, labelled as part of the operator rendered by `component`.
pub fn tfjob_crd(component: &str) -> Result<Object, Error> {
    let crd = CustomResourceDefinition {
        metadata: meta(
            format!("{}.{}", tfjob::PLURAL, tfjob::GROUP),
            None,
            labels("tf-job-operator", component, &[]),
        ),
        spec: CustomResourceDefinitionSpec {
            group: tfjob::GROUP.into(),
            names: CustomResourceDefinitionNames {
                kind: tfjob::KIND.into(),
                list_kind: Some(format!("{}List", tfjob::KIND)),
                plural: tfjob::PLURAL.into(),
                singular: Some(tfjob::SINGULAR.into()),
                ..Default::default()
            },
            scope: "Namespaced".into(),
            versions: vec![CustomResourceDefinitionVersion {
                name: tfjob::VERSION.into(),
                served: true,
                storage: true,
                schema: Some(CustomResourceValidation { open_api_v3_schema: Some(root()) }),
                ..Default::default()
            }],
            ..Default::default()
        },
        ..Default::default()
    };
    object(&crd)
}

fn root() -> JSONSchemaProps {
    let spec = required(
        fields(&[
            ("runtimeId", string("Set by the operator: the suffix of the job's resources")),
            (
                "replicaSpecs",
                JSONSchemaProps {
                    description: Some("The job's replica sets: MASTER, WORKER and PS".into()),
                    type_: Some("array".into()),
                    min_items: Some(1),
                    items: Some(JSONSchemaPropsOrArray::Schema(Box::new(replica_spec()))),
                    ..Default::default()
                },
            ),
            ("tensorboard", tensorboard()),
            (
                "terminationPolicy",
                fields(&[(
                    "chief",
                    fields(&[
                        ("replicaName", string("The replica type whose exit ends the job")),
                        ("replicaIndex", integer("The index of that replica", Some(0.0), None)),
                    ]),
                )]),
            ),
            ("schedulerName", string("The scheduler of the job's pods")),
        ]),
        &["replicaSpecs"],
    );
    required(
        fields(&[
            ("apiVersion", string("")),
            ("kind", string("")),
            ("metadata", schema("object")),
            ("spec", spec),
            ("status", open("Written by the operator")),
        ]),
        &["spec"],
    )
}

fn replica_spec() -> JSONSchemaProps {
    let types = tfjob::REPLICA_TYPES.iter().map(|t| JSON(json!(t))).collect();
    fields(&[
        ("replicas", integer("How many replicas of this type", Some(0.0), None)),
        ("tfReplicaType", JSONSchemaProps { enum_: Some(types), ..string("MASTER, WORKER or PS") }),
        ("tfPort", integer("The port TensorFlow listens on", Some(1.0), Some(65535.0))),
        (
            "template",
            fields(&[
                ("metadata", open("The pods' metadata")),
                ("spec", open("The pods' spec, with a container named `tensorflow`")),
            ]),
        ),
        // Set by the operator on a PS without a template; the operator's Go field has no JSON
        // name, hence the capital.
        ("IsDefaultPS", schema("boolean")),
    ])
}

fn tensorboard() -> JSONSchemaProps {
    let open_list = |doc: &str| JSONSchemaProps {
        type_: Some("array".into()),
        description: Some(doc.into()),
        items: Some(JSONSchemaPropsOrArray::Schema(Box::new(open("")))),
        ..Default::default()
    };
    let service_types = ["ClusterIP", "NodePort", "LoadBalancer"];
    fields(&[
        ("logDir", string("Where the job writes its TensorBoard logs")),
        ("volumes", open_list("Volumes TensorBoard needs to read the logs")),
        ("volumeMounts", open_list("Where TensorBoard mounts them")),
        (
            "serviceType",
            JSONSchemaProps {
                enum_: Some(service_types.iter().map(|t| JSON(json!(t))).collect()),
                ..string("The type of TensorBoard's Service")
            },
        ),
    ])
}

fn schema(ty: &str) -> JSONSchemaProps {
    JSONSchemaProps { type_: Some(ty.into()), ..Default::default() }
}

fn described(mut props: JSONSchemaProps, doc: &str) -> JSONSchemaProps {
    if !doc.is_empty() {
        props.description = Some(doc.into());
    }
    props
}

fn string(doc: &str) -> JSONSchemaProps {
    described(schema("string"), doc)
}

fn integer(doc: &str, minimum: Option<f64>, maximum: Option<f64>) -> JSONSchemaProps {
    JSONSchemaProps {
        format: Some("int32".into()),
        minimum,
        maximum,
        ..described(schema("integer"), doc)
    }
}

/// An object with exactly these fields: anything else is unknown, so pruned, and rejected by
/// strict field validation (kubectl's default).
fn fields(fields: &[(&str, JSONSchemaProps)]) -> JSONSchemaProps {
    let properties: BTreeMap<String, JSONSchemaProps> =
        fields.iter().map(|(name, props)| (name.to_string(), props.clone())).collect();
    JSONSchemaProps { properties: Some(properties), ..schema("object") }
}

/// An object whose shape is not ours to check.
fn open(doc: &str) -> JSONSchemaProps {
    JSONSchemaProps {
        x_kubernetes_preserve_unknown_fields: Some(true),
        ..described(schema("object"), doc)
    }
}

fn required(props: JSONSchemaProps, fields: &[&str]) -> JSONSchemaProps {
    JSONSchemaProps { required: Some(fields.iter().map(|f| f.to_string()).collect()), ..props }
}
