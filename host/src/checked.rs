//! What Kiln found when it last read a file, remembered by the file's identity and change time
//! (as git's index does), so a warm run does not read and hash the same unchanged bytes again:
//! installed wasm against `kiln.lock`, compiled code against its checksum.
//!
//! A file is the same as when it was checked if its device, inode, size, modification time and
//! status-change time are. Any write changes the status-change time, which nothing but the
//! kernel sets, so tampering cannot keep it. Timestamps move at the kernel's tick rather than
//! by the nanosecond, though, so a write just after a check could keep them: a file is only
//! remembered once its last change is [`SETTLED`] in the past, and only if it did not change
//! while it was read. Nothing here reads or writes anything but its own memo file.
//!
//! Beside it, the small helpers every module that remembers or checks bytes shares, which drag
//! no domain module along: [`digest`] (the `sha256:` format of registries, `kiln.lock` and
//! memos), and private files and directories ([`private_dir`], `read_private`,
//! `write_private`).

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long ago a file's last change must be before its check is remembered: far more than the
/// kernel's timestamp granularity (a few milliseconds).
pub const SETTLED: Duration = Duration::from_secs(1);

/// A file's identity and change times, from `fstat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    /// The stamp of an open file.
    pub fn of(file: &std::fs::File) -> std::io::Result<Stamp> {
        Ok(Stamp::from_metadata(&file.metadata()?))
    }

    fn from_metadata(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// Whether the file's last change is at least `settled` before `now`.
    fn settled(&self, now: SystemTime, settled: Duration) -> bool {
        let Ok(now) = now.duration_since(SystemTime::UNIX_EPOCH) else { return false };
        let (secs, nanos) = self.ctime;
        let (Ok(secs), Ok(nanos)) = (u64::try_from(secs), u32::try_from(nanos)) else {
            return false;
        };
        Duration::new(secs, nanos.min(999_999_999)).saturating_add(settled) <= now
    }

    fn encode(&self, out: &mut Vec<u8>) {
        for n in [self.dev, self.ino, self.size] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        for n in [self.mtime.0, self.mtime.1, self.ctime.0, self.ctime.1] {
            out.extend_from_slice(&n.to_le_bytes());
        }
    }

    fn decode(bytes: &[u8; STAMP_LEN]) -> Stamp {
        let word = |i: usize| {
            let mut w = [0; 8];
            w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            w
        };
        Stamp {
            dev: u64::from_le_bytes(word(0)),
            ino: u64::from_le_bytes(word(1)),
            size: u64::from_le_bytes(word(2)),
            mtime: (i64::from_le_bytes(word(3)), i64::from_le_bytes(word(4))),
            ctime: (i64::from_le_bytes(word(5)), i64::from_le_bytes(word(6))),
        }
    }
}

const MAGIC: &[u8; 8] = b"KILNCHK1";
const STAMP_LEN: usize = 7 * 8;
const ENTRY_LEN: usize = STAMP_LEN + 32;
/// Entries kept: those used by the last run first, then older ones.
const MAX_ENTRIES: usize = 256;

/// Files checked before: for each stamp, the 32-byte digest its contents were found to match.
/// What a digest means is the caller's: the sha256 of the bytes, or of what they were checked
/// against.
#[derive(Debug, Default)]
pub struct Checked {
    file: Option<PathBuf>,
    entries: BTreeMap<Stamp, [u8; 32]>,
    used: BTreeSet<Stamp>,
    changed: bool,
    settled: Duration,
    off: bool,
}

impl Checked {
    /// A memo that remembers nothing and writes nothing (`--no-cache`, no cache directory).
    pub fn off() -> Self {
        Checked { off: true, ..Checked::default() }
    }

    /// The memo of `scope` (an app's root directory) in `dir`, the compiled-code cache. It is
    /// empty if the file is missing, unreadable or torn, or if `dir` is not private to this
    /// user: a planted memo would hide a changed file.
    pub fn open(dir: &Path, scope: &Path) -> Self {
        let file = memo_file(dir, "checked", scope.as_os_str().as_encoded_bytes());
        let mut memo = Checked::decode(&read_private(&file));
        memo.file = Some(file);
        memo
    }

