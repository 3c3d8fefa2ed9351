//! The on-disk cache of compiled prototypes. An entry is keyed by the wasm's sha256 and the
//! engine's compatibility hash (wasmtime version and every compile setting). It is wasmtime's
//! serialized code followed by a trailer with that key, the code's length and its CRC-32, so a
//! corrupt, truncated, renamed or foreign file is detected and rebuilt instead of handed to
//! wasmtime, which must only ever load code Kiln compiled itself.
//!
//! Beside the entries, `described/` keeps each prototype's description (see
//! [`Cache::description`]).
//!
//! A hit is loaded with `Component::deserialize_file`, which maps the file instead of copying
//! it; the check maps it too (the page cache is shared, nothing is copied). CRC-32 (not sha256) because the
//! directory is private to the user (see `private`): the checksum guards against corruption,
//! not against an attacker, and at several GB/s it costs a fraction of the load.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::checked::{Checked, Stamp};
use crate::prototype::Info;

const MAGIC: &[u8; 8] = b"KILNCWA2";
const TRAILER_LEN: usize = MAGIC.len() + 32 + 8 + 8 + 4;

/// Where compiled code is kept, and under which engine settings.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    engine_hash: u64,
}

/// The identity of one compiled prototype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    wasm_sha256: [u8; 32],
    engine_hash: u64,
}

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup {
    /// A verified entry: wasmtime's serialized code followed by Kiln's trailer, for
    /// `Component::deserialize_file` (which ignores bytes after the code's sections).
    Hit(PathBuf),
    /// Nothing cached.
    Miss,
    /// An entry that failed verification, and why; it will be rebuilt.
    Invalid(String),
}

impl Cache {
    /// A cache in `dir` for an engine whose `precompile_compatibility_hash` is `engine`.
    pub fn new(dir: PathBuf, engine: impl Hash) -> Self {
        // SipHash with fixed keys: stable for a given Kiln binary, which is all a key needs.
        #[allow(deprecated)]
        let mut hasher = std::hash::SipHasher::new();
        engine.hash(&mut hasher);
        Cache { dir, engine_hash: hasher.finish() }
    }

    /// The user's default cache directory: `$KILN_CACHE_DIR`, else the platform cache dir.
    pub fn default_dir() -> Option<PathBuf> {
        match std::env::var_os("KILN_CACHE_DIR") {
            Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
            _ => dirs::cache_dir().map(|d| d.join("kiln").join("compiled")),
        }
    }

    /// The directory entries live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of `wasm_sha256` under this engine.
    pub fn key(&self, wasm_sha256: [u8; 32]) -> Key {
        Key { wasm_sha256, engine_hash: self.engine_hash }
    }

    /// The file an entry lives in.
    pub fn path(&self, key: &Key) -> PathBuf {
        self.dir.join(format!("{}-{:016x}.cwasm", hex::encode(key.wasm_sha256), key.engine_hash))
    }

