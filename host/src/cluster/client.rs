//! Connecting to an environment's cluster the way kubectl would: the kubeconfig files of
//! `KUBECONFIG` (or `~/.kube/config`), the environment's context (or the current one), and the
//! environment's server URL when it names one instead of a context.

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::Error;

/// Which cluster to talk to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The kubeconfig context; `None` for the current one.
    pub context: Option<String>,
    /// An API server URL overriding the context's.
    pub server: Option<String>,
}

/// A client for `target`, and the server URL for messages.
pub async fn connect(target: &Target) -> Result<(Client, String), Error> {
    let kubeconfig = Kubeconfig::read().map_err(|e| Error::Config(format!("{e}")))?;
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
    Ok((client, server))
}
