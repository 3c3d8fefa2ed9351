//! Loading prototypes (compile or cached code, import checks, pre-linking) and calling them in a
//! fresh, limited store per call. This is where `wasmtime::Error` becomes a [`render::Error`].
//!
//! [`render::Error`]: super::Error

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Instance, InstancePre, Linker};
use wasmtime::{CallHook, Store, StoreContextMut, Trap};

use super::Error;
use super::bindings::{self, PrototypePre, WIT_PACKAGE, WIT_VERSION, WORLD_IMPORTS};
use super::cache::{Cache, Key, Lookup};
use super::compat;
use super::limits::{Limit, Limits};
use super::sandbox::{Host, LimitExceeded, LogLine, import_denied, no_sleeping};
use crate::checked::Checked;
use crate::prototype::{self, Environment, Info, Params};

/// How the process-wide engine is set up.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Where compiled code is cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// Bytes of Wasm stack a call may use (an engine-wide setting in wasmtime).
    pub max_stack: usize,
    /// The limits every compile is held to: their `compile-*` values (the others bound calls,
    /// and are given with each call).
    pub compile_limits: Limits,
    /// The `kiln` executable to compile in. Each compile then runs in a child process
    /// (`kiln __compile`), killed at the `compile-time-ms` limit and given no more memory than
    /// the `compile-memory` limit: neither can be enforced on a compile inside this process.
    /// `None` compiles here, held to the shape limits only (`compile-functions`,
    /// `compile-code-bytes`, `compile-locals`, `compile-nesting`): for library users and tests,
    /// which have no `kiln` to run. The CLI sets it to its own executable.
    pub compile_in: Option<PathBuf>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            cache_dir: Cache::default_dir(),
            max_stack: Limits::default().get_usize(Limit::Stack),
            compile_limits: Limits::default(),
            compile_in: None,
        }
    }
}

/// The process's Wasm engine: one wasmtime engine per [`Tier`], each created when first needed,
/// with the sandbox's linker and the compiled-code cache.
#[derive(Clone)]
pub struct Engine {
    options: EngineOptions,
    /// Indexed by [`Tier::index`].
    tiers: Arc<[OnceLock<Result<Compiler, String>>; 2]>,
    /// Problems with the cache (unreadable, corrupt entries rebuilt), for the user to see.
    notes: Arc<std::sync::Mutex<Vec<String>>>,
}

/// How hard Cranelift works on a prototype's code. wasmtime only loads code compiled under its
/// engine's exact settings, so each tier has its own engine and its own cache entries.
///
/// Both tiers run the same Wasm semantics: canonical NaNs, deterministic relaxed SIMD, fuel
/// counted per Wasm instruction. Only native stack use differs (optimised frames are smaller),
/// so a guest within a few frames of the `stack` limit may pass in one tier and not the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Unoptimised code with the single-pass register allocator: half the compile time, for
    /// code compiled when a render needs it.
    Quick,
    /// Optimised code: renders about 7% faster on the seed's Kubeflow app and 1.2x on 1,000
    /// components, with half the code to map, for twice the compile time; compiled ahead of
    /// time by `kiln pkg install` and `kiln pkg update`.
    Optimised,
}

impl Tier {
    fn index(self) -> usize {
        match self {
            Tier::Quick => 0,
            Tier::Optimised => 1,
        }
    }

    /// Its name, as `kiln __compile --tier` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Quick => "quick",
            Tier::Optimised => "optimised",
        }
    }

    /// The tier named `name`.
    pub fn from_name(name: &str) -> Option<Tier> {
        [Tier::Quick, Tier::Optimised].into_iter().find(|tier| tier.name() == name)
    }
}

/// One tier's wasmtime engine, its linker and its view of the cache.
struct Compiler {
    tier: Tier,
    /// The Wasm stack limit of `engine`.
    max_stack: usize,
    engine: wasmtime::Engine,
    linker: Arc<Linker<Host>>,
    cache: Option<Cache>,
    /// The `compile-*` limits, and where to compile (see [`EngineOptions::compile_in`]).
    compile_limits: Limits,
    compile_in: Option<PathBuf>,
}

/// Where a prototype's compiled code came from, for benchmarks and `--verbose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSource {
    /// Compiled now (and cached, when a cache is configured).
    Compiled,
    /// Loaded from the cache.
    Cached,
}

