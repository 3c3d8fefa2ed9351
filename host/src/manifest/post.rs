//! Post-processing of rendered objects into the final list: Lists flattened into their items,
//! what a prototype may not emit refused (objects nested in others, names and keys Kiln keeps
//! for its own state, metadata the API server owns), namespaces placed by each kind's scope,
//! ownership labels and provenance annotations added, a duplicate check and a stable apply
//! order. Pure and deterministic: the same objects give byte-identical output whatever order
//! the components come in.

use std::collections::{BTreeMap, btree_map::Entry};

use serde_json::{Map, Value};

use super::scope::{Scope, Scopes};
use crate::untrusted::Untrusted;

/// The label naming the tool that manages an object; Kiln sets it to [`MANAGER`].
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY`] on every object Kiln renders.
pub const MANAGER: &str = "kiln";
/// The label naming the app an object belongs to.
pub const APP_LABEL: &str = "kiln.dev/app";
/// The label naming the environment an object was rendered for.
pub const ENV_LABEL: &str = "kiln.dev/environment";
/// The label naming the component that rendered an object.
pub const COMPONENT_LABEL: &str = "kiln.dev/component";

/// The domain of Kiln's own labels and annotations: a prototype may not set a key in it
/// (`kiln.dev/...` or `*.kiln.dev/...`), since Kiln finds and trusts its objects by them.
pub const RESERVED_DOMAIN: &str = "kiln.dev";

/// The one annotation in [`RESERVED_DOMAIN`] a prototype may set: the object's phase, an
/// integer (`"-1"`, `"0"`, `"2"`). Phases apply in increasing order, each waited on until its
/// objects are ready before the next starts; objects without it are in phase 0 (Argo CD's
/// sync waves' convention). See `cluster::plan`.
pub const PHASE_ANNOTATION: &str = "kiln.dev/phase";

/// The phase of `value` (see [`PHASE_ANNOTATION`]): 0 without the annotation; the annotation's
/// value when it is an integer, otherwise what is wrong with it.
pub fn phase(value: &Value) -> Result<i32, String> {
    let Some(text) = value.pointer("/metadata/annotations").and_then(|a| a.get(PHASE_ANNOTATION))
    else {
        return Ok(0);
    };
    let parsed = text.as_str().and_then(|t| {
        let digits = t.strip_prefix('-').unwrap_or(t);
        let plain = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        plain.then(|| t.parse::<i32>().ok()).flatten()
    });
    parsed.ok_or_else(|| {
        format!(
            "annotation `{PHASE_ANNOTATION}` must be an integer such as \"-1\" or \"2\", not {}",
            Untrusted(&text.to_string())
        )
    })
}

/// The start of the name of an environment's inventory (see `cluster::InventoryRef`).
pub const INVENTORY_PREFIX: &str = "kiln-inventory-";

/// Names Kiln gives the objects that hold its own state in a cluster (the inventory now;
/// revisions and the apply lease of day two): a prototype may not emit an object, of any kind
/// and in any namespace, whose name starts with one of them.
pub const RESERVED_NAME_PREFIXES: &[&str] = &[INVENTORY_PREFIX, REVISION_PREFIX, "kiln-lease-"];
/// The start of the names of the Secrets that hold an environment's revisions.
pub const REVISION_PREFIX: &str = "kiln-revision-";

/// Metadata the API server sets. A prototype that sets one is wrong (a `uid` or
/// `resourceVersion` would make the apply fail or act as a precondition): refused before the
/// server sees it. `null` is accepted, as tools that print objects write `creationTimestamp:
/// null`.
const SERVER_OWNED: &[(&str, &str)] = &[
    ("uid", "metadata.uid"),
    ("resourceVersion", "metadata.resourceVersion"),
    ("generation", "metadata.generation"),
    ("creationTimestamp", "metadata.creationTimestamp"),
    ("deletionTimestamp", "metadata.deletionTimestamp"),
    ("deletionGracePeriodSeconds", "metadata.deletionGracePeriodSeconds"),
    ("selfLink", "metadata.selfLink"),
    ("managedFields", "metadata.managedFields"),
];

const CORE: &str = "";
const RBAC: &str = "rbac.authorization.k8s.io";
const APIEXTENSIONS: &str = "apiextensions.k8s.io";
const CRD: &str = "CustomResourceDefinition";

/// One component's rendered objects, as input to [`post_process`].
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentObjects {
    /// The component's name.
    pub component: String,
    /// The objects its prototype returned, in the prototype's order.
    pub objects: Vec<Value>,
    /// Annotations Kiln adds to each of them (where they came from); they win over the
    /// prototype's, which may not use Kiln's domain anyway.
    pub annotations: BTreeMap<String, String>,
}

/// What post-processing needs to know about the app and environment.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The app's name.
    pub app: &'a str,
    /// The environment's name.
    pub environment: &'a str,
    /// The environment's namespace, given to namespaced objects that name none.
    pub namespace: &'a str,
    /// The environment's labels, added to every object that does not set them itself.
    pub labels: &'a BTreeMap<String, String>,
    /// What is known of kinds' scopes beyond the built-in tables: the app's `crds/`, and the
    /// cluster's discovery when there is a cluster. The render's own CRDs are added to it.
    pub scopes: &'a Scopes,
}

/// A rendered object after post-processing, remembering its component.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The component that rendered it.
    pub component: String,
    /// The object.
    pub value: Value,
    /// Its kind's scope, `None` when Kiln could not establish it (see [`Scopes::of`]). An
    /// object of unknown scope is placed as namespaced objects are, and needs a grant for its
    /// kind when its package is restricted.
    pub scope: Option<Scope>,
}

