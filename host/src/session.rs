//! The one door into the library. A command builds one [`Session`] from its arguments (the
//! app, how prototypes run: limits, cache policy, where compiling happens; and where notes go)
//! and makes one call, which returns everything the command prints: the placed objects with
//! their namespace and cluster, the validation report, the outcome of an apply.
//!
//! What a session does is the order of the data flow (see the README's Layout): run the
//! prototypes ([`crate::pipeline::generate`]), place their objects and check each against its
//! package's grant (offline, or with the scopes the cluster's discovery reports), validate, then
//! act on the cluster. Every command that renders goes through here, so the grant and the
//! validation gate are kept in one place. Notes on the way (the compiled-code cache's, the
//! prototypes' logs, findings printed before another command's output) go to the session's
//! [`Reporter`].
//!
//! To add a cluster verb: an operation on [`Connected`] (the objects are placed by what the
//! cluster serves and checked against the grant before it is reachable), a file in `cli/` that
//! parses, calls it and prints, and a variant of `cli::Command`.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

use crate::app::{App, ParamTarget};
use crate::cluster::{self, ApplyOptions, Diff, Event, InventoryRef, Outcome, Report, revision};
use crate::manifest::{self, Object, permissions};
use crate::pipeline::{self, Generated, Prototypes, Rendering};
use crate::prototype::{Environment, Info, ParamSpec, ParamValue, Params};
use crate::registry::{self, Fetched};
use crate::render::{Engine, EngineOptions, Limit, Limits, LogLine, Prototype};
use crate::secrets::{self, Values};
use crate::validate::{self, Finding};

/// Where a session's notes go while it works; what a command returns is its result, not a
/// note. Text from guests reaches a reporter as the guests wrote it: a reporter that shows it
/// on a terminal escapes it (see [`crate::untrusted`]).
pub trait Reporter: Sync {
    /// Something the user should know, shown unless they asked for quiet (the cache's notes).
    fn note(&self, text: &str);
    /// Something shown only when they asked for more (what was loaded, from where).
    fn detail(&self, text: &str);
    /// What a component's prototype logged while it rendered.
    fn logs(&self, component: &str, lines: &[LogLine]);
    /// Something that may be a mistake, shown unless they asked for quiet.
    fn warn(&self, text: &str);
    /// A validation finding, found on the way to another command's output (`show`, `apply`).
    fn finding(&self, finding: &Finding);
}

/// How prototypes run in a session.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Sandbox limits as `NAME=VALUE` (`--limit`), over Kiln's defaults.
    pub limits: Vec<String>,
    /// Compile and validate without reading or writing the cache (compiled code, and what
    /// earlier validations found valid).
    pub no_cache: bool,
    /// The executable that compiles prototypes in a child process, so that the compile
    /// budget's time and memory limits hold (see [`EngineOptions::compile_in`]); `None`
    /// compiles in this process.
    pub compiler: Option<PathBuf>,
}

impl Settings {
    /// Settings that compile in a child process running this executable.
    pub fn compiling_in_child(limits: Vec<String>, no_cache: bool) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().map_err(|e| {
            anyhow::anyhow!("cannot find Kiln's own executable, which compiles prototypes: {e}")
        })?;
        Ok(Settings { limits, no_cache, compiler: Some(exe) })
    }
}

/// Which part of an app a command works on: an environment, and every component of it or only
/// some.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// The environment.
    pub env: String,
    /// Only these components; empty for all.
    pub components: Vec<String>,
}

/// Whether a command refuses output that validation finds errors in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Validate, report every finding, refuse errors.
    Validate,
    /// Skip validation (`--no-validate`): refuse only objects that cannot be placed at all.
    /// The grant is never skipped.
    PlaceOnly,
}

/// How prototypes run for one command: an engine and the limits they run under.
pub struct Runner {
    /// Compiles, caches and instantiates prototypes.
    pub engine: Engine,
    /// What every prototype may use.
    pub limits: Limits,
}

/// One command's way into the library (see the module's docs).
pub struct Session<'r> {
    app: Option<App>,
    settings: Settings,
    reporter: &'r dyn Reporter,
}

impl<'r> Session<'r> {
    /// A session for `app` (none for commands that work outside one, such as previewing a
    /// `.wasm` file).
    pub fn new(app: Option<App>, settings: Settings, reporter: &'r dyn Reporter) -> Self {
        Session { app, settings, reporter }
    }

    /// The session's app.
    pub fn app(&self) -> anyhow::Result<&App> {
        self.app.as_ref().context("this command works on an app, and none was opened")
    }

    /// The limits prototypes run under: the `[limits]` of the app and of its environment `env`
    /// over Kiln's defaults (see [`App::limits`]; only the defaults without an app), then the
    /// settings' (`--limit`) over those.
    pub fn limits(&self, env: Option<&str>) -> anyhow::Result<Limits> {
        let mut limits = match &self.app {
            Some(app) => app.limits(env)?,
            None => Limits::default(),
        };
        for setting in &self.settings.limits {
            limits.apply(setting).map_err(|e| anyhow::anyhow!("invalid `--limit`: {e}"))?;
        }
        Ok(limits)
    }

    /// How prototypes run: an engine for the limits of environment `env` (the app's without
    /// one, see [`Session::limits`]) and this session's cache policy.
    pub fn runner(&self, env: Option<&str>) -> anyhow::Result<Runner> {
        Ok(self.runner_for(self.limits(env)?))
    }

