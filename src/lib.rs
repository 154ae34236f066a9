//! jzx: an actor runtime whose event loop is libxev.
//!
//! Actors with bounded mailboxes run on a single-threaded loop driven by
//! libxev (io_uring or epoll on Linux, kqueue on macOS and the BSDs), reached
//! through a thin Zig bridge. Timers, fd readiness, cross-thread sends and
//! supervision trees with Erlang/OTP semantics are part of the loop. A C ABI
//! (`include/jzx/jzx.h`) and a Zig module expose the same runtime to C and
//! Zig programs.
//!
//! # Contents
//!
//! - [Overview of types](#overview-of-types)
//! - [Threading model](#threading-model)
//! - [Tutorial](#tutorial)
//! - [The main loop](#the-main-loop)
//! - [Backends](#backends)
//! - [Supervision](#supervision)
//! - [Process toolkit](#process-toolkit)
//! - [Observability](#observability)
//! - [Features and building](#features-and-building)
//! - [Testing](#testing)
//!
//! # Overview of types
//!
//! - [`Loop`] owns one event loop and its actors; [`Loop::run`] runs them
//!   until a stop is requested or nothing is left to do. It dereferences to
//!   [`Core`], which holds the API shared with behaviors.
//! - [`Actor`] is implemented by your types: a message type and a behavior
//!   returning a [`Flow`] (continue, stop, fail). Fd readiness and child exits
//!   arrive through [`Actor::on_io`] and [`Actor::on_child_exit`], so they
//!   never need a place in your message type; [`Actor::on_stop`] runs at
//!   its teardown.
//! - [`Context`] is what a behavior gets: its own id and address, and (by
//!   dereferencing to [`Core`]) spawn, send, timers, fd watches and names.
//! - [`Addr<M>`] is a typed address (an [`ActorId`] plus the message type):
//!   sends are checked at compile time.
//! - [`LoopHandle`] sends into a loop from other threads and requests stops.
//! - [`Runtime`] runs N loops on N threads (one per core), with typed sends
//!   between them; [`RuntimeConfig`], [`Placement`] and [`RuntimeHandle`]
//!   go with it.
//! - [`SupervisorSpec`], [`ChildSpec`], [`Supervisor`] and [`ChildRef`] build
//!   supervision trees; [`Backoff`] shapes restart delays.
//! - [`Observer`] receives lifecycle reports; [`Metrics`] is a snapshot of
//!   a loop's counters; [`Config`] sizes a loop;
//!   [`Error`] and [`SendError`] say what went wrong (a refused message comes
//!   back inside its `SendError`).
//!
//! # Threading model
//!
//! One loop runs on one thread: `Loop`, `Core` and `Context` are not `Send`,
//! and actors run only on the thread that runs their loop. Inside a
//! behavior the whole API of that loop is available, re-entrantly, and calls
//! take effect in order. Other threads talk to a loop only through a
//! [`LoopHandle`] (`Send + Sync + Clone`): its sends are FIFO per producer and
//! wake a blocked loop at once. They are bounded
//! ([`Config::cross_thread_cap`]): past the bound a send is refused with
//! `MailboxFull` and the message comes back.
//!
//! **Several cores: a [`Runtime`].** A runtime runs N loops on N threads
//! (by default one per CPU the process may use, optionally pinned), share
//! nothing between them, and never moves an actor: an actor lives on the
//! loop it was spawned on, for its whole life (thread per core, as Seastar
//! and glommio do; no work stealing). Its [`ActorId`] says which loop
//! ([`ActorId::loop_index`]), and everything that takes an id or an address
//! works across loops with the same call:
//!
//! - **sends**: [`Core::send`] to an actor of another loop queues the
//!   message in this loop's outbox for that loop; at the end of the turn the
//!   outbox goes, in runs of messages, into the bounded single-producer ring
//!   of that pair of loops ([`RuntimeConfig::ring_cap`] messages), which the
//!   other loop drains at the start of its next turn. FIFO holds per pair of
//!   actors. A full ring, or a destination whose cross-thread bound is taken
//!   by messages waiting for full mailboxes, refuses the send with
//!   `MailboxFull` and hands the message back (the sending loop reads that
//!   bound after each flush and then every 256 sends, so it may be passed
//!   by up to 255 messages per sending loop). A slow actor whose messages
//!   wait for room there until they reach its share of that bound (its
//!   mailbox capacity, or a quarter of the bound if more) is limited, as
//!   for [`LoopHandle`] sends: sends to it are refused the same way until it
//!   catches up, and sends to its neighbours go on. A message for an actor
//!   that has ended when it arrives is a dead letter there;
//! - **supervision**: a supervisor waits for each child it stops on
//!   another loop before it stops the next, restarts, or reports its own
//!   end, as in Erlang/OTP;
//! - **placement** ([`Placement`]): [`Core::spawn`] spawns on this loop,
//!   [`Core::spawn_on`] on a given loop, [`Core::spawn_placed`] by the
//!   runtime's policy (round robin or least loaded); before a run,
//!   [`Runtime::spawn_on`] and [`Runtime::spawn`]. A spawn on another loop
//!   returns the address at once (the other loop keeps slots reserved for
//!   it); messages sent before the actor arrives wait for it;
//! - **the toolkit**: stop and fail by id, monitors (`Down`), links
//!   (`Exit`), child exits and supervision ([`ChildSpec::on_loop`]), and
//!   names ([`Core::lookup`], [`Core::remote_addr`]) work across loops;
//!   they travel in the same rings, in order with the messages, and are
//!   never refused.
//!
//! **What must be `Send`.** A message that crosses loops moves to another
//! thread, so an [`Addr<M>`] is `Send` only when `M` is: an address whose
//! messages cannot cross cannot reach another loop, and sends through it stay
//! local, whatever `M` is. An actor spawned on another loop moves there, so
//! [`Core::spawn_on`] wants `A: Send`; an actor built inside
//! [`Runtime::on_loop`] on its own loop need not be.
//!
//! **What a send costs.** A local send is a mailbox push (a few ns: see
//! `BENCHMARKS.md`). A send to another loop adds a type check on the open
//! run of its outbox and a push there; the ring push, the release store and,
//! only when the other loop sleeps, a wakeup (a system call) are paid once
//! per run of messages at the end of the turn, not per message, and the
//! receiving loop moves a run's consecutive messages for one actor into its
//! mailbox at once. A stream from one loop to another runs at 38-86 M
//! messages/s on the 2-core machines of `BENCHMARKS.md`. A round trip
//! between two loops is another matter: it moves cache lines between cores
//! (at best ~100 ns there), where a round trip on one loop is a few ns, so
//! actors that talk back and forth belong on one loop. A loop polls its
//! rings briefly before it blocks, so a loop that is answered within
//! microseconds is not put to sleep and woken.
//!
//! # Tutorial
//!
//! A counter that stops after three messages, and a loop that runs until it
//! is done:
//!
//! ```
//! use jzx::{Actor, Context, Flow, Loop};
//!
//! struct Counter {
//!     seen: u32,
//! }
//!
//! impl Actor for Counter {
//!     type Msg = u32;
//!
//!     fn handle(&mut self, _cx: &mut Context<'_, Self>, n: u32) -> Flow {
//!         self.seen += n;
//!         if self.seen == 3 {
//!             Flow::Stop // teardown follows; the loop becomes idle
//!         } else {
//!             Flow::Continue
//!         }
//!     }
//! }
//!
//! let mut lp = Loop::new()?;
//! let counter = lp.spawn(Counter { seen: 0 })?; // an Addr<u32>
//! for _ in 0..3 {
//!     lp.send(counter, 1)?; // a full mailbox would hand the message back
//! }
//! lp.run()?; // returns: no actors, timers, watches or queued messages left
//! assert_eq!(lp.actor_count(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The main loop
//!
//! Each turn of [`Loop::run`] delivers cross-thread messages, fires due
//! timers, then runs the actors that are runnable at that moment (at most
//! `max_actors_per_tick`), each handling at most `max_msgs_per_actor`
//! messages (one of each lane when both hold messages, see
//! [`Config::max_msgs_per_actor`]); then it polls I/O without blocking. When nothing is runnable it
//! blocks in libxev until I/O, a timer, a cross-thread message or a stop
//! request. Timers share the bridge's single timer (a heap in the loop, and
//! a FIFO per duration for asks' timeouts; no extra thread); a turn reads
//! the coarse monotonic clock first and the precise one only when a
//! deadline may have come. fd readiness is level-triggered, with at most
//! one undelivered event per fd.
//!
//! # Backends
//!
//! | system | backend | readiness |
//! |---|---|---|
//! | Linux | io_uring (default when available) | an epoll set, polled with `IORING_OP_POLL_ADD` |
//! | Linux | epoll (fallback, or `JZX_BACKEND=epoll`) | an epoll set, polled by libxev's epoll |
//! | macOS, BSD | kqueue | a kqueue set (`EVFILT_READ`/`EVFILT_WRITE`) |
//!
//! [`Config::backend`] or the `JZX_BACKEND` variable (`io_uring`, `epoll`)
//! choose; [`Core::backend`] tells which one runs. On every backend the
//! watched fds live in one level-triggered epoll (or kqueue) set per loop,
//! which libxev polls as a single fd: a watch costs no file descriptor, an
//! interest change needs none, and a watched fd that its owner closes drops
//! out of the set by itself.
//!
//! # Supervision
//!
//! [`Core::spawn_supervisor`] starts a supervisor and its children in order.
//! Restart modes (permanent, transient, temporary), strategies (one for one,
//! one for all, rest for one), intensity and period, backoff, and nesting
//! follow Erlang/OTP; see the [`Supervisor`] documentation and
//! `examples/supervisor.rs`.
//!
//! # Process toolkit
//!
//! With Erlang's semantics (SPEC §12), all typed and without async:
//! - hooks: [`Actor::on_start`] before an actor's first message,
//!   [`Actor::on_stop`] at its teardown;
//! - request/reply: [`Context::ask`] sends a request carrying a
//!   [`ReplyTo`] and gets exactly one [`Answer`] back as a message (the
//!   reply, a timeout, or no-such-actor/dropped); a thread outside the
//!   loop blocks in [`LoopHandle::ask`];
//! - monitors: [`Core::monitor`] gives a [`Down`] in [`Actor::on_down`]
//!   when the target ends; [`Core::demonitor`] removes it;
//! - links: [`Core::link`] ties two actors so that an abnormal exit ends
//!   both, unless the other traps exits ([`Core::trap_exits`]) and gets an
//!   [`Exit`] in [`Actor::on_exit`]. A supervisor's children report to it
//!   through their [`ChildExit`] whatever their links; a child ended by a
//!   link is an abnormal exit, restarted by its restart mode, and its new
//!   incarnation starts without links;
//! - dead letters: messages dropped because their receiver ended are counted
//!   ([`Metrics::dead_letters`]) and told to
//!   [`Observer::on_dead_letters`];
//! - process groups: [`Core::join_group`], [`Core::group_members`],
//!   [`Core::broadcast`]; a member leaves when it ends.
//!
//! # Observability
//!
//! [`Core::metrics`] returns a [`Metrics`] snapshot: messages delivered and
//! refused, loop turns, timers fired, I/O events and live actors, counted
//! with plain integer increments on paths the loop takes anyway;
//! [`Core::mailbox_depth`] tells how many messages wait for one actor. An
//! [`Observer`] is called at each lifecycle event. With the feature
//! `tracing`, the loop also emits [`tracing`](https://docs.rs/tracing)
//! events (target `jzx`) for actor start, stop (with the reason), restart,
//! supervisor escalation and mailbox refusals, and a TRACE span per loop
//! turn; without the feature none of that code is compiled.
//!
//! # Features and building
//!
//! - `libxev-sys` (default): cargo downloads libxev's sources with the
//!   crates.io package of that name; the build script compiles the Zig
//!   bridge over them (Zig 0.16.0 and libclang needed, see the README).
//!   Without it the build script requires `LIBXEV_SRC`, libxev's source
//!   folder, and stops with a message when it is not set.
//! - `tracing`: the spans and events above.
//!
//! Docs builds (`DOCS_RS` set, default features off, as on docs.rs) need
//! neither Zig nor libclang: the build script then skips the bridge.
//!
//! # Testing
//!
//! Every behavior of the runtime is covered by the integration tests in
//! `tests/`, on every backend the machine offers; `bash scripts/test.sh`
//! runs the whole suite (installing Zig and libclang when missing).
//!
//! Your own tests can run on a simulated loop ([`Config::simulated`], see
//! [`sim`]): virtual time that jumps to the next deadline, a seeded order
//! among runnable actors, in-memory fds, and a trace hash with
//! [`sim::check_replay`] to check that a run is deterministic.
#![deny(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]