/// A prototype ready to run: compiled, its imports checked, pre-linked.
#[derive(Clone)]
pub struct Prototype {
    label: String,
    digest: String,
    imports: Vec<String>,
    source: CodeSource,
    engine: wasmtime::Engine,
    tier: Tier,
    /// The Wasm stack limit of `engine`: guests run on a native stack with room for it.
    max_stack: usize,
    /// Pre-linked; `describe` and `generate` are called through typed funcs whose results are
    /// read lazily, so size limits are checked before the host copies anything.
    instance_pre: InstancePre<Host>,
    /// Where its description is remembered, when there is a cache.
    cache: Option<(Cache, Key)>,
    /// The version of the WIT it was built for.
    wit: Wit,
}

/// The versions of the WIT a prototype may be built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wit {
    /// This Kiln's, [`WIT_VERSION`].
    Now,
    /// 0.2.0, run through [`compat`].
    V0_2,
}

/// A successful render: the objects and what the prototype logged.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The objects, in the order the prototype returned them.
    pub objects: Vec<serde_json::Value>,
    /// What it logged or printed.
    pub logs: Vec<LogLine>,
}

impl Engine {
    /// The engine. wasmtime's engines are created when first needed: a warm run whose code is
    /// all optimised never sets up the quick one.
    pub fn new(options: EngineOptions) -> Self {
        Engine { options, tiers: Default::default(), notes: Default::default() }
    }

    /// The compiler of `tier`, created on first use. Fails only if wasmtime cannot be set up
    /// on this machine.
    fn compiler(&self, tier: Tier, label: &str) -> Result<&Compiler, Error> {
        self.tiers[tier.index()]
            .get_or_init(|| Compiler::new(tier, &self.options).map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| Error::Internal {
                prototype: label.into(),
                message: format!("cannot create the Wasm engine: {e}"),
            })
    }

    /// The memo of files already checked for the app (or other scope) at `scope`, kept with the
    /// compiled code; one that remembers nothing when there is no cache.
    pub fn checked_memo(&self, scope: &std::path::Path) -> Checked {
        match &self.options.cache_dir {
            Some(dir) => Checked::open(dir, scope),
            None => Checked::off(),
        }
    }

    /// Notes about the cache gathered so far (entries rebuilt, unwritable directory), drained.
    pub fn take_notes(&self) -> Vec<String> {
        self.notes.lock().map(|mut n| std::mem::take(&mut *n)).unwrap_or_default()
    }

    fn note(&self, note: String) {
        if let Ok(mut notes) = self.notes.lock() {
            notes.push(note);
        }
    }

    /// Load the prototype in `wasm`, labelled `label` in errors until it has described itself.
    pub fn load(&self, label: &str, wasm: &[u8]) -> Result<Prototype, Error> {
        let sha256 = Sha256::digest(wasm).into();
        match self.load_cached(label, sha256, None)? {
            Some(prototype) => Ok(prototype),
            None => self.compile_digested(label, wasm, sha256),
        }
    }

    /// The prototype whose wasm has `sha256`, if its compiled code is in the cache, optimised
    /// code first: a warm load needs no wasm at all. `memo` remembers which entries were
    /// already checked against their checksum (see [`crate::checked`]).
    pub fn load_cached(
        &self,
        label: &str,
        sha256: [u8; 32],
        mut memo: Option<&mut Checked>,
    ) -> Result<Option<Prototype>, Error> {
        if self.options.cache_dir.is_none() {
            return Ok(None);
        }
        for tier in [Tier::Optimised, Tier::Quick] {
            let compiler = self.compiler(tier, label)?;
            if let Some(component) =
                self.cached_component(label, compiler, sha256, memo.as_deref_mut())
            {
                return compiler.prototype(label, component, CodeSource::Cached, sha256).map(Some);
            }
        }
        Ok(None)
    }

    /// The cached code of `sha256` in `compiler`'s tier, if there is a valid entry; problems
    /// become notes.
    fn cached_component(
        &self,
        label: &str,
        compiler: &Compiler,
        sha256: [u8; 32],
        memo: Option<&mut Checked>,
    ) -> Option<Component> {
        let cache = compiler.cache.as_ref()?;
        let problem = match cache.lookup(&cache.key(sha256), memo) {
            Lookup::Hit(path) => {
                // SAFETY: the file at `path` was written by `Cache::store` from
                // `Component::serialize` of an engine with these settings, in a directory only
                // this user can write, and verified against its key and checksum (now, or
                // before and unchanged since); wasmtime re-checks that the engine settings
                // match. Entries are replaced by rename, never rewritten in place, so the
                // mapping stays valid.
                match unsafe { Component::deserialize_file(&compiler.engine, &path) } {
                    Ok(component) => return Some(component),
                    Err(e) => e.to_string(),
                }
            }
            Lookup::Miss => return None,
            Lookup::Invalid(why) => why,
        };
        self.note(match compiler.tier {
            Tier::Quick => format!("rebuilding cached code for `{label}`: {problem}"),
            Tier::Optimised => format!(
                "not using the optimised code cached for `{label}` ({problem}); \
                 `kiln pkg update` compiles it again"
            ),
        });
        None
    }

