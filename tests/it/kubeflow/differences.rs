//! One test per deliberate difference from the reference (KUBEFLOW.md, "What Kiln's prototypes
//! do differently, on purpose").

use super::*;

#[test]
fn core_in_the_kubeflow_environment_uses_its_namespace() {
    let core = core_guest();
    let rendered =
        core.render_in("kubeflow-core", &core_params(&[]), &Environment::preview("kubeflow"));
    let objects = rendered.objects;
    for object in &objects {
        let namespace = &object["metadata"]["namespace"];
        match as_str(&object["kind"]) {
            "ClusterRole" | "ClusterRoleBinding" | "CustomResourceDefinition" => {
                assert!(namespace.is_null(), "{} is cluster-scoped", what(object))
            }
            _ => assert_eq!(namespace, "kubeflow"),
        }
    }
    let subjects = |kind, name| find(&objects, kind, name)["subjects"][0]["namespace"].clone();
    assert_eq!(subjects("RoleBinding", "jupyter-role"), "kubeflow");
    assert_eq!(subjects("ClusterRoleBinding", "tf-job-operator"), "kubeflow");
    insta::assert_snapshot!(yaml(&objects));

    // The `namespace` param overrides the environment's.
    let objects = core.render("kubeflow-core", &core_params(&[("namespace", s("ml"))]));
    assert_eq!(find(&objects, "StatefulSet", "tf-hub")["metadata"]["namespace"], "ml");
    assert_eq!(
        find(&objects, "ClusterRoleBinding", "tf-job-operator")["subjects"][0]["namespace"],
        "ml"
    );
}

#[test]
fn workloads_are_apps_v1_with_selectors_matching_their_pods() {
    let p = core_params(&[("disks", list(&["pd1"]))]);
    let objects = core_guest().render("kubeflow-core", &p);
    let workloads: Vec<&Value> = objects
        .iter()
        .filter(|o| matches!(as_str(&o["kind"]), "Deployment" | "StatefulSet"))
        .collect();
    assert_eq!(workloads.len(), 3);
    for workload in workloads {
        assert_eq!(workload["apiVersion"], "apps/v1");
        let selector = workload["spec"]["selector"]["matchLabels"].as_object().expect("a selector");
        let pod_labels = &workload["spec"]["template"]["metadata"]["labels"];
        for (key, value) in selector {
            assert_eq!(&pod_labels[key], value, "{key} of {}", workload["metadata"]["name"]);
        }
    }
    let api =
        |kind: &str| objects.iter().find(|o| o["kind"] == kind).unwrap()["apiVersion"].clone();
    assert_eq!(api("ClusterRole"), "rbac.authorization.k8s.io/v1");
    assert_eq!(api("Role"), "rbac.authorization.k8s.io/v1");
    assert_eq!(api("StorageClass"), "storage.k8s.io/v1");
}

#[test]
fn hub_statefulset_names_its_headless_service() {
    let objects = core_guest().render("kubeflow-core", &core_params(&[]));
    let hub = find(&objects, "StatefulSet", "tf-hub");
    assert_eq!(hub["spec"]["serviceName"], "tf-hub-0");
    assert_eq!(find(&objects, "Service", "tf-hub-0")["spec"]["clusterIP"], "None");
}

#[test]
fn hub_service_is_cluster_ip_unless_load_balancer_is_asked_for() {
    let core = core_guest();
    let objects = core.render("kubeflow-core", &core_params(&[]));
    assert_eq!(find(&objects, "Service", "tf-hub-lb")["spec"]["type"], "ClusterIP");
    let p = core_params(&[("jupyterHubServiceType", s("LoadBalancer"))]);
    let objects = core.render("kubeflow-core", &p);
    assert_eq!(find(&objects, "Service", "tf-hub-lb")["spec"]["type"], "LoadBalancer");
    let (param, message) = core.rejection(&core_params(&[("jupyterHubServiceType", s("Ingress"))]));
    assert_eq!(param, "jupyterHubServiceType");
    assert!(
        message.contains("expected one of `ClusterIP`, `NodePort`, `LoadBalancer`"),
        "{message}"
    );
}

#[test]
fn core_defines_the_tfjob_crd_and_the_operators_cluster_role() {
    let objects = core_guest().render("kubeflow-core", &core_params(&[]));
    find(&objects, "CustomResourceDefinition", "tfjobs.tensorflow.org");
    let role = find(&objects, "ClusterRole", "tf-job-operator");
    let rules = role["rules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r["apiGroups"] == json!(["tensorflow.org"])
                && r["resources"] == json!(["tfjobs"])),
        "{rules:?}"
    );
    let binding = find(&objects, "ClusterRoleBinding", "tf-job-operator");
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "tf-job-operator"})
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "tf-job-operator", "namespace": "default"}])
    );
}

