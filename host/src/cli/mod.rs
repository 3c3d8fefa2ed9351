//! The command line: one module per noun, one file per verb. Each verb parses its arguments,
//! builds one [`Session`] from them (the app, how prototypes run, this printer for its notes),
//! makes one call and prints what it returns; nothing here renders, validates or talks to a
//! cluster itself. The arguments verbs share are here: `RunArgs` (limits, cache) and
//! `SelectionArgs` / `TargetArgs` (environment, components, cluster).
//!
//! To add a verb: a file beside the others with its `Args` (no doc comment on the struct: see
//! the note on `Command`), a `HELP` constant for `--help`, and a `run` that parses, calls
//! the session and prints; then a variant of `Command` (or of its noun's enum) and its arm in
//! [`run`]. An operation the library lacks goes into [`crate::session`], not here.

mod apply;
mod completions;
mod component;
mod delete;
mod diff;
mod env;
mod generate;
mod history;
mod init;
mod param;
pub(crate) mod params;
mod pkg;
mod printer;
mod progress;
mod prototype;
mod registry;
mod rollback;
mod secret;
mod show;
mod status;
mod table;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use printer::{Printer, Verbosity};
pub use progress::{Progress, Status};

use crate::app::{App, AppError};
use crate::cluster::{ApplyOptions, DryRun};
use crate::pipeline;
use crate::prototype::ParamError;
use crate::render::{self, Limit};
use crate::session::{Connected, Gate, Selection, Session, Settings};

/// Kiln: Kubernetes configuration from sandboxed WebAssembly prototypes.
#[derive(Debug, Parser)]
#[command(
    name = "kiln",
    bin_name = "kiln",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Say more (prototypes' debug logs, cache activity).
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    verbose: bool,
    /// Say only errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

// `defer`: each subcommand's arguments are built only when it is the one parsed, not every
// command's on every run: a warm `kiln show` of the seed app took 0.83 to 0.87 of the time,
// `kiln --version` 0.8 (interleaved runs). The nested enums say the same. A deferred `Args`
// struct's doc comment would replace its variant's description whenever the whole tree is
// built (shell completions), so those structs carry none; a verb's longer help is a `HELP`
// constant in its file, set as its variant's `long_about`, which is not deferred (see the
// tests below).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
enum Command {
    /// Create an app.
    #[command(long_about = init::HELP)]
    Init(init::Args),
    /// Manage environments: where and how components are deployed.
    #[command(subcommand)]
    Env(env::Command),
    /// Add, list and remove registries: where packages come from.
    #[command(subcommand)]
    Registry(registry::Command),
    /// Install, list, verify, update and publish packages of prototypes.
    #[command(subcommand)]
    Pkg(pkg::Command),
    /// Inspect and try prototypes.
    #[command(subcommand)]
    Prototype(prototype::Command),
    /// Add a component: a prototype instantiated with params.
    #[command(long_about = generate::HELP)]
    Generate(generate::Args),
    /// List and remove components.
    #[command(subcommand)]
    Component(component::Command),
    /// Set, list and compare params.
    #[command(subcommand)]
    Param(param::Command),
    /// Store and list environments' secrets, encrypted; manage who can decrypt them.
    #[command(subcommand)]
    Secret(secret::Command),
    /// Print an environment's objects.
    #[command(long_about = show::HELP)]
    Show(show::Args),
    /// Check an environment's objects offline: structure, schemas, params.
    #[command(long_about = validate::HELP)]
    Validate(validate::Args),
    /// Apply an environment to its cluster (server-side apply).
    #[command(long_about = apply::HELP)]
    Apply(apply::Args),
    /// Show what `apply` would change in the cluster.
    #[command(long_about = diff::HELP)]
    Diff(diff::Args),
    /// Show whether an environment's objects are present, in sync and ready.
    #[command(long_about = status::HELP)]
    Status(status::Args),
    /// Delete an environment's objects from its cluster.
    #[command(long_about = delete::HELP)]
    Delete(delete::Args),
    /// List an environment's revisions, newest first.
    #[command(long_about = history::HELP)]
    History(history::Args),
    /// Go back to an earlier revision of an environment.
    #[command(long_about = rollback::HELP)]
    Rollback(rollback::Args),
    /// Print a shell completion script.
    #[command(long_about = completions::HELP)]
    Completions(completions::Args),
}

impl Cli {
    /// The printer for this invocation's verbosity.
    pub fn printer(&self) -> Printer {
        Printer::new(match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (_, true) => Verbosity::Verbose,
            _ => Verbosity::Normal,
        })
    }
}

/// The whole `kiln` program: parse the command line, run it, report errors, exit code.
pub fn main() -> ExitCode {
    // A child process that compiles for its parent Kiln (`render::isolated`): no verb of the
    // command line, so no help or completion shows it, and clap is not even set up.
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|verb| verb == render::COMPILE_VERB) {
        return render::serve_compile(args);
    }
    let cli = Cli::parse();
    let printer = cli.printer();
    match run(cli, &printer) {
        Ok(code) => code,
        Err(err) => {
            printer.report(&err);
            ExitCode::from(1)
        }
    }
}

