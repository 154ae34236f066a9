//! [`Core`]: the state of one loop and the API shared by [`Loop`](crate::Loop)
//! and [`Context`](crate::Context).
//!
//! # A message's path
//!
//! | step | where | what |
//! |---|---|---|
//! | sent | [`Core::send`] (here) | `enqueue` checks the target's id and generation in the actor table, then `Mailbox::push` (`mailbox.rs`) queues the message, or refuses it when the mailbox is full (R8) |
//! | scheduled | `Core::schedule` (here) | a target not yet runnable goes to the back of the run queue: `Scheduler::push` (`scheduler.rs`) |
//! | turn | `run_turns` (`event_loop.rs`) | drains the cross-thread inbox and fires due timers, then takes the actors runnable now: `Scheduler::begin_turn`, `Scheduler::pop` |
//! | delivered | `Core::run_actor` (here) | `ErasedActor::run` → `run_batch` (`actor.rs`) pops up to `max_msgs_per_actor` messages and calls [`Actor::handle`](crate::Actor::handle); an actor with more goes to the back (R4), one that ended is torn down (`Core::teardown`) |
//!
//! Other sources join that path at "sent":
//! - timers: `Core::fire_timers` (`timers.rs`) → `Core::push_timer_msg`;
//! - fd readiness: `Core::dispatch_io` (`io.rs`) → `Core::push_sys`, the
//!   reserved lane that a full mailbox does not block (R9), as for child
//!   exits;
//! - other threads: `LoopHandle::send` → `Remote::post` (`inbox.rs`) queues
//!   it; between turns `Core::drain_remote` (`remote.rs`) → `Batch::deliver`
//!   → `Core::deliver_remote` → `enqueue`, or, when the mailbox is full,
//!   `Core::park`: it waits in the target's park (`park.rs`) until the
//!   target's turn has made room (`Core::unpark`), without holding up
//!   messages for other actors;
//! - other loops of a runtime: `Core::send` to an id of another loop →
//!   `Core::send_to_loop` (`cross_loop.rs`) adds it to the outbox for that
//!   loop (`peers.rs`); at the end of the turn `Core::flush_peers` pushes
//!   the outbox into the ring (`ring.rs`) of that pair of loops; the
//!   receiving loop's `Core::drain_peers` hands each run to `Batch::deliver`,
//!   which goes on as for other threads.
//!
//! # Files
//!
//! The state lives in leaf modules that import nothing of `Core`:
//! `table.rs` (the actor table: slots and what only some actors have),
//! `scheduler.rs` (the run queue and its order), `fd_table.rs`,
//! `park.rs`, `inbox.rs`, `ring.rs` and `peers.rs` (the rings and outboxes
//! between loops), and `crate::timer` (the timer queue). `Core` (here) holds
//! them; the files named for an operation add its methods to `Core`:
//! `spawn.rs`, `io.rs`, `timers.rs`, `remote.rs`, `cross_loop.rs`,
//! `links.rs`, `ask.rs`, `names.rs`.
//! `tests/layers.rs` checks that no file imports one that imports it.

mod ask;
mod cross_loop;
mod fd_table;
mod groups;
mod held;
pub(crate) mod inbox;
mod io;
mod links;
pub(crate) mod names;
mod padded;
mod park;
pub(crate) mod peers;
pub(crate) mod pending;
mod remote;
mod ring;
pub(crate) mod scheduler;
pub(crate) mod spawn;
mod stop_chain;
mod table;
mod timers;

use crate::backend::xev::{BackendError, Reactor, ReadyEvent};
use crate::clock::Clock;
use crate::mailbox::erased::AnyMailbox;
use crate::mailbox::Mailbox;
use crate::message::{StopReason, SysEvent};
use crate::metrics::Counters;
use crate::observer::{drop_each_quietly, drop_quietly, ObserverSlot};
use crate::timer::{TimerMsg, TimerQueue};
use crate::trace::trace_mailbox_full;
use crate::{ActorId, Addr, BackendKind, ClockKind, Config, Error, SendError};
use std::any::Any;
use std::any::TypeId;
use std::fmt;
use std::sync::Arc;

use fd_table::FdTable;
use groups::SharedGroups;
use held::HeldEnds;
pub(crate) use held::Then;
use inbox::{Remote, RemoteMsg};
use park::Limited;
use pending::{AskTable, DroppedReplies, PendingAsk, Registered};
use scheduler::Scheduler;
use table::ActorTable;