    fn decode(bytes: &[u8]) -> Self {
        let mut memo = Checked { settled: SETTLED, ..Checked::default() };
        let Some(body) = bytes.strip_prefix(MAGIC) else { return memo };
        for entry in body.chunks_exact(ENTRY_LEN) {
            let (stamp, digest) = entry.split_at(STAMP_LEN);
            let (Ok(stamp), Ok(digest)) = (stamp.try_into(), digest.try_into()) else { continue };
            memo.entries.insert(Stamp::decode(stamp), digest);
        }
        memo
    }

    fn encode(&self) -> Vec<u8> {
        let used = self.entries.iter().filter(|(s, _)| self.used.contains(s));
        let unused = self.entries.iter().filter(|(s, _)| !self.used.contains(s));
        let mut out = MAGIC.to_vec();
        for (stamp, digest) in used.chain(unused).take(MAX_ENTRIES) {
            stamp.encode(&mut out);
            out.extend_from_slice(digest);
        }
        out
    }

    /// The digest a file with `stamp` was found to match, if it has not changed since.
    pub fn digest(&mut self, stamp: &Stamp) -> Option<[u8; 32]> {
        let digest = *self.entries.get(stamp)?;
        self.used.insert(*stamp);
        Some(digest)
    }

    /// Remember that the file `before` stamps, now stamped `after`, matched `digest` when it
    /// was read in between. Nothing is remembered if the file changed meanwhile or changed too
    /// recently for its stamp to tell a later change apart.
    pub fn remember(&mut self, before: Stamp, after: Stamp, digest: [u8; 32]) {
        if self.off || before != after || !before.settled(SystemTime::now(), self.settled) {
            return;
        }
        if self.entries.insert(before, digest) != Some(digest) {
            self.changed = true;
        }
        self.used.insert(before);
    }

    /// Write the memo back if it learnt something, atomically. Only a speed-up: a memo that
    /// cannot be written is not worth a word.
    pub fn save(&self) {
        let Some(file) = &self.file else { return };
        if !self.changed {
            return;
        }
        let _ = write_private(file, &self.encode());
    }
}

/// The memo file in subdirectory `kind` of the cache `dir` for whatever `scope` names (an app's
/// root, an app and environment): named by a digest of `scope`.
pub(crate) fn memo_file(dir: &Path, kind: &str, scope: &[u8]) -> PathBuf {
    let name = crate::checked::digest(scope);
    let name = name.trim_start_matches("sha256:");
    dir.join(kind).join(format!("{}.bin", &name[..32]))
}

/// The bytes of `file`; none if it is missing, unreadable, or in a directory other users could
/// write (a planted memo would hide what it stands for).
pub(crate) fn read_private(file: &Path) -> Vec<u8> {
    let trusted = file.parent().is_some_and(|d| private_dir(d).is_ok());
    if trusted { std::fs::read(file).unwrap_or_default() } else { vec![] }
}

/// Write `bytes` to `file` atomically (temp file and rename, so a reader never sees half of
/// it), in a directory created private to this user.
pub(crate) fn write_private(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_private_parts(file, &[bytes], false)
}

/// [`write_private`] of `parts` one after the other; `durable` puts them on disk before the
/// rename, so a power cut leaves the old file or the whole new one.
pub(crate) fn write_private_parts(
    file: &Path,
    parts: &[&[u8]],
    durable: bool,
) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = file.parent().ok_or(std::io::ErrorKind::InvalidInput)?;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    private_dir(dir).map_err(std::io::Error::other)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    for part in parts {
        std::io::Write::write_all(&mut temp, part)?;
    }
    if durable {
        temp.as_file().sync_data()?;
    }
    temp.persist(file).map_err(|e| e.error)?;
    Ok(())
}

/// Whether `dir` is private to this user. Entries are native code (and validation memos hide
/// findings): in a directory another user owns or others can write, someone else could plant
/// one with a matching checksum.
pub fn private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = fs_err::metadata(dir).map_err(|e| e.to_string())?;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(format!(
            "{} belongs to user {}, not to this user ({me}); Kiln only loads compiled code from a directory of its own",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(format!(
            "{} is writable by other users; Kiln only loads compiled code from a private directory (chmod 700)",
            dir.display()
        ));
    }
    Ok(())
}