/// Run a parsed command line.
pub fn run(cli: Cli, printer: &Printer) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init(args) => init::run(args, printer),
        Command::Env(command) => command.run(printer),
        Command::Registry(command) => command.run(printer),
        Command::Pkg(command) => command.run(printer),
        Command::Prototype(command) => command.run(printer),
        Command::Generate(args) => generate::run(args, printer),
        Command::Component(command) => command.run(printer),
        Command::Param(command) => command.run(printer),
        Command::Secret(command) => command.run(printer),
        Command::Show(args) => show::run(args, printer),
        Command::Validate(args) => validate::run(args, printer),
        Command::Apply(args) => apply::run(args, printer),
        Command::Diff(args) => diff::run(args, printer),
        Command::Status(args) => status::run(args, printer),
        Command::Delete(args) => delete::run(args, printer),
        Command::History(args) => history::run(args, printer),
        Command::Rollback(args) => rollback::run(args, printer),
        Command::Completions(args) => completions::run(args, printer),
    }
}

/// Hints for an error: what the user can do about it.
pub fn hints(err: &anyhow::Error) -> Vec<String> {
    let mut hints = Vec::new();
    for cause in err.chain() {
        let hint = if let Some(err) = cause.downcast_ref::<render::Error>() {
            err.hint()
        } else if let Some(err) = cause.downcast_ref::<ParamError>() {
            err.hint()
        } else if let Some(err) = cause.downcast_ref::<AppError>() {
            err.hint()
        } else if let Some(err) = cause.downcast_ref::<crate::cluster::Error>() {
            err.hint()
        } else if let Some(err) = cause.downcast_ref::<crate::registry::RegistryError>() {
            err.hint()
        } else if let Some(err) = cause.downcast_ref::<crate::secrets::Error>() {
            err.hint()
        } else if let Some(err) = cause.downcast_ref::<crate::validate::Error>() {
            err.hint()
        } else {
            cause.downcast_ref::<pipeline::Error>().and_then(pipeline::Error::hint)
        };
        // A wrapper and its cause may give the same hint.
        if let Some(hint) = hint.filter(|h| !hints.contains(h)) {
            hints.push(hint);
        }
    }
    hints
}

// How a prototype runs: limits and the compiled-code cache. Shared by every verb that runs one.
#[derive(Debug, Clone, clap::Args)]
struct RunArgs {
    // The help lists every limit by name, from `Limit::ALL`.
    #[arg(long = "limit", value_name = "NAME=VALUE", help = limit_help())]
    limits: Vec<String>,
    /// Compile prototypes and validate without reading or writing the cache (compiled code,
    /// and what earlier validations found valid).
    #[arg(long)]
    no_cache: bool,
}

impl RunArgs {
    /// A session for `app` (none outside an app) with these settings, its notes printed by
    /// `printer`. Prototypes compile in a child process running this executable, so that the
    /// compile budget's time and memory limits hold.
    fn session<'p>(&self, app: Option<App>, printer: &'p Printer) -> anyhow::Result<Session<'p>> {
        let settings = Settings::compiling_in_child(self.limits.clone(), self.no_cache)?;
        Ok(Session::new(app, settings, printer))
    }

    /// A session for the app in the current directory or a parent.
    fn open<'p>(&self, printer: &'p Printer) -> anyhow::Result<Session<'p>> {
        self.session(Some(open_app()?), printer)
    }
}

// Which environment and components a verb works on.
#[derive(Debug, clap::Args)]
struct SelectionArgs {
    /// The environment.
    env: String,
    /// Only these components (repeatable).
    #[arg(short, long = "component", value_name = "COMPONENT")]
    components: Vec<String>,
}

impl SelectionArgs {
    fn selection(&self) -> Selection {
        Selection { env: self.env.clone(), components: self.components.clone() }
    }
}

// How a verb that changes a cluster (apply, rollback) goes about it.
#[derive(Debug, clap::Args)]
struct ChangeArgs {
    /// Take over fields another field manager owns.
    #[arg(long)]
    force_conflicts: bool,
    /// Wait until every object applied is ready (kstatus's rules: rollouts done, Jobs complete,
    /// PVCs bound, custom resources Ready...); a failed one (a failed Job) fails at once.
    #[arg(long)]
    wait: bool,
    /// How long `--wait`, and each wait between phases, waits, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    timeout: u64,
    /// Objects applied at once. Each waits on a round trip to the API server, so more at once is
    /// what makes a cluster far away fast (bench/run's delay line, docs/benchmarks.md: at 50 ms,
    /// 8 at once was 6.5x faster than kubectl, 32 at once 12.6x; at 10 ms 4.0x and 4.7x).
    #[arg(long, value_name = "N", default_value_t = 32)]
    concurrency: usize,
}

