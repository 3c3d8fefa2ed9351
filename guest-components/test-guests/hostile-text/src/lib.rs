//! A prototype whose description, param docs, defaults, logs, objects and errors all carry
//! text hostile to terminals (escape sequences, OSC 52, 8-bit CSI, carriage returns, newlines
//! that start lines looking like Kiln's own, bidi overrides, invisible characters), so Kiln's
//! tests can prove that every path printing guest text escapes it. Param `mode` picks what
//! `generate` does.

use kiln_sdk::prelude::*;

/// Everything a terminal must not receive raw: OSC 52 (writes the clipboard), CSI colours,
/// an 8-bit CSI, DEL, a carriage return, newlines before lines that look like Kiln's own,
/// bidi overrides and isolates, zero-width characters and Unicode tag characters.
const HOSTILE: &str = "x\u{1b}]52;c;aGVsbG8=\u{7} \u{1b}[31mred\u{1b}[0m \u{9b}2J del\u{7f} \
                       cr\rover\nerror: forged\nwarning: forged\nnote: forged\nhint: forged\n\
                       \u{202e}desrever\u{202c} \u{2066}isolate\u{2069} zero\u{200b}width\u{2060}\
                       \u{feff} tag\u{e0041}\u{e0042}";

struct HostileText;

impl Prototype for HostileText {
    fn describe() -> Info {
        Info::new(
            "hostile-text",
            format!("Hostile text {HOSTILE}\n\nerror: forged paragraph {HOSTILE}"),
        )
        .param(
            Param::string("mode")
                .default("invalid")
                .doc(&format!("what to do: invalid, valid, fail, param, trap {HOSTILE}")),
        )
        .param(Param::string("text").default(HOSTILE).doc(HOSTILE))
        .param(Param::strings("list").default(&[HOSTILE, "b"][..]).doc(HOSTILE))
        .param(Param::object("object").default(json!({ HOSTILE: HOSTILE })).doc(HOSTILE))
        .param(Param::string("required").required().doc(HOSTILE))
        // Something to grant at install, so the prompt is shown.
        .other_namespaces()
    }

    fn generate(ctx: &Context) -> Result<Vec<Object>, Error> {
        kiln_sdk::log::debug(&format!("debug {HOSTILE}"));
        kiln_sdk::log::info(&format!("info {HOSTILE}"));
        kiln_sdk::log::warn(&format!("warn {HOSTILE}"));
        kiln_sdk::log::error(&format!("error {HOSTILE}"));
        println!("stdout {HOSTILE}");
        eprintln!("stderr {HOSTILE}");
        match ctx.params.string("mode")?.as_str() {
            "invalid" => Ok(invalid()),
            "valid" => Ok(vec![valid(ctx)?]),
            "fail" => Err(Error::failed(format!("failed {HOSTILE}"))),
            "param" => Err(Error::param(format!("param {HOSTILE}"), format!("bad {HOSTILE}"))),
            "trap" => panic!("panicked {HOSTILE}"),
            other => Err(Error::param("mode", format!("unknown mode `{other}`"))),
        }
    }
}

/// Objects that render but fail validation, with hostile text in every place a finding names:
/// the object's name, label keys and values, field names, and values schemas refuse.
fn invalid() -> Vec<Object> {
    vec![json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": format!("name-{HOSTILE}"),
            "labels": { format!("key-{HOSTILE}"): format!("value-{HOSTILE}") },
            "annotations": { format!("annotation-{HOSTILE}"): "a" },
        },
        "data": { format!("data-{HOSTILE}"): HOSTILE },
        "binaryData": { "b": HOSTILE },
        format!("field-{HOSTILE}"): HOSTILE,
        "immutable": HOSTILE,
    })]
}

/// An object that passes validation, with hostile text only where Kubernetes allows any text:
/// data values and annotation values, so `kiln show` has to encode it.
fn valid(ctx: &Context) -> Result<Object, Error> {
    Ok(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "valid",
            "annotations": { "example.com/text": ctx.params.string("text")? },
        },
        "data": { "text": HOSTILE, "line": "one line \u{1b}[2J\u{9b}31m\u{7f}\u{202e}" },
    }))
}

kiln_sdk::prototype!(HostileText);