    /// Compile the prototype in `wasm`, whose sha256 the caller has checked, in the quick tier,
    /// without looking in the cache first (after [`Engine::load_cached`] found nothing), and
    /// cache its code.
    pub fn compile_digested(
        &self,
        label: &str,
        wasm: &[u8],
        sha256: [u8; 32],
    ) -> Result<Prototype, Error> {
        let compiler = self.compiler(Tier::Quick, label)?;
        let component = self.compile_and_store(compiler, label, wasm, sha256)?;
        compiler.prototype(label, component, CodeSource::Compiled, sha256)
    }

    /// Compile the prototype in `wasm`, whose sha256 the caller has checked, into optimised
    /// code in the cache, unless it is there already: what `kiln pkg install` does ahead of
    /// time so that renders find optimised code. Whether it compiled; `false` without a cache.
    pub fn precompile(&self, label: &str, wasm: &[u8], sha256: [u8; 32]) -> Result<bool, Error> {
        if self.options.cache_dir.is_none() {
            return Ok(false);
        }
        let prototype = self.load_optimised(label, wasm, sha256)?;
        Ok(prototype.code_source() == CodeSource::Compiled)
    }

    /// The prototype in `wasm`, whose sha256 the caller has checked, in optimised code: from
    /// the cache, or compiled now (and cached, when there is a cache). What `kiln pkg install`
    /// runs before it describes a package's prototypes: renders then find optimised code.
    pub fn load_optimised(
        &self,
        label: &str,
        wasm: &[u8],
        sha256: [u8; 32],
    ) -> Result<Prototype, Error> {
        let compiler = self.compiler(Tier::Optimised, label)?;
        // A missing or broken entry is compiled (again) without a note: that is the remedy.
        if let Some(cache) = &compiler.cache
            && let Lookup::Hit(path) = cache.lookup(&cache.key(sha256), None)
            // SAFETY: as in `cached_component`: an entry Kiln wrote, checked against its key
            // and checksum just now, in a directory only this user can write.
            && let Ok(component) = unsafe { Component::deserialize_file(&compiler.engine, &path) }
        {
            return compiler.prototype(label, component, CodeSource::Cached, sha256);
        }
        let component = self.compile_and_store(compiler, label, wasm, sha256)?;
        // Imports and exports are checked now rather than at the first render.
        compiler.prototype(label, component, CodeSource::Compiled, sha256)
    }

    /// Compile `wasm` in `compiler`'s tier and store its code in the cache, if there is one.
    fn compile_and_store(
        &self,
        compiler: &Compiler,
        label: &str,
        wasm: &[u8],
        sha256: [u8; 32],
    ) -> Result<Component, Error> {
        let (component, code) = compiler.compile(label, wasm)?;
        let Some(cache) = &compiler.cache else { return Ok(component) };
        match code.map_or_else(|| component.serialize(), Ok) {
            Ok(code) => {
                if let Err(e) = cache.store(&cache.key(sha256), &code) {
                    self.note(format!(
                        "cannot cache compiled code in {}: {e}",
                        cache.dir().display()
                    ));
                }
            }
            Err(e) => self.note(format!("cannot serialize compiled code of `{label}`: {e}")),
        }
        Ok(component)
    }
}

/// The settings of `tier`'s wasmtime engine with a Wasm stack limit of `max_stack`: the same in
/// this process and in a child that compiles for it ([`super::isolated`]), so wasmtime loads
/// what the child compiled.
pub(super) fn config(tier: Tier, max_stack: usize) -> wasmtime::Config {
    let (opt_level, regalloc) = match tier {
        Tier::Quick => (wasmtime::OptLevel::None, wasmtime::RegallocAlgorithm::SinglePass),
        Tier::Optimised => (wasmtime::OptLevel::Speed, wasmtime::RegallocAlgorithm::Backtracking),
    };
    let mut config = wasmtime::Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(max_stack)
        // Kiln never runs guests on async fibers, but wasmtime (built with `async` for
        // WASI) refuses a Wasm stack larger than the fiber stack: keep that one larger.
        .async_stack_size(max_stack + ASYNC_STACK_HEADROOM)
        // The same render on every machine: canonical NaNs, deterministic relaxed SIMD.
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true)
        .cranelift_opt_level(opt_level)
        .cranelift_regalloc_algorithm(regalloc);
    config
}

