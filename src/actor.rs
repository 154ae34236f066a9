//! The [`Actor`] trait, what a behavior returns, and how the actor table
//! holds actors of different types.

use crate::core::Core;
use crate::mailbox::{AnyMailbox, Item, Sys};
use crate::message::{ChildExit, IoEvent, StopReason, SysEvent};
use crate::{ActorId, Context};
use std::any::TypeId;
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
/// removes its fd watches and timers, reports to the observer, sends a
/// [`ChildExit`] to its parent, drops its pending messages and then the actor
/// itself (R13).
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
}

/// How an actor is spawned: mailbox capacity, name and parent.
///
/// # Examples
///
/// ```
/// use jzx::SpawnOptions;
/// let opts = SpawnOptions::new().mailbox_cap(8).name("worker");
/// assert_eq!(opts.get_mailbox_cap(), 8);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpawnOptions {
    pub(crate) mailbox_cap: u32,
    pub(crate) name: Option<String>,
    pub(crate) parent: Option<ActorId>,
}

impl SpawnOptions {
    /// Defaults: the loop's default mailbox capacity, no name, no parent.
    pub fn new() -> Self {
        Self::default()
    }
    /// Mailbox capacity (0 means the loop's default).
    pub fn mailbox_cap(mut self, cap: u32) -> Self {
        self.mailbox_cap = cap;
        self
    }
    /// A unique name, registered for [`Core::lookup`] until the actor dies.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// The actor told with a [`ChildExit`] when this one ends.
    pub fn parent(mut self, parent: ActorId) -> Self {
        self.parent = Some(parent);
        self
    }
    /// The mailbox capacity asked for (0: the loop's default).
    pub fn get_mailbox_cap(&self) -> u32 {
        self.mailbox_cap
    }
}

/// An actor with its type erased, as the actor table stores it.
pub(crate) trait ErasedActor {
    /// Handles up to `budget` messages.
    fn run(&mut self, core: &mut Core, slot: u32, budget: u32) -> Turn;
    /// A fresh, empty mailbox of this actor's message type.
    fn new_mailbox(&self) -> AnyMailbox;
    /// The `TypeId` of the message type.
    fn msg_type(&self) -> TypeId;
}

/// How an actor's turn ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Turn {
    /// Its mailbox is empty.
    Idle,
    /// Messages are left for a later turn.
    More,
    /// It must be torn down.
    Ended(StopReason),
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
