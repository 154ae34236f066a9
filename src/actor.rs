//! The [`Actor`] trait, the [`Context`] its behavior gets, what a behavior
//! returns, and how the actor table holds actors of different types.

use crate::core::{Core, ErasedActor, Turn};
use crate::mailbox::erased::AnyMailbox;
use crate::mailbox::{Item, Sys};
use crate::message::{ChildExit, Down, Exit, IoEvent, MonitorRef, StopReason, SysEvent};
use crate::{ActorId, Addr, Answer, Error, Interest, ReplyTo, SendError};
use std::any::TypeId;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::os::fd::RawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a behavior tells the runtime after handling a message (R11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flow {
    /// Keep running.
    Continue,
    /// Stop normally: no further message is handled, the actor is torn down.
    Stop,
    /// Stop abnormally: as `Stop`, but reported as a failure (supervisors
    /// restart transient children only after this).
    Fail,
}

/// An actor: state plus a behavior for its messages.
///
/// An actor declares its message type `Msg`; the [`Addr<Msg>`](crate::Addr)
/// that `spawn` returns only accepts that type. System events (fd
/// readiness, child exits) arrive through their own methods, whose defaults
/// ignore them. A panic in any of these methods is caught and treated as
/// [`Flow::Fail`] with [`StopReason::Panic`]; the loop keeps running.
///
/// Lifecycle: spawned (not yet run, R7) → running whenever it has messages →
/// torn down after `Stop`, `Fail`, a panic, or a stop/fail by id. Teardown
/// runs its [`Actor::on_stop`] hook, removes its fd watches and timers,
/// reports to the observer, sends a [`ChildExit`] to its parent, drops its
/// pending messages and then the actor itself (R13).
///
/// # Examples
///
/// ```
/// use jzx::{Actor, Context, Flow, Loop};
///
/// struct Counter { seen: u32 }
///
/// impl Actor for Counter {
///     type Msg = u32;
///     fn handle(&mut self, _cx: &mut Context<'_, Self>, n: u32) -> Flow {
///         self.seen += n;
///         if self.seen >= 3 { Flow::Stop } else { Flow::Continue }
///     }
/// }
///
/// let mut lp = Loop::new()?;
/// let counter = lp.spawn(Counter { seen: 0 })?;
/// for _ in 0..3 {
///     lp.send(counter, 1)?;
/// }
/// lp.run()?; // returns once the counter stopped and nothing else is alive
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Actor: Sized + 'static {
    /// The type of messages this actor accepts.
    type Msg: 'static;

    /// Handles one message.
    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: Self::Msg) -> Flow;

    /// A watched fd is ready (R16). The default ignores it.
    fn on_io(&mut self, cx: &mut Context<'_, Self>, event: IoEvent) -> Flow {
        let _ = (cx, event);
        Flow::Continue
    }

    /// A child of this actor ended. The default ignores it.
    fn on_child_exit(&mut self, cx: &mut Context<'_, Self>, exit: ChildExit) -> Flow {
        let _ = (cx, exit);
        Flow::Continue
    }

    /// A monitored actor ended, or was not alive when the monitor was set
    /// ([`Core::monitor`]). The default ignores it.
    fn on_down(&mut self, cx: &mut Context<'_, Self>, down: Down) -> Flow {
        let _ = (cx, down);
        Flow::Continue
    }

    /// A linked actor ended and this actor traps exits
    /// ([`Core::trap_exits`]). The default ignores it.
    fn on_exit(&mut self, cx: &mut Context<'_, Self>, exit: Exit) -> Flow {
        let _ = (cx, exit);
        Flow::Continue
    }

    /// Runs once per actor, when it is spawned, before anything else of it
    /// (its first message included): inside `spawn`, with the whole API at
    /// hand (messages it sends itself come before any sent it after the
    /// spawn). A restarted child is a new actor, so this runs once per
    /// incarnation. A panic here ends the actor at once, with
    /// [`StopReason::Panic`] (the spawn itself succeeds: its parent, or
    /// supervisor, hears of the exit). The default does nothing, and costs
    /// nothing.
    fn on_start(&mut self, cx: &mut Context<'_, Self>) {
        let _ = cx;
    }

    /// The actor is being torn down, for `reason`: after it stopped or
    /// failed (by its behavior or by id), panicked, was ended by a link, was
    /// stopped by its supervisor (as `Normal`), or its loop is dropped.
    /// It runs once, before the actor's watches, timers and name go and
    /// before its parent is told, with the whole API at hand for last sends
    /// (messages it sends itself are dropped with its mailbox). A panic here
    /// is caught and the exit is reported as [`StopReason::Panic`]. The
    /// default does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use jzx::{Actor, Addr, Context, Flow, Loop, StopReason};
    ///
    /// struct Worker { report_to: Addr<&'static str> }
    /// impl Actor for Worker {
    ///     type Msg = ();
    ///     fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
    ///         Flow::Fail
    ///     }
    ///     fn on_stop(&mut self, cx: &mut Context<'_, Self>, reason: StopReason) {
    ///         assert_eq!(reason, StopReason::Fail);
    ///         cx.send(self.report_to, "worker gone").ok();
    ///     }
    /// }
    ///
    /// struct Log;
    /// impl Actor for Log {
    ///     type Msg = &'static str;
    ///     fn handle(&mut self, _cx: &mut Context<'_, Self>, line: &'static str) -> Flow {
    ///         assert_eq!(line, "worker gone");
    ///         Flow::Stop
    ///     }
    /// }
    ///
    /// let mut lp = Loop::new()?;
    /// let log = lp.spawn(Log)?;
    /// let worker = lp.spawn(Worker { report_to: log })?;
    /// lp.send(worker, ())?;
    /// lp.run()?; // the worker fails, says so, and the log stops
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn on_stop(&mut self, cx: &mut Context<'_, Self>, reason: StopReason) {
        let _ = (cx, reason);
    }
}