    /// An engine for `limits`.
    fn runner_for(&self, limits: Limits) -> Runner {
        let mut options = EngineOptions {
            max_stack: limits.get_usize(Limit::Stack),
            compile_limits: limits,
            compile_in: self.settings.compiler.clone(),
            ..Default::default()
        };
        if self.settings.no_cache {
            options.cache_dir = None;
        }
        Runner { engine: Engine::new(options), limits }
    }

    /// A runner of its own for environment `env` when its limits differ from `base`'s; `None`
    /// when `base` serves (so `--no-cache` compiles once while the environments agree).
    fn runner_like(&self, base: &Runner, env: &str) -> anyhow::Result<Option<Runner>> {
        let limits = self.limits(Some(env))?;
        Ok((limits != base.limits).then(|| self.runner_for(limits)))
    }

    /// Report the engine's notes about its cache, then drop them.
    pub fn flush_notes(&self, engine: &Engine) {
        for note in engine.take_notes() {
            self.reporter.note(&note);
        }
    }

    /// Where validation results are remembered: beside the compiled code, and nowhere without
    /// the cache.
    fn memo_dir(&self) -> Option<PathBuf> {
        if self.settings.no_cache { None } else { crate::render::Cache::default_dir() }
    }

    /// Run the prototypes of the selection, reporting the engine's notes and the prototypes'
    /// logs; their objects are not placed yet.
    pub fn generate(&self, selection: &Selection) -> anyhow::Result<Generated> {
        let app = self.app()?;
        let runner = self.runner(Some(&selection.env))?;
        let generated = pipeline::generate(
            app,
            &selection.env,
            &selection.components,
            &runner.engine,
            runner.limits,
        );
        self.flush_notes(&runner.engine);
        let generated = generated?;
        for (component, lines) in generated.logs() {
            self.reporter.logs(component, lines);
        }
        Ok(generated)
    }

    /// Render the selection, placing its objects with what Kiln knows offline (see
    /// [`Generated::place`]).
    pub fn render(&self, selection: &Selection) -> anyhow::Result<Rendering> {
        Ok(self.generate(selection)?.place(&BTreeMap::new())?)
    }

    /// `kiln validate`: render the selection and check it offline, every finding in the report.
    pub fn validate(&self, selection: &Selection) -> anyhow::Result<validate::Report> {
        let rendering = self.render(selection)?;
        Ok(pipeline::validate(self.app()?, &rendering, self.memo_dir().as_deref())?)
    }

    /// `kiln show` (and `apply --dry-run=client`): the selection's objects as they would be
    /// applied, through the validation `gate`, secrets masked unless `reveal` (which reads
    /// their values, see [`Session::secret_values`]).
    pub fn show(
        &self,
        selection: &Selection,
        gate: Gate,
        reveal: bool,
    ) -> anyhow::Result<Rendering> {
        let mut rendering = self.render(selection)?;
        self.gate(&rendering, gate)?;
        if reveal && !rendering.placed.is_empty() {
            let values = self.secret_values(&rendering.environment, &rendering.placed)?;
            let objects =
                rendering.objects.iter_mut().map(|o| (o.component.as_str(), &mut o.value));
            secrets::reveal(objects, &rendering.placed, &values);
        }
        Ok(rendering)
    }

    /// The values of the secrets `placed` in environment `env`: decrypted with the user's
    /// identity, or read from the process environment or files, as each secret says.
    pub fn secret_values(&self, env: &str, placed: &secrets::Placed) -> anyhow::Result<Values> {
        Ok(secrets::store::values(self.app()?.dir(), env, placed.names())?)
    }

    /// What a command does before it goes on with a rendering: validate, report every finding
    /// and refuse errors; or, with [`Gate::PlaceOnly`], refuse only what could not be placed.
    fn gate(&self, rendering: &Rendering, gate: Gate) -> anyhow::Result<()> {
        if gate == Gate::PlaceOnly {
            rendering.check_placed()?;
            return Ok(());
        }
        let report = pipeline::validate(self.app()?, rendering, self.memo_dir().as_deref())?;
        for finding in &report.findings {
            self.reporter.finding(finding);
        }
        if report.is_valid() {
            return Ok(());
        }
        Err(validate::Error::Invalid {
            environment: rendering.environment.clone(),
            summary: report.summary(),
            flag: "--no-validate",
        }
        .into())
    }

    /// Render the selection and connect to its environment's cluster (or the kubeconfig
    /// `context` given instead), then place the objects by the scope the cluster's discovery
    /// reports for each kind, so each object's grant is checked against where it will really
    /// land before anything is sent. With [`Gate::Validate`], output that does not validate is
    /// refused, and what Kiln can tell offline is refused before the cluster is contacted.
    ///
    /// With `reveal` (apply, diff), the values of the secrets the objects hold are read before
    /// anything else, so a secret that cannot be read stops the command before the cluster is
    /// touched; the objects keep their masks, and only what is sent carries values.
    pub fn connect(
        &self,
        selection: &Selection,
        gate: Gate,
        context: Option<String>,
        reveal: bool,
    ) -> anyhow::Result<Connected> {
        let app = self.app()?;
        let generated = self.generate(selection)?;
        if gate == Gate::Validate {
            self.refuse_invalid_offline(&generated)?;
        }
        let destination = generated.destination().clone();
        let kinds = generated.kinds();
        let attached = Attached::open(
            InventoryRef {
                app: app.name().into(),
                environment: selection.env.clone(),
                namespace: destination.namespace,
            },
            cluster::Target {
                context: context.or(destination.context),
                server: destination.server,
            },
        )?;
        let discovered = block_on(&attached.runtime, attached.cluster.scopes(&kinds))?;
        let rendering = generated.place(&discovered)?;
        self.gate(&rendering, gate)?;
        let values = match reveal && !rendering.placed.is_empty() {
            true => self.secret_values(&selection.env, &rendering.placed)?,
            false => Values::new(),
        };
        let record = revision::Record {
            packages: packages(app)?,
            params_hash: params_hash(&rendering),
            rollback_of: None,
        };
        Ok(Connected {
            objects: rendering.objects.into_iter().map(|o| (o.component, o.value)).collect(),
            components: selection.components.clone(),
            record,
            attached,
            placed: rendering.placed,
            values,
        })
    }

