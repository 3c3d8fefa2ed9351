//! OCI registries. Each package version is an OCI artifact `HOST/NAMESPACE/PACKAGE:VERSION` in
//! the Wasm OCI artifact layout that wkg/wasm-pkg-tools use (config media type
//! `application/vnd.wasm.config.v0+json`, one `application/wasm` layer per prototype), plus one
//! layer holding `kiln-package.toml`. Every layer carries its file name in the standard
//! `org.opencontainers.image.title` annotation. The registry's index is one more artifact,
//! `HOST/NAMESPACE/kiln-index:latest`, since the catalog API is often disabled.
//!
//! Loopback hosts (`localhost`, `127.*`, `[::1]`) are spoken to over plain HTTP, as docker does;
//! every other host over HTTPS. Credentials come from `KILN_OCI_USERNAME`/`KILN_OCI_PASSWORD`
//! when set, otherwise requests are anonymous.

use std::collections::{BTreeMap, HashMap};

use futures::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};

use super::{INDEX_FILE, Index, MANIFEST_FILE, MAX_TEXT_BYTES, Publication, RegistryError, Source};

/// The config media type of Wasm OCI artifacts.
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
/// The media type of a wasm layer.
pub const WASM_LAYER: &str = "application/wasm";
/// The media type of the `kiln-package.toml` layer.
pub const MANIFEST_LAYER: &str = "application/vnd.kiln.package.v1+toml";
/// The media type of the index layer.
pub const INDEX_LAYER: &str = "application/vnd.kiln.index.v1+toml";
/// The config media type of the index artifact.
pub const INDEX_CONFIG: &str = "application/vnd.kiln.index.config.v1+json";
/// The repository (under the namespace) holding the index.
pub const INDEX_REPOSITORY: &str = "kiln-index";
const INDEX_TAG: &str = "latest";
const TITLE: &str = "org.opencontainers.image.title";

/// An OCI registry namespace holding Kiln packages.
pub struct OciSource {
    name: String,
    host: String,
    namespace: String,
    client: Client,
    auth: RegistryAuth,
    runtime: tokio::runtime::Runtime,
    manifests: HashMap<(String, String), (OciImageManifest, String)>,
}

fn is_loopback(host: &str) -> bool {
    let bare = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    bare == "localhost" || bare.starts_with("127.") || bare == "[::1]"
}

fn is_not_found(err: &OciDistributionError) -> bool {
    match err {
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::NotFound
            )
        }),
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        _ => false,
    }
}

