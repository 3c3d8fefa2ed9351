//! The app on disk: `kiln.toml`, `components/`, `environments/`, `vendor/` and `kiln.lock`.
//! Loading, checking and editing them; no Wasm, no network. Every change is atomic and a
//! failing command leaves the files as they were.

mod files;
mod fs;
pub mod kubeconfig;
pub(crate) mod packages;
mod params;
mod registries;

use std::path::{Path, PathBuf};

pub use files::{
    AppFile, ComponentFile, EnvironmentFile, LimitSettings, RawParam, RawParams, RegistryEntry,
};
pub use fs::{AppDir, FsError, Transaction};
pub use packages::{
    CheckedWasm, Finding, Installed, InstalledPackage, InstalledPrototype, LOCK_FILE, PrototypeRef,
};
pub use params::{
    ParamSource, ResolvedParam, resolve as resolve_params, typed, values as param_values,
};
pub use registries::RESERVED_REGISTRY;

use crate::prototype::{ParamValue, suggest};
use crate::render::Limits;

/// The app's main file.
pub const APP_FILE: &str = "kiln.toml";

/// Something wrong with the app or a request about it.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No `kiln.toml` in the directory or its parents.
    #[error("no Kiln app in {} or its parents (no `kiln.toml`)", dir.display())]
    NotAnApp {
        /// Where the search started.
        dir: PathBuf,
    },
    /// `kiln init` into a directory that exists.
    #[error("cannot create app: {} already exists", dir.display())]
    DirExists {
        /// The directory.
        dir: PathBuf,
    },
    /// A file that is not valid TOML.
    #[error("{path}: invalid TOML: {message}")]
    Toml {
        /// The file, relative to the app.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// Valid TOML with a wrong key, type or value.
    #[error("{location}: {message}")]
    Invalid {
        /// `file:line`.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// A name that does not exist.
    #[error("unknown {what} `{name}`{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    Unknown {
        /// `environment`, `component`, `prototype`, `package`.
        what: &'static str,
        /// The name given.
        name: String,
        /// A near match.
        suggestion: Option<String>,
    },
    /// A name that is taken.
    #[error("{what} `{name}` already exists")]
    Exists {
        /// What kind of thing.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A name that breaks the naming rules.
    #[error("invalid {what} name `{name}`: {rule}")]
    InvalidName {
        /// What kind of thing.
        what: &'static str,
        /// The name.
        name: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// A short prototype name that matches several installed prototypes.
    #[error("prototype `{name}` is ambiguous: it could be {}", candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" or "))]
    Ambiguous {
        /// The name given.
        name: String,
        /// The full names it matches.
        candidates: Vec<String>,
    },
    /// An installed file that does not match `kiln.lock`.
    #[error(
        "{path} does not match its digest in kiln.lock (expected {expected}, found {found}); it was changed after install"
    )]
    Tampered {
        /// The file, relative to the app.
        path: String,
        /// The digest in the lock.
        expected: String,
        /// The file's digest.
        found: String,
    },
    /// Something that cannot be removed while others use it.
    #[error("{what} `{name}` is used by {}", users.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "))]
    InUse {
        /// What kind of thing.
        what: &'static str,
        /// Its name.
        name: String,
        /// The components (or packages) that use it.
        users: Vec<String>,
    },
    /// A file larger than Kiln reads for what it is.
    #[error("{path} is {size} bytes, more than the {limit} bytes {what} may have")]
    TooLarge {
        /// The file, relative to the app.
        path: String,
        /// Its size, or at least what it was found to hold.
        size: u64,
        /// The most Kiln reads.
        limit: u64,
        /// What the file is, e.g. `a prototype`.
        what: &'static str,
    },
    /// A param value that cannot be stored or typed.
    #[error("{0}")]
    Param(String),
    /// A file operation failed.
    #[error(transparent)]
    Fs(#[from] FsError),
}

impl AppError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            AppError::NotAnApp { .. } => Some("create one with `kiln init NAME`".into()),
            AppError::Unknown { what: "environment", .. } => {
                Some("`kiln env list` shows the environments; `kiln env add NAME` makes one".into())
            }
            AppError::Unknown { what: "component", .. } => {
                Some("`kiln component list` shows the components".into())
            }
            AppError::Unknown { what: "prototype", .. } => Some(
                "`kiln prototype list` shows installed prototypes; `kiln pkg install` adds more"
                    .into(),
            ),
            AppError::Tampered { .. } => Some(
                "`kiln pkg verify` lists every changed file; reinstall the package with \
                 `kiln pkg install REGISTRY/PACKAGE --force`"
                    .into(),
            ),
            AppError::TooLarge { path, .. } if path.starts_with("vendor/") => Some(
                "it was changed after install; reinstall the package with \
                 `kiln pkg install REGISTRY/PACKAGE --force`"
                    .into(),
            ),
            AppError::TooLarge { .. } => Some(
                "check that the component names the right file; a prototype built in release \
                 mode without debug info is far smaller"
                    .into(),
            ),
            AppError::InUse { what: "package", .. } => {
                Some("remove those components first with `kiln component rm`".into())
            }
            AppError::InUse { what: "registry", .. } => {
                Some("remove those packages first with `kiln pkg rm`".into())
            }
            _ => None,
        }
    }
}