mod actor;
mod addr;
#[allow(unsafe_code)]
mod backend;
#[allow(unsafe_code)]
mod capi;
mod clock;
mod config;
mod core;
mod error;
mod event_loop;
mod handle;
mod id;
mod mailbox;
mod message;
mod metrics;
mod observer;
mod reply;
mod runtime;
pub mod sim;
mod supervisor;
mod timer;
mod trace;

pub use crate::core::names::Broadcast;
pub use crate::core::peers::Placement;
pub use crate::core::scheduler::RunOrder;
pub use crate::core::spawn::SpawnOptions;
pub use crate::core::Core;
pub use actor::{Actor, Context, Flow};
pub use addr::Addr;
pub use backend::{BackendKind, Interest, Readiness};
pub use clock::ClockKind;
pub use config::Config;
pub use error::{Error, SendError};
pub use event_loop::Loop;
pub use handle::LoopHandle;
pub use id::{ActorId, TimerId};
pub use message::{ChildExit, Down, DownReason, Exit, IoEvent, MonitorRef, StopReason};
pub use metrics::Metrics;
pub use observer::Observer;
pub use reply::{Answer, ReplyTo};
pub use runtime::{Runtime, RuntimeConfig, RuntimeHandle};
pub use supervisor::{
    Backoff, BackoffKind, ChildRef, ChildSpec, RestartMode, Strategy, Supervisor, SupervisorSpec,
};

/// Thread rules, checked by the compiler: a handle crosses threads, a loop
/// and its contexts do not.
#[allow(dead_code)]
fn thread_rules() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<LoopHandle>();
    send_sync::<Addr<u8>>();
    send_sync::<ActorId>();
    send_sync::<Error>();
}

/// `Loop` is not `Send`: this must fail to compile.
///
/// ```compile_fail
/// fn send<T: Send>() {}
/// send::<jzx::Loop>();
/// ```
///
/// `Core` is not `Send` either:
///
/// ```compile_fail
/// fn send<T: Send>() {}
/// send::<jzx::Core>();
/// ```
#[cfg(doctest)]
pub struct ThreadRulesDoctest;