/// An error from post-processing. Every variant names the object or its component.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Two rendered objects have the same identity (API group, kind, namespace and name), so
    /// one would overwrite the other in the cluster.
    #[error("object `{object}` is rendered {}", by_whom(first, second))]
    Duplicate {
        /// The object, as [`object_ref`] writes it.
        object: String,
        /// The component that rendered it first, in output order.
        first: String,
        /// The component that rendered it again; equal to `first` for a repeat within one
        /// component.
        second: String,
    },
    /// A cluster-scoped object carries `metadata.namespace`.
    #[error(
        "component `{component}` renders cluster-scoped object `{object}` with a namespace: \
         cluster-scoped objects carry no namespace"
    )]
    NamespaceOnClusterScoped {
        /// The component that rendered it.
        component: String,
        /// The object, as [`object_ref`] writes it (with the namespace it should not have).
        object: String,
    },
    /// A rendered value lacks what post-processing relies on, or sets what only the API
    /// server sets.
    #[error(
        "object #{index}{} of component `{component}` is invalid: {}",
        items_of(item),
        at(path, message)
    )]
    InvalidObject {
        /// The component that rendered it.
        component: String,
        /// The object's position in the component's output, from 1.
        index: usize,
        /// For an item of a List, its position in the List's `items`, from 1, and in the
        /// List's within it; empty for an object the prototype returned itself.
        item: Vec<usize>,
        /// The field at fault (`metadata.name`), empty for the whole object.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// An object other than a List carries objects in `items`: applied, it would create
    /// nothing of them, but printed and applied by another tool, every one of them, unchecked.
    #[error(
        "component `{component}` renders `{object}` with objects inside its `items`: only a \
         List may carry objects"
    )]
    Nested {
        /// The component that rendered it.
        component: String,
        /// The object, as [`object_ref`] writes it.
        object: String,
    },
    /// An object's phase annotation ([`PHASE_ANNOTATION`]) is not an integer.
    #[error("component `{component}` renders `{object}`: {message}")]
    InvalidPhase {
        /// The component that rendered it.
        component: String,
        /// The object, as [`object_ref`] writes it.
        object: String,
        /// What is wrong with the value.
        message: String,
    },
    /// An object uses a name, label or annotation Kiln keeps for its own state.
    #[error("component `{component}` renders `{object}`: {what}")]
    Reserved {
        /// The component that rendered it.
        component: String,
        /// The object, as [`object_ref`] writes it.
        object: String,
        /// What it uses and why that is Kiln's.
        what: String,
    },
}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Duplicate { first, second, .. } if first == second => Some(format!(
                "component `{first}` must render each object once; give the copies distinct names"
            )),
            Error::Duplicate { .. } => Some(
                "each object belongs to one component; rename it in one of them or drop it from \
                 one component"
                    .into(),
            ),
            Error::NamespaceOnClusterScoped { .. } => Some(
                "drop `metadata.namespace` from the object in its prototype; if the kind comes \
                 from a CustomResourceDefinition, check the definition's `spec.scope`"
                    .into(),
            ),
            Error::InvalidObject { .. } => None,
            Error::Nested { .. } => Some(
                "a prototype returns each object on its own (or a `List` of them, whose items \
                 Kiln checks one by one)"
                    .into(),
            ),
            Error::InvalidPhase { .. } => Some(format!(
                "phases apply in increasing integer order, objects without `{PHASE_ANNOTATION}` \
                 in phase 0; quote the number in YAML (`{PHASE_ANNOTATION}: \"1\"`)"
            )),
            Error::Reserved { .. } => Some(
                "Kiln labels and annotates every object itself and names its own state objects; \
                 rename the object or drop the key in the prototype"
                    .into(),
            ),
        }
    }
}

fn at(path: &str, message: &str) -> String {
    if path.is_empty() { message.to_string() } else { format!("`{path}` {message}") }
}

fn items_of(item: &[usize]) -> String {
    item.iter().map(|i| format!(", item #{i} of its `items`")).collect()
}

fn by_whom(first: &str, second: &str) -> String {
    if first == second {
        format!("twice by component `{first}`")
    } else {
        format!("by both component `{first}` and component `{second}`")
    }
}

/// Turn each component's rendered objects into the final list: Lists are replaced by their
/// items; namespaced objects without a namespace get the environment's; every object gets the
/// environment's labels, the ownership labels and its component's annotations; duplicates are
/// rejected, and the result is sorted into apply order.
///
/// Each kind's scope comes from `ctx.scopes` and the CustomResourceDefinitions among the
/// rendered objects ([`Scopes::of`]); a kind of unknown scope is placed as namespaced kinds
/// are. Only `metadata.labels` is labelled: pod-template labels feed selectors, which are
/// immutable on a live Deployment.
///
/// Fails with the first problem [`post_process_all`] finds.
pub fn post_process(ctx: &Context, rendered: Vec<ComponentObjects>) -> Result<Vec<Object>, Error> {
    let Processed { objects, mut problems } = post_process_all(ctx, rendered);
    if problems.is_empty() { Ok(objects) } else { Err(problems.swap_remove(0)) }
}

/// The result of [`post_process_all`]: the objects and every problem found on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Processed {
    /// The objects in apply order. An object that cannot be placed (no kind, no name) or that
    /// a prototype may not emit (objects nested in it, a reserved name or key, server-owned
    /// metadata) is left out; a duplicate or a cluster-scoped object with a namespace stays in.
    pub objects: Vec<Object>,
    /// Every problem, single objects' first (in component order), then duplicates.
    pub problems: Vec<Error>,
}

