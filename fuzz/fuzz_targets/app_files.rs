//! The app's hand-edited TOML files: `kiln.toml`, `components/<name>.toml` and
//! `environments/<name>.toml`. The first byte picks the file. Reading never panics, and every
//! edit Kiln makes to a file it can read (set and unset a param, set and remove the default
//! environment) gives a file it reads back with exactly that change and nothing else.
#![no_main]

use std::collections::BTreeMap;

use kiln::app::{AppFile, ComponentFile, EnvironmentFile, RawParam, RawParams, RegistryEntry};
use kiln::fuzzing;
use kiln::prototype::ParamValue;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    match which % 3 {
        0 => app_file(text),
        1 => component_file(text),
        _ => environment_file(text),
    }
});

const APP: &str = "kiln.toml";
const COMPONENT: &str = "components/web.toml";
const ENVIRONMENT: &str = "environments/cloud.toml";

fn app_file(text: &str) {
    let Ok(file) = AppFile::parse(APP, text) else { return };
    for env in [Some("fuzz-env"), None] {
        let edited = fuzzing::with_default_environment(text, env).expect("it parsed before");
        let back = AppFile::parse(APP, &edited)
            .unwrap_or_else(|e| panic!("kiln.toml unreadable after an edit: {e}\n{edited}"));
        assert_eq!(back.name, file.name);
        assert_eq!(back.default_environment.as_deref(), env);
        assert_eq!(values(&back.registries), values(&file.registries));
    }
    let rendered = file.render();
    let back = AppFile::parse(APP, &rendered).expect("a rendered kiln.toml reads back");
    assert_eq!((back.name, back.default_environment), (file.name, file.default_environment));
}

fn component_file(text: &str) {
    let Ok(file) = ComponentFile::parse(COMPONENT, text) else { return };
    let read = |text: &str| {
        ComponentFile::parse(COMPONENT, text)
            .unwrap_or_else(|e| panic!("component unreadable after an edit: {e}\n{text}"))
            .params
    };
    param_edits(COMPONENT, text, &["params"], &file.params, read);
}

fn environment_file(text: &str) {
    let Ok(file) = EnvironmentFile::parse(ENVIRONMENT, text) else { return };
    let read = |text: &str| {
        EnvironmentFile::parse(ENVIRONMENT, text)
            .unwrap_or_else(|e| panic!("environment unreadable after an edit: {e}\n{text}"))
    };
    param_edits(ENVIRONMENT, text, &["params"], &file.params, |t| read(t).params);
    let none = RawParams::new();
    let overrides = file.components.get("web").unwrap_or(&none);
    param_edits(ENVIRONMENT, text, &["components", "web"], overrides, |t| {
        read(t).components.get("web").cloned().unwrap_or_default()
    });
}

/// Set a new param, change an existing one and unset both: each step reads back with only
/// that change.
fn param_edits(
    path: &str,
    text: &str,
    keys: &[&str],
    before: &RawParams,
    read: impl Fn(&str) -> RawParams,
) {
    let value = ParamValue::StringList(vec!["a".into(), "b \"c\"".into()]);
    let json = value.to_json();
    let mut targets = vec!["fuzzParam".to_string()];
    targets.extend(before.keys().next().cloned());
    for key in targets {
        let set = fuzzing::set_param(path, text, keys, &key, &value).expect("it parsed before");
        let mut expected = values(before);
        expected.insert(key.clone(), json.clone());
        assert_eq!(values(&read(&set)), expected, "after setting `{key}`:\n{set}");

        let unset = fuzzing::unset_param(path, &set, keys, &key)
            .expect("it parsed before")
            .expect("the param was just set");
        expected.remove(&key);
        assert_eq!(values(&read(&unset)), expected, "after unsetting `{key}`:\n{unset}");
    }
}

/// Each entry's value, without where it was written (edits move lines).
fn values<V: Valued>(map: &BTreeMap<String, V>) -> BTreeMap<String, serde_json::Value> {
    map.iter().map(|(k, v)| (k.clone(), v.value())).collect()
}

/// What an entry of an app file holds.
trait Valued {
    fn value(&self) -> serde_json::Value;
}

impl Valued for RawParam {
    fn value(&self) -> serde_json::Value {
        self.value.clone()
    }
}

impl Valued for RegistryEntry {
    fn value(&self) -> serde_json::Value {
        serde_json::json!([self.uri, self.reference])
    }
}