    /// Connect to the cluster of environment `env` (or the kubeconfig `context` given instead)
    /// without rendering it: what works from the cluster alone (`history`, `rollback`).
    pub fn attach(&self, env: &str, context: Option<String>) -> anyhow::Result<Attached> {
        let app = self.app()?;
        let file = app.environment(env)?;
        let inventory = InventoryRef {
            app: app.name().into(),
            environment: env.into(),
            namespace: file.namespace,
        };
        let target = cluster::Target { context: context.or(file.context), server: file.server };
        Attached::open(inventory, target)
    }

    /// What fails validation offline fails at once, without a cluster to reach: placing by
    /// the cluster's scopes changes only where objects of kinds Kiln did not know go, never
    /// whether the rest is valid. What the grant refuses offline waits for the cluster, which
    /// may know the kind's scope; warnings wait for the final validation.
    fn refuse_invalid_offline(&self, generated: &Generated) -> anyhow::Result<()> {
        match generated.clone().place(&BTreeMap::new()) {
            Ok(rendering) => {
                let memo = self.memo_dir();
                let report = pipeline::validate(self.app()?, &rendering, memo.as_deref())?;
                if !report.is_valid() {
                    self.gate(&rendering, Gate::Validate)?;
                }
                Ok(())
            }
            Err(pipeline::Error::NotPermitted(_)) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }

    /// The prototype a command names: a `.wasm` file, or an installed prototype of the app
    /// (full or unambiguous short name), loaded with this session's engine and described.
    pub fn load_prototype(&self, target: &str) -> anyhow::Result<Loaded> {
        let runner = self.runner(None)?;
        let (label, wasm, grant) = self.read_prototype(target)?;
        let started = std::time::Instant::now();
        let mut prototype = runner
            .engine
            .load(&label, &wasm)
            .with_context(|| format!("cannot load prototype `{target}`"))?;
        self.reporter.detail(&format!(
            "loaded {target} ({}, {:?} {:?} code) in {:.1?}",
            prototype.digest(),
            prototype.code_source(),
            prototype.tier(),
            started.elapsed()
        ));
        self.flush_notes(&runner.engine);
        let info = prototype.describe(&runner.limits)?;
        Ok(Loaded { prototype, info, limits: runner.limits, grant })
    }

    /// Read the prototype `target` names: the label for messages, the verified wasm and, for
    /// an installed one, its package's grant.
    fn read_prototype(
        &self,
        target: &str,
    ) -> anyhow::Result<(String, Vec<u8>, Option<permissions::Grant>)> {
        let path = Path::new(target);
        if is_file_target(target) {
            let label =
                path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            return Ok((label, fs_err::read(path)?, None));
        }
        let app = self.app.as_ref().with_context(|| {
            format!(
                "`{target}` is not a .wasm file, and installed prototypes are looked up in an app"
            )
        })?;
        let installed = app.find_prototype(target)?;
        let (wasm, granted) = app.read_prototype(&installed)?;
        let grant = permissions::Grant { package: installed.package_reference(), granted };
        Ok((installed.reference(), wasm, Some(grant)))
    }

    /// `kiln prototype preview`: render `loaded` as `component` with `params` in a preview
    /// environment with `namespace`, reporting its logs. The objects hold to the rules of a
    /// render (what a preview prints may be piped into kubectl), and an installed prototype's
    /// to its package's grant.
    pub fn preview(
        &self,
        loaded: &Loaded,
        component: &str,
        params: &Params,
        namespace: &str,
    ) -> anyhow::Result<Vec<Object>> {
        let env = Environment::preview(namespace);
        // Secrets by name only: a preview reads no value, and prints masks where they go.
        let (given, references) = secrets::References::mint(params);
        let rendered =
            loaded.prototype.generate(&loaded.info, component, &given, &env, &loaded.limits)?;
        self.reporter.logs(component, &rendered.logs);
        let manifest::Processed { mut objects, problems } =
            manifest::admit(component, rendered.objects);
        if let Some(problem) = problems.into_iter().next() {
            return Err(pipeline::Error::Manifest(problem).into());
        }
        let references = BTreeMap::from([(component.to_string(), references)]);
        secrets::seal(&mut objects, &references).map_err(pipeline::Error::from)?;
        if let Some(grant) = &loaded.grant {
            let grants = BTreeMap::from([(component.to_string(), grant.clone())]);
            let violations = permissions::check(&objects, namespace, &grants);
            if !violations.is_empty() {
                return Err(pipeline::Error::NotPermitted(violations).into());
            }
        }
        Ok(objects)
    }

    /// The app's prototypes, loaded with `runner` each once however many components use it.
    pub fn prototypes<'a>(&'a self, runner: &'a Runner) -> anyhow::Result<Prototypes<'a>> {
        Ok(Prototypes::new(self.app()?, &runner.engine, runner.limits))
    }
}

impl Session<'_> {
    /// `kiln generate`'s first step: the prototype a new component would use (an installed
    /// one, checked against the lock, or a `.wasm` file inside the app), loaded and described,
    /// with the reference its component file will hold.
    pub fn component_prototype(&self, target: &str) -> anyhow::Result<(String, Loaded)> {
        let app = self.app()?;
        let reference = if target.ends_with(".wasm") {
            app_relative(app.dir().root(), target)?
        } else {
            app.find_prototype(target)?.reference()
        };
        let runner = self.runner(None)?;
        let loaded =
            Prototypes::new(app, &runner.engine, runner.limits).load(None, &reference)?.clone();
        self.flush_notes(&runner.engine);
        let pipeline::Loaded { prototype, info, grant } = loaded;
        Ok((reference, Loaded { prototype, info, limits: runner.limits, grant }))
    }

