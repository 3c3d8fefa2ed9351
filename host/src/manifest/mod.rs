//! From rendered objects to the final manifest: `post` flattens Lists, refuses what a
//! prototype may not emit, places namespaces by each kind's `scope`, adds ownership labels,
//! rejects duplicates and sorts into apply order; `permissions` checks every object against
//! its package's grant; `encode` prints objects as YAML or JSON. Pure functions of plain
//! values: no I/O, no wasmtime, no kube.

mod encode;
pub mod permissions;
mod post;
pub mod scope;

pub use encode::{Format, encode, write};
pub use post::{
    APP_LABEL, COMPONENT_LABEL, ComponentObjects, Context, ENV_LABEL, Error, INVENTORY_PREFIX,
    MANAGED_BY, MANAGER, Object, PHASE_ANNOTATION, Processed, RESERVED_DOMAIN,
    RESERVED_NAME_PREFIXES, REVISION_PREFIX, admit, api_group, count_objects, is_crd,
    is_reserved_key, kinds, object_ref, phase, post_process, post_process_all,
};
pub use scope::{Scope, Scopes};
