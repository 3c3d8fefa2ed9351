//! Encoding objects as output: YAML (a multi-document stream kubectl accepts) or JSON (a
//! `v1/List`). Pure functions; byte-identical output for the same objects.

use std::io::Write;

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
    let mut out = Vec::new();
    write(objects, format, &mut out).map_err(|e| e.to_string())?;
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// Write `objects` in `format` to `out` as they are encoded, ending with a newline: what was
/// written before an error stays written, so callers validate the objects first.
pub fn write(objects: &[Value], format: Format, out: &mut impl Write) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 << 10, out);
    match format {
        Format::Yaml => {
            // Large outputs are encoded a chunk at a time on every core, and written in order.
            for chunk in objects.chunks(YAML_CHUNK) {
                for doc in crate::parallel::map(chunk, yaml) {
                    out.write_all(doc?.as_bytes())?;
                }
            }
        }
        Format::Json => {
            // Keys in the order a JSON map of them would print: sorted.
            #[derive(serde::Serialize)]
            struct List<'a> {
                #[serde(rename = "apiVersion")]
                api_version: &'static str,
                items: &'a [Value],
                kind: &'static str,
            }
            let list = List { api_version: "v1", items: objects, kind: "List" };
            // serde_json's pretty layout, with DEL, C1, bidi and invisible characters written as
            // `\u` escapes: the same JSON, and no terminal control when printed to one.
            let formatter = crate::untrusted::JsonFormatter::pretty();
            serde::Serialize::serialize(
                &list,
                &mut serde_json::Serializer::with_formatter(&mut out, formatter),
            )
            .map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()
}

/// Objects encoded to YAML at a time: bounds the memory of the encoded text.
const YAML_CHUNK: usize = 1024;

/// One YAML document: `---`, the object, a newline.
fn yaml(object: &Value) -> std::io::Result<String> {
    let mut doc = String::from("---\n");
    serde_saphyr::to_fmt_writer(&mut doc, object)
        .map_err(|e| std::io::Error::other(format!("cannot encode object as YAML: {e}")))?;
    if !doc.ends_with('\n') {
        doc.push('\n');
    }
    Ok(doc)
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
    fn json_is_a_list_with_its_keys_sorted_as_a_json_map_would_print_them() {
        let objects = [json!({"kind": "A", "apiVersion": "v1", "metadata": {"name": "a"}})];
        let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
        let expected = format!("{}\n", serde_json::to_string_pretty(&list).unwrap());
        assert_eq!(encode(&objects, Format::Json).unwrap(), expected);
    }

    #[test]
    fn json_is_a_list() {
        let out = encode(&[json!({"kind": "A"})], Format::Json).unwrap();
        let list: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(list["kind"], "List");
        assert_eq!(list["items"][0]["kind"], "A");
    }
}