/// The running actor's view of its loop.
///
/// A `Context` dereferences to [`Core`], so inside a behavior the whole API
/// of the loop is at hand — spawn, send, stop or fail (itself included),
/// watch/unwatch, timers, names — and such calls take effect in order (R1).
/// It adds what concerns the running actor itself: its id and address,
/// `stop`/`fail` of itself, and fd watches it owns.
///
/// # Examples
///
/// ```
/// use jzx::{Actor, Context, Flow, Loop};
///
/// struct Echo;
/// impl Actor for Echo {
///     type Msg = (u32, jzx::Addr<u32>);
///     fn handle(&mut self, cx: &mut Context<'_, Self>, (n, reply): Self::Msg) -> Flow {
///         let _ = cx.send(reply, n + 1);
///         cx.stop();
///         Flow::Continue
///     }
/// }
///
/// struct Sink;
/// impl Actor for Sink {
///     type Msg = u32;
///     fn handle(&mut self, _cx: &mut Context<'_, Self>, n: u32) -> Flow {
///         assert_eq!(n, 42);
///         Flow::Stop
///     }
/// }
///
/// let mut lp = Loop::new()?;
/// let echo = lp.spawn(Echo)?;
/// let sink = lp.spawn(Sink)?;
/// lp.send(echo, (41, sink))?;
/// lp.run()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Context<'a, A: Actor> {
    core: &'a mut Core,
    id: ActorId,
    _actor: PhantomData<fn(A)>,
}

impl<'a, A: Actor> Context<'a, A> {
    pub(crate) fn new(core: &'a mut Core, id: ActorId) -> Self {
        Context {
            core,
            id,
            _actor: PhantomData,
        }
    }

    pub(crate) fn core_mut(&mut self) -> &mut Core {
        self.core
    }

    /// The running actor's id.
    pub fn id(&self) -> ActorId {
        self.id
    }

    /// The running actor's own address.
    pub fn addr(&self) -> Addr<A::Msg> {
        Addr::new(self.id)
    }

    /// Stops the running actor normally once this behavior returns; no
    /// further message of its mailbox is handled (R12).
    pub fn stop(&mut self) {
        let _ = self.core.stop_actor(self.id);
    }

    /// Fails the running actor once this behavior returns (R12).
    pub fn fail(&mut self) {
        let _ = self.core.fail_actor(self.id);
    }

    /// Watches `fd` for the running actor: readiness arrives in
    /// [`Actor::on_io`]. Watching an fd that is already watched replaces its
    /// interest and owner (R16).
    ///
    /// # Errors
    ///
    /// `InvalidArg` for fd < 0; `IoRegFailed` when the fd is not open,
    /// cannot be polled (on Linux a regular file, or a device without
    /// readiness such as `/dev/null`: see [`Core::watch_fd`]) or
    /// `max_io_watchers` is reached.
    pub fn watch(&mut self, fd: RawFd, interest: Interest) -> Result<(), Error> {
        self.core.watch_fd(fd, self.id, interest)
    }

    /// The running actor monitors `target` ([`Core::monitor`] with itself
    /// as the watcher): a [`Down`] reaches [`Actor::on_down`] when `target`
    /// ends, or at once if it is not alive.
    pub fn monitor(&mut self, target: ActorId) -> MonitorRef {
        // The running actor is alive, so this cannot fail.
        self.core.monitor(self.id, target).unwrap_or(MonitorRef {
            watcher: self.id,
            target,
            n: 0,
        })
    }

    /// The running actor asks `target` ([`Core::ask`] with itself as the
    /// asker): `request` builds the request around a [`ReplyTo<R>`], and
    /// the one [`Answer<R>`] arrives as the message `answer` makes of it.
    ///
    /// # Errors
    ///
    /// `MailboxFull`, with the request, when `target`'s mailbox is full (no
    /// answer will come).
    pub fn ask<Req: 'static, R: 'static>(
        &mut self,
        target: Addr<Req>,
        timeout: std::time::Duration,
        request: impl FnOnce(ReplyTo<R>) -> Req,
        answer: impl FnOnce(Answer<R>) -> A::Msg + 'static,
    ) -> Result<(), SendError<Req>> {
        let me = self.addr();
        self.core.ask(me, target, timeout, request, answer)
    }

