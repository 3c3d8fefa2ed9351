//! Paths of the guest components built from `guest-components/` for `wasm32-wasip2`: the
//! Kubeflow prototypes and the test guests. Built by this crate's build script.

include!(concat!(env!("OUT_DIR"), "/guests.rs"));