/// An actor with its type erased, as the actor table stores it.
pub(crate) trait ErasedActor {
    /// Handles up to `budget` messages.
    fn run(&mut self, core: &mut Core, slot: u32, budget: u32) -> Turn;
    /// A fresh, empty mailbox of this actor's message type.
    fn new_mailbox(&self) -> AnyMailbox;
    /// The `TypeId` of the message type.
    fn msg_type(&self) -> TypeId;
    /// The name of the message type (for dead letters).
    fn msg_type_name(&self) -> &'static str;
    /// Runs the actor's [`Actor::on_stop`](crate::Actor::on_stop) hook
    /// (its teardown begins); false when the hook panicked.
    fn stopping(&mut self, core: &mut Core, id: ActorId, reason: StopReason) -> bool;
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

/// The loop's state, and the API available both on a [`Loop`](crate::Loop)
/// and, inside behaviors, on a [`Context`](crate::Context) (which
/// dereferences to `Core`).
///
/// # Examples
///
/// ```
/// use jzx::{Actor, Context, Flow, Loop};
///
/// struct Parent;
/// impl Actor for Parent {
///     type Msg = ();
///     fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
///         // Context derefs to Core: spawn and send from inside a behavior.
///         let child = cx.spawn(Child).unwrap();
///         cx.send(child, 7).unwrap();
///         Flow::Stop
///     }
/// }
///
/// struct Child;
/// impl Actor for Child {
///     type Msg = u8;
///     fn handle(&mut self, _cx: &mut Context<'_, Self>, n: u8) -> Flow {
///         assert_eq!(n, 7);
///         Flow::Stop
///     }
/// }
///
/// let mut lp = Loop::new()?;
/// let parent = lp.spawn(Parent)?;
/// lp.send(parent, ())?;
/// lp.run()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Core {
    config: Config,
    actors: ActorTable<dyn ErasedActor>,
    pub(crate) scheduler: Scheduler,
    pub(crate) reactor: Reactor,
    timers: TimerQueue<Box<dyn TimerMsg<Core>>>,
    /// The deadline the bridge timer is armed for.
    armed: Option<u64>,
    watches: FdTable,
    next_token: u64,
    /// The number of the latest monitor (`links.rs`).
    next_monitor: u64,
    /// Asks waiting for their answer, with their timeouts (`ask.rs`).
    asks: AskTable<PendingAsk<Core>>,
    /// Reply handles dropped unanswered, shared with every handle.
    dropped_replies: Registered,
    /// Process groups (`names.rs`): this loop's, or its runtime's.
    groups: SharedGroups,
    pub(crate) observer: ObserverSlot,
    pub(crate) counters: Counters,
    pub(crate) remote: Arc<Remote<Core>>,
    remote_buf: Vec<RemoteMsg<Core>>,
    /// Cross-thread runs delivered and empty, handed back at the next drain.
    remote_spent: Vec<RemoteMsg<Core>>,
    /// Cross-thread messages waiting for room in full mailboxes (in the
    /// slots' parks), all targets together.
    remote_parked: usize,
    /// Drains in a row that found a producer holding the queue.
    drains_missed: u32,
    /// Slots whose cross-thread sends are limited (see `remote.rs`).
    limited: Vec<Limited>,
    events_buf: Vec<ReadyEvent>,
    pub(crate) in_run: bool,
    /// The loop is being dropped: spawns fail (`teardown_all`).
    closing: bool,
    /// The loop's clock (timer deadlines count from its creation).
    clock: Clock,
    /// System events for the running actor, queued after its batch.
    deferred_sys: Vec<(ActorId, SysEvent)>,
    current: Option<ActorId>,
    /// The rings to and from the other loops of its runtime (`peers.rs`);
    /// `None` for a lone loop.
    peers: Option<Box<peers::Peers<Core>>>,
    /// Runs taken from other loops' rings, being delivered (kept for reuse).
    peer_runs: Vec<peers::TakenRun<Core>>,
    /// Actors waiting for stops in flight on other loops, and the ends
    /// they hold back (`stop_chain.rs`).
    held: HeldEnds<Core>,
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("backend", &self.reactor.backend())
            .field("actors", &self.actors.actors())
            .field("timers", &self.timers.len())
            .field("watches", &self.watches.len())
            .finish_non_exhaustive()
    }
}