/// A Kiln app: its root directory and `kiln.toml`.
#[derive(Debug)]
pub struct App {
    dir: AppDir,
    file: AppFile,
}

/// A file of the app as a command is about to write it (see [`App::with_change`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The file, relative to the app's root.
    pub path: String,
    /// Its new contents.
    pub text: String,
}

/// The settings of a new or changed environment.
#[derive(Debug, Clone, Default)]
pub struct EnvironmentSpec {
    /// Namespace.
    pub namespace: Option<String>,
    /// kubeconfig context.
    pub context: Option<String>,
    /// API server URL.
    pub server: Option<String>,
    /// Kubernetes version (`major.minor`).
    pub kubernetes_version: Option<String>,
    /// Labels to set (`None` value: remove).
    pub labels: Vec<(String, Option<String>)>,
}

/// Where `param set`/`unset` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamTarget<'a> {
    /// The component's own params (`components/<c>.toml`).
    Component(&'a str),
    /// An environment-wide param, for every component whose prototype declares it.
    EnvGlobal(&'a str),
    /// One component's override in one environment.
    EnvComponent {
        /// The environment.
        env: &'a str,
        /// The component.
        component: &'a str,
    },
}

/// Check an environment name: a DNS-1123 label, since it becomes a label value and file name.
pub fn check_environment_name(name: &str) -> Result<(), AppError> {
    if crate::names::is_dns1123_label(name) {
        Ok(())
    } else {
        Err(AppError::InvalidName {
            what: "environment",
            name: name.into(),
            rule: "use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit",
        })
    }
}

/// Check a component name: a letter, then letters, digits and `-`, at most 63 (camelCase as in
/// the seed's `serveInception` is fine; it becomes a label value and a file name).
pub fn check_component_name(name: &str) -> Result<(), AppError> {
    let ok = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(AppError::InvalidName {
            what: "component",
            name: name.into(),
            rule: "use at most 63 letters, digits and `-`, starting with a letter and not ending with `-`",
        })
    }
}

/// The app's directory of CustomResourceDefinitions to validate against.
pub const CRDS_DIR: &str = "crds";

fn component_path(name: &str) -> String {
    format!("components/{name}.toml")
}

fn environment_path(name: &str) -> String {
    format!("environments/{name}.toml")
}