    /// `kiln generate`: add `component`, an instance of the prototype `reference` names with
    /// `params`, after rendering it once in the default environment's namespace (the params
    /// are checked by the prototype itself before anything is written).
    pub fn add_component(
        &self,
        reference: &str,
        loaded: &Loaded,
        component: &str,
        params: &Params,
    ) -> anyhow::Result<()> {
        let app = self.app()?;
        crate::app::check_component_name(component)?;
        let env = match app.default_environment().map(|e| app.environment(e)) {
            Some(Ok(env)) => Environment::preview(&env.namespace),
            _ => Environment::preview("default"),
        };
        let (given, _) = secrets::References::mint(params);
        loaded
            .prototype
            .generate(&loaded.info, component, &given, &env, &loaded.limits)
            .with_context(|| format!("cannot generate component `{component}`"))?;
        app.add_component(component, reference, params)?;
        Ok(())
    }

    /// The app's installed prototypes, each with its description.
    pub fn installed_prototypes(&self) -> anyhow::Result<Vec<(String, Info)>> {
        let app = self.app()?;
        let runner = self.runner(None)?;
        let mut prototypes = Prototypes::new(app, &runner.engine, runner.limits);
        let mut found = Vec::new();
        for installed in app.installed_prototypes()? {
            let reference = installed.reference();
            let info = prototypes.load(None, &reference)?.info.clone();
            found.push((reference, info));
        }
        Ok(found)
    }

    /// `kiln param set`: set `key` to `text` at `target`, typed by the prototype that declares
    /// it (a string, with a warning, when none does). The components and environments the
    /// change affects are rendered with it first: a value a prototype rejects is not written.
    pub fn set_param(&self, target: ParamTarget<'_>, key: &str, text: &str) -> anyhow::Result<()> {
        let app = self.app()?;
        let env = match target {
            ParamTarget::EnvComponent { env, .. } | ParamTarget::EnvGlobal(env) => Some(env),
            ParamTarget::Component(_) => None,
        };
        let runner = self.runner(env)?;
        let mut prototypes = Prototypes::new(app, &runner.engine, runner.limits);
        let component = match target {
            ParamTarget::Component(c) | ParamTarget::EnvComponent { component: c, .. } => Some(c),
            ParamTarget::EnvGlobal(_) => None,
        };
        let value = match param_spec(app, &mut prototypes, component, key)? {
            Some(spec) => spec.parse(text)?,
            None => {
                self.reporter.warn(&format!("no prototype declares `{key}`; stored as a string"));
                ParamValue::String(text.to_string())
            }
        };
        let change = app.param_change(target, key, &value)?;
        let changed = app.with_change(&change)?;
        for (env, selection) in affected(app, target)? {
            // Each environment renders under its own limits.
            let own = self.runner_like(&runner, &env)?;
            let runner = own.as_ref().unwrap_or(&runner);
            let generated =
                pipeline::generate(&changed, &env, &selection, &runner.engine, runner.limits);
            self.flush_notes(&runner.engine);
            generated.with_context(|| {
                format!("`{key}` was not set: the prototype refuses it in environment `{env}`")
            })?;
        }
        app.write_change(&change)?;
        Ok(())
    }

