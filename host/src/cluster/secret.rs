//! Secrets on their way to and from the cluster: diffs that never show a value, and objects
//! from a revision, which keeps masks instead of secret values (see [`crate::secrets`]),
//! completed with the values the live Secrets hold.

use serde_json::Value;

use super::client::Cluster;
use super::{Error, ObjectKey};
use crate::secrets::masked_name;

/// Whether `object` is a core `Secret`.
pub fn is_secret(object: &Value) -> bool {
    object["apiVersion"] == "v1" && object["kind"] == "Secret"
}

/// `before` and `after` (a Secret's live state and what an apply makes of it) with every value
/// of `data` and `stringData` replaced, as `kubectl diff` does: `***` where both sides agree,
/// `*** (before)` and `*** (after)` where they differ, so a diff says which keys changed and
/// nothing of their values. Other kinds are returned as they are.
pub fn masked_pair(before: Option<&Value>, after: &Value) -> (Option<Value>, Value) {
    if !is_secret(after) && !before.is_some_and(is_secret) {
        return (before.cloned(), after.clone());
    }
    let field = |object: Option<&Value>, field: &str, key: &str| {
        object.and_then(|o| o.get(field)).and_then(|f| f.get(key)).cloned()
    };
    let mask = |object: &Value, other: Option<&Value>, side: &str| {
        let mut object = object.clone();
        for name in ["data", "stringData"] {
            let Some(map) = object.get_mut(name).and_then(Value::as_object_mut) else { continue };
            for (key, value) in map.iter_mut() {
                let same = field(other, name, key).as_ref() == Some(value);
                *value = Value::String(if same { "***".into() } else { format!("*** ({side})") });
            }
        }
        object
    };
    let masked_before = before.map(|b| mask(b, Some(after), "before"));
    let masked_after = mask(after, before, "after");
    (masked_before, masked_after)
}

/// Complete `objects` (from a revision) for an apply: each key of a Secret's `stringData`
/// that holds a mask gets the value the live Secret has for it, in `data`. A Secret whose live
/// copy lacks the key cannot be completed: revisions never keep secret values, so only a new
/// apply of the environment can put one there: with `strict`, an error; otherwise the mask is
/// left where it is.
pub async fn fill_from_live(
    cluster: &Cluster,
    objects: &mut [(String, Value)],
    strict: bool,
) -> Result<(), Error> {
    for (component, object) in objects.iter_mut() {
        if !is_secret(object) {
            continue;
        }
        let masked: Vec<(String, String)> =
            match object.get("stringData").and_then(Value::as_object) {
                Some(data) => data
                    .iter()
                    .filter_map(|(key, value)| {
                        masked_name(value.as_str()?).map(|name| (key.clone(), name.to_string()))
                    })
                    .collect(),
                None => continue,
            };
        if masked.is_empty() {
            continue;
        }
        let key = ObjectKey::of(object, component);
        let live = cluster.live(&key).await?;
        for (field, name) in masked {
            let value = live.as_ref().and_then(|l| l["data"].get(&field)).cloned();
            let Some(value) = value else {
                if !strict {
                    continue;
                }
                return Err(Error::Api {
                    action: "complete",
                    object: key.to_string(),
                    message: format!(
                        "its key `{field}` holds secret `{name}`, whose value revisions never \
                         keep, and the live Secret has no `{field}` to keep: apply the \
                         environment from its app instead"
                    ),
                });
            };
            object["stringData"].as_object_mut().expect("checked above").remove(&field);
            if !object["data"].is_object() {
                object["data"] = Value::Object(Default::default());
            }
            object["data"][&field] = value;
        }
        if object["stringData"].as_object().is_some_and(|d| d.is_empty()) {
            object.as_object_mut().expect("an object").remove("stringData");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_secret_diff_shows_which_keys_changed_and_no_value() {
        let before = json!({"apiVersion": "v1", "kind": "Secret",
                            "data": {"a": "b2xk", "same": "eA=="}});
        let after = json!({"apiVersion": "v1", "kind": "Secret",
                           "data": {"a": "bmV3", "same": "eA==", "added": "eQ=="}});
        let (b, a) = masked_pair(Some(&before), &after);
        assert_eq!(b.unwrap()["data"], json!({"a": "*** (before)", "same": "***"}));
        assert_eq!(a["data"], json!({"a": "*** (after)", "same": "***", "added": "*** (after)"}));
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}});
        assert_eq!(masked_pair(None, &config).1, config);
    }
}
