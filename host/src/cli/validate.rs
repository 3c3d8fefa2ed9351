//! `kiln validate ENV`: render an environment and check it offline, listing every finding.
//! Exit 0 valid, 1 errors found, 2 could not run.

use std::process::ExitCode;

use crate::app::App;
use crate::cli::{Printer, RunArgs};
use crate::pipeline::{self, Generated, Rendering};
use crate::validate::{Error as ValidateError, Report, Severity};

/// The long help of `validate` (`--help`), set on its subcommand: deferred arguments cannot
/// carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "\
Check an environment's objects without a cluster: names, labels and namespaces, the schema of \
built-in kinds for the environment's Kubernetes version, custom resources against their \
CustomResourceDefinition (rendered, or in the app's `crds/`), and params against their \
prototype. Lists every finding.

Exit status: 0 when valid (warnings allowed), 1 on errors, 2 when it cannot run.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment.
    env: String,
    /// Only these components (repeatable).
    #[arg(short, long = "component", value_name = "COMPONENT")]
    components: Vec<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(flatten)]
    run: RunArgs,
}

/// How `kiln validate` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// One line per finding, hints indented under them.
    Text,
    /// One JSON object: `valid`, `summary`, `findings`.
    Json,
}

/// Run `kiln validate`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let report = match check(&args, printer) {
        Ok(report) => report,
        Err(err) => {
            printer.report(&err);
            return Ok(ExitCode::from(2));
        }
    };
    match args.output {
        Output::Json => {
            // Findings name what guests wrote: JSON that reads back the same, with what a
            // terminal must not see escaped (`untrusted::json_pretty`).
            let text = crate::untrusted::json_pretty(&report.to_json())?;
            printer.data(&format!("{text}\n"))?;
        }
        Output::Text => {
            printer.text(&report.to_text())?;
            printer.note(&format!(
                "`{}`: {} (schemas of {})",
                args.env,
                report.summary(),
                report.schemas
            ));
        }
    }
    Ok(if report.is_valid() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn check(args: &Args, printer: &Printer) -> anyhow::Result<Report> {
    let app = super::open_app()?;
    let rendering = render(&app, &args.env, &args.components, &args.run, printer)?;
    Ok(pipeline::validate(&app, &rendering, args.run.memo_dir().as_deref())?)
}

/// Render an environment for a verb, placing its objects with what Kiln knows offline (see
/// [`pipeline::Generated::place`]), printing the engine's notes and the prototypes' logs.
pub(super) fn render(
    app: &App,
    env: &str,
    components: &[String],
    run: &RunArgs,
    printer: &Printer,
) -> anyhow::Result<Rendering> {
    Ok(generate(app, env, components, run, printer)?.place(&Default::default())?)
}

/// Run the prototypes of an environment for a verb, printing the engine's notes and the
/// prototypes' logs; their objects are not placed yet.
pub(super) fn generate(
    app: &App,
    env: &str,
    components: &[String],
    run: &RunArgs,
    printer: &Printer,
) -> anyhow::Result<Generated> {
    let limits = run.limits(Some(app), Some(env))?;
    let engine = run.engine(&limits)?;
    let generated = pipeline::generate(app, env, components, &engine, limits);
    super::flush_notes(&engine, printer);
    let generated = generated?;
    for (component, lines) in generated.logs() {
        printer.logs(component, lines);
    }
    Ok(generated)
}

/// What `show` and `apply` do before they go on: validate and print the findings (on stderr),
/// refusing errors; or, with `skip` (`--no-validate`), only refuse what cannot be placed at all.
pub(super) fn gate(
    app: &App,
    rendering: &Rendering,
    skip: bool,
    run: &RunArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    if skip {
        rendering.check_placed()?;
        return Ok(());
    }
    let report = pipeline::validate(app, rendering, run.memo_dir().as_deref())?;
    for finding in &report.findings {
        let line = finding.to_string();
        let line = line.split_once(": ").map_or(line.as_str(), |(_, rest)| rest);
        match finding.severity {
            Severity::Error => printer.problem(line),
            Severity::Warning => printer.warn(line),
            Severity::Note => printer.note(line),
        }
        if let Some(hint) = &finding.hint {
            printer.progress(&format!("  hint: {}", crate::untrusted::Untrusted(hint)));
        }
    }
    if report.is_valid() {
        return Ok(());
    }
    Err(ValidateError::Invalid {
        environment: rendering.environment.clone(),
        summary: report.summary(),
        flag: "--no-validate",
    }
    .into())
}
