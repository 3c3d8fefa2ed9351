//! What a prototype is to the rest of Kiln, as plain values: its self-description ([`Info`]),
//! typed params and the [`Environment`] it renders for. No Wasm here: `render` fills these in.
//!
//! # Adding a param type
//!
//! A param type is a case of `param-type` and of `param-value` in `wit/prototype.wit`. Add it
//! there, then build: every place that must decide what the type means matches on it with one
//! arm per case (no `_ =>`), so each fails to compile until it does.
//!
//! - `render/bindings.rs`: `type_from_wit`, `value_from_wit` (fail as soon as the WIT has the
//!   case), and `value_to_wit`.
//! - Here: the case of [`ParamType`] and [`ParamValue`]; `ParamType::name`, `placeholder`
//!   and `article`; `ParamValue::param_type`, `to_json` and its `Display` (as typed).
//! - `prototype/params.rs`: `ParamType::parse`, the value from command-line text.
//! - `app/params.rs`: `typed`, the values an app file may give it.
//! - `validate/params.rs`: `json_schema`, its JSON Schema.
//! - The Rust SDK, `guest-components/sdk/src/context.rs`: `type_name`; then, by hand, a getter
//!   there, a `Param` constructor and a `From` for defaults in `info.rs`.
//!
//! Not checked by the compiler: the JavaScript and Python templates in `host/templates/`, which
//! spell types as strings, and the table of types in `docs/prototypes.md`.

mod params;

use std::collections::BTreeMap;

pub use params::{ParamError, resolve, suggest};

/// The type of a param, as the prototype declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ParamType {
    /// UTF-8 text.
    String,
    /// A signed 64-bit integer.
    Integer,
    /// A finite 64-bit float.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A list of strings, `a,b,c` on the command line.
    StringList,
    /// Any JSON value.
    Object,
    /// A secret of the environment, by name: the prototype gets a reference, the Secret it
    /// places it in gets the value (see [`crate::secrets`]).
    Secret,
}

impl ParamType {
    /// The name users see in help and errors.
    pub fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            ParamType::Boolean => "boolean",
            ParamType::StringList => "list of strings",
            ParamType::Object => "object",
            ParamType::Secret => "secret",
        }
    }

    /// What a value looks like on the command line, for `--help`.
    pub fn placeholder(self) -> &'static str {
        match self {
            ParamType::String => "STRING",
            ParamType::Integer => "INT",
            ParamType::Number => "NUMBER",
            ParamType::Boolean => "true|false",
            ParamType::StringList => "A,B,...",
            ParamType::Object => "JSON",
            ParamType::Secret => "SECRET-NAME",
        }
    }

    /// The indefinite article of [`ParamType::name`]: "an integer", "a string".
    pub fn article(self) -> &'static str {
        match self {
            ParamType::Integer | ParamType::Object => "an",
            ParamType::String
            | ParamType::Number
            | ParamType::Boolean
            | ParamType::StringList
            | ParamType::Secret => "a",
        }
    }
}

impl std::fmt::Display for ParamType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A typed param value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ParamValue {
    /// A string.
    String(String),
    /// An integer.
    Integer(i64),
    /// A finite number.
    Number(f64),
    /// A boolean.
    Boolean(bool),
    /// A list of strings.
    StringList(Vec<String>),
    /// Any JSON value.
    Object(serde_json::Value),
    /// The name of a secret of the environment (`kiln secret set`), never its value. In app
    /// files `{ secret = "NAME" }`.
    Secret(String),
}

impl ParamValue {
    /// The type of this value.
    pub fn param_type(&self) -> ParamType {
        match self {
            ParamValue::String(_) => ParamType::String,
            ParamValue::Integer(_) => ParamType::Integer,
            ParamValue::Number(_) => ParamType::Number,
            ParamValue::Boolean(_) => ParamType::Boolean,
            ParamValue::StringList(_) => ParamType::StringList,
            ParamValue::Object(_) => ParamType::Object,
            ParamValue::Secret(_) => ParamType::Secret,
        }
    }

