//! Running prototypes: the only module that touches wasmtime. One [`Engine`] per process loads
//! prototypes (compiled code cached on disk), and each call runs in a fresh store that grants
//! nothing and is bounded by the user's [`Limits`].

mod bindings;
mod cache;
mod engine;
mod error;
mod imports;
mod isolated;
mod limits;
mod sandbox;
pub mod shape;
pub(crate) mod stack;

pub use cache::Cache;
pub(crate) use cache::build_identity;
#[cfg(feature = "fuzzing")]
pub(crate) use engine::parse_output;
pub use engine::{CodeSource, Engine, EngineOptions, Prototype, Rendered, Tier};
pub use error::Error;
pub use isolated::{VERB as COMPILE_VERB, serve as serve_compile};
pub use limits::{Limit, Limits};
pub use sandbox::{FIXED_TIME_SECS, LogLevel, LogLine};