#[test]
fn cloud_picks_gpu_driver_paths_and_disk_backing() {
    let core = core_guest();
    for (cloud, gpu_lib, backing) in [
        ("", None, "persistentVolumeClaim"),
        ("gke", Some("/home/kubernetes/bin/nvidia/lib"), "gcePersistentDisk"),
        ("azure", Some("/usr/lib/nvidia-384"), "persistentVolumeClaim"),
    ] {
        let objects = core.render(
            "kubeflow-core",
            &core_params(&[("cloud", s(cloud)), ("disks", list(&["pd1"]))]),
        );
        let config = operator_config(&objects);
        match gpu_lib {
            Some(path) => {
                assert!(config.contains(&format!("hostPath: {path}\n")), "{cloud}: {config}")
            }
            None => assert!(!config.contains("accelerators"), "{config}"),
        }
        let volume = &find(&objects, "Deployment", "pd1-provisioner")["spec"]["template"]["spec"]["volumes"]
            [0];
        assert!(volume.get(backing).is_some(), "{cloud}: {volume}");
        let backing_claims =
            objects.iter().filter(|o| o["metadata"]["name"] == "pd1-backing").count();
        assert_eq!(backing_claims, usize::from(backing == "persistentVolumeClaim"), "{cloud}");
    }
}

#[test]
fn every_image_is_a_param_defaulting_to_the_reference() {
    let core = core_guest();
    let defaults: Vec<(&str, Option<ParamValue>)> =
        ["tfJobImage", "jupyterHubImage", "nfsImage", "notebookImage"]
            .iter()
            .map(|n| (*n, core.info.param(n).unwrap().default.clone()))
            .collect();
    assert_eq!(
        defaults,
        [
            ("tfJobImage", Some(s(OPERATOR_IMAGE))),
            ("jupyterHubImage", Some(s(HUB_IMAGE))),
            ("nfsImage", Some(s(NFS_IMAGE))),
            ("notebookImage", Some(s("gcr.io/kubeflow/tensorflow-notebook-cpu"))),
        ]
    );
    let p = core_params(&[
        ("tfJobImage", s("mirror.example/operator:1")),
        ("jupyterHubImage", s("mirror.example/hub:1")),
        ("nfsImage", s("mirror.example/nfs:1")),
        ("notebookImage", s("mirror.example/notebook:\"1\"")),
        ("disks", list(&["pd1"])),
    ]);
    let objects = core.render("kubeflow-core", &p);
    let image = |kind, name| {
        find(&objects, kind, name)["spec"]["template"]["spec"]["containers"][0]["image"].clone()
    };
    assert_eq!(image("Deployment", "tf-job-operator"), "mirror.example/operator:1");
    assert_eq!(image("StatefulSet", "tf-hub"), "mirror.example/hub:1");
    assert_eq!(image("Deployment", "pd1-provisioner"), "mirror.example/nfs:1");
    // Quoted as a Python literal: a param cannot break out of the string.
    assert!(hub_config(&objects).contains(r#"DEFAULT_IMAGE = "mirror.example/notebook:\"1\"""#));
}

#[test]
fn every_object_carries_the_standard_labels() {
    let core = core_guest();
    let mut objects = core.render("kubeflow-core", &core_params(&[("disks", list(&["pd1"]))]));
    objects.extend(tf_job_guest().render("kubeflow-core", &params(&[("name", s("j"))])));
    for object in &objects {
        let labels = &object["metadata"]["labels"];
        let what = what(object);
        assert_eq!(labels["app.kubernetes.io/instance"], "kubeflow-core", "{what}");
        assert_eq!(labels["app.kubernetes.io/part-of"], "kubeflow", "{what}");
        assert!(labels["app.kubernetes.io/name"].is_string(), "{what}");
    }
    // ...and the reference's own.
    let label =
        |kind, name, key: &str| find(&objects, kind, name)["metadata"]["labels"][key].clone();
    assert_eq!(label("StatefulSet", "tf-hub", "app"), "tf-hub");
    assert_eq!(label("Deployment", "tf-job-operator", "name"), "tf-job-operator");
    assert_eq!(label("Deployment", "pd1-provisioner", "app"), "pd1-provisioner");
}

#[test]
fn invalid_disk_names_are_rejected_naming_disks() {
    for guest in [core_guest(), nfs_guest()] {
        for (disks, needle) in [
            (&["pd_1"][..], "`pd_1` is not a valid DNS-1123 label"),
            (&["PD1"], "`PD1` is not a valid DNS-1123 label"),
            (&["1pd"], "`1pd` must start with a lowercase letter"),
            (&["pd1", "pd1"], "`pd1` is listed twice"),
        ] {
            let (param, message) = guest.rejection(&core_params(&[("disks", list(disks))]));
            assert_eq!(param, "disks", "{}", guest.info.name);
            assert!(message.contains(needle), "{message}");
        }
    }
}
