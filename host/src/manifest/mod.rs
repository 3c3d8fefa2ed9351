//! From rendered objects to the final manifest: `post` defaults namespaces, adds ownership
//! labels, rejects duplicates and sorts into apply order; `encode` prints objects as YAML or
//! JSON. Pure functions of plain values: no I/O, no wasmtime, no kube.

mod encode;
pub mod permissions;
mod post;

pub use encode::{Format, encode, write};
pub use post::{
    APP_LABEL, COMPONENT_LABEL, ComponentObjects, Context, ENV_LABEL, Error, MANAGED_BY, MANAGER,
    Object, Processed, api_group, is_cluster_scoped, is_crd, object_ref, post_process,
    post_process_all,
};