impl App {
    /// Create the app `name` as a new directory under `parent`, with one environment.
    pub fn init(
        parent: &Path,
        name: &str,
        env_name: &str,
        env: &EnvironmentSpec,
    ) -> Result<App, AppError> {
        check_environment_name(env_name)?;
        let root = parent.join(name);
        if root.exists() {
            return Err(AppError::DirExists { dir: root });
        }
        let app_name =
            root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !crate::names::is_dns1123_label(&app_name) {
            return Err(AppError::InvalidName {
                what: "app",
                name: app_name,
                rule: "use at most 63 lowercase letters, digits and `-` (it becomes a label value)",
            });
        }
        // Build in a sibling temp dir and rename, so a failed init leaves nothing behind.
        let staging = tempfile::Builder::new()
            .prefix(&format!(".{app_name}-"))
            .tempdir_in(parent)
            .map_err(|source| FsError {
                action: "write",
                path: name.into(),
                root: parent.into(),
                source,
            })?;
        let dir = AppDir::open(staging.path())?;
        let file = AppFile {
            name: app_name,
            default_environment: Some(env_name.into()),
            registries: Default::default(),
            limits: Default::default(),
        };
        let mut tx = Transaction::new();
        tx.write(APP_FILE, file.render())
            .write(environment_path(env_name), new_environment(env)?)
            .write("components/.keep", "")
            .write("vendor/.keep", "");
        tx.commit(&dir)?;
        std::fs::rename(staging.path(), &root).map_err(|source| FsError {
            action: "write",
            path: name.into(),
            root: parent.into(),
            source,
        })?;
        // Renamed away: nothing left for the guard to clean up.
        let _ = staging.keep();
        App::open(&root)
    }

    /// Open the app whose root is `root`.
    pub fn open(root: &Path) -> Result<App, AppError> {
        let dir = AppDir::open(root)?;
        let text = dir.read(APP_FILE)?.ok_or_else(|| AppError::NotAnApp { dir: root.into() })?;
        let file = AppFile::parse(APP_FILE, &text)?;
        Ok(App { dir, file })
    }

