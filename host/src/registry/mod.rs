//! Where packages come from: the built-in `kubeflow` registry (embedded, offline), directories,
//! git repositories and OCI registries. A registry serves an index (packages, versions, the
//! digest of each version's manifest) and packages (a manifest and wasm files).
//!
//! Everything a registry serves is untrusted. [`fetch`] checks the manifest against the digest
//! the index gives, every wasm against the digest the manifest gives, every name and every size,
//! and returns the files in memory: nothing is written until all of it holds.
//!
//! # Adding a registry kind
//!
//! A kind is a case of [`Location`]. Add it, then build: these match on it with one arm per
//! kind (no `_ =>`) and fail to compile until they say what the kind does:
//!
//! - here: `Location::uri` (what `kiln.toml` stores), `reference`, `kind` (the name
//!   `kiln registry list` shows), [`default_name`], [`open`] (a [`Source`] in a module of its
//!   own, as `dir.rs`, `git.rs` and `oci.rs`) and [`publish`];
//! - the test `every_kind_reads_back_from_its_uri`, which wants an example of the kind.
//!
//! By hand: `Location::parse`, which must read the kind's URIs (that test fails until it
//! reads back what `uri` writes), and the registry docs in `docs/`.

mod builtin;
mod check;
mod dir;
mod git;
mod manifest;
mod oci;

use std::path::{Path, PathBuf};

pub use builtin::{BUILTIN, BuiltinPackage, builtin_packages, builtin_wasm};
pub use check::check_prototypes;
pub use manifest::{
    INDEX_FILE, Index, IndexPackage, MANIFEST_FILE, MAX_TEXT_BYTES, MAX_WASM_BYTES,
    ManifestPrototype, PackageManifest, PermissionSet, check_digest, check_package_name,
    parse_group_kind, wasm_file,
};

pub use crate::checked::digest;

/// Something wrong with a registry or what it serves.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A registry URI Kiln cannot read.
    #[error("invalid registry URI `{uri}`: {message}")]
    InvalidUri {
        /// The URI given.
        uri: String,
        /// What is wrong.
        message: String,
    },
    /// The registry could not be read (missing directory, git or network failure).
    #[error("registry `{registry}`: {message}")]
    Unreachable {
        /// The registry's name.
        registry: String,
        /// What failed.
        message: String,
    },
    /// An index that is not valid.
    #[error("registry `{origin}`: invalid index: {message}")]
    BadIndex {
        /// The registry.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A package that is not valid.
    #[error("package `{origin}`: {message}")]
    BadPackage {
        /// `registry/package@version`.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A file whose digest is not the one it was promised with.
    #[error(
        "package `{origin}`: {file} has digest {found}, but {claimed_by} says {expected}; \
         nothing was installed"
    )]
    DigestMismatch {
        /// `registry/package@version`.
        origin: String,
        /// The file.
        file: String,
        /// Who promised the digest: `the index`, `kiln-package.toml`.
        claimed_by: &'static str,
        /// The promised digest.
        expected: String,
        /// The file's digest.
        found: String,
    },
    /// A file Kiln refuses to read: a symlink, a special file, too large, a path out.
    #[error("package `{origin}`: refusing {path}: {reason}")]
    Unsafe {
        /// `registry/package@version` or the registry.
        origin: String,
        /// The offending path.
        path: String,
        /// Why.
        reason: String,
    },
    /// No such package in the registry.
    #[error("registry `{registry}` has no package `{name}`{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownPackage {
        /// The registry.
        registry: String,
        /// The package asked for.
        name: String,
        /// A near match.
        suggestion: Option<String>,
    },
    /// No version of the package matches.
    #[error(
        "package `{registry}/{name}` has no version matching `{wanted}` (available: {available})"
    )]
    NoVersion {
        /// The registry.
        registry: String,
        /// The package.
        name: String,
        /// The version or requirement asked for.
        wanted: String,
        /// The versions there are.
        available: String,
    },
    /// A package asks for permissions the user has not granted.
    #[error("package `{package}` asks to emit:{}\nand they were not granted", asked.iter().map(|l| format!("\n  - {l}")).collect::<String>())]
    NotGranted {
        /// `registry/package`.
        package: String,
        /// What it asks for, one line each.
        asked: Vec<String>,
    },
    /// Publishing is not possible to this kind of registry.
    #[error("cannot publish to registry `{registry}`: {message}")]
    Publish {
        /// The registry.
        registry: String,
        /// Why.
        message: String,
    },
    /// A prototype of the package could not be compiled or described within the user's
    /// limits, so it cannot be checked against the manifest. The prototype's error is part of
    /// the message (not a separate cause), so it reads as one line.
    #[error("package `{package}`: {error}; nothing was installed")]
    Refused {
        /// `registry/package@version`.
        package: String,
        /// Why the prototype could not be compiled or described.
        error: crate::render::Error,
    },
    /// A prototype describes itself under another name than the manifest gives it.
    #[error(
        "package `{package}`: prototype `{prototype}` describes itself as `{described}`; \
         nothing was installed"
    )]
    Misnamed {
        /// `registry/package@version`.
        package: String,
        /// The name in the manifest.
        prototype: String,
        /// The name its `describe()` gives.
        described: String,
    },
    /// A prototype asks to emit more than the package's manifest declares: more than the user
    /// would grant.
    #[error(
        "package `{package}`: prototype `{prototype}` asks to emit what kiln-package.toml does \
         not declare:{}\nnothing was installed",
        asked.iter().map(|l| format!("\n  - {l}")).collect::<String>()
    )]
    Undeclared {
        /// `registry/package@version`.
        package: String,
        /// The prototype.
        prototype: String,
        /// What it asks for beyond the manifest, one line each.
        asked: Vec<String>,
    },
}