/// A mailbox for an actor, typed by the actor itself when it is in its slot
/// (so a message of another type is refused, not stored), else (the running
/// actor) by the message being sent.
fn new_mailbox<M: 'static>(actor: Option<&dyn ErasedActor>) -> AnyMailbox {
    match actor {
        Some(actor) => actor.new_mailbox(),
        None => AnyMailbox::new::<M>(),
    }
}

fn backend_error(e: BackendError) -> Error {
    match e {
        BackendError::NoMemory => Error::NoMemory,
        BackendError::InvalidArg => Error::InvalidArg,
        BackendError::Closed => Error::LoopClosed,
        BackendError::BadFd | BackendError::Resources(_) => Error::IoRegFailed,
        _ => Error::Unknown,
    }
}

impl Core {
    /// The core of loop `index` of a runtime (0 for a lone loop).
    pub(crate) fn new(config: Config, index: u8) -> Result<Core, Error> {
        let config = config.normalized();
        let reactor = Reactor::new(config.backend).map_err(|e| match e {
            BackendError::Unavailable => Error::InvalidArg,
            other => backend_error(other),
        })?;
        let remote = Remote::new(reactor.waker(), config.cross_thread_cap);
        let dropped_replies = Registered::new(DroppedReplies::new(reactor.waker()));
        Ok(Core {
            clock: Clock::new(config.clock),
            scheduler: Scheduler::new(config.run_order, config.clock == ClockKind::Virtual),
            config,
            actors: ActorTable::new(index),
            reactor,
            timers: TimerQueue::new(),
            armed: None,
            watches: FdTable::default(),
            next_token: 1,
            next_monitor: 0,
            asks: AskTable::new(),
            dropped_replies,
            groups: SharedGroups::default(),
            observer: ObserverSlot::default(),
            counters: Counters::default(),
            remote,
            remote_buf: Vec::new(),
            remote_spent: Vec::new(),
            remote_parked: 0,
            drains_missed: 0,
            limited: Vec::new(),
            events_buf: Vec::new(),
            in_run: false,
            closing: false,
            deferred_sys: Vec::new(),
            current: None,
            peers: None,
            peer_runs: Vec::new(),
            held: HeldEnds::default(),
        })
    }

    // ----------------------------------------------------------------- info

    /// The loop's configuration, zero fields replaced by defaults.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The event-loop backend in use (never `Auto`).
    pub fn backend(&self) -> BackendKind {
        self.reactor.backend()
    }

    /// The loop's counters now: messages delivered and refused, turns,
    /// timers fired, I/O events and live actors.
    pub fn metrics(&self) -> crate::Metrics {
        self.counters.snapshot(self.actor_count())
    }

    /// Live actors (not counting slots reserved for actors that other loops
    /// of the runtime are spawning here).
    pub fn actor_count(&self) -> usize {
        self.actors.actors()
    }

    /// Pending timers (an ask's timeout counts as a timer of its asker's).
    pub fn timer_count(&self) -> usize {
        self.timers.len() + self.asks.timed()
    }

    /// Watched fds.
    pub fn watch_count(&self) -> usize {
        self.watches.len()
    }

    /// Registrations the event-loop bridge holds (for leak checks: it equals
    /// [`Core::watch_count`], since unwatching releases a registration at
    /// once).
    pub fn bridge_watch_count(&self) -> usize {
        self.reactor.live_watches()
    }

    /// Messages queued for a live actor, in both lanes of its mailbox (user
    /// messages, timer messages, runtime events); `None` when `id` is not
    /// alive.
    pub fn mailbox_depth(&self, id: ActorId) -> Option<usize> {
        let slot = self.actors.get(id)?;
        Some(slot.mailbox.as_ref().map_or(0, AnyMailbox::len))
    }

    /// Whether `id` names a live actor.
    #[inline]
    pub fn is_alive(&self, id: ActorId) -> bool {
        self.actors.get(id).is_some()
    }

    /// The trace hash of a loop on the virtual clock: every turn of every
    /// actor so far (which actor, at what time, with how many messages
    /// queued) mixed into one number, so
    /// that two runs of one program can be compared (see
    /// [`sim::check_replay`](crate::sim::check_replay)). `None` on the
    /// monotonic clock, where it is not kept.
    pub fn trace_hash(&self) -> Option<u64> {
        self.scheduler.trace_hash()
    }

