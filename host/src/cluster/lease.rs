//! One change of an environment at a time: apply, delete and prune (and anything else that
//! changes what an environment holds, such as a rollback) take the environment's Lease,
//! `coordination.k8s.io/v1` `kiln-lease-<app>-<env>` in its namespace, before they touch
//! anything, and give it back when done, also when they fail.
//!
//! The Lease says who holds it (`holderIdentity`: `$USER@host pid N`, and the kubeconfig user),
//! since when (`acquireTime`) and until when it counts (`renewTime` + `leaseDurationSeconds`).
//! A background task renews it every [`RENEW_EVERY`] while it is held. A second command that
//! finds it held fails at once, naming the holder; one that finds it expired (its holder was
//! killed, or lost the cluster) takes it over. Creating it (a create fails if it exists) and
//! taking it over (a replace carries the resource version read) are both conditional, so of two
//! commands racing for it exactly one wins.
//!
//! Expiry is judged by this machine's clock against the holder's: clocks more than
//! [`DURATION`] apart could take a live lease over (or wait longer for a dead one).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams, Preconditions};
use tokio::sync::{Mutex, watch};

use super::client::Cluster;
use super::{Error, Event, InventoryRef, ObjectKey};
use crate::manifest::{APP_LABEL, ENV_LABEL, MANAGED_BY, MANAGER};

/// The start of every lease's name (one of Kiln's reserved prefixes, which prototypes cannot
/// render).
pub const LEASE_PREFIX: &str = "kiln-lease-";

/// How long a lease counts after its last renewal (`leaseDurationSeconds`).
pub const DURATION: Duration = Duration::from_secs(30);

/// How often a held lease is renewed: three chances before it expires.
pub const RENEW_EVERY: Duration = Duration::from_secs(10);

/// How soon a renewal that failed on the way (not refused) is tried again.
const RENEW_RETRY: Duration = Duration::from_secs(2);

/// The annotation that tells this holder's lease from another process's with the same
/// identity text (a retried create that had reached the server, say).
const TOKEN: &str = "kiln.dev/lease-token";

/// The annotation naming what the holder does (`apply`, `delete`, `rollback`).
const OPERATION: &str = "kiln.dev/operation";

/// Who takes a lease: the text other users see, and a token that is this process's alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// `$USER@host pid N`, and `, kubeconfig user U` when the kubeconfig names one.
    pub identity: String,
    token: String,
}

impl Holder {
    /// This process, connected as the kubeconfig user `user` (if the context names one).
    pub fn this_process(user: Option<&str>) -> Holder {
        let login = ["USER", "LOGNAME", "USERNAME"]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| format!("uid-{}", rustix::process::getuid().as_raw()));
        let host = rustix::system::uname().nodename().to_string_lossy().into_owned();
        Holder::new(&login, &host, std::process::id(), user)
    }

    fn new(login: &str, host: &str, pid: u32, user: Option<&str>) -> Holder {
        let mut identity = format!("{login}@{host} pid {pid}");
        if let Some(user) = user.filter(|u| !u.is_empty()) {
            identity.push_str(&format!(", kubeconfig user {user}"));
        }
        // Unique to this process and moment: a digest of who, where, when.
        let seed = format!("{identity}\n{}", Timestamp::now().as_nanosecond());
        let token = crate::checked::digest(seed.as_bytes());
        let token = token.trim_start_matches("sha256:").chars().take(16).collect();
        Holder { identity, token }
    }
}

/// Which environment's lease: its name and namespace, and the labels that say whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRef {
    /// The app.
    pub app: String,
    /// The environment.
    pub environment: String,
    /// The environment's namespace, which holds the lease.
    pub namespace: String,
}

impl From<&InventoryRef> for LeaseRef {
    fn from(inventory: &InventoryRef) -> Self {
        LeaseRef {
            app: inventory.app.clone(),
            environment: inventory.environment.clone(),
            namespace: inventory.namespace.clone(),
        }
    }
}

impl LeaseRef {
    /// The Lease's name.
    pub fn name(&self) -> String {
        format!("{LEASE_PREFIX}{}-{}", self.app, self.environment)
    }