impl RegistryError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            RegistryError::InvalidUri { .. } => Some(
                "give a directory path, a git URL (`git+https://...`, `file:///repo.git`, \
                 `https://host/repo.git`, with `#REF` or `--ref` to pin), or `oci://HOST[:PORT]/NAMESPACE`"
                    .into(),
            ),
            RegistryError::DigestMismatch { .. } | RegistryError::Unsafe { .. } => Some(
                "the registry serves content that does not match what it promised; tell its \
                 owner, and do not install from it until it is fixed"
                    .into(),
            ),
            RegistryError::NotGranted { .. } => Some(
                "review what it asks for, then grant it with `--yes` (or answer `y` at the \
                 prompt on a terminal)"
                    .into(),
            ),
            RegistryError::UnknownPackage { registry, .. } => {
                Some(format!("`kiln registry describe {registry}` lists its packages"))
            }
            RegistryError::Refused { error, .. } => error.hint(),
            RegistryError::Misnamed { .. } | RegistryError::Undeclared { .. } => Some(
                "the package's kiln-package.toml does not say what its prototypes are \
                 (`kiln pkg publish` writes one that does); tell the registry's owner"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// Where a registry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Kiln's own `kubeflow` packages, embedded in the binary.
    Builtin,
    /// A directory holding `index.toml` and `packages/<name>/<version>/`.
    Dir(PathBuf),
    /// A git repository laid out like a directory registry, at a branch, tag or commit.
    Git {
        /// Any URL git understands.
        url: String,
        /// The branch, tag or commit; the remote's default branch when `None`.
        reference: Option<String>,
    },
    /// An OCI registry: `host[:port]` and a namespace under which every package is a repository.
    Oci {
        /// `host[:port]`.
        host: String,
        /// The repository namespace, e.g. `kiln` or `team/kiln`.
        namespace: String,
    },
}

