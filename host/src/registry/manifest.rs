//! The two files a registry serves, both untrusted: a registry's `index.toml` (packages,
//! versions and the digest of each version's manifest) and a package's `kiln-package.toml`
//! (name, version, prototypes with their wasm file and sha256, the permissions it asks for).
//! Parsing checks every name, so nothing from a registry can name a path outside a package.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::RegistryError;
use crate::prototype::{GroupKind, Permissions};
use crate::untrusted::Untrusted;

/// The manifest's file name, in a package and in `vendor/<registry>/<package>/`.
pub const MANIFEST_FILE: &str = "kiln-package.toml";
/// A registry's index file (directory and git registries; OCI keeps it in an artifact).
pub const INDEX_FILE: &str = "index.toml";

/// The largest manifest or index Kiln reads.
pub const MAX_TEXT_BYTES: u64 = 4 << 20;
/// The largest prototype (`.wasm`) Kiln reads. Python guests are about 18 MB.
pub const MAX_WASM_BYTES: u64 = 128 << 20;
/// The most prototypes one package may hold.
pub const MAX_PROTOTYPES: usize = 256;

/// `kiln-package.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageManifest {
    /// The package's name, a DNS-1123 label.
    pub name: String,
    /// Its version (semver).
    pub version: String,
    /// One line about it.
    #[serde(default)]
    pub description: String,
    /// Its prototypes.
    pub prototypes: Vec<ManifestPrototype>,
    /// What its prototypes ask to emit beyond namespaced objects in the environment's namespace.
    #[serde(default)]
    pub permissions: PermissionSet,
}

/// One prototype of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestPrototype {
    /// The prototype's name, a DNS-1123 label.
    pub name: String,
    /// Its wasm file: always `<name>.wasm`, next to the manifest.
    pub file: String,
    /// The file's `sha256:<hex>`.
    pub sha256: String,
}

/// Permissions as written in manifests and `kiln.lock`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PermissionSet {
    /// Cluster-scoped kinds, `group/Kind` (`Kind` alone for the core group).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_scoped: Vec<String>,
    /// RBAC objects (Roles, ClusterRoles and their bindings).
    #[serde(default)]
    pub rbac: bool,
    /// Objects in namespaces other than the environment's.
    #[serde(default)]
    pub other_namespaces: bool,
}

impl PermissionSet {
    /// The set as the prototype types have it.
    pub fn to_permissions(&self) -> Permissions {
        Permissions {
            cluster_scoped: self.cluster_scoped.iter().map(|s| parse_group_kind(s)).collect(),
            rbac: self.rbac,
            other_namespaces: self.other_namespaces,
        }
    }

    /// The set for `permissions`, sorted and without repeats.
    pub fn from_permissions(permissions: &Permissions) -> Self {
        let mut cluster_scoped: Vec<String> =
            permissions.cluster_scoped.iter().map(GroupKind::to_string).collect();
        cluster_scoped.sort();
        cluster_scoped.dedup();
        PermissionSet {
            cluster_scoped,
            rbac: permissions.rbac,
            other_namespaces: permissions.other_namespaces,
        }
    }

    /// Whether nothing beyond the environment's namespace is asked for.
    pub fn is_empty(&self) -> bool {
        self.cluster_scoped.is_empty() && !self.rbac && !self.other_namespaces
    }

    /// Everything in `self` or `other`.
    pub fn union(&self, other: &PermissionSet) -> PermissionSet {
        let mut cluster_scoped = self.cluster_scoped.clone();
        cluster_scoped.extend(other.cluster_scoped.iter().cloned());
        cluster_scoped.sort();
        cluster_scoped.dedup();
        PermissionSet {
            cluster_scoped,
            rbac: self.rbac || other.rbac,
            other_namespaces: self.other_namespaces || other.other_namespaces,
        }
    }

    /// Whether `self` allows everything `other` does.
    pub fn covers(&self, other: &PermissionSet) -> bool {
        other.cluster_scoped.iter().all(|k| self.cluster_scoped.contains(k))
            && (self.rbac || !other.rbac)
            && (self.other_namespaces || !other.other_namespaces)
    }

