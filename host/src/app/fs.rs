//! File access inside an app, through a capability handle on the app's root (cap-std): no
//! relative path can leave the app (`..`, absolute paths and symlinks out are refused by the
//! OS-level sandbox). Writes are atomic (temp file, fsync, rename); a [`Transaction`] stages
//! several writes and removals so a failing command changes nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

/// A file operation inside the app that failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} `{}` in app {}", path.display(), root.display())]
pub struct FsError {
    /// What was attempted (`read`, `write`, `remove`, `list`, `open`).
    pub action: &'static str,
    /// The path, relative to the app.
    pub path: PathBuf,
    /// The app's root.
    pub root: PathBuf,
    /// The OS error.
    #[source]
    pub source: std::io::Error,
}

/// The app's root directory, as a capability.
#[derive(Debug)]
pub struct AppDir {
    dir: Dir,
    root: PathBuf,
    /// Text files as a command is about to write them, read in place of the files on disk:
    /// a change is checked (rendered) before it is written.
    staged: std::collections::BTreeMap<PathBuf, String>,
}

impl AppDir {
    /// Open `root` (which must exist) as the app's root.
    pub fn open(root: &Path) -> Result<Self, FsError> {
        let dir = Dir::open_ambient_dir(root, ambient_authority()).map_err(|source| FsError {
            action: "open",
            path: ".".into(),
            root: root.to_path_buf(),
            source,
        })?;
        Ok(AppDir { dir, root: root.to_path_buf(), staged: Default::default() })
    }

    /// The same directory, reading `text` as the contents of the text file `path` (nothing
    /// is written).
    pub fn staged(&self, path: impl AsRef<Path>, text: String) -> Result<Self, FsError> {
        let path = path.as_ref();
        let dir = self.dir.try_clone().map_err(|e| self.err("open", Path::new("."), e))?;
        let mut staged = self.staged.clone();
        staged.insert(path.to_path_buf(), text);
        Ok(AppDir { dir, root: self.root.clone(), staged })
    }

