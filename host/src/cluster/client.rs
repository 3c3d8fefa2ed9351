//! Connecting to an environment's cluster the way kubectl would: the kubeconfig files of
//! `KUBECONFIG` (or `~/.kube/config`), the environment's context (or the current one), and the
//! environment's server URL when it names one instead of a context.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, Scope};
use kube::{Client, Config};
use tokio::sync::Mutex;

use super::Error;
use super::plan::ObjectKey;
use crate::manifest;
use crate::untrusted::Untrusted;

/// Which cluster to talk to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The kubeconfig context; `None` for the current one.
    pub context: Option<String>,
    /// An API server URL overriding the context's.
    pub server: Option<String>,
}

/// A client for `target`, the server URL for messages, and the kubeconfig user its context
/// names (for the lease's holder identity).
async fn client(target: &Target) -> Result<(Client, String, Option<String>), Error> {
    let kubeconfig = Kubeconfig::read().map_err(|e| Error::Config(format!("{e}")))?;
    let context = target.context.as_ref().or(kubeconfig.current_context.as_ref());
    let user = kubeconfig
        .contexts
        .iter()
        .find(|c| Some(&c.name) == context)
        .and_then(|c| c.context.as_ref()?.user.clone());
    let options = KubeConfigOptions { context: target.context.clone(), ..Default::default() };
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| Error::Config(format!("{e}")))?;
    if let Some(server) = &target.server {
        config.cluster_url = server
            .parse()
            .map_err(|e| Error::Config(format!("invalid server URL `{server}`: {e}")))?;
    }
    config.read_timeout = Some(std::time::Duration::from_secs(60));
    // Kiln retries itself (`Cluster::retry`: 6 attempts, 100 ms doubling). kube's own retry
    // layer (15 retries of 429/503/504, up to 1000 s apart) would multiply that into minutes of
    // silence against a server that keeps failing.
    config.default_retry = false;
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| Error::Config(format!("{e}")))?;
    Ok((client, server, user))
}

/// A cluster connection with a discovery cache.
pub struct Cluster {
    client: kube::Client,
    server: String,
    user: Option<String>,
    kinds: Mutex<HashMap<(String, String), (ApiResource, ApiCapabilities)>>,
}

const ATTEMPTS: u32 = 6;

