//! Builders for what a prototype says about itself: [`Info`] and its [`Param`]s.

use crate::bindings::kiln::prototype::types as wit;
use crate::{GroupKind, ParamType, ParamValue, Permissions};

/// A prototype's self-description: name, description, params and permissions.
#[derive(Debug, Clone)]
pub struct Info {
    name: String,
    description: String,
    params: Vec<Param>,
    permissions: Permissions,
}

impl Info {
    /// A prototype named `name` (a DNS-1123 label) described by `description`: one line,
    /// optionally followed by a blank line and paragraphs.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Info {
            name: name.into(),
            description: description.into(),
            params: Vec::new(),
            permissions: Permissions {
                cluster_scoped: Vec::new(),
                rbac: false,
                other_namespaces: false,
            },
        }
    }

    /// Declare a param. `--help` lists params in declaration order.
    pub fn param(mut self, param: Param) -> Self {
        self.params.push(param);
        self
    }

    /// Ask to emit objects of the cluster-scoped kind `group`/`kind` (group empty for core).
    pub fn cluster_scoped(mut self, group: &str, kind: &str) -> Self {
        self.permissions.cluster_scoped.push(GroupKind { group: group.into(), kind: kind.into() });
        self
    }

    /// Ask to emit RBAC objects (Role, RoleBinding, ClusterRole, ClusterRoleBinding).
    pub fn rbac(mut self) -> Self {
        self.permissions.rbac = true;
        self
    }

    /// Ask to place objects in namespaces other than the environment's.
    pub fn other_namespaces(mut self) -> Self {
        self.permissions.other_namespaces = true;
        self
    }

    pub(crate) fn into_wit(self) -> wit::PrototypeInfo {
        wit::PrototypeInfo {
            name: self.name,
            description: self.description,
            params: self.params.into_iter().map(Param::into_wit).collect(),
            permissions: self.permissions,
        }
    }
}

/// One declared param: its name, type, doc, and default or requiredness.
#[derive(Debug, Clone)]
pub struct Param {
    name: String,
    ty: ParamType,
    doc: String,
    required: bool,
    default: Option<ParamValue>,
}

impl Param {
    fn new(name: &str, ty: ParamType) -> Self {
        Param { name: name.into(), ty, doc: String::new(), required: false, default: None }
    }

    /// A string param.
    pub fn string(name: &str) -> Self {
        Param::new(name, ParamType::String)
    }

    /// A 64-bit integer param.
    pub fn integer(name: &str) -> Self {
        Param::new(name, ParamType::Integer)
    }

    /// A floating point param.
    pub fn number(name: &str) -> Self {
        Param::new(name, ParamType::Number)
    }

    /// A boolean param.
    pub fn boolean(name: &str) -> Self {
        Param::new(name, ParamType::Boolean)
    }

    /// A list-of-strings param (`a,b,c` on the command line).
    pub fn strings(name: &str) -> Self {
        Param::new(name, ParamType::StringList)
    }

    /// A param holding any JSON value.
    pub fn object(name: &str) -> Self {
        Param::new(name, ParamType::Object)
    }

    /// A secret param (a password, a token, a key): the prototype gets a reference, never the
    /// value, and places it in a Secret ([`crate::secret`]). A secret has no default.
    pub fn secret(name: &str) -> Self {
        Param::new(name, ParamType::Secret)
    }

    /// The text `--help` shows for this param.
    pub fn doc(mut self, doc: &str) -> Self {
        self.doc = doc.into();
        self
    }

    /// The param must be given; it has no default.
    pub fn required(mut self) -> Self {
        self.required = true;
        self.default = None;
        self
    }

    /// The value used when none is given. Its type must match the param's (the host checks).
    pub fn default(mut self, value: impl Into<ParamValue>) -> Self {
        self.default = Some(value.into());
        self.required = false;
        self
    }

    fn into_wit(self) -> wit::ParamSpec {
        wit::ParamSpec {
            name: self.name,
            type_: self.ty,
            doc: self.doc,
            required: self.required,
            default: self.default,
        }
    }
}

impl From<&str> for ParamValue {
    fn from(value: &str) -> Self {
        ParamValue::String(value.into())
    }
}

impl From<String> for ParamValue {
    fn from(value: String) -> Self {
        ParamValue::String(value)
    }
}

impl From<i64> for ParamValue {
    fn from(value: i64) -> Self {
        ParamValue::Integer(value)
    }
}

impl From<f64> for ParamValue {
    fn from(value: f64) -> Self {
        ParamValue::Number(value)
    }
}

impl From<bool> for ParamValue {
    fn from(value: bool) -> Self {
        ParamValue::Boolean(value)
    }
}

impl From<&[&str]> for ParamValue {
    fn from(value: &[&str]) -> Self {
        ParamValue::StringList(value.iter().map(|s| s.to_string()).collect())
    }
}

impl From<serde_json::Value> for ParamValue {
    fn from(value: serde_json::Value) -> Self {
        ParamValue::Object(value.to_string())
    }
}
