//! The Rust SDK for Kiln prototypes: implement [`Prototype`], call [`prototype!`], and the
//! crate does the WIT plumbing, typed param access and JSON encoding of objects.
//!
//! ```no_run
//! use kiln_sdk::prelude::*;
//!
//! struct Hello;
//!
//! impl Prototype for Hello {
//!     fn describe() -> Info {
//!         Info::new("hello", "A ConfigMap that says hello")
//!             .param(Param::string("greeting").default("hello").doc("What to say"))
//!     }
//!
//!     fn generate(ctx: &Context) -> Result<Vec<Object>, Error> {
//!         let greeting = ctx.params.string("greeting")?;
//!         Ok(vec![object(&serde_json::json!({
//!             "apiVersion": "v1",
//!             "kind": "ConfigMap",
//!             "metadata": { "name": ctx.component },
//!             "data": { "greeting": greeting },
//!         }))?])
//!     }
//! }
//!
//! kiln_sdk::prototype!(Hello);
//! ```
#![warn(missing_docs)]

mod context;
mod info;
pub mod log;
mod secret;
pub mod validate;

pub use context::{ComponentView, Context, Params};
pub use info::{Info, Param};
/// Kubernetes API types (k8s-openapi), so prototypes need no other dependency to build objects.
pub use k8s_openapi as k8s;
pub use secret::{SecretRef, secret};
pub use serde_json;

/// The bindings generated from `wit/prototype.wit`. Prototypes rarely need them directly.
#[doc(hidden)]
// The generated import glue of `app.components` takes one argument per flattened field.
#[allow(clippy::too_many_arguments)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "prototype",
        pub_export_macro: true,
        default_bindings_module: "kiln_sdk::bindings",
        export_macro_name: "export",
    });
}

pub use bindings::kiln::prototype::types::{
    Environment, GroupKind, ParamType, ParamValue, Permissions,
};

/// One rendered Kubernetes object.
pub type Object = serde_json::Value;

/// What a prototype implements. Both functions must be pure: the same inputs, the same output.
pub trait Prototype {
    /// The prototype's name, description, params and permissions.
    fn describe() -> Info;

    /// Render the component's objects. Params arrive checked against [`Prototype::describe`]
    /// and completed with defaults, so a declared param with a default is always present.
    fn generate(ctx: &Context) -> Result<Vec<Object>, Error>;
}

/// Why a prototype could not render. Prefer [`Error::param`] whenever one param is at fault:
/// Kiln then points the user at that param.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The named param has an unacceptable value.
    Param {
        /// The param's name.
        name: String,
        /// What is wrong with it, lowercase, no trailing period.
        message: String,
    },
    /// Rendering failed for another reason.
    Failed(String),
}

impl Error {
    /// The param `name` is wrong, because of `message`.
    pub fn param(name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Param { name: name.into(), message: message.into() }
    }

    /// Rendering failed because of `message`.
    pub fn failed(message: impl Into<String>) -> Self {
        Error::Failed(message.into())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Param { name, message } => write!(f, "param `{name}`: {message}"),
            Error::Failed(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::Failed(format!("cannot encode object as JSON: {err}"))
    }
}

/// Turn any serializable value (a k8s-openapi type, a `serde_json::json!` value) into an object.
pub fn object<T: serde::Serialize>(value: &T) -> Result<Object, Error> {
    Ok(serde_json::to_value(value)?)
}

/// Everything a prototype's `lib.rs` usually needs.
pub mod prelude {
    pub use crate::k8s;
    pub use crate::k8s::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
    pub use crate::validate;
    pub use crate::{Context, Error, Info, Object, Param, Prototype, SecretRef, object, secret};
    pub use serde_json::json;
}

/// Glue called by [`prototype!`]; not part of the API.
#[doc(hidden)]
pub mod __export {
    use super::*;
    use bindings::kiln::prototype::types as wit;

    pub fn describe<P: Prototype>() -> wit::PrototypeInfo {
        P::describe().into_wit()
    }

    pub fn generate<P: Prototype>(
        component: String,
        params: Vec<wit::Param>,
        environment: wit::Environment,
    ) -> Result<String, wit::RenderError> {
        let ctx = Context::new(component, params, environment);
        let objects = P::generate(&ctx).map_err(into_wit_error)?;
        serde_json::to_string(&objects).map_err(|err| into_wit_error(err.into()))
    }

    fn into_wit_error(err: Error) -> wit::RenderError {
        match err {
            Error::Param { name, message } => {
                wit::RenderError::InvalidParam(wit::ParamError { name, message })
            }
            Error::Failed(message) => wit::RenderError::Failed(message),
        }
    }
}

/// Export a type implementing [`Prototype`] as the component's `describe` and `generate`.
#[macro_export]
macro_rules! prototype {
    ($ty:ty) => {
        struct __KilnPrototype;

        impl $crate::bindings::Guest for __KilnPrototype {
            fn describe() -> $crate::bindings::kiln::prototype::types::PrototypeInfo {
                $crate::__export::describe::<$ty>()
            }

            fn generate(
                component: ::std::string::String,
                params: ::std::vec::Vec<$crate::bindings::kiln::prototype::types::Param>,
                environment: $crate::bindings::kiln::prototype::types::Environment,
            ) -> ::std::result::Result<
                ::std::string::String,
                $crate::bindings::kiln::prototype::types::RenderError,
            > {
                $crate::__export::generate::<$ty>(component, params, environment)
            }
        }

        $crate::bindings::export!(__KilnPrototype with_types_in $crate::bindings);
    };
}