    /// Open the app containing `start` (it or a parent has `kiln.toml`).
    pub fn find(start: &Path) -> Result<App, AppError> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            if d.join(APP_FILE).is_file() {
                return App::open(d);
            }
            dir = d.parent();
        }
        Err(AppError::NotAnApp { dir: start.into() })
    }

    /// The app's name.
    pub fn name(&self) -> &str {
        &self.file.name
    }

    /// The app's files.
    pub fn dir(&self) -> &AppDir {
        &self.dir
    }

    /// The default environment, if set.
    pub fn default_environment(&self) -> Option<&str> {
        self.file.default_environment.as_deref()
    }

    /// The environment to use: `given`, else the default one.
    pub fn environment_or_default(&self, given: Option<&str>) -> Result<String, AppError> {
        match given.or(self.default_environment()) {
            Some(name) => Ok(name.to_string()),
            None => Err(AppError::Param(
                "no environment given and no default environment; pass `--env NAME` or set one with `kiln env current --set NAME`".into(),
            )),
        }
    }

    /// The limits prototypes run under in environment `env`, or in the app when `None`:
    /// Kiln's defaults, then the app's `[limits]` (`kiln.toml`), then the environment's
    /// (`environments/ENV.toml`), each setting over the one before. The command line's
    /// `--limit` goes over these.
    pub fn limits(&self, env: Option<&str>) -> Result<Limits, AppError> {
        let mut limits = Limits::default();
        let env_limits = match env {
            Some(env) => self.environment(env)?.limits,
            None => LimitSettings::new(),
        };
        for &(limit, value) in self.file.limits.iter().chain(&env_limits) {
            limits.set(limit, value);
        }
        Ok(limits)
    }

    /// Environment names, sorted.
    pub fn environments(&self) -> Result<Vec<String>, AppError> {
        Ok(self.dir.list("environments", "toml")?)
    }

    /// The wasm of a prototype that is a file of the app (`PrototypeRef::File`), refused
    /// without reading it when it is larger than a registry's prototypes may be.
    pub fn read_prototype_file(&self, path: &str) -> Result<Vec<u8>, AppError> {
        let limit = crate::registry::MAX_WASM_BYTES;
        self.dir.read_bytes_at_most(path, limit)?.map_err(|size| AppError::TooLarge {
            path: path.into(),
            size,
            limit,
            what: "a prototype",
        })
    }

    /// Component names, sorted.
    pub fn components(&self) -> Result<Vec<String>, AppError> {
        Ok(self.dir.list("components", "toml")?)
    }

    /// The CustomResourceDefinitions in the app's `crds/` directory (`*.yaml`, `*.yml`,
    /// `*.json`; a YAML file may hold several documents), for validating custom resources whose
    /// definitions are installed some other way. Sorted by file name.
    pub fn crds(&self) -> Result<Vec<serde_json::Value>, AppError> {
        let mut crds = Vec::new();
        for ext in ["json", "yaml", "yml"] {
            for stem in self.dir.list(CRDS_DIR, ext)? {
                let path = format!("{CRDS_DIR}/{stem}.{ext}");
                let text = self.dir.read(&path)?.unwrap_or_default();
                let invalid =
                    |message: String| AppError::Invalid { location: path.clone(), message };
                let documents: Vec<serde_json::Value> = if ext == "json" {
                    vec![serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?]
                } else {
                    serde_saphyr::from_multiple(&text).map_err(|e| invalid(e.to_string()))?
                };
                for (i, document) in documents.into_iter().filter(|d| !d.is_null()).enumerate() {
                    if !crate::manifest::is_crd(&document) {
                        return Err(invalid(format!(
                            "document {} is not an apiextensions.k8s.io CustomResourceDefinition",
                            i + 1
                        )));
                    }
                    crds.push(document);
                }
            }
        }
        Ok(crds)
    }

    fn unknown(&self, what: &'static str, name: &str, known: &[String]) -> AppError {
        AppError::Unknown {
            what,
            name: name.into(),
            suggestion: suggest(name, known.iter().map(String::as_str)),
        }
    }

    /// Load environment `name`.
    pub fn environment(&self, name: &str) -> Result<EnvironmentFile, AppError> {
        let path = environment_path(name);
        match self.dir.read(&path)? {
            Some(text) if crate::names::is_dns1123_label(name) => {
                EnvironmentFile::parse(&path, &text)
            }
            _ => Err(self.unknown("environment", name, &self.environments()?)),
        }
    }

    /// Load component `name`.
    pub fn component(&self, name: &str) -> Result<ComponentFile, AppError> {
        let path = component_path(name);
        match self.dir.read(&path)? {
            Some(text) if check_component_name(name).is_ok() => ComponentFile::parse(&path, &text),
            _ => Err(self.unknown("component", name, &self.components()?)),
        }
    }

    /// Add environment `name`.
    pub fn add_environment(&self, name: &str, spec: &EnvironmentSpec) -> Result<(), AppError> {
        check_environment_name(name)?;
        if self.environments()?.iter().any(|e| e == name) {
            return Err(AppError::Exists { what: "environment", name: name.into() });
        }
        self.dir.write(environment_path(name), new_environment(spec)?.as_bytes())?;
        Ok(())
    }

    /// Change environment `name`.
    pub fn set_environment(&self, name: &str, spec: &EnvironmentSpec) -> Result<(), AppError> {
        self.environment(name)?;
        let path = environment_path(name);
        let text = self.dir.read(&path)?.unwrap_or_default();
        let mut doc = files::edit(&path, &text)?;
        apply_spec(&mut doc, spec);
        self.dir.write(&path, doc.to_string().as_bytes())?;
        Ok(())
    }

    /// Remove environment `name` (and unset it as the default).
    pub fn remove_environment(&mut self, name: &str) -> Result<(), AppError> {
        self.environment(name)?;
        let mut tx = Transaction::new();
        tx.remove(environment_path(name));
        if self.default_environment() == Some(name) {
            tx.write(APP_FILE, self.edit_app_file(None)?);
        }
        tx.commit(&self.dir)?;
        if self.default_environment() == Some(name) {
            self.file.default_environment = None;
        }
        Ok(())
    }

    /// Make `name` the default environment.
    pub fn set_default_environment(&mut self, name: &str) -> Result<(), AppError> {
        self.environment(name)?;
        self.dir.write(APP_FILE, self.edit_app_file(Some(name))?.as_bytes())?;
        self.file.default_environment = Some(name.into());
        Ok(())
    }

    fn edit_app_file(&self, default_env: Option<&str>) -> Result<String, AppError> {
        let text = self.dir.read(APP_FILE)?.unwrap_or_default();
        with_default_environment(&text, default_env)
    }

    /// Add component `name` instantiating `prototype` with `params`.
    pub fn add_component(
        &self,
        name: &str,
        prototype: &str,
        params: &crate::prototype::Params,
    ) -> Result<(), AppError> {
        check_component_name(name)?;
        if self.components()?.iter().any(|c| c == name) {
            return Err(AppError::Exists { what: "component", name: name.into() });
        }
        let mut doc = toml_edit::DocumentMut::new();
        doc["prototype"] = toml_edit::value(prototype);
        let table = files::table_mut(&mut doc, &["params"]);
        for (key, value) in params {
            table[key.as_str()] = toml_edit::value(toml_value(key, value)?);
        }
        self.dir.write(component_path(name), doc.to_string().as_bytes())?;
        Ok(())
    }

    /// Remove component `name` and its overrides in every environment.
    pub fn remove_component(&self, name: &str) -> Result<(), AppError> {
        self.component(name)?;
        let mut tx = Transaction::new();
        tx.remove(component_path(name));
        for env in self.environments()? {
            let path = environment_path(&env);
            let text = self.dir.read(&path)?.unwrap_or_default();
            let mut doc = files::edit(&path, &text)?;
            let removed = doc
                .get_mut("components")
                .and_then(|c| c.as_table_like_mut())
                .and_then(|c| c.remove(name))
                .is_some();
            if removed {
                tx.write(path, doc.to_string());
            }
        }
        tx.commit(&self.dir)?;
        Ok(())
    }

    fn param_location(&self, target: ParamTarget) -> Result<(String, Vec<String>), AppError> {
        Ok(match target {
            ParamTarget::Component(c) => {
                self.component(c)?;
                (component_path(c), vec!["params".into()])
            }
            ParamTarget::EnvGlobal(e) => {
                self.environment(e)?;
                (environment_path(e), vec!["params".into()])
            }
            ParamTarget::EnvComponent { env, component } => {
                self.environment(env)?;
                self.component(component)?;
                (environment_path(env), vec!["components".into(), component.into()])
            }
        })
    }

    /// Set param `key` to `value` at `target`, keeping the file's comments and order.
    pub fn set_param(
        &self,
        target: ParamTarget,
        key: &str,
        value: &ParamValue,
    ) -> Result<(), AppError> {
        self.write_change(&self.param_change(target, key, value)?)
    }

    /// The change [`App::set_param`] makes, not written yet.
    pub fn param_change(
        &self,
        target: ParamTarget,
        key: &str,
        value: &ParamValue,
    ) -> Result<Change, AppError> {
        let (path, keys) = self.param_location(target)?;
        let text = self.dir.read(&path)?.unwrap_or_default();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let text = set_param_in(&path, &text, &keys, key, value)?;
        Ok(Change { path, text })
    }

    /// This app as it will be once `change` is written: it reads the changed file as
    /// changed, and writes nothing.
    pub fn with_change(&self, change: &Change) -> Result<App, AppError> {
        let dir = self.dir.staged(&change.path, change.text.clone())?;
        Ok(App { dir, file: self.file.clone() })
    }

    /// Write `change`, atomically.
    pub fn write_change(&self, change: &Change) -> Result<(), AppError> {
        self.dir.write(&change.path, change.text.as_bytes())?;
        Ok(())
    }

    /// Remove param `key` at `target`; false if it was not set there.
    pub fn unset_param(&self, target: ParamTarget, key: &str) -> Result<bool, AppError> {
        let (path, keys) = self.param_location(target)?;
        let text = self.dir.read(&path)?.unwrap_or_default();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        match unset_param_in(&path, &text, &keys, key)? {
            Some(text) => {
                self.dir.write(&path, text.as_bytes())?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// `text` (the file `path`) with param `key` set to `value` in the table at `keys`, keeping
/// comments and order.
pub(crate) fn set_param_in(
    path: &str,
    text: &str,
    keys: &[&str],
    key: &str,
    value: &ParamValue,
) -> Result<String, AppError> {
    let mut doc = files::edit(path, text)?;
    let table = files::table_mut(&mut doc, keys);
    let new = toml_value(key, value)?;
    match table.get_mut(key).and_then(|item| item.as_value_mut()) {
        Some(old) => {
            let decor = old.decor().clone();
            *old = new;
            *old.decor_mut() = decor;
        }
        None => table[key] = toml_edit::value(new),
    }
    Ok(doc.to_string())
}

/// `text` (the file `path`) without param `key` in the table at `keys`; `None` if it is not
/// set there.
pub(crate) fn unset_param_in(
    path: &str,
    text: &str,
    keys: &[&str],
    key: &str,
) -> Result<Option<String>, AppError> {
    let mut doc = files::edit(path, text)?;
    let mut item: Option<&mut toml_edit::Item> = Some(doc.as_item_mut());
    for k in keys {
        item = item.and_then(|i| i.get_mut(k));
    }
    let removed = item.and_then(|i| i.as_table_like_mut()).and_then(|t| t.remove(key)).is_some();
    Ok(removed.then(|| doc.to_string()))
}

/// `kiln.toml`'s `text` with `defaultEnvironment` set to `env` (removed for `None`).
pub(crate) fn with_default_environment(text: &str, env: Option<&str>) -> Result<String, AppError> {
    let mut doc = files::edit(APP_FILE, text)?;
    match env {
        Some(env) => doc["defaultEnvironment"] = toml_edit::value(env),
        None => {
            doc.remove("defaultEnvironment");
        }
    }
    Ok(doc.to_string())
}

fn toml_value(key: &str, value: &ParamValue) -> Result<toml_edit::Value, AppError> {
    files::from_json(&value.to_json()).map_err(|m| AppError::Param(format!("param `{key}`: {m}")))
}

fn new_environment(spec: &EnvironmentSpec) -> Result<String, AppError> {
    let mut doc = toml_edit::DocumentMut::new();
    doc.decor_mut().set_prefix(
        "# An environment: where and how the app's components are deployed.\n\
         # [params] apply to every component whose prototype declares them;\n\
         # [components.NAME] override one component's params here.\n",
    );
    doc["namespace"] = toml_edit::value(spec.namespace.as_deref().unwrap_or("default"));
    doc["kubernetesVersion"] = toml_edit::value(
        spec.kubernetes_version.as_deref().unwrap_or(crate::prototype::DEFAULT_KUBERNETES_VERSION),
    );
    apply_spec(&mut doc, spec);
    Ok(doc.to_string())
}

fn apply_spec(doc: &mut toml_edit::DocumentMut, spec: &EnvironmentSpec) {
    if let Some(ns) = &spec.namespace {
        doc["namespace"] = toml_edit::value(ns);
    }
    if let Some(version) = &spec.kubernetes_version {
        doc["kubernetesVersion"] = toml_edit::value(version);
    }
    if spec.context.is_some() || spec.server.is_some() {
        let cluster = files::table_mut(doc, &["cluster"]);
        cluster.clear();
        if let Some(context) = &spec.context {
            cluster["context"] = toml_edit::value(context);
        }
        if let Some(server) = &spec.server {
            cluster["server"] = toml_edit::value(server);
        }
    }
    if !spec.labels.is_empty() {
        let labels = files::table_mut(doc, &["labels"]);
        for (key, value) in &spec.labels {
            match value {
                Some(v) => labels[key.as_str()] = toml_edit::value(v),
                None => {
                    labels.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Limit;

    fn app_with(app_limits: &str, envs: &[(&str, &str)]) -> (tempfile::TempDir, App) {
        let parent = tempfile::tempdir().unwrap();
        let app = App::init(parent.path(), "a", "dev", &EnvironmentSpec::default()).unwrap();
        let text = app.dir().read(APP_FILE).unwrap().unwrap();
        app.dir().write(APP_FILE, format!("{text}{app_limits}").as_bytes()).unwrap();
        for (env, text) in envs {
            app.dir().write(environment_path(env), text.as_bytes()).unwrap();
        }
        let app = App::open(app.dir().root()).unwrap();
        (parent, app)
    }

    /// Kiln's defaults, under the app's `[limits]`, under the environment's.
    #[test]
    fn environment_limits_go_over_the_apps_over_the_defaults() {
        let (_dir, app) = app_with(
            "[limits]\nfuel = \"5e9\"\nobjects = 50\n",
            &[("prod", "[limits]\nobjects = 5\nmemory = \"1GiB\"\n"), ("dev", "")],
        );
        let defaults = Limits::default();
        let in_app = app.limits(None).unwrap();
        assert_eq!(in_app.get(Limit::Fuel), 5_000_000_000);
        assert_eq!(in_app.get(Limit::Objects), 50);
        assert_eq!(in_app.get(Limit::Memory), defaults.get(Limit::Memory));
        let prod = app.limits(Some("prod")).unwrap();
        assert_eq!(prod.get(Limit::Fuel), 5_000_000_000, "the app's, not overridden");
        assert_eq!(prod.get(Limit::Objects), 5);
        assert_eq!(prod.get(Limit::Memory), 1 << 30);
        assert_eq!(prod.get(Limit::Stack), defaults.get(Limit::Stack));
        assert_eq!(app.limits(Some("dev")).unwrap(), in_app);
        let err = app.limits(Some("prdo")).unwrap_err();
        assert_eq!(err.to_string(), "unknown environment `prdo` (did you mean `prod`?)");
    }

    #[test]
    fn an_app_without_limits_has_the_defaults() {
        let (_dir, app) = app_with("", &[]);
        assert_eq!(app.limits(None).unwrap(), Limits::default());
        assert_eq!(app.limits(Some("dev")).unwrap(), Limits::default());
        let env = app.dir().read(environment_path("dev")).unwrap().unwrap();
        assert!(!env.contains("limits"), "`init` writes no `[limits]`: {env}");
        assert!(!app.dir().read(APP_FILE).unwrap().unwrap().contains("limits"));
    }

    /// What Kiln writes into an app file (params, environment settings, the default
    /// environment) leaves the user's `[limits]` as written, comments included.
    #[test]
    fn edits_keep_the_users_limits() {
        let app_limits = "\n# Our prototypes are big.\n[limits]\nmemory = \"512MiB\" # measured\n";
        let env_limits = "\n[limits]\n# prod renders many objects\nobjects = 50000\n";
        let (_dir, mut app) =
            app_with(app_limits, &[("prod", &format!("namespace = \"prod\"\n{env_limits}"))]);
        app.add_environment("stage", &EnvironmentSpec::default()).unwrap();
        let spec = EnvironmentSpec {
            namespace: Some("production".into()),
            context: Some("gke".into()),
            labels: vec![("team".into(), Some("ml".into()))],
            ..Default::default()
        };
        app.set_environment("prod", &spec).unwrap();
        app.set_param(ParamTarget::EnvGlobal("prod"), "cloud", &ParamValue::String("gke".into()))
            .unwrap();
        app.set_default_environment("prod").unwrap();
        let prod = app.dir().read(environment_path("prod")).unwrap().unwrap();
        assert!(prod.contains(env_limits), "{prod}");
        assert!(prod.contains("namespace = \"production\""), "{prod}");
        assert!(prod.contains("cloud = \"gke\""), "{prod}");
        let kiln_toml = app.dir().read(APP_FILE).unwrap().unwrap();
        assert!(kiln_toml.contains(app_limits), "{kiln_toml}");
        assert!(kiln_toml.contains("defaultEnvironment = \"prod\""), "{kiln_toml}");
        assert!(app.unset_param(ParamTarget::EnvGlobal("prod"), "cloud").unwrap());
        app.remove_environment("prod").unwrap();
        let kiln_toml = app.dir().read(APP_FILE).unwrap().unwrap();
        assert!(kiln_toml.contains(app_limits), "{kiln_toml}");
        let app = App::open(app.dir().root()).unwrap();
        assert_eq!(app.limits(None).unwrap().get(Limit::Memory), 512 << 20);
    }
}