impl Compiler {
    fn new(tier: Tier, options: &EngineOptions) -> wasmtime::Result<Self> {
        let engine = wasmtime::Engine::new(&config(tier, options.max_stack))?;
        start_ticker(&engine);
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        no_sleeping(&mut linker)?;
        bindings::Prototype::add_to_linker::<_, wasmtime::component::HasSelf<Host>>(
            &mut linker,
            |host| host,
        )?;
        compat::Prototype::add_to_linker::<_, wasmtime::component::HasSelf<Host>>(
            &mut linker,
            |host| host,
        )?;
        let cache = options
            .cache_dir
            .clone()
            .map(|dir| Cache::new(dir, engine.precompile_compatibility_hash()));
        Ok(Compiler {
            tier,
            max_stack: options.max_stack,
            engine,
            linker: Arc::new(linker),
            cache,
            compile_limits: options.compile_limits,
            compile_in: options.compile_in.clone(),
        })
    }

    /// Check the imports and exports of `component`, then pre-link it.
    fn prototype(
        &self,
        label: &str,
        component: Component,
        source: CodeSource,
        sha256: [u8; 32],
    ) -> Result<Prototype, Error> {
        // Imported types name the world's types (`prototype-info`); they grant nothing.
        let imports: Vec<String> = component
            .component_type()
            .imports(&self.engine)
            .filter(|(_, item)| !matches!(item.ty, ComponentItem::Type(_)))
            .map(|(name, _)| name.to_string())
            .collect();
        // Checked again on code from the cache, which another Kiln may have compiled.
        check_imports(label, &imports)?;
        let denied = |name: &str, reason: String| Error::DeniedImport {
            prototype: label.into(),
            import: name.into(),
            reason,
        };
        let instance_pre = self.linker.instantiate_pre(&component).map_err(|e| {
            let message = format!("{e:#}");
            // An import under an allowed name that the linker still lacks: another version of
            // the kiln:prototype package, or a WASI interface Kiln does not implement.
            match imports.iter().find(|name| message.contains(&format!("`{name}`"))) {
                Some(name) => denied(
                    name,
                    format!(
                        "Kiln provides {} and WASI 0.2, and no matching definition of this \
                         one ({message})",
                        WORLD_IMPORTS.join(", ")
                    ),
                ),
                None => Error::NotAPrototype { prototype: label.into(), message },
            }
        })?;
        let not_a_prototype = |e: wasmtime::Error| Error::NotAPrototype {
            prototype: label.into(),
            message: format!("{e:#}"),
        };
        // Checks the exports against the world, this version's or an older one that still
        // runs; the typed calls below rely on it.
        let wit = match PrototypePre::new(instance_pre.clone()) {
            Ok(_) => Wit::Now,
            Err(now) => match compat::PrototypePre::new(instance_pre.clone()) {
                Ok(_) => Wit::V0_2,
                Err(_) => return Err(not_a_prototype(now)),
            },
        };
        Ok(Prototype {
            label: label.into(),
            digest: format!("sha256:{}", hex::encode(sha256)),
            imports,
            source,
            engine: self.engine.clone(),
            tier: self.tier,
            max_stack: self.max_stack,
            instance_pre,
            cache: self.cache.as_ref().map(|cache| (cache.clone(), cache.key(sha256))),
            wit,
        })
    }

