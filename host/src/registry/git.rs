//! Git registries: a repository laid out like a directory registry, read at a pinned commit.
//!
//! Kiln runs the `git` program, so every URL, credential helper and SSH setting the user's git
//! understands works (private repositories included). The repository is fetched into a private
//! temporary bare repository; files are read from the commit's tree by object id, never checked
//! out, so symlinks, submodules and paths outside the tree cannot be written anywhere. Entries
//! that are not plain files are refused.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use super::dir::package_path;
use super::{INDEX_FILE, Index, MAX_TEXT_BYTES, RegistryError, Source};

/// A git registry fetched at a commit.
pub struct GitSource {
    name: String,
    url: String,
    commit: String,
    repo: tempfile::TempDir,
    /// Tree entries by path: (mode, object id, size).
    tree: BTreeMap<String, (String, String, u64)>,
}

impl GitSource {
    /// Fetch `url` and resolve `reference` (a branch, tag or commit; the remote's default
    /// branch when `None`).
    pub fn fetch(name: &str, url: &str, reference: Option<&str>) -> Result<Self, RegistryError> {
        let repo = tempfile::Builder::new().prefix("kiln-git-").tempdir().map_err(|e| {
            RegistryError::Unreachable {
                registry: name.into(),
                message: format!("cannot make a temporary directory: {e}"),
            }
        })?;
        let mut source = GitSource {
            name: name.into(),
            url: url.into(),
            commit: String::new(),
            repo,
            tree: BTreeMap::new(),
        };
        source.git(&["init", "--quiet", "--bare"])?;
        source.git(&[
            "fetch",
            "--quiet",
            "--no-tags",
            "--",
            url,
            "+HEAD:refs/kiln/HEAD",
            "+refs/heads/*:refs/kiln/heads/*",
            "+refs/tags/*:refs/kiln/tags/*",
        ])?;
        source.commit = source.resolve(reference)?;
        source.tree = source.list_tree()?;
        Ok(source)
    }

    fn git(&self, args: &[&str]) -> Result<Vec<u8>, RegistryError> {
        let output = Command::new("git")
            .arg("--git-dir")
            .arg(self.repo.path())
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| RegistryError::Unreachable {
                registry: self.name.clone(),
                message: format!(
                    "cannot run git ({e}); git registries need the `git` program on PATH"
                ),
            })?;
        if !output.status.success() {
            // git passes on what the remote says (`remote: ...`): indented under the message,
            // escaped, so no line of it can pass for one of Kiln's.
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(RegistryError::Unreachable {
                registry: self.name.clone(),
                message: format!(
                    "git {} failed:\n{}",
                    args[0],
                    crate::untrusted::block(stderr.trim(), "    ")
                ),
            });
        }
        Ok(output.stdout)
    }

    fn resolve(&self, reference: Option<&str>) -> Result<String, RegistryError> {
        let candidates: Vec<String> = match reference {
            None => vec!["refs/kiln/HEAD".into()],
            Some(r) => vec![
                format!("refs/kiln/heads/{r}"),
                format!("refs/kiln/tags/{r}"),
                // A commit id, full or abbreviated.
                r.to_string(),
            ],
        };
        for candidate in &candidates {
            let spec = format!("{candidate}^{{commit}}");
            if let Ok(out) = self.git(&["rev-parse", "--verify", "--quiet", &spec]) {
                return Ok(String::from_utf8_lossy(&out).trim().to_string());
            }
        }
        Err(RegistryError::Unreachable {
            registry: self.name.clone(),
            message: format!(
                "{} has no branch, tag or commit `{}`",
                self.url,
                reference.unwrap_or("HEAD")
            ),
        })
    }

    fn list_tree(&self) -> Result<BTreeMap<String, (String, String, u64)>, RegistryError> {
        let out = self.git(&["ls-tree", "-r", "-z", "--long", "--full-tree", &self.commit])?;
        let mut tree = BTreeMap::new();
        for entry in out.split(|&b| b == 0).filter(|e| !e.is_empty()) {
            let entry = String::from_utf8_lossy(entry);
            // `<mode> <type> <object> <size>\t<path>`; size is `-` for submodules.
            let Some((meta, path)) = entry.split_once('\t') else { continue };
            let mut fields = meta.split_whitespace();
            let (Some(mode), Some(_kind), Some(object), Some(size)) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            tree.insert(
                path.to_string(),
                (mode.to_string(), object.to_string(), size.parse().unwrap_or(0)),
            );
        }
        Ok(tree)
    }

    fn read_path(&self, origin: &str, path: &str, max: u64) -> Result<Vec<u8>, RegistryError> {
        let unsafe_entry = |reason: String| RegistryError::Unsafe {
            origin: origin.into(),
            path: path.into(),
            reason,
        };
        let Some((mode, object, size)) = self.tree.get(path) else {
            return Err(RegistryError::BadPackage {
                origin: origin.into(),
                message: format!("{path} is missing in {} at {}", self.url, self.commit),
            });
        };
        match mode.as_str() {
            "100644" | "100755" => {}
            "120000" => return Err(unsafe_entry("it is a symlink".into())),
            "160000" => return Err(unsafe_entry("it is a submodule".into())),
            other => return Err(unsafe_entry(format!("it is not a plain file (mode {other})"))),
        }
        if *size > max {
            return Err(unsafe_entry(format!("it is {size} bytes, over the limit of {max}")));
        }
        let bytes = self.git(&["cat-file", "blob", object])?;
        if bytes.len() as u64 > max {
            return Err(unsafe_entry(format!("it is over the limit of {max} bytes")));
        }
        Ok(bytes)
    }
}

impl Source for GitSource {
    fn index(&mut self) -> Result<Index, RegistryError> {
        if !self.tree.contains_key(INDEX_FILE) {
            return Err(RegistryError::Unreachable {
                registry: self.name.clone(),
                message: format!(
                    "{} has no {INDEX_FILE} at {}: it is not a Kiln registry",
                    self.url, self.commit
                ),
            });
        }
        let bytes = self.read_path(&self.name, INDEX_FILE, MAX_TEXT_BYTES)?;
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
        self.read_path(&origin, &package_path(package, version, file), max)
    }

    fn source_id(&mut self, _package: &str, _version: &str) -> Result<String, RegistryError> {
        Ok(format!("git+{}#{}", self.url, self.commit))
    }
}