    /// One line per permission, for listings and prompts.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        // A custom kind is granted whatever its scope: Kiln cannot know it before it asks a
        // cluster, and an unknown kind is treated as the cluster-scoped kind it may be.
        let (built_in, custom): (Vec<&String>, Vec<&String>) =
            self.cluster_scoped.iter().partition(|gk| {
                let gk = parse_group_kind(gk);
                crate::manifest::scope::builtin(&gk.group, &gk.kind).is_some()
            });
        let join = |kinds: &[&String]| {
            kinds.iter().map(|k| crate::untrusted::line(k)).collect::<Vec<_>>().join(", ")
        };
        if !built_in.is_empty() {
            lines.push(format!("cluster-scoped kinds: {}", join(&built_in)));
        }
        if !custom.is_empty() {
            lines.push(format!(
                "custom kinds, which may be cluster-scoped (their objects go wherever the \
                 cluster's definition says): {}",
                join(&custom)
            ));
        }
        if self.rbac {
            lines.push("RBAC objects (Roles, ClusterRoles and their bindings)".into());
        }
        if self.other_namespaces {
            lines.push("objects in namespaces other than the environment's".into());
        }
        lines
    }

    fn check(&self, what: &str) -> Result<(), String> {
        for gk in &self.cluster_scoped {
            let parsed = parse_group_kind(gk);
            let kind_ok = !parsed.kind.is_empty()
                && parsed.kind.len() <= 63
                && parsed.kind.chars().all(|c| c.is_ascii_alphanumeric());
            let group_ok =
                parsed.group.is_empty() || crate::names::is_dns1123_subdomain(&parsed.group);
            if !kind_ok || !group_ok {
                return Err(format!(
                    "{what}: `{}` is not a kind (write `Kind` for the core group or `group/Kind`)",
                    Untrusted(gk)
                ));
            }
        }
        Ok(())
    }
}

/// `group/Kind` or `Kind` as a [`GroupKind`].
pub fn parse_group_kind(text: &str) -> GroupKind {
    match text.rsplit_once('/') {
        Some((group, kind)) => GroupKind { group: group.into(), kind: kind.into() },
        None => GroupKind { group: String::new(), kind: text.into() },
    }
}

impl PackageManifest {
    /// Parse and check a manifest that claims to be package `name` at `version` (`None` when
    /// the caller has no expectation, as when publishing). `origin` names where it came from.
    pub fn parse(
        origin: &str,
        bytes: &[u8],
        expected: Option<(&str, &str)>,
    ) -> Result<Self, RegistryError> {
        let bad = |message: String| RegistryError::BadPackage { origin: origin.into(), message };
        let text =
            std::str::from_utf8(bytes).map_err(|_| bad(format!("{MANIFEST_FILE} is not UTF-8")))?;
        let manifest: PackageManifest =
            toml::from_str(text).map_err(|e| bad(toml_error(MANIFEST_FILE, text, &e)))?;
        manifest.check().map_err(bad)?;
        if let Some((name, version)) = expected
            && (manifest.name != name || manifest.version != version)
        {
            return Err(bad(format!(
                "{MANIFEST_FILE} is for {}@{}, not {name}@{version}",
                manifest.name, manifest.version
            )));
        }
        Ok(manifest)
    }

    /// The manifest as written into registries and `vendor/`: deterministic TOML.
    pub fn render(&self) -> String {
        toml::to_string(self).expect("a manifest is plain strings and tables")
    }

    /// Check every name in the manifest.
    pub fn check(&self) -> Result<(), String> {
        check_package_name(&self.name)?;
        check_version(&self.version)?;
        if self.prototypes.is_empty() {
            return Err(format!("package `{}` has no prototypes", self.name));
        }
        if self.prototypes.len() > MAX_PROTOTYPES {
            return Err(format!(
                "package `{}` has {} prototypes; at most {MAX_PROTOTYPES} are allowed",
                self.name,
                self.prototypes.len()
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.prototypes {
            if !crate::names::is_dns1123_label(&p.name) {
                return Err(format!(
                    "prototype name `{}` is not a DNS-1123 label (lowercase letters, digits, `-`)",
                    p.name.escape_debug()
                ));
            }
            if !seen.insert(&p.name) {
                return Err(format!("prototype `{}` is listed twice", p.name));
            }
            if p.file != wasm_file(&p.name) {
                return Err(format!(
                    "prototype `{}`: file `{}` must be `{}`: a package's files are plain names \
                     next to its manifest",
                    p.name,
                    p.file.escape_debug(),
                    wasm_file(&p.name)
                ));
            }
            check_digest(&p.sha256).map_err(|m| format!("prototype `{}`: {m}", p.name))?;
        }
        self.permissions.check("permissions")
    }
}

/// `<prototype>.wasm`: where a prototype's wasm lives in a package.
pub fn wasm_file(prototype: &str) -> String {
    format!("{prototype}.wasm")
}

/// A registry's `index.toml`: every package and version it serves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// Packages by name.
    #[serde(default)]
    pub packages: BTreeMap<String, IndexPackage>,
}

/// A package in an index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexPackage {
    /// One line about it (from its latest version).
    #[serde(default)]
    pub description: String,
    /// Versions, each with the `sha256:` of its `kiln-package.toml`.
    pub versions: BTreeMap<String, String>,
}

impl IndexPackage {
    /// The newest version matching `wanted` (any version when `None`).
    pub fn pick(&self, wanted: Option<&semver::VersionReq>) -> Option<(&str, &str)> {
        self.versions
            .iter()
            .filter_map(|(v, d)| Some((semver::Version::parse(v).ok()?, v, d)))
            .filter(|(v, _, _)| wanted.is_none_or(|w| w.matches(v)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, v, d)| (v.as_str(), d.as_str()))
    }