    /// Find and verify the entry for `key`. With `memo`, an entry unchanged since it last
    /// passed its check is not read again.
    pub fn lookup(&self, key: &Key, mut memo: Option<&mut Checked>) -> Lookup {
        if let Err(why) = crate::checked::private_dir(&self.dir) {
            return match fs_err::metadata(&self.dir) {
                Ok(_) => Lookup::Invalid(why),
                Err(_) => Lookup::Miss,
            };
        }
        let path = self.path(key);
        let file = match fs_err::File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Lookup::Miss,
            Err(err) => return Lookup::Invalid(err.to_string()),
        };
        let stamp = Stamp::of(file.file()).ok();
        let vouched = key.vouched();
        if let (Some(memo), Some(stamp)) = (memo.as_deref_mut(), &stamp)
            && memo.digest(stamp) == Some(vouched)
        {
            return Lookup::Hit(path);
        }
        if let Err(why) = verify(key, file.file()) {
            return Lookup::Invalid(why);
        }
        if let (Some(memo), Some(before), Ok(after)) = (memo, stamp, Stamp::of(file.file())) {
            memo.remember(before, after, vouched);
        }
        Lookup::Hit(path)
    }

    /// The description this Kiln build remembered for the prototype of `key`, if any.
    pub fn description(&self, key: &Key) -> Option<Info> {
        let path = self.description_path(key);
        // A description planted by another user could change what params Kiln accepts.
        crate::checked::private_dir(path.parent()?).ok()?;
        let bytes = std::fs::read(&path).ok()?;
        let remembered: Remembered = serde_json::from_slice(&bytes).ok()?;
        (remembered.kiln == build_identity()?).then_some(remembered.info)
    }

    /// Remember the description of the prototype of `key`.
    pub fn store_description(&self, key: &Key, info: &Info) -> std::io::Result<()> {
        let kiln = build_identity().ok_or(std::io::ErrorKind::NotFound)?.to_string();
        let json = serde_json::to_vec(&Remembered { kiln, info: info.clone() })?;
        crate::checked::write_private(&self.description_path(key), &json)
    }

    /// One file per wasm, whatever the tier: a description depends on the wasm and the Kiln
    /// build only.
    fn description_path(&self, key: &Key) -> PathBuf {
        self.dir.join("described").join(format!("{}.json", hex::encode(key.wasm_sha256)))
    }

    /// Write `compiled` for `key` atomically and durably: a reader never sees half an entry,
    /// and a power cut leaves the old entry or the whole new one.
    pub fn store(&self, key: &Key, compiled: &[u8]) -> std::io::Result<()> {
        let trailer = trailer(key, compiled.len() as u64, crc32fast::hash(compiled));
        crate::checked::write_private_parts(&self.path(key), &[compiled, &trailer], true)
    }
}

impl Key {
    /// What [`Checked`] remembers for an entry that passed its check under this key: the key's
    /// own digest, so an entry renamed to another key's file is checked again.
    fn vouched(&self) -> [u8; 32] {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(MAGIC);
        hasher.update(self.wasm_sha256);
        hasher.update(self.engine_hash.to_le_bytes());
        hasher.finalize().into()
    }
}

/// A remembered description, with the Kiln build that checked it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Remembered {
    kiln: String,
    info: Info,
}

/// This Kiln build: its version and its executable's size and modification time, since another
/// build of the same version may check differently. `None` if the executable cannot be read.
pub(crate) fn build_identity() -> Option<&'static str> {
    static BUILD: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    BUILD
        .get_or_init(|| {
            let exe = std::fs::metadata(std::env::current_exe().ok()?).ok()?;
            let modified = exe.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
            Some(format!(
                "kiln {} {} {}",
                env!("CARGO_PKG_VERSION"),
                exe.len(),
                modified.as_nanos()
            ))
        })
        .as_deref()
}

/// The trailer of an entry whose code is `code_len` bytes with CRC-32 `crc`.
fn trailer(key: &Key, code_len: u64, crc: u32) -> Vec<u8> {
    let mut trailer = Vec::with_capacity(TRAILER_LEN);
    trailer.extend_from_slice(MAGIC);
    trailer.extend_from_slice(&key.wasm_sha256);
    trailer.extend_from_slice(&key.engine_hash.to_le_bytes());
    trailer.extend_from_slice(&code_len.to_le_bytes());
    trailer.extend_from_slice(&crc.to_le_bytes());
    trailer
}

