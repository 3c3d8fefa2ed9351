//! Clusters: the only module that touches kube-rs. Connecting as kubectl would (kubeconfig,
//! `KUBECONFIG`, context), planning an apply as a pure step (phases included), and executing
//! apply, diff, delete and prune with server-side apply, bounded concurrency and retries; the
//! readiness of live objects (pure rules, [`Status`]) that `--wait`, phases and `status` share.

mod client;
mod diff;
mod execute;
mod inventory;
mod lease;
mod namespace;
mod plan;
mod ready;
pub mod revision;
mod secret;
mod status;

pub use client::{Cluster, Target};
pub use diff::{Diff, diff};
pub use execute::{ApplyOptions, DryRun, Event, Outcome, Report, apply, delete};
pub use inventory::InventoryRef;
pub use lease::{DURATION as LEASE_DURATION, Holder, LeaseGuard, LeaseRef};
pub use namespace::{
    NamespaceDeleted, NamespaceState, create_namespace, delete_namespace, namespace_state,
};
pub use plan::{ObjectKey, Phase, plan};
pub use ready::Status;
pub use secret::fill_from_live;
pub use status::{ObjectStatus, Sync, status};

/// Field manager of every apply.
pub const FIELD_MANAGER: &str = "kiln";

/// A cluster operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No kubeconfig, no such context, or unusable credentials.
    #[error("cannot configure a client for the cluster: {0}")]
    Config(String),
    /// The API server could not be reached.
    #[error("cannot reach the cluster at {server}: {message}")]
    Unreachable {
        /// The server URL.
        server: String,
        /// What failed.
        message: String,
    },
    /// The server refused the credentials.
    #[error("the cluster at {server} refused the credentials ({code}): {message}")]
    Unauthorized {
        /// The server URL.
        server: String,
        /// 401 or 403.
        code: u16,
        /// The server's message.
        message: String,
    },
    /// Another field manager owns fields Kiln sets.
    #[error("conflict applying `{object}`: {message}")]
    Conflict {
        /// `kind/namespace/name`.
        object: String,
        /// The server's message, naming the field and the other manager.
        message: String,
    },
    /// The server does not serve the object's kind.
    #[error("the cluster does not serve `{api_version}` `{kind}` (needed by `{object}`)")]
    UnknownKind {
        /// The object's apiVersion.
        api_version: String,
        /// Its kind.
        kind: String,
        /// `kind/namespace/name`.
        object: String,
    },
    /// An object placed by a scope other than the one the cluster serves its kind with. Kiln
    /// places objects by what the cluster reports, so this is a bug, refused before sending.
    #[error("refusing to apply `{object}`: the cluster serves its kind {served}")]
    ScopeMismatch {
        /// `kind/namespace/name`.
        object: String,
        /// `cluster-wide` or `in namespaces`.
        served: &'static str,
    },
    /// Any other API error on one object.
    #[error("cannot {action} `{object}`: {message}")]
    Api {
        /// apply, get, delete...
        action: &'static str,
        /// `kind/namespace/name`.
        object: String,
        /// The server's message.
        message: String,
    },
    /// Waiting for readiness ran out of time.
    #[error("timed out after {seconds} s waiting for `{object}` to be {what}")]
    Timeout {
        /// `kind/namespace/name`.
        object: String,
        /// Established, ready, deleted.
        what: &'static str,
        /// The timeout.
        seconds: u64,
    },
    /// No revision with that number in the environment's history.
    #[error("environment `{environment}` has no revision {number} in its cluster")]
    NoRevision {
        /// The environment.
        environment: String,
        /// The revision asked for.
        number: u64,
    },
    /// An object waited on will not become ready without a change (a failed Job, a Deployment
    /// past its progress deadline, a Stalled resource): the wait stops at once.
    #[error("`{object}` failed: {reason}")]
    Failed {
        /// `kind/namespace/name`.
        object: String,
        /// Why, from its status (see [`Status`]).
        reason: String,
    },
    /// An object waited on was still not ready when the time was up.
    #[error("timed out after {seconds} s waiting for `{object}` to be ready: {reason}")]
    NotReady {
        /// `kind/namespace/name`: the first object of the wait that was not ready.
        object: String,
        /// Why it was not, from its status.
        reason: String,
        /// The timeout.
        seconds: u64,
    },
    /// Another command holds the environment's lease: one change of an environment at a time.
    #[error("{0}")]
    Locked(Box<Locked>),
    /// The lease was lost while held: the command stopped rather than run beside another.
    #[error("stopped: lost the lease `{object}` while working ({message})")]
    LeaseLost {
        /// `Lease/namespace/name`.
        object: String,
        /// What happened to it.
        message: String,
    },
    /// The user pressed Ctrl-C.
    #[error(
        "interrupted; objects applied so far stay applied, and running the command again converges"
    )]
    Interrupted,
}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Conflict { .. } => Some(
                "rerun with `--force-conflicts` to take it over (prune and delete will then treat it as this app's)"
                    .into(),
            ),
            Error::Unreachable { .. } => {
                Some("check the environment's cluster with `kiln env describe`".into())
            }
            Error::Config(_) => Some(
                "set the environment's cluster with `kiln env set ENV --context C` (see `kubectl config get-contexts`)"
                    .into(),
            ),
            Error::NoRevision { environment, .. } => {
                Some(format!("`kiln history {environment}` lists the revisions it keeps"))
            }
            Error::Locked(locked) => Some(format!(
                "wait for it to finish and try again; a holder that was killed loses the lease \
                 {} s after its last renewal, or break it by hand if you are sure nothing runs: \
                 `{command}`",
                lease::DURATION.as_secs(),
                command = locked.command,
            )),
            Error::LeaseLost { .. } => Some(
                "objects applied so far stay applied; check who changes the environment, then run \
                 the command again"
                    .into(),
            ),
            Error::UnknownKind { .. } => {
                Some("install the CRD first, or add it to a component of the app".into())
            }
            Error::Failed { .. } => Some(
                "waiting longer would not help: see `kubectl describe` of the object and its \
                 events, fix the cause and apply again"
                    .into(),
            ),
            Error::NotReady { .. } => Some(
                "raise `--timeout` if it is only slow; `kiln status ENV` shows every object's \
                 state"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// Who holds an environment's lease, for [`Error::Locked`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "environment `{environment}` is locked by {holder}{} since {acquired}, last renewed {renewed}",
    operation.as_deref().map(|o| format!(" (running `kiln {o}`)")).unwrap_or_default()
)]
pub struct Locked {
    /// The environment.
    pub environment: String,
    /// Who holds it (their `holderIdentity`).
    pub holder: String,
    /// What they do: apply, delete, rollback.
    pub operation: Option<String>,
    /// When they took it.
    pub acquired: String,
    /// When they last renewed it.
    pub renewed: String,
    /// The command that breaks the lease by hand.
    pub command: String,
}