    /// The command that breaks the lease by hand.
    pub fn break_command(&self) -> String {
        format!("kubectl -n {} delete lease {}", self.namespace, self.name())
    }

    fn key(&self) -> ObjectKey {
        ObjectKey {
            api_version: "coordination.k8s.io/v1".into(),
            kind: "Lease".into(),
            namespace: Some(self.namespace.clone()),
            name: self.name(),
            component: String::new(),
        }
    }

    /// The lease as `holder` takes it now for `operation`, over `previous` if there is one.
    fn taken(&self, holder: &Holder, operation: &str, previous: Option<&Lease>) -> Lease {
        let now = MicroTime(Timestamp::now());
        let transitions = previous
            .and_then(|l| l.spec.as_ref()?.lease_transitions)
            .map_or(0, |n| n.saturating_add(1));
        Lease {
            metadata: ObjectMeta {
                name: Some(self.name()),
                namespace: Some(self.namespace.clone()),
                labels: Some(
                    [
                        (MANAGED_BY.to_string(), MANAGER.to_string()),
                        (APP_LABEL.to_string(), self.app.clone()),
                        (ENV_LABEL.to_string(), self.environment.clone()),
                    ]
                    .into(),
                ),
                annotations: Some(
                    [
                        (TOKEN.to_string(), holder.token.clone()),
                        (OPERATION.to_string(), operation.to_string()),
                    ]
                    .into(),
                ),
                resource_version: previous.and_then(|l| l.metadata.resource_version.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.identity.clone()),
                acquire_time: Some(now.clone()),
                renew_time: Some(now),
                lease_duration_seconds: Some(DURATION.as_secs() as i32),
                lease_transitions: Some(transitions),
                ..LeaseSpec::default()
            }),
        }
    }

    /// Take the lease for `holder`, to do `operation`. Fails with [`Error::Locked`] when
    /// another holder's lease has not expired; takes over one that has (and says so through
    /// `on_event`). Renewed in the background until [`LeaseGuard::release`]: must be called on
    /// a Tokio runtime.
    ///
    /// An identity the cluster does not let read or write Leases in the namespace goes on
    /// without one, warned (an upgrade of Kiln must not lock out a deployer whose role predates
    /// leases); so does a namespace that does not exist (nothing in it to guard).
    pub async fn acquire(
        &self,
        cluster: &Cluster,
        holder: &Holder,
        operation: &str,
        on_event: &(dyn Fn(&Event) + Sync),
    ) -> Result<LeaseGuard, Error> {
        let api: Api<Lease> = Api::namespaced(cluster.client().clone(), &self.namespace);
        let name = self.name();
        let key = self.key();
        let post = PostParams::default();
        // A lost race (another create, or a takeover in between) reads again; three rounds
        // is more than two processes racing can need.
        for _ in 0..3 {
            let live = match cluster.retry(|| api.get_opt(&name)).await {
                Ok(live) => live,
                Err(kube::Error::Api(status)) if status.code == 403 => {
                    on_event(&Event::Warning(forbidden(&self.namespace, &status.message)));
                    return Ok(LeaseGuard::unguarded());
                }
                Err(e) => return Err(cluster.error("get", &key, e)),
            };
            let written = match live {
                None => {
                    let lease = self.taken(holder, operation, None);
                    cluster.retry(|| api.create(&post, &lease)).await
                }
                Some(live) if is_mine(&live, holder) => Ok(live),
                Some(live) => match state(&live, Timestamp::now()) {
                    State::Held { holder: other, acquired, renewed, operation: theirs } => {
                        return Err(Error::Locked(Box::new(super::Locked {
                            environment: self.environment.clone(),
                            holder: other,
                            operation: theirs,
                            acquired,
                            renewed,
                            command: self.break_command(),
                        })));
                    }
                    State::Free => {
                        let lease = self.taken(holder, operation, Some(&live));
                        cluster.retry(|| api.replace(&name, &post, &lease)).await
                    }
                    State::Expired { holder: other, renewed } => {
                        let lease = self.taken(holder, operation, Some(&live));
                        let taken = cluster.retry(|| api.replace(&name, &post, &lease)).await;
                        if taken.is_ok() {
                            on_event(&Event::Note(format!(
                                "took over the lease of `{}` from {other}, who last renewed it \
                                 {renewed} and is gone",
                                self.environment
                            )));
                        }
                        taken
                    }
                },
            };
            match written {
                Ok(lease) => return Ok(LeaseGuard::start(api, key, lease, holder.clone())),
                // Created (409 AlreadyExists) or replaced (409 Conflict) by someone else first,
                // or a retried create whose first attempt had landed: read it again.
                Err(kube::Error::Api(status)) if status.code == 409 => continue,
                Err(kube::Error::Api(status)) if status.code == 403 => {
                    on_event(&Event::Warning(forbidden(&self.namespace, &status.message)));
                    return Ok(LeaseGuard::unguarded());
                }
                Err(e) => return Err(cluster.error("take", &key, e)),
            }
        }
        Err(Error::Api {
            action: "take",
            object: key.to_string(),
            message: "other commands kept taking it at the same time; try again".into(),
        })
    }
}

