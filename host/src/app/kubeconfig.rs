//! Just enough of the user's kubeconfig for `kiln init` to take the current context, the way
//! kubectl finds it: the files in `$KUBECONFIG` (first one naming a current context wins), else
//! `~/.kube/config`. A missing or unreadable kubeconfig is not an error: init works offline.

use std::path::PathBuf;

use serde::Deserialize;

/// The current context and the server of its cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentContext {
    /// The context's name.
    pub context: String,
    /// Its cluster's API server URL, when the file says.
    pub server: Option<String>,
    /// Its namespace, when set.
    pub namespace: Option<String>,
}

#[derive(Deserialize)]
struct Config {
    #[serde(rename = "current-context", default)]
    current_context: Option<String>,
    #[serde(default)]
    contexts: Vec<Named<Context>>,
    #[serde(default)]
    clusters: Vec<Named<Cluster>>,
}

#[derive(Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "context", alias = "cluster")]
    value: Option<T>,
}

#[derive(Deserialize)]
struct Context {
    cluster: Option<String>,
    namespace: Option<String>,
}

#[derive(Deserialize)]
struct Cluster {
    server: Option<String>,
}

/// The kubeconfig files kubectl would read.
pub fn paths() -> Vec<PathBuf> {
    match std::env::var_os("KUBECONFIG") {
        Some(list) if !list.is_empty() => std::env::split_paths(&list).collect(),
        _ => dirs::home_dir().map(|h| vec![h.join(".kube").join("config")]).unwrap_or_default(),
    }
}

/// The current context, if a kubeconfig names one.
pub fn current_context() -> Option<CurrentContext> {
    let configs: Vec<Config> = paths()
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter_map(|text| serde_saphyr::from_str(&text).ok())
        .collect();
    let name = configs.iter().find_map(|c| c.current_context.clone().filter(|n| !n.is_empty()))?;
    let context = configs.iter().flat_map(|c| &c.contexts).find(|c| c.name == name);
    let context = context.and_then(|c| c.value.as_ref());
    let cluster = context.and_then(|c| c.cluster.as_deref());
    let server = cluster.and_then(|cluster| {
        configs
            .iter()
            .flat_map(|c| &c.clusters)
            .find(|c| c.name == cluster)
            .and_then(|c| c.value.as_ref()?.server.clone())
    });
    Some(CurrentContext {
        context: name,
        server,
        namespace: context.and_then(|c| c.namespace.clone()),
    })
}
