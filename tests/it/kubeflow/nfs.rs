//! Disks: `nfs` components and `core` with its own `disks`, what serves them and what mounts
//! them, with the reference's object counts.

use super::*;

#[test]
fn core_with_two_gke_disks_serves_and_mounts_them() {
    let p = core_params(&[("cloud", s("gke")), ("disks", list(&["pd1", "pd2"]))]);
    let objects = core_guest().render("kubeflow-core", &p);
    // The reference's 22 (its 10 core objects, 4 shared NFS objects, 4 per disk) plus the TfJob
    // CRD and the operator's ClusterRole and ClusterRoleBinding. On gke the GCE disks back the
    // exports, so there are no backing claims.
    let mut expected: Vec<String> = CORE_OBJECTS.iter().map(|n| n.to_string()).collect();
    expected.extend(
        [
            "ServiceAccount/kubeflow-core",
            "Role/kubeflow-core",
            "RoleBinding/kubeflow-core-nfs-role",
            "ClusterRoleBinding/kubeflow-core-nfs-role",
        ]
        .map(String::from),
    );
    for disk in ["pd1", "pd2"] {
        expected.extend([
            format!("StorageClass/{disk}-nfs"),
            format!("PersistentVolumeClaim/{disk}"),
            format!("Service/{disk}-service"),
            format!("Deployment/{disk}-provisioner"),
        ]);
    }
    assert_eq!(names(&objects), expected);
    assert_eq!(objects.len(), 22 + 3);

    let config = hub_config(&objects);
    for disk in ["pd1", "pd2"] {
        assert!(
            config.contains(&format!(
                r#"{{"name":"{disk}","persistentVolumeClaim":{{"claimName":"{disk}"}}}}"#
            )),
            "{config}"
        );
        assert!(
            config.contains(&format!(r#"{{"mountPath":"/mnt/{disk}","name":"{disk}"}}"#)),
            "{config}"
        );
        let pod = &find(&objects, "Deployment", &format!("{disk}-provisioner"))["spec"]["template"]
            ["spec"];
        assert_eq!(
            pod["volumes"],
            json!([{"name": "export", "gcePersistentDisk": {"pdName": disk}}])
        );
    }
    insta::assert_snapshot!(yaml(&objects));
}

#[test]
fn core_mounts_the_disks_of_an_nfs_component_without_serving_them() {
    let env = with_components("default", vec![nfs_view(&["pd1", "pd2"])]);
    let core = core_guest();
    let rendered = core.render_in("kubeflow-core", &core_params(&[("cloud", s("gke"))]), &env);
    assert_eq!(names(&rendered.objects), CORE_OBJECTS, "the nfs component serves the disks");
    let config = hub_config(&rendered.objects);
    assert!(config.contains(r#"{"mountPath":"/mnt/pd1","name":"pd1"}"#), "{config}");
    assert!(config.contains(r#"{"mountPath":"/mnt/pd2","name":"pd2"}"#), "{config}");
    insta::assert_snapshot!(config);

    // Both components together: every object once, cluster-scoped ones without a namespace.
    let nfs = nfs_guest();
    let nfs_params = params(&[("disks", list(&["pd1", "pd2"])), ("cloud", s("gke"))]);
    let served = nfs.render_in("nfs", &nfs_params, &env).objects;
    let labels = BTreeMap::new();
    let ctx = manifest::Context {
        app: "kubeflow",
        environment: "cloud",
        namespace: "default",
        labels: &labels,
        scopes: &manifest::Scopes::new(),
    };
    let component = |name: &str, objects| ComponentObjects {
        component: name.into(),
        objects,
        annotations: BTreeMap::new(),
    };
    let all = manifest::post_process(
        &ctx,
        vec![component("kubeflow-core", rendered.objects), component("nfs", served)],
    )
    .expect("no duplicates, no namespaced cluster-scoped objects");
    assert_eq!(all.len(), 13 + 12);

    // Disks served in another namespace cannot be mounted: skipped, with a warning.
    let mut elsewhere = nfs_view(&["pd1"]);
    elsewhere.params.insert("namespace".into(), s("storage"));
    let env = with_components("default", vec![elsewhere]);
    let rendered = core.render_in("kubeflow-core", &core_params(&[]), &env);
    assert!(!hub_config(&rendered.objects).contains("/mnt/pd1"));
    assert!(
        format!("{:?}", rendered.logs).contains("served in namespace `storage`"),
        "{:?}",
        rendered.logs
    );
}

#[test]
fn disks_set_on_core_win_over_those_of_nfs_components() {
    let env = with_components("default", vec![nfs_view(&["pd1"])]);
    let p = core_params(&[("disks", list(&["shared"]))]);
    let objects = core_guest().render_in("kubeflow-core", &p, &env).objects;
    let config = hub_config(&objects);
    assert!(config.contains("/mnt/shared") && !config.contains("/mnt/pd1"), "{config}");
    find(&objects, "Deployment", "shared-provisioner");
}

#[test]
fn nfs_component_on_gke_serves_each_gce_disk() {
    let p = params(&[("disks", list(&["pd1", "pd2"])), ("cloud", s("gke"))]);
    let objects = nfs_guest().render("nfs", &p);
    assert_eq!(
        names(&objects),
        [
            "ServiceAccount/nfs",
            "Role/nfs",
            "RoleBinding/nfs-nfs-role",
            "ClusterRoleBinding/nfs-nfs-role",
            "StorageClass/pd1-nfs",
            "PersistentVolumeClaim/pd1",
            "Service/pd1-service",
            "Deployment/pd1-provisioner",
            "StorageClass/pd2-nfs",
            "PersistentVolumeClaim/pd2",
            "Service/pd2-service",
            "Deployment/pd2-provisioner",
        ]
    );
    let binding = find(&objects, "ClusterRoleBinding", "nfs-nfs-role");
    assert_eq!(binding["roleRef"]["name"], "system:persistent-volume-provisioner");
    assert_eq!(
        binding["subjects"][0],
        json!({"kind": "ServiceAccount", "name": "nfs", "namespace": "default"})
    );
    assert_eq!(find(&objects, "StorageClass", "pd1-nfs")["provisioner"], "pd1/nfs");
    let claim = &find(&objects, "PersistentVolumeClaim", "pd1")["spec"];
    assert_eq!(
        *claim,
        json!({"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Mi"}}, "storageClassName": "pd1-nfs"})
    );
    let service = &find(&objects, "Service", "pd1-service")["spec"];
    assert_eq!(service["selector"], json!({"app": "pd1-provisioner"}));
    let ports: Vec<(&str, i64, &str)> = service["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (as_str(&p["name"]), p["port"].as_i64().unwrap(), as_str(&p["protocol"])))
        .collect();
    assert_eq!(
        ports,
        [
            ("nfs", 2049, "TCP"),
            ("mountd", 20048, "TCP"),
            ("rpcbind", 111, "TCP"),
            ("rpcbind-udp", 111, "UDP")
        ]
    );

    let deployment = &find(&objects, "Deployment", "pd1-provisioner")["spec"];
    assert_eq!(deployment["strategy"], json!({"type": "Recreate"}));
    let pod = &deployment["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "nfs");
    let container = &pod["containers"][0];
    assert_eq!(container["image"], NFS_IMAGE);
    assert_eq!(container["args"], json!(["-provisioner=pd1/nfs"]));
    assert_eq!(container["env"][1], json!({"name": "SERVICE_NAME", "value": "pd1-service"}));
    assert_eq!(container["env"][0]["valueFrom"]["fieldRef"]["fieldPath"], "status.podIP");
    assert_eq!(container["env"][2]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.namespace");
    assert_eq!(container["ports"].as_array().unwrap().len(), 4);
    assert_eq!(container["securityContext"]["capabilities"]["add"], json!(["DAC_READ_SEARCH"]));
    assert_eq!(container["volumeMounts"], json!([{"name": "export", "mountPath": "/export"}]));
    assert_eq!(pod["volumes"], json!([{"name": "export", "gcePersistentDisk": {"pdName": "pd1"}}]));
    insta::assert_snapshot!(yaml(&objects));
}

#[test]
fn nfs_component_without_cloud_backs_each_disk_with_a_default_storage_claim() {
    let p = params(&[("disks", list(&["pd1", "pd2"])), ("diskSize", s("50Gi"))]);
    let objects = nfs_guest().render("nfs", &p);
    // The 12 of gke, plus one backing claim per disk.
    assert_eq!(objects.len(), 14);
    let backing = &find(&objects, "PersistentVolumeClaim", "pd1-backing")["spec"];
    assert_eq!(
        *backing,
        json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Gi"}}})
    );
    let pod = &find(&objects, "Deployment", "pd2-provisioner")["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"],
        json!([{"name": "export", "persistentVolumeClaim": {"claimName": "pd2-backing"}}])
    );
    assert!(!yaml(&objects).contains("gcePersistentDisk"));
    insta::assert_snapshot!(yaml(&objects));
}

#[test]
fn nfs_component_without_disks_renders_nothing() {
    assert!(nfs_guest().render("nfs", &Params::new()).is_empty());
}

#[test]
fn nfs_objects_are_named_by_the_name_param_over_the_component() {
    let nfs = nfs_guest();
    let p = params(&[("disks", list(&["pd1"])), ("name", s("shared"))]);
    assert_eq!(nfs.render("nfs", &p)[0]["metadata"]["name"], "shared");
    let (param, message) = {
        let p = params(&[("disks", list(&["pd1"]))]);
        match nfs.try_render("sharedDisks", &p, &Environment::preview("default")) {
            Err(Error::Rejected { param, message, .. }) => (param, message),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(param, "name");
    assert!(
        message.contains("component name `sharedDisks` is not a valid DNS-1123 label"),
        "{message}"
    );
}

#[test]
fn core_leaves_invalid_disks_of_an_nfs_component_to_that_component() {
    // Rendering stops at the first failing component; core renders before nfs, so an error
    // here would blame core for nfs's param.
    let env = with_components("default", vec![nfs_view(&["PD1"])]);
    let objects = core_guest().render_in("kubeflow-core", &core_params(&[]), &env).objects;
    assert!(!hub_config(&objects).contains("PD1"));
    let (param, message) = nfs_guest().rejection(&params(&[("disks", list(&["PD1"]))]));
    assert_eq!(param, "disks");
    assert!(message.starts_with("`PD1` is not a valid DNS-1123 label"), "{message}");
}

/// The Kubeflow packages' renders are valid for the validator: core with disks and a cloud,
/// nfs serving them, tf-serving and tf-job (its TfJob against core's CRD), all in one
/// environment, without a single finding (not even a warning).
#[test]
fn kubeflow_renders_validate_without_findings() {
    let env = with_components("default", vec![nfs_view(&["pd1", "pd2"])]);
    let core = core_guest().render_in("kubeflow-core", &core_params(&[("cloud", s("gke"))]), &env);
    let nfs_params = params(&[("disks", list(&["pd1", "pd2"])), ("cloud", s("gke"))]);
    let nfs = nfs_guest().render_in("nfs", &nfs_params, &env);
    let serving = crate::tf_serving::seed_render();
    let job_params = params(&[
        ("name", s("mnist")),
        ("num_workers", ParamValue::Integer(2)),
        ("num_gpus", ParamValue::Integer(1)),
    ]);
    let job = tf_job_guest().render("train", &job_params);
    let nocloud = core_guest().render("core-nocloud", &params(&[("name", s("nocloud"))]));
    let report = validate(&[
        ("kubeflow-core", core.objects),
        ("nfs", nfs.objects),
        ("serve-inception", serving),
        ("train", job),
    ]);
    assert_eq!(report.findings, [], "{}", report.to_text());
    assert_eq!(report.objects, 13 + 12 + 2 + 1);
    // Without a cloud and without disks too (alone: its CRD and roles would be duplicates).
    let report = validate(&[("core-nocloud", nocloud)]);
    assert_eq!(report.findings, [], "{}", report.to_text());
}
