//! jzx: an actor runtime on libxev.
#![deny(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

mod actor;
mod addr;
#[allow(unsafe_code)]
mod backend;
#[allow(unsafe_code)]
mod capi;
mod config;
mod context;
mod core;
mod error;
mod event_loop;
mod handle;
mod id;
mod mailbox;
mod message;
mod observer;
mod supervisor;
mod timer;

pub use crate::core::Core;
pub use actor::{Actor, Flow, SpawnOptions};
pub use addr::Addr;
pub use backend::{BackendKind, Interest, Readiness};
pub use config::Config;
pub use context::Context;
pub use error::{Error, SendError};
pub use event_loop::Loop;
pub use handle::LoopHandle;
pub use id::{ActorId, TimerId};
pub use message::{ChildExit, IoEvent, StopReason};
pub use observer::Observer;
pub use supervisor::{
    Backoff, BackoffKind, ChildRef, ChildSpec, RestartMode, Strategy, Supervisor, SupervisorSpec,
};