impl Location {
    /// Read a registry URI. Directories are made absolute against `cwd`; a git URL may end in
    /// `#REF`, or the ref may be given apart as `reference`.
    pub fn parse(
        uri: &str,
        reference: Option<&str>,
        cwd: &Path,
    ) -> Result<Location, RegistryError> {
        let invalid =
            |message: &str| RegistryError::InvalidUri { uri: uri.into(), message: message.into() };
        if uri.is_empty() {
            return Err(invalid("it is empty"));
        }
        if let Some(rest) = uri.strip_prefix("oci://") {
            if reference.is_some() {
                return Err(invalid(
                    "`--ref` is for git registries; OCI packages are versioned by tag",
                ));
            }
            let (host, namespace) = rest.split_once('/').ok_or_else(|| {
                invalid("an OCI registry needs a namespace: `oci://HOST[:PORT]/NAMESPACE`")
            })?;
            let namespace = namespace.trim_end_matches('/');
            let ns_ok = !namespace.is_empty()
                && namespace.split('/').all(|part| {
                    !part.is_empty()
                        && part.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                        })
                });
            if host.is_empty() || !ns_ok {
                return Err(invalid(
                    "expected `oci://HOST[:PORT]/NAMESPACE` with a lowercase namespace",
                ));
            }
            return Ok(Location::Oci { host: host.into(), namespace: namespace.into() });
        }
        let (url, fragment) = match uri.split_once('#') {
            Some((url, r)) => (url, Some(r)),
            None => (uri, None),
        };
        let git_url = url.strip_prefix("git+").map(String::from).or_else(|| {
            let schemes = ["https://", "http://", "ssh://", "git://", "file://"];
            let scp_like = url.contains('@') && url.contains(':') && !url.starts_with('/');
            (schemes.iter().any(|s| url.starts_with(s)) || scp_like || url.ends_with(".git"))
                .then(|| url.to_string())
                .or_else(|| host_path(url, cwd).then(|| format!("https://{url}")))
        });
        match git_url {
            Some(url) => {
                let reference = match (fragment, reference) {
                    (Some(_), Some(_)) => {
                        return Err(invalid("give the git ref once: `#REF` or `--ref`"));
                    }
                    (Some(r), None) | (None, Some(r)) => Some(r.to_string()),
                    (None, None) => None,
                };
                if reference.as_deref().is_some_and(|r| r.is_empty() || r.starts_with('-')) {
                    return Err(invalid("the git ref must be a branch, tag or commit"));
                }
                if url.starts_with('-') {
                    return Err(invalid("a git URL cannot start with `-`"));
                }
                let url = if !url.contains("://") && !url.contains('@') {
                    // A local repository path (`./registry.git`): make it absolute.
                    cwd.join(url).to_string_lossy().into_owned()
                } else {
                    url
                };
                Ok(Location::Git { url, reference })
            }
            None => {
                if fragment.is_some() || reference.is_some() {
                    return Err(invalid(
                        "a ref pins a git registry; a directory is read as it is (use \
                         `git+file:///PATH#REF` for a git repository on disk)",
                    ));
                }
                Ok(Location::Dir(cwd.join(uri)))
            }
        }
    }

    /// The URI as stored in `kiln.toml` (without the git ref, which is stored apart).
    pub fn uri(&self) -> String {
        match self {
            Location::Builtin => "builtin".into(),
            Location::Dir(path) => path.to_string_lossy().into_owned(),
            Location::Git { url, .. } => format!("git+{url}"),
            Location::Oci { host, namespace } => format!("oci://{host}/{namespace}"),
        }
    }

    /// The git ref, for git registries that pin one.
    pub fn reference(&self) -> Option<&str> {
        match self {
            Location::Git { reference, .. } => reference.as_deref(),
            Location::Builtin | Location::Dir(_) | Location::Oci { .. } => None,
        }
    }

    /// `builtin`, `directory`, `git` or `oci`.
    pub fn kind(&self) -> &'static str {
        match self {
            Location::Builtin => "builtin",
            Location::Dir(_) => "directory",
            Location::Git { .. } => "git",
            Location::Oci { .. } => "oci",
        }
    }
}

/// Whether `uri` is `HOST/PATH` as ksonnet wrote registries (`github.com/kubeflow/ksonnet`):
/// a first segment that is a DNS name with a dot (no scheme, no port), a path after it, and no
/// such directory here. Read as `https://HOST/PATH`.
fn host_path(uri: &str, cwd: &Path) -> bool {
    let Some((host, path)) = uri.split_once('/') else { return false };
    host.contains('.')
        && crate::names::is_dns1123_subdomain(host)
        && !path.is_empty()
        && !uri.starts_with('.')
        && !cwd.join(uri).exists()
}

/// A registry name for `location` when the user gives none: the last segment of its path,
/// without `.git`, lowercased, as a DNS-1123 label; `None` when that makes no name.
pub fn default_name(location: &Location) -> Option<String> {
    let path = match location {
        Location::Builtin => return None,
        Location::Dir(path) => path.to_string_lossy().into_owned(),
        Location::Git { url, .. } => url.clone(),
        Location::Oci { namespace, .. } => namespace.clone(),
    };
    let last = path.trim_end_matches('/').rsplit(['/', ':']).next()?.trim_end_matches(".git");
    let name: String = last
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let name = name.trim_matches('-').to_string();
    crate::names::is_dns1123_label(&name).then_some(name)
}

