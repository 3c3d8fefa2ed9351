//! Kiln: a configuration engine for Kubernetes whose prototypes are sandboxed WebAssembly
//! components. The modules follow the data flow of a command:
//!
//! - [`cli`] parses the command line and prints; each verb builds one [`session::Session`]
//!   and makes one call. [`session`] is the one door into the rest: it renders, validates
//!   and acts on clusters for a verb, and returns what the verb prints.
//! - [`app`] reads and edits the app's files (`kiln.toml`, components, environments,
//!   `kiln.lock`); [`registry`] fetches, checks and publishes packages of prototypes.
//! - [`pipeline`] renders an environment: [`prototype`] holds the plain types of a prototype's
//!   contract, [`render`] runs prototypes (the only module that touches wasmtime),
//!   [`manifest`] turns their objects into output and checks the grant, [`validate`] checks
//!   the output offline; [`secrets`] keeps secret params' values out of prototypes and puts
//!   them in the Secrets they were placed in, on the way to the cluster.
//! - [`cluster`] applies, diffs and deletes (the only module that touches kube-rs).
//! - Shared by several: [`names`] (Kubernetes naming rules), [`untrusted`] (how text from
//!   guests, registries and servers is shown), [`checked`] (digests, private files, and what
//!   was already checked), [`parallel`] (work spread over cores), [`scaffold`] (new prototype
//!   projects).
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
pub mod secrets;
pub mod session;
pub mod untrusted;
pub mod validate;
