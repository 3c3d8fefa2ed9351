//! A fetched package's prototypes are what its manifest says: each compiles within the user's
//! compile budget, describes itself under the name the manifest gives it, and asks to emit no
//! more than the manifest declares, which is what the user grants. `kiln pkg publish` builds
//! manifests that hold by construction; a registry can serve any manifest, so install and
//! update check it, before anything is written.

use sha2::{Digest, Sha256};

use super::{Fetched, PermissionSet, RegistryError};
use crate::render::{CodeSource, Engine, Limits};
use crate::untrusted;

/// Compile every prototype of `fetched` into optimised code (in `engine`'s cache, when it has
/// one, where renders find it), describe it, and check the description against the manifest.
/// Returns how many prototypes were compiled now (the others were in the cache).
pub fn check_prototypes(
    fetched: &Fetched,
    engine: &Engine,
    limits: &Limits,
) -> Result<usize, RegistryError> {
    let package = format!("{}@{}", fetched.reference(), fetched.manifest.version);
    let declared = &fetched.manifest.permissions;
    let mut compiled = 0;
    for prototype in &fetched.manifest.prototypes {
        // `fetch` read every file the manifest names, and checked its digest.
        let Some((_, wasm)) = fetched.files.iter().find(|(file, _)| *file == prototype.file) else {
            return Err(RegistryError::BadPackage {
                origin: package,
                message: format!("{} was not fetched", prototype.file),
            });
        };
        let label = format!("{}/{}", fetched.reference(), prototype.name);
        let refused = |error| RegistryError::Refused { package: package.clone(), error };
        let mut loaded =
            engine.load_optimised(&label, wasm, Sha256::digest(wasm).into()).map_err(refused)?;
        compiled += usize::from(loaded.code_source() == CodeSource::Compiled);
        let info = loaded.describe(limits).map_err(refused)?;
        if info.name != prototype.name {
            return Err(RegistryError::Misnamed {
                package,
                prototype: prototype.name.clone(),
                described: info.name,
            });
        }
        let asked = PermissionSet::from_permissions(&info.permissions);
        if !declared.covers(&asked) {
            let beyond = PermissionSet {
                cluster_scoped: asked
                    .cluster_scoped
                    .iter()
                    .filter(|kind| !declared.cluster_scoped.contains(kind))
                    .cloned()
                    .collect(),
                rbac: asked.rbac && !declared.rbac,
                other_namespaces: asked.other_namespaces && !declared.other_namespaces,
            };
            return Err(RegistryError::Undeclared {
                package,
                prototype: prototype.name.clone(),
                // The kinds are the guest's own text.
                asked: beyond.describe().iter().map(|line| untrusted::line(line).into()).collect(),
            });
        }
    }
    Ok(compiled)
}