    /// `kiln param diff`: every param of a component whose value differs between
    /// environments `a` and `b`, by component and param.
    pub fn compare_params(&self, a: &str, b: &str) -> anyhow::Result<Vec<ParamDifference>> {
        // Each environment's prototypes run under its own limits: the second's load again only
        // when they differ.
        let runner = self.runner(Some(a))?;
        let other = self.runner_like(&runner, b)?;
        let values = |prototypes: &mut Prototypes,
                      env: &str|
         -> anyhow::Result<BTreeMap<(String, String), String>> {
            let (_, components) = pipeline::resolve_all(prototypes, env)?;
            Ok(components
                .into_iter()
                .flat_map(|c| {
                    let name = c.name.clone();
                    crate::app::param_values(&c.params)
                        .into_iter()
                        .map(move |(k, v)| ((name.clone(), k), v.to_string()))
                })
                .collect())
        };
        let mut prototypes = self.prototypes(&runner)?;
        let a = values(&mut prototypes, a)?;
        let b = match &other {
            None => values(&mut prototypes, b)?,
            Some(other) => values(&mut self.prototypes(other)?, b)?,
        };
        let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).collect();
        Ok(keys
            .into_iter()
            .filter(|k| a.get(*k) != b.get(*k))
            .map(|k| ParamDifference {
                component: k.0.clone(),
                param: k.1.clone(),
                a: a.get(k).cloned(),
                b: b.get(k).cloned(),
            })
            .collect())
    }

    /// Check that the prototypes of a package fetched for `pkg install` or `pkg update` are
    /// what its manifest says, compiling each into optimised code in the compiled-code cache
    /// on the way, so that renders find it ready (see [`crate::render::Tier`]). A prototype
    /// that cannot be compiled within the compile budget, or described within the limits,
    /// cannot be checked: the package is refused, naming the limit.
    pub fn check_package(&self, runner: &Runner, fetched: &Fetched) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let checked = registry::check_prototypes(fetched, &runner.engine, &runner.limits);
        self.flush_notes(&runner.engine);
        let compiled = checked?;
        if compiled > 0 {
            self.reporter.detail(&format!(
                "compiled {compiled} prototype(s) of {} into optimised code in {:.1?}",
                fetched.reference(),
                started.elapsed()
            ));
        }
        Ok(())
    }

    /// `kiln secret set`: store secret `name` of environment `env` (see [`secrets::store`]).
    pub fn set_secret(
        &self,
        env: &str,
        name: &str,
        input: secrets::store::Input,
    ) -> anyhow::Result<()> {
        let app = self.app()?;
        app.environment(env)?;
        let mut file = secrets::store::read(app.dir(), env)?;
        secrets::store::set(&mut file, env, name, input)?;
        Ok(secrets::store::write(app.dir(), env, &file)?)
    }

    /// `kiln secret rm`: forget secret `name` of environment `env`; whether it was there. A
    /// param that still names it is a warning: the environment no longer renders until the
    /// secret is set again or the param changes.
    pub fn remove_secret(&self, env: &str, name: &str) -> anyhow::Result<bool> {
        let app = self.app()?;
        let env_file = app.environment(env)?;
        let mut file = secrets::store::read(app.dir(), env)?;
        if file.secrets.remove(name).is_none() {
            return Ok(false);
        }
        secrets::store::write(app.dir(), env, &file)?;
        let names_it =
            |raw: &crate::app::RawParam| raw.value == serde_json::json!({ "secret": name });
        let mut origins: Vec<&str> = env_file
            .params
            .values()
            .chain(env_file.components.values().flat_map(|params| params.values()))
            .filter(|raw| names_it(raw))
            .map(|raw| raw.origin.as_str())
            .collect();
        let components: Vec<_> =
            app.components()?.iter().map(|c| app.component(c)).collect::<Result<_, _>>()?;
        origins.extend(
            components
                .iter()
                .flat_map(|c| c.params.values())
                .filter(|raw| names_it(raw))
                .map(|raw| raw.origin.as_str()),
        );
        if !origins.is_empty() {
            self.reporter.warn(&format!(
                "secret `{name}` is still named at {}: environment `{env}` does not render until \
                 it is set again or those params change",
                origins.join(", ")
            ));
        }
        Ok(true)
    }

    /// `kiln secret list`: environment `env`'s recipients and secrets, never a value.
    pub fn secrets(&self, env: &str) -> anyhow::Result<(Vec<String>, Vec<secrets::store::Listed>)> {
        let app = self.app()?;
        app.environment(env)?;
        let file = secrets::store::read(app.dir(), env)?;
        Ok((file.recipients.clone(), secrets::store::list(&file)))
    }

    /// `kiln secret recipient add/rm`: change environment `env`'s recipients by `change`,
    /// re-encrypting its encrypted secrets to the new list; how many were re-encrypted, `None`
    /// when the list was already so.
    pub fn change_recipients(
        &self,
        env: &str,
        change: impl FnOnce(&mut Vec<String>),
    ) -> anyhow::Result<Option<usize>> {
        let app = self.app()?;
        app.environment(env)?;
        let mut file = secrets::store::read(app.dir(), env)?;
        let mut recipients = file.recipients.clone();
        change(&mut recipients);
        if recipients == file.recipients {
            return Ok(None);
        }
        let count = secrets::store::set_recipients(&mut file, env, recipients)?;
        secrets::store::write(app.dir(), env, &file)?;
        Ok(Some(count))
    }
}

/// The spec of `key`: from the component's prototype, or for an environment-wide param from
/// any component's or installed prototype that declares it.
fn param_spec(
    app: &App,
    prototypes: &mut Prototypes,
    component: Option<&str>,
    key: &str,
) -> anyhow::Result<Option<ParamSpec>> {
    if let Some(component) = component {
        let file = app.component(component)?;
        let info = &prototypes.load(Some(component), &file.prototype)?.info;
        return Ok(Some(info.param(key).cloned().ok_or_else(|| info.unknown_param(key))?));
    }
    let mut references: Vec<String> = Vec::new();
    for name in app.components()? {
        references.push(app.component(&name)?.prototype);
    }
    references.extend(app.installed_prototypes()?.iter().map(|p| p.reference()));
    for reference in references {
        if let Some(spec) = prototypes.load(None, &reference)?.info.param(key) {
            return Ok(Some(spec.clone()));
        }
    }
    Ok(None)
}

/// What a change of a param at `target` may change: (environment, components to render; all
/// when empty).
fn affected(app: &App, target: ParamTarget) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    Ok(match target {
        ParamTarget::Component(c) => {
            app.environments()?.into_iter().map(|env| (env, vec![c.to_string()])).collect()
        }
        ParamTarget::EnvComponent { env, component } => {
            vec![(env.to_string(), vec![component.to_string()])]
        }
        ParamTarget::EnvGlobal(env) => vec![(env.to_string(), Vec::new())],
    })
}

/// The path of `file` relative to the app's root; it must be inside the app.
fn app_relative(root: &Path, file: &str) -> anyhow::Result<String> {
    let file = fs_err::canonicalize(file)?;
    let root = fs_err::canonicalize(root)?;
    let relative = file.strip_prefix(&root).map_err(|_| {
        anyhow::anyhow!(
            "{} is outside the app; copy the prototype into the app (e.g. prototypes/) first",
            file.display()
        )
    })?;
    Ok(relative.to_string_lossy().into_owned())
}

