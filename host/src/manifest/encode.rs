//! Encoding objects as output: YAML (a multi-document stream kubectl accepts) or JSON (a
//! `v1/List`). Pure functions; byte-identical output for the same objects.

use serde_json::Value;

/// An output format for objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// YAML documents separated by `---`.
    #[default]
    Yaml,
    /// One JSON `List` object.
    Json,
}

/// Encode `objects` in `format`, ending with a newline.
pub fn encode(objects: &[Value], format: Format) -> Result<String, String> {
    match format {
        Format::Yaml => {
            let mut out = String::new();
            for object in objects {
                out.push_str("---\n");
                let doc = serde_saphyr::to_string(object)
                    .map_err(|e| format!("cannot encode object as YAML: {e}"))?;
                out.push_str(&doc);
                if !doc.ends_with('\n') {
                    out.push('\n');
                }
            }
            Ok(out)
        }
        Format::Json => {
            let list = serde_json::json!({
                "apiVersion": "v1",
                "kind": "List",
                "items": objects,
            });
            let mut out = serde_json::to_string_pretty(&list)
                .map_err(|e| format!("cannot encode objects as JSON: {e}"))?;
            out.push('\n');
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_quotes_ambiguous_scalars_so_kubectl_reads_strings() {
        let objects = [json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": { "name": "c" },
            "data": { "a": "NO", "b": "on", "c": "0755", "d": "1.0", "e": "" },
        })];
        let yaml = encode(&objects, Format::Yaml).unwrap();
        let back: Value = serde_saphyr::from_str(yaml.trim_start_matches("---\n")).unwrap();
        assert_eq!(back, objects[0], "{yaml}");
    }

    #[test]
    fn json_is_a_list() {
        let out = encode(&[json!({"kind": "A"})], Format::Json).unwrap();
        let list: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(list["kind"], "List");
        assert_eq!(list["items"][0]["kind"], "A");
    }
}
