//! `kiln prototype describe FILE.wasm`: what a prototype is, takes and asks for.

use std::process::ExitCode;

use crate::cli::{Printer, RunArgs, params};
use crate::prototype::Info;
use crate::untrusted::{self, Untrusted};

// Show a prototype's description, params and permissions.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The prototype: a `.wasm` file, or an installed prototype's name.
    prototype: String,
    /// Print the description as JSON.
    #[arg(long, conflicts_with = "json_schema")]
    json: bool,
    /// Print the params as a JSON Schema (Draft 2020-12), e.g. for editors or CI.
    #[arg(long, conflicts_with = "imports")]
    json_schema: bool,
    /// Also list the Wasm component's imports (what it asks of the host; Kiln refuses a
    /// prototype that imports anything it does not provide).
    #[arg(long)]
    imports: bool,
    #[command(flatten)]
    run: RunArgs,
}

/// Run `kiln prototype describe`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.prototype, &args.run, printer)?;
    let imports = loaded.prototype.imports();
    // JSON holds the prototype's own text: `untrusted::json_pretty` escapes what serde_json
    // would leave raw for a terminal, and reads back the same.
    if args.json_schema {
        let schema = crate::validate::params_json_schema(&loaded.info);
        printer.data(&format!("{}\n", untrusted::json_pretty(&schema)?))?;
    } else if args.json {
        let mut json = to_json(&loaded.info, loaded.prototype.digest());
        if args.imports {
            json["imports"] = serde_json::json!(imports);
        }
        printer.data(&format!("{}\n", untrusted::json_pretty(&json)?))?;
    } else {
        let mut text = to_text(&loaded.info, loaded.prototype.digest());
        if args.imports {
            text.push_str("\nimports:\n");
            for import in imports {
                text.push_str(&format!("  {}\n", Untrusted(import)));
            }
        }
        printer.text(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The description as JSON: stable field order, params in declaration order.
pub fn to_json(info: &Info, digest: &str) -> serde_json::Value {
    let params: Vec<serde_json::Value> = info
        .params
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "type": p.ty.name(),
                "doc": p.doc,
                "required": p.required,
                "default": p.default.as_ref().map(|d| d.to_json()),
            })
        })
        .collect();
    serde_json::json!({
        "name": info.name,
        "digest": digest,
        "description": info.description,
        "params": params,
        "permissions": {
            "clusterScoped": info.permissions.cluster_scoped.iter().map(|gk| gk.to_string()).collect::<Vec<_>>(),
            "rbac": info.permissions.rbac,
            "otherNamespaces": info.permissions.other_namespaces,
        },
    })
}

/// The description for people. The prototype's text is escaped, its description indented
/// (every line), so none of it can pass for a line of Kiln's.
pub fn to_text(info: &Info, digest: &str) -> String {
    let mut out = format!(
        "{}  {digest}\n\n{}\n\nparams:\n",
        Untrusted(&info.name),
        untrusted::block(info.description.trim_end(), "  ")
    );
    let name_width = info.params.iter().map(|p| p.name.len()).max().unwrap_or(0);
    let type_width = info.params.iter().map(|p| p.ty.name().len()).max().unwrap_or(0);
    for p in &info.params {
        out.push_str(&format!(
            "  {:name_width$}  {:type_width$}  {}\n",
            p.name,
            p.ty.name(),
            params::describe_param(p)
        ));
    }
    if info.params.is_empty() {
        out.push_str("  (none)\n");
    }
    out.push_str("\npermissions:\n");
    let perms = &info.permissions;
    let mut any = false;
    for gk in &perms.cluster_scoped {
        out.push_str(&format!("  emits cluster-scoped {}\n", Untrusted(&gk.to_string())));
        any = true;
    }
    if perms.rbac {
        out.push_str("  emits RBAC objects (roles and bindings)\n");
        any = true;
    }
    if perms.other_namespaces {
        out.push_str("  places objects outside the environment's namespace\n");
        any = true;
    }
    if !any {
        out.push_str("  (none: namespaced objects in the environment's namespace only)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::prototype::{GroupKind, Info, Permissions};

    /// `describe()` is the guest's to write, kinds it asks for included (they are checked only
    /// when it is published): nothing of it reaches the terminal raw or starts a line.
    #[test]
    fn text_escapes_what_the_guest_wrote_and_indents_its_description() {
        let info = Info {
            name: "web".into(),
            description: "Web\nerror: forged\u{1b}]52;c;eA==\u{7}\u{202e}".into(),
            params: Vec::new(),
            permissions: Permissions {
                cluster_scoped: vec![GroupKind {
                    group: "g\u{1b}[2J".into(),
                    kind: "K\nerror: x".into(),
                }],
                ..Permissions::default()
            },
        };
        let text = super::to_text(&info, "sha256:0");
        assert!(
            text.contains("\n  Web\n  error: forged\\u{1b}]52;c;eA==\\u{7}\\u{202e}\n"),
            "{text}"
        );
        assert!(text.contains("  emits cluster-scoped g\\u{1b}[2J/K\\nerror: x\n"), "{text}");
        assert!(!text.lines().any(|l| l.starts_with("error:")), "{text}");
        assert!(!text.chars().any(|c| c != '\n' && crate::untrusted::needs_escape(c)), "{text}");
    }
}