/// The warning for a lease the cluster refuses (403) in `namespace`.
fn forbidden(namespace: &str, message: &str) -> String {
    format!(
        "going on without the lease that keeps two applies of this environment apart: the \
         cluster refuses it ({}); grant get, create, update and delete on \
         `leases.coordination.k8s.io` in namespace `{namespace}`",
        super::client::shown(message)
    )
}

/// Whether `live` is `holder`'s own lease.
fn is_mine(live: &Lease, holder: &Holder) -> bool {
    let token = live.metadata.annotations.as_ref().and_then(|a| a.get(TOKEN));
    let identity = live.spec.as_ref().and_then(|s| s.holder_identity.as_ref());
    token == Some(&holder.token) && identity == Some(&holder.identity)
}

/// What a lease found in the cluster means.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Nobody holds it (released, or never held).
    Free,
    /// Someone holds it.
    Held { holder: String, acquired: String, renewed: String, operation: Option<String> },
    /// Someone held it, and has not renewed it in time.
    Expired { holder: String, renewed: String },
}

/// What `live` means at `now`: held until its renewal time plus its duration (a lease without
/// either counts as held from when it was acquired, for [`DURATION`]).
fn state(live: &Lease, now: Timestamp) -> State {
    let spec = live.spec.clone().unwrap_or_default();
    let Some(holder) = spec.holder_identity.filter(|h| !h.is_empty()) else {
        return State::Free;
    };
    // The holder's text is shown to the user: it came from whoever wrote the lease.
    let holder = super::client::shown(&holder);
    let renewal = spec.renew_time.or(spec.acquire_time.clone()).map(|t| t.0);
    let seconds =
        spec.lease_duration_seconds.filter(|s| *s > 0).map_or(DURATION.as_secs(), |s| s as u64);
    let renewed = renewal.map_or("never".into(), |t| ago(t, now));
    let counts = renewal.is_some_and(|t| t + SignedDuration::from_secs(seconds as i64) > now);
    if !counts {
        return State::Expired { holder, renewed };
    }
    let acquired = spec.acquire_time.map_or("an unknown time".into(), |t| {
        format!("{} ({})", t.0.strftime("%Y-%m-%dT%H:%M:%SZ"), ago(t.0, now))
    });
    let operation = live
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(OPERATION))
        .map(|o| super::client::shown(o));
    State::Held { holder, acquired, renewed, operation }
}

