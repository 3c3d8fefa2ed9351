//! Installed packages: `vendor/<registry>/<package>/` and `kiln.lock`, which records every
//! installed file's sha256. Every read of a prototype verifies it against the lock before any
//! guest code can run.

use std::collections::BTreeMap;

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

use super::{App, AppError, Transaction};
use crate::registry::{self, BuiltinPackage};

/// The lock file.
pub const LOCK_FILE: &str = "kiln.lock";

/// A package recorded in `kiln.lock`.
#[derive(Debug, Clone, PartialEq)]
pub struct InstalledPackage {
    /// The registry it came from.
    pub registry: String,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Where it came from (`builtin`, a git commit, an OCI digest).
    pub source: String,
    /// Its prototypes' names.
    pub prototypes: Vec<String>,
    /// Its files (relative to its vendor directory) and their `sha256:` digests.
    pub files: BTreeMap<String, String>,
}

impl InstalledPackage {
    /// `registry/name`.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.registry, self.name)
    }

    fn dir(&self) -> String {
        format!("vendor/{}/{}", self.registry, self.name)
    }
}

/// An installed prototype.
#[derive(Debug, Clone, PartialEq)]
pub struct InstalledPrototype {
    /// Its registry.
    pub registry: String,
    /// Its package.
    pub package: String,
    /// Its name.
    pub name: String,
    /// Its wasm, relative to the app.
    pub path: String,
    /// The wasm's digest in `kiln.lock`.
    pub digest: String,
}

impl InstalledPrototype {
    /// `registry/package/prototype`, the reference components store.
    pub fn reference(&self) -> String {
        format!("{}/{}/{}", self.registry, self.package, self.name)
    }
}

/// What a component's `prototype` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrototypeRef {
    /// An installed prototype, `registry/package/prototype`.
    Installed(String),
    /// A `.wasm` file inside the app, by relative path.
    File(String),
}

impl PrototypeRef {
    /// Read a reference as written in a component file.
    pub fn parse(text: &str) -> Self {
        if text.ends_with(".wasm") {
            PrototypeRef::File(text.to_string())
        } else {
            PrototypeRef::Installed(text.to_string())
        }
    }
}

fn wasm_file(prototype: &str) -> String {
    format!("{prototype}.wasm")
}