    /// The app's root on disk, for messages.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn err(&self, action: &'static str, path: &Path, source: std::io::Error) -> FsError {
        FsError { action, path: path.to_path_buf(), root: self.root.clone(), source }
    }

    /// Read a text file, or `None` if it does not exist.
    pub fn read(&self, path: impl AsRef<Path>) -> Result<Option<String>, FsError> {
        let path = path.as_ref();
        if let Some(text) = self.staged.get(path) {
            return Ok(Some(text.clone()));
        }
        match self.dir.read_to_string(path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err("read", path, e)),
        }
    }

    /// Read a binary file.
    pub fn read_bytes(&self, path: impl AsRef<Path>) -> Result<Vec<u8>, FsError> {
        let path = path.as_ref();
        self.dir.read(path).map_err(|e| self.err("read", path, e))
    }

    /// Read a binary file of at most `limit` bytes: its size is checked before anything is read
    /// (and again while reading, in case it grows), so a huge or sparse file costs nothing.
    /// `Ok(Err(size))` when it is larger, `size` being at least what it was found to hold.
    pub fn read_bytes_at_most(
        &self,
        path: impl AsRef<Path>,
        limit: u64,
    ) -> Result<Result<Vec<u8>, u64>, FsError> {
        let path = path.as_ref();
        let file = self.open_file(path)?;
        self.read_open_at_most(path, &file, limit)
    }

    /// Open the file at `path` for reading.
    pub fn open_file(&self, path: impl AsRef<Path>) -> Result<std::fs::File, FsError> {
        let path = path.as_ref();
        Ok(self.dir.open(path).map_err(|e| self.err("read", path, e))?.into_std())
    }

    /// [`AppDir::read_bytes_at_most`] of `file`, opened from `path` with [`AppDir::open_file`].
    pub fn read_open_at_most(
        &self,
        path: &Path,
        mut file: &std::fs::File,
        limit: u64,
    ) -> Result<Result<Vec<u8>, u64>, FsError> {
        use std::io::Read;
        let size = file.metadata().map_err(|e| self.err("read", path, e))?.len();
        if size > limit {
            return Ok(Err(size));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        Read::by_ref(&mut file)
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.err("read", path, e))?;
        if bytes.len() as u64 > limit {
            return Ok(Err(bytes.len() as u64));
        }
        Ok(Ok(bytes))
    }

    /// The names of the files in directory `dir` ending in `.{ext}`, without it, sorted.
    /// A missing directory has none.
    pub fn list(&self, dir: impl AsRef<Path>, ext: &str) -> Result<Vec<String>, FsError> {
        let dir = dir.as_ref();
        let entries = match self.dir.read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.err("list", dir, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.err("list", dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(stem) = name.strip_suffix(&format!(".{ext}"))
                && !stem.starts_with('.')
            {
                names.push(stem.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Write `contents` to `path` atomically, creating parent directories.
    pub fn write(&self, path: impl AsRef<Path>, contents: &[u8]) -> Result<(), FsError> {
        let path = path.as_ref();
        let tmp = self.stage(path, contents)?;
        self.dir.rename(&tmp, &self.dir, path).map_err(|e| {
            let _ = self.dir.remove_file(&tmp);
            self.err("write", path, e)
        })
    }

    /// Write `contents` next to `path` under a temporary name, synced to disk; return that name.
    fn stage(&self, path: &Path, contents: &[u8]) -> Result<PathBuf, FsError> {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(parent) = parent {
            self.dir.create_dir_all(parent).map_err(|e| self.err("write", path, e))?;
        }
        let file_name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let tmp_name = format!(".{file_name}.kiln-{}.tmp", std::process::id());
        let tmp = parent.map(|p| p.join(&tmp_name)).unwrap_or_else(|| PathBuf::from(&tmp_name));
        let result = (|| {
            let mut file = self.dir.create(&tmp)?;
            file.write_all(contents)?;
            file.sync_all()
        })();
        result.map_err(|e| {
            let _ = self.dir.remove_file(&tmp);
            self.err("write", path, e)
        })?;
        Ok(tmp)
    }

    /// Remove the file at `path`; a missing file is not an error.
    pub fn remove(&self, path: impl AsRef<Path>) -> Result<(), FsError> {
        let path = path.as_ref();
        match self.dir.remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(self.err("remove", path, e)),
            _ => Ok(()),
        }
    }
}

/// Writes and removals that happen together or not at all (as far as the filesystem allows:
/// every new file is fully written and synced before the first rename).
#[derive(Debug, Default)]
pub struct Transaction {
    writes: Vec<(PathBuf, Vec<u8>)>,
    removals: Vec<PathBuf>,
}

impl Transaction {
    /// An empty transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stage writing `contents` to `path`.
    pub fn write(&mut self, path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>) -> &mut Self {
        self.writes.push((path.into(), contents.into()));
        self
    }

    /// Stage removing `path`.
    pub fn remove(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.removals.push(path.into());
        self
    }

    /// Apply everything: stage every write first (so a full disk fails before anything
    /// changes), then move each replaced or removed file aside (a hard link, so nothing is
    /// copied) and rename the staged files into place. If any step fails, every step before it
    /// is undone, so the app is left as it was; the files moved aside are dropped at the end.
    pub fn commit(self, app: &AppDir) -> Result<(), FsError> {
        let mut staged = Vec::new();
        for (path, contents) in &self.writes {
            match app.stage(path, contents) {
                Ok(tmp) => staged.push((tmp, path.as_path())),
                Err(e) => {
                    for (tmp, _) in &staged {
                        let _ = app.dir.remove_file(tmp);
                    }
                    return Err(e);
                }
            }
        }
        let mut journal = Journal { app, done: Vec::new() };
        let result = (|| {
            for (tmp, path) in &staged {
                let backup = journal.keep_aside(path)?;
                if let Err(e) = app.dir.rename(tmp, &app.dir, path) {
                    if let Some(backup) = &backup {
                        let _ = app.dir.remove_file(backup);
                    }
                    return Err(app.err("write", path, e));
                }
                journal.done.push(Step::Wrote { path, backup });
            }
            for path in &self.removals {
                if let Some(backup) = journal.keep_aside(path)? {
                    if let Err(e) = app.remove(path) {
                        let _ = app.dir.remove_file(&backup);
                        return Err(e);
                    }
                    journal.done.push(Step::Removed { path, backup });
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                journal.finish();
                Ok(())
            }
            Err(e) => {
                for (tmp, _) in &staged {
                    let _ = app.dir.remove_file(tmp);
                }
                journal.undo();
                Err(e)
            }
        }
    }
}

/// What a commit has done so far, to undo it.
struct Journal<'a> {
    app: &'a AppDir,
    done: Vec<Step<'a>>,
}

enum Step<'a> {
    /// `path` was written; its old contents are at `backup` (`None`: it did not exist).
    Wrote { path: &'a Path, backup: Option<PathBuf> },
    /// `path` was removed; its contents are at `backup`.
    Removed { path: &'a Path, backup: PathBuf },
}

impl Journal<'_> {
    /// Hard-link the current `path` to a name beside it; `None` if there is no such file.
    fn keep_aside(&self, path: &Path) -> Result<Option<PathBuf>, FsError> {
        let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let backup = path.with_file_name(format!(".{name}.kiln-{}.old", std::process::id()));
        let _ = self.app.dir.remove_file(&backup);
        match self.app.dir.hard_link(path, &self.app.dir, &backup) {
            Ok(()) => Ok(Some(backup)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.app.err("write", path, e)),
        }
    }

    fn undo(self) {
        let dir = &self.app.dir;
        for step in self.done.into_iter().rev() {
            match step {
                Step::Wrote { path, backup: Some(backup) } | Step::Removed { path, backup } => {
                    let _ = dir.rename(&backup, dir, path);
                }
                Step::Wrote { path, backup: None } => {
                    let _ = dir.remove_file(path);
                }
            }
        }
    }

    fn finish(self) {
        for step in self.done {
            if let Step::Wrote { backup: Some(backup), .. } | Step::Removed { backup, .. } = step {
                let _ = self.app.dir.remove_file(backup);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> (tempfile::TempDir, AppDir) {
        let dir = tempfile::tempdir().unwrap();
        let app = AppDir::open(dir.path()).unwrap();
        (dir, app)
    }

    #[test]
    fn writes_reads_lists_and_removes() {
        let (_dir, app) = app();
        app.write("components/web.toml", b"a = 1\n").unwrap();
        app.write("components/db.toml", b"b = 2\n").unwrap();
        app.write("components/notes.txt", b"").unwrap();
        assert_eq!(app.read("components/web.toml").unwrap().as_deref(), Some("a = 1\n"));
        assert_eq!(app.list("components", "toml").unwrap(), ["db", "web"]);
        assert_eq!(app.list("missing", "toml").unwrap(), Vec::<String>::new());
        app.remove("components/web.toml").unwrap();
        assert_eq!(app.read("components/web.toml").unwrap(), None);
        assert_eq!(app.list("components", "toml").unwrap(), ["db"], "no temp files left");
    }

    #[test]
    fn reading_at_most_refuses_larger_files_by_their_size() {
        let (dir, app) = app();
        app.write("ten.wasm", b"0123456789").unwrap();
        assert_eq!(app.read_bytes_at_most("ten.wasm", 10).unwrap().unwrap(), b"0123456789");
        assert_eq!(app.read_bytes_at_most("ten.wasm", 9).unwrap(), Err(10));
        // Sparse: a terabyte that reading would need a terabyte of memory for.
        let file = std::fs::File::create(dir.path().join("huge.wasm")).unwrap();
        file.set_len(1 << 40).unwrap();
        assert_eq!(app.read_bytes_at_most("huge.wasm", 128 << 20).unwrap(), Err(1 << 40));
        assert!(app.read_bytes_at_most("missing.wasm", 10).is_err());
    }

    #[test]
    fn no_path_escapes_the_app() {
        let outer = tempfile::tempdir().unwrap();
        std::fs::create_dir(outer.path().join("app")).unwrap();
        std::fs::write(outer.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(outer.path().join("secret"), outer.path().join("app/link"))
            .unwrap();
        let app = AppDir::open(&outer.path().join("app")).unwrap();
        assert!(app.read("../secret").is_err());
        assert!(app.read(outer.path().join("secret")).is_err(), "absolute paths are refused");
        assert!(app.read("link").is_err(), "symlinks out are refused");
        assert!(app.write("../escaped", b"x").is_err());
        assert!(!outer.path().join("escaped").exists());
    }

    #[test]
    fn a_transaction_that_fails_halfway_is_undone() {
        let (dir, app) = app();
        app.write("a.toml", b"old a").unwrap();
        app.write("gone.toml", b"kept").unwrap();
        // The second write cannot land: a non-empty directory holds its name.
        std::fs::create_dir_all(dir.path().join("b.toml/inside")).unwrap();
        let mut tx = Transaction::new();
        tx.write("a.toml", "new a").write("new.toml", "n").write("b.toml", "b").remove("gone.toml");
        assert!(tx.commit(&app).is_err());
        assert_eq!(
            app.read("a.toml").unwrap().as_deref(),
            Some("old a"),
            "the first write is undone"
        );
        assert_eq!(app.read("gone.toml").unwrap().as_deref(), Some("kept"));
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.toml", "b.toml", "gone.toml"], "nothing staged or set aside is left");

        let mut tx = Transaction::new();
        tx.write("a.toml", "new a").remove("gone.toml");
        tx.commit(&app).unwrap();
        assert_eq!(app.read("a.toml").unwrap().as_deref(), Some("new a"));
        assert_eq!(app.read("gone.toml").unwrap(), None);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no backups left");
    }

    #[test]
    fn a_failed_transaction_changes_nothing() {
        let (dir, app) = app();
        app.write("kiln.toml", b"old").unwrap();
        let mut tx = Transaction::new();
        tx.write("kiln.toml", "new").write("../outside.toml", "x");
        assert!(tx.commit(&app).is_err());
        assert_eq!(app.read("kiln.toml").unwrap().as_deref(), Some("old"));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no staged temp file left behind");
    }
}
