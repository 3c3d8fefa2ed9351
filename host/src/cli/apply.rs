//! `kiln apply ENV`: render and server-side apply an environment to its cluster.

use std::process::ExitCode;
use std::time::Duration;

use crate::app::App;
use crate::cli::{Printer, RunArgs};
use crate::cluster::{self, ApplyOptions, DryRun, Event, InventoryRef, Target};
use crate::pipeline;

/// The long help of this verb (`--help`), set on its subcommand: deferred arguments
/// cannot carry it (see `cli/mod.rs`).
pub(crate) const HELP: &str = "Apply an environment (or some components) with server-side apply, \
    field manager `kiln`: Namespaces and CRDs first, CRDs waited on until Established, then the \
    rest in parallel.";

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
    pub inventory: InventoryRef,
    /// The connection to the cluster, unless the verb asked for none.
    pub session: Option<Session>,
}

/// A connected cluster, and the runtime its client lives on (the client's tasks run there, so
/// the two go together).
pub(super) struct Session {
    runtime: tokio::runtime::Runtime,
    pub cluster: cluster::Cluster,
}

impl Session {
    /// Run `future` on the session's runtime, with Ctrl-C as an error.
    pub(super) fn block_on<T>(
        &self,
        future: impl std::future::Future<Output = Result<T, cluster::Error>>,
    ) -> anyhow::Result<T> {
        block_on(&self.runtime, future)
    }
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
    /// Render the environment (limited to the components) and, with `connect`, connect to its
    /// cluster and place the objects by the scope its discovery reports for each kind, so each
    /// object's grant is checked against where it will really land before anything is sent.
    /// With `validate`, refuse output that does not validate, before the cluster is contacted
    /// as far as Kiln can tell offline; without, only what cannot be placed.
    pub(super) fn prepare(
        &self,
        app: &App,
        printer: &Printer,
        validate: bool,
        connect: bool,
    ) -> anyhow::Result<Prepared> {
        let generated =
            super::validate::generate(app, &self.env, &self.components, &self.run, printer)?;
        let env_file = app.environment(&self.env)?;
        let (session, discovered) = if connect {
            if validate {
                self.refuse_invalid_offline(app, &generated, printer)?;
            }
            let runtime = runtime()?;
            let target = Target {
                context: self.context.clone().or(env_file.context),
                server: env_file.server,
            };
            let kinds = generated.kinds();
            let (cluster, discovered) = block_on(&runtime, async {
                let (client, server) = cluster::connect(&target).await?;
                let cluster = cluster::Cluster::new(client, server);
                let discovered = cluster::scopes(&cluster, &kinds).await?;
                Ok((cluster, discovered))
            })?;
            (Some(Session { runtime, cluster }), discovered)
        } else {
            (None, Default::default())
        };
        let rendering = generated.place(&discovered)?;
        super::validate::gate(app, &rendering, !validate, &self.run, printer)?;
        Ok(Prepared {
            objects: rendering.objects.into_iter().map(|o| (o.component, o.value)).collect(),
            inventory: InventoryRef {
                app: app.name().into(),
                environment: self.env.clone(),
                namespace: env_file.namespace,
            },
            session,
        })
    }

    /// What fails validation offline fails at once, without a cluster to reach: placing by
    /// the cluster's scopes changes only where objects of kinds Kiln did not know go, never
    /// whether the rest is valid. What the grant refuses offline waits for the cluster, which
    /// may know the kind's scope; warnings wait for the final validation.
    fn refuse_invalid_offline(
        &self,
        app: &App,
        generated: &pipeline::Generated,
        printer: &Printer,
    ) -> anyhow::Result<()> {
        match generated.clone().place(&Default::default()) {
            Ok(rendering) => {
                let memo = self.run.memo_dir();
                let report = pipeline::validate(app, &rendering, memo.as_deref())?;
                if !report.is_valid() {
                    super::validate::gate(app, &rendering, false, &self.run, printer)?;
                }
                Ok(())
            }
            Err(pipeline::Error::NotPermitted(_)) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }
}

/// A runtime for one command.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

/// Run `future` on `runtime`, with Ctrl-C as an error.
fn block_on<T>(
    runtime: &tokio::runtime::Runtime,
    future: impl std::future::Future<Output = Result<T, cluster::Error>>,
) -> anyhow::Result<T> {
    Ok(runtime.block_on(async {
        tokio::select! {
            result = future => result,
            _ = tokio::signal::ctrl_c() => Err(cluster::Error::Interrupted),
        }
    })?)
}

/// Progress lines: one per object with `--show-objects` or `--verbose`. An object's key
/// escapes the names a guest gave it when shown.
pub(super) fn progress(printer: &Printer, each: bool) -> impl Fn(&Event) + Sync + '_ {
    move |event| match event {
        Event::Done(key, outcome) if each => {
            printer.progress(&format!("{key} {}", outcome.describe()));
        }
        Event::Done(key, outcome) => printer.detail(&format!("{key} {}", outcome.describe())),
        Event::Waiting(key, what) => printer.detail(&format!("waiting for {key} to be {what}")),
    }
}

/// Run `kiln apply`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitCode> {
    let app = super::open_app()?;
    let client_dry_run = args.dry_run == Some(DryRun::Client);
    let prepared = args.target.prepare(&app, printer, !args.no_validate, !client_dry_run)?;
    let Some(session) = &prepared.session else {
        for (component, object) in &prepared.objects {
            printer.text(&format!(
                "{} (dry run, component {component})\n",
                crate::manifest::object_ref(object)
            ))?;
        }
        return Ok(ExitCode::SUCCESS);
    };
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
    let report = session.block_on(cluster::apply(
        &session.cluster,
        &prepared.objects,
        &prepared.inventory,
        &options,
        &on_event,
    ))?;
    let suffix = if args.dry_run.is_some() { " (server dry run)" } else { "" };
    printer.note(&format!("applied `{}`: {}{suffix}", args.target.env, report.summary()));
    Ok(ExitCode::SUCCESS)
}
