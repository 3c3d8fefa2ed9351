//! The `kiln` binary end to end: `prototype describe` and `prototype preview`.

use kiln_guest_artifacts::{HOSTILE, TF_SERVING};

use crate::common::{kiln, text};

#[test]
fn describe_lists_params_and_permissions() {
    let cache = tempfile::tempdir().unwrap();
    let out = kiln(&["prototype", "describe", TF_SERVING], cache.path());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let digest = stdout.lines().next().unwrap().split_whitespace().nth(1).unwrap().to_string();
    assert!(digest.starts_with("sha256:"), "{stdout}");
    insta::assert_snapshot!(stdout.replace(&digest, "sha256:<digest>"));
}

#[test]
fn describe_json_is_machine_readable() {
    let cache = tempfile::tempdir().unwrap();
    let out = kiln(&["prototype", "describe", "--json", TF_SERVING], cache.path());
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["name"], "tf-serving");
    assert_eq!(info["params"][2]["name"], "modelPath");
    assert_eq!(info["params"][2]["required"], true);
    assert_eq!(info["permissions"]["otherNamespaces"], true);
}

#[test]
fn preview_prints_yaml_for_the_seed_params() {
    let cache = tempfile::tempdir().unwrap();
    let args = [
        "prototype",
        "preview",
        TF_SERVING,
        "--name=inception",
        "--namespace=default",
        "--modelPath",
        "gs://cloud-ml-dev_jlewi/tmp/inception",
    ];
    let out = kiln(&args, cache.path());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("---\napiVersion: apps/v1\nkind: Deployment\n"), "{stdout}");
    assert_eq!(stdout.matches("---\n").count(), 2);
    let mut json_args = args.to_vec();
    json_args.insert(2, "--output=json");
    let json = kiln(&json_args, cache.path());
    let list: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

#[test]
fn preview_help_lists_the_prototypes_own_params() {
    let cache = tempfile::tempdir().unwrap();
    let out = kiln(&["prototype", "preview", TF_SERVING, "--help"], cache.path());
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    insta::assert_snapshot!(stdout.replace(TF_SERVING, "tf_serving.wasm"));
}

#[test]
fn errors_name_the_param_and_suggest() {
    let cache = tempfile::tempdir().unwrap();
    let out =
        kiln(&["prototype", "preview", TF_SERVING, "--name=m", "--modelPth=gs://x"], cache.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.is_empty());
    assert_eq!(
        stderr,
        "error: unknown param `modelPth` for prototype `tf-serving` (did you mean `modelPath`?)\n\
         hint: `kiln prototype describe` lists the prototype's params\n"
    );
}

#[test]
fn limit_errors_say_how_to_raise_the_limit() {
    let cache = tempfile::tempdir().unwrap();
    let out = kiln(
        &["prototype", "preview", "--limit", "objects=5", HOSTILE, "--attack=objects", "--size=6"],
        cache.path(),
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr,
        "error: prototype `hostile` exceeded its `objects` limit of 5 rendered objects\n\
         hint: if the prototype is trusted to need more, raise it with `--limit objects=<N>`\n"
    );
}

#[test]
fn a_missing_file_is_named() {
    let cache = tempfile::tempdir().unwrap();
    let out = kiln(&["prototype", "describe", "nope.wasm"], cache.path());
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.starts_with("error: failed to open file `nope.wasm`"), "{stderr}");
}

#[test]
fn top_level_help() {
    let cache = tempfile::tempdir().unwrap();
    let (stdout, _) = text(&kiln(&["--help"], cache.path()));
    insta::assert_snapshot!(stdout);
}