    /// The newest version.
    pub fn latest(&self) -> Option<&str> {
        self.pick(None).map(|(v, _)| v)
    }
}

impl Index {
    /// Parse and check an index; `origin` names the registry.
    pub fn parse(origin: &str, bytes: &[u8]) -> Result<Self, RegistryError> {
        let bad = |message: String| RegistryError::BadIndex { origin: origin.into(), message };
        let text =
            std::str::from_utf8(bytes).map_err(|_| bad(format!("{INDEX_FILE} is not UTF-8")))?;
        let index: Index =
            toml::from_str(text).map_err(|e| bad(toml_error(INDEX_FILE, text, &e)))?;
        for (name, package) in &index.packages {
            check_package_name(name).map_err(&bad)?;
            for (version, digest) in &package.versions {
                check_version(version).map_err(|m| bad(format!("package `{name}`: {m}")))?;
                check_digest(digest)
                    .map_err(|m| bad(format!("package `{name}` version {version}: {m}")))?;
            }
        }
        Ok(index)
    }

    /// Deterministic TOML.
    pub fn render(&self) -> String {
        let mut text = String::from(
            "# A Kiln registry: every package, its versions and the sha256 of each version's \
             kiln-package.toml.\n# Written by `kiln pkg publish`.\n",
        );
        text.push_str(&toml::to_string(self).expect("an index is plain strings and tables"));
        text
    }