impl App {
    /// The packages in `kiln.lock`, sorted by reference.
    pub fn installed_packages(&self) -> Result<Vec<InstalledPackage>, AppError> {
        let Some(text) = self.dir.read(LOCK_FILE)? else { return Ok(Vec::new()) };
        let doc = super::files::edit(LOCK_FILE, &text)?;
        let invalid = |message: &str| AppError::Invalid {
            location: LOCK_FILE.into(),
            message: format!("{message}; reinstall the packages or restore the file"),
        };
        let mut packages = Vec::new();
        let Some(tables) = doc.get("package").and_then(Item::as_array_of_tables) else {
            return Ok(packages);
        };
        for table in tables.iter() {
            let field = |key: &str| {
                table
                    .get(key)
                    .and_then(Item::as_str)
                    .map(String::from)
                    .ok_or_else(|| invalid(&format!("a package has no `{key}`")))
            };
            let prototypes = table
                .get("prototypes")
                .and_then(Item::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                .unwrap_or_default();
            let files = table
                .get("files")
                .and_then(Item::as_table_like)
                .map(|t| {
                    t.iter()
                        .filter_map(|(k, v)| Some((k.to_string(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            packages.push(InstalledPackage {
                registry: field("registry")?,
                name: field("name")?,
                version: field("version")?,
                source: field("source")?,
                prototypes,
                files,
            });
        }
        packages.sort_by_key(InstalledPackage::reference);
        Ok(packages)
    }

    /// Every installed prototype, sorted by reference.
    pub fn installed_prototypes(&self) -> Result<Vec<InstalledPrototype>, AppError> {
        let mut all = Vec::new();
        for package in self.installed_packages()? {
            for name in &package.prototypes {
                let file = wasm_file(name);
                all.push(InstalledPrototype {
                    registry: package.registry.clone(),
                    package: package.name.clone(),
                    name: name.clone(),
                    path: format!("{}/{file}", package.dir()),
                    digest: package.files.get(&file).cloned().unwrap_or_default(),
                });
            }
        }
        all.sort_by_key(InstalledPrototype::reference);
        Ok(all)
    }

    /// Find an installed prototype by full reference (`kubeflow/tf-serving/tf-serving`),
    /// `package/prototype`, or unambiguous short name (`tf-serving`).
    pub fn find_prototype(&self, query: &str) -> Result<InstalledPrototype, AppError> {
        let all = self.installed_prototypes()?;
        let matches: Vec<&InstalledPrototype> = all
            .iter()
            .filter(|p| {
                p.reference() == query
                    || format!("{}/{}", p.package, p.name) == query
                    || p.name == query
            })
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(AppError::Unknown {
                what: "prototype",
                name: query.into(),
                suggestion: crate::prototype::suggest(query, all.iter().map(|p| p.name.as_str())),
            }),
            many => Err(AppError::Ambiguous {
                name: query.into(),
                candidates: many.iter().map(|p| p.reference()).collect(),
            }),
        }
    }

    /// The wasm of an installed prototype, verified against `kiln.lock`.
    pub fn read_prototype(&self, prototype: &InstalledPrototype) -> Result<Vec<u8>, AppError> {
        let bytes = self.dir.read_bytes(&prototype.path)?;
        let found = registry::digest(&bytes);
        if found != prototype.digest {
            return Err(AppError::Tampered {
                path: prototype.path.clone(),
                expected: prototype.digest.clone(),
                found,
            });
        }
        Ok(bytes)
    }

    /// Install a package of the built-in registry (`kubeflow/tf-serving` or `tf-serving`),
    /// replacing an installed one only when `force`.
    pub fn install_builtin(&self, spec: &str, force: bool) -> Result<InstalledPackage, AppError> {
        let name = spec.strip_prefix(&format!("{}/", registry::BUILTIN)).unwrap_or(spec);
        let (name, version) = match name.split_once('@') {
            Some((n, v)) => (n, Some(v)),
            None => (name, None),
        };
        let package =
            registry::builtin_packages().iter().find(|p| p.name == name).ok_or_else(|| {
                AppError::Unknown {
                    what: "package",
                    name: spec.into(),
                    suggestion: crate::prototype::suggest(
                        name,
                        registry::builtin_packages().iter().map(|p| p.name),
                    ),
                }
            })?;
        if let Some(v) = version.filter(|v| *v != package.version) {
            return Err(AppError::Param(format!(
                "package `{}/{name}` has no version `{v}` (available: {})",
                registry::BUILTIN,
                package.version
            )));
        }
        let mut installed = self.installed_packages()?;
        let reference = format!("{}/{}", registry::BUILTIN, package.name);
        if installed.iter().any(|p| p.reference() == reference) && !force {
            return Err(AppError::Exists { what: "package", name: reference });
        }
        installed.retain(|p| p.reference() != reference);
        let (record, files) = builtin_files(package);
        let mut tx = Transaction::new();
        for (file, bytes) in files {
            tx.write(format!("{}/{file}", record.dir()), bytes);
        }
        installed.push(record.clone());
        installed.sort_by_key(InstalledPackage::reference);
        tx.write(LOCK_FILE, render_lock(&installed));
        tx.commit(&self.dir)?;
        Ok(record)
    }
}

/// The lock record and files of a built-in package.
fn builtin_files(package: &BuiltinPackage) -> (InstalledPackage, Vec<(String, Vec<u8>)>) {
    let mut files = Vec::new();
    let mut manifest = DocumentMut::new();
    manifest["name"] = value(package.name);
    manifest["version"] = value(package.version);
    manifest["description"] = value(package.description);
    let mut prototypes = ArrayOfTables::new();
    for name in package.prototypes {
        let wasm = registry::builtin_wasm(name).expect("built-in prototypes are embedded (tested)");
        let mut t = Table::new();
        t["name"] = value(*name);
        t["file"] = value(wasm_file(name));
        t["sha256"] = value(registry::digest(wasm));
        prototypes.push(t);
        files.push((wasm_file(name), wasm.to_vec()));
    }
    manifest["prototypes"] = Item::ArrayOfTables(prototypes);
    files.push(("kiln-package.toml".into(), manifest.to_string().into_bytes()));
    let record = InstalledPackage {
        registry: registry::BUILTIN.into(),
        name: package.name.into(),
        version: package.version.into(),
        source: "builtin".into(),
        prototypes: package.prototypes.iter().map(|p| p.to_string()).collect(),
        files: files.iter().map(|(f, b)| (f.clone(), registry::digest(b))).collect(),
    };
    (record, files)
}

fn render_lock(packages: &[InstalledPackage]) -> String {
    let mut doc = DocumentMut::new();
    doc.decor_mut().set_prefix("# Written by kiln: the installed packages and the sha256 of every file.\n# Do not edit; `kiln pkg install` updates it.\n");
    doc["version"] = value(1);
    let mut tables = ArrayOfTables::new();
    for p in packages {
        let mut t = Table::new();
        t["registry"] = value(&p.registry);
        t["name"] = value(&p.name);
        t["version"] = value(&p.version);
        t["source"] = value(&p.source);
        let mut protos = toml_edit::Array::new();
        for name in &p.prototypes {
            protos.push(name.as_str());
        }
        t["prototypes"] = value(protos);
        let mut files = Table::new();
        for (file, digest) in &p.files {
            files[file.as_str()] = value(digest);
        }
        t["files"] = Item::Table(files);
        tables.push(t);
    }
    doc["package"] = Item::ArrayOfTables(tables);
    doc.to_string()
}
