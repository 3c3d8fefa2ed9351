//! The host side of the guest boundary: the JSON a prototype's `generate` returns, as the host
//! checks it, post-processes it with other components' objects and prints it. Nothing panics,
//! and for output the check accepts:
//! - post-processing gives the same result whatever order the components come in, and twice;
//! - every object placed carries the ownership labels and provenance annotations, and none
//!   carries objects in `items` or a name Kiln keeps for its own state;
//! - the YAML and JSON Kiln prints read back as exactly the objects.
#![no_main]

use std::collections::BTreeMap;

use kiln::manifest::{self, ComponentObjects, Context, Format, Scopes};
use kiln::render::Limits;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else { return };
    let Ok(objects) = kiln::fuzzing::parse_output("fuzz", json, &Limits::default()) else {
        return;
    };
    // Deal the objects to three components, so duplicates and CRDs cross components.
    let mut rendered: Vec<ComponentObjects> = ["db", "web", "cache"]
        .iter()
        .map(|c| ComponentObjects {
            component: c.to_string(),
            objects: Vec::new(),
            annotations: BTreeMap::from([("kiln.dev/params-hash".to_string(), c.to_string())]),
        })
        .collect();
    for (i, object) in objects.into_iter().enumerate() {
        rendered[i % 3].objects.push(object);
    }
    let labels = BTreeMap::from([("team".to_string(), "ml".to_string())]);
    let scopes = Scopes::new();
    let ctx = Context {
        app: "shop",
        environment: "cloud",
        namespace: "prod",
        labels: &labels,
        scopes: &scopes,
    };

    let processed = manifest::post_process_all(&ctx, rendered.clone());
    let mut reversed = rendered.clone();
    reversed.reverse();
    assert_eq!(manifest::post_process_all(&ctx, reversed), processed, "order matters");
    assert_eq!(manifest::post_process_all(&ctx, rendered), processed, "not deterministic");

    let values: Vec<Value> = processed.objects.iter().map(|o| o.value.clone()).collect();
    for object in &processed.objects {
        let labels = &object.value["metadata"]["labels"];
        assert_eq!(labels[manifest::MANAGED_BY], manifest::MANAGER);
        assert_eq!(labels[manifest::COMPONENT_LABEL], object.component.as_str());
        assert_eq!(labels[manifest::APP_LABEL], "shop");
        assert_eq!(labels[manifest::ENV_LABEL], "cloud");
        let annotations = &object.value["metadata"]["annotations"];
        assert_eq!(annotations["kiln.dev/params-hash"], object.component.as_str());
        // Nothing placed carries objects of its own, nor a name Kiln keeps for its state.
        let nested =
            object.value["items"].as_array().is_some_and(|i| i.iter().any(Value::is_object));
        assert!(!nested, "an object with objects inside left post-processing");
        let name = object.value["metadata"]["name"].as_str().unwrap_or_default();
        assert!(!manifest::RESERVED_NAME_PREFIXES.iter().any(|p| name.starts_with(p)));
    }

    let json = manifest::encode(&values, Format::Json).expect("objects encode as JSON");
    let list: Value = serde_json::from_str(&json).expect("printed JSON reads back");
    assert_eq!(list["items"], Value::Array(values.clone()), "JSON changed the objects");

    let yaml = manifest::encode(&values, Format::Yaml).expect("objects encode as YAML");
    let back: Vec<Value> = serde_saphyr::from_multiple(&yaml)
        .unwrap_or_else(|e| panic!("printed YAML does not read back: {e}\n{yaml}"));
    assert_eq!(back, values, "YAML changed the objects:\n{yaml}");
});