    /// Record `manifest` (whose bytes have `digest`) as a version of its package.
    pub fn add(&mut self, manifest: &PackageManifest, digest: &str) {
        let package = self.packages.entry(manifest.name.clone()).or_default();
        package.versions.insert(manifest.version.clone(), digest.into());
        if package.latest() == Some(manifest.version.as_str()) {
            package.description = manifest.description.clone();
        }
    }
}

/// A TOML error in `file` (whose text is `text`) from a registry, on one line: where, and
/// toml's message with whatever of the file it quotes escaped. toml's own rendering shows the
/// offending line of the file under the message, which would print the registry's text raw.
fn toml_error(file: &str, text: &str, error: &toml::de::Error) -> String {
    let at = error.span().and_then(|span| text.get(..span.start)).map(|before| {
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
        format!(" at line {line}, column {column}")
    });
    format!("{file}{}: {}", at.unwrap_or_default(), Untrusted(error.message().trim_end()))
}

/// Package names are DNS-1123 labels: they become directory names and OCI repositories.
pub fn check_package_name(name: &str) -> Result<(), String> {
    if crate::names::is_dns1123_label(name) {
        Ok(())
    } else {
        Err(format!(
            "package name `{}` is not a DNS-1123 label (lowercase letters, digits, `-`)",
            name.escape_debug()
        ))
    }
}

fn check_version(version: &str) -> Result<(), String> {
    // Build metadata (`+...`) is refused: OCI tags cannot hold `+`, and two versions that
    // differ only by it compare equal.
    match semver::Version::parse(version) {
        Ok(v) if v.build.is_empty() => Ok(()),
        _ => Err(format!(
            "version `{}` is not a semantic version such as `1.2.0` (without `+build`)",
            version.escape_debug()
        )),
    }
}

/// Check that `digest` is `sha256:` and 64 lowercase hex digits.
pub fn check_digest(digest: &str) -> Result<(), String> {
    match digest.strip_prefix("sha256:") {
        Some(hex)
            if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Ok(())
        }
        _ => Err(format!("`{}` is not a `sha256:<64 hex digits>` digest", digest.escape_debug())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    fn manifest(file: &str) -> String {
        format!(
            "name = \"web\"\nversion = \"1.0.0\"\n[[prototypes]]\nname = \"web\"\nfile = \"{file}\"\nsha256 = \"{DIGEST}\"\n"
        )
    }

    #[test]
    fn manifests_round_trip_and_check_names() {
        let m = PackageManifest::parse("test", manifest("web.wasm").as_bytes(), None).unwrap();
        assert_eq!(PackageManifest::parse("test", m.render().as_bytes(), None).unwrap(), m);
        for file in ["../web.wasm", "/etc/web.wasm", "sub/web.wasm", "other.wasm"] {
            let err = PackageManifest::parse("test", manifest(file).as_bytes(), None).unwrap_err();
            assert!(err.to_string().contains("must be `web.wasm`"), "{file}: {err}");
        }
        let err =
            PackageManifest::parse("test", manifest("web.wasm").as_bytes(), Some(("web", "2.0.0")))
                .unwrap_err();
        assert!(err.to_string().contains("is for web@1.0.0, not web@2.0.0"), "{err}");
    }

    #[test]
    fn indexes_pick_the_newest_matching_version() {
        let text = format!(
            "[packages.web]\ndescription = \"d\"\n[packages.web.versions]\n\"1.2.0\" = \"{DIGEST}\"\n\"1.10.0\" = \"{DIGEST}\"\n\"2.0.0-rc.1\" = \"{DIGEST}\"\n"
        );
        let index = Index::parse("test", text.as_bytes()).unwrap();
        let web = &index.packages["web"];
        assert_eq!(web.latest(), Some("2.0.0-rc.1"));
        let req = semver::VersionReq::parse("^1").unwrap();
        assert_eq!(web.pick(Some(&req)).map(|p| p.0), Some("1.10.0"));
        let bad = text
            .replace("[packages.web]", "[packages.\"../x\"]")
            .replace("packages.web.", "packages.\"../x\".");
        assert!(Index::parse("test", bad.as_bytes()).unwrap_err().to_string().contains("DNS-1123"));
    }

    #[test]
    fn permission_sets_cover_and_union() {
        let asked = PermissionSet {
            cluster_scoped: vec![
                "Namespace".into(),
                "rbac.authorization.k8s.io/ClusterRole".into(),
            ],
            rbac: true,
            other_namespaces: false,
        };
        assert!(asked.covers(&PermissionSet::default()));
        assert!(!PermissionSet::default().covers(&asked));
        assert!(asked.union(&PermissionSet::default()).covers(&asked));
        let gk = parse_group_kind("rbac.authorization.k8s.io/ClusterRole");
        assert_eq!(
            (gk.group.as_str(), gk.kind.as_str()),
            ("rbac.authorization.k8s.io", "ClusterRole")
        );
        let bad = PermissionSet { cluster_scoped: vec!["../x".into()], ..Default::default() };
        assert!(bad.check("permissions").is_err());
        let bad =
            PermissionSet { cluster_scoped: vec!["a\nerror: b".into()], ..Default::default() };
        assert!(bad.check("permissions").unwrap_err().contains(r"`a\nerror: b`"));
    }

    /// toml quotes what it could not read, and a registry writes what toml quotes: a key with a
    /// newline in it must not start a line of Kiln's output.
    #[test]
    fn toml_errors_from_registries_are_one_line_with_the_registrys_text_escaped() {
        let text = "[packages.web]\n\"x\\nerror: forged\\u001b[2J\" = 1\n";
        let err = Index::parse("test", text.as_bytes()).unwrap_err().to_string();
        assert!(!err.contains('\n') && !err.contains('\u{1b}'), "{err}");
        assert!(err.contains("index.toml at line 2, column 1: "), "{err}");
        assert!(err.contains(r"x\nerror: forged\u{1b}[2J"), "{err}");
    }

    #[test]
    fn custom_kinds_are_described_as_granted_whatever_their_scope() {
        let asked = PermissionSet {
            cluster_scoped: vec![
                "Namespace".into(),
                "cert-manager.io/ClusterIssuer".into(),
                "kiln-test.dev/Gizmo".into(),
            ],
            rbac: false,
            other_namespaces: false,
        };
        assert_eq!(
            asked.describe(),
            [
                "cluster-scoped kinds: Namespace",
                "custom kinds, which may be cluster-scoped (their objects go wherever the \
                 cluster's definition says): cert-manager.io/ClusterIssuer, kiln-test.dev/Gizmo",
            ]
        );
    }
}