/// A param whose value differs between two environments (see [`Session::compare_params`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamDifference {
    /// The component.
    pub component: String,
    /// The param.
    pub param: String,
    /// Its value in the first environment, if set there.
    pub a: Option<String>,
    /// Its value in the second.
    pub b: Option<String>,
}

/// Whether a command's prototype argument names a file rather than an installed prototype.
pub fn is_file_target(target: &str) -> bool {
    target.ends_with(".wasm") || target.contains('/') && Path::new(target).is_file()
}

/// A prototype loaded by [`Session::load_prototype`], with its description.
pub struct Loaded {
    /// Ready to run.
    pub prototype: Prototype,
    /// Its description.
    pub info: Info,
    /// The limits it runs under.
    pub limits: Limits,
    /// What its package was granted; `None` for a `.wasm` file, which is the user's own.
    pub grant: Option<permissions::Grant>,
}

/// An environment's cluster, connected: where its inventory and revisions live.
pub struct Attached {
    /// Where the environment's inventory lives (and its revisions: the same namespace).
    pub inventory: InventoryRef,
    /// The cluster, as the environment (or the command line) names it.
    pub target: cluster::Target,
    /// The client's tasks run on this runtime, so the two go together.
    runtime: tokio::runtime::Runtime,
    cluster: cluster::Cluster,
}

impl Attached {
    /// Connect to `target`, where `inventory` lives.
    fn open(inventory: InventoryRef, target: cluster::Target) -> anyhow::Result<Attached> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the runtime the cluster client runs on")?;
        let cluster = block_on(&runtime, cluster::Cluster::connect(&target))?;
        Ok(Attached { inventory, target, runtime, cluster })
    }

    /// `kiln history`: the environment's revisions, newest first.
    pub fn history(&self) -> anyhow::Result<Vec<revision::Meta>> {
        block_on(&self.runtime, revision::list(&self.cluster, &self.inventory))
    }

    /// `kiln rollback`: apply revision `number` (by default the one before the newest) as it
    /// was, prune what it did not have, and record a new revision that says it rolled back to
    /// `number`, keeping the newest `history_max`. Needs nothing but the cluster. With a dry
    /// run, the server says what would change and nothing is recorded.
    pub fn rollback(
        &self,
        number: Option<u64>,
        options: &ApplyOptions,
        history_max: usize,
        on_event: &(dyn Fn(&Event) + Sync),
    ) -> anyhow::Result<RolledBack> {
        let number = match number {
            Some(number) => number,
            None => {
                let history = self.history()?;
                match history.get(1) {
                    Some(previous) => previous.number,
                    None => anyhow::bail!(
                        "environment `{}` has {} revision(s) in its cluster: nothing to roll back \
                         to",
                        self.inventory.environment,
                        history.len()
                    ),
                }
            }
        };
        let target =
            block_on(&self.runtime, revision::read(&self.cluster, &self.inventory, number))?;
        let mut objects: Vec<(String, Value)> =
            target.objects.iter().map(|a| (a.component.clone(), a.object.clone())).collect();
        // Revisions keep masks, not secret values: the live Secrets give them back.
        block_on(&self.runtime, cluster::fill_from_live(&self.cluster, &mut objects, true))?;
        let options = ApplyOptions { prune: true, components: Vec::new(), ..options.clone() };
        let record = revision::Record {
            packages: target.meta.packages.clone(),
            params_hash: target.meta.params_hash.clone(),
            rollback_of: Some(number),
        };
        let work = async {
            let report =
                cluster::apply(&self.cluster, &objects, &self.inventory, &options, on_event)
                    .await?;
            let recorded = match options.dry_run {
                Some(_) => None,
                None => {
                    let changes = revision::Changes::of(&report);
                    let (cluster, env) = (&self.cluster, &self.inventory);
                    let applied = &target.objects;
                    let recorded =
                        revision::record(cluster, env, record, changes, applied, history_max)
                            .await?;
                    revision_number(recorded, on_event)
                }
            };
            Ok((report, recorded))
        };
        let (report, recorded) = match options.dry_run {
            Some(_) => block_on(&self.runtime, work)?,
            None => self.locked("rollback", on_event, work)?,
        };
        Ok(RolledBack { to: number, report, recorded })
    }

    /// Run `work`, which changes the environment (`operation`: apply, delete, rollback),
    /// holding the environment's lease: taken before (failing at once, naming the holder, when
    /// another command holds it), renewed while `work` runs, given back after, also when `work`
    /// fails or Ctrl-C stops it. `work` is stopped if the lease is lost meanwhile (see
    /// [`cluster::LeaseGuard`]). A release that fails is a warning: the lease then expires
    /// [`cluster::LEASE_DURATION`] after its last renewal.
    pub fn locked<T>(
        &self,
        operation: &str,
        on_event: &(dyn Fn(&Event) + Sync),
        work: impl Future<Output = Result<T, cluster::Error>>,
    ) -> anyhow::Result<T> {
        let lease = cluster::LeaseRef::from(&self.inventory);
        let holder = cluster::Holder::this_process(self.cluster.kubeconfig_user());
        let guard =
            block_on(&self.runtime, lease.acquire(&self.cluster, &holder, operation, on_event))?;
        let result = block_on(&self.runtime, async {
            tokio::select! {
                result = work => result,
                lost = guard.lost() => Err(lost),
            }
        });
        // The timer must be made inside the runtime.
        let released = self.runtime.block_on(async {
            tokio::time::timeout(RELEASE_TIMEOUT, guard.release(&self.cluster)).await
        });
        let problem = match released {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!("no answer in {} s", RELEASE_TIMEOUT.as_secs())),
        };
        if let Some(problem) = problem {
            on_event(&Event::Warning(format!(
                "cannot release the lease of `{}` ({problem}); it expires {} s after its last \
                 renewal, or break it with `{}`",
                self.inventory.environment,
                cluster::LEASE_DURATION.as_secs(),
                lease.break_command()
            )));
        }
        result
    }

    /// Whether the environment's namespace exists.
    fn namespace_state(&self) -> anyhow::Result<cluster::NamespaceState> {
        block_on(&self.runtime, cluster::namespace_state(&self.cluster, &self.inventory.namespace))
    }
}

