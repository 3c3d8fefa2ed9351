//! Directory registries: `index.toml` and `packages/<name>/<version>/` with `kiln-package.toml`
//! and the wasm files. Read through a capability handle on the registry's root, so no path in
//! it can lead outside; symlinks and special files are refused outright.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use super::{INDEX_FILE, Index, MANIFEST_FILE, MAX_TEXT_BYTES, Publication, RegistryError, Source};

/// A directory registry, open for reading.
pub struct DirSource {
    name: String,
    root: PathBuf,
    dir: Dir,
}

/// The path of `file` of `package@version` inside a registry (also the layout of git ones).
pub fn package_path(package: &str, version: &str, file: &str) -> String {
    format!("packages/{package}/{version}/{file}")
}

impl DirSource {
    /// Open the registry `name` at `root`.
    pub fn open(name: &str, root: &Path) -> Result<Self, RegistryError> {
        let dir = Dir::open_ambient_dir(root, ambient_authority()).map_err(|e| {
            RegistryError::Unreachable {
                registry: name.into(),
                message: format!("cannot open directory {}: {e}", root.display()),
            }
        })?;
        Ok(DirSource { name: name.into(), root: root.into(), dir })
    }

    fn read_file(&self, origin: &str, path: &str, max: u64) -> Result<Vec<u8>, RegistryError> {
        read_checked(&self.dir, path, max).map_err(|e| match e {
            ReadError::Missing => RegistryError::BadPackage {
                origin: origin.into(),
                message: format!("{path} is missing in {}", self.root.display()),
            },
            ReadError::Unsafe(reason) => {
                RegistryError::Unsafe { origin: origin.into(), path: path.into(), reason }
            }
            ReadError::Io(e) => RegistryError::Unreachable {
                registry: self.name.clone(),
                message: format!("cannot read {path}: {e}"),
            },
        })
    }
}

enum ReadError {
    Missing,
    Unsafe(String),
    Io(std::io::Error),
}

/// Read `path` in `dir` if every component is a plain directory or file (no symlinks) and the
/// file is at most `max` bytes.
fn read_checked(dir: &Dir, path: &str, max: u64) -> Result<Vec<u8>, ReadError> {
    let parts: Vec<_> = Path::new(path).components().collect();
    let mut prefix = PathBuf::new();
    for (i, part) in parts.iter().enumerate() {
        prefix.push(part);
        let meta = match dir.symlink_metadata(&prefix) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReadError::Missing),
            Err(e) => return Err(ReadError::Unsafe(format!("cannot inspect it: {e}"))),
        };
        if meta.is_symlink() {
            return Err(ReadError::Unsafe(format!("{} is a symlink", prefix.display())));
        }
        if i + 1 == parts.len() {
            if !meta.is_file() {
                return Err(ReadError::Unsafe("it is not a regular file".into()));
            }
            if meta.len() > max {
                return Err(ReadError::Unsafe(format!(
                    "it is {} bytes, over the limit of {max}",
                    meta.len()
                )));
            }
        } else if !meta.is_dir() {
            return Err(ReadError::Unsafe(format!("{} is not a directory", prefix.display())));
        }
    }
    let file = dir.open(path).map_err(ReadError::Io)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    if bytes.len() as u64 > max {
        return Err(ReadError::Unsafe(format!("it grew over the limit of {max} bytes")));
    }
    Ok(bytes)
}

impl Source for DirSource {
    fn index(&mut self) -> Result<Index, RegistryError> {
        let bytes = self.read_file(&self.name, INDEX_FILE, MAX_TEXT_BYTES).map_err(|e| match e {
            RegistryError::BadPackage { .. } => RegistryError::Unreachable {
                registry: self.name.clone(),
                message: format!(
                    "{} has no {INDEX_FILE}: it is not a Kiln registry (publish a package to it \
                     with `kiln pkg publish DIR --to {}`)",
                    self.root.display(),
                    self.root.display()
                ),
            },
            other => other,
        })?;
        Index::parse(&self.name, &bytes)
    }

    fn read(
        &mut self,
        package: &str,
        version: &str,
        file: &str,
        max: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let origin = format!("{}/{package}@{version}", self.name);
        self.read_file(&origin, &package_path(package, version, file), max)
    }

    fn source_id(&mut self, _package: &str, _version: &str) -> Result<String, RegistryError> {
        Ok(format!("dir:{}", self.root.display()))
    }
}

/// Write `publication` into the directory registry at `root` (created if missing), then add it
/// to the index. Publishing the same content again changes nothing.
pub fn publish(
    name: &str,
    root: &Path,
    publication: &Publication,
) -> Result<String, RegistryError> {
    let fail = |what: &str, e: std::io::Error| RegistryError::Unreachable {
        registry: name.into(),
        message: format!("cannot {what}: {e}"),
    };
    std::fs::create_dir_all(root).map_err(|e| fail(&format!("create {}", root.display()), e))?;
    let dir = Dir::open_ambient_dir(root, ambient_authority())
        .map_err(|e| fail(&format!("open {}", root.display()), e))?;
    let mut index = match dir.exists(INDEX_FILE) {
        true => DirSource::open(name, root)?.index()?,
        false => Index::default(),
    };
    let manifest = &publication.manifest;
    let manifest_text = manifest.render();
    let manifest_digest = super::digest(manifest_text.as_bytes());
    let known = index.packages.get(&manifest.name).and_then(|p| p.versions.get(&manifest.version));
    match known {
        Some(d) if *d == manifest_digest => return Ok(format!("{}", root.display())),
        Some(_) => return Err(super::already_published(name, manifest)),
        None => {}
    }
    let pkg_dir = format!("packages/{}/{}", manifest.name, manifest.version);
    dir.create_dir_all(&pkg_dir).map_err(|e| fail(&format!("create {pkg_dir}"), e))?;
    let mut files = vec![(MANIFEST_FILE.to_string(), manifest_text.into_bytes())];
    files.extend(publication.wasm.iter().cloned());
    for (file, bytes) in &files {
        write_atomic(&dir, &format!("{pkg_dir}/{file}"), bytes)
            .map_err(|e| fail(&format!("write {pkg_dir}/{file}"), e))?;
    }
    index.add(manifest, &manifest_digest);
    write_atomic(&dir, INDEX_FILE, index.render().as_bytes())
        .map_err(|e| fail(&format!("write {INDEX_FILE}"), e))?;
    Ok(format!("{}", root.join(&pkg_dir).display()))
}

/// Write `bytes` to `path` in `dir` through a synced temporary file and a rename.
fn write_atomic(dir: &Dir, path: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = format!("{path}.kiln-tmp");
    let mut file = dir.create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    dir.rename(&tmp, dir, path)
}