/// A registry Kiln can read from.
pub trait Source {
    /// The registry's index.
    fn index(&mut self) -> Result<Index, RegistryError>;
    /// The file `file` of `package` at `version`, refused if larger than `max` bytes.
    fn read(
        &mut self,
        package: &str,
        version: &str,
        file: &str,
        max: u64,
    ) -> Result<Vec<u8>, RegistryError>;
    /// Where exactly `package@version` came from, for `kiln.lock`: `builtin`, the directory,
    /// `git+URL#COMMIT` or `oci://HOST/REPO@sha256:...`.
    fn source_id(&mut self, package: &str, version: &str) -> Result<String, RegistryError>;
}

/// Open the registry `name` at `location`.
pub fn open(name: &str, location: &Location) -> Result<Box<dyn Source>, RegistryError> {
    Ok(match location {
        Location::Builtin => Box::new(builtin::Builtin),
        Location::Dir(path) => Box::new(dir::DirSource::open(name, path)?),
        Location::Git { url, reference } => {
            Box::new(git::GitSource::fetch(name, url, reference.as_deref())?)
        }
        Location::Oci { host, namespace } => Box::new(oci::OciSource::new(name, host, namespace)?),
    })
}

/// A package read from a registry and checked, held in memory.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The registry's name.
    pub registry: String,
    /// The manifest.
    pub manifest: PackageManifest,
    /// Every file by name: the manifest first, then each prototype's wasm.
    pub files: Vec<(String, Vec<u8>)>,
    /// Where exactly it came from.
    pub source: String,
}

impl Fetched {
    /// `registry/package`.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.registry, self.manifest.name)
    }
}

/// Find `package` in `index` and the version `wanted` asks for (an exact version or a semver
/// requirement such as `^1.2`; the newest when `None`): its version and manifest digest.
pub fn resolve_version<'i>(
    registry: &str,
    index: &'i Index,
    package: &str,
    wanted: Option<&str>,
) -> Result<(&'i str, &'i str), RegistryError> {
    let entry = index.packages.get(package).ok_or_else(|| RegistryError::UnknownPackage {
        registry: registry.into(),
        name: package.into(),
        suggestion: crate::prototype::suggest(package, index.packages.keys().map(String::as_str)),
    })?;
    let available = || entry.versions.keys().cloned().collect::<Vec<_>>().join(", ");
    let requirement = match wanted {
        None => None,
        // A bare version means exactly that version, not semver's default `^`.
        Some(w) => Some({
            let text = if semver::Version::parse(w).is_ok() { format!("={w}") } else { w.into() };
            semver::VersionReq::parse(&text).map_err(|_| RegistryError::NoVersion {
                registry: registry.into(),
                name: package.into(),
                wanted: w.into(),
                available: available(),
            })?
        }),
    };
    entry.pick(requirement.as_ref()).ok_or_else(|| RegistryError::NoVersion {
        registry: registry.into(),
        name: package.into(),
        wanted: wanted.unwrap_or("any").into(),
        available: available(),
    })
}

/// Read `package` at `version` from `source` and check all of it: the manifest against
/// `manifest_digest` (from the index), then each wasm against the manifest.
pub fn fetch(
    registry: &str,
    source: &mut dyn Source,
    package: &str,
    version: &str,
    manifest_digest: &str,
) -> Result<Fetched, RegistryError> {
    let origin = format!("{registry}/{package}@{version}");
    let manifest_bytes = source.read(package, version, MANIFEST_FILE, MAX_TEXT_BYTES)?;
    let found = digest(&manifest_bytes);
    if found != manifest_digest {
        return Err(RegistryError::DigestMismatch {
            origin,
            file: MANIFEST_FILE.into(),
            claimed_by: "the index",
            expected: manifest_digest.into(),
            found,
        });
    }
    let manifest = PackageManifest::parse(&origin, &manifest_bytes, Some((package, version)))?;
    let mut files = vec![(MANIFEST_FILE.to_string(), manifest_bytes)];
    for prototype in &manifest.prototypes {
        let bytes = source.read(package, version, &prototype.file, MAX_WASM_BYTES)?;
        let found = digest(&bytes);
        if found != prototype.sha256 {
            return Err(RegistryError::DigestMismatch {
                origin,
                file: prototype.file.clone(),
                claimed_by: MANIFEST_FILE,
                expected: prototype.sha256.clone(),
                found,
            });
        }
        if !bytes.starts_with(b"\0asm") {
            return Err(RegistryError::BadPackage {
                origin,
                message: format!("{} is not WebAssembly", prototype.file),
            });
        }
        files.push((prototype.file.clone(), bytes));
    }
    let source = source.source_id(package, version)?;
    Ok(Fetched { registry: registry.into(), manifest, files, source })
}

