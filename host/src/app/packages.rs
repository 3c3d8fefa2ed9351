//! Installed packages: `vendor/<registry>/<package>/` and `kiln.lock`, which records each
//! package's registry, version, exact source, the permissions the user granted it and every
//! installed file's sha256. Loading a prototype verifies its package's files against the lock
//! before any guest code can run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{App, AppError, Transaction};
use crate::checked::{Checked, Stamp};
use crate::registry::{self, Fetched, MANIFEST_FILE, PackageManifest, PermissionSet, wasm_file};

/// The lock file.
pub const LOCK_FILE: &str = "kiln.lock";
const LOCK_VERSION: u32 = 1;

/// `kiln.lock`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockFile {
    version: u32,
    #[serde(default, rename = "package")]
    packages: Vec<InstalledPackage>,
}

/// A package recorded in `kiln.lock`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstalledPackage {
    /// The registry it came from.
    pub registry: String,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Exactly where it came from: `builtin`, `dir:PATH`, `git+URL#COMMIT`,
    /// `oci://HOST/REPO@sha256:...`.
    pub source: String,
    /// Its prototypes' names.
    pub prototypes: Vec<String>,
    /// What the user allowed its prototypes to emit.
    #[serde(default)]
    pub granted: PermissionSet,
    /// Its files (relative to its vendor directory) and their `sha256:` digests.
    pub files: BTreeMap<String, String>,
}