    /// The value as JSON, e.g. for `describe --json` and app files.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ParamValue::String(s) => s.as_str().into(),
            ParamValue::Integer(i) => (*i).into(),
            ParamValue::Number(n) => (*n).into(),
            ParamValue::Boolean(b) => (*b).into(),
            ParamValue::StringList(list) => list.clone().into(),
            ParamValue::Object(value) => value.clone(),
            ParamValue::Secret(name) => serde_json::json!({ "secret": name }),
        }
    }
}

impl std::fmt::Display for ParamValue {
    /// The value as a user would type it on the command line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::String(s) | ParamValue::Secret(s) => f.write_str(s),
            ParamValue::StringList(list) => f.write_str(&list.join(",")),
            ParamValue::Integer(_)
            | ParamValue::Number(_)
            | ParamValue::Boolean(_)
            | ParamValue::Object(_) => write!(f, "{}", self.to_json()),
        }
    }
}

/// Params by name. Sorted, so everything derived from them is deterministic.
pub type Params = BTreeMap<String, ParamValue>;

/// One param a prototype accepts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParamSpec {
    /// The param's name, e.g. `modelPath`.
    pub name: String,
    /// Its type.
    pub ty: ParamType,
    /// Help text.
    pub doc: String,
    /// Whether a value must be given.
    pub required: bool,
    /// The value used when none is given.
    pub default: Option<ParamValue>,
}

/// A Kubernetes kind by API group (empty for core) and kind.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct GroupKind {
    /// The API group, empty for the core group.
    pub group: String,
    /// The kind.
    pub kind: String,
}

impl std::fmt::Display for GroupKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}/{}", self.group, self.kind)
        }
    }
}

/// What a prototype asks to be allowed to emit.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Permissions {
    /// Cluster-scoped kinds it emits.
    pub cluster_scoped: Vec<GroupKind>,
    /// Whether it emits RBAC objects.
    pub rbac: bool,
    /// Whether it places objects outside the environment's namespace.
    pub other_namespaces: bool,
}

/// A prototype's description of itself.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Info {
    /// Its name, a DNS-1123 label.
    pub name: String,
    /// One summary line, optionally followed by more paragraphs.
    pub description: String,
    /// The params it accepts, in declaration order.
    pub params: Vec<ParamSpec>,
    /// What it asks to emit.
    pub permissions: Permissions,
}

impl Info {
    /// The first line of the description.
    pub fn summary(&self) -> &str {
        self.description.lines().next().unwrap_or_default()
    }

    /// The param named `name`.
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// Another component of the app, as a prototype sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentView {
    /// The component's name.
    pub name: String,
    /// The prototype it instantiates.
    pub prototype: String,
    /// Its params, resolved for the environment.
    pub params: Params,
}

/// The environment a prototype renders for.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// The environment's name.
    pub name: String,
    /// The default namespace for namespaced objects.
    pub namespace: String,
    /// The API server URL, when known.
    pub server: Option<String>,
    /// The target Kubernetes version, `major.minor`.
    pub kubernetes_version: String,
    /// Labels for every object.
    pub labels: BTreeMap<String, String>,
    /// The app's components, sorted by name: shared by every render of the app, and copied
    /// into a guest only when it asks (`app.components`).
    pub components: std::sync::Arc<[ComponentView]>,
}

/// The Kubernetes version environments target unless they say otherwise.
pub const DEFAULT_KUBERNETES_VERSION: &str = "1.33";

impl Environment {
    /// A stand-alone environment, for previewing a prototype outside an app.
    pub fn preview(namespace: &str) -> Self {
        Environment {
            name: "preview".into(),
            namespace: namespace.into(),
            server: None,
            kubernetes_version: DEFAULT_KUBERNETES_VERSION.into(),
            labels: BTreeMap::new(),
            components: Default::default(),
        }
    }
}