    /// Compile `wasm` within the compile budget; with its compiled code when it was compiled
    /// in a child process. Its shape is checked first, against the `compile-*` shape limits,
    /// then its imports: compiling takes seconds for large guests, and a guest that is too
    /// large or imports what Kiln does not offer is refused at once and by name. (Wasmtime's
    /// own reading of the imports is checked after, in case the binary could not be read here.)
    fn compile(&self, label: &str, wasm: &[u8]) -> Result<(Component, Option<Vec<u8>>), Error> {
        let compile_error = |message: String| Error::Compile { prototype: label.into(), message };
        match super::shape::check(wasm, &self.compile_limits) {
            Ok(_) => {}
            Err(super::shape::Refused::Over { limit, found }) => {
                return Err(Error::TooComplex {
                    prototype: label.into(),
                    limit,
                    value: self.compile_limits.get(limit),
                    found,
                });
            }
            Err(super::shape::Refused::Malformed(message)) => return Err(compile_error(message)),
        }
        check_imports(label, &super::imports::of(wasm).unwrap_or_default())?;
        let Some(exe) = &self.compile_in else {
            return Component::new(&self.engine, wasm)
                .map(|component| (component, None))
                .map_err(|e| compile_error(format!("{e:#}")));
        };
        let code = super::isolated::compile(
            exe,
            self.tier,
            self.max_stack,
            wasm,
            &self.compile_limits,
            label,
        )?;
        // SAFETY: `code` is what `precompile_component` returned in a child process running
        // this same executable, with an engine of this tier's settings (`config`); wasmtime
        // checks that its version and settings match this engine's.
        let component = unsafe { Component::deserialize(&self.engine, &code) }.map_err(|e| {
            Error::Internal {
                prototype: label.into(),
                message: format!("cannot load the code compiled in a child process: {e:#}"),
            }
        })?;
        Ok((component, Some(code)))
    }
}

/// Refuse imports Kiln does not offer, and prototypes built for another version of its WIT.
fn check_imports(label: &str, imports: &[String]) -> Result<(), Error> {
    for name in imports {
        if let Some(reason) = import_denied(name) {
            return Err(Error::DeniedImport {
                prototype: label.into(),
                import: name.clone(),
                reason,
            });
        }
        if let Some((_, version)) = name
            .strip_prefix(WIT_PACKAGE)
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|rest| rest.split_once('@'))
            && version != WIT_VERSION
            && !compat::OLD_VERSIONS.contains(&version)
        {
            return Err(Error::NotAPrototype {
                prototype: label.into(),
                message: format!(
                    "it was built for {WIT_PACKAGE}@{version}, and this Kiln implements \
                     {WIT_PACKAGE}@{WIT_VERSION} (and runs {}); rebuild it against this Kiln's \
                     wit/prototype.wit, or `kiln pkg update` the package it came from",
                    compat::OLD_VERSIONS.join(", ")
                ),
            });
        }
    }
    Ok(())
}

impl Prototype {
    /// The label used in errors (the file name until the prototype has described itself).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// `sha256:<hex>` of the wasm.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The names of the component's imports (`wasi:cli/stdout@0.2.6`, `kiln:prototype/log@0.2.0`
    /// ...), every one of which Kiln provides (see [`WORLD_IMPORTS`]).
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    /// Whether the code was compiled now or loaded from the cache.
    pub fn code_source(&self) -> CodeSource {
        self.source
    }

    /// How its code was compiled.
    pub fn tier(&self) -> Tier {
        self.tier
    }

    /// Instantiate the prototype once and drop the instance: what every call pays before the
    /// guest runs. For benchmarks and health checks.
    pub fn instantiate_only(&self, limits: &Limits) -> Result<(), Error> {
        self.instantiate(limits).map(drop)
    }

    /// Ask the prototype to describe itself, and check the description is consistent. A
    /// description depends on nothing but the wasm (the guest sees no clock, randomness or
    /// input), so one that this Kiln build remembered for the same wasm is used instead of
    /// running the guest again.
    pub fn describe(&mut self, limits: &Limits) -> Result<Info, Error> {
        let remembered = self.cache.as_ref().and_then(|(cache, key)| cache.description(key));
        if let Some(info) = remembered.filter(|info| check_info(info).is_ok()) {
            self.label = info.name.clone();
            return Ok(info);
        }
        let info = super::stack::run(self.max_stack, || self.describe_now(limits))?;
        if let Some((cache, key)) = &self.cache {
            // Only a speed-up: the code itself is cached already, or a note said why not.
            let _ = cache.store_description(key, &info);
        }
        Ok(info)
    }

