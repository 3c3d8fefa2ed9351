//! Where packages come from. For now the built-in `kubeflow` registry, whose prototypes are
//! compiled with Kiln and embedded in the binary, so it works offline.

use sha2::{Digest, Sha256};

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
}

const PACKAGES: &[BuiltinPackage] = &[
    BuiltinPackage {
        name: "core",
        version: env!("CARGO_PKG_VERSION"),
        description: "Kubeflow core: JupyterHub, the TF job operator and NFS for notebooks",
        prototypes: &["core", "nfs", "tf-job"],
    },
    BuiltinPackage {
        name: "tf-serving",
        version: env!("CARGO_PKG_VERSION"),
        description: "TensorFlow Serving: serve a model over gRPC",
        prototypes: &["tf-serving"],
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

/// `sha256:<hex>` of `bytes`, the digest format of `kiln.lock`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_prototype_is_embedded() {
        for package in builtin_packages() {
            for prototype in package.prototypes {
                let wasm = builtin_wasm(prototype).unwrap_or_else(|| panic!("{prototype} missing"));
                assert!(wasm.starts_with(b"\0asm"), "{prototype} is wasm");
            }
        }
    }
}