impl InstalledPackage {
    /// `registry/name`.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.registry, self.name)
    }

    /// Its directory in the app.
    pub fn dir(&self) -> String {
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

    /// `registry/package`.
    pub fn package_reference(&self) -> String {
        format!("{}/{}", self.registry, self.package)
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

/// One thing wrong with an installed package, from [`App::verify_packages`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `registry/package`.
    pub package: String,
    /// What is wrong, naming the file.
    pub message: String,
}

/// An installed file, checked against `kiln.lock`.
#[derive(Debug, Clone)]
pub struct CheckedWasm {
    /// Its sha256, as the lock records it.
    pub sha256: [u8; 32],
    /// Its bytes; `None` when it was not read because it is unchanged since it last matched
    /// (see [`crate::checked`]).
    pub bytes: Option<Vec<u8>>,
}

/// What `kiln.lock` records, read once: for commands that look up several prototypes.
#[derive(Debug, Clone, Default)]
pub struct Installed {
    packages: Vec<InstalledPackage>,
}

impl Installed {
    /// The package `reference` (`registry/package`, or an unambiguous `package`).
    pub fn package(&self, reference: &str) -> Result<InstalledPackage, AppError> {
        let all = &self.packages;
        let matches: Vec<&InstalledPackage> =
            all.iter().filter(|p| p.reference() == reference || p.name == reference).collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(AppError::Unknown {
                what: "installed package",
                name: reference.into(),
                suggestion: crate::prototype::suggest(
                    reference,
                    all.iter().map(|p| p.name.as_str()),
                ),
            }),
            many => Err(AppError::Ambiguous {
                name: reference.into(),
                candidates: many.iter().map(|p| p.reference()).collect(),
            }),
        }
    }

    /// Every installed prototype, sorted by reference.
    pub fn prototypes(&self) -> Vec<InstalledPrototype> {
        let mut all = Vec::new();
        for package in &self.packages {
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
        all
    }

    /// The installed prototype named by full reference (`kubeflow/tf-serving/tf-serving`),
    /// `package/prototype`, or unambiguous short name (`tf-serving`).
    pub fn find_prototype(&self, query: &str) -> Result<InstalledPrototype, AppError> {
        let all = self.prototypes();
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
}

impl App {
    /// What `kiln.lock` records.
    pub fn installed(&self) -> Result<Installed, AppError> {
        let Some(text) = self.dir.read(LOCK_FILE)? else { return Ok(Installed::default()) };
        Ok(Installed { packages: parse_lock(&text)? })
    }

    /// The packages in `kiln.lock`, sorted by reference.
    pub fn installed_packages(&self) -> Result<Vec<InstalledPackage>, AppError> {
        Ok(self.installed()?.packages)
    }

    /// The installed package `reference` (`registry/package`, or an unambiguous `package`).
    pub fn installed_package(&self, reference: &str) -> Result<InstalledPackage, AppError> {
        self.installed()?.package(reference)
    }

    /// Every installed prototype, sorted by reference.
    pub fn installed_prototypes(&self) -> Result<Vec<InstalledPrototype>, AppError> {
        Ok(self.installed()?.prototypes())
    }

    /// Find an installed prototype by full reference (`kubeflow/tf-serving/tf-serving`),
    /// `package/prototype`, or unambiguous short name (`tf-serving`).
    pub fn find_prototype(&self, query: &str) -> Result<InstalledPrototype, AppError> {
        self.installed()?.find_prototype(query)
    }

    /// Read `file` of `package` and check it against the lock.
    fn read_verified(&self, package: &InstalledPackage, file: &str) -> Result<Vec<u8>, AppError> {
        let verified = self.check_file(package, file, None)?;
        Ok(verified.bytes.unwrap_or_default())
    }

    /// Check `file` of `package` against the lock. With `memo`, a file unchanged since it last
    /// matched is not read again (its `bytes` are `None`); without, it is always read.
    fn check_file(
        &self,
        package: &InstalledPackage,
        file: &str,
        mut memo: Option<&mut Checked>,
    ) -> Result<CheckedWasm, AppError> {
        let path = format!("{}/{file}", package.dir());
        let expected = package.files.get(file).cloned().ok_or_else(|| AppError::Invalid {
            location: LOCK_FILE.into(),
            message: format!("package `{}` has no digest for {file}", package.reference()),
        })?;
        let sha256 = expected
            .strip_prefix("sha256:")
            .and_then(|hex| hex::decode(hex).ok()?.try_into().ok())
            .ok_or_else(|| AppError::Invalid {
                location: LOCK_FILE.into(),
                message: format!("the digest of {path} is not `sha256:` and 64 hex digits"),
            })?;
        let open = self.dir.open_file(&path)?;
        let stamp = Stamp::of(&open).ok();
        if let (Some(memo), Some(stamp)) = (memo.as_deref_mut(), &stamp)
            && memo.digest(stamp) == Some(sha256)
        {
            return Ok(CheckedWasm { sha256, bytes: None });
        }
        // A tampered file may be huge: refuse it unread, at the limits of a registry.
        let (limit, what) = if file == MANIFEST_FILE {
            (registry::MAX_TEXT_BYTES, "a package manifest")
        } else {
            (registry::MAX_WASM_BYTES, "a prototype")
        };
        let bytes = self
            .dir
            .read_open_at_most(path.as_ref(), &open, limit)?
            .map_err(|size| AppError::TooLarge { path: path.clone(), size, limit, what })?;
        let found = registry::digest(&bytes);
        if found != expected {
            return Err(AppError::Tampered { path, expected, found });
        }
        if let (Some(memo), Some(before), Ok(after)) = (memo, stamp, Stamp::of(&open)) {
            memo.remember(before, after, sha256);
        }
        Ok(CheckedWasm { sha256, bytes: Some(bytes) })
    }

    /// The wasm of an installed prototype, verified against `kiln.lock` together with its
    /// package's manifest (which must list the same digest), and the permissions granted to
    /// the package.
    pub fn read_prototype(
        &self,
        prototype: &InstalledPrototype,
    ) -> Result<(Vec<u8>, PermissionSet), AppError> {
        let (wasm, granted) = self.check_prototype(&self.installed()?, prototype, None)?;
        Ok((wasm.bytes.unwrap_or_default(), granted))
    }

    /// [`App::read_prototype`] from the lock as `installed` read it, except that with `memo` a
    /// wasm file unchanged since it last matched the lock is not read again: what is known is
    /// its sha256, which is what the compiled-code cache is keyed by. Without `memo`, `bytes`
    /// is always read.
    pub fn check_prototype(
        &self,
        installed: &Installed,
        prototype: &InstalledPrototype,
        memo: Option<&mut Checked>,
    ) -> Result<(CheckedWasm, PermissionSet), AppError> {
        let package = installed.package(&prototype.package_reference())?;
        let manifest_bytes = self.read_verified(&package, MANIFEST_FILE)?;
        let manifest = PackageManifest::parse(&package.reference(), &manifest_bytes, None)
            .map_err(|e| AppError::Invalid {
                location: format!("{}/{MANIFEST_FILE}", package.dir()),
                message: e.to_string(),
            })?;
        let file = wasm_file(&prototype.name);
        let listed = manifest.prototypes.iter().find(|p| p.name == prototype.name);
        if listed.map(|p| &p.sha256) != package.files.get(&file) {
            return Err(AppError::Invalid {
                location: LOCK_FILE.into(),
                message: format!(
                    "the digest of {}/{file} differs from the one in the package's {MANIFEST_FILE}; \
                     the lock was edited",
                    package.dir()
                ),
            });
        }
        let wasm = self.check_file(&package, &file, memo)?;
        Ok((wasm, package.granted))
    }

    /// Check every installed file against `kiln.lock`; every problem found, not just the first.
    pub fn verify_packages(&self) -> Result<Vec<Finding>, AppError> {
        let mut findings = Vec::new();
        for package in self.installed_packages()? {
            for file in package.files.keys() {
                if let Err(e) = self.read_verified(&package, file) {
                    findings.push(Finding { package: package.reference(), message: e.to_string() });
                }
            }
            for prototype in &package.prototypes {
                if !package.files.contains_key(&wasm_file(prototype)) {
                    findings.push(Finding {
                        package: package.reference(),
                        message: format!("{LOCK_FILE} has no digest for {}", wasm_file(prototype)),
                    });
                }
            }
            let listed = self.dir.list(package.dir(), "wasm")?;
            for extra in listed.iter().filter(|n| !package.prototypes.contains(n)) {
                findings.push(Finding {
                    package: package.reference(),
                    message: format!("{}/{extra}.wasm is not in {LOCK_FILE}", package.dir()),
                });
            }
        }
        Ok(findings)
    }

    /// Install (or replace) a fetched package, granting it `granted`. Files of a replaced
    /// version that the new one lacks are removed; all of it happens in one transaction.
    pub fn install(
        &self,
        fetched: &Fetched,
        granted: PermissionSet,
    ) -> Result<InstalledPackage, AppError> {
        let record = InstalledPackage {
            registry: fetched.registry.clone(),
            name: fetched.manifest.name.clone(),
            version: fetched.manifest.version.clone(),
            source: fetched.source.clone(),
            prototypes: fetched.manifest.prototypes.iter().map(|p| p.name.clone()).collect(),
            granted,
            files: fetched.files.iter().map(|(f, b)| (f.clone(), registry::digest(b))).collect(),
        };
        let mut installed = self.installed_packages()?;
        let mut tx = Transaction::new();
        if let Some(old) = installed.iter().find(|p| p.reference() == record.reference()) {
            for file in old.files.keys().filter(|f| !record.files.contains_key(*f)) {
                tx.remove(format!("{}/{file}", old.dir()));
            }
        }
        installed.retain(|p| p.reference() != record.reference());
        for (file, bytes) in &fetched.files {
            tx.write(format!("{}/{file}", record.dir()), bytes.clone());
        }
        installed.push(record.clone());
        tx.write(LOCK_FILE, render_lock(installed));
        tx.commit(&self.dir)?;
        Ok(record)
    }

    /// Remove the installed package `reference`, refusing while components use it.
    pub fn remove_package(&self, reference: &str) -> Result<InstalledPackage, AppError> {
        let package = self.installed_package(reference)?;
        let prefix = format!("{}/", package.reference());
        let mut users = Vec::new();
        for component in self.components()? {
            if self.component(&component)?.prototype.starts_with(&prefix) {
                users.push(component);
            }
        }
        if !users.is_empty() {
            return Err(AppError::InUse { what: "package", name: package.reference(), users });
        }
        let mut installed = self.installed_packages()?;
        installed.retain(|p| p.reference() != package.reference());
        let mut tx = Transaction::new();
        for file in package.files.keys() {
            tx.remove(format!("{}/{file}", package.dir()));
        }
        tx.write(LOCK_FILE, render_lock(installed));
        tx.commit(&self.dir)?;
        Ok(package)
    }
}

/// Read `kiln.lock`: its packages, sorted by reference, each checked for names and files a
/// package cannot have.
pub(crate) fn parse_lock(text: &str) -> Result<Vec<InstalledPackage>, AppError> {
    let lock: LockFile = toml::from_str(text).map_err(|e| AppError::Invalid {
        location: LOCK_FILE.into(),
        message: format!(
            "{}; reinstall the packages or restore the file",
            e.to_string().trim_end()
        ),
    })?;
    if lock.version != LOCK_VERSION {
        return Err(AppError::Invalid {
            location: LOCK_FILE.into(),
            message: format!(
                "lock file version {} is not {LOCK_VERSION}, the one this Kiln reads",
                lock.version
            ),
        });
    }
    let mut packages = lock.packages;
    for p in &packages {
        let bad = registry::check_package_name(&p.name)
            .err()
            .or_else(|| registry::check_package_name(&p.registry).err())
            .or_else(|| {
                p.files
                    .keys()
                    .find(|f| {
                        *f != MANIFEST_FILE && !p.prototypes.iter().any(|n| wasm_file(n) == **f)
                    })
                    .map(|f| format!("package `{}` lists an unexpected file `{f}`", p.name))
            });
        if let Some(message) = bad {
            return Err(AppError::Invalid { location: LOCK_FILE.into(), message });
        }
    }
    packages.sort_by_key(InstalledPackage::reference);
    Ok(packages)
}

/// Write `kiln.lock` for `packages`.
pub(crate) fn render_lock(mut packages: Vec<InstalledPackage>) -> String {
    packages.sort_by_key(InstalledPackage::reference);
    let lock = LockFile { version: LOCK_VERSION, packages };
    let mut text = String::from(
        "# Written by kiln: the installed packages, where each came from, the permissions granted\n\
         # to it and the sha256 of every file. Do not edit; `kiln pkg install|update|rm` change it.\n",
    );
    text.push_str(&toml::to_string(&lock).expect("the lock is plain strings and tables"));
    text
}