/// `sha256:<hex>` of `bytes`: the digest format of registries' indexes and manifests, of
/// `kiln.lock`, and of what Kiln remembers.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp_of(path: &Path) -> Stamp {
        Stamp::of(&std::fs::File::open(path).unwrap()).unwrap()
    }

    /// A file `name` holding "one" in a new directory, and its stamp.
    fn written(name: &str) -> (tempfile::TempDir, PathBuf, Stamp) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, b"one").unwrap();
        let stamp = stamp_of(&path);
        (dir, path, stamp)
    }

    fn memo(settled: Duration) -> Checked {
        Checked { settled, ..Checked::default() }
    }

    #[test]
    fn a_file_is_vouched_for_until_it_is_written() {
        let (_dir, path, stamp) = written("a.wasm");
        let mut memo = memo(Duration::ZERO);
        memo.remember(stamp, stamp, [1; 32]);
        assert_eq!(memo.digest(&stamp_of(&path)), Some([1; 32]));

        // The same size, written again: the change time moves, whatever the content.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&path, b"two").unwrap();
        assert_eq!(memo.digest(&stamp_of(&path)), None);
    }

    #[test]
    fn a_file_replaced_by_rename_is_another_file() {
        let (dir, path, stamp) = written("a");
        let other = dir.path().join("b");
        std::fs::write(&other, b"one").unwrap();
        let mut memo = memo(Duration::ZERO);
        memo.remember(stamp, stamp, [1; 32]);
        std::fs::rename(&other, &path).unwrap();
        assert_eq!(memo.digest(&stamp_of(&path)), None);
    }

    #[test]
    fn a_file_that_changed_while_read_or_just_now_is_not_remembered() {
        let (_dir, path, _) = written("a");
        let before = stamp_of(&path);
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&path, b"two!").unwrap();
        let after = stamp_of(&path);
        let mut relaxed = memo(Duration::ZERO);
        relaxed.remember(before, after, [1; 32]);
        assert!(relaxed.entries.is_empty(), "changed while it was read");

        // Written a moment ago: a write in the same timestamp tick would keep its stamp.
        let mut strict = memo(SETTLED);
        strict.remember(after, after, [1; 32]);
        assert!(strict.entries.is_empty(), "changed too recently");
        assert!(!strict.changed);
    }

    #[test]
    fn round_trips_through_its_file_and_ignores_a_torn_or_foreign_one() {
        let (_dir, _, stamp) = written("a");
        let mut memo = memo(Duration::ZERO);
        memo.remember(stamp, stamp, [7; 32]);

        let mut bytes = memo.encode();
        assert_eq!(Checked::decode(&bytes).entries, memo.entries);
        bytes.extend_from_slice(&[9; 10]); // a torn tail is ignored
        assert_eq!(Checked::decode(&bytes).entries, memo.entries);
        assert!(Checked::decode(b"something else entirely").entries.is_empty());
        assert!(Checked::decode(&bytes[..ENTRY_LEN]).entries.is_empty(), "torn entry");
    }

    #[test]
    fn saves_and_reopens_only_in_a_private_directory() {
        use std::os::unix::fs::PermissionsExt;
        let cache = tempfile::tempdir().unwrap();
        let (app, _, stamp) = written("a");

        let mut memo = Checked::open(cache.path(), app.path());
        memo.settled = Duration::ZERO;
        memo.remember(stamp, stamp, [3; 32]);
        memo.save();
        assert_eq!(Checked::open(cache.path(), app.path()).digest(&stamp), Some([3; 32]));
        let elsewhere = tempfile::tempdir().unwrap();
        assert_eq!(Checked::open(cache.path(), elsewhere.path()).digest(&stamp), None);

        let checked = cache.path().join("checked");
        std::fs::set_permissions(&checked, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(Checked::open(cache.path(), app.path()).digest(&stamp), None, "not private");
    }

    #[test]
    fn a_memo_that_is_off_remembers_nothing() {
        let (_dir, _, stamp) = written("a");
        let mut off = Checked::off();
        off.remember(stamp, stamp, [1; 32]);
        assert_eq!(off.digest(&stamp), None);
    }

    #[test]
    fn keeps_what_the_last_run_used_when_full() {
        let mut memo = memo(Duration::ZERO);
        let stamp = |ino| Stamp { dev: 1, ino, size: 1, mtime: (1, 0), ctime: (1, 0) };
        for ino in 0..MAX_ENTRIES as u64 + 10 {
            memo.entries.insert(stamp(ino), [0; 32]);
        }
        memo.digest(&stamp(MAX_ENTRIES as u64 + 5));
        let kept = Checked::decode(&memo.encode());
        assert_eq!(kept.entries.len(), MAX_ENTRIES);
        assert!(kept.entries.contains_key(&stamp(MAX_ENTRIES as u64 + 5)));
    }
}