/// [`post_process`] that goes on past problems and reports them all, for validation.
pub fn post_process_all(ctx: &Context, mut rendered: Vec<ComponentObjects>) -> Processed {
    // Problems with single objects come in component order, not input order.
    rendered.sort_by(|a, b| a.component.cmp(&b.component));
    let flattened: Vec<(String, BTreeMap<String, String>, Vec<Item>)> =
        rendered.into_iter().map(|c| (c.component, c.annotations, flatten(c.objects))).collect();
    let mut scopes = ctx.scopes.clone();
    for (_, _, items) in &flattened {
        items.iter().for_each(|item| scopes.define(&item.value));
    }
    let mut keyed = Vec::new();
    let mut problems = Vec::new();
    for (component, annotations, items) in flattened {
        let placing = Placing { ctx, component: &component, annotations: &annotations };
        for item in items {
            let scope =
                scopes.of(str_at(&item.value, &["apiVersion"]), str_at(&item.value, &["kind"]));
            let Some(value) = placing.place(item, scope, &mut problems) else { continue };
            let key = Key::of(&value, &component);
            keyed.push((key, Object { component: component.clone(), value, scope }));
        }
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    problems.extend(duplicates(&keyed));
    Processed { objects: keyed.into_iter().map(|(_, object)| object).collect(), problems }
}

/// One prototype's output as `kiln prototype preview` prints it: Lists flattened, and every
/// object refused that [`post_process_all`] refuses (objects nested in `items`, Kiln's
/// reserved names and keys, metadata the server sets, what cannot be placed), otherwise as the
/// prototype made it, in its order, each with its kind's scope as far as the built-in tables
/// and the output's own CRDs tell.
pub fn admit(component: &str, objects: Vec<Value>) -> Processed {
    let items = flatten(objects);
    let mut scopes = Scopes::new();
    items.iter().for_each(|item| scopes.define(&item.value));
    let mut admitted = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for Item { index, item, mut value } in items {
        let object = object_ref(&value);
        let refused = admit_one(&value, component, &object);
        let invalid = metadata(&mut value).err().unwrap_or_default();
        let placed = refused.is_empty() && invalid.is_empty();
        problems.extend(invalid.into_iter().map(|(path, message)| Error::InvalidObject {
            component: component.to_string(),
            index,
            item: item.clone(),
            path: path.to_string(),
            message: message.to_string(),
        }));
        if placed {
            let scope = scopes.of(str_at(&value, &["apiVersion"]), str_at(&value, &["kind"]));
            admitted.push(Object { component: component.to_string(), value, scope });
        }
        problems.extend(refused);
    }
    Processed { objects: admitted, problems }
}

/// Every distinct `(apiVersion, kind)` among `rendered`, Lists' items included: what a cluster
/// is asked the scope of before the objects are placed for it.
pub fn kinds(rendered: &[ComponentObjects]) -> Vec<(String, String)> {
    let mut kinds: Vec<(String, String)> = rendered
        .iter()
        .flat_map(|c| flatten(c.objects.clone()))
        .map(|item| {
            let text = |field| str_at(&item.value, &[field]).to_string();
            (text("apiVersion"), text("kind"))
        })
        .filter(|(api_version, kind)| !api_version.is_empty() && !kind.is_empty())
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// How many objects `values` hold once Lists are replaced by their items.
pub fn count_objects(values: &[Value]) -> usize {
    values
        .iter()
        .map(|value| match value.get("items").and_then(Value::as_array) {
            Some(items) if is_list(value) => count_objects(items),
            _ => 1,
        })
        .sum()
}

/// `kind/namespace/name`, or `kind/name` for an object without a namespace: how every message
/// names an object. Missing fields read as empty. The parts come from prototypes, so they are
/// escaped for the terminal ([`Untrusted`]).
pub fn object_ref(value: &Value) -> String {
    let kind = Untrusted(str_at(value, &["kind"]));
    let name = Untrusted(str_at(value, &["metadata", "name"]));
    match str_at(value, &["metadata", "namespace"]) {
        "" => format!("{kind}/{name}"),
        namespace => format!("{kind}/{}/{name}", Untrusted(namespace)),
    }
}

/// Apply order, one rank per row; kinds not listed come last. An object may refer to objects of
/// lower ranks, so applying in this order does not trip over something not created yet (the
/// idea of Helm's install order): everything namespaced lives in a Namespace, custom kinds need
/// their definition, RBAC bindings and pods name ServiceAccounts, bindings name roles, pods
/// mount ConfigMaps and Secrets.
const APPLY_ORDER: &[&[(&str, &str)]] = &[
    &[(CORE, "Namespace")],
    &[(APIEXTENSIONS, CRD)],
    &[(CORE, "ServiceAccount")],
    &[(RBAC, "Role"), (RBAC, "ClusterRole")],
    &[(RBAC, "RoleBinding"), (RBAC, "ClusterRoleBinding")],
    &[(CORE, "ConfigMap"), (CORE, "Secret")],
];

fn rank(group: &str, kind: &str) -> usize {
    APPLY_ORDER.iter().position(|row| row.contains(&(group, kind))).unwrap_or(APPLY_ORDER.len())
}

/// Where an object goes in the output. The fields after `rank` are the identity plus the
/// component, so two objects compare equal only if they are duplicates of one component.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    rank: usize,
    kind: String,
    namespace: String,
    name: String,
    component: String,
    group: String,
}

impl Key {
    fn of(value: &Value, component: &str) -> Self {
        let group = api_group(str_at(value, &["apiVersion"]));
        let kind = str_at(value, &["kind"]);
        Key {
            rank: rank(group, kind),
            kind: kind.to_string(),
            namespace: str_at(value, &["metadata", "namespace"]).to_string(),
            name: str_at(value, &["metadata", "name"]).to_string(),
            component: component.to_string(),
            group: group.to_string(),
        }
    }
}

/// Every object whose identity an earlier one already has, naming both components in output
/// order.
fn duplicates(keyed: &[(Key, Object)]) -> Vec<Error> {
    let mut seen = BTreeMap::new();
    let mut found = Vec::new();
    for (key, object) in keyed {
        let identity = (&key.group, &key.kind, &key.namespace, &key.name);
        match seen.entry(identity) {
            Entry::Vacant(entry) => {
                entry.insert(&object.component);
            }
            Entry::Occupied(entry) => found.push(Error::Duplicate {
                object: object_ref(&object.value),
                first: entry.get().to_string(),
                second: object.component.clone(),
            }),
        }
    }
    found
}

/// One object of a component's output, Lists replaced by their items.
struct Item {
    /// Its position in the component's output, from 1.
    index: usize,
    /// For an item of a List: its position in each List around it, outermost first.
    item: Vec<usize>,
    value: Value,
}

/// Whether `value` is a List: a kind named `...List` (`List`, `ConfigMapList`) with an
/// `items` array, which kubectl applies item by item.
fn is_list(value: &Value) -> bool {
    str_at(value, &["kind"]).ends_with("List") && value.get("items").is_some_and(Value::is_array)
}

/// `objects` with every List replaced by its items, at any depth.
fn flatten(objects: Vec<Value>) -> Vec<Item> {
    let mut out = Vec::with_capacity(objects.len());
    for (i, value) in objects.into_iter().enumerate() {
        push_flat(&mut out, i + 1, Vec::new(), value);
    }
    out
}

fn push_flat(out: &mut Vec<Item>, index: usize, item: Vec<usize>, mut value: Value) {
    if !is_list(&value) {
        out.push(Item { index, item, value });
        return;
    }
    let items = match value.get_mut("items").map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    for (i, inner) in items.into_iter().enumerate() {
        let mut at = item.clone();
        at.push(i + 1);
        push_flat(out, index, at, inner);
    }
}

/// Places one component's objects.
struct Placing<'a> {
    ctx: &'a Context<'a>,
    component: &'a str,
    annotations: &'a BTreeMap<String, String>,
}

impl Placing<'_> {
    /// Check that `item` has what post-processing relies on and nothing a prototype may not
    /// emit, then set its namespace, labels and annotations. `None` (with its problems
    /// recorded) when it cannot be placed or may not be emitted.
    fn place(&self, item: Item, scope: Option<Scope>, problems: &mut Vec<Error>) -> Option<Value> {
        let Item { index, item, mut value } = item;
        let object = object_ref(&value);
        let component = self.component.to_string();
        let invalid = |(path, message): (&str, &str)| Error::InvalidObject {
            component: component.clone(),
            index,
            item: item.clone(),
            path: path.to_string(),
            message: message.to_string(),
        };
        let refused = admit_one(&value, &component, &object);
        let metadata = match metadata(&mut value) {
            Ok(metadata) if refused.is_empty() => metadata,
            Ok(_) => {
                problems.extend(refused);
                return None;
            }
            Err(found) => {
                problems.extend(found.into_iter().map(invalid));
                problems.extend(refused);
                return None;
            }
        };
        let namespace = metadata.get("namespace").and_then(Value::as_str).unwrap_or_default();
        if scope == Some(Scope::Cluster) {
            if namespace.is_empty() {
                metadata.remove("namespace");
            } else {
                problems.push(Error::NamespaceOnClusterScoped { component, object });
            }
        } else if namespace.is_empty() && !self.ctx.namespace.is_empty() {
            metadata.insert("namespace".into(), self.ctx.namespace.into());
        }
        add_labels(self.ctx, self.component, metadata);
        add_annotations(self.annotations, metadata);
        Some(value)
    }
}

