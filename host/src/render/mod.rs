//! Running prototypes: the only module that touches wasmtime. One [`Engine`] per process loads
//! prototypes (compiled code cached on disk), and each call runs in a fresh store that grants
//! nothing and is bounded by the user's [`Limits`].
//!
//! # Adding a WIT import
//!
//! An import is an interface of `wit/prototype.wit` that the `prototype` world imports
//! (`import log;`). Add the interface and its `import` line, then build:
//!
//! - `sandbox.rs` fails to compile until its `Host` implements the interface's generated
//!   `Host` trait: `bindgen!` (`bindings.rs`) links every import the world names
//!   (`Prototype::add_to_linker` in `engine.rs`). Each call into the host is charged fuel
//!   (`HOST_CALL_FUEL`); bound whatever it stores or returns, as `log` and `app` do.
//! - The names the host checks and shows are read from the WIT by `host/build.rs`
//!   ([`WIT_PACKAGE`], [`WIT_VERSION`], [`WORLD_IMPORTS`]): the import and version checks of
//!   `engine.rs`, the refusals of `sandbox.rs`, the JavaScript template's import. Nothing to
//!   change there; `scaffold::tests::templates_import_what_the_world_offers` fails if a
//!   template names an interface the world does not import.
//! - The Rust SDK (`guest-components/sdk`) generates its bindings from the same WIT; wrap the
//!   new functions for prototype authors there as `log.rs` wraps `log`, and describe them in
//!   `docs/prototypes.md`.
//!
//! To change the package's version, edit `package kiln:prototype@X.Y.Z;` in the WIT:
//! `bindings::tests::docs_name_the_wit_version` fails until `README.md` and
//! `docs/prototypes.md` name the new one. Prototypes built for the version before keep running
//! when its WIT is frozen in `wit-compat/` and `compat.rs` converts between the two, as it does
//! for 0.2.0.

mod bindings;
mod cache;
mod compat;
mod engine;
mod error;
mod imports;
mod isolated;
mod limits;
mod sandbox;
pub mod shape;
pub(crate) mod stack;

pub use bindings::{WIT_PACKAGE, WIT_VERSION, WORLD_IMPORTS};
pub use cache::Cache;
pub(crate) use cache::build_identity;
#[cfg(feature = "fuzzing")]
pub(crate) use engine::parse_output;
pub use engine::{CodeSource, Engine, EngineOptions, Prototype, Rendered, Tier};
pub use error::Error;
pub use isolated::{VERB as COMPILE_VERB, serve as serve_compile};
pub use limits::{Limit, Limits};
pub use sandbox::{FIXED_TIME_SECS, LogLevel, LogLine};
