//! `kiln prototype describe FILE.wasm`: what a prototype is, takes and asks for.

use std::process::ExitCode;

use crate::cli::{Printer, RunArgs, params};
use crate::prototype::Info;

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
    let text = if args.json_schema {
        let schema = crate::validate::params_json_schema(&loaded.info);
        let mut json = serde_json::to_string_pretty(&schema)?;
        json.push('\n');
        json
    } else if args.json {
        let mut json = to_json(&loaded.info, loaded.prototype.digest());
        if args.imports {
            json["imports"] = serde_json::json!(imports);
        }
        let mut json = serde_json::to_string_pretty(&json)?;
        json.push('\n');
        json
    } else {
        let mut text = to_text(&loaded.info, loaded.prototype.digest());
        if args.imports {
            text.push_str("\nimports:\n");
            for import in imports {
                text.push_str(&format!("  {import}\n"));
            }
        }
        text
    };
    printer.data(&text)?;
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

/// The description for people.
pub fn to_text(info: &Info, digest: &str) -> String {
    let mut out =
        format!("{}  {digest}\n\n{}\n\nparams:\n", info.name, info.description.trim_end());
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
        out.push_str(&format!("  emits cluster-scoped {gk}\n"));
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
