//! `kiln param diff ENV1 ENV2`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::app;
use crate::cli::{Printer, RunArgs, table};
use crate::pipeline::{Prototypes, resolve_all};

// Show every component param whose value differs between two environments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The first environment.
    env1: String,
    /// The second environment.
    env2: String,
    #[command(flatten)]
    run: RunArgs,
}

/// Run `kiln param diff`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let app = crate::cli::open_app()?;
    // Each environment's prototypes run under its own limits: the second's load again only
    // when they differ.
    let limits = args.run.limits(Some(&app), Some(&args.env1))?;
    let limits2 = args.run.limits(Some(&app), Some(&args.env2))?;
    let engine = args.run.engine(&limits)?;
    let mut prototypes = Prototypes::new(&app, &engine, limits);
    let values = |prototypes: &mut Prototypes,
                  env: &str|
     -> anyhow::Result<BTreeMap<(String, String), String>> {
        let (_, components) = resolve_all(prototypes, env)?;
        Ok(components
            .into_iter()
            .flat_map(|c| {
                let name = c.name.clone();
                app::param_values(&c.params)
                    .into_iter()
                    .map(move |(k, v)| ((name.clone(), k), v.to_string()))
            })
            .collect())
    };
    let a = values(&mut prototypes, &args.env1)?;
    let (engine2, mut prototypes2);
    let b = if limits2 == limits {
        values(&mut prototypes, &args.env2)?
    } else {
        engine2 = args.run.engine(&limits2)?;
        prototypes2 = Prototypes::new(&app, &engine2, limits2);
        values(&mut prototypes2, &args.env2)?
    };
    let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).collect();
    let unset = || "-".to_string();
    let rows: Vec<Vec<String>> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            vec![
                k.0.clone(),
                k.1.clone(),
                a.get(k).cloned().unwrap_or_else(unset),
                b.get(k).cloned().unwrap_or_else(unset),
            ]
        })
        .collect();
    if rows.is_empty() {
        printer.note(&format!("`{}` and `{}` resolve every param the same", args.env1, args.env2));
    } else {
        printer.text(&table::render(&["COMPONENT", "PARAM", &args.env1, &args.env2], &rows))?;
    }
    Ok(ExitCode::SUCCESS)
}