impl ChangeArgs {
    /// The options of an apply with these settings.
    fn options(&self, dry_run: Option<DryRun>, prune: bool, skip_unchanged: bool) -> ApplyOptions {
        let timeout = std::time::Duration::from_secs(self.timeout);
        ApplyOptions {
            dry_run,
            prune,
            force_conflicts: self.force_conflicts,
            wait: self.wait.then_some(timeout),
            timeout,
            concurrency: self.concurrency,
            skip_unchanged,
            components: Vec::new(),
        }
    }
}

// What a cluster verb works on: a selection, and the kubeconfig context to use instead of the
// environment's.
#[derive(Debug, clap::Args)]
struct TargetArgs {
    #[command(flatten)]
    selection: SelectionArgs,
    /// The kubeconfig context to use instead of the environment's.
    #[arg(long)]
    context: Option<String>,
    #[command(flatten)]
    run: RunArgs,
}

impl TargetArgs {
    /// Render, connect and place the selection for its cluster (see [`Session::connect`]).
    /// With `reveal`, the secrets' values are read (see [`Session::connect`]).
    fn connect(&self, gate: Gate, reveal: bool, printer: &Printer) -> anyhow::Result<Connected> {
        let session = self.run.open(printer)?;
        session.connect(&self.selection.selection(), gate, self.context.clone(), reveal)
    }
}

/// How a verb that reports prints (`-o`): for people or for programs. Each verb's `--output`
/// help says what its JSON holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Text for people.
    Text,
    /// JSON for programs.
    Json,
}

/// The help of `--limit`, naming every limit.
fn limit_help() -> String {
    let names: Vec<&str> = Limit::ALL.iter().map(|limit| limit.name()).collect();
    format!(
        "Raise or lower a sandbox limit, e.g. `--limit memory=512MiB`, `--limit fuel=5e9` \
         (limits: {})",
        names.join(", ")
    )
}

/// The app in the current directory or a parent.
fn open_app() -> anyhow::Result<App> {
    Ok(App::find(&std::env::current_dir()?)?)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every subcommand's description, by path (`env add`), in `command` as it stands.
    fn abouts(command: &clap::Command, path: &str, out: &mut Vec<(String, String)>) {
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            let path = format!("{path} {}", sub.get_name()).trim().to_string();
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            out.push((path.clone(), about));
            abouts(sub, &path, out);
        }
    }

    /// Subcommands are deferred (built when used), and a deferred `Args` struct's doc comment
    /// would replace its variant's one-line description whenever the whole tree is built (shell
    /// completions): those structs have plain comments, and every command has a description.
    #[test]
    fn building_the_whole_tree_keeps_each_commands_description() {
        let mut lazy = Vec::new();
        abouts(&super::Cli::command(), "", &mut lazy);
        let mut built = super::Cli::command();
        built.build();
        let mut whole = Vec::new();
        abouts(&built, "", &mut whole);
        assert_eq!(lazy, whole);
        for (path, about) in &whole {
            assert!(!about.is_empty(), "`kiln {path}` has no description");
        }
        assert!(whole.len() > 30, "{whole:?}");
    }

    /// `--help` of every command shows its description, and the verbs with more to say say it:
    /// the exit codes of `diff` and `validate`, the examples of `param set`. Deferring the
    /// arguments once lost those (their text moved to comments clap never reads).
    #[test]
    fn every_commands_help_shows_its_description() {
        let mut built = super::Cli::command();
        built.build();
        let mut all = Vec::new();
        abouts(&built, "", &mut all);
        let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
        let help = |path: &str| {
            let args = ["kiln"].into_iter().chain(path.split(' ')).chain(["--help"]);
            let err = <super::Cli as clap::Parser>::try_parse_from(args)
                .expect_err("--help stops parsing");
            assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp, "kiln {path} --help");
            words(&err.to_string())
        };
        for (path, about) in &all {
            let command = path.split(' ').fold(&built, |c, name| c.find_subcommand(name).unwrap());
            let long = command.get_long_about().map(|a| a.to_string());
            let expected = words(long.as_deref().unwrap_or(about));
            let start: String = expected.chars().take(60).collect();
            assert!(help(path).contains(&start), "`kiln {path} --help` lacks `{start}`");
        }
        for (path, text) in [
            (
                "diff",
                "Exit status: 0 when nothing would change, 1 when something would, 2 on error",
            ),
            ("validate", "Exit status: 0 when valid (warnings allowed), 1 on errors, 2 when"),
            ("param set", "kiln param set --env cloud cloud gke for every component in `cloud`"),
            ("param set", "kiln param set --cloud=gke the same, ksonnet's way"),
            ("apply", "Namespaces and CRDs first, CRDs waited on until Established"),
            ("apply", "Objects annotated `kiln.dev/phase: \"N\"` (an integer) apply in phases"),
            ("status", "Exit status: 0 when every object is present, in sync and ready, 1"),
        ] {
            assert!(help(path).contains(text), "`kiln {path} --help` lacks `{text}`");
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
