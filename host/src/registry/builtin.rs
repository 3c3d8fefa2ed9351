//! The built-in `kubeflow` registry: prototypes compiled with Kiln and embedded in the binary,
//! so it works offline. It is served through the same [`Source`] interface as any registry.

use super::{
    Index, IndexPackage, ManifestPrototype, PackageManifest, PermissionSet, RegistryError, Source,
    digest, wasm_file,
};

/// The name of the built-in registry.
pub const BUILTIN: &str = "kubeflow";

/// A package of the built-in registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinPackage {
    /// The package's name.
    pub name: &'static str,
    /// Its version (Kiln's own).
    pub version: &'static str,
    /// One line about it.
    pub description: &'static str,
    /// Its prototypes, by name (each built from the guest crate of the same name).
    pub prototypes: &'static [&'static str],
    /// Cluster-scoped kinds its prototypes emit (`group/Kind`).
    pub cluster_scoped: &'static [&'static str],
    /// Whether it emits RBAC objects.
    pub rbac: bool,
    /// Whether it places objects in other namespaces.
    pub other_namespaces: bool,
}

const PACKAGES: &[BuiltinPackage] = &[
    BuiltinPackage {
        name: "core",
        version: env!("CARGO_PKG_VERSION"),
        description: "Kubeflow core: JupyterHub, the TF job operator and NFS for notebooks",
        prototypes: &["core", "nfs", "tf-job"],
        cluster_scoped: &[
            "apiextensions.k8s.io/CustomResourceDefinition",
            "rbac.authorization.k8s.io/ClusterRole",
            "rbac.authorization.k8s.io/ClusterRoleBinding",
            "storage.k8s.io/StorageClass",
        ],
        rbac: true,
        other_namespaces: true,
    },
    BuiltinPackage {
        name: "tf-serving",
        version: env!("CARGO_PKG_VERSION"),
        description: "TensorFlow Serving: serve a model over gRPC",
        prototypes: &["tf-serving"],
        cluster_scoped: &[],
        rbac: false,
        other_namespaces: true,
    },
];

/// The built-in registry's packages.
pub fn builtin_packages() -> &'static [BuiltinPackage] {
    PACKAGES
}

/// The wasm of built-in prototype `name`.
pub fn builtin_wasm(name: &str) -> Option<&'static [u8]> {
    kiln_guest_artifacts::PROTOTYPES.iter().find(|(n, _)| *n == name).map(|(_, wasm)| *wasm)
}

impl BuiltinPackage {
    /// Its manifest, as installed into `vendor/`.
    pub fn manifest(&self) -> PackageManifest {
        let mut cluster_scoped: Vec<String> =
            self.cluster_scoped.iter().map(|s| s.to_string()).collect();
        cluster_scoped.sort();
        PackageManifest {
            name: self.name.into(),
            version: self.version.into(),
            description: self.description.into(),
            prototypes: self
                .prototypes
                .iter()
                .map(|name| ManifestPrototype {
                    name: name.to_string(),
                    file: wasm_file(name),
                    sha256: digest(builtin_wasm(name).expect("built-in prototypes are embedded")),
                })
                .collect(),
            permissions: PermissionSet {
                cluster_scoped,
                rbac: self.rbac,
                other_namespaces: self.other_namespaces,
            },
        }
    }
}

fn package(name: &str, version: &str) -> Result<&'static BuiltinPackage, RegistryError> {
    PACKAGES.iter().find(|p| p.name == name && p.version == version).ok_or_else(|| {
        RegistryError::UnknownPackage {
            registry: BUILTIN.into(),
            name: format!("{name}@{version}"),
            suggestion: None,
        }
    })
}

/// The built-in registry as a [`Source`].
pub struct Builtin;

impl Source for Builtin {
    fn index(&mut self) -> Result<Index, RegistryError> {
        let mut index = Index::default();
        for p in PACKAGES {
            let manifest = p.manifest();
            let entry = index.packages.entry(p.name.into()).or_insert_with(IndexPackage::default);
            entry.description = p.description.into();
            entry.versions.insert(p.version.into(), digest(manifest.render().as_bytes()));
        }
        Ok(index)
    }

    fn read(
        &mut self,
        package_name: &str,
        version: &str,
        file: &str,
        _max: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let p = package(package_name, version)?;
        if file == super::MANIFEST_FILE {
            return Ok(p.manifest().render().into_bytes());
        }
        p.prototypes
            .iter()
            .find(|name| wasm_file(name) == file)
            .and_then(|name| builtin_wasm(name))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| RegistryError::BadPackage {
                origin: format!("{BUILTIN}/{package_name}@{version}"),
                message: format!("no file {file}"),
            })
    }

    fn source_id(&mut self, _package: &str, _version: &str) -> Result<String, RegistryError> {
        Ok("builtin".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_prototype_is_embedded_and_fetches() {
        let mut source = Builtin;
        let index = source.index().unwrap();
        for package in builtin_packages() {
            for prototype in package.prototypes {
                let wasm = builtin_wasm(prototype).unwrap_or_else(|| panic!("{prototype} missing"));
                assert!(wasm.starts_with(b"\0asm"), "{prototype} is wasm");
            }
            let (version, manifest) =
                super::super::resolve_version(BUILTIN, &index, package.name, None).unwrap();
            let fetched =
                super::super::fetch(BUILTIN, &mut source, package.name, version, manifest).unwrap();
            assert_eq!(fetched.files.len(), package.prototypes.len() + 1);
        }
    }
}