/// A package ready to publish: its manifest (with digests and permissions filled in) and files.
#[derive(Debug, Clone)]
pub struct Publication {
    /// The manifest.
    pub manifest: PackageManifest,
    /// Each prototype's wasm by file name.
    pub wasm: Vec<(String, Vec<u8>)>,
}

impl Publication {
    /// Build a publication from prototypes `(name, wasm, permissions)`, computing digests and
    /// the union of the permissions.
    pub fn new(
        name: &str,
        version: &str,
        description: &str,
        prototypes: Vec<(String, Vec<u8>, PermissionSet)>,
    ) -> Result<Publication, RegistryError> {
        let mut manifest = PackageManifest {
            name: name.into(),
            version: version.into(),
            description: description.into(),
            prototypes: Vec::new(),
            permissions: PermissionSet::default(),
        };
        let mut wasm = Vec::new();
        for (proto, bytes, permissions) in prototypes {
            let file = wasm_file(&proto);
            manifest.prototypes.push(ManifestPrototype {
                name: proto,
                file: file.clone(),
                sha256: digest(&bytes),
            });
            manifest.permissions = manifest.permissions.union(&permissions);
            wasm.push((file, bytes));
        }
        manifest.check().map_err(|message| RegistryError::BadPackage {
            origin: format!("{name}@{version}"),
            message,
        })?;
        Ok(Publication { manifest, wasm })
    }
}

/// Publish `publication` to the registry `name` at `location`, refusing to replace a version
/// that is there with different content. Returns where it went.
pub fn publish(
    name: &str,
    location: &Location,
    publication: &Publication,
) -> Result<String, RegistryError> {
    match location {
        Location::Dir(path) => dir::publish(name, path, publication),
        Location::Oci { host, namespace } => {
            oci::OciSource::new(name, host, namespace)?.publish(publication)
        }
        Location::Builtin => Err(RegistryError::Publish {
            registry: name.into(),
            message: "the built-in registry is part of Kiln".into(),
        }),
        Location::Git { .. } => Err(RegistryError::Publish {
            registry: name.into(),
            message: "git registries are written with git: publish to a directory registry in a \
                      clone (`kiln pkg publish DIR --to ./clone`), then commit and push"
                .into(),
        }),
    }
}