/// Check the entry in `file` against `key`: its trailer, its length and the CRC-32 of its
/// code, read through a read-only mapping.
fn verify(key: &Key, file: &std::fs::File) -> Result<(), String> {
    // SAFETY: entries are written to a temporary file and renamed into place, never changed
    // in place, so the mapped bytes do not change while they are read (another user cannot
    // write the directory: see `private_dir`).
    let map = unsafe { memmap2::Mmap::map(file) }.map_err(|e| e.to_string())?;
    let Some(code_len) = map.len().checked_sub(TRAILER_LEN) else {
        return Err("not a Kiln cache entry".into());
    };
    let (code, stored) = map.split_at(code_len);
    if !stored.starts_with(MAGIC) {
        return Err("not a Kiln cache entry".into());
    }
    let expected = trailer(key, code_len as u64, crc32fast::hash(code));
    let key_end = MAGIC.len() + 32 + 8;
    if stored[..key_end] != expected[..key_end] {
        return Err("entry belongs to another prototype or engine".into());
    }
    if stored != &expected[..] {
        return Err("compiled code does not match its checksum".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> (tempfile::TempDir, Cache) {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf(), "engine-a");
        (dir, cache)
    }

    #[test]
    fn round_trips_an_entry() {
        let (_dir, cache) = cache();
        let key = cache.key([7; 32]);
        assert!(matches!(cache.lookup(&key, None), Lookup::Miss));
        cache.store(&key, b"compiled code").unwrap();
        match cache.lookup(&key, None) {
            Lookup::Hit(path) => {
                assert_eq!(path, cache.path(&key));
                let entry = fs_err::read(&path).unwrap();
                assert!(entry.starts_with(b"compiled code"), "the code comes first, for wasmtime");
                assert_eq!(entry.len(), b"compiled code".len() + TRAILER_LEN);
            }
            other => panic!("expected a hit, got {other:?}"),
        }
    }

    #[test]
    fn detects_corruption_truncation_and_foreign_files() {
        let (_dir, cache) = cache();
        let key = cache.key([7; 32]);
        cache.store(&key, b"compiled code").unwrap();
        let path = cache.path(&key);
        let good = fs_err::read(&path).unwrap();

        let mut flipped = good.clone();
        flipped[3] ^= 1;
        fs_err::write(&path, &flipped).unwrap();
        assert!(
            matches!(cache.lookup(&key, None), Lookup::Invalid(why) if why.contains("checksum"))
        );

        fs_err::write(&path, &good[..good.len() - 1]).unwrap();
        assert!(
            matches!(cache.lookup(&key, None), Lookup::Invalid(why) if why.contains("not a Kiln"))
        );

        fs_err::write(&path, &good[..TRAILER_LEN - 1]).unwrap();
        assert!(
            matches!(cache.lookup(&key, None), Lookup::Invalid(why) if why.contains("not a Kiln"))
        );

        fs_err::write(&path, b"\0asm garbage from elsewhere").unwrap();
        assert!(matches!(cache.lookup(&key, None), Lookup::Invalid(_)));
    }

    #[test]
    fn an_entry_copied_under_another_key_is_refused() {
        let (_dir, cache) = cache();
        let (a, b) = (cache.key([1; 32]), cache.key([2; 32]));
        cache.store(&a, b"code of a").unwrap();
        fs_err::copy(cache.path(&a), cache.path(&b)).unwrap();
        assert!(matches!(cache.lookup(&b, None), Lookup::Invalid(why) if why.contains("another")));
    }

    #[test]
    fn a_directory_others_can_write_is_not_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, cache) = cache();
        let key = cache.key([7; 32]);
        cache.store(&key, b"compiled code").unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            matches!(cache.lookup(&key, None), Lookup::Invalid(why) if why.contains("writable by other users"))
        );
        assert!(cache.store(&key, b"x").is_err());
    }

    #[test]
    fn a_directory_of_another_user_is_not_trusted() {
        let (dir, cache) = cache();
        let key = cache.key([8; 32]);
        cache.store(&key, b"compiled code").unwrap();
        let other = if rustix::process::geteuid().is_root() {
            // As root, give the directory to `nobody`.
            std::os::unix::fs::chown(dir.path(), Some(65534), None).unwrap();
            cache
        } else {
            // As anyone else, `/` (root's, mode 755) is a private directory of another user.
            Cache::new("/".into(), "engine")
        };
        assert!(
            matches!(other.lookup(&other.key([8; 32]), None), Lookup::Invalid(why) if why.contains("belongs to user"))
        );
    }

    #[test]
    fn engine_settings_change_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let a = Cache::new(dir.path().to_path_buf(), "fuel on");
        let b = Cache::new(dir.path().to_path_buf(), "fuel off");
        assert_ne!(a.path(&a.key([1; 32])), b.path(&b.key([1; 32])));
    }
}