    /// The actor whose behavior is running, if any (the C ABI's `sender`).
    pub fn current_actor(&self) -> Option<ActorId> {
        self.current
    }

    /// A typed address for `id` if it is a live actor whose message type is
    /// `M` (for ids that come from names or from C).
    pub fn addr_of<M: 'static>(&self, id: ActorId) -> Option<Addr<M>> {
        let slot = self.actors.get(id)?;
        if slot.reserved {
            // An actor another loop spawns here, not arrived: its type is
            // not known yet.
            return None;
        }
        let actor = slot.actor.as_ref();
        // While its behavior or a hook runs the actor is out of its slot
        // (the current actor, or one whose teardown is under way); its type
        // was checked when it was spawned.
        match actor {
            Some(a) if a.msg_type() != TypeId::of::<M>() => None,
            _ => Some(Addr::new(id)),
        }
    }

    #[inline]
    pub(crate) fn id_of_slot(&self, slot: u32) -> ActorId {
        self.actors.id_of(slot)
    }

    #[inline]
    pub(crate) fn pending_kill(&self, slot: u32) -> Option<StopReason> {
        self.actors.at(slot).kill
    }

    /// The typed mailbox of a live slot, if it has one and its messages are `M`.
    #[inline]
    pub(crate) fn mailbox_mut<M: 'static>(&mut self, slot: u32) -> Option<&mut Mailbox<M>> {
        self.actors
            .at_mut(slot)
            .mailbox
            .as_mut()?
            .downcast_mut::<M>()
    }

    // ----------------------------------------------------------------- send

    /// Sends `msg` to `to`. Never blocks.
    ///
    /// When `to` lives on another loop of this loop's
    /// [`Runtime`](crate::Runtime), the message crosses to it through the
    /// ring of that pair of loops (see [`Runtime`](crate::Runtime)): it is
    /// queued here and delivered at the other loop's next turn, after the
    /// messages this loop sent there before. A target found dead or with a
    /// full mailbox there is handled on arrival, as for a
    /// [`LoopHandle`](crate::LoopHandle) send: the message is dropped as a
    /// dead letter, or waits for room.
    ///
    /// # Errors
    ///
    /// The message comes back in the error (R8): `NoSuchActor` when the
    /// target is dead (or on a loop this one is not connected to),
    /// `MailboxFull` when its mailbox is at capacity, or, for a target on
    /// another loop, when the ring to that loop holds its bound of messages
    /// or that loop's cross-thread bound is reached (the observer's
    /// `on_mailbox_full` is called first).
    #[inline]
    pub fn send<M: 'static>(&mut self, to: Addr<M>, msg: M) -> Result<(), SendError<M>> {
        if to.id().loop_byte() != self.actors.index() {
            return self.send_to_loop(to, msg);
        }
        let result = self.enqueue(to, msg);
        if let Err(e) = &result {
            if e.error == Error::MailboxFull {
                self.note_refused(to.id());
            }
        }
        result
    }

    /// A full mailbox refused a message for `id`: counted, traced and told
    /// to the observer (a panicking hook is contained), in one place for
    /// local sends and for cross-thread messages that start to wait.
    #[cold]
    pub(crate) fn note_refused(&mut self, id: ActorId) {
        self.counters.refused += 1;
        trace_mailbox_full!(id);
        self.observer.notify(|o| o.on_mailbox_full(id));
    }

    /// `count` messages of type `type_name` for `id` were dropped because
    /// it ended: counted, and told to the observer (R34).
    #[cold]
    pub(crate) fn note_dead_letters(&mut self, id: ActorId, type_name: &'static str, count: usize) {
        self.counters.dead_letters += count as u64;
        self.observer
            .notify(|o| o.on_dead_letters(id, type_name, count));
    }

    /// [`Core::send`] without telling the observer.
    #[inline]
    fn enqueue<M: 'static>(&mut self, to: Addr<M>, msg: M) -> Result<(), SendError<M>> {
        let id = to.id();
        let slot = match self.actors.get_mut(id) {
            Some(slot) => slot,
            None => return self.enqueue_claimed(to, msg),
        };
        let cap = slot.cap;
        if slot.mailbox.is_none() {
            slot.mailbox = Some(new_mailbox::<M>(slot.actor.as_deref()));
        }
        let Some(mailbox) = slot.mailbox.as_mut().and_then(|m| m.downcast_mut::<M>()) else {
            return Err(SendError {
                error: Error::InvalidArg,
                message: msg,
            });
        };
        if let Err(message) = mailbox.push(msg, cap) {
            return Err(SendError {
                error: Error::MailboxFull,
                message,
            });
        }
        self.counters.delivered += 1;
        self.schedule(id.slot());
        Ok(())
    }

    /// A message for an id that names no slot in use: one that another loop
    /// claimed here for an actor it spawns, not arrived yet, gets its slot
    /// now and the message waits there; any other is refused.
    #[cold]
    fn enqueue_claimed<M: 'static>(&mut self, to: Addr<M>, msg: M) -> Result<(), SendError<M>> {
        if self.actors.await_claimed(to.id()) {
            return self.enqueue(to, msg);
        }
        Err(SendError {
            error: Error::NoSuchActor,
            message: msg,
        })
    }

    /// The same as [`Core::send`]: a send never blocks, so it is always a
    /// "try"; the name is here for readers who look for it.
    ///
    /// # Errors
    ///
    /// As [`Core::send`].
    pub fn try_send<M: 'static>(&mut self, to: Addr<M>, msg: M) -> Result<(), SendError<M>> {
        self.send(to, msg)
    }

    #[inline]
    fn schedule(&mut self, slot: u32) {
        let s = self.actors.at_mut(slot);
        if !s.scheduled {
            s.scheduled = true;
            self.scheduler.push(slot);
        }
    }

    /// Queues a system event for `to`, in the reserved lane; for an actor
    /// on another loop, there (a child's exit, a `Down` or an `Exit` cross
    /// loops like messages, and are never refused).
    fn push_sys(&mut self, to: ActorId, event: SysEvent) {
        if self.is_remote(to) {
            self.post_to_loop(to.route(), move |core| core.push_sys(to, event));
            return;
        }
        let Some(slot) = self.actors.get_mut(to) else {
            return;
        };
        if slot.mailbox.is_none() {
            match slot.actor.as_ref() {
                Some(actor) => slot.mailbox = Some(actor.new_mailbox()),
                // The running actor (out of its slot, so its message type
                // is not at hand) with no mailbox yet: queue the event once
                // its turn is over.
                None => {
                    self.deferred_sys.push((to, event));
                    return;
                }
            }
        }
        if let Some(m) = slot.mailbox.as_mut() {
            m.push_sys(event);
        }
        self.schedule(to.slot());
    }

    fn push_timer_msg<M: 'static>(&mut self, to: ActorId, msg: M) {
        let Some(slot) = self.actors.get_mut(to) else {
            return;
        };
        if slot.mailbox.is_none() {
            slot.mailbox = Some(new_mailbox::<M>(slot.actor.as_deref()));
        }
        if let Some(m) = slot.mailbox.as_mut().and_then(|m| m.downcast_mut::<M>()) {
            m.push_timer(msg);
            self.schedule(to.slot());
        }
    }

    // ------------------------------------------------------------ stop/fail

    /// Stops an actor normally: it is torn down at its next turn without
    /// handling its remaining mailbox; on itself, when its behavior returns
    /// (R12). An actor on another loop of the runtime is stopped there, at
    /// that loop's next turn (R28); the call cannot know whether it is
    /// alive, and a dead one is left as it is.
    ///
    /// # Errors
    ///
    /// `NoSuchActor` when `id` is not alive (or on no loop of the runtime).
    pub fn stop_actor(&mut self, id: ActorId) -> Result<(), Error> {
        self.kill(id, StopReason::Normal)
    }

    /// Fails an actor: as [`Core::stop_actor`], reported as a failure.
    ///
    /// # Errors
    ///
    /// `NoSuchActor` when `id` is not alive (or on no loop of the runtime).
    pub fn fail_actor(&mut self, id: ActorId) -> Result<(), Error> {
        self.kill(id, StopReason::Fail)
    }

    fn kill(&mut self, id: ActorId, reason: StopReason) -> Result<(), Error> {
        if self.is_remote(id) {
            let posted = self.post_to_loop(id.route(), move |core| {
                let _ = core.kill(id, reason);
            });
            return if posted {
                Ok(())
            } else {
                Err(Error::NoSuchActor)
            };
        }
        let slot = self.actors.get_mut(id).ok_or(Error::NoSuchActor)?;
        slot.kill.get_or_insert(reason);
        self.schedule(id.slot());
        Ok(())
    }

    /// Runs one actor's turn: handles up to `max_msgs_per_actor` messages,
    /// then requeues or tears it down.
    pub(crate) fn run_actor(&mut self, slot: u32) {
        let budget = self.config.max_msgs_per_actor;
        let index = self.actors.index();
        let s = self.actors.at_mut(slot);
        debug_assert!(s.scheduled, "slot {slot} is in the run queue unmarked");
        let Some(mut actor) = s.actor.take() else {
            s.scheduled = false;
            return;
        };
        let id = ActorId::new(index, slot, s.generation);
        let (clock, actors) = (&self.clock, &self.actors);
        self.scheduler.trace(|| {
            let queued = actors.at(slot).mailbox.as_ref().map_or(0, AnyMailbox::len);
            [id.to_raw(), clock.now_ms(), queued as u64]
        });
        self.current = Some(id);
        let turn = actor.run(self, slot, budget);
        self.current = None;
        self.actors.at_mut(slot).actor = Some(actor);
        if !self.deferred_sys.is_empty() {
            for (to, event) in std::mem::take(&mut self.deferred_sys) {
                self.push_sys(to, event);
            }
        }
        match turn {
            Turn::Ended(reason) => self.teardown(slot, reason),
            Turn::More => self.scheduler.push(slot),
            Turn::Idle => self.actors.at_mut(slot).scheduled = false,
        }
        self.unpark(slot);
    }

    /// Runs `hook` with `id` as the current actor (a hook of an actor out
    /// of its slot, as during its turn), then restores the current actor.
    fn as_current<T>(&mut self, id: ActorId, hook: impl FnOnce(&mut Core) -> T) -> T {
        let outer = self.current.replace(id);
        let out = hook(self);
        self.current = outer;
        out
    }

    /// Tears down a live actor that is not running, at once (a supervisor
    /// stopping its children); its parent is not told.
    /// One on another loop is torn down there, at its next turn (in order
    /// with others: [`Core::stop_in_order`]).
    pub(crate) fn terminate_now(&mut self, id: ActorId) {
        if self.is_remote(id) {
            // A child started on another loop for a supervisor that has
            // just gone away (`start_child`): its name is free at once.
            self.forget_name_of(id);
            self.post_to_loop(id.route(), move |core| core.terminate_now(id));
            return;
        }
        let Some(s) = self.actors.get_mut(id) else {
            return;
        };
        if s.reserved {
            // Spawned here by another loop, not arrived: ended on arrival.
            s.orphan();
            s.kill.get_or_insert(StopReason::Normal);
            return;
        }
        if s.actor.is_none() {
            // The running actor: stop it when its behavior returns.
            s.kill.get_or_insert(StopReason::Normal);
            return;
        }
        s.orphan();
        self.terminate_with(id, StopReason::Normal);
    }

    /// Tears down a live actor that is not running, at once, for `reason`
    /// (its `on_start` panicked); its parent is told.
    pub(crate) fn terminate_with(&mut self, id: ActorId, reason: StopReason) {
        let Some(s) = self.actors.get_mut(id) else {
            return;
        };
        if s.scheduled {
            self.scheduler.remove(id.slot());
        }
        self.teardown(id.slot(), reason);
    }

    /// Tears an actor down (R13): its `on_stop` hook first (a supervisor's
    /// stops its children there, R24), then its watches, timers, name and
    /// park go, the observer and its parent are told, and what it held is
    /// dropped.
    fn teardown(&mut self, slot: u32, mut reason: StopReason) {
        let id = self.actors.id_of(slot);
        let s = self.actors.at_mut(slot);
        // Marked runnable, so that what the hook sends it queues no run
        // (`remove` clears the mark).
        s.scheduled = true;
        if let Some(mut actor) = s.actor.take() {
            // The slot stays live while the hook runs, as during a turn.
            if !self.as_current(id, |core| actor.stopping(core, id, reason)) {
                reason = StopReason::Panic;
            }
            self.actors.at_mut(slot).actor = Some(actor);
        }
        let (parked, limited) = {
            let s = self.actors.at(slot);
            (s.parked, s.limited)
        };
        let removed = self.actors.remove(slot);
        let mut extras = removed.extras;
        if let Some(e) = extras.as_deref_mut() {
            if let Some(name) = e.name.take() {
                self.forget_name(&name, id);
            }
            if !e.fds.is_empty() {
                self.remove_watches_of(id, std::mem::take(&mut e.fds));
            }
            if !e.groups.is_empty() {
                self.leave_groups(id, std::mem::take(&mut e.groups));
            }
        }
        if self.asks.has_asks_of(slot) {
            self.drop_asks_of(slot);
        }
        let timers = self.timers.remove_owner(slot);
        let mut park = extras
            .as_mut()
            .and_then(|e| e.park.take())
            .filter(|_| parked);
        if limited || park.is_some() {
            self.release_park(id, limited, park.as_deref());
        }
        // Reported now, or once the stops it started on other loops have
        // ended (`stop_chain.rs`).
        if self.end_waits(id) {
            self.hold_end(id, reason, removed.parent, extras.take());
        } else {
            self.report_end(id, reason, removed.parent, extras.as_deref_mut());
        }
        // Pending messages, timer messages and the actor itself are dropped
        // last; a panicking destructor must not take the loop down (each
        // message on its own: a second panic while one unwinds would abort
        // the process).
        let mailbox = removed.mailbox;
        let nothing_queued =
            timers.is_empty() && park.is_none() && mailbox.as_ref().map_or(true, |m| m.len() == 0);
        // The common end of an actor has no message to drop.
        let dead = if nothing_queued {
            0
        } else {
            pending::dropping_dead_letters(|| {
                let mut dead = timers.iter().filter(|t| t.is_message()).count();
                drop_each_quietly(timers);
                if let Some(p) = park.as_mut() {
                    dead += p.len();
                    p.drop_each();
                }
                if let Some(mut mailbox) = mailbox {
                    dead += mailbox.drop_each();
                }
                dead
            })
        };
        if dead != 0 {
            let type_name = removed.actor.as_ref().map_or("?", |a| a.msg_type_name());
            self.note_dead_letters(id, type_name, dead);
        }
        drop_quietly(removed.actor);
        if let Some(extras) = extras {
            drop_quietly(extras);
        }
    }

    /// Tears down every actor (the loop is going away); no reports. Actors
    /// without a live parent go first, so that a supervisor stops its
    /// children in its own order (R24); spawns fail meanwhile, so what the
    /// `on_stop` hooks do cannot leave an actor behind.
    pub(crate) fn teardown_all(&mut self) {
        self.observer.put(None);
        self.closing = true;
        let mut roots_only = true;
        while self.actors.live() != 0 {
            let mut ended = 0;
            for slot in 0..self.actors.len() {
                let s = self.actors.at(slot);
                let root = s.parent().map_or(true, |p| !self.is_alive(p));
                if s.live && (root || !roots_only) {
                    self.actors.at_mut(slot).orphan();
                    self.teardown(slot, StopReason::Normal);
                    ended += 1;
                }
            }
            // Parents are older than their children, so a pass always finds
            // a root; were it not so, the next pass takes everyone.
            roots_only = ended != 0;
        }
    }

    /// State a layer above keeps for the live actor `id` (a supervisor's
    /// table), if it is of type `T`.
    pub(crate) fn attached<T: 'static>(&self, id: ActorId) -> Option<&T> {
        self.actors.extras(id)?.attached.as_ref()?.downcast_ref()
    }

    /// As [`Core::attached`], mutable.
    pub(crate) fn attached_mut<T: 'static>(&mut self, id: ActorId) -> Option<&mut T> {
        self.actors.get_mut(id)?;
        let extras = self.actors.at_mut(id.slot()).extras.as_mut()?;
        extras.attached.as_mut()?.downcast_mut()
    }

    /// Attaches `state` to the live actor `id`; it is dropped with it, or
    /// taken back with [`Core::detach`].
    pub(crate) fn attach(&mut self, id: ActorId, state: Box<dyn Any>) {
        if self.is_alive(id) {
            self.actors.extras_mut(id.slot()).attached = Some(state);
        }
    }

    /// Takes the state attached to the live actor `id`.
    pub(crate) fn detach(&mut self, id: ActorId) -> Option<Box<dyn Any>> {
        self.actors.get_mut(id)?;
        self.actors
            .at_mut(id.slot())
            .extras
            .as_mut()?
            .attached
            .take()
    }
}
