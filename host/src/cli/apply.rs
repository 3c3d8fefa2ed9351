//! `kiln apply ENV`: render and server-side apply an environment to its cluster.

use std::process::ExitCode;
use std::time::Duration;

use crate::app::App;
use crate::cli::{Printer, RunArgs};
use crate::cluster::{self, ApplyOptions, DryRun, Event, InventoryRef, Target};
use crate::untrusted::{self, Untrusted};

// Apply an environment (or some components) with server-side apply, field manager `kiln`:
// Namespaces and CRDs first, CRDs waited on until Established, then the rest in parallel.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// `client`: print what would be applied; `server`: let the server check without persisting.
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, default_missing_value = "client")]
    dry_run: Option<DryRun>,
    /// Delete objects of this app and environment that are no longer rendered (only Kiln's).
    #[arg(long)]
    prune: bool,
    /// Take over fields another field manager owns.
    #[arg(long)]
    force_conflicts: bool,
    /// Wait for Deployments, StatefulSets and CRDs to be ready.
    #[arg(long)]
    wait: bool,
    /// How long `--wait` waits, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    timeout: u64,
    /// Objects applied at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    concurrency: usize,
    /// Send every object, even those unchanged since the last apply. By default Kiln skips an
    /// object when it would apply the same as last time and nobody has written the object since
    /// (its resource version is the one Kiln's last apply left).
    #[arg(long)]
    reapply_unchanged: bool,
    /// Print each object's outcome, not only the summary.
    #[arg(long)]
    show_objects: bool,
    /// Apply even if offline validation finds errors (like `kubectl --validate=false`).
    #[arg(long)]
    no_validate: bool,
}

/// What every cluster verb needs: the objects with their components, where, and the inventory.
pub(super) struct Prepared {
    pub objects: Vec<(String, serde_json::Value)>,
    pub target: Target,
    pub inventory: InventoryRef,
}

// Which environment and components a cluster verb works on, and how to reach the cluster.
#[derive(Debug, clap::Args)]
pub(super) struct TargetArgs {
    /// The environment.
    pub env: String,
    /// Only these components (repeatable).
    #[arg(short, long = "component", value_name = "COMPONENT")]
    pub components: Vec<String>,
    /// The kubeconfig context to use instead of the environment's.
    #[arg(long)]
    pub context: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

impl TargetArgs {
    /// Render the environment (limited to the components) and work out its cluster. With
    /// `validate`, refuse output that does not validate; without, only what cannot be placed.
    pub(super) fn prepare(
        &self,
        app: &App,
        printer: &Printer,
        validate: bool,
    ) -> anyhow::Result<Prepared> {
        let rendering =
            super::validate::render(app, &self.env, &self.components, &self.run, printer)?;
        super::validate::gate(app, &rendering, !validate, &self.run, printer)?;
        let env_file = app.environment(&self.env)?;
        Ok(Prepared {
            objects: rendering.objects.into_iter().map(|o| (o.component, o.value)).collect(),
            target: Target {
                context: self.context.clone().or(env_file.context),
                server: env_file.server,
            },
            inventory: InventoryRef {
                app: app.name().into(),
                environment: self.env.clone(),
                namespace: env_file.namespace,
            },
        })
    }
}

/// A runtime for one command, and Ctrl-C as an error.
pub(super) fn block_on<T>(
    future: impl std::future::Future<Output = Result<T, cluster::Error>>,
) -> anyhow::Result<T> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    Ok(runtime.block_on(async {
        tokio::select! {
            result = future => result,
            _ = tokio::signal::ctrl_c() => Err(cluster::Error::Interrupted),
        }
    })?)
}

/// Progress lines: one per object with `--show-objects` or `--verbose`. An object's key holds
/// the names a guest gave it: shown escaped, on its line.
pub(super) fn progress(printer: &Printer, each: bool) -> impl Fn(&Event) + Sync + '_ {
    let key = |key: &cluster::ObjectKey| untrusted::line(&key.to_string()).into_owned();
    move |event| match event {
        Event::Done(k, outcome) if each => {
            printer.progress(&format!("{} {}", key(k), outcome.describe()));
        }
        Event::Done(k, outcome) => printer.detail(&format!("{} {}", key(k), outcome.describe())),
        Event::Waiting(k, what) => printer.detail(&format!("waiting for {} to be {what}", key(k))),
    }
}

/// Run `kiln apply`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let app = super::open_app()?;
    let prepared = args.target.prepare(&app, printer, !args.no_validate)?;
    if args.dry_run == Some(DryRun::Client) {
        for (component, object) in &prepared.objects {
            printer.text(&format!(
                "{} (dry run, component {component})\n",
                Untrusted(&crate::manifest::object_ref(object))
            ))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let options = ApplyOptions {
        dry_run: args.dry_run,
        prune: args.prune,
        force_conflicts: args.force_conflicts,
        wait: args.wait.then(|| Duration::from_secs(args.timeout)),
        concurrency: args.concurrency,
        skip_unchanged: !args.reapply_unchanged,
        components: args.target.components.clone(),
    };
    let on_event = progress(printer, args.show_objects);
    let report = block_on(async {
        let (client, server) = cluster::connect(&prepared.target).await?;
        let cluster = cluster::Cluster::new(client, server);
        cluster::apply(&cluster, &prepared.objects, &prepared.inventory, &options, &on_event).await
    })?;
    let suffix = if args.dry_run.is_some() { " (server dry run)" } else { "" };
    printer.note(&format!("applied `{}`: {}{suffix}", args.target.env, report.summary()));
    Ok(ExitCode::SUCCESS)
}