/// How long giving a lease back may take (after Ctrl-C, too) before Kiln leaves it to expire.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a rollback did.
pub struct RolledBack {
    /// The revision rolled back to.
    pub to: u64,
    /// What happened to each object.
    pub report: Report,
    /// The revision that records the rollback; `None` after a dry run.
    pub recorded: Option<u64>,
}

/// What an apply did.
pub struct Applied {
    /// What happened to each object.
    pub report: Report,
    /// The revision that records it; `None` when nothing changed, or after a dry run.
    pub revision: Option<u64>,
}

/// A rendering placed for its cluster and connected to it: what `apply`, `diff` and `delete`
/// act on.
pub struct Connected {
    /// The objects, in apply order, each with its component.
    pub objects: Vec<(String, Value)>,
    /// The components selected (empty: all), which bounds what prune and delete may touch.
    pub components: Vec<String>,
    /// What a revision of this rendering records besides its objects.
    record: revision::Record,
    /// The cluster.
    pub attached: Attached,
    /// The secrets each component placed (masked in `objects`), and their values when the
    /// command reveals them.
    placed: secrets::Placed,
    values: Values,
}

impl Connected {
    /// The objects as they are sent: each placed secret's value instead of its mask. Fails
    /// rather than send a mask when the values were not read (`connect` without `reveal`).
    fn revealed(&self) -> anyhow::Result<std::borrow::Cow<'_, [(String, Value)]>> {
        if self.placed.is_empty() {
            return Ok(std::borrow::Cow::Borrowed(&self.objects));
        }
        if let Some(name) = self.placed.names().into_iter().find(|n| !self.values.contains_key(*n))
        {
            anyhow::bail!("internal error: secret `{name}` was not read before sending its Secret");
        }
        let mut objects = self.objects.clone();
        let pairs = objects.iter_mut().map(|(component, object)| (component.as_str(), object));
        secrets::reveal(pairs, &self.placed, &self.values);
        Ok(std::borrow::Cow::Owned(objects))
    }

    /// Server-side apply the objects (see [`cluster::apply`]); the components are the
    /// selection's. An apply that changes something records a revision of the environment
    /// (see [`revision`]), keeping the newest `history_max`; a partial one (some components)
    /// records the others' objects as the newest revision had them.
    ///
    /// The environment's namespace is created first if it does not exist (labelled as Kiln's
    /// for the app and environment), then the apply and its revision run holding the
    /// environment's lease (see [`Attached::locked`]). A server dry run changes nothing, so it
    /// takes no lease, creates no namespace and records nothing: the server checks that it
    /// could create a missing namespace, and the objects, which it cannot check in a namespace
    /// that does not exist, are reported skipped.
    pub fn apply(
        &self,
        options: &ApplyOptions,
        history_max: usize,
        on_event: &(dyn Fn(&Event) + Sync),
    ) -> anyhow::Result<Applied> {
        let options = ApplyOptions { components: self.components.clone(), ..options.clone() };
        let dry_run = options.dry_run.is_some();
        let Attached { runtime, cluster, inventory, .. } = &self.attached;
        let namespace = &inventory.namespace;
        if self.attached.namespace_state()? == cluster::NamespaceState::Missing {
            let created =
                block_on(runtime, cluster::create_namespace(cluster, inventory, dry_run))?;
            if dry_run {
                on_event(&Event::Note(format!(
                    "namespace `{namespace}` does not exist: an apply would create it (server dry \
                     run: not created, and the objects were not checked)"
                )));
                let why = format!("namespace `{namespace}` does not exist yet");
                let results = self
                    .objects
                    .iter()
                    .map(|(c, v)| (cluster::ObjectKey::of(v, c), Outcome::Skipped(why.clone())))
                    .collect();
                return Ok(Applied { report: Report { results }, revision: None });
            }
            if created {
                on_event(&Event::Note(format!("created namespace `{namespace}`")));
            }
        }
        let sent = self.revealed()?;
        let work = async {
            let report = cluster::apply(cluster, &sent, inventory, &options, on_event).await?;
            let changes = revision::Changes::of(&report);
            if dry_run || !changes.any() {
                return Ok((report, None));
            }
            let mut objects = Vec::new();
            if !self.components.is_empty()
                && let Some(newest) = revision::list(cluster, inventory).await?.first()
            {
                let newest = revision::read(cluster, inventory, newest.number).await?;
                objects.extend(
                    newest.objects.into_iter().filter(|a| !self.components.contains(&a.component)),
                );
            }
            objects.extend(self.objects.iter().map(|(component, object)| revision::Applied {
                component: component.clone(),
                object: object.clone(),
            }));
            let record = self.record.clone();
            let recorded =
                revision::record(cluster, inventory, record, changes, &objects, history_max)
                    .await?;
            Ok((report, revision_number(recorded, on_event)))
        };
        let (report, revision) = if dry_run {
            block_on(runtime, work)?
        } else {
            self.attached.locked("apply", on_event, work)?
        };
        Ok(Applied { report, revision })
    }

    /// What an apply would change, from a server-side dry run (see [`cluster::diff`]).
    pub fn diff(&self, force_conflicts: bool) -> anyhow::Result<Vec<Diff>> {
        let Attached { runtime, cluster, .. } = &self.attached;
        block_on(runtime, cluster::diff(cluster, &self.revealed()?, force_conflicts))
    }

    /// `kiln status`: where each of the environment's objects stands in the cluster (see
    /// [`cluster::status`]), in apply order.
    pub fn status(&self) -> anyhow::Result<Vec<cluster::ObjectStatus>> {
        let expected = self.expected()?;
        let Attached { runtime, cluster, inventory, .. } = &self.attached;
        block_on(runtime, cluster::status(cluster, &expected, inventory, STATUS_CONCURRENCY))
    }

    /// The objects the environment should have in its cluster, which `status` looks for: those
    /// of its current revision (the newest: what Kiln last applied), of the selected
    /// components; the render when the cluster has no revision yet.
    fn expected(&self) -> anyhow::Result<Vec<(String, Value)>> {
        let Some(newest) = self.attached.history()?.into_iter().next() else {
            return Ok(self.objects.clone());
        };
        let Attached { runtime, cluster, inventory, .. } = &self.attached;
        let current = block_on(runtime, revision::read(cluster, inventory, newest.number))?;
        let mut objects: Vec<(String, Value)> = current
            .objects
            .into_iter()
            .filter(|a| self.components.is_empty() || self.components.contains(&a.component))
            .map(|a| (a.component, a.object))
            .collect();
        // A secret the live Secret no longer holds stays masked, and so shows as changed.
        block_on(runtime, cluster::fill_from_live(cluster, &mut objects, false))?;
        Ok(objects)
    }

    /// Delete the objects, Kiln's only, waiting up to `wait` until they are gone (see
    /// [`cluster::delete`]), holding the environment's lease; then, with `delete_namespace`,
    /// the environment's namespace if Kiln created it for this app and environment.
    pub fn delete(
        &self,
        wait: Option<Duration>,
        delete_namespace: bool,
        on_event: &(dyn Fn(&Event) + Sync),
    ) -> anyhow::Result<Report> {
        let work = async {
            let report = cluster::delete(
                &self.attached.cluster,
                &self.objects,
                &self.attached.inventory,
                &self.components,
                wait,
                on_event,
            )
            .await?;
            if delete_namespace {
                let namespace = &self.attached.inventory.namespace;
                let (app, env) =
                    (&self.attached.inventory.app, &self.attached.inventory.environment);
                match cluster::delete_namespace(&self.attached.cluster, &self.attached.inventory)
                    .await?
                {
                    cluster::NamespaceDeleted::Deleted => {
                        on_event(&Event::Note(format!("deleted namespace `{namespace}`")));
                    }
                    cluster::NamespaceDeleted::NotKilns => on_event(&Event::Warning(format!(
                        "kept namespace `{namespace}`: Kiln did not create it for app `{app}`, \
                         environment `{env}` (it lacks their labels)"
                    ))),
                    cluster::NamespaceDeleted::Absent => {}
                }
            }
            Ok(report)
        };
        // No namespace, no lease (it would live there), and nothing in it to guard.
        if self.attached.namespace_state()? == cluster::NamespaceState::Missing {
            return block_on(&self.attached.runtime, work);
        }
        self.attached.locked("delete", on_event, work)
    }
}