    /// Links the running actor with `other` ([`Core::link`]).
    ///
    /// # Errors
    ///
    /// `NoSuchActor` when `other` is not alive; `InvalidArg` when it is the
    /// running actor itself.
    pub fn link(&mut self, other: ActorId) -> Result<(), Error> {
        self.core.link(self.id, other)
    }

    /// Removes the link between the running actor and `other`, if any.
    pub fn unlink(&mut self, other: ActorId) {
        self.core.unlink(self.id, other);
    }

    /// Sets whether the running actor traps exits ([`Core::trap_exits`]):
    /// a linked actor's end then reaches [`Actor::on_exit`] instead of
    /// ending it.
    pub fn trap_exits(&mut self, trap: bool) {
        let _ = self.core.trap_exits(self.id, trap);
    }
}

impl<A: Actor> Deref for Context<'_, A> {
    type Target = Core;
    fn deref(&self) -> &Core {
        self.core
    }
}

impl<A: Actor> DerefMut for Context<'_, A> {
    fn deref_mut(&mut self) -> &mut Core {
        self.core
    }
}

impl<A: Actor> fmt::Debug for Context<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

pub(crate) struct ActorBox<A>(pub A);

impl<A: Actor> ErasedActor for ActorBox<A> {
    fn run(&mut self, core: &mut Core, slot: u32, budget: u32) -> Turn {
        let id = core.id_of_slot(slot);
        let outcome = run_batch(&mut self.0, core, id, budget);
        match outcome.or_else(|| core.pending_kill(slot)) {
            Some(reason) => Turn::Ended(reason),
            None if core
                .mailbox_mut::<A::Msg>(slot)
                .is_some_and(|m| !m.is_empty()) =>
            {
                Turn::More
            }
            None => Turn::Idle,
        }
    }

    fn new_mailbox(&self) -> AnyMailbox {
        AnyMailbox::new::<A::Msg>()
    }

    fn msg_type(&self) -> TypeId {
        TypeId::of::<A::Msg>()
    }

    fn msg_type_name(&self) -> &'static str {
        std::any::type_name::<A::Msg>()
    }

    fn stopping(&mut self, core: &mut Core, id: ActorId, reason: StopReason) -> bool {
        let actor = &mut self.0;
        catch_unwind(AssertUnwindSafe(|| {
            actor.on_stop(&mut Context::new(core, id), reason);
        }))
        .is_ok()
    }
}

/// Handles up to `budget` messages of the actor's mailbox; `Some(reason)`
/// when the actor ended. A panic anywhere in the batch ends the actor (R11).
///
/// A batch handles the messages queued when it starts (at most `budget`,
/// but one of each lane when both hold messages, so that a turn makes
/// progress on both, the reserved lane first: see `Mailbox::begin_turn`):
/// what arrives meanwhile, a message the actor sends itself included, waits
/// for its next turn, so an actor that keeps messaging itself yields to the
/// others after every turn (R4). Each message is popped from the mailbox in
/// the actor's slot, so a self-sent message counts against the capacity
/// exactly (R8). Finding the typed mailbox is a slot lookup and a `TypeId`
/// comparison with a constant.
fn run_batch<A: Actor>(
    actor: &mut A,
    core: &mut Core,
    id: ActorId,
    budget: u32,
) -> Option<StopReason> {
    let slot = id.slot();
    let count = core
        .mailbox_mut::<A::Msg>(slot)
        .map_or(0, |m| m.begin_turn(budget));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut cx = Context::new(core, id);
        for _ in 0..count {
            let core = cx.core_mut();
            if let Some(reason) = core.pending_kill(slot) {
                return Some(reason);
            }
            let item = core.mailbox_mut::<A::Msg>(slot)?.pop()?;
            let flow = match item {
                Item::User(msg) | Item::Sys(Sys::Timer(msg)) => actor.handle(&mut cx, msg),
                Item::Sys(Sys::Event(SysEvent::Io {
                    fd,
                    token,
                    readiness,
                })) => {
                    if cx.core_mut().take_io_event(fd, token) {
                        actor.on_io(&mut cx, IoEvent { fd, readiness })
                    } else {
                        Flow::Continue
                    }
                }
                Item::Sys(Sys::Event(SysEvent::ChildExit(exit))) => {
                    actor.on_child_exit(&mut cx, exit)
                }
                Item::Sys(Sys::Event(SysEvent::Down(down))) => {
                    if cx.core_mut().take_down(id, down.monitor) {
                        actor.on_down(&mut cx, *down)
                    } else {
                        Flow::Continue
                    }
                }
                Item::Sys(Sys::Event(SysEvent::Exit(exit))) => actor.on_exit(&mut cx, exit),
            };
            match flow {
                Flow::Continue => {}
                Flow::Stop => return Some(StopReason::Normal),
                Flow::Fail => return Some(StopReason::Fail),
            }
        }
        None
    }));
    outcome.unwrap_or(Some(StopReason::Panic))
}