impl OciSource {
    /// Connect (lazily) to `host` and the repositories under `namespace`.
    pub fn new(name: &str, host: &str, namespace: &str) -> Result<Self, RegistryError> {
        // reqwest is built without a default crypto provider; Kiln uses ring everywhere.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let protocol = if is_loopback(host) {
            ClientProtocol::HttpsExcept(vec![host.to_string()])
        } else {
            ClientProtocol::Https
        };
        let client = Client::new(ClientConfig {
            protocol,
            connect_timeout: Some(std::time::Duration::from_secs(10)),
            read_timeout: Some(std::time::Duration::from_secs(60)),
            ..Default::default()
        });
        let auth = match (std::env::var("KILN_OCI_USERNAME"), std::env::var("KILN_OCI_PASSWORD")) {
            (Ok(user), Ok(password)) => RegistryAuth::Basic(user, password),
            _ => RegistryAuth::Anonymous,
        };
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
                RegistryError::Unreachable {
                    registry: name.into(),
                    message: format!("cannot start the network runtime: {e}"),
                }
            })?;
        Ok(OciSource {
            name: name.into(),
            host: host.into(),
            namespace: namespace.into(),
            client,
            auth,
            runtime,
            manifests: HashMap::new(),
        })
    }

    fn reference(&self, repository: &str, tag: &str) -> Reference {
        Reference::with_tag(
            self.host.clone(),
            format!("{}/{repository}", self.namespace),
            tag.to_string(),
        )
    }

    fn network(&self, what: &str, err: OciDistributionError) -> RegistryError {
        RegistryError::Unreachable {
            registry: self.name.clone(),
            // The error quotes what the server answered: escaped, on one line.
            message: format!(
                "{what} from oci://{}/{}: {}",
                self.host,
                self.namespace,
                crate::untrusted::Untrusted(&err.to_string())
            ),
        }
    }

    /// The manifest of `repository:tag` and its digest, or `None` if there is none.
    fn pull_manifest(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<Option<(OciImageManifest, String)>, RegistryError> {
        let reference = self.reference(repository, tag);
        match self.runtime.block_on(self.client.pull_image_manifest(&reference, &self.auth)) {
            Ok(found) => Ok(Some(found)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.network(&format!("cannot read {repository}:{tag}"), e)),
        }
    }

    /// The layer of `manifest` titled `file`, at most `max` bytes, checked against its digest.
    fn pull_layer(
        &self,
        origin: &str,
        repository: &str,
        manifest: &OciImageManifest,
        file: &str,
        max: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let unsafe_layer = |path: &str, reason: String| RegistryError::Unsafe {
            origin: origin.into(),
            path: path.into(),
            reason,
        };
        let mut found: Option<&OciDescriptor> = None;
        for layer in &manifest.layers {
            let title = title(layer).unwrap_or_default();
            if title.is_empty() || title.contains('/') || title.contains('\\') || title == ".." {
                return Err(unsafe_layer(
                    &title.escape_debug().to_string(),
                    "a layer's title must be a plain file name".into(),
                ));
            }
            if title == file {
                found = Some(layer);
            }
        }
        let Some(layer) = found else {
            return Err(RegistryError::BadPackage {
                origin: origin.into(),
                message: format!("the artifact has no layer titled {file}"),
            });
        };
        if layer.size < 0 || layer.size as u64 > max {
            return Err(unsafe_layer(
                file,
                format!("it is {} bytes, over the limit of {max}", layer.size),
            ));
        }
        let reference = self.reference(repository, "unused");
        let bytes = self.runtime.block_on(async {
            let mut stream = self
                .client
                .pull_blob_stream(&reference, layer)
                .await
                .map_err(|e| self.network(&format!("cannot read {file}"), e))?;
            let mut bytes = Vec::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| RegistryError::Unreachable {
                    registry: self.name.clone(),
                    message: format!(
                        "cannot read {file}: {}",
                        crate::untrusted::Untrusted(&e.to_string())
                    ),
                })?;
                bytes.extend_from_slice(&chunk);
                if bytes.len() as u64 > max {
                    return Err(unsafe_layer(file, format!("it is over the limit of {max} bytes")));
                }
            }
            Ok(bytes)
        })?;
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        if digest != layer.digest {
            return Err(RegistryError::DigestMismatch {
                origin: origin.into(),
                file: file.into(),
                claimed_by: "the OCI manifest",
                expected: layer.digest.clone(),
                found: digest,
            });
        }
        Ok(bytes)
    }

    fn package_manifest(
        &mut self,
        package: &str,
        version: &str,
    ) -> Result<(OciImageManifest, String), RegistryError> {
        let key = (package.to_string(), version.to_string());
        if !self.manifests.contains_key(&key) {
            let found =
                self.pull_manifest(package, version)?.ok_or_else(|| RegistryError::BadPackage {
                    origin: format!("{}/{package}@{version}", self.name),
                    message: format!(
                        "the index lists it, but oci://{}/{}/{package}:{version} does not exist",
                        self.host, self.namespace
                    ),
                })?;
            self.manifests.insert(key.clone(), found);
        }
        Ok(self.manifests[&key].clone())
    }

    fn push(
        &self,
        repository: &str,
        tag: &str,
        layers: Vec<ImageLayer>,
        config: Config,
    ) -> Result<(), RegistryError> {
        let reference = self.reference(repository, tag);
        self.runtime
            .block_on(self.client.push(&reference, &layers, config, &self.auth, None))
            .map_err(|e| RegistryError::Publish {
                registry: self.name.clone(),
                message: format!(
                    "cannot push {repository}:{tag}: {}",
                    crate::untrusted::Untrusted(&e.to_string())
                ),
            })?;
        Ok(())
    }

    /// Push `publication` as `NAMESPACE/PACKAGE:VERSION` and add it to the index.
    pub fn publish(mut self, publication: &Publication) -> Result<String, RegistryError> {
        let manifest = &publication.manifest;
        let manifest_text = manifest.render();
        let manifest_digest = super::digest(manifest_text.as_bytes());
        let mut index = match self.pull_manifest(INDEX_REPOSITORY, INDEX_TAG)? {
            Some(_) => self.index()?,
            None => Index::default(),
        };
        let known =
            index.packages.get(&manifest.name).and_then(|p| p.versions.get(&manifest.version));
        let target = format!(
            "oci://{}/{}/{}:{}",
            self.host, self.namespace, manifest.name, manifest.version
        );
        match known {
            Some(d) if *d == manifest_digest => return Ok(target),
            Some(_) => return Err(super::already_published(&self.name, manifest)),
            None => {}
        }
        let layer = |bytes: Vec<u8>, media: &str, file: &str| {
            ImageLayer::new(
                bytes,
                media.to_string(),
                Some(BTreeMap::from([(TITLE.to_string(), file.to_string())])),
            )
        };
        let mut layers = vec![layer(manifest_text.into_bytes(), MANIFEST_LAYER, MANIFEST_FILE)];
        for (file, bytes) in &publication.wasm {
            layers.push(layer(bytes.clone(), WASM_LAYER, file));
        }
        let layer_digests: Vec<String> = layers.iter().map(ImageLayer::sha256_digest).collect();
        // No creation time: the same package publishes to the same digest.
        let config = serde_json::json!({
            "architecture": "wasm",
            "os": "wasip2",
            "layerDigests": layer_digests,
        });
        let config = Config::new(config.to_string().into_bytes(), WASM_CONFIG.into(), None);
        self.push(&manifest.name, &manifest.version, layers, config)?;
        index.add(manifest, &manifest_digest);
        self.manifests.clear();
        let index_layer = layer(index.render().into_bytes(), INDEX_LAYER, INDEX_FILE);
        let config = Config::new(b"{}".to_vec(), INDEX_CONFIG.into(), None);
        self.push(INDEX_REPOSITORY, INDEX_TAG, vec![index_layer], config)?;
        Ok(target)
    }
}

