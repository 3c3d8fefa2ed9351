//! Kiln's integration tests, one module per topic. Guests come from `kiln-guest-artifacts`,
//! which builds `guest-components/` for wasm32-wasip2 as part of the normal build.

pub mod app;
mod bombs;
mod budget;
mod cache;
mod cli;
mod cluster;
mod common;
mod crash;
mod escapes;
mod faults;
mod grant;
mod kubeflow;
mod languages;
mod lease;
mod limits;
mod readiness;
mod registries;
mod revisions;
mod sandbox;
mod scripts;
mod secrets;
pub mod tf_serving;
mod validate;
