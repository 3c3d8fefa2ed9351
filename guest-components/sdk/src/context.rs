//! What `generate` gets: the component's name, its typed params and the environment.

use crate::bindings::kiln::prototype::types as wit;
use crate::{Environment, Error, ParamValue, SecretRef};

/// The input of one render.
#[derive(Debug, Clone)]
pub struct Context {
    /// The name of the component being rendered, e.g. `serveInception`.
    pub component: String,
    /// The component's params, resolved for the environment.
    pub params: Params,
    /// The environment rendered for.
    pub env: Environment,
}

impl Context {
    pub(crate) fn new(component: String, params: Vec<wit::Param>, env: Environment) -> Self {
        Context { component, params: Params(params), env }
    }

    /// The namespace for namespaced objects: the string param `param` when it is set,
    /// otherwise the environment's namespace; an error naming `param` if it is not a valid
    /// namespace (a DNS-1123 label).
    pub fn namespace(&self, param: &str) -> Result<String, Error> {
        let namespace =
            self.params.opt_string(param)?.unwrap_or_else(|| self.env.namespace.clone());
        crate::validate::dns1123_label(param, &namespace)?;
        Ok(namespace)
    }

    /// The app's components (this one included), sorted by name, with their params resolved
    /// for the environment. Asked of the host on each call, so call it once per render.
    pub fn components(&self) -> Vec<ComponentView> {
        crate::bindings::kiln::prototype::app::components()
            .into_iter()
            .map(|c| ComponentView {
                name: c.name,
                prototype: c.prototype,
                params: Params(c.params),
            })
            .collect()
    }
}

/// Another component of the same app, as the environment sees it.
#[derive(Debug, Clone)]
pub struct ComponentView {
    /// The component's name.
    pub name: String,
    /// The name of the prototype it instantiates, e.g. `nfs`.
    pub prototype: String,
    /// Its params, resolved for the environment.
    pub params: Params,
}

/// Typed access to params. Getters for params with a default never fail on absence, since the
/// host fills in defaults; the `opt_` getters are for params without one.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<wit::Param>);

macro_rules! getters {
    ($(($get:ident, $opt:ident, $case:ident, $ty:ty, $a:literal, $what:literal)),* $(,)?) => {$(
        #[doc = concat!("The ", $what, " param `name`; an error naming it if absent or of another type.")]
        pub fn $get(&self, name: &str) -> Result<$ty, Error> {
            self.$opt(name)?.ok_or_else(|| Error::param(name, "is required but has no value"))
        }

        #[doc = concat!("The ", $what, " param `name`, or `None` when it has no value.")]
        pub fn $opt(&self, name: &str) -> Result<Option<$ty>, Error> {
            match self.value(name) {
                None => Ok(None),
                Some(ParamValue::$case(value)) => Ok(Some(value.clone())),
                Some(other) => Err(not_a(name, concat!($a, " ", $what), other)),
            }
        }
    )*};
}

impl Params {
    /// The names of the params that have a value, in the host's order (sorted).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|p| p.name.as_str())
    }

    /// The raw value of `name`, if it has one.
    pub fn value(&self, name: &str) -> Option<&ParamValue> {
        self.0.iter().find(|p| p.name == name).map(|p| &p.value)
    }

    getters! {
        (string, opt_string, String, String, "a", "string"),
        (integer, opt_integer, Integer, i64, "an", "integer"),
        (number, opt_number, Number, f64, "a", "number"),
        (boolean, opt_boolean, Boolean, bool, "a", "boolean"),
        (strings, opt_strings, StringList, Vec<String>, "a", "list of strings"),
    }

    /// The secret param `name`: a reference to its value, which this prototype never sees.
    /// Place it in a Secret with [`crate::secret`]. An error naming the param if absent.
    pub fn secret(&self, name: &str) -> Result<SecretRef, Error> {
        self.opt_secret(name)?.ok_or_else(|| Error::param(name, "is required but has no value"))
    }

    /// The secret param `name`, or `None` when it has no value.
    pub fn opt_secret(&self, name: &str) -> Result<Option<SecretRef>, Error> {
        match self.value(name) {
            None => Ok(None),
            Some(ParamValue::Secret(reference)) => Ok(Some(SecretRef(reference.clone()))),
            Some(other) => Err(not_a(name, "a secret", other)),
        }
    }

    /// The object param `name`, decoded into `T`.
    pub fn object<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, Error> {
        self.opt_object(name)?.ok_or_else(|| Error::param(name, "is required but has no value"))
    }

    /// The object param `name` decoded into `T`, or `None` when it has no value.
    pub fn opt_object<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, Error> {
        match self.value(name) {
            None => Ok(None),
            Some(ParamValue::Object(json)) => serde_json::from_str(json)
                .map(Some)
                .map_err(|err| Error::param(name, format!("has the wrong shape: {err}"))),
            Some(other) => Err(not_a(name, "an object", other)),
        }
    }
}

/// The error of a getter for `expected` (e.g. "a string") on `found`, a value of another type.
fn not_a(name: &str, expected: &str, found: &ParamValue) -> Error {
    Error::param(name, format!("is not {expected} but {}", type_name(found)))
}

/// The type of `value`, with its article, as the getters' errors name it.
///
/// One arm per case of the WIT's `param-value`, so a case added to `wit/prototype.wit` fails
/// to compile here: give it a getter in `getters!` above (or one like `object`), a constructor
/// in `Param` and a `From` for its default (`info.rs`).
fn type_name(value: &ParamValue) -> &'static str {
    match value {
        ParamValue::String(_) => "a string",
        ParamValue::Integer(_) => "an integer",
        ParamValue::Number(_) => "a number",
        ParamValue::Boolean(_) => "a boolean",
        ParamValue::StringList(_) => "a list of strings",
        ParamValue::Object(_) => "an object",
        ParamValue::Secret(_) => "a secret",
    }
}
