//! `tf-job` and the TfJob CustomResourceDefinition of `core` it must validate against.

use super::*;
use kiln::validate::Severity;

#[test]
fn tf_job_defaults_to_one_master() {
    let objects = tf_job_guest().render("train", &params(&[("name", s("mnist"))]));
    let [job] = objects.as_slice() else { panic!("one TfJob, got {objects:?}") };
    assert_eq!(job["apiVersion"], "tensorflow.org/v1alpha1");
    assert_eq!(job["kind"], "TfJob");
    assert_eq!(job["metadata"]["namespace"], "default");
    let specs = job["spec"]["replicaSpecs"].as_array().unwrap();
    assert_eq!(specs.len(), 1, "empty WORKER and PS sets are left out");
    assert_eq!(specs[0]["tfReplicaType"], "MASTER");
    assert_eq!(specs[0]["replicas"], 1);
    let pod = &specs[0]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "OnFailure");
    assert_eq!(pod["containers"][0]["name"], "tensorflow");
    assert_eq!(pod["containers"][0]["image"], "gcr.io/tf-on-k8s-dogfood/tf_sample:dc944ff");
    insta::assert_snapshot!(yaml(&objects));
}

#[test]
fn tf_job_with_gpus_runs_gpu_workers() {
    let p = params(&[
        ("name", s("mnist")),
        ("image", s("example.com/train:1")),
        ("image_gpu", s("example.com/train-gpu:1")),
        ("num_workers", ParamValue::Integer(2)),
        ("num_ps", ParamValue::Integer(1)),
        ("num_gpus", ParamValue::Integer(2)),
        ("args", list(&["--steps=1000", "--batch=64"])),
    ]);
    let objects = tf_job_guest().render("train", &p);
    let specs = objects[0]["spec"]["replicaSpecs"].as_array().unwrap();
    let types: Vec<(&str, i64)> = specs
        .iter()
        .map(|s| (as_str(&s["tfReplicaType"]), s["replicas"].as_i64().unwrap()))
        .collect();
    assert_eq!(types, [("MASTER", 1), ("WORKER", 2), ("PS", 1)]);
    let container = |i: usize| &specs[i]["template"]["spec"]["containers"][0];
    assert_eq!(container(1)["image"], "example.com/train-gpu:1");
    assert_eq!(container(1)["resources"], json!({"limits": {"nvidia.com/gpu": "2"}}));
    for i in [0, 2] {
        assert_eq!(container(i)["image"], "example.com/train:1");
        assert!(container(i)["resources"].is_null(), "only workers get GPUs");
    }
    assert_eq!(container(2)["args"], json!(["--steps=1000", "--batch=64"]));
    insta::assert_snapshot!(yaml(&objects));
}

#[test]
fn tf_jobs_validate_against_the_crd_core_emits() {
    let core = core_guest().render("kubeflow-core", &core_params(&[]));
    let crd = find(&core, "CustomResourceDefinition", "tfjobs.tensorflow.org");
    assert_eq!(crd["apiVersion"], "apiextensions.k8s.io/v1");
    assert_eq!(crd["spec"]["group"], "tensorflow.org");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    assert_eq!(crd["spec"]["names"]["kind"], "TfJob");
    assert_eq!(crd["spec"]["names"]["plural"], "tfjobs");
    let version = &crd["spec"]["versions"][0];
    assert_eq!(
        (&version["name"], &version["served"], &version["storage"]),
        (&json!("v1alpha1"), &json!(true), &json!(true))
    );
    let schema = &version["schema"]["openAPIV3Schema"];
    assert_eq!(schema["properties"]["status"]["x-kubernetes-preserve-unknown-fields"], true);
    let template = &schema["properties"]["spec"]["properties"]["replicaSpecs"]["items"]["properties"]
        ["template"];
    assert_eq!(template["properties"]["spec"]["x-kubernetes-preserve-unknown-fields"], true);

    let tf_job = tf_job_guest();
    for extra in [
        params(&[]),
        params(&[
            ("num_workers", ParamValue::Integer(3)),
            ("num_ps", ParamValue::Integer(2)),
            ("num_gpus", ParamValue::Integer(1)),
        ]),
        params(&[
            ("num_masters", ParamValue::Integer(0)),
            ("num_workers", ParamValue::Integer(1)),
            ("args", list(&["--x"])),
        ]),
    ] {
        let mut p = params(&[("name", s("mnist"))]);
        p.extend(extra);
        let job = &tf_job.render("train", &p)[0];
        assert_eq!(
            job["apiVersion"],
            format!(
                "{}/{}",
                crd["spec"]["group"].as_str().unwrap(),
                version["name"].as_str().unwrap()
            )
        );
        assert_eq!(job["kind"], crd["spec"]["names"]["kind"]);
        let report = validate(&[("kubeflow-core", core.clone()), ("train", vec![job.clone()])]);
        assert_eq!(report.findings, [], "{job:#}");
    }

    // What the schema is for: a misspelled field, a wrong type or an unknown replica type,
    // found by the real validator against the CRD `core` renders in the same environment.
    let job = json!({"apiVersion": "tensorflow.org/v1alpha1", "kind": "TfJob", "metadata": {"name": "j"},
        "spec": {"replicaSpec": [{"replicas": "2", "tfReplicaType": "CHIEF"}]}});
    assert_eq!(
        crd_findings(&core, job),
        [
            "spec.replicaSpec: unknown field `replicaSpec` (did you mean `replicaSpecs`?)",
            "spec.replicaSpecs: missing required field `replicaSpecs`",
        ]
    );
    let job = json!({"apiVersion": "tensorflow.org/v1alpha1", "kind": "TfJob", "metadata": {"name": "j"},
        "spec": {"replicaSpecs": [{"replicas": "2", "tfReplicaType": "CHIEF", "template": {"spce": {}}}]}});
    assert_eq!(
        crd_findings(&core, job),
        [
            "spec.replicaSpecs[0].replicas: expected integer, got string \"2\"",
            "spec.replicaSpecs[0].template.spce: unknown field `spce` (did you mean `spec`?)",
            "spec.replicaSpecs[0].tfReplicaType: \"CHIEF\" is not one of \"MASTER\", \"WORKER\", \"PS\"",
        ]
    );
}

/// The schema findings for `job` rendered beside `core`'s objects: `path: message (hint)`.
fn crd_findings(core: &[Value], job: Value) -> Vec<String> {
    let report = validate(&[("kubeflow-core", core.to_vec()), ("train", vec![job])]);
    report
        .findings
        .iter()
        .map(|f| {
            assert_eq!(f.component.as_deref(), Some("train"), "{f}");
            assert_eq!(f.object.as_deref(), Some("TfJob/default/j"), "{f}");
            assert_eq!(f.severity, Severity::Error, "{f}");
            match &f.hint {
                Some(hint) => format!("{}: {} ({hint})", f.path, f.message),
                None => format!("{}: {}", f.path, f.message),
            }
        })
        .collect()
}