/// `12 s ago`, `3 min ago`, `2 h ago`, `3 days ago`; `just now` for the future (a clock ahead of this one).
fn ago(then: Timestamp, now: Timestamp) -> String {
    let seconds = now.duration_since(then).as_secs();
    match seconds {
        ..=0 => "just now".into(),
        1..120 => format!("{seconds} s ago"),
        120..3600 => format!("{} min ago", seconds / 60),
        3600..172_800 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

/// A held lease. Renewed in the background until [`LeaseGuard::release`]; dropping the guard
/// only stops the renewal, and the lease then expires [`DURATION`] after its last one.
pub struct LeaseGuard {
    inner: Option<Held>,
}

struct Held {
    api: Api<Lease>,
    key: ObjectKey,
    /// The lease as last written; `None` once it was lost.
    lease: Arc<Mutex<Option<Lease>>>,
    renewer: tokio::task::JoinHandle<()>,
    /// Set, with what happened, when the lease was lost.
    lost: watch::Receiver<Option<String>>,
}

impl LeaseGuard {
    /// A guard that guards nothing: for an identity the cluster does not let take leases, or
    /// a namespace that does not exist, where Kiln goes on as it did before leases.
    pub fn unguarded() -> LeaseGuard {
        LeaseGuard { inner: None }
    }

    /// Whether a lease is held.
    pub fn is_held(&self) -> bool {
        self.inner.is_some()
    }

    fn start(api: Api<Lease>, key: ObjectKey, lease: Lease, holder: Holder) -> LeaseGuard {
        let lease = Arc::new(Mutex::new(Some(lease)));
        let (tell, lost) = watch::channel(None);
        let renewer = tokio::spawn(renew(api.clone(), Arc::clone(&lease), holder, tell));
        LeaseGuard { inner: Some(Held { api, key, lease, renewer, lost }) }
    }

    /// Resolves, with the error to stop on, if the lease is lost while held: someone broke it
    /// by hand, or it expired (renewals failed) and another command took it. Never resolves
    /// while it is held.
    pub async fn lost(&self) -> Error {
        let Some(held) = &self.inner else { return std::future::pending().await };
        let mut lost = held.lost.clone();
        match lost.wait_for(Option::is_some).await {
            Ok(why) => Error::LeaseLost {
                object: held.key.to_string(),
                message: why.clone().unwrap_or_default(),
            },
            Err(_) => std::future::pending().await,
        }
    }

    /// Give the lease back: stop renewing it and delete it, if it is still this holder's (a
    /// lease taken over meanwhile is left to its new holder).
    pub async fn release(mut self, cluster: &Cluster) -> Result<(), Error> {
        let Some(held) = self.inner.take() else { return Ok(()) };
        // Wait for a renewal in flight, so the resource version below is the last one.
        let mut lease = held.lease.lock().await;
        held.renewer.abort();
        let Some(mine) = lease.take() else { return Ok(()) };
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: mine.metadata.uid.clone(),
                resource_version: mine.metadata.resource_version.clone(),
            }),
            ..DeleteParams::default()
        };
        let name = held.key.name.clone();
        match cluster.retry(|| held.api.delete(&name, &params)).await {
            Ok(_) => Ok(()),
            // Gone already (with its namespace), or no longer this holder's.
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Ok(()),
            Err(e) => Err(cluster.error("release", &held.key, e)),
        }
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if let Some(held) = &self.inner {
            held.renewer.abort();
        }
    }
}