/// The error for a version that is already published with other content.
fn already_published(registry: &str, manifest: &PackageManifest) -> RegistryError {
    RegistryError::Publish {
        registry: registry.into(),
        message: format!(
            "{}@{} is already published with different content; versions are immutable, so \
             publish a new version",
            manifest.name, manifest.version
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_read_by_kind() {
        let cwd = Path::new("/work/app");
        let parse = |uri, r| Location::parse(uri, r, cwd);
        assert_eq!(
            parse("regs/local", None).unwrap(),
            Location::Dir("/work/app/regs/local".into())
        );
        assert_eq!(
            parse("git+https://example.com/r.git#v1", None).unwrap(),
            Location::Git { url: "https://example.com/r.git".into(), reference: Some("v1".into()) }
        );
        assert_eq!(
            parse("file:///srv/r.git", Some("main")).unwrap(),
            Location::Git { url: "file:///srv/r.git".into(), reference: Some("main".into()) }
        );
        assert_eq!(
            parse("./r.git", None).unwrap(),
            Location::Git { url: "/work/app/./r.git".into(), reference: None }
        );
        assert_eq!(
            parse("oci://127.0.0.1:5000/team/kiln", None).unwrap(),
            Location::Oci { host: "127.0.0.1:5000".into(), namespace: "team/kiln".into() }
        );
        for bad in ["oci://host", "oci://host/UPPER", "", "git+https://x/r.git#-u"] {
            assert!(parse(bad, None).is_err(), "{bad}");
        }
        assert!(parse("dir", Some("v1")).is_err(), "a directory has no ref");
        let loc = parse("git+file:///srv/r.git#v1", None).unwrap();
        assert_eq!((loc.uri().as_str(), loc.reference()), ("git+file:///srv/r.git", Some("v1")));
    }

    /// What `kiln.toml` stores of a location (its URI and ref) reads back as that location.
    #[test]
    fn every_kind_reads_back_from_its_uri() {
        let cwd = Path::new("/work/app");
        let git = |reference: Option<&str>| Location::Git {
            url: "https://example.com/r.git".into(),
            reference: reference.map(String::from),
        };
        let examples = [
            Location::Dir("/work/app/regs/local".into()),
            git(None),
            git(Some("v1")),
            Location::Oci { host: "127.0.0.1:5000".into(), namespace: "team/kiln".into() },
        ];
        // One arm per kind, no wildcard: a new kind fails to compile here until it has an
        // example above.
        let stored = |location: &Location| match location {
            // Never stored: every app has it.
            Location::Builtin => false,
            Location::Dir(_) | Location::Git { .. } | Location::Oci { .. } => true,
        };
        for location in examples.iter().filter(|l| stored(l)) {
            let read = Location::parse(&location.uri(), location.reference(), cwd);
            assert_eq!(read.as_ref().ok(), Some(location), "{}: {read:?}", location.uri());
        }
    }

    /// The seed's `ks registry add github.com/kubeflow/ksonnet` names a git host and a path.
    #[test]
    fn a_host_and_path_is_a_git_url_unless_it_is_a_directory_here() {
        let cwd = tempfile::tempdir().unwrap();
        let parse = |uri| Location::parse(uri, None, cwd.path()).unwrap();
        let https = |url: &str| Location::Git { url: url.into(), reference: None };
        assert_eq!(
            parse("github.com/kubeflow/ksonnet"),
            https("https://github.com/kubeflow/ksonnet")
        );
        assert_eq!(parse("git.example.com/team/kiln#v1").reference(), Some("v1"));
        std::fs::create_dir_all(cwd.path().join("regs.d/local")).unwrap();
        assert_eq!(parse("regs.d/local"), Location::Dir(cwd.path().join("regs.d/local")));
        for dir in ["registry/local", "my_dir/x", "host.example.com/", "../x.y/z"] {
            assert!(matches!(parse(dir), Location::Dir(_)), "{dir}");
        }
    }

    #[test]
    fn a_registry_is_named_after_the_end_of_its_location() {
        let name = |uri| default_name(&Location::parse(uri, None, Path::new("/w")).unwrap());
        assert_eq!(name("github.com/kubeflow/ksonnet").as_deref(), Some("ksonnet"));
        assert_eq!(
            name("git+https://example.com/Team/Kiln_Registry.git").as_deref(),
            Some("kiln-registry")
        );
        assert_eq!(name("./registry/").as_deref(), Some("registry"));
        assert_eq!(name("oci://127.0.0.1:5000/team/kiln").as_deref(), Some("kiln"));
        assert_eq!(name("/").as_deref(), None);
    }

    #[test]
    fn versions_resolve_exactly_or_by_requirement() {
        let d = |n: u8| format!("sha256:{}", format!("{n:02x}").repeat(32));
        let mut index = Index::default();
        let entry = index.packages.entry("web".into()).or_default();
        entry.versions.insert("1.0.0".into(), d(1));
        entry.versions.insert("1.1.0".into(), d(2));
        entry.versions.insert("2.0.0".into(), d(3));
        assert_eq!(resolve_version("r", &index, "web", None).unwrap().0, "2.0.0");
        assert_eq!(resolve_version("r", &index, "web", Some("1.0.0")).unwrap().0, "1.0.0");
        assert_eq!(resolve_version("r", &index, "web", Some("^1")).unwrap().0, "1.1.0");
        let err = resolve_version("r", &index, "web", Some("3")).unwrap_err();
        assert!(err.to_string().contains("available: 1.0.0, 1.1.0, 2.0.0"), "{err}");
        let err = resolve_version("r", &index, "webb", None).unwrap_err();
        assert!(err.to_string().contains("did you mean `web`"), "{err}");
    }
}
