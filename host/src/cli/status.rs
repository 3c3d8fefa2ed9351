//! `kiln status ENV`: each of the environment's objects in its cluster: there or missing, in
//! sync with what Kiln applied or changed since (and by whom), ready or not and why.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::{Output, Printer, TargetArgs, table};
use crate::cluster::{ObjectStatus, Status};
use crate::session::Gate;

/// The long help of `status` (`--help`), set on its subcommand: deferred arguments cannot
/// carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "\
Show where each object of an environment's current revision (what Kiln last applied; the render \
before the first apply) stands in its cluster: present or missing; in sync with what Kiln \
applied, changed since by another field manager (named: `kubectl-edit`, a controller...), or \
differing from it (applying again would change it); and ready or not, with why, by the same \
rules as `apply --wait` (kstatus's). What the checkout would change is `kiln diff`'s to say.

Exit status: 0 when every object is present, in sync and ready, 1 otherwise, 2 on error.";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Output format: a table and a summary line on stderr, or (`json`) one object with
    /// `environment`, `ok`, `summary`, `objects`.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// Run `kiln status`; errors exit 2, since 1 means "not all well".
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    match status(&args, printer) {
        Ok(code) => Ok(code),
        Err(err) => {
            printer.report(&err);
            Ok(ExitCode::from(2))
        }
    }
}

fn status(args: &Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let objects = args.target.connect(Gate::PlaceOnly, false, printer)?.status()?;
    let env = &args.target.selection.env;
    let ok = objects.iter().all(ObjectStatus::is_ok);
    let summary = summary(&objects);
    match args.output {
        Output::Json => {
            let report = json!({
                "environment": env,
                "ok": ok,
                "summary": summary,
                "objects": objects.iter().map(to_json).collect::<Vec<_>>(),
            });
            // Names come from prototypes and reasons from the cluster (see `json_pretty`).
            let text = crate::untrusted::json_pretty(&report)?;
            printer.data(&format!("{text}\n"))?;
        }
        Output::Text => {
            let rows: Vec<Vec<String>> = objects
                .iter()
                .map(|o| {
                    let sync = o.sync.as_ref().map(|s| s.describe()).unwrap_or_else(|| "-".into());
                    let ready = match o.ready.reason() {
                        Some(reason) if o.ready != Status::NotFound => {
                            format!("{}: {reason}", o.ready.word())
                        }
                        _ => o.ready.word().into(),
                    };
                    let live = if o.sync.is_some() { "present" } else { "missing" };
                    vec![o.key.to_string(), live.into(), sync, ready]
                })
                .collect();
            printer.text(&table::render(&["OBJECT", "LIVE", "SYNC", "READY"], &rows))?;
            printer.note(&format!("`{env}`: {summary}"));
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `4 objects: all present, in sync and ready`, or what is not.
fn summary(objects: &[ObjectStatus]) -> String {
    let count = |f: &dyn Fn(&ObjectStatus) -> bool| objects.iter().filter(|o| f(o)).count();
    let missing = count(&|o| o.sync.is_none());
    let out_of_sync =
        count(&|o| o.sync.as_ref().is_some_and(|s| *s != crate::cluster::Sync::InSync));
    let failed = count(&|o| matches!(o.ready, Status::Failed(_)));
    let not_ready = count(&|o| matches!(o.ready, Status::InProgress(_)));
    let total = format!("{} object{}", objects.len(), if objects.len() == 1 { "" } else { "s" });
    let parts: Vec<String> = [
        (missing, "missing"),
        (out_of_sync, "not in sync"),
        (failed, "failed"),
        (not_ready, "not ready"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        format!("{total}: all present, in sync and ready")
    } else {
        format!("{total}: {}", parts.join(", "))
    }
}

fn to_json(o: &ObjectStatus) -> serde_json::Value {
    use crate::cluster::Sync;
    let (sync, changed_by) = match &o.sync {
        None => (None, None),
        Some(Sync::InSync) => (Some("in-sync"), None),
        Some(Sync::Differs) => (Some("differs"), None),
        Some(Sync::ChangedBy(managers)) => (Some("changed"), Some(managers.clone())),
    };
    let ready = match &o.ready {
        Status::Current => "current",
        Status::InProgress(_) => "in-progress",
        Status::Failed(_) => "failed",
        Status::NotFound => "not-found",
    };
    json!({
        "object": o.key.to_string(),
        "apiVersion": o.key.api_version,
        "kind": o.key.kind,
        "namespace": o.key.namespace,
        "name": o.key.name,
        "component": o.key.component,
        "present": o.sync.is_some(),
        "sync": sync,
        "changedBy": changed_by,
        "ready": ready,
        "reason": o.ready.reason(),
    })
}