fn retryable(err: &kube::Error) -> bool {
    match err {
        kube::Error::Api(status) => status.code == 429 || status.code >= 500,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// The longest Kiln waits before a retry when the server asks for longer: a server (or
/// something posing as one) must not stall a deploy for hours.
const MAX_SERVER_DELAY: Duration = Duration::from_secs(10);

/// The delay an API server asks for before a retry, at most [`MAX_SERVER_DELAY`]. kube-apiserver
/// answers throttled requests (429, and some 5xx) with a `Retry-After` header and the same
/// seconds in the Status body's `details.retryAfterSeconds`; kube hands Kiln the Status.
fn server_delay(err: &kube::Error) -> Option<Duration> {
    let kube::Error::Api(status) = err else { return None };
    let seconds = status.details.as_ref()?.retry_after_seconds;
    (seconds > 0).then(|| Duration::from_secs(seconds.into()).min(MAX_SERVER_DELAY))
}

impl Cluster {
    /// The client.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The kubeconfig user of the context connected with, if it names one.
    pub fn kubeconfig_user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Connect to `target` as kubectl would (see the module's docs).
    pub async fn connect(target: &Target) -> Result<Self, Error> {
        let (client, server, user) = client(target).await?;
        Ok(Cluster { client, server, user, kinds: Mutex::new(HashMap::new()) })
    }

    /// Run `request`, retrying with exponential backoff on 429, 5xx and connection errors, or
    /// after the delay the server asks for (see [`server_delay`]).
    pub(super) async fn retry<T, F, Fut>(&self, mut request: F) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        let mut delay = Duration::from_millis(100);
        for _ in 1..ATTEMPTS {
            match request().await {
                Err(e) if retryable(&e) => {
                    tokio::time::sleep(server_delay(&e).unwrap_or(delay)).await;
                    delay *= 2;
                }
                other => return other,
            }
        }
        request().await
    }

    pub(super) fn error(&self, action: &'static str, key: &ObjectKey, err: kube::Error) -> Error {
        self.error_at(action, key.to_string(), err)
    }

    /// The error of `action` on `object` (as messages name it) that failed with `err`.
    fn error_at(&self, action: &'static str, object: String, err: kube::Error) -> Error {
        match err {
            // The server's messages echo names that came from prototypes.
            kube::Error::Api(status) if status.code == 409 && action == "apply" => {
                Error::Conflict { object, message: shown(&status.message) }
            }
            kube::Error::Api(status) if status.code == 401 => Error::Unauthorized {
                server: self.server.clone(),
                code: status.code,
                message: shown(&status.message),
            },
            kube::Error::Api(status) => {
                Error::Api { action, object, message: shown(&status.message) }
            }
            kube::Error::HyperError(_) | kube::Error::Service(_) => {
                Error::Unreachable { server: self.server.clone(), message: format!("{err}") }
            }
            other => Error::Api { action, object, message: shown(&other.to_string()) },
        }
    }

    /// The resource and capabilities of `kind` in `api_version`, discovered once per kind;
    /// `None` when the cluster does not serve it. `object` names what needs it, for errors;
    /// without one, they name the kind.
    async fn discover(
        &self,
        api_version: &str,
        kind: &str,
        object: Option<&ObjectKey>,
    ) -> Result<Option<(ApiResource, ApiCapabilities)>, Error> {
        let cache_key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.kinds.lock().await.get(&cache_key).cloned() {
            return Ok(Some(found));
        }
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let found = match self.retry(|| kube::discovery::pinned_kind(&self.client, &gvk)).await {
            Ok(found) => found,
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(None),
            Err(kube::Error::Discovery(_)) => return Ok(None),
            Err(other) => {
                let object = match object {
                    Some(key) => key.to_string(),
                    None => format!("{} {}", Untrusted(api_version), Untrusted(kind)),
                };
                return Err(self.error_at("discover", object, other));
            }
        };
        self.kinds.lock().await.insert(cache_key, found.clone());
        Ok(Some(found))
    }

    /// The API for `key`'s kind, and the kind's scope as the cluster serves it.
    pub(super) async fn api_scoped(
        &self,
        key: &ObjectKey,
    ) -> Result<(Api<DynamicObject>, Scope), Error> {
        let unknown = || Error::UnknownKind {
            api_version: key.api_version.clone(),
            kind: key.kind.clone(),
            object: key.to_string(),
        };
        let (resource, caps) =
            self.discover(&key.api_version, &key.kind, Some(key)).await?.ok_or_else(unknown)?;
        let api = match (&caps.scope, &key.namespace) {
            (Scope::Namespaced, Some(ns)) => {
                Api::namespaced_with(self.client.clone(), ns, &resource)
            }
            _ => Api::all_with(self.client.clone(), &resource),
        };
        Ok((api, caps.scope))
    }

    /// The API for `key`'s kind, discovered once per kind.
    pub(super) async fn api(&self, key: &ObjectKey) -> Result<Api<DynamicObject>, Error> {
        Ok(self.api_scoped(key).await?.0)
    }

    /// What `cluster` says of the scope of each of `kinds` (`apiVersion`, kind), by API group and
    /// kind: the truth that post-processing places objects by and their grants are checked
    /// against before anything is sent. Kinds the cluster does not serve (yet: a CRD in the same
    /// render) are left out.
    pub async fn scopes(
        &self,
        kinds: &[(String, String)],
    ) -> Result<BTreeMap<(String, String), manifest::Scope>, Error> {
        let found: Vec<_> = futures::stream::iter(kinds)
            .map(|(api_version, kind)| async move {
                let found = self.discover(api_version, kind, None).await?;
                let scope = found.map(|(_, caps)| match caps.scope {
                    Scope::Cluster => manifest::Scope::Cluster,
                    Scope::Namespaced => manifest::Scope::Namespaced,
                });
                let group = manifest::api_group(api_version).to_string();
                Ok::<_, Error>(scope.map(|s| ((group, kind.clone()), s)))
            })
            .buffer_unordered(DISCOVERY_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }
}

/// Discovery requests in flight at once.
const DISCOVERY_CONCURRENCY: usize = 8;

/// Text from the server, for a message.
pub(super) fn shown(text: &str) -> String {
    crate::untrusted::line(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::{Status, response::StatusDetails};

    fn throttled(code: u16, retry_after_seconds: u32) -> kube::Error {
        let details = StatusDetails {
            name: String::new(),
            group: String::new(),
            kind: String::new(),
            uid: String::new(),
            causes: Vec::new(),
            retry_after_seconds,
        };
        kube::Error::Api(
            Status::failure("slow down", "TooManyRequests")
                .with_code(code)
                .with_details(details)
                .boxed(),
        )
    }

    #[test]
    fn the_server_delay_is_honoured_up_to_a_bound() {
        assert_eq!(server_delay(&throttled(429, 2)), Some(Duration::from_secs(2)));
        assert_eq!(server_delay(&throttled(503, 1)), Some(Duration::from_secs(1)));
        // A day is what a broken or hostile server might ask; Kiln waits at most 10 s.
        assert_eq!(server_delay(&throttled(429, 86_400)), Some(MAX_SERVER_DELAY));
        assert_eq!(server_delay(&throttled(429, 0)), None, "no delay asked: back off as usual");
        let plain = kube::Error::Api(Status::failure("busy", "").with_code(429).boxed());
        assert_eq!(server_delay(&plain), None);
    }
}