fn title(layer: &OciDescriptor) -> Option<String> {
    layer.annotations.as_ref()?.get(TITLE).cloned()
}

impl Source for OciSource {
    fn index(&mut self) -> Result<Index, RegistryError> {
        let (manifest, _) = self.pull_manifest(INDEX_REPOSITORY, INDEX_TAG)?.ok_or_else(|| {
            RegistryError::Unreachable {
                registry: self.name.clone(),
                message: format!(
                    "oci://{}/{} has no {INDEX_REPOSITORY}:{INDEX_TAG}: it is not a Kiln registry \
                     yet (publish a package to it with `kiln pkg publish DIR --to oci://{}/{}`)",
                    self.host, self.namespace, self.host, self.namespace
                ),
            }
        })?;
        let bytes =
            self.pull_layer(&self.name, INDEX_REPOSITORY, &manifest, INDEX_FILE, MAX_TEXT_BYTES)?;
        Index::parse(&self.name, &bytes)
    }

    fn read(
        &mut self,
        package: &str,
        version: &str,
        file: &str,
        max: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let (manifest, _) = self.package_manifest(package, version)?;
        let origin = format!("{}/{package}@{version}", self.name);
        self.pull_layer(&origin, package, &manifest, file, max)
    }

    fn source_id(&mut self, package: &str, version: &str) -> Result<String, RegistryError> {
        let (_, digest) = self.package_manifest(package, version)?;
        Ok(format!("oci://{}/{}/{package}@{digest}", self.host, self.namespace))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_hosts_use_plain_http() {
        for host in ["localhost:5000", "127.0.0.1:5000", "127.0.0.1", "[::1]:5000"] {
            assert!(super::is_loopback(host), "{host}");
        }
        for host in ["registry.example.com", "10.0.0.1:5000", "localhost.example.com"] {
            assert!(!super::is_loopback(host), "{host}");
        }
    }
}