/// What a prototype may not emit in `value`: objects nested in `items` (but in a List, which
/// was flattened), a name or a label or annotation key Kiln keeps for its own state.
fn admit_one(value: &Value, component: &str, object: &str) -> Vec<Error> {
    let mut refused = Vec::new();
    let reserved = |what: String| Error::Reserved {
        component: component.to_string(),
        object: object.to_string(),
        what,
    };
    let nested = value
        .get("items")
        .and_then(Value::as_array)
        .is_some_and(|items| items.iter().any(Value::is_object));
    if nested {
        refused
            .push(Error::Nested { component: component.to_string(), object: object.to_string() });
    }
    let name = str_at(value, &["metadata", "name"]);
    if let Some(prefix) = RESERVED_NAME_PREFIXES.iter().find(|p| name.starts_with(*p)) {
        refused.push(reserved(format!(
            "names starting with `{prefix}` are Kiln's own, for its state in the cluster"
        )));
    }
    for (field, what) in [("labels", "label"), ("annotations", "annotation")] {
        let Some(map) = value.pointer(&format!("/metadata/{field}")).and_then(Value::as_object)
        else {
            continue;
        };
        if field == "annotations"
            && let Err(message) = phase(value)
        {
            refused.push(Error::InvalidPhase {
                component: component.to_string(),
                object: object.to_string(),
                message,
            });
        }
        let allowed = |key: &str| field == "annotations" && key == PHASE_ANNOTATION;
        for key in map.keys().filter(|key| is_reserved_key(key) && !allowed(key)) {
            refused.push(reserved(format!(
                "{what} `{}` is in the `{RESERVED_DOMAIN}` domain, which is Kiln's own",
                Untrusted(key)
            )));
        }
    }
    refused
}

/// Whether a label or annotation key is in [`RESERVED_DOMAIN`].
pub fn is_reserved_key(key: &str) -> bool {
    key.split_once('/').is_some_and(|(prefix, _)| {
        prefix == RESERVED_DOMAIN
            || prefix.strip_suffix(RESERVED_DOMAIN).is_some_and(|rest| rest.ends_with('.'))
    })
}

type Problem = (&'static str, &'static str);

/// The object's metadata, once the fields post-processing reads are known to be there and
/// those the API server sets are not; or every field that is wrong.
fn metadata(value: &mut Value) -> Result<&mut Map<String, Value>, Vec<Problem>> {
    let object = value.as_object_mut().ok_or_else(|| vec![("", "not a JSON object")])?;
    let mut problems = Vec::new();
    let non_empty = |v: Option<&Value>| matches!(v, Some(Value::String(s)) if !s.is_empty());
    if !non_empty(object.get("apiVersion")) {
        problems.push(("apiVersion", "must be a non-empty string"));
    }
    if !non_empty(object.get("kind")) {
        problems.push(("kind", "must be a non-empty string"));
    }
    let Some(Value::Object(metadata)) = object.get_mut("metadata") else {
        problems.push(("metadata", "must be an object"));
        return Err(problems);
    };
    if !non_empty(metadata.get("name")) {
        // Kiln applies and prunes objects by name, so `generateName` alone cannot work.
        problems.push(("metadata.name", "must be a non-empty string"));
    }
    if !matches!(metadata.get("namespace"), None | Some(Value::Null | Value::String(_))) {
        problems.push(("metadata.namespace", "must be a string"));
    }
    if !matches!(metadata.get("labels"), None | Some(Value::Null | Value::Object(_))) {
        problems.push(("metadata.labels", "must be an object"));
    }
    if !matches!(metadata.get("annotations"), None | Some(Value::Null | Value::Object(_))) {
        problems.push(("metadata.annotations", "must be an object"));
    }
    for &(field, path) in SERVER_OWNED {
        if !matches!(metadata.get(field), None | Some(Value::Null)) {
            problems.push((path, "is set by the API server, not by a prototype"));
        }
    }
    if problems.is_empty() { Ok(metadata) } else { Err(problems) }
}

/// Add the environment's labels where the prototype set none of that key, then the ownership
/// labels, which always win: pruning and deletion select on them.
fn add_labels(ctx: &Context, component: &str, metadata: &mut Map<String, Value>) {
    let Value::Object(labels) = object_at(metadata, "labels") else { return };
    for (key, value) in ctx.labels {
        labels.entry(key.as_str()).or_insert_with(|| value.as_str().into());
    }
    let ownership = [
        (MANAGED_BY, MANAGER),
        (APP_LABEL, ctx.app),
        (ENV_LABEL, ctx.environment),
        (COMPONENT_LABEL, component),
    ];
    for (key, value) in ownership {
        labels.insert(key.into(), value.into());
    }
}

/// Add Kiln's annotations, which win over the prototype's.
fn add_annotations(annotations: &BTreeMap<String, String>, metadata: &mut Map<String, Value>) {
    if annotations.is_empty() {
        return;
    }
    let Value::Object(map) = object_at(metadata, "annotations") else { return };
    for (key, value) in annotations {
        map.insert(key.clone(), value.as_str().into());
    }
}

/// The object at `metadata.<field>`, created when missing or `null` (`metadata` checked it is
/// one or the other otherwise).
fn object_at<'m>(metadata: &'m mut Map<String, Value>, field: &str) -> &'m mut Value {
    let value = metadata.entry(field).or_insert(Value::Null);
    if value.is_null() {
        *value = Value::Object(Map::new());
    }
    value
}

/// Whether `value` is a CustomResourceDefinition (`apiextensions.k8s.io`, any version).
pub fn is_crd(value: &Value) -> bool {
    str_at(value, &["kind"]) == CRD && api_group(str_at(value, &["apiVersion"])) == APIEXTENSIONS
}

/// The API group of an `apiVersion`: `apps` for `apps/v1`, empty for the core `v1`.
pub fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or(CORE, |(group, _)| group)
}

