//! jzx: an actor runtime on libxev.
#![deny(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

#[allow(unsafe_code)]
mod backend;

pub use backend::{BackendKind, Interest, Readiness};