/// Renew `lease` every [`RENEW_EVERY`] until aborted; on a refusal (someone else wrote or
/// deleted it), stop and say so through `lost`.
async fn renew(
    api: Api<Lease>,
    lease: Arc<Mutex<Option<Lease>>>,
    holder: Holder,
    lost: watch::Sender<Option<String>>,
) {
    let mut wait = RENEW_EVERY;
    loop {
        tokio::time::sleep(wait).await;
        let mut current = lease.lock().await;
        let Some(mut next) = current.clone() else { return };
        if let Some(spec) = next.spec.as_mut() {
            spec.renew_time = Some(MicroTime(Timestamp::now()));
        }
        let name = next.metadata.name.clone().unwrap_or_default();
        match api.replace(&name, &PostParams::default(), &next).await {
            Ok(written) => {
                *current = Some(written);
                wait = RENEW_EVERY;
            }
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {
                *current = None;
                let now = api.get_opt(&name).await.ok().flatten();
                let why =
                    match now.as_ref().map(|l| (is_mine(l, &holder), state(l, Timestamp::now()))) {
                        None => "it was deleted (broken by hand?)".to_string(),
                        Some((_, State::Held { holder, .. })) => format!("{holder} took it over"),
                        Some(_) => "someone else wrote it".to_string(),
                    };
                let _ = lost.send(Some(why));
                return;
            }
            // Unreachable for now: try again soon, while the lease still counts.
            Err(_) => wait = RENEW_RETRY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn lease(holder: Option<&str>, acquired: &str, renewed: &str, seconds: i32) -> Lease {
        Lease {
            metadata: ObjectMeta {
                annotations: Some([(OPERATION.to_string(), "apply".to_string())].into()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_string),
                acquire_time: Some(MicroTime(at(acquired))),
                renew_time: Some(MicroTime(at(renewed))),
                lease_duration_seconds: Some(seconds),
                ..LeaseSpec::default()
            }),
        }
    }

    #[test]
    fn a_lease_counts_until_its_renewal_plus_its_duration() {
        let live = lease(Some("ann@box pid 7"), "2025-01-01T10:00:00Z", "2025-01-01T10:05:00Z", 30);
        assert_eq!(
            state(&live, at("2025-01-01T10:05:20Z")),
            State::Held {
                holder: "ann@box pid 7".into(),
                acquired: "2025-01-01T10:00:00Z (5 min ago)".into(),
                renewed: "20 s ago".into(),
                operation: Some("apply".into()),
            }
        );
        assert_eq!(
            state(&live, at("2025-01-01T10:05:31Z")),
            State::Expired { holder: "ann@box pid 7".into(), renewed: "31 s ago".into() }
        );
        let released = lease(None, "2025-01-01T10:00:00Z", "2025-01-01T10:05:00Z", 30);
        assert_eq!(state(&released, at("2025-01-01T10:05:01Z")), State::Free);
    }

    #[test]
    fn ages_read_as_people_say_them() {
        let now = at("2025-01-10T00:00:00Z");
        let ago_ = |then: &str| ago(at(then), now);
        assert_eq!(ago_("2025-01-10T00:00:01Z"), "just now");
        assert_eq!(ago_("2025-01-09T23:59:01Z"), "59 s ago");
        assert_eq!(ago_("2025-01-09T23:58:00Z"), "2 min ago");
        assert_eq!(ago_("2025-01-09T23:00:00Z"), "1 h ago");
        assert_eq!(ago_("2025-01-08T00:00:00Z"), "2 days ago");
    }

    #[test]
    fn a_holders_text_is_escaped_for_the_terminal() {
        let live = lease(Some("x\x1b[2Jy"), "2025-01-01T10:00:00Z", "2025-01-01T10:00:00Z", 30);
        let State::Held { holder, .. } = state(&live, at("2025-01-01T10:00:01Z")) else {
            panic!("held")
        };
        assert!(!holder.contains('\x1b'), "{holder}");
    }

    #[test]
    fn the_identity_says_who_and_where_and_the_token_is_the_processs() {
        let a = Holder::new("ann", "box", 7, Some("admin"));
        assert_eq!(a.identity, "ann@box pid 7, kubeconfig user admin");
        assert_eq!(Holder::new("ann", "box", 7, None).identity, "ann@box pid 7");
        assert_eq!(a.token.len(), 16);
        let mut mine = lease(Some(&a.identity), "2025-01-01T10:00:00Z", "2025-01-01T10:00:00Z", 30);
        assert!(!is_mine(&mine, &a), "no token: someone else's with the same text");
        mine.metadata.annotations = Some([(TOKEN.to_string(), a.token.clone())].into());
        assert!(is_mine(&mine, &a));
    }

    #[test]
    fn leases_use_a_reserved_prefix() {
        assert!(crate::manifest::RESERVED_NAME_PREFIXES.contains(&LEASE_PREFIX));
        let lease =
            LeaseRef { app: "shop".into(), environment: "prod".into(), namespace: "team-a".into() };
        assert_eq!(lease.name(), "kiln-lease-shop-prod");
        assert_eq!(lease.break_command(), "kubectl -n team-a delete lease kiln-lease-shop-prod");
    }
}