    fn describe_now(&mut self, limits: &Limits) -> Result<Info, Error> {
        let (mut store, instance) = self.instantiate(limits)?;
        // wasmtime checks each string's and list's length against this budget before copying
        // it out of the guest, so a huge description is refused without being copied.
        store.set_hostcall_fuel(DESCRIBE_LIFT_BYTES);
        let bad_info = |message| Error::BadInfo { prototype: self.label.clone(), message };
        let failed = |e: wasmtime::Error, store: &mut Store<Host>| {
            if is_lift_budget_exhausted(&e) {
                return bad_info(format!(
                    "it handed the host more than {DESCRIBE_LIFT_BYTES} bytes at once, and a \
                     description may hold at most {DESCRIBE_BYTES} bytes"
                ));
            }
            self.classify(e, store, limits)
        };
        let info = match self.wit {
            Wit::Now => {
                let describe = instance
                    .get_typed_func::<(), (bindings::kiln::prototype::types::PrototypeInfo,)>(
                        &mut store, "describe",
                    )
                    .map_err(|e| self.not_a_prototype(e))?;
                describe.call(&mut store, ()).map_err(|e| failed(e, &mut store))?.0
            }
            Wit::V0_2 => {
                let describe = instance
                    .get_typed_func::<(), (compat::PrototypeInfo,)>(&mut store, "describe")
                    .map_err(|e| self.not_a_prototype(e))?;
                compat::info(describe.call(&mut store, ()).map_err(|e| failed(e, &mut store))?.0)
            }
        };
        check_size(&info).map_err(bad_info)?;
        let info = bindings::info_from_wit(info).map_err(bad_info)?;
        check_info(&info).map_err(bad_info)?;
        self.label = info.name.clone();
        Ok(info)
    }

    /// Render the objects of `component` from `params` (resolved against `info` here, before
    /// any guest code runs) for `env`.
    pub fn generate(
        &self,
        info: &Info,
        component: &str,
        params: &Params,
        env: &Environment,
        limits: &Limits,
    ) -> Result<Rendered, Error> {
        // On a thread with room for the Wasm stack limit (this one, mostly).
        super::stack::run(self.max_stack, || {
            let params = prototype::resolve(info, params)?;
            let (mut store, instance) = self.instantiate(limits)?;
            store.data_mut().components = env.components.clone();
            let wit_params = bindings::params_to_wit(&params);
            let wit_env = bindings::environment_to_wit(env);
            let result = match self.wit {
                Wit::Now => {
                    let generate = instance
                        .get_typed_func::<GenerateParams<'_>, (GenerateResult,)>(
                            &mut store, "generate",
                        )
                        .map_err(|e| self.not_a_prototype(e))?;
                    generate.call(&mut store, (component, &wit_params, &wit_env))
                }
                Wit::V0_2 => {
                    let generate = instance
                        .get_typed_func::<compat::GenerateParams<'_>, (compat::GenerateResult,)>(
                            &mut store, "generate",
                        )
                        .map_err(|e| self.not_a_prototype(e))?;
                    let (params, env) = (compat::params(&wit_params), compat::environment(wit_env));
                    generate
                        .call(&mut store, (component, &params, &env))
                        .map(|(result,)| (result.map_err(compat::render_error),))
                }
            };
            let (result,) = result.map_err(|e| self.classify(e, &mut store, limits))?;
            let json = result.map_err(|e| self.rejected(e))?;
            let objects = self.check_output(&json, limits)?;
            Ok(Rendered { objects, logs: store.data_mut().take_logs() })
        })
    }

    fn store(&self, limits: &Limits) -> Result<Store<Host>, Error> {
        let mut store = Store::new(&self.engine, Host::new(limits));
        store.limiter(|host| &mut host.limiter);
        store.call_hook(charge_host_calls);
        store.set_epoch_deadline(limits.get(Limit::TimeMs).div_ceil(TICK.as_millis() as u64));
        store.epoch_deadline_trap();
        store.set_fuel(limits.get(Limit::Fuel)).map_err(|e| Error::Internal {
            prototype: self.label.clone(),
            message: format!("cannot set fuel: {e}"),
        })?;
        Ok(store)
    }

    fn instantiate(&self, limits: &Limits) -> Result<(Store<Host>, Instance), Error> {
        let mut store = self.store(limits)?;
        let instance = self
            .instance_pre
            .instantiate(&mut store)
            .map_err(|e| self.classify(e, &mut store, limits))?;
        Ok((store, instance))
    }

    fn not_a_prototype(&self, e: wasmtime::Error) -> Error {
        Error::NotAPrototype { prototype: self.label.clone(), message: format!("{e:#}") }
    }

    /// Turn a wasmtime error from instantiating or calling into the error the user sees.
    fn classify(&self, error: wasmtime::Error, store: &mut Store<Host>, limits: &Limits) -> Error {
        let limit =
            |limit| Error::Limit { prototype: self.label.clone(), limit, value: limits.get(limit) };
        if let Some(LimitExceeded(which)) = error.downcast_ref::<LimitExceeded>() {
            return limit(*which);
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => return limit(Limit::Fuel),
            Some(Trap::StackOverflow) => return limit(Limit::Stack),
            Some(Trap::Interrupt) => return limit(Limit::TimeMs),
            _ => {}
        }
        if store.data().stdio_full() {
            return limit(Limit::StdioBytes);
        }
        let text = format!("{error:#}");
        for (needle, which) in [
            ("instance count too high", Limit::Instances),
            ("table count too high", Limit::Tables),
            ("memory count too high", Limit::Memories),
        ] {
            if text.contains(needle) {
                return limit(which);
            }
        }
        let mut message = match error.downcast_ref::<Trap>() {
            Some(trap) => trap.to_string(),
            None => text,
        };
        let stderr = String::from_utf8_lossy(&store.data().stderr.contents()).into_owned();
        if let Some(at) = stderr.find("panicked at") {
            message = format!("{message}; {}", stderr[at..].trim_end().replace('\n', " "));
        }
        Error::Trap { prototype: self.label.clone(), message }
    }

    fn rejected(&self, error: bindings::kiln::prototype::types::RenderError) -> Error {
        use bindings::kiln::prototype::types::RenderError;
        match error {
            RenderError::InvalidParam(p) => Error::Rejected {
                prototype: self.label.clone(),
                param: cut(p.name),
                message: cut(p.message),
            },
            RenderError::Failed(message) => {
                Error::Failed { prototype: self.label.clone(), message: cut(message) }
            }
        }
    }

    /// Parse the guest's JSON array of objects, within the `output-bytes` and `objects` limits.
    /// The string was copied whole, but it is one string in the guest's memory, so its size is
    /// bounded by the `memory` limit.
    fn check_output(&self, json: &str, limits: &Limits) -> Result<Vec<serde_json::Value>, Error> {
        parse_output(&self.label, json, limits)
    }
}