/// The string at `path`, or empty if it is missing or not a string.
pub(crate) fn str_at<'v>(value: &'v Value, path: &[&str]) -> &'v str {
    path.iter().try_fold(value, |v, key| v.get(key)).and_then(Value::as_str).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env_labels() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("team".to_string(), "ml".to_string()),
            ("tier".to_string(), "backend".to_string()),
        ])
    }

    fn run(
        labels: &BTreeMap<String, String>,
        rendered: &[(&str, Vec<Value>)],
    ) -> Result<Vec<Object>, Error> {
        let scopes = Scopes::new();
        let ctx = Context {
            app: "shop",
            environment: "prod",
            namespace: "shop-prod",
            labels,
            scopes: &scopes,
        };
        post_process(&ctx, components(rendered))
    }

    fn components(rendered: &[(&str, Vec<Value>)]) -> Vec<ComponentObjects> {
        rendered
            .iter()
            .map(|(component, objects)| ComponentObjects {
                component: component.to_string(),
                objects: objects.clone(),
                annotations: BTreeMap::new(),
            })
            .collect()
    }

    /// What post-processing makes of `rendered` (component, objects), with `scopes` known.
    fn problems_with(scopes: &Scopes, rendered: &[(&str, Vec<Value>)]) -> Processed {
        place_all(scopes, components(rendered))
    }

    fn place_all(scopes: &Scopes, rendered: Vec<ComponentObjects>) -> Processed {
        let labels = BTreeMap::new();
        let ctx = Context {
            app: "shop",
            environment: "prod",
            namespace: "shop-prod",
            labels: &labels,
            scopes,
        };
        post_process_all(&ctx, rendered)
    }

    fn messages(problems: &[Error]) -> Vec<String> {
        problems.iter().map(ToString::to_string).collect()
    }

    fn process(rendered: &[(&str, Vec<Value>)]) -> Result<Vec<Object>, Error> {
        run(&BTreeMap::new(), rendered)
    }

    fn obj(api_version: &str, kind: &str, name: &str) -> Value {
        json!({ "apiVersion": api_version, "kind": kind, "metadata": { "name": name } })
    }

    fn in_ns(api_version: &str, kind: &str, namespace: &str, name: &str) -> Value {
        json!({
            "apiVersion": api_version,
            "kind": kind,
            "metadata": { "name": name, "namespace": namespace },
        })
    }

    use super::super::scope::tests::crd;

    fn refs(objects: &[Object]) -> Vec<String> {
        objects.iter().map(|o| object_ref(&o.value)).collect()
    }

    #[test]
    fn namespaced_objects_without_a_namespace_get_the_environments() {
        let mut empty = obj("v1", "ConfigMap", "empty");
        empty["metadata"]["namespace"] = json!("");
        let mut null = obj("v1", "ConfigMap", "null");
        null["metadata"]["namespace"] = Value::Null;
        let out = process(&[(
            "web",
            vec![
                obj("apps/v1", "Deployment", "web"),
                empty,
                null,
                in_ns("v1", "Service", "other", "web"),
            ],
        )])
        .unwrap();
        assert_eq!(
            refs(&out),
            [
                "ConfigMap/shop-prod/empty",
                "ConfigMap/shop-prod/null",
                "Deployment/shop-prod/web",
                "Service/other/web",
            ]
        );
    }

    #[test]
    fn cluster_scoped_objects_get_no_namespace() {
        let mut role = obj("rbac.authorization.k8s.io/v1", "ClusterRole", "reader");
        role["metadata"]["namespace"] = json!("");
        let out = process(&[(
            "base",
            vec![
                obj("v1", "Namespace", "shop"),
                role,
                obj("storage.k8s.io/v1", "StorageClass", "fast"),
                crd("example.com", "Widget", "Namespaced"),
            ],
        )])
        .unwrap();
        for object in &out {
            assert_eq!(object.value["metadata"].get("namespace"), None, "{}", object.value);
        }
        assert_eq!(
            refs(&out),
            [
                "Namespace/shop",
                "CustomResourceDefinition/widgets.example.com",
                "ClusterRole/reader",
                "StorageClass/fast",
            ]
        );
    }

    #[test]
    fn cluster_scoped_object_with_a_namespace_is_an_error() {
        let err = process(&[(
            "rbac",
            vec![in_ns("rbac.authorization.k8s.io/v1", "ClusterRole", "shop", "reader")],
        )])
        .unwrap_err();
        assert_eq!(
            err,
            Error::NamespaceOnClusterScoped {
                component: "rbac".into(),
                object: "ClusterRole/shop/reader".into(),
            }
        );
        assert_eq!(
            err.to_string(),
            "component `rbac` renders cluster-scoped object `ClusterRole/shop/reader` with a \
             namespace: cluster-scoped objects carry no namespace"
        );
        assert!(err.hint().is_some());
    }

    #[test]
    fn crd_in_one_component_scopes_objects_of_another() {
        let out = process(&[
            (
                "tenants",
                vec![obj("example.com/v1", "Tenant", "acme"), obj("example.com/v1", "Widget", "w")],
            ),
            (
                "crds",
                vec![
                    crd("example.com", "Tenant", "Cluster"),
                    crd("example.com", "Widget", "Namespaced"),
                ],
            ),
        ])
        .unwrap();
        assert!(refs(&out).contains(&"Tenant/acme".to_string()), "{:?}", refs(&out));
        assert!(refs(&out).contains(&"Widget/shop-prod/w".to_string()), "{:?}", refs(&out));

        let err = process(&[
            ("tenants", vec![in_ns("example.com/v1", "Tenant", "x", "acme")]),
            ("crds", vec![crd("example.com", "Tenant", "Cluster")]),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            Error::NamespaceOnClusterScoped {
                component: "tenants".into(),
                object: "Tenant/x/acme".into()
            }
        );
    }

    #[test]
    fn labels_env_labels_yield_to_the_prototype_and_ownership_labels_win() {
        let mut labels = env_labels();
        labels.insert(COMPONENT_LABEL.into(), "from-env".into());
        let mut deployment = obj("apps/v1", "Deployment", "web");
        deployment["metadata"]["labels"] = json!({
            "tier": "frontend",
            "app": "web",
            MANAGED_BY: "helm",
        });
        deployment["spec"] = json!({ "template": { "metadata": { "labels": { "app": "web" } } } });
        let out = run(&labels, &[("web", vec![deployment])]).unwrap();
        assert_eq!(
            out[0].value["metadata"]["labels"],
            json!({
                "app": "web",
                "tier": "frontend",
                "team": "ml",
                "app.kubernetes.io/managed-by": "kiln",
                "kiln.dev/app": "shop",
                "kiln.dev/environment": "prod",
                "kiln.dev/component": "web",
            })
        );
        // Pod-template labels feed immutable selectors: left alone.
        assert_eq!(out[0].value["spec"]["template"]["metadata"]["labels"], json!({ "app": "web" }));
    }

    #[test]
    fn labels_are_created_when_missing_or_null() {
        let mut null = obj("v1", "ConfigMap", "b");
        null["metadata"]["labels"] = Value::Null;
        let out = run(&env_labels(), &[("cfg", vec![obj("v1", "ConfigMap", "a"), null])]).unwrap();
        let expected = json!({
            "team": "ml",
            "tier": "backend",
            "app.kubernetes.io/managed-by": "kiln",
            "kiln.dev/app": "shop",
            "kiln.dev/environment": "prod",
            "kiln.dev/component": "cfg",
        });
        for object in &out {
            assert_eq!(object.value["metadata"]["labels"], expected);
            assert_eq!(object.component, "cfg");
        }
    }

    #[test]
    fn duplicate_across_components_is_an_error() {
        let rendered = [
            ("b", vec![obj("apps/v1", "Deployment", "web")]),
            ("a", vec![in_ns("apps/v1", "Deployment", "shop-prod", "web")]),
        ];
        let err = process(&rendered).unwrap_err();
        assert_eq!(
            err.to_string(),
            "object `Deployment/shop-prod/web` is rendered by both component `a` and component `b`"
        );
        assert!(err.hint().is_some());
    }

    #[test]
    fn duplicate_within_a_component_is_an_error() {
        let err = process(&[(
            "a",
            vec![obj("apps/v1", "Deployment", "web"), obj("apps/v1beta1", "Deployment", "web")],
        )])
        .unwrap_err();
        assert_eq!(
            err,
            Error::Duplicate {
                object: "Deployment/shop-prod/web".into(),
                first: "a".into(),
                second: "a".into(),
            }
        );
        assert_eq!(
            err.to_string(),
            "object `Deployment/shop-prod/web` is rendered twice by component `a`"
        );
    }

    #[test]
    fn same_name_in_another_namespace_kind_or_group_is_no_duplicate() {
        let out = process(&[
            ("a", vec![obj("v1", "Service", "web"), obj("example.com/v1", "Certificate", "web")]),
            ("b", vec![in_ns("v1", "Service", "other", "web"), obj("v1", "ConfigMap", "web")]),
            ("c", vec![obj("cert-manager.io/v1", "Certificate", "web")]),
        ])
        .unwrap();
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn objects_are_sorted_into_apply_order() {
        let out = process(&[
            (
                "z",
                vec![
                    obj("apps/v1", "Deployment", "web"),
                    obj("v1", "Secret", "s"),
                    obj("rbac.authorization.k8s.io/v1", "RoleBinding", "rb"),
                    obj("v1", "ServiceAccount", "sa"),
                    obj("v1", "Namespace", "ns"),
                ],
            ),
            (
                "a",
                vec![
                    obj("v1", "Service", "web"),
                    obj("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "crb"),
                    obj("v1", "ConfigMap", "c"),
                    obj("rbac.authorization.k8s.io/v1", "Role", "r"),
                    obj("rbac.authorization.k8s.io/v1", "ClusterRole", "cr"),
                    crd("example.com", "Widget", "Namespaced"),
                    obj("example.com/v1", "Widget", "w"),
                    in_ns("apps/v1", "Deployment", "a-ns", "web"),
                ],
            ),
        ])
        .unwrap();
        assert_eq!(
            refs(&out),
            [
                "Namespace/ns",
                "CustomResourceDefinition/widgets.example.com",
                "ServiceAccount/shop-prod/sa",
                "ClusterRole/cr",
                "Role/shop-prod/r",
                "ClusterRoleBinding/crb",
                "RoleBinding/shop-prod/rb",
                "ConfigMap/shop-prod/c",
                "Secret/shop-prod/s",
                "Deployment/a-ns/web",
                "Deployment/shop-prod/web",
                "Service/shop-prod/web",
                "Widget/shop-prod/w",
            ]
        );
    }

    #[test]
    fn within_a_rank_ties_break_on_component_then_group() {
        let out = process(&[
            ("b", vec![obj("v1", "Thing", "x")]),
            (
                "a",
                vec![obj("z.example.com/v1", "Thing", "x"), obj("a.example.com/v1", "Thing", "x")],
            ),
        ])
        .unwrap();
        let order: Vec<_> = out
            .iter()
            .map(|o| (o.component.as_str(), o.value["apiVersion"].as_str().unwrap()))
            .collect();
        assert_eq!(order, [("a", "a.example.com/v1"), ("a", "z.example.com/v1"), ("b", "v1")]);
    }

    #[test]
    fn output_does_not_depend_on_component_order() {
        let a = ("a", vec![obj("apps/v1", "Deployment", "web"), obj("v1", "Service", "web")]);
        let b = ("b", vec![obj("v1", "Namespace", "shop"), obj("v1", "ConfigMap", "cfg")]);
        let c = (
            "c",
            vec![crd("example.com", "Tenant", "Cluster"), obj("example.com/v1", "Tenant", "t")],
        );
        let encode = |out: Vec<Object>| {
            let values: Vec<Value> = out.into_iter().map(|o| o.value).collect();
            crate::manifest::encode(&values, crate::manifest::Format::Yaml).unwrap()
        };
        let first = encode(run(&env_labels(), &[a.clone(), b.clone(), c.clone()]).unwrap());
        for order in [[&c, &b, &a], [&b, &a, &c], [&c, &a, &b]] {
            let rendered: Vec<_> = order.into_iter().cloned().collect();
            assert_eq!(encode(run(&env_labels(), &rendered).unwrap()), first);
        }

        // Errors too: the same components are named in the same order.
        let x = ("x", vec![obj("v1", "ConfigMap", "cfg")]);
        let y = ("y", vec![obj("v1", "ConfigMap", "cfg")]);
        assert_eq!(process(&[x.clone(), y.clone()]).unwrap_err(), process(&[y, x]).unwrap_err());
    }

    #[test]
    fn object_ref_is_kind_namespace_name() {
        assert_eq!(
            object_ref(&in_ns("apps/v1", "Deployment", "default", "web")),
            "Deployment/default/web"
        );
        assert_eq!(object_ref(&obj("v1", "Namespace", "shop")), "Namespace/shop");
        assert_eq!(object_ref(&in_ns("v1", "ConfigMap", "", "c")), "ConfigMap/c");
        assert_eq!(object_ref(&json!({ "kind": "Pod" })), "Pod/");
        assert_eq!(object_ref(&json!("not an object")), "/");
    }

    #[test]
    fn objects_missing_what_post_processing_reads_are_rejected() {
        let cases = [
            (json!("text"), "", "not a JSON object"),
            (
                json!({ "kind": "Pod", "metadata": { "name": "p" } }),
                "apiVersion",
                "must be a non-empty string",
            ),
            (json!({ "apiVersion": "v1", "kind": "Pod" }), "metadata", "must be an object"),
            (
                json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "generateName": "p-" } }),
                "metadata.name",
                "must be a non-empty string",
            ),
            (
                json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "p", "namespace": 3 } }),
                "metadata.namespace",
                "must be a string",
            ),
            (
                json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "p", "labels": ["a"] } }),
                "metadata.labels",
                "must be an object",
            ),
        ];
        for (value, path, message) in cases {
            let err = process(&[("web", vec![obj("v1", "ConfigMap", "ok"), value])]).unwrap_err();
            assert_eq!(
                err,
                Error::InvalidObject {
                    component: "web".into(),
                    index: 2,
                    item: vec![],
                    path: path.into(),
                    message: message.into()
                }
            );
        }
        let err = process(&[("web", vec![json!({ "apiVersion": "v1", "kind": "Pod" })])]);
        assert_eq!(
            err.unwrap_err().to_string(),
            "object #1 of component `web` is invalid: `metadata` must be an object"
        );
    }

    #[test]
    fn post_process_all_reports_every_problem_and_keeps_what_it_can_place() {
        let rendered = [
            (
                "b",
                vec![
                    json!({ "metadata": {} }),
                    in_ns("rbac.authorization.k8s.io/v1", "ClusterRole", "x", "r"),
                    obj("v1", "ConfigMap", "c"),
                ],
            ),
            ("a", vec![obj("v1", "ConfigMap", "c")]),
        ];
        let Processed { objects, problems } = problems_with(&Scopes::new(), &rendered);
        assert_eq!(
            refs(&objects),
            ["ClusterRole/x/r", "ConfigMap/shop-prod/c", "ConfigMap/shop-prod/c"]
        );
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "object #1 of component `b` is invalid: `apiVersion` must be a non-empty string",
                "object #1 of component `b` is invalid: `kind` must be a non-empty string",
                "object #1 of component `b` is invalid: `metadata.name` must be a non-empty string",
                "component `b` renders cluster-scoped object `ClusterRole/x/r` with a namespace: \
                 cluster-scoped objects carry no namespace",
                "object `ConfigMap/shop-prod/c` is rendered by both component `a` and component `b`",
            ]
        );
    }

    #[test]
    fn lists_are_flattened_and_each_item_placed_and_labelled_like_any_object() {
        let list = json!({
            "apiVersion": "v1",
            "kind": "List",
            "metadata": { "name": "ignored" },
            "items": [
                obj("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "crb"),
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMapList",
                    "items": [obj("v1", "ConfigMap", "inner")],
                },
            ],
        });
        let out = process(&[("web", vec![list, obj("v1", "Secret", "s")])]).unwrap();
        assert_eq!(
            refs(&out),
            ["ClusterRoleBinding/crb", "ConfigMap/shop-prod/inner", "Secret/shop-prod/s"]
        );
        assert_eq!(out[0].scope, Some(Scope::Cluster));
        for object in &out {
            assert_eq!(object.value["metadata"]["labels"][COMPONENT_LABEL], "web");
        }
        // A List's items are checked as objects: a bad one is named by its place in the List.
        let list = json!({ "apiVersion": "v1", "kind": "List", "items": [obj("v1", "ConfigMap", "a"), "text"] });
        let err = process(&[("web", vec![obj("v1", "ConfigMap", "ok"), list])]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "object #2, item #2 of its `items` of component `web` is invalid: not a JSON object"
        );
        assert_eq!(
            count_objects(&[
                obj("v1", "ConfigMap", "a"),
                json!({"kind": "List", "items": [{}, {"kind": "PodList", "items": [{}, {}]}]})
            ]),
            4
        );
    }

    #[test]
    fn objects_nested_in_anything_but_a_list_are_refused_and_left_out() {
        // A custom kind, or a kind named like a List without being one, carrying objects.
        let mut smuggler = obj("example.com/v1", "Bundle", "b");
        smuggler["items"] = json!([obj("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "x")]);
        let mut not_list = obj("v1", "ConfigMap", "c");
        not_list["items"] = json!([{ "anything": true }]);
        let mut plain = obj("example.com/v1", "Queue", "q");
        plain["items"] = json!(["a", 1]);
        let found = problems_with(&Scopes::new(), &[("web", vec![smuggler, not_list, plain])]);
        assert_eq!(refs(&found.objects), ["Queue/shop-prod/q"], "the smugglers are left out");
        assert_eq!(
            messages(&found.problems),
            [
                "component `web` renders `Bundle/b` with objects inside its `items`: only a List \
                 may carry objects",
                "component `web` renders `ConfigMap/c` with objects inside its `items`: only a List \
                 may carry objects",
            ]
        );
        assert!(found.problems[0].hint().is_some());
    }

    #[test]
    fn names_and_keys_kiln_keeps_for_its_state_are_refused() {
        let mut labelled = obj("v1", "ConfigMap", "l");
        labelled["metadata"]["labels"] =
            json!({ APP_LABEL: "other", "sub.kiln.dev/x": "y", "kiln.dev.example.com/ok": "z" });
        let mut annotated = obj("v1", "ConfigMap", "a");
        annotated["metadata"]["annotations"] = json!({ "kiln.dev/prototype-digest": "sha256:0" });
        let found = problems_with(
            &Scopes::new(),
            &[(
                "web",
                vec![
                    in_ns("v1", "ConfigMap", "kube-system", "kiln-inventory-shop-prod"),
                    obj("coordination.k8s.io/v1", "Lease", "kiln-lease-shop-prod"),
                    obj("v1", "Secret", "kiln-revision-shop-prod-1"),
                    labelled,
                    annotated,
                    obj("v1", "ConfigMap", "kiln-config"),
                ],
            )],
        );
        assert_eq!(refs(&found.objects), ["ConfigMap/shop-prod/kiln-config"]);
        assert_eq!(
            messages(&found.problems),
            [
                "component `web` renders `ConfigMap/kube-system/kiln-inventory-shop-prod`: names \
                 starting with `kiln-inventory-` are Kiln's own, for its state in the cluster",
                "component `web` renders `Lease/kiln-lease-shop-prod`: names starting with \
                 `kiln-lease-` are Kiln's own, for its state in the cluster",
                "component `web` renders `Secret/kiln-revision-shop-prod-1`: names starting with \
                 `kiln-revision-` are Kiln's own, for its state in the cluster",
                "component `web` renders `ConfigMap/l`: label `kiln.dev/app` is in the `kiln.dev` \
                 domain, which is Kiln's own",
                "component `web` renders `ConfigMap/l`: label `sub.kiln.dev/x` is in the \
                 `kiln.dev` domain, which is Kiln's own",
                "component `web` renders `ConfigMap/a`: annotation `kiln.dev/prototype-digest` is \
                 in the `kiln.dev` domain, which is Kiln's own",
            ]
        );
        assert!(!is_reserved_key("notkiln.dev/x") && !is_reserved_key("kiln.dev"));
    }

    #[test]
    fn the_phase_annotation_is_the_one_reserved_key_allowed_and_must_be_an_integer() {
        let phased = |value: Value| {
            let mut o = obj("batch/v1", "Job", "migrate");
            o["metadata"]["annotations"] = json!({ PHASE_ANNOTATION: value });
            o
        };
        let found = problems_with(&Scopes::new(), &[("db", vec![phased(json!("-1"))])]);
        assert!(found.problems.is_empty(), "{:?}", messages(&found.problems));
        assert_eq!(
            found.objects[0].value["metadata"]["annotations"][PHASE_ANNOTATION], "-1",
            "kept as written"
        );
        assert_eq!(phase(&found.objects[0].value), Ok(-1));
        assert_eq!(phase(&obj("v1", "ConfigMap", "c")), Ok(0), "no annotation: phase 0");
        for bad in [json!("soon"), json!("1.5"), json!(""), json!("+1"), json!(" 1"), json!(2)] {
            let found = problems_with(&Scopes::new(), &[("db", vec![phased(bad.clone())])]);
            assert_eq!(
                messages(&found.problems),
                [format!(
                    "component `db` renders `Job/migrate`: annotation `kiln.dev/phase` must be an \
                     integer such as \"-1\" or \"2\", not {bad}"
                )],
                "{bad}"
            );
            assert!(found.objects.is_empty(), "refused: {bad}");
            assert!(found.problems[0].hint().is_some());
        }
        // Only as an annotation: a label of that key is Kiln's domain as any other.
        let mut labelled = obj("v1", "ConfigMap", "l");
        labelled["metadata"]["labels"] = json!({ PHASE_ANNOTATION: "1" });
        let found = problems_with(&Scopes::new(), &[("web", vec![labelled])]);
        assert_eq!(found.problems.len(), 1, "{:?}", messages(&found.problems));
    }

    #[test]
    fn metadata_the_api_server_sets_is_refused_unless_null() {
        let mut null = obj("v1", "ConfigMap", "printed-by-a-tool");
        null["metadata"]["creationTimestamp"] = Value::Null;
        let mut set = obj("v1", "ConfigMap", "forged");
        set["metadata"]["uid"] = json!("1234");
        set["metadata"]["resourceVersion"] = json!("7");
        set["metadata"]["managedFields"] = json!([]);
        let found = problems_with(&Scopes::new(), &[("web", vec![null, set])]);
        assert_eq!(refs(&found.objects), ["ConfigMap/shop-prod/printed-by-a-tool"]);
        assert_eq!(
            messages(&found.problems),
            [
                "object #2 of component `web` is invalid: `metadata.uid` is set by the API server, \
                 not by a prototype",
                "object #2 of component `web` is invalid: `metadata.resourceVersion` is set by the \
                 API server, not by a prototype",
                "object #2 of component `web` is invalid: `metadata.managedFields` is set by the \
                 API server, not by a prototype",
            ]
        );
    }

    #[test]
    fn kilns_annotations_are_added_even_over_null_and_a_bad_map_is_refused() {
        let mut null = obj("v1", "ConfigMap", "null");
        null["metadata"]["annotations"] = Value::Null;
        let mut own = obj("v1", "ConfigMap", "own");
        own["metadata"]["annotations"] = json!({ "example.com/note": "kept" });
        let mut bad = obj("v1", "ConfigMap", "bad");
        bad["metadata"]["annotations"] = json!("text");
        let mut rendered = components(&[("web", vec![null, own, bad])]);
        rendered[0].annotations =
            BTreeMap::from([("kiln.dev/params-hash".into(), "sha256:1".into())]);
        let found = place_all(&Scopes::new(), rendered);
        assert_eq!(
            found.objects[0].value["metadata"]["annotations"],
            json!({ "kiln.dev/params-hash": "sha256:1" })
        );
        assert_eq!(
            found.objects[1].value["metadata"]["annotations"],
            json!({ "example.com/note": "kept", "kiln.dev/params-hash": "sha256:1" })
        );
        assert_eq!(
            messages(&found.problems),
            ["object #3 of component `web` is invalid: `metadata.annotations` must be an object"]
        );
    }

    #[test]
    fn a_kind_of_unknown_scope_is_placed_as_namespaced_and_marked_unknown() {
        let found =
            problems_with(&Scopes::new(), &[("web", vec![obj("example.com/v1", "Tenant", "t")])]);
        assert_eq!(refs(&found.objects), ["Tenant/shop-prod/t"]);
        assert_eq!(found.objects[0].scope, None);
        // What the app's `crds/` or the cluster say settles it.
        let mut scopes = Scopes::new();
        scopes.define(&crd("example.com", "Tenant", "Cluster"));
        let found = problems_with(&scopes, &[("web", vec![obj("example.com/v1", "Tenant", "t")])]);
        assert_eq!(refs(&found.objects), ["Tenant/t"]);
        assert_eq!(found.objects[0].scope, Some(Scope::Cluster));
        let mut discovered = Scopes::new();
        discovered.discovered("example.com", "Tenant", Scope::Cluster);
        // The render's own definition says otherwise: the cluster is the truth.
        let rendered = [(
            "web",
            vec![crd("example.com", "Tenant", "Namespaced"), obj("example.com/v1", "Tenant", "t")],
        )];
        let found = problems_with(&discovered, &rendered);
        assert_eq!(
            refs(&found.objects),
            ["CustomResourceDefinition/tenants.example.com", "Tenant/t"]
        );
        // A CRD inside a List still defines its kind.
        let list = json!({ "apiVersion": "v1", "kind": "List", "items": [crd("example.com", "Widget", "Cluster")] });
        let found = problems_with(
            &Scopes::new(),
            &[("a", vec![list]), ("b", vec![obj("example.com/v1", "Widget", "w")])],
        );
        assert_eq!(found.objects[1].scope, Some(Scope::Cluster));
        assert_eq!(
            kinds(&components(&[
                (
                    "a",
                    vec![
                        json!({ "apiVersion": "v1", "kind": "List", "items": [obj("v1", "ConfigMap", "a"), obj("v1", "ConfigMap", "b")] })
                    ]
                ),
                ("b", vec![obj("example.com/v1", "Widget", "w")])
            ])),
            [
                ("example.com/v1".to_string(), "Widget".to_string()),
                ("v1".to_string(), "ConfigMap".to_string())
            ]
        );
    }

    #[test]
    fn a_preview_admits_as_a_render_does_but_leaves_objects_as_made() {
        let list = json!({ "apiVersion": "v1", "kind": "List", "items": [obj("v1", "Secret", "s"), obj("v1", "Namespace", "n")] });
        let mut smuggler = obj("example.com/v1", "Bundle", "b");
        smuggler["items"] = json!([obj("v1", "Namespace", "x")]);
        let found = admit(
            "web",
            vec![
                obj("v1", "ConfigMap", "c"),
                list,
                smuggler,
                in_ns("v1", "ConfigMap", "ns", "kiln-inventory-a-b"),
            ],
        );
        assert_eq!(
            refs(&found.objects),
            ["ConfigMap/c", "Secret/s", "Namespace/n"],
            "in the prototype's order, no namespace added"
        );
        assert_eq!(found.objects[2].scope, Some(Scope::Cluster));
        assert!(found.objects.iter().all(|o| o.value["metadata"].get("labels").is_none()));
        assert_eq!(found.problems.len(), 2, "{:?}", found.problems);
        assert!(matches!(found.problems[0], Error::Nested { .. }));
        assert!(matches!(found.problems[1], Error::Reserved { .. }));
    }
}