/// The number of a revision recorded, or a warning that none could be.
fn revision_number(
    recorded: revision::Recorded,
    on_event: &(dyn Fn(&Event) + Sync),
) -> Option<u64> {
    match recorded {
        revision::Recorded::Number(number) => Some(number),
        revision::Recorded::Forbidden(message) => {
            on_event(&Event::Warning(format!(
                "no revision recorded: the cluster does not let this identity keep revisions \
                 ({message}); grant it `get`, `list`, `create` and `delete` on Secrets in the \
                 namespace for `kiln history` and `kiln rollback`"
            )));
            None
        }
    }
}

/// The packages of `app`'s lock as a revision records them.
fn packages(app: &App) -> anyhow::Result<BTreeMap<String, revision::PackageRecord>> {
    Ok(app
        .installed_packages()?
        .into_iter()
        .map(|p| {
            let files = serde_json::to_vec(&p.files).expect("a map of strings serializes");
            let record = revision::PackageRecord {
                version: p.version.clone(),
                digest: crate::checked::digest(&files),
            };
            (p.reference(), record)
        })
        .collect())
}

/// A digest of every rendered component's params.
fn params_hash(rendering: &Rendering) -> String {
    let all: serde_json::Map<String, Value> = rendering
        .components
        .iter()
        .map(|(component, _, params)| {
            let params: serde_json::Map<String, Value> =
                params.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
            (component.clone(), Value::Object(params))
        })
        .collect();
    crate::checked::digest(Value::Object(all).to_string().as_bytes())
}

/// Objects `status` looks at at once.
const STATUS_CONCURRENCY: usize = 8;

/// Run `future` on `runtime`, with Ctrl-C as an error.
fn block_on<T>(
    runtime: &tokio::runtime::Runtime,
    future: impl Future<Output = Result<T, cluster::Error>>,
) -> anyhow::Result<T> {
    Ok(runtime.block_on(async {
        tokio::select! {
            result = future => result,
            _ = tokio::signal::ctrl_c() => Err(cluster::Error::Interrupted),
        }
    })?)
}