/// The objects in `json`, the output of prototype `label`, within the `output-bytes` and
/// `objects` limits; each one at least has `apiVersion`, `kind` and `metadata`.
pub(crate) fn parse_output(
    label: &str,
    json: &str,
    limits: &Limits,
) -> Result<Vec<serde_json::Value>, Error> {
    let limit = |limit| Error::Limit { prototype: label.into(), limit, value: limits.get(limit) };
    if json.len() as u64 > limits.get(Limit::OutputBytes) {
        return Err(limit(Limit::OutputBytes));
    }
    let invalid =
        |index, message: String| Error::InvalidObject { prototype: label.into(), index, message };
    let values: Vec<serde_json::Value> = match serde_json::from_str(json) {
        Ok(serde_json::Value::Array(values)) => values,
        Ok(_) => return Err(invalid(0, "the output is not a JSON array".into())),
        Err(e) => return Err(invalid(0, format!("the output is not JSON: {e}"))),
    };
    if values.len() as u64 > limits.get(Limit::Objects) {
        return Err(limit(Limit::Objects));
    }
    for (i, value) in values.iter().enumerate() {
        check_object(value).map_err(|m| invalid(i + 1, m))?;
    }
    Ok(values)
}

/// The arguments of `generate`, as lowered into the guest.
type GenerateParams<'a> = (
    &'a str,
    &'a [bindings::kiln::prototype::types::Param],
    &'a bindings::kiln::prototype::types::Environment,
);
/// Its result.
type GenerateResult = Result<String, bindings::kiln::prototype::types::RenderError>;

/// How much larger than the Wasm stack wasmtime's (unused) async fiber stack is set.
const ASYNC_STACK_HEADROOM: usize = 1 << 20;

/// How often the engine's epoch advances: the resolution of the `time-ms` limit.
const TICK: std::time::Duration = std::time::Duration::from_millis(10);

/// Fuel charged for each call into the host. Fuel only counts Wasm instructions, so without
/// this a guest looping over cheap-for-it host calls (polls, clock reads) would run for minutes
/// on a budget meant for seconds. A fixed charge keeps the count deterministic.
const HOST_CALL_FUEL: u64 = 50_000;

fn charge_host_calls(mut store: StoreContextMut<'_, Host>, hook: CallHook) -> wasmtime::Result<()> {
    if matches!(hook, CallHook::CallingHost) {
        let fuel = store.get_fuel()?;
        if fuel < HOST_CALL_FUEL {
            return Err(Trap::OutOfFuel.into());
        }
        store.set_fuel(fuel - HOST_CALL_FUEL)?;
    }
    Ok(())
}

/// Advance `engine`'s epoch every [`TICK`] until the engine is dropped.
fn start_ticker(engine: &wasmtime::Engine) {
    let weak = engine.weak();
    std::thread::spawn(move || {
        while let Some(engine) = weak.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(TICK);
        }
    });
}

