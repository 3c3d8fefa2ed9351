//! What an earlier run of the same Kiln build found valid, so a warm `show` or `apply` does not
//! compile JSON schemas again for objects that have not changed.
//!
//! An object's fingerprint is the sha256 of the Kiln build's identity (the salt), the identity
//! of the schema it is checked against (the built-in kind in a Kubernetes version, or the CRD's
//! schema itself) and the object's JSON; a component's params are fingerprinted the same way,
//! under their JSON schema. Only checks with no finding at all are remembered, so a remembered
//! fingerprint stands for exactly "checking this value against this schema finds nothing".
//! Structure checks (names, labels, duplicates) are cheap and always run.

use std::collections::HashSet;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// One object under one schema, checked by one Kiln build.
pub type Fingerprint = [u8; 32];

/// Fingerprints of objects that passed their schema check before, and the salt they were made
/// with.
#[derive(Debug)]
pub struct Memo {
    salt: Vec<u8>,
    passed: HashSet<Fingerprint>,
}

impl Memo {
    /// The fingerprints in `bytes` (as [`Memo::encode`] wrote them) under `salt`, which must
    /// change whenever the checks could: Kiln's version and build. Trailing bytes that do not
    /// make a whole fingerprint are ignored.
    pub fn decode(salt: impl Into<Vec<u8>>, bytes: &[u8]) -> Self {
        let passed = bytes.chunks_exact(32).map(|c| c.try_into().unwrap_or_default()).collect();
        Memo { salt: salt.into(), passed }
    }

    /// The bytes of `fingerprints`, for [`Memo::decode`].
    pub fn encode(fingerprints: &[Fingerprint]) -> Vec<u8> {
        fingerprints.concat()
    }

    /// Whether `fingerprints` are exactly the remembered ones (nothing to write).
    pub fn same_as(&self, fingerprints: &[Fingerprint]) -> bool {
        fingerprints.len() == self.passed.len() && fingerprints.iter().all(|f| self.contains(f))
    }

    pub(super) fn contains(&self, fingerprint: &Fingerprint) -> bool {
        self.passed.contains(fingerprint)
    }

    /// The fingerprint of `object` checked against the schema `schema` names; `None` if the
    /// object cannot be serialized (then it is simply checked).
    pub(super) fn fingerprint(&self, schema: &str, object: &Value) -> Option<Fingerprint> {
        let mut hasher = Sha256::new();
        for part in [&self.salt[..], schema.as_bytes()] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        // serde_json writes a `Value` the same way every time (keys sorted).
        serde_json::to_writer(HashWriter(&mut hasher), object).ok()?;
        Some(hasher.finalize().into())
    }
}

/// Feeds serialized JSON straight into the hasher, without an intermediate buffer.
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fingerprints_depend_on_salt_schema_and_every_byte_of_the_object() {
        let print = |salt: &str, schema: &str, object: &Value| {
            Memo::decode(salt, &[]).fingerprint(schema, object).expect("serializable")
        };
        let object = json!({"kind": "ConfigMap", "data": {"a": "1"}});
        let base = print("build a", "builtin 1.33 v1 ConfigMap", &object);
        assert_eq!(base, print("build a", "builtin 1.33 v1 ConfigMap", &object.clone()));
        assert_ne!(base, print("build a", "builtin 1.34 v1 ConfigMap", &object));
        assert_ne!(base, print("build b", "builtin 1.33 v1 ConfigMap", &object));
        let changed = json!({"kind": "ConfigMap", "data": {"a": "2"}});
        assert_ne!(base, print("build a", "builtin 1.33 v1 ConfigMap", &changed));
        // Length-prefixed parts: moving bytes between salt and schema changes the fingerprint.
        assert_ne!(base, print("build ab", "uiltin 1.33 v1 ConfigMap", &object));
    }

    #[test]
    fn round_trips_and_compares_fingerprints() {
        let prints = [[1; 32], [2; 32]];
        let mut bytes = Memo::encode(&prints);
        bytes.extend_from_slice(&[9; 5]); // a torn tail is ignored
        let memo = Memo::decode("salt", &bytes);
        assert!(memo.contains(&[1; 32]) && memo.contains(&[2; 32]) && !memo.contains(&[9; 32]));
        assert!(memo.same_as(&[[2; 32], [1; 32]]));
        assert!(!memo.same_as(&[[1; 32]]));
        assert!(!memo.same_as(&[[1; 32], [3; 32]]));
    }
}
