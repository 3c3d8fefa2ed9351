//! Kiln: a configuration engine for Kubernetes whose prototypes are sandboxed WebAssembly
//! components. The modules follow the data flow: `cli` parses and prints, `prototype` holds the
//! plain types of a prototype's contract, `render` runs prototypes, `manifest` turns objects into
//! output, `validate` checks them before they reach a cluster.
#![warn(missing_docs)]

pub mod app;
pub mod checked;
pub mod cli;
pub mod cluster;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod manifest;
pub mod names;
pub mod parallel;
pub mod pipeline;
pub mod prototype;
pub mod registry;
pub mod render;
pub mod scaffold;
pub mod untrusted;
pub mod validate;