/// Bytes of a prototype's error message kept for the user; the rest is cut.
const MESSAGE_BYTES: usize = 4 << 10;

/// `text` cut at [`MESSAGE_BYTES`], saying how much was cut.
fn cut(text: String) -> String {
    if text.len() <= MESSAGE_BYTES {
        return text;
    }
    let mut end = MESSAGE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes cut)", &text[..end], text.len() - end)
}

/// Bytes of text a description may hold. Descriptions are small; a large one is a bug or an
/// attack.
const DESCRIBE_BYTES: usize = 1 << 20;

/// Bytes the host copies out of a guest for its description at most. wasmtime counts string
/// bytes and each list element at the size of its host type, at most 16 times what
/// [`check_size`] counts for it (a param with empty strings: 8), so every description within
/// [`DESCRIBE_BYTES`] fits, and one past this budget is over [`DESCRIBE_BYTES`] too.
const DESCRIBE_LIFT_BYTES: usize = 16 * DESCRIBE_BYTES;

/// Whether `error` is wasmtime refusing to copy more than the store's hostcall fuel allows
/// (its error type is private; its message is the contract).
fn is_lift_budget_exhausted(error: &wasmtime::Error) -> bool {
    format!("{error:#}").contains("fuel allocated for hostcalls has been exhausted")
}

/// Refuse a description whose text adds up to more than [`DESCRIBE_BYTES`].
fn check_size(info: &bindings::kiln::prototype::types::PrototypeInfo) -> Result<(), String> {
    use bindings::kiln::prototype::types::ParamValue as V;
    let value = |v: &V| match v {
        V::String(s) | V::Object(s) => s.len(),
        V::StringList(l) => l.iter().map(|s| s.len() + 8).sum(),
        _ => 8,
    };
    let params: usize = info
        .params
        .iter()
        .map(|p| p.name.len() + p.doc.len() + p.default.as_ref().map_or(0, value) + 8)
        .sum();
    let kinds: usize =
        info.permissions.cluster_scoped.iter().map(|gk| gk.group.len() + gk.kind.len() + 8).sum();
    let total = info.name.len() + info.description.len() + params + kinds;
    if total > DESCRIBE_BYTES {
        return Err(format!("its description is larger than {DESCRIBE_BYTES} bytes"));
    }
    Ok(())
}

/// The minimum that makes a JSON value a Kubernetes object.
fn check_object(value: &serde_json::Value) -> Result<(), String> {
    let object = value.as_object().ok_or("not a JSON object")?;
    for field in ["apiVersion", "kind"] {
        match object.get(field) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => {}
            _ => return Err(format!("`{field}` must be a non-empty string")),
        }
    }
    match object.get("metadata") {
        Some(serde_json::Value::Object(_)) => Ok(()),
        _ => Err("`metadata` must be an object".into()),
    }
}

/// Consistency of a prototype's self-description: the host relies on it for param checks.
fn check_info(info: &Info) -> Result<(), String> {
    if !crate::names::is_dns1123_label(&info.name) {
        return Err(format!("name `{}` is not a DNS-1123 label", info.name));
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in &info.params {
        let valid_name = p.name.starts_with(|c: char| c.is_ascii_alphabetic())
            && p.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_name {
            return Err(format!("param name `{}` must be letters, digits, `_` and `-`", p.name));
        }
        if !seen.insert(p.name.as_str()) {
            return Err(format!("param `{}` is declared twice", p.name));
        }
        if p.required && p.default.is_some() {
            return Err(format!("param `{}` is required but has a default", p.name));
        }
        if let Some(default) = &p.default
            && default.param_type() != p.ty
        {
            return Err(format!(
                "default of param `{}` is {} but the param is {}",
                p.name,
                default.param_type(),
                p.ty
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bindings::kiln::prototype::types as wit;

    /// [`DESCRIBE_LIFT_BYTES`] admits every description [`check_size`] admits only while no
    /// element costs wasmtime more than 16 times the 8 bytes `check_size` counts at least.
    #[test]
    fn the_lift_budget_covers_every_description_check_size_admits() {
        for (what, host_size) in [
            ("param", size_of::<wit::ParamSpec>()),
            ("list element", size_of::<String>()),
            ("cluster-scoped kind", size_of::<wit::GroupKind>()),
        ] {
            assert!(host_size <= 16 * 8, "a {what} is {host_size} bytes on the host");
        }
    }
}
